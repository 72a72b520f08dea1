"""Helpers for the API tests: a client that speaks JSON with a Bearer key."""

import json

from django.test import Client

API = "/api/v1"


class ApiClient:
    """A Django test client that sends a Bearer key and JSON bodies."""

    def __init__(self, raw_key: str | None):
        headers = {"authorization": f"Bearer {raw_key}"} if raw_key else {}
        self.client = Client(headers=headers)

    def get(self, path, params=None):
        return self.client.get(API + path, params or {})

    def _send(self, method, path, body, raw=None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return getattr(self.client, method)(API + path, data=data, content_type="application/json")

    def post(self, path, body=None, raw=None):
        return self._send("post", path, body, raw)

    def patch(self, path, body=None, raw=None):
        return self._send("patch", path, body, raw)

    def delete(self, path):
        return self.client.delete(API + path)


def field_errors(response) -> dict:
    """{"email": "msg", ...} from the error body, keyed by the last part of loc."""
    return {tuple(item["loc"])[-1] if item["loc"] else "": item["msg"] for item in response.json()["detail"]}
