"""/admin: every user and every device; an admin resets a user's password here (tokens: devices.regenerate_token)."""
from flask import render_template

from webapp.auth.current_user import admin_required
from webapp.dashboard import view_models as dashboard
from webapp.dashboard.blueprint import bp
from webapp.dashboard.forms import from_htmx
from webapp.services.accounts import users


@bp.get("/admin")
@admin_required
def admin_page():
    return render_template("dashboard/admin.html", overview=dashboard.admin_overview())


@bp.post("/admin/users/<int:user_id>/password")
@admin_required
def reset_password(user_id):
    user, password = users.reset_password(user_id)
    template = "dashboard/_password_once.html" if from_htmx() else "dashboard/password.html"
    return render_template(template, user=user, password=password)
