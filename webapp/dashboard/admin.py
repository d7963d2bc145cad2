"""/admin: every user and every device; token regeneration goes through devices.regenerate_token."""
from flask import render_template

from webapp.auth.current_user import admin_required
from webapp.dashboard import view_models as dashboard
from webapp.dashboard.blueprint import bp


@bp.get("/admin")
@admin_required
def admin_page():
    return render_template("dashboard/admin.html", overview=dashboard.admin_overview())
