"""Logins of browsers, kept on the server so that logging out really ends them.

Flask's session is a cookie signed with SECRET_KEY: clearing it at logout
empties the browser's copy, but a copy taken before (a shared computer, a
stolen cookie) would be accepted until it expires. So the cookie carries a
random login token, the `login_sessions` table only its hash, and logout
deletes the row. A login lasts PERMANENT_SESSION_LIFETIME from the moment
of logging in. Ending a login also closes the live streams a browser opened
with it, on every worker, so a logged-out tab stops receiving updates.
"""
from flask import current_app
from sqlalchemy import delete, select

from webapp.core import tokens
from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.models import LoginSession, User
from webapp.services import events


def start_login(user):
    """A new login of `user`; the clear token for the session cookie."""
    now = now_ms()
    token, _, token_hash = tokens.new_token()
    lifetime_ms = int(current_app.permanent_session_lifetime.total_seconds() * 1000)
    # The user's expired logins go as a new one comes: the table holds only logins that may still be used.
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_ms <= now))
    db.session.add(LoginSession(token_hash=token_hash, user_id=user.id, created_ms=now, expires_ms=now + lifetime_ms))
    db.session.commit()
    return token


def login_id(token):
    """How the server names a login where its token must not go (the broker): the hash the table keys it by."""
    return tokens.hash_token(token)


def user_for_login(token):
    """The user logged in with this token, or None once it was ended or has expired."""
    return db.session.scalar(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.token_hash == login_id(token), LoginSession.expires_ms > now_ms())
    )


def end_logins_of(user_id):
    """End every login of `user_id` (a password changed), closing their live streams; commits the session's transaction."""
    ended = db.session.scalars(delete(LoginSession).where(LoginSession.user_id == user_id).returning(LoginSession.token_hash)).all()
    events.emit(*(events.login_ended(user_id, login) for login in ended))


def end_login(token):
    ended = login_id(token)
    user_id = db.session.scalar(delete(LoginSession).where(LoginSession.token_hash == ended).returning(LoginSession.user_id))
    if user_id is not None:
        events.emit(events.login_ended(user_id, ended))
