"""Logging in: a growing wait after repeated wrong passwords for one account, and its owner told.

The per-address limit (RATELIMIT_LOGIN) does not stop guesses spread over many
addresses. So each email counts its wrong passwords since its last login (table
`login_failures`, for emails without an account too, so the wait tells nobody
which emails have one). The first LOGIN_FREE_FAILURES cost nothing; after that
each attempt waits 1 s, 2 s, 4 s … (at most LOGIN_DELAY_MAX_SECONDS) after the
last wrong one, and an attempt during the wait is refused (429, Retry-After)
without its password being checked or counted. The wait never grows past its
maximum and a day without wrong passwords forgets them: a stranger can slow an
account down, never lock its owner out. Every LOGIN_NOTIFY_AFTER_FAILURES wrong
passwords the account's owner gets a notification. The right password ends the
count. Successful, failed and delayed attempts are counted apart (core/metrics.py).
"""
import math

from flask import current_app
from sqlalchemy import delete

from webapp.core import sql
from webapp.core.clock import now_ms
from webapp.core.errors import RateLimited
from webapp.core.metrics import count_login
from webapp.extensions import db
from webapp.models import LoginFailure
from webapp.services import notifications
from webapp.services.accounts import users

FORGET_AFTER_MS = 24 * 3600 * 1000


def log_in(email, password, address):
    """The user with this email and password, or None; RateLimited while the account must wait."""
    key = (email or "").strip().lower()[:254]
    now = now_ms()
    wait_ms = _wait_ms(db.session.get(LoginFailure, key), now)
    if wait_ms > 0:
        count_login("delayed")
        seconds = math.ceil(wait_ms / 1000)
        raise RateLimited(f"Too many wrong passwords for this account: try again in {seconds} s.", headers={"Retry-After": str(seconds)})
    user = users.authenticate_user(email, password)
    if user is None:
        _count_failure(key, now, address)
        count_login("failure")
        return None
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == key))
    db.session.commit()
    count_login("success")
    return user


def _wait_ms(failure, now):
    config = current_app.config
    if failure is None or failure.last_failed_ms <= now - FORGET_AFTER_MS or failure.failures < config["LOGIN_FREE_FAILURES"]:
        return 0
    delay_ms = min(config["LOGIN_DELAY_MAX_SECONDS"], 2 ** (failure.failures - config["LOGIN_FREE_FAILURES"])) * 1000
    return failure.last_failed_ms + delay_ms - now


def _count_failure(key, now, address):
    db.session.execute(delete(LoginFailure).where(LoginFailure.last_failed_ms <= now - FORGET_AFTER_MS))
    failures = db.session.scalar(
        sql.insert(LoginFailure)
        .values(email=key, failures=1, last_failed_ms=now)
        .on_conflict_do_update(index_elements=["email"], set_={"failures": LoginFailure.failures + 1, "last_failed_ms": now})
        .returning(LoginFailure.failures)
    )
    db.session.commit()
    notify_every = current_app.config["LOGIN_NOTIFY_AFTER_FAILURES"]
    if notify_every and failures % notify_every == 0:
        owner = users.find_user(key)
        if owner is not None:
            notifications.notify_user(
                owner.id,
                "login_failures",
                f"{failures} wrong passwords were tried for your account since its last login, the last from {address}. "
                "Logins are slowed down meanwhile; if it was not you, make sure your password is not used elsewhere.",
                now,
            )
