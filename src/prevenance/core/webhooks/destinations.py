"""Where a webhook may be sent: http or https, and public addresses only (no SSRF).

A URL that points at a loopback, private, link-local (cloud metadata), unique-local,
unspecified, multicast or reserved address is refused twice: when an administrator saves
it (`check_url`, the admin form) and at every call, when the connection is made. There the
host name is resolved once, every address it gives is checked, and the socket connects to
one of those checked addresses, while the URL's name stays in the Host header and in TLS
(SNI and the certificate check): a name that answered a public address when it was saved
and a private one at the call (DNS rebinding) is refused, not called. Redirects are never
followed. PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES lifts the address check for an
installation that calls an internal service on purpose. See docs/webhooks.md.
"""

import http.client
import ipaddress
import socket
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

SETTING = "PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES"
DEFAULT_PORTS = {"http": 80, "https": 443}

_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # an IPv4 address in the last 32 bits (DNS64)
# A translator run inside one network (RFC 8215), where the IPv4 address may sit anywhere
# after the prefix: whatever it reaches is reached from inside that network.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
# RFC 1918, and the carriers' shared space (RFC 6598) that is just as internal.
_PRIVATE_V4 = tuple(ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"))

KINDS = {
    "unspecified": _("the unspecified address"),
    "loopback": _("a loopback address"),
    "link-local": _("a link-local address (cloud metadata among them)"),
    "multicast": _("a multicast address"),
    "unique-local": _("an IPv6 unique local address"),
    "private": _("a private network address"),
    "reserved": _("a reserved address, not public"),
}


class RefusedDestination(Exception):  # noqa: N818 - a refusal, not a programming error
    """A webhook URL that may not be called; str() says why, in the active language.

    Not an OSError: urllib would wrap it in a URLError, and the delivery would be retried
    as if the receiver were down, instead of being given up with this reason."""


def private_addresses_allowed() -> bool:
    return settings.PREVENANCE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES


def address_kind(address: str) -> str | None:
    """The kind of internal address this is (a key of KINDS), None for a public one."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6:
        # An IPv6 form of an IPv4 address reaches that IPv4 address: judge that one.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if embedded is not None:
            return address_kind(str(embedded))
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.version == 6 and ip in _UNIQUE_LOCAL:
        return "unique-local"
    if (ip.version == 4 and any(ip in net for net in _PRIVATE_V4)) or (
        ip.version == 6 and (ip.is_site_local or ip in _LOCAL_NAT64)
    ):
        return "private"
    if ip.is_private or ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


def _refused(host: str, address: str, kind: str) -> RefusedDestination:
    values = {"host": host, "address": address, "kind": KINDS[kind], "setting": SETTING}
    try:
        literal = ipaddress.ip_address(host) == ipaddress.ip_address(address)
    except ValueError:
        literal = False
    if literal:
        message = gettext(
            "%(address)s is %(kind)s: webhooks are only sent to public addresses. An installation that must "
            "call an internal service sets %(setting)s."
        )
    else:
        message = gettext(
            "%(host)s points at %(address)s, %(kind)s: webhooks are only sent to public addresses. An "
            "installation that must call an internal service sets %(setting)s."
        )
    return RefusedDestination(message % values)


def checked_addresses(host: str, port: int) -> list[tuple]:
    """Resolve `host` once (socket.getaddrinfo's tuples); RefusedDestination if any of its
    addresses is internal and private addresses are not allowed. A name that answers a
    public and a private address is refused: the connection could reach either."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not private_addresses_allowed():
        for *_rest, sockaddr in infos:
            if kind := address_kind(sockaddr[0]):
                raise _refused(host, sockaddr[0], kind)
    return infos


def _target(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise RefusedDestination(gettext("Only http and https URLs can be called."))
    try:
        port = parts.port
    except ValueError:  # out of range
        raise RefusedDestination(gettext("The URL's port must be a number up to 65535.")) from None
    return scheme, parts.hostname, port or DEFAULT_PORTS[scheme]


def check_url(url: str) -> None:
    """When a URL is saved: RefusedDestination for a scheme other than http(s) or a host
    that is, or resolves to, an internal address. A name that does not resolve now is let
    through (DNS may be down a moment): every call checks it again."""
    _scheme, host, port = _target(url)
    if private_addresses_allowed():
        return
    try:
        checked_addresses(host, port)
    except (OSError, UnicodeError):  # gaierror; UnicodeError: a name IDNA cannot encode
        return


def _connect(address: tuple[str, int], timeout=None, source_address=None) -> socket.socket:
    """socket.create_connection, to an address checked by the one resolution made here."""
    host, port = address
    error: OSError | None = None
    for family, kind, proto, _canonname, sockaddr in checked_addresses(host, port):
        sock = socket.socket(family, kind, proto)
        try:
            if isinstance(timeout, int | float):
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
        except OSError as exc:
            error = exc
            sock.close()
        else:
            return sock
    raise error or OSError(gettext("%(host)s has no address.") % {"host": host})


# http.client connects through `self._create_connection` (socket.create_connection) and keeps
# `self.host`, the URL's name, for the Host header and for TLS's server_hostname (SNI and the
# certificate check). The tests check that pinning, Host and SNI hold (test_webhook_destinations.py).
class _CheckedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


class _CheckedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_CheckedHTTPConnection, req)


class _CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        # No context given: HTTPSConnection makes the default one, which verifies the
        # certificate against the URL's name.
        return self.do_open(_CheckedHTTPSConnection, req)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer, not a delivery: following it would send the signed body
    # elsewhere, an internal address among the possibilities.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_direct = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}), _CheckedHTTPHandler, _CheckedHTTPSHandler)


def open_checked(request: urllib.request.Request, *, timeout: float):
    """urllib's open, refusing what this module refuses (RefusedDestination, raised as is).

    Through a proxy from the environment (HTTP_PROXY, HTTPS_PROXY, not bypassed by NO_PROXY),
    the proxy connects and resolves the name again: the name is checked here when it resolves
    here, and the proxy itself should refuse internal addresses (docs/webhooks.md)."""
    scheme, host, port = _target(request.full_url)
    proxy = urllib.request.getproxies().get(scheme)
    if proxy and not urllib.request.proxy_bypass(request.host):
        try:
            checked_addresses(host, port)
        except (OSError, UnicodeError):
            pass  # only the proxy can resolve it: its own rules apply
        opener = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({scheme: proxy}))
        return opener.open(request, timeout=timeout)
    return _direct.open(request, timeout=timeout)
