"""Flask's signed-cookie sessions, without their cost on requests that carry no session cookie.

Every device request is such a request; Flask would build a signing
serializer for each (about 10 µs) only to find no cookie, after parsing the
Cookie header out of every header of the request (about 7 µs more).
"""
from flask.sessions import SecureCookieSessionInterface


class CookieSessions(SecureCookieSessionInterface):
    def open_session(self, app, request):
        name = self.get_cookie_name(app)
        # A name that is only part of another cookie's name falls through to the exact check.
        if name not in request.environ.get("HTTP_COOKIE", "") or name not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)
