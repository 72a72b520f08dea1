"""Fixtures of the core tests that watch webhooks go out: a real receiver, commits, DNS answers."""

import socket

import pytest

from prevenance.core.tests.receiver import Receiver


@pytest.fixture
def receiver(settings):
    """A local HTTP server. It listens on 127.0.0.1, so the installation setting that lets
    webhooks reach private addresses is turned on for the test, explicitly."""
    settings.PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what was scheduled on commit, as a real commit would (the test's transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


class FakeDNS:
    """What socket.getaddrinfo answers for the names given to `answer`; other names are
    resolved for real. Each lookup takes the next answer; the last one is kept."""

    def __init__(self):
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def answer(self, name: str, *answers: list[str]) -> None:
        """One list of addresses per lookup, in order; an empty list: the name does not exist."""
        self.answers[name] = list(answers)

    def getaddrinfo(self, real, host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 - socket's names
        if host not in self.answers:
            return real(host, port, family, type, proto, flags)
        self.lookups.append(host)
        queued = self.answers[host]
        addresses = queued.pop(0) if len(queued) > 1 else queued[0]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port), 0, 0))
            if ":" in address
            else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port)))
            for address in addresses
        ]


@pytest.fixture
def dns(monkeypatch):
    fake, real = FakeDNS(), socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: fake.getaddrinfo(real, *args, **kwargs))
    return fake
