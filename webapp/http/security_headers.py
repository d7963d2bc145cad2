"""HTTP headers that make the browser refuse what the pages never need.

The Content-Security-Policy allows scripts and styles only from this server
and the pinned CDN (never inline script), connections only back to this
server (fetch, SSE, WebSocket), and no framing, so injected markup cannot
run or clickjack.
"""
from webapp.http.vendor_assets import CDN

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        f"script-src 'self' {CDN}/",
        f"style-src 'self' {CDN}/",
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

    def __init__(self, wsgi_app, https):
        self.wsgi_app = wsgi_app
        self.headers = OTHER_HEADERS + (HTTPS_ONLY if https else [])

    def __call__(self, environ, start_response):
        def start_with_headers(status, headers, exc_info=None):
            if not any(name == "Content-Security-Policy" for name, _ in headers):
                headers.append(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
            headers.extend(self.headers)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_headers)
