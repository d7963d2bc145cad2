"""The matrix's table: how to call every route, and the status each caller must get (tests/security/test_authorization_matrix.py)."""
import io
from dataclasses import dataclass, field

from tests.security.conftest import (
    ACTORS,
    ADMIN,
    DEVICE_TOKEN,
    FIRMWARE_IMAGE,
    OWNER,
    OWNER_API_TOKEN,
)

# Whose eyes the owner's device data is for: the owner (browser or API token), admins, and the device itself.
ENTITLED = (OWNER, ADMIN, OWNER_API_TOKEN, DEVICE_TOKEN)


def statuses(anonymous, other_user, owner, admin, owner_api_token, device_token, other_device_token, revoked_token):
    return dict(zip(ACTORS, (anonymous, other_user, owner, admin, owner_api_token, device_token, other_device_token, revoked_token)))


def everyone(status):
    return statuses(*[status] * len(ACTORS))


# The device-facing API takes device tokens only; a V2 route names its device, so another device's token is refused.
DEVICE_ROUTE = statuses(403, 403, 403, 403, 403, 200, 403, 403)
# The legacy routes find the device by its token: another device's token acts as that device (and sees only its data).
LEGACY_DEVICE_ROUTE = statuses(403, 403, 403, 403, 403, 200, 200, 403)
# Users' JSON API on one device: the owner and admins; others get 404; device tokens are no user's credentials.
DEVICE_JSON = {
    200: statuses(401, 404, 200, 200, 200, 401, 401, 401),
    201: statuses(401, 404, 201, 201, 201, 401, 401, 401),
    204: statuses(401, 404, 204, 204, 204, 401, 401, 401),
}
# Users' JSON API about themselves.
USER_JSON = {
    200: statuses(401, 200, 200, 200, 200, 401, 401, 401),
    201: statuses(401, 201, 201, 201, 201, 401, 401, 401),
}
# Pages send anonymous visitors to /login; htmx fragments answer them 401 with HX-Redirect to /login.
USER_PAGE = statuses(302, 200, 200, 200, 200, 302, 302, 302)
USER_FRAGMENT = statuses(401, 200, 200, 200, 200, 401, 401, 401)
DEVICE_PAGE = statuses(302, 404, 200, 200, 200, 302, 302, 302)
DEVICE_FRAGMENT = statuses(401, 404, 200, 200, 200, 401, 401, 401)
ADMIN_PAGE = statuses(302, 403, 403, 200, 403, 302, 302, 302)
ADMIN_FRAGMENT = statuses(401, 403, 403, 200, 403, 401, 401, 401)
# The live streams: logged-in users (or their API tokens) only; a device page's stream only for who may see the device.
EVENT_STREAM = statuses(401, 200, 200, 200, 200, 401, 401, 401)
DEVICE_SOCKET = statuses(401, 404, 101, 101, 101, 401, 401, 401)
# The login form sends a logged-in browser (or API token) on to the dashboard.
LOGIN_FORM = statuses(200, 302, 302, 302, 302, 200, 200, 200)
LOGIN = statuses(303, 303, 303, 303, 403, 403, 403, 403)


@dataclass(frozen=True)
class Call:
    """How the matrix calls a route: URL values, form fields and JSON members ("@name" is the world's attribute), htmx."""

    expected: dict
    values: dict = field(default_factory=dict)
    json: dict | list | None = None
    form: dict = field(default_factory=dict)
    # Uploaded files: field name -> bytes, sent with the form as multipart/form-data.
    files: dict = field(default_factory=dict)
    htmx: bool = False
    stream: bool = False
    redirects_to: str = "/login"


def resolve(fields, world):
    if isinstance(fields, dict):
        return {name: resolve(value, world) for name, value in fields.items()}
    if isinstance(fields, list):
        return [resolve(value, world) for value in fields]
    return getattr(world, fields[1:]) if isinstance(fields, str) and fields.startswith("@") else fields


def body_of(call, world):
    """The keyword arguments of a test client's `open` that send the call's body."""
    data = resolve(call.form, world) | {name: (io.BytesIO(content), f"{name}.bin") for name, content in call.files.items()}
    return {"json": resolve(call.json, world), "data": data or None}


DEVICE = {"device_id": "@device_id"}
WEBHOOK = DEVICE | {"webhook_id": "@webhook_id"}
WIDGET = DEVICE | {"widget_id": "@widget_id"}
ALERT_RULE = DEVICE | {"rule_id": "@alert_rule_id"}
PROVISIONING_KEY = {"key_id": "@provisioning_key_id"}
COMMAND = DEVICE | {"command_id": "@command_id"}
ROLLOUT = {"rollout_id": "@rollout_id"}
# The transports take the token in the URL: the owner's device's token from before it was regenerated is refused
# whatever else the caller sends (ThingsBoard: 401; Blynk answers every refusal 400).
REVOKED = {"token": "@revoked_token"}
TELEMETRY = {"data": {"temperature": 21.5}}

ROUTES = {
    # Device-facing API
    ("device_api.post_telemetry", "POST"): Call(DEVICE_ROUTE, DEVICE, json=TELEMETRY),
    ("device_api.post_telemetry_batch", "POST"): Call(DEVICE_ROUTE, DEVICE, json={"records": [{"ts": 1_700_000_000, "data": {"temperature": 20}}]}),
    ("device_api.post_legacy_telemetry", "POST"): Call(LEGACY_DEVICE_ROUTE, json=TELEMETRY),
    ("device_api.get_latest", "GET"): Call(LEGACY_DEVICE_ROUTE),
    ("device_api.get_health", "GET"): Call(everyone(200)),
    ("device_api.post_command_reply", "POST"): Call(DEVICE_ROUTE, COMMAND, json={"result": {"ok": True}}),
    ("device_api.get_firmware", "GET"): Call(DEVICE_ROUTE, DEVICE | {"sha256": "@firmware_sha256"}),
    ("device_api.post_ota_status", "POST"): Call(DEVICE_ROUTE, DEVICE, json={"state": "downloading", "bytes": 100}),
    # Provisioning takes the fleet key and secret alone, whoever sends them.
    ("device_api.post_provision", "POST"): Call(
        everyone(201), json={"provisioning_key": "@provisioning_key", "provisioning_secret": "@provisioning_secret", "hardware_id": "a4cf12345678"}
    ),
    # ThingsBoard's device API
    ("thingsboard.post_telemetry", "POST"): Call(everyone(401), REVOKED, json={"temperature": 20}),
    ("thingsboard.post_attributes", "POST"): Call(everyone(401), REVOKED, json={"firmware": "1.0"}),
    ("thingsboard.get_attributes", "GET"): Call(everyone(401), REVOKED),
    ("thingsboard.get_attribute_updates", "GET"): Call(everyone(401), REVOKED | {"timeout": "0"}),
    ("thingsboard.get_rpc", "GET"): Call(everyone(401), REVOKED | {"timeout": "0"}),
    ("thingsboard.post_rpc_reply", "POST"): Call(everyone(401), REVOKED | {"request_id": "@command_id"}, json={"done": True}),
    ("thingsboard.post_rpc", "POST"): Call(everyone(401), REVOKED, json={"method": "getCurrentTime", "params": {}}),
    ("thingsboard.get_firmware", "GET"): Call(everyone(401), REVOKED | {"title": "Matrix firmware", "version": "2.0.0"}),
    # Its provisioning takes the fleet key and secret alone, whoever sends them.
    ("thingsboard.post_provision", "POST"): Call(
        everyone(200), json={"deviceName": "matrix-board", "provisionDeviceKey": "@provisioning_key", "provisionDeviceSecret": "@provisioning_secret"}
    ),
    # Blynk's device API
    ("blynk.update", "GET"): Call(everyone(400), REVOKED | {"V1": "5"}),
    ("blynk.batch_update", "GET"): Call(everyone(400), REVOKED | {"V1": "5", "V2": "6"}),
    ("blynk.upload_history", "POST"): Call(everyone(400), REVOKED | {"pin": "V1"}, json=[[1_700_000_000_000, 1]]),
    ("blynk.get_pins", "GET"): Call(everyone(400), REVOKED | {"V1": ""}),
    ("blynk.is_hardware_connected", "GET"): Call(everyone(400), REVOKED),
    ("blynk.legacy_update", "GET"): Call(everyone(400), REVOKED | {"pin": "V1", "value": "5"}),
    ("blynk.legacy_get", "GET"): Call(everyone(400), REVOKED | {"pin": "V1"}),
    ("blynk.legacy_is_hardware_connected", "GET"): Call(everyone(400), REVOKED),
    # Users' JSON API
    ("api.create_device", "POST"): Call(USER_JSON[201], json={"name": "Made by the matrix"}),
    ("api.list_devices", "GET"): Call(USER_JSON[200]),
    ("api.get_device", "GET"): Call(DEVICE_JSON[200], DEVICE),
    ("api.update_device", "PATCH"): Call(DEVICE_JSON[200], DEVICE, json={"offline_timeout": 120}),
    ("api.delete_device", "DELETE"): Call(DEVICE_JSON[204], DEVICE),
    ("api.device_history", "GET"): Call(DEVICE_JSON[200], DEVICE | {"key": "note"}),
    ("api.set_pin", "PUT"): Call(DEVICE_JSON[200], DEVICE | {"key": "v0"}, json={"value": 1}),
    ("api.get_rules", "GET"): Call(DEVICE_JSON[200], DEVICE),
    ("api.replace_rules", "PUT"): Call(DEVICE_JSON[200], DEVICE, json={"rules": []}),
    ("api.regenerate_token", "POST"): Call(DEVICE_JSON[200], DEVICE),
    ("api.create_alert_rule", "POST"): Call(DEVICE_JSON[201], DEVICE, json={"key": "humidity", "condition": "outside", "low": 30, "high": 70}),
    ("api.list_alert_rules", "GET"): Call(DEVICE_JSON[200], DEVICE),
    ("api.delete_alert_rule", "DELETE"): Call(DEVICE_JSON[204], ALERT_RULE),
    ("api.alert_history", "GET"): Call(DEVICE_JSON[200], DEVICE),
    ("api.create_webhook", "POST"): Call(DEVICE_JSON[201], DEVICE, json={"url": "http://127.0.0.1:9/other", "events": ["rule_denied"]}),
    ("api.list_webhooks", "GET"): Call(DEVICE_JSON[200], DEVICE),
    ("api.get_webhook", "GET"): Call(DEVICE_JSON[200], WEBHOOK),
    ("api.update_webhook", "PATCH"): Call(DEVICE_JSON[200], WEBHOOK, json={"enabled": False}),
    ("api.delete_webhook", "DELETE"): Call(DEVICE_JSON[204], WEBHOOK),
    ("api.list_attempts", "GET"): Call(DEVICE_JSON[200], DEVICE),
    ("api.send_command", "POST"): Call(DEVICE_JSON[201], DEVICE, json={"method": "reboot", "params": {"delay": 1}}),
    ("api.list_commands", "GET"): Call(DEVICE_JSON[200], DEVICE),
    ("api.get_command", "GET"): Call(DEVICE_JSON[200], COMMAND),
    ("api.create_provisioning_key", "POST"): Call(USER_JSON[201], json={"name": "Made by the matrix", "max_devices": 1}),
    ("api.list_provisioning_keys", "GET"): Call(USER_JSON[200]),
    ("api.get_provisioning_key", "GET"): Call(DEVICE_JSON[200], PROVISIONING_KEY),
    ("api.revoke_provisioning_key", "DELETE"): Call(DEVICE_JSON[204], PROVISIONING_KEY),
    ("api.upload_firmware", "POST"): Call(USER_JSON[201], form={"title": "Made by the matrix", "version": "9.9.9"}, files={"file": FIRMWARE_IMAGE}),
    ("api.list_firmware", "GET"): Call(USER_JSON[200]),
    ("api.assign_firmware", "POST"): Call(DEVICE_JSON[201], DEVICE, json={"firmware_id": "@firmware_id"}),
    ("api.device_ota", "GET"): Call(DEVICE_JSON[200], DEVICE),
    ("api.cancel_ota", "DELETE"): Call(DEVICE_JSON[204], DEVICE),
    # Another user can neither see the owner's image nor send it to the owner's device.
    ("api.start_rollout", "POST"): Call(DEVICE_JSON[201], json={"firmware_id": "@firmware_id", "device_ids": ["@device_id"]}),
    ("api.list_rollouts", "GET"): Call(USER_JSON[200]),
    ("api.get_rollout", "GET"): Call(DEVICE_JSON[200], ROLLOUT),
    ("api.update_rollout", "PATCH"): Call(DEVICE_JSON[200], ROLLOUT, json={"status": "paused"}),
    ("api.list_notifications", "GET"): Call(USER_JSON[200]),
    ("api.mark_notifications_read", "POST"): Call(USER_JSON[200], json={}),
    # Dashboard pages and the fragments htmx swaps
    ("dashboard.overview", "GET"): Call(USER_PAGE),
    ("dashboard.notifications_page", "GET"): Call(USER_PAGE),
    ("dashboard.mark_read", "POST"): Call(USER_FRAGMENT, htmx=True),
    ("dashboard.add_device", "POST"): Call(USER_FRAGMENT, form={"name": "Made by the matrix"}, htmx=True),
    ("dashboard.device_page", "GET"): Call(DEVICE_PAGE, DEVICE),
    ("dashboard.change_settings", "POST"): Call(DEVICE_FRAGMENT, DEVICE, form={"offline_timeout": "120"}, htmx=True),
    ("dashboard.regenerate_token", "POST"): Call(DEVICE_FRAGMENT, DEVICE, htmx=True),
    ("dashboard.add_widget", "POST"): Call(DEVICE_FRAGMENT, DEVICE, form={"kind": "value", "label": "Temperature", "key": "temperature"}, htmx=True),
    ("dashboard.edit_widget", "GET"): Call(DEVICE_FRAGMENT, WIDGET, htmx=True),
    ("dashboard.update_widget", "PUT"): Call(DEVICE_FRAGMENT, WIDGET, form={"kind": "switch", "label": "Lamp", "key": "v0"}, htmx=True),
    ("dashboard.remove_widget", "DELETE"): Call(DEVICE_FRAGMENT, WIDGET, htmx=True),
    ("dashboard.toggle_switch", "POST"): Call(DEVICE_FRAGMENT, WIDGET, form={"value": "1"}, htmx=True),
    # Plain forms (without htmx) post where htmx sends PUT and DELETE.
    ("dashboard.update_widget", "POST"): Call(DEVICE_FRAGMENT, WIDGET, form={"kind": "switch", "label": "Lamp", "key": "v0"}, htmx=True),
    ("dashboard.remove_widget", "POST"): Call(DEVICE_FRAGMENT, WIDGET | {"_method": "POST"}, htmx=True),
    ("dashboard.add_alert_rule", "POST"): Call(DEVICE_FRAGMENT, DEVICE, form={"key": "humidity", "condition": ">", "value": "80"}, htmx=True),
    ("dashboard.remove_alert_rule", "POST"): Call(DEVICE_FRAGMENT, ALERT_RULE, htmx=True),
    ("dashboard.admin_page", "GET"): Call(ADMIN_PAGE),
    ("dashboard.reset_password", "POST"): Call(ADMIN_FRAGMENT, {"user_id": "@other_user_id"}, htmx=True),
    ("dashboard.send_command", "POST"): Call(DEVICE_FRAGMENT, DEVICE, form={"method": "blink", "params": '{"times": 1}'}, htmx=True),
    ("dashboard.upload_and_send_firmware", "POST"): Call(
        DEVICE_FRAGMENT, DEVICE, form={"title": "Made by the matrix", "version": "9.9.9"}, files={"file": FIRMWARE_IMAGE}, htmx=True
    ),
    ("dashboard.send_firmware", "POST"): Call(DEVICE_FRAGMENT, DEVICE, form={"firmware_id": "@firmware_id_text"}, htmx=True),
    ("dashboard.cancel_update", "POST"): Call(DEVICE_FRAGMENT, DEVICE, htmx=True),
    ("dashboard.rollouts_page", "GET"): Call(USER_PAGE),
    ("dashboard.start_rollout", "POST"): Call(DEVICE_FRAGMENT, form={"firmware_id": "@firmware_id_text", "stage_percent": "100", "device_ids": "@device_id"}, htmx=True),
    ("dashboard.change_rollout", "POST"): Call(DEVICE_FRAGMENT, ROLLOUT, form={"status": "paused"}, htmx=True),
    ("dashboard.provisioning_page", "GET"): Call(USER_PAGE),
    ("dashboard.create_provisioning_key", "POST"): Call(USER_FRAGMENT, form={"name": "Made by the matrix", "max_devices": "1"}, htmx=True),
    ("dashboard.revoke_provisioning_key", "DELETE"): Call(DEVICE_FRAGMENT, PROVISIONING_KEY, htmx=True),
    ("dashboard.revoke_provisioning_key", "POST"): Call(DEVICE_FRAGMENT, PROVISIONING_KEY | {"_method": "POST"}, htmx=True),
    # Live streams
    ("realtime.notification_stream", "GET"): Call(EVENT_STREAM, stream=True),
    ("realtime.dashboard_socket", "GET"): Call(DEVICE_SOCKET, {"device": "@device_id"}),
    # Logging in and out: a right password logs in whoever sends the login form's CSRF token (token callers have none);
# logging out always lands on /login.
    ("auth.login_form", "GET"): Call(LOGIN_FORM, redirects_to="/"),
    ("auth.login", "POST"): Call(LOGIN, form={"email": "@owner_email", "password": "@password"}),
    ("auth.logout", "POST"): Call(everyone(303)),
    # Public: the API's documentation, static files, health. /metrics only with METRICS_TOKEN, which no actor has.
    ("apidocs.openapi_document", "GET"): Call(everyone(200)),
    ("apidocs.swagger_ui", "GET"): Call(everyone(200)),
    ("apidocs.redoc", "GET"): Call(everyone(200)),
    ("apidocs.asset", "GET"): Call(everyone(200), {"ui": "swagger", "filename": "js/swagger-ui-bundle.js"}),
    ("static", "GET"): Call(everyone(200), {"filename": "dashboard/app.js"}),
    ("dashboard.favicon", "GET"): Call(everyone(200)),
    ("monitoring.scrape", "GET"): Call(everyone(401)),
}
