"""The provisioning keys page: make a key (its secret shown once), see what each key made and refused, revoke one."""
from flask import render_template, url_for

from webapp.auth.current_user import current_user, login_required
from webapp.core.clock import now_ms
from webapp.dashboard.blueprint import bp
from webapp.dashboard.forms import answer, form_model, from_htmx
from webapp.schemas import ProvisionedDeviceOut, ProvisioningKeyCreateIn, ProvisioningKeyDetailOut, ProvisioningRefusalOut
from webapp.services.devices import provisioning

KEY_FIELDS = ("name", "max_devices", "expires_at")


@bp.get("/provisioning")
@login_required
def provisioning_page():
    return _page()


@bp.post("/provisioning")
@login_required
def create_provisioning_key():
    spec = form_model(ProvisioningKeyCreateIn, KEY_FIELDS)
    key, secret = provisioning.create_key(current_user(), spec.name, spec.max_devices, spec.expires_at)
    created = (_described(key), secret)
    # A plain form's answer is the page itself, the secret shown on it this once.
    return render_template("dashboard/_provisioning_key_created.html", key=created[0], secret=secret) if from_htmx() else _page(created)


@bp.post("/provisioning/<int:key_id>/revoke")
@bp.delete("/provisioning/<int:key_id>")
@login_required
def revoke_provisioning_key(key_id):
    provisioning.revoke_key(provisioning.visible_key(current_user(), key_id))
    return answer(lambda: "", url_for("dashboard.provisioning_page"))


def _page(created=None):
    keys = [_described(key) for key in provisioning.visible_keys(current_user())]
    return render_template("dashboard/provisioning.html", keys=keys, created=created)


def _described(key):
    return ProvisioningKeyDetailOut.of(
        key,
        now_ms(),
        devices=[ProvisionedDeviceOut.of(made, device) for made, device in provisioning.provisioned_devices(key)],
        refusals=[ProvisioningRefusalOut.of(refusal) for refusal in provisioning.refusals(key)],
    )
