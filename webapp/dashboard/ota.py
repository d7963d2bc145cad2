"""Firmware updates from a device's page: upload an image and send it, send one uploaded before, cancel; the
status follows live (dashboard/live.py)."""
from flask import render_template, url_for

from webapp.auth.current_user import current_user, login_required
from webapp.dashboard import view_models as dashboard
from webapp.dashboard.blueprint import bp
from webapp.dashboard.forms import answer, form_int
from webapp.http.uploads import takes_upload, upload_fields, uploaded_file
from webapp.schemas import FirmwareIn


@bp.post("/devices/<device_id>/firmware")
@login_required
@takes_upload("FIRMWARE_MAX_BYTES")
def upload_and_send_firmware(device_id):
    fields = upload_fields(FirmwareIn)
    listed = dashboard.upload_and_send(current_user(), device_id, uploaded_file("file").stream, fields.title, fields.version)
    return _answer(device_id, listed)


@bp.post("/devices/<device_id>/ota")
@login_required
def send_firmware(device_id):
    return _answer(device_id, dashboard.send_firmware(current_user(), device_id, form_int("firmware_id")))


@bp.post("/devices/<device_id>/ota/cancel")
@login_required
def cancel_update(device_id):
    return _answer(device_id, dashboard.cancel_update(current_user(), device_id))


def _answer(device_id, listed):
    return answer(
        lambda: render_template("dashboard/_ota_updates.html", device_id=device_id, updates=listed),
        url_for("dashboard.device_page", device_id=device_id),
    )
