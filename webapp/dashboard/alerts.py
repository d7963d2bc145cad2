"""A device's alert rules on its page: adding and removing them (the JSON API: api/alerts.py)."""
from flask import render_template, url_for

from webapp.auth.current_user import current_user, login_required
from webapp.dashboard import view_models as dashboard
from webapp.dashboard.blueprint import bp
from webapp.dashboard.forms import answer, form_model, typed_value
from webapp.schemas import AlertRuleIn
from webapp.services.alerts import rules as alerts

ALERT_FIELDS = ("key", "condition", "value", "low", "high", "for_seconds")


@bp.post("/devices/<device_id>/alerts")
@login_required
def add_alert_rule(device_id):
    rule = alerts.add_rule(current_user(), device_id, form_model(AlertRuleIn, ALERT_FIELDS, parse={"value": typed_value}))
    return _answer(rule.device_id)


@bp.post("/devices/<device_id>/alerts/<int:rule_id>/remove")
@login_required
def remove_alert_rule(device_id, rule_id):
    alerts.remove_rule(current_user(), device_id, rule_id)
    return _answer(device_id)


def _answer(device_id):
    return answer(
        lambda: render_template("dashboard/_alert_rules.html", panel=dashboard.alert_panel(device_id)),
        url_for("dashboard.device_page", device_id=device_id, _anchor="alerts-title"),
    )
