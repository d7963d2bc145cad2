"""The dashboard in Chromium against a real gunicorn + gevent server: what a person sees and does."""
import json
import re
import statistics
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import DeviceClient, add_widget, create_widget, log_in, open_device_page, wait_until_live
from tests.live_server import PASSWORD

pytestmark = pytest.mark.live

# The issue asks for a value widget to change "within a second" of the POST; everything
# else waits on Playwright's default expect timeout (5 s) or on the event itself.
LIVE_UPDATE_DEADLINE_MS = 1000
LATENCY_POSTS = 50


def test_login_with_the_keyboard_alone_and_logout(page, live_server):
    email = live_server.create_user()
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))

    page.get_by_label("Email").focus()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Devices", level=1)).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_logging_out_in_one_tab_sends_the_others_to_the_login_form_and_back(page, context, live_server):
    email = live_server.create_user()
    device = DeviceClient(live_server, live_server.create_device(email, name="Attic"))
    log_in(page, live_server, email)
    other_tab = context.new_page()
    open_device_page(other_tab, live_server, device.id)

    page.get_by_role("button", name="Log out").click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(other_tab).to_have_url(re.compile(rf"/login\?next=%2Fdevices%2F{device.id}$"))
    other_tab.get_by_label("Email").fill(email)
    other_tab.get_by_label("Password").fill(PASSWORD)
    other_tab.get_by_role("button", name="Log in").click()
    expect(other_tab).to_have_url(re.compile(rf"/devices/{device.id}$"))
    wait_until_live(other_tab)


def test_device_goes_online_when_it_posts(page, live_server):
    email = live_server.create_user()
    device = DeviceClient(live_server, live_server.create_device(email, name="Greenhouse"))
    log_in(page, live_server, email)
    card = page.get_by_role("article", name="Greenhouse")
    expect(card.get_by_text("Offline", exact=True)).to_be_visible()
    expect(card.locator("time")).to_have_text("never")

    device.report({"temperature": 20.5})

    expect(card.get_by_text("Online", exact=True)).to_be_visible()
    expect(card.locator("time")).to_have_text("just now")


def test_value_widget_changes_without_reload_within_a_second(page, live_server):
    email = live_server.create_user()
    device = DeviceClient(live_server, live_server.create_device(email))
    log_in(page, live_server, email)
    open_device_page(page, live_server, device.id)
    widget = add_widget(page, "Value", "Temperature", "temperature", unit="°C")
    page.evaluate("() => { window.notReloaded = true; }")

    device.report({"temperature": 21.25})

    expect(widget.locator(".widget-reading")).to_have_text("21.25 °C", timeout=LIVE_UPDATE_DEADLINE_MS)
    assert page.evaluate("() => window.notReloaded") is True


def test_toggle_reaches_the_device_and_settles_when_it_reports(page, live_server):
    email = live_server.create_user()
    device = DeviceClient(live_server, live_server.create_device(email))
    log_in(page, live_server, email)
    open_device_page(page, live_server, device.id)
    add_widget(page, "Switch", "Lamp")
    switch = page.get_by_role("switch", name="Lamp")
    expect(switch).to_have_attribute("aria-checked", "false")
    etag = device.latest().headers["ETag"]

    switch.focus()
    page.keyboard.press("Space")
    expect(switch).to_have_attribute("aria-checked", "true")
    expect(page.locator(".switch-state")).to_have_text("On · pending")
    seen = device.latest(etag=etag, wait=10)
    device.report({"v0": seen.json()["data"]["v0"]})

    assert seen.status_code == 200 and seen.json()["data"]["v0"] == 1
    expect(page.locator(".switch-state")).to_have_text("On")
    expect(switch).to_have_attribute("aria-checked", "true")
    expect(switch).to_be_focused()
    page.keyboard.press("Enter")
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(page.locator(".switch-state")).to_have_text("Off · pending")


def test_toggle_falls_back_to_a_post_while_the_websocket_is_down(page, live_server):
    email = live_server.create_user()
    device = DeviceClient(live_server, live_server.create_device(email))
    log_in(page, live_server, email)
    open_device_page(page, live_server, device.id)
    add_widget(page, "Switch", "Fan")
    # From now on every WebSocket the page opens is closed at once, as by a proxy that refuses them.
    page.route_web_socket(re.compile(r"/ws"), lambda socket: socket.close())
    page.reload()
    expect(page.locator("#live-status")).not_to_have_text("Live")

    page.get_by_role("switch", name="Fan").click()

    expect(page.locator(".switch-state")).to_have_text("On · pending")
    assert device.latest().json()["data"]["v0"] == 1


def test_offline_notification_arrives_as_a_toast_and_counts_unread(page, live_server):
    email = live_server.create_user()
    device = DeviceClient(live_server, live_server.create_device(email, name="Doorbell", offline_timeout=5))
    log_in(page, live_server, email)
    expect(page.locator("#unread-count")).to_have_attribute("data-count", "0")

    device.report({"v0": 0})

    expect(page.locator("#toasts").get_by_text("Doorbell came online")).to_be_visible()
    expect(page.locator("#toasts").get_by_text("Doorbell went offline")).to_be_visible(timeout=20_000)
    expect(page.locator("#unread-count")).to_have_attribute("data-count", "2")
    expect(page.get_by_role("article", name="Doorbell").get_by_text("Offline", exact=True)).to_be_visible()

    page.get_by_role("link", name=re.compile("Notifications")).click()
    expect(page.locator("#notification-list").get_by_text("Doorbell went offline", exact=True)).to_be_visible()
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#unread-count")).to_have_attribute("data-count", "0")


def test_admin_regenerates_a_token_and_the_old_one_is_refused(page, live_server):
    admin = live_server.create_user(admin=True)
    credentials = live_server.create_device(name="Fleet sensor")
    device = DeviceClient(live_server, credentials)
    device.report({"v0": 0})
    log_in(page, live_server, admin)

    page.get_by_role("link", name="Admin").click()
    row = page.get_by_role("row", name=re.compile("Fleet sensor"))
    row.locator("summary", has_text="Regenerate token").click()
    row.get_by_role("button", name="Regenerate token for Fleet sensor").click()
    new_token = row.locator(".token-once code").inner_text()

    assert device.post({"v0": 1}).status_code == 403
    assert device.post({"v0": 1}, token=new_token).status_code == 200
    expect(row.locator(f"#token-prefix-{device.id}")).to_have_text(f"{new_token[:8]}…")
    row.get_by_role("button", name=re.compile("^Copy")).click()
    expect(row.get_by_role("button", name=re.compile("^Copied"))).to_be_visible()


def test_another_user_cannot_see_or_toggle_a_device(page, live_server):
    alice = live_server.create_user()
    alice_device = DeviceClient(live_server, live_server.create_device(alice, name="Alice's lamp"))
    widget_id = create_widget(live_server, alice, alice_device.id, kind="switch", label="Lamp")
    bob = live_server.create_user()
    bob_device = DeviceClient(live_server, live_server.create_device(bob, name="Bob's fan"))
    frames = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: frames.append(str(payload))))
    log_in(page, live_server, bob)

    expect(page.get_by_role("article")).to_have_count(1)
    not_found = page.evaluate(
        """async ([device, widget]) => {
            const csrf = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
            const response = await fetch(`/devices/${device}/widgets/${widget}/toggle`,
                {method: "POST", headers: {"X-CSRF-Token": csrf, "HX-Request": "true"}, body: new URLSearchParams({value: "1"})});
            return response.status;
        }""",
        [alice_device.id, widget_id],
    )
    refusal = page.evaluate(
        """([widget]) => new Promise(resolve => {
            const csrf = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
            const socket = new WebSocket(`ws://${location.host}/ws`);
            socket.onmessage = event => { if (event.data.includes("toast")) { socket.close(); resolve(event.data); } };
            socket.onopen = () => socket.send(JSON.stringify({widget_id: String(widget), value: "1", HEADERS: {"X-CSRF-Token": csrf}}));
        })""",
        [widget_id],
    )
    alice_device.report({"v0": 0, "secret": 42})
    bob_device.report({"speed": 2})
    expect(page.get_by_role("article", name="Bob's fan").get_by_text("Online", exact=True)).to_be_visible()
    expect(page.locator("#toasts").get_by_text("Bob's fan came online")).to_be_visible()
    page.goto(f"{live_server.url}/devices/{alice_device.id}")

    assert not_found == 404
    assert "No widget with id" in refusal
    assert alice_device.latest().json()["data"]["v0"] == 0
    expect(page.get_by_text(f"No device with id {alice_device.id}.")).to_be_visible()
    assert not [frame for frame in frames if alice_device.id in frame or "Alice" in frame]
    expect(page.get_by_text("Alice's lamp")).to_have_count(0)


def test_widgets_are_added_edited_and_removed_on_the_device_page(page, live_server):
    email = live_server.create_user()
    device = DeviceClient(live_server, live_server.create_device(email))
    device.report({"level": 40})
    log_in(page, live_server, email)
    open_device_page(page, live_server, device.id)

    gauge = add_widget(page, "Gauge", "Tank", "level", min=0, max=200, unit="l")
    expect(gauge.locator("meter")).to_have_attribute("value", "40")
    gauge.get_by_role("link", name="Edit Tank").click()
    editor = page.locator(".widget-editor form")
    editor.get_by_label("Label").fill("Water tank")
    editor.get_by_role("button", name="Save widget").click()
    renamed = page.locator(".widget", has_text="Water tank")
    expect(renamed).to_be_visible()
    expect(editor).to_have_count(0)
    renamed.get_by_role("button", name="Remove Water tank").click()
    expect(page.locator(".widget")).to_have_count(0)


def test_adding_a_device_shows_its_token_once_and_follows_it_live(page, live_server):
    email = live_server.create_user()
    log_in(page, live_server, email)

    page.get_by_label("Name").fill("Garden pump")
    page.get_by_role("button", name="Add device").click()
    result = page.locator("#new-device")
    expect(result.get_by_text("Device token", exact=True)).to_be_visible()
    device_id = result.locator("code").first.inner_text()
    token = result.locator("code").nth(1).inner_text()
    card = page.get_by_role("article", name="Garden pump")
    expect(card).to_be_visible()
    wait_until_live(page)
    DeviceClient(live_server, {"device_id": device_id, "device_token": token}).report({"v0": 1})

    expect(card.get_by_text("Online", exact=True)).to_be_visible()


def test_status_badges_read_online_and_offline_to_assistive_technology(page, live_server):
    email = live_server.create_user()
    DeviceClient(live_server, live_server.create_device(email, name="Reporter")).report({"v0": 1})
    live_server.create_device(email, name="Quiet one")
    log_in(page, live_server, email)

    snapshot = page.locator("#device-cards").aria_snapshot()

    assert re.search(r'article "Reporter".*?text: Online', snapshot, re.S)
    assert re.search(r'article "Quiet one".*?text: Offline', snapshot, re.S)


def test_telemetry_to_browser_latency(page, live_server, tmp_path):
    """Measures, does not assert on timing: post → the value on screen, from the test's own clocks."""
    email = live_server.create_user()
    device = DeviceClient(live_server, live_server.create_device(email))
    log_in(page, live_server, email)
    open_device_page(page, live_server, device.id)
    widget = add_widget(page, "Value", "Counter", "counter")
    widget_id = widget.get_attribute("id")
    page.evaluate(
        """(widgetId) => {
            window.seenAt = {};
            new MutationObserver(() => {
                const value = document.querySelector(`#${widgetId} .widget-reading`);
                if (value && !(value.textContent in window.seenAt)) window.seenAt[value.textContent] = Date.now();
            }).observe(document.getElementById("content"), {childList: true, subtree: true, characterData: true});
        }""",
        widget_id,
    )
    latencies = []
    for count in range(1, LATENCY_POSTS + 1):
        posted_at = time.time() * 1000
        device.report({"counter": count})
        page.wait_for_function("value => value in window.seenAt", arg=str(count))
        latencies.append(page.evaluate("value => window.seenAt[value]", str(count)) - posted_at)

    ordered = sorted(latencies)
    summary = {
        "posts": len(ordered),
        "median_ms": round(statistics.median(ordered), 1),
        "p99_ms": round(ordered[round(0.99 * (len(ordered) - 1))], 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
    }
    report = tmp_path / "telemetry_to_browser_latency.json"
    report.write_text(json.dumps({**summary, "latencies_ms": latencies}, indent=2))
    print(f"\ntelemetry-to-browser latency: {summary} (saved in {report})")
    assert len(latencies) == LATENCY_POSTS


def test_an_alert_set_on_the_device_page_is_raised_on_the_card_and_cleared_with_notifications(page, live_server):
    email = live_server.create_user()
    device = DeviceClient(live_server, live_server.create_device(email, name="Greenhouse"))
    log_in(page, live_server, email)
    open_device_page(page, live_server, device.id)

    page.locator("summary", has_text="Add an alert").click()
    page.get_by_label("Key", exact=True).fill("temperature")
    page.get_by_label("Condition").select_option(label="above (>)")
    page.get_by_label("Value", exact=True).fill("30")
    page.get_by_role("button", name="Add alert").click()
    rule = page.get_by_role("row", name=re.compile(r"^temperature > 30"))
    expect(rule.get_by_text("OK", exact=True)).to_be_visible()
    device.report({"temperature": 31.5})

    expect(rule.get_by_text("Active", exact=True)).to_be_visible()
    expect(page.locator("#toasts").get_by_text("Greenhouse alert: temperature > 30 (reads 31.5)")).to_be_visible()
    page.get_by_role("link", name="Devices", exact=True).click()
    raised = page.get_by_role("article", name="Greenhouse").get_by_role("list", name="Active alerts")
    expect(raised.get_by_role("listitem")).to_have_text(re.compile(r"temperature > 30"))
    wait_until_live(page)
    device.report({"temperature": 25})
    expect(raised.get_by_role("listitem")).to_have_count(0)
    expect(page.locator("#toasts").get_by_text("Greenhouse alert cleared: temperature > 30 (reads 25)")).to_be_visible()
