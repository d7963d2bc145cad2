"""/login and /logout."""
from flask import redirect, render_template, request, url_for

from webapp.auth import bp
from webapp.auth.current_user import current_user, login_session, logout_session, safe_next_url
from webapp.client_address import client_address
from webapp.errors import ApiError
from webapp.rate_limiting import exempt
from webapp.services import rate_limits, users


@bp.get("/login")
def login_form():
    if current_user() is not None:
        return redirect(safe_next_url(request.args.get("next")))
    return render_template("auth/login.html", next=request.args.get("next", ""))


@bp.post("/login")
def login():
    # Besides the limit on every route: password guessing gets far fewer tries (RATELIMIT_LOGIN).
    refused = rate_limits.count_request("RATELIMIT_LOGIN", "login", client_address())
    if refused is not None:
        raise refused
    user = users.authenticate_user(request.form.get("email", ""), request.form.get("password", ""))
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
