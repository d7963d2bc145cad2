"""Where webhooks may point: http(s) URLs of public hosts (a guard against SSRF).

A URL is checked when a webhook is saved (it must resolve, and only to
public addresses) and again on every delivery, on the address actually
connected to, so a name that later resolves to 127.0.0.1 or 10.x (DNS
rebinding) is refused too. WEBHOOK_ALLOW_PRIVATE=1 lifts the address rule
for installations whose receivers sit on the local network.

Both checks ask `is_public`. An IPv6 address that carries an IPv4 address
(IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) reaches that IPv4
address through a translator or a tunnel, so it is public only when the
IPv4 address is; Python's `is_global` says "global" for most of them.
"""
import ipaddress
import socket
from urllib.parse import urlsplit

from webapp.core.errors import InvalidRequest, shown

MAX_URL_LENGTH = 2048


class BlockedAddress(Exception):
    """The webhook's host is (or now resolves to) an address webhooks may not reach."""


def check_url(url, allow_private):
    """`url` if a webhook may post to it; InvalidRequest saying why not otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidRequest(f"url: at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidRequest("url: not a valid URL.") from None
    if port == 0:
        raise InvalidRequest("url: port 0 is not a port a receiver listens on.")
    port = port or (443 if parts.scheme == "https" else 80)
    if parts.scheme not in ("http", "https"):
        raise InvalidRequest("url: only http:// and https:// URLs are allowed.")
    if not parts.hostname:
        raise InvalidRequest("url: the URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise InvalidRequest("url: credentials in the URL are not allowed; verify requests with the webhook secret instead.")
    if parts.fragment:
        raise InvalidRequest("url: a fragment (#…) is never sent; remove it.")
    try:
        addresses = resolve(parts.hostname, port)
    except OSError:
        raise InvalidRequest(f"url: the host {shown(parts.hostname)} does not resolve.") from None
    if not allow_private:
        for address in addresses:
            try:
                check_address(address)
            except BlockedAddress as exc:
                raise InvalidRequest(f"url: {exc}") from None
    return url


def resolve(host, port):
    """Every address `host` resolves to; OSError when it does not."""
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


# NAT64: the well-known prefix carries the IPv4 address in its last 32 bits (RFC 6052); the
# local-use prefix (RFC 8215) may carry it anywhere, and only ever reaches a local network.
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def is_public(address):
    """Whether `address` (a string, with or without an IPv6 zone) is a public unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6:
        if ip in _NAT64_LOCAL_USE:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded and not all(is_public(str(ipv4)) for ipv4 in embedded):
            return False
    return ip.is_global and not ip.is_multicast


def _embedded_ipv4(ip):
    """The IPv4 addresses an IPv6 address leads to (Teredo: its server and its client), or ()."""
    if ip.ipv4_mapped:
        return (ip.ipv4_mapped,)
    if ip in _NAT64_WELL_KNOWN or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    if ip.sixtofour:
        return (ip.sixtofour,)
    # ipaddress undoes the bitwise NOT that Teredo stores the client address with.
    return ip.teredo or ()


def check_address(address):
    """Raise BlockedAddress unless `address` is a public unicast address."""
    if not is_public(address):
        raise BlockedAddress(f"{address} is a private, loopback, link-local or reserved address; webhooks may only reach public hosts.")
