"""The overview, device pages, adding devices, settings, tokens, notifications and admin pages."""
import re

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Notification
from webapp.services import notifications
from webapp.services.accounts import users


def post_telemetry(client, device, data):
    response = client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": data})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_overview_shows_a_card_per_own_device_with_status_and_last_seen(client, browser_for, make_user, make_device):
    owner = make_user()
    online = make_device(owner=owner, name="Greenhouse")
    silent = make_device(owner=owner, name="Cellar")
    others = make_device(name="Neighbour's ESP32")
    post_telemetry(client, online, {"temperature": 21.5})

    html = browser_for(owner).get("/").get_data(as_text=True)

    assert f'id="card-{online.id}"' in html and f'id="card-{silent.id}"' in html
    assert f'id="card-{others.id}"' not in html and "Neighbour" not in html
    assert f'<span class="badge badge-online" id="status-{online.id}">Online</span>' in html
    assert f'<span class="badge badge-offline" id="status-{silent.id}">Offline</span>' in html
    assert re.search(rf'<time id="seen-{online.id}" data-relative datetime="[^"]+Z"', html)
    assert f'<time id="seen-{silent.id}" data-relative>never</time>' in html


def test_admin_overview_shows_every_device_with_its_owner(browser_for, make_user, make_device):
    admin = make_user(admin=True)
    device = make_device(name="Someone's ESP32")

    html = browser_for(admin).get("/").get_data(as_text=True)

    assert f'id="card-{device.id}"' in html
    assert f"owner {device.owner.email}" in html


def test_adding_a_device_shows_its_id_and_token_once(client, browser_for, make_user):
    owner = make_user()
    browser = browser_for(owner)

    response = browser.htmx("POST", "/devices", data={"name": "Garage door", "offline_timeout": "30"})
    html = response.get_data(as_text=True)
    device_id = re.search(r'id="new-device-id-([0-9a-f]{24})"', html).group(1)
    token = re.search(rf'<code id="new-device-token-{device_id}">([^<]+)</code>', html).group(1)

    assert response.status_code == 200
    assert 'hx-swap-oob="beforeend:#device-cards"' in html and f'id="card-{device_id}"' in html
    assert client.post(f"/devices/{device_id}/telemetry", json={"device_token": token, "data": {"v0": 1}}).status_code == 200
    page = browser.get(f"/devices/{device_id}").get_data(as_text=True)
    assert token not in page and token[:8] in page


def test_adding_a_device_with_bad_input_is_a_400_toast(browser_for, make_user):
    browser = browser_for(make_user())

    response = browser.htmx("POST", "/devices", data={"name": "Too eager", "offline_timeout": "1"})

    assert response.status_code == 400
    assert 'role="alert"' in response.get_data(as_text=True) and "offline_timeout" in response.get_data(as_text=True)
    assert "Too eager" not in browser.get("/").get_data(as_text=True)


def test_device_page_shows_state_recent_telemetry_rules_settings_and_token_prefix(client, app, browser_for, make_device):
    device = make_device(name="Weather station")
    post_telemetry(client, device, {"temperature": 19.25, "humidity": 61})
    rules = [{"name": "sane_temp", "type": "range", "key": "temperature", "min": -40, "max": 60}]
    client.put(f"/api/devices/{device.id}/rules", json={"rules": rules}, headers=device.owner.headers)

    html = browser_for(device.owner).get(f"/devices/{device.id}").get_data(as_text=True)

    assert '<h1 id="device-name">Weather station</h1>' in html
    assert "<th scope=\"row\">temperature</th><td>19.25</td>" in html
    assert '<span class="reading-key">humidity</span> <span class="reading-value">61</span>' in html
    assert "sane_temp" in html and "range" in html
    assert 'name="offline_timeout" type="number" min="5" max="86400" value="60"' in html
    assert f'<code id="token-prefix-{device.id}">{device.token[:8]}…</code>' in html
    assert device.token not in html


def test_other_users_device_page_is_404(browser_for, make_user, make_device):
    device = make_device(name="Private")
    response = browser_for(make_user()).get(f"/devices/{device.id}")

    assert response.status_code == 404
    assert "Private" not in response.get_data(as_text=True)
    assert "<!DOCTYPE html>" in response.get_data(as_text=True)


def test_settings_change_only_what_is_given(browser_for, make_device):
    device = make_device(name="Old name", offline_timeout=45)
    browser = browser_for(device.owner)

    renamed = browser.htmx("POST", f"/devices/{device.id}/settings", data={"name": "New name", "offline_timeout": ""})
    refused = browser.htmx("POST", f"/devices/{device.id}/settings", data={"name": "Newer", "offline_timeout": "2"})

    assert renamed.status_code == 200 and "Saved." in renamed.get_data(as_text=True)
    assert refused.status_code == 400
    api = browser.get(f"/api/devices/{device.id}").get_json()
    assert (api["name"], api["offline_timeout"]) == ("New name", 45)


def test_regenerating_a_token_shows_it_once_and_refuses_the_old_one(client, browser_for, make_device):
    device = make_device()
    response = browser_for(device.owner).htmx("POST", f"/devices/{device.id}/token")
    html = response.get_data(as_text=True)
    new_token = re.search(rf'<code id="new-token-{device.id}">([^<]+)</code>', html).group(1)

    old = client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}})
    new = client.post(f"/devices/{device.id}/telemetry", json={"device_token": new_token, "data": {"v0": 1}})

    assert response.status_code == 200 and 'data-copy="#new-token-' in html
    assert f'<code id="token-prefix-{device.id}" hx-swap-oob="true">{new_token[:8]}…</code>' in html
    assert old.status_code == 403 and new.status_code == 200


def test_another_user_cannot_regenerate_a_token(client, browser_for, make_user, make_device):
    device = make_device()
    response = browser_for(make_user()).htmx("POST", f"/devices/{device.id}/token")

    assert response.status_code == 404
    assert client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}}).status_code == 200


def test_admin_page_lists_users_and_devices_and_regenerates_any_token(client, browser_for, make_user, make_device):
    admin = make_user(admin=True)
    device = make_device(name="Fleet member")
    browser = browser_for(admin)

    html = browser.get("/admin").get_data(as_text=True)
    regenerated = browser.htmx("POST", f"/devices/{device.id}/token")

    assert device.owner.email in html and admin.email in html and "Fleet member" in html
    assert "Regenerate token for Fleet member" in html
    assert regenerated.status_code == 200
    assert client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}}).status_code == 403


def test_admin_page_is_forbidden_to_users(browser_for, make_user):
    response = browser_for(make_user()).get("/admin")

    assert response.status_code == 403


def test_notifications_page_lists_them_with_muted_repeats_and_marks_them_read(app, client, browser_for, make_device):
    device = make_device(name="Flappy")
    with app.app_context():
        notifications.notify_owner(device.id, "offline", "went offline")
        first = db.session.scalar(select(Notification.id).where(Notification.device_id == device.id))
        notifications.notify_owner(device.id, "offline", "went offline")
        notifications.notify_owner(device.id, "offline", "went offline")
        notifications.notify_owner(device.id, "online", "came online")
        db.session.remove()
    browser = browser_for(device.owner)

    page = browser.get("/notifications").get_data(as_text=True)
    one_read = browser.htmx("POST", "/notifications/read", data={"id": str(first)}).get_data(as_text=True)
    all_read = browser.htmx("POST", "/notifications/read").get_data(as_text=True)

    assert "Flappy went offline" in page and "Flappy came online" in page
    assert "2 more while muted" in page
    assert 'data-count="2"' in page
    assert "1 unread" in one_read and '<span id="unread-count" class="counter" data-count="1" hx-swap-oob="true">' in one_read
    assert "0 unread" in all_read and 'data-count="0"' in all_read


def test_marking_another_users_notification_read_changes_nothing(app, browser_for, make_user, make_device):
    device = make_device(name="Theirs")
    with app.app_context():
        notifications.notify_owner(device.id, "offline", "went offline")
        theirs = db.session.scalar(select(Notification.id).where(Notification.device_id == device.id))
        db.session.remove()

    browser_for(make_user()).htmx("POST", "/notifications/read", data={"id": str(theirs)})

    assert 'data-count="1"' in browser_for(device.owner).get("/notifications").get_data(as_text=True)


def test_admin_resets_a_password_shown_once_and_the_users_logins_end(app, browser_for, make_user):
    admin, user = make_user(admin=True), make_user()
    users_browser = browser_for(user)

    response = browser_for(admin).htmx("POST", f"/admin/users/{user.id}/password")

    html = response.get_data(as_text=True)
    password = re.search(rf'<code id="new-password-{user.id}">([^<]+)</code>', html).group(1)
    assert response.status_code == 200 and user.email in html
    assert users_browser.get("/").status_code == 302
    with app.app_context():
        assert users.authenticate_user(user.email, password) is not None
    assert browser_for(make_user()).htmx("POST", f"/admin/users/{user.id}/password").status_code == 403
