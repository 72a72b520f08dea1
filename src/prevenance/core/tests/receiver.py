"""A webhook receiver for tests: a real HTTP server in a thread (used by core and cases tests).

It listens on 127.0.0.1, a loopback address webhooks are refused unless
PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on: the fixtures that register it as an endpoint
turn it on with pytest-django's `settings` fixture.
"""

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """An HTTP server in a thread that records each call and answers the next queued status
    (with `location` as the Location header of a redirect). With `tls=(certfile, keyfile)`
    it speaks HTTPS and records the name each client asked for in TLS (SNI) in server_names."""

    def __init__(self, *, tls: tuple[str, str] | None = None):
        self.calls: list[dict] = []
        self.statuses: list[int] = []
        self.location: str | None = None
        self.server_names: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append({"headers": dict(self.headers), "body": body, "path": self.path})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400 and receiver.location:
                    self.send_header("Location", receiver.location)
                self.end_headers()
                self.wfile.write(b"nope" if status >= 300 else b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            context.sni_callback = lambda _socket, name, _context: receiver.server_names.append(name)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[str]:
        return [json.loads(call["body"])["type"] for call in self.calls]
