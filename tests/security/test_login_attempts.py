"""Wrong passwords spread over many addresses: a growing wait per account, its owner told, never a lockout for good."""
import pytest
from sqlalchemy import select, update

from tests.conftest import TEST_PASSWORD
from tests.dashboard.helpers import csrf_from
from webapp.core.metrics import LOGINS
from webapp.extensions import db
from webapp.models import LoginFailure, Notification


@pytest.fixture
def login(app):
    """`login(email, password, address)`: a fresh browser at `address` submits the login form; its answer."""

    def attempt(email, password, address):
        browser = app.test_client()
        browser.environ_base["REMOTE_ADDR"] = address
        csrf = csrf_from(browser.get("/login").get_data(as_text=True))
        return browser.post("/login", data={"email": email, "password": password, "csrf_token": csrf})

    return attempt


def forget_the_wait(app, email):
    """As if the longest wait had passed since the last wrong password."""
    with app.app_context():
        longest_ms = app.config["LOGIN_DELAY_MAX_SECONDS"] * 1000
        db.session.execute(update(LoginFailure).where(LoginFailure.email == email).values(last_failed_ms=LoginFailure.last_failed_ms - longest_ms))
        db.session.commit()


def test_wrong_passwords_from_many_addresses_make_the_account_wait_even_for_the_right_one(app, make_user, login):
    user = make_user()
    addresses = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]

    answers = [login(user.email, f"guess number {n}", addresses[n % 3]) for n in range(26)]
    right_one = login(user.email, TEST_PASSWORD, "198.51.100.4")

    statuses = [answer.status_code for answer in answers]
    assert statuses[:5] == [401] * 5
    assert statuses.count(429) >= 20, statuses
    assert right_one.status_code == 429 and "Location" not in right_one.headers
    assert int(right_one.headers["Retry-After"]) >= 1
    assert "try again in" in right_one.get_data(as_text=True)

    forget_the_wait(app, user.email)
    assert login(user.email, TEST_PASSWORD, "198.51.100.4").status_code == 303
    # The right password ended the count: a typo afterwards is just a typo.
    assert login(user.email, "a typo after", "198.51.100.4").status_code == 401


def test_an_email_without_an_account_waits_alike_so_the_wait_tells_nothing(make_user, login):
    known, unknown = make_user().email, "nobody-here@example.com"

    for email in (known, unknown):
        statuses = [login(email, f"guess {n}", "198.51.100.9").status_code for n in range(7)]
        assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429], (email, statuses)


def test_the_owner_is_notified_after_repeated_wrong_passwords(app, make_user, login, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FREE_FAILURES", 1000)
    user = make_user()

    def notices():
        with app.app_context():
            return db.session.scalars(select(Notification.message).where(Notification.user_id == user.id, Notification.kind == "login_failures")).all()

    for n in range(app.config["LOGIN_NOTIFY_AFTER_FAILURES"] - 1):
        login(user.email, f"guess {n}", "203.0.113.7")
    assert notices() == []
    login(user.email, "one more", "203.0.113.8")

    (message,) = notices()
    assert f"{app.config['LOGIN_NOTIFY_AFTER_FAILURES']} wrong passwords" in message and "203.0.113.8" in message


def test_successful_failed_and_delayed_logins_are_counted_apart(make_user, login):
    user = make_user()

    def counted():
        return {outcome: LOGINS.labels(outcome)._value.get() for outcome in ("success", "failure", "delayed")}

    before = counted()
    login(user.email, TEST_PASSWORD, "198.51.100.20")
    for n in range(6):
        login(user.email, f"guess {n}", "198.51.100.20")
    after = counted()

    assert after["success"] - before["success"] == 1
    assert after["failure"] - before["failure"] == 5
    assert after["delayed"] - before["delayed"] == 1
