"""Flask's signed-cookie sessions, without their cost on requests that carry no session cookie.

Every device request is such a request; Flask would build a signing
serializer for each (about 10 µs) only to find no cookie.
"""
from flask.sessions import SecureCookieSessionInterface


class CookieSessions(SecureCookieSessionInterface):
    def open_session(self, app, request):
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)
