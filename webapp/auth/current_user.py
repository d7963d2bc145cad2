"""The user behind a request, from the session cookie or an `Authorization: Bearer` API token."""
import functools

from flask import Response, g, redirect, request, session, url_for

from webapp.core.errors import Forbidden, Unauthorized
from webapp.http.request_body import bearer_token
from webapp.services.accounts import login_sessions, users

# The session cookie's key for the login token (services/accounts/login_sessions.py).
LOGIN_KEY = "login"


def current_user():
    """The requesting user, or None; looked up once per request."""
    if "current_user" not in g:
        g.current_user = _load_user()
    return g.current_user


def _load_user():
    token = bearer_token(request.environ)
    if token is not None:
        return users.user_for_api_token(token)
    login = session.get(LOGIN_KEY)
    return login_sessions.user_for_login(login) if isinstance(login, str) else None


def current_login_id():
    """The login (login_sessions.login_id) behind a request made with the session cookie; None for an API token."""
    login = session.get(LOGIN_KEY)
    if bearer_token(request.environ) is not None or not isinstance(login, str):
        return None
    return login_sessions.login_id(login)


def has_login():
    """Whether the session cookie claims a login (still valid or not): what CSRF protection guards."""
    return LOGIN_KEY in session


def login_session(user):
    """Start a fresh session for `user`: the old one is ended and cleared, so nothing planted in it survives."""
    logout_session()
    session[LOGIN_KEY] = login_sessions.start_login(user)
    session.permanent = True
    g.current_user = user


def logout_session():
    """End the login on the server too, so a copy of the cookie kept from before is refused."""
    login = session.get(LOGIN_KEY)
    if isinstance(login, str):
        login_sessions.end_login(login)
    session.clear()
    g.pop("current_user", None)


def api_login_required(view):
    """401 JSON for a request with neither a session nor a valid API token."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_user() is None:
            raise Unauthorized("Log in, or send a personal API token as Authorization: Bearer.")
        return view(*args, **kwargs)

    return wrapped


def login_required(view):
    """Pages: an anonymous visitor is sent to /login (an htmx request gets 401 with HX-Redirect there)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_user() is None:
            if request.headers.get("HX-Request"):
                return Response(status=401, headers={"HX-Redirect": url_for("auth.login_form")})
            return redirect(url_for("auth.login_form", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    @functools.wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user().is_admin:
            raise Forbidden("Only admins may open the admin pages.")
        return view(*args, **kwargs)

    return wrapped


def safe_next_url(candidate):
    r"""Where to go after login: a path on this site, never another site.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash,
    so `/\t/evil.example` and `/\evil.example` would lead to //evil.example:
    a path with control characters or backslashes is refused as well.
    """
    if candidate and candidate.startswith("/") and not candidate.startswith("//") and candidate.isprintable() and "\\" not in candidate:
        return candidate
    return url_for("dashboard.overview")
