"""API test fixtures: a client authenticated with a real key, made through the service."""

import pytest

from prevenance.api.services import create_api_key
from prevenance.api.tests.helpers import ApiClient


@pytest.fixture
def api_as():
    def make(user) -> ApiClient:
        _key, raw = create_api_key(user=user, name="tests")
        return ApiClient(raw)

    return make
