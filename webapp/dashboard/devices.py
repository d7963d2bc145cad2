"""The devices overview, a device's page, adding a device, its settings and its token."""
from flask import render_template, url_for

from webapp.auth.current_user import current_user, login_required
from webapp.dashboard import view_models as dashboard
from webapp.dashboard.blueprint import bp
from webapp.dashboard.forms import answer, form_model, from_htmx
from webapp.schemas import DeviceCreateIn, DeviceUpdateIn

DEVICE_FIELDS = ("name", "offline_timeout")


@bp.get("/")
@login_required
def overview():
    return render_template("dashboard/overview.html", cards=dashboard.device_cards(current_user()))


@bp.post("/devices")
@login_required
def add_device():
    spec = form_model(DeviceCreateIn, DEVICE_FIELDS)
    card, token = dashboard.register_device(current_user(), spec.name, spec.offline_timeout)
    if from_htmx():
        return render_template("dashboard/_device_created.html", card=card, token=token)
    # A plain form: the overview with the new device's token, shown this once (no redirect could carry it).
    return render_template("dashboard/overview.html", cards=dashboard.device_cards(current_user()), created=card, token=token)


@bp.get("/devices/<device_id>")
@login_required
def device_page(device_id):
    return render_template("dashboard/device.html", page=dashboard.device_page(current_user(), device_id))


@bp.post("/devices/<device_id>/settings")
@login_required
def change_settings(device_id):
    changes = form_model(DeviceUpdateIn, DEVICE_FIELDS).model_dump(exclude_unset=True)
    device = dashboard.change_settings(current_user(), device_id, changes)
    return answer(lambda: render_template("dashboard/_settings.html", device=device, saved=True), url_for("dashboard.device_page", device_id=device.id))


@bp.post("/devices/<device_id>/token")
@login_required
def regenerate_token(device_id):
    device, token = dashboard.regenerate_token(current_user(), device_id)
    template = "dashboard/_token_once.html" if from_htmx() else "dashboard/token.html"
    return render_template(template, device=device, token=token)
