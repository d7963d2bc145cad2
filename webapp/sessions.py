"""Flask's signed-cookie sessions, without their cost on requests that carry no session cookie.

Every device request is such a request; Flask would build a signing
serializer for each (about 10 µs) only to find no cookie, after parsing the
Cookie header out of every header of the request (about 7 µs more).
"""
from flask.sessions import SecureCookieSessionInterface


class CookieSessions(SecureCookieSessionInterface):
    def open_session(self, app, request):
        # A name that is only part of another cookie's name falls through to the exact check.
        if self.get_cookie_name(app) not in request.environ.get("HTTP_COOKIE", "") or self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)
