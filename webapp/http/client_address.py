"""The address a request came from, trusting X-Forwarded-For only behind known proxies."""
from flask import current_app


def client_address(environ):
    """The IP address of the client of the WSGI request `environ`.

    With TRUSTED_PROXIES = n, the n-th address from the right of
    X-Forwarded-For is the client (each trusted proxy appends one); without
    it the header is ignored, since any client can forge it.
    """
    trusted = current_app.config["TRUSTED_PROXIES"]
    if trusted > 0:
        hops = [hop.strip() for hop in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= trusted:
            return hops[-trusted]
    return environ.get("REMOTE_ADDR") or "unknown"
