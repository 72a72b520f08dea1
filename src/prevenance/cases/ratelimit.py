"""Per-client rate limits that hold across every web process (the public contact form).

The counter lives in the shared cache (settings.CACHES["shared"]: a database table by
default, Redis at scale), never in a process's memory: with several gunicorn workers, a
per-process counter would let a flood through N times over.

A limit of N per window is N *slots* per client: a submission takes a free slot with
cache.add(), which is atomic on both backends (a primary-key insert in the database, SET NX
in Redis), and each slot expires `window` seconds after it was taken. So at most N
submissions pass in any window (a sliding window, not one that resets on the hour), and two
requests racing for the last slot cannot both win it.
"""

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

CACHE_ALIAS = "shared"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds until a slot frees up, when refused


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For entry our own proxies wrote.

    With PREVENANCE_TRUSTED_PROXIES = N, each of the N proxies appended the address it got the
    request from, so the client is the N-th entry from the right; anything to its left was
    sent by the client and may be forged. Without trusted proxies the header is ignored.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.PREVENANCE_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote  # the request did not come through all our proxies: trust only the socket
    try:
        return str(ipaddress.ip_address(_without_port(forwarded[-proxies])))
    except ValueError:
        return remote


def _without_port(entry: str) -> str:
    """An X-Forwarded-For entry's address: some gateways write "198.51.100.1:52100" or
    "[2001:db8::1]:443", and reading those as no address would put every visitor behind
    them under the proxy's one limit."""
    if entry.startswith("["):
        return entry[1:].partition("]")[0]
    host, colon, port = entry.rpartition(":")
    return host if colon and "." in host and port.isdigit() else entry


def client_key(ip: str) -> str:
    """What one client is: an IPv4 address, or an IPv6 /64 (one home or phone holds a whole /64)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip or "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _slot_keys(scope: str, client: str, count: int) -> list[str]:
    # Hashed: cache keys stay short and safe for any backend, and the cache holds no raw IPs.
    digest = hashlib.sha256(f"{scope}:{client}".encode()).hexdigest()[:32]
    return [f"ratelimit:{scope}:{digest}:{slot}" for slot in range(count)]


def _refusal(taken: dict, window: int) -> Verdict:
    now = time.time()
    soonest = min((expires for expires in taken.values() if isinstance(expires, int | float)), default=now + window)
    return Verdict(allowed=False, retry_after=max(1, math.ceil(soonest - now)))


def peek(scope: str, client: str, *, count: int, window: int) -> Verdict:
    """Would a submission pass now? Reads only: takes no slot."""
    taken = caches[CACHE_ALIAS].get_many(_slot_keys(scope, client, count))
    return Verdict(allowed=True) if len(taken) < count else _refusal(taken, window)


def hit(scope: str, client: str, *, count: int, window: int) -> Verdict:
    """Take one of the client's `count` slots for `window` seconds, or say when one frees up."""
    cache = caches[CACHE_ALIAS]
    keys = _slot_keys(scope, client, count)
    taken = cache.get_many(keys)
    for key in keys:
        # The value is the slot's expiry time, to tell a refused client how long to wait.
        if key not in taken and cache.add(key, time.time() + window, timeout=window):
            return Verdict(allowed=True)
    return _refusal(cache.get_many(keys), window)
