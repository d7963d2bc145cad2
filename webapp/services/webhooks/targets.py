"""Where webhooks may point: http(s) URLs of public hosts (a guard against SSRF).

A URL is checked when a webhook is saved (it must resolve, and only to
public addresses) and again on every delivery, on the address actually
connected to, so a name that later resolves to 127.0.0.1 or 10.x (DNS
rebinding) is refused too. WEBHOOK_ALLOW_PRIVATE=1 lifts the address rule
for installations whose receivers sit on the local network.
"""
import ipaddress
import socket
from urllib.parse import urlsplit

from webapp.core.errors import InvalidRequest

MAX_URL_LENGTH = 2048


class BlockedAddress(Exception):
    """The webhook's host is (or now resolves to) an address webhooks may not reach."""


def check_url(url, allow_private):
    """`url` if a webhook may post to it; InvalidRequest saying why not otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidRequest(f"url: at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidRequest("url: not a valid URL.") from None
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
        raise InvalidRequest(f"url: the host {parts.hostname} does not resolve.") from None
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


def check_address(address):
    """Raise BlockedAddress unless `address` is a public unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    ip = getattr(ip, "ipv4_mapped", None) or ip
    if not ip.is_global or ip.is_multicast:
        raise BlockedAddress(f"{address} is a private, loopback, link-local or reserved address; webhooks may only reach public hosts.")
