"""Sending a command from a device's page; its status and reply follow live (dashboard/live.py)."""
import orjson
from flask import render_template, request, url_for
from pydantic import ValidationError

from webapp.auth.current_user import current_user, login_required
from webapp.core.errors import InvalidRequest
from webapp.dashboard import view_models as dashboard
from webapp.dashboard.blueprint import bp
from webapp.dashboard.forms import answer
from webapp.http.request_body import describe_validation_error
from webapp.schemas import CommandIn


@bp.post("/devices/<device_id>/commands")
@login_required
def send_command(device_id):
    listed = dashboard.send_command(current_user(), device_id, _command_form())
    return answer(
        lambda: render_template("dashboard/_command_list.html", device_id=device_id, commands=listed),
        url_for("dashboard.device_page", device_id=device_id),
    )


def _command_form():
    """The form's method, params (JSON text, {} when empty) and timeout, validated as the API's CommandIn."""
    fields = {"method": request.form.get("method", "").strip()}
    params = request.form.get("params", "").strip()
    try:
        fields["params"] = orjson.loads(params) if params else {}
    except orjson.JSONDecodeError:
        raise InvalidRequest('params must be JSON, e.g. {"pin": 23, "value": 1}.') from None
    if request.form.get("timeout", "").strip():
        fields["timeout"] = request.form["timeout"].strip()
    try:
        return CommandIn.model_validate(fields)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc)) from None
