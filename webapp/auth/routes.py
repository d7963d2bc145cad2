"""/login and /logout.

Logging in has a budget of its own per client address (RATELIMIT_LOGIN), apart
from the API's and the dashboard's, and each account a growing wait after repeated
wrong passwords (services/accounts/login_attempts.py); logging out is never limited.
"""
from flask import redirect, render_template, request, url_for

from webapp.auth.blueprint import bp
from webapp.auth.current_user import current_user, login_session, logout_session, safe_next_url
from webapp.core.errors import ApiError
from webapp.http.client_address import client_address
from webapp.http.rate_limiting import exempt, limited
from webapp.services.accounts import login_attempts


@bp.get("/login")
def login_form():
    if current_user() is not None:
        return redirect(safe_next_url(request.args.get("next")))
    return render_template("auth/login.html", next=request.args.get("next", ""))


@bp.post("/login")
@limited("RATELIMIT_LOGIN", scope="login")
def login():
    user = login_attempts.log_in(request.form.get("email", ""), request.form.get("password", ""), client_address(request.environ))
    if user is None:
        return _login_page("Wrong email or password.", 401)
    login_session(user)
    return redirect(safe_next_url(request.form.get("next")), 303)


@bp.post("/logout")
@exempt
def logout():
    logout_session()
    return redirect(url_for("auth.login_form"), 303)


@bp.errorhandler(ApiError)
def login_refused(error):
    message = f"Too many login attempts. {error.message}" if error.status == 429 else error.message
    return _login_page(message, error.status, error.headers)


def _login_page(error, status, headers=None):
    page = render_template("auth/login.html", error=error, email=request.form.get("email", ""), next=request.form.get("next", ""))
    return page, status, headers or {}
