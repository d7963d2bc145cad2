"""/login and /logout."""
from flask import current_app, redirect, render_template, request, session, url_for

from webapp.auth import bp
from webapp.auth.current_user import current_user, login_session, safe_next_url
from webapp.errors import ApiError
from webapp.extensions import limiter
from webapp.services import users


@bp.get("/login")
def login_form():
    if current_user() is not None:
        return redirect(safe_next_url(request.args.get("next")))
    return render_template("auth/login.html", next=request.args.get("next", ""))


@bp.post("/login")
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
def login():
    user = users.authenticate_user(request.form.get("email", ""), request.form.get("password", ""))
    if user is None:
        return _login_page("Wrong email or password.", 401)
    login_session(user)
    return redirect(safe_next_url(request.form.get("next")), 303)


@bp.post("/logout")
@limiter.exempt
def logout():
    session.clear()
    return redirect(url_for("auth.login_form"), 303)


@bp.errorhandler(429)
def too_many_attempts(exc):
    return _login_page(f"Too many login attempts ({exc.description}). Wait a minute, then try again.", 429)


@bp.errorhandler(ApiError)
def login_refused(error):
    return _login_page(error.message, error.status)


def _login_page(error, status):
    return render_template("auth/login.html", error=error, email=request.form.get("email", ""), next=request.form.get("next", "")), status
