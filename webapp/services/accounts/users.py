"""Accounts: creating users, checking and setting passwords, personal API tokens."""
import functools
import secrets

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.core import tokens
from webapp.core.clock import now_ms
from webapp.core.errors import Conflict, InvalidRequest, NotFound, shown
from webapp.extensions import db
from webapp.models import ApiToken, User
from webapp.services.accounts import login_sessions
from webapp.services.accounts.common_passwords import COMMON_PASSWORDS

MIN_PASSWORD_LENGTH = 8


def normalise_email(email):
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254 or email.startswith("@") or email.endswith("@"):
        raise InvalidRequest("An email address looks like name@example.com.")
    return email


def create_user(email, password, is_admin=False):
    email = normalise_email(email)
    check_password_policy(password, email)
    if find_user(email) is not None:
        raise Conflict(f"A user with the email {shown(email)} exists already.")
    user = User(email=email, password_hash=generate_password_hash(password), is_admin=is_admin, created_ms=now_ms())
    db.session.add(user)
    db.session.commit()
    return user


def set_password(user, password):
    """Give `user` a new password; every login they have ends (another browser may have known the old one)."""
    check_password_policy(password, user.email)
    user.password_hash = generate_password_hash(password)
    login_sessions.end_logins_of(user.id)  # commits the new password with the logins' end


def reset_password(user_id):
    """An admin's reset: a new random password for user `user_id`, to be handed over once; (user, password)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    password = secrets.token_urlsafe(12)
    set_password(user, password)
    return user, password


def check_password_policy(password, email):
    """InvalidRequest unless `password` is long enough, not one of the most common ones and not the email."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(f"A password has at least {MIN_PASSWORD_LENGTH} characters.")
    folded = password.lower()
    if folded in COMMON_PASSWORDS:
        raise InvalidRequest("That password is one of the most common ones, which are guessed first: choose another.")
    if folded in (email, email.split("@", 1)[0]):
        raise InvalidRequest("A password may not be the email address or its name part.")


def find_user(email):
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def authenticate_user(email, password):
    """The user with this email and password, or None."""
    user = find_user(email or "")
    # An unknown email costs a password hash too, so the answer's timing does not tell which emails have accounts.
    password_hash = user.password_hash if user is not None else _unknown_user_hash()
    password_matches = check_password_hash(password_hash, password or "")
    return user if user is not None and password_matches else None


@functools.cache
def _unknown_user_hash():
    return generate_password_hash(secrets.token_urlsafe(16))


def create_api_token(user, name="cli"):
    """A new personal API token for `user`; the clear token is returned once."""
    token, prefix, token_hash = tokens.new_token()
    db.session.add(ApiToken(user_id=user.id, name=name, token_hash=token_hash, token_prefix=prefix, created_ms=now_ms()))
    db.session.commit()
    return token


def user_for_api_token(token):
    """The user a personal API token belongs to, or None."""
    api_token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(token)))
    if api_token is None:
        return None
    db.session.execute(update(ApiToken).where(ApiToken.id == api_token.id).values(last_used_ms=now_ms()))
    db.session.commit()
    return api_token.user
