"""CSRF protection for what the session cookie authorises.

Every state-changing request that the session authenticates carries the
session's token: forms in a `csrf_token` field, htmx and fetch calls in the
X-CSRF-Token header (the pages set it for every htmx request), WebSocket
messages in their HEADERS. The login form carries it too. Requests with a
Bearer token and the device endpoints (authenticated by the device token
alone) need none: a browser never attaches those credentials by itself.
"""
import hmac
import secrets

from flask import request, session

from webapp.auth.current_user import has_login
from webapp.core.errors import Forbidden
from webapp.http.device_routes import is_device_endpoint
from webapp.http.request_body import bearer_token

SESSION_KEY = "csrf_token"
HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
LOGIN_ENDPOINT = "auth.login"


class CsrfFailed(Forbidden):
    code = "csrf_failed"


def csrf_token():
    """The session's token, created on first use."""
    token = session.get(SESSION_KEY)
    if token is None:
        token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def token_matches(candidate):
    expected = session.get(SESSION_KEY)
    return bool(expected) and isinstance(candidate, str) and hmac.compare_digest(candidate.encode(), expected.encode())


def check_request():
    if request.method in SAFE_METHODS or request.endpoint is None or is_device_endpoint(request.endpoint):
        return
    # Logging in always takes the form's token (else another site could log a browser into its own account);
    # elsewhere a Bearer request, or a session with no login, has nothing a forged request could use.
    if request.endpoint != LOGIN_ENDPOINT and (bearer_token(request.environ) is not None or not has_login()):
        return
    if not token_matches(request.headers.get(HEADER) or request.form.get(FIELD)):
        raise CsrfFailed("The CSRF token is missing or wrong: reload the page and try again.")


def init_app(app):
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.before_request(check_request)
