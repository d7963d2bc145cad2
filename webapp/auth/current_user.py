"""The user behind a request, from the session cookie or an `Authorization: Bearer` API token."""
import functools

from flask import g, session

from webapp.api.request_body import bearer_token
from webapp.errors import Unauthorized
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
