"""HTTP headers that make the browser refuse what the pages never need.

The Content-Security-Policy allows scripts and styles only from this server
and the pinned CDN (never inline script), connections only back to this
server (fetch, SSE, WebSocket), and no framing, so injected markup cannot
run or clickjack.
"""
from webapp.vendor_assets import CDN

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


def init_app(app):
    # Added in one go to every answer: this runs on every device request.
    headers = OTHER_HEADERS + (HTTPS_ONLY if app.config["PREFERRED_URL_SCHEME"] == "https" else [])

    @app.after_request
    def add_security_headers(response):
        if "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers.extend(headers)
        return response
