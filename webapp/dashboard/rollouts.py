"""Rollouts from the dashboard: start one over your devices, pause, resume or cancel it; each device's update
follows live (dashboard/live.py)."""
from flask import render_template, request, url_for

from webapp.auth.current_user import current_user, login_required
from webapp.dashboard import view_models as dashboard
from webapp.dashboard.blueprint import bp
from webapp.dashboard.forms import answer, form_int, form_model
from webapp.schemas import RolloutUpdateIn


@bp.get("/rollouts")
@login_required
def rollouts_page():
    return render_template("dashboard/rollouts.html", page=dashboard.rollouts_page(current_user()))


@bp.post("/rollouts")
@login_required
def start_rollout():
    device_ids = request.form.getlist("device_ids") or None
    listed = dashboard.start_rollout(current_user(), form_int("firmware_id"), device_ids, form_int("stage_percent"))
    return answer(lambda: render_template("dashboard/_rollout_list.html", rollouts=listed), url_for("dashboard.rollouts_page"))


@bp.post("/rollouts/<int:rollout_id>/status")
@login_required
def change_rollout(rollout_id):
    status = form_model(RolloutUpdateIn, ("status",)).status
    shown = dashboard.move_rollout(current_user(), rollout_id, status)
    return answer(lambda: render_template("dashboard/_rollout.html", shown=shown), url_for("dashboard.rollouts_page"))
