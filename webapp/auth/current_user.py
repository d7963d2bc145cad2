"""The user behind a request, from the session cookie or an `Authorization: Bearer` API token."""
import functools

from flask import Response, g, redirect, request, session, url_for

from webapp.api.request_body import bearer_token
from webapp.errors import Forbidden, Unauthorized
from webapp.extensions import db
from webapp.models import User
from webapp.services import users


def current_user():
    """The requesting user, or None; looked up once per request."""
    if "current_user" not in g:
        g.current_user = _load_user()
    return g.current_user


def _load_user():
    token = bearer_token()
    if token is not None:
        return users.user_for_api_token(token)
    user_id = session.get("user_id")
    return db.session.get(User, user_id) if user_id is not None else None


def login_session(user):
    """Start a fresh session for `user` (cleared first, so a planted session id is useless)."""
    session.clear()
    session["user_id"] = user.id
    session.permanent = True
    g.current_user = user


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
    """Where to go after login: a path on this site, never another site (`//evil.example`)."""
    if candidate and candidate.startswith("/") and not candidate.startswith(("//", "/\\")):
        return candidate
    return url_for("dashboard.overview")
