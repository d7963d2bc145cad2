"""HTTP headers that make the browser refuse what the pages never need.

The Content-Security-Policy allows scripts and styles only from this server
and the exact CDN files the pages load, if any (http/vendor_assets.py;
never inline script), connections only back to this server (fetch, SSE,
WebSocket), and no framing, so injected markup cannot run or clickjack.
"""


def content_security_policy(script=(), style=()):
    """The policy, allowing besides this server the CDN URLs in `script` and `style`."""
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["script-src 'self'", *script]),
            " ".join(["style-src 'self'", *style]),
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


OTHER_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
]
HTTPS_ONLY = [("Strict-Transport-Security", "max-age=31536000; includeSubDomains")]


class SecurityHeaders:
    """WSGI middleware adding the headers to every answer; a view may set its own policy first."""

    def __init__(self, wsgi_app, https, policy):
        self.wsgi_app = wsgi_app
        self.policy = policy
        self.headers = OTHER_HEADERS + (HTTPS_ONLY if https else [])

    def __call__(self, environ, start_response):
        def start_with_headers(status, headers, exc_info=None):
            if not any(name == "Content-Security-Policy" for name, _ in headers):
                headers.append(("Content-Security-Policy", self.policy))
            headers.extend(self.headers)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_headers)
