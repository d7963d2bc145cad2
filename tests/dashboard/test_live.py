"""The live streams against a real (threaded) server: /ws fragments and toggles, /events notifications."""
import json
import threading
import time

import pytest
import requests
import websocket

from tests.dashboard.helpers import http_session
from tests.waiting import wait_until
from webapp.core import metrics
from webapp.extensions import db
from webapp.pubsub.broker import MemoryBroker
from webapp.pubsub.channels import user_channel
from webapp.services import notifications

DEADLINE = 10


class Dashboard:
    """A logged-in user's WebSocket, as the htmx ws extension opens it."""

    def __init__(self, base_url, email, query=""):
        self.http, self.csrf, cookie = http_session(base_url, email)
        self.socket = websocket.create_connection(base_url.replace("http", "ws", 1) + "/ws" + query, cookie=cookie, origin=base_url, timeout=DEADLINE)
        self.snapshot = self.socket.recv()

    def receive_until(self, *texts):
        """Messages up to and including the one by which every one of `texts` has come."""
        received, missing = [], set(texts)
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            received.append(self.socket.recv())
            missing = {text for text in missing if text not in received[-1]}
            if not missing:
                return received
        raise AssertionError(f"no message with {missing!r} within {DEADLINE} s; got {received}")

    def close_code(self):
        """The status code of the close frame the server sends next (messages before it are skipped)."""
        while True:
            opcode, frame = self.socket.recv_data_frame(True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return int.from_bytes(frame.data[:2], "big")

    def toggle(self, widget_id, value, csrf=None):
        self.socket.send(json.dumps({"widget_id": str(widget_id), "value": str(value), "HEADERS": {"X-CSRF-Token": csrf or self.csrf}}))

    def close(self):
        self.socket.close()


@pytest.fixture
def dashboards(threaded_server):
    opened = []

    def open_dashboard(email, query=""):
        opened.append(Dashboard(threaded_server, email, query))
        return opened[-1]

    yield open_dashboard
    for dashboard in opened:
        dashboard.close()


def post_telemetry(base_url, device, data):
    response = requests.post(f"{base_url}/devices/{device.id}/telemetry", json={"device_token": device.token, "data": data}, timeout=DEADLINE)
    assert response.status_code == 200, response.text


def add_widget(base_url, session, csrf, device, **fields):
    response = session.post(f"{base_url}/devices/{device.id}/widgets", data=fields, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert response.status_code == 200, response.text
    return int(response.text.split('id="widget-', 1)[1].split('"', 1)[0])


def test_websocket_sends_a_snapshot_then_the_devices_changes(threaded_server, dashboards, make_device):
    device = make_device(name="Live one")
    dashboard = dashboards(device.owner.email)
    widget_id = add_widget(threaded_server, dashboard.http, dashboard.csrf, device, kind="value", label="Temperature", key="temperature")
    dashboard.receive_until(f'id="widgets-{device.id}"')

    post_telemetry(threaded_server, device, {"temperature": 23.75})
    messages = dashboard.receive_until("23.75", ">Online</span>")

    assert f'<span class="badge badge-offline" id="status-{device.id}" hx-swap-oob="true">Offline</span>' in dashboard.snapshot
    assert f'id="widgets-{device.id}" hx-swap-oob="true"' in dashboard.snapshot
    live = "".join(messages)
    assert f'<span class="badge badge-online" id="status-{device.id}" hx-swap-oob="true">Online</span>' in live
    assert f'id="widget-{widget_id}" data-key="temperature" hx-swap-oob="true"' in live
    assert f'<time id="seen-{device.id}" data-relative datetime=' in live


def test_websocket_toggle_reaches_a_waiting_long_poll_and_settles_when_reported(threaded_server, dashboards, make_device):
    device = make_device()
    dashboard = dashboards(device.owner.email)
    widget_id = add_widget(threaded_server, dashboard.http, dashboard.csrf, device, kind="switch", label="Lamp")
    dashboard.receive_until(f'id="widget-{widget_id}"')
    first = requests.get(f"{threaded_server}/telemetry/latest", params={"device_token": device.token}, timeout=DEADLINE)
    long_poll = {}
    poller = threading.Thread(
        target=lambda: long_poll.update(
            response=requests.get(
                f"{threaded_server}/telemetry/latest",
                params={"device_token": device.token, "wait": 20},
                headers={"If-None-Match": first.headers["ETag"]},
                timeout=30,
            )
        )
    )
    poller.start()

    dashboard.toggle(widget_id, 1)
    pending = dashboard.receive_until("On · pending")[-1]
    poller.join(timeout=DEADLINE)
    post_telemetry(threaded_server, device, {"v0": 1})
    settled = dashboard.receive_until(f'id="widget-{widget_id}"')[-1]

    assert 'role="switch" aria-checked="true"' in pending
    assert long_poll["response"].status_code == 200 and long_poll["response"].json()["data"]["v0"] == 1
    assert 'aria-checked="true"' in settled and "pending" not in settled


def test_websocket_toggle_without_the_csrf_token_is_refused(threaded_server, dashboards, make_device):
    device = make_device()
    dashboard = dashboards(device.owner.email)
    widget_id = add_widget(threaded_server, dashboard.http, dashboard.csrf, device, kind="switch", label="Lamp")

    dashboard.toggle(widget_id, 1, csrf="forged")
    refusal = dashboard.receive_until("CSRF token")[-1]

    assert 'hx-swap-oob="beforeend:#toasts"' in refusal and 'role="alert"' in refusal
    assert requests.get(f"{threaded_server}/telemetry/latest", params={"device_token": device.token}).json()["data"]["v0"] == 0


def test_websocket_rejects_messages_that_are_not_toggles(dashboards, make_device):
    device = make_device()
    dashboard = dashboards(device.owner.email)

    dashboard.socket.send("not json")
    dashboard.socket.send(json.dumps({"widget_id": "twelve", "value": "1"}))

    assert "not a switch toggle" in dashboard.receive_until("not a switch toggle")[-1]
    assert "not a switch toggle" in dashboard.receive_until("not a switch toggle")[-1]


def test_websocket_toggle_of_a_widget_id_too_big_for_the_database_is_refused_and_the_socket_stays(threaded_server, dashboards, make_device):
    device = make_device()
    dashboard = dashboards(device.owner.email)
    widget_id = add_widget(threaded_server, dashboard.http, dashboard.csrf, device, kind="switch", label="Lamp")

    dashboard.toggle(2**63, 1)
    assert "does not exist" in dashboard.receive_until("does not exist")[-1]

    dashboard.toggle(widget_id, 1)
    dashboard.receive_until(f'id="widget-{widget_id}"')
    assert requests.get(f"{threaded_server}/telemetry/latest", params={"device_token": device.token}).json()["data"]["v0"] == 1


def test_websocket_never_carries_another_users_device_nor_toggles_it(threaded_server, dashboards, make_user, make_device):
    alice_device = make_device(name="Alice's lamp")
    bob = make_user()
    bob_device = make_device(owner=bob, name="Bob's fan")
    alice = dashboards(alice_device.owner.email)
    widget_id = add_widget(threaded_server, alice.http, alice.csrf, alice_device, kind="switch", label="Lamp")
    bob_dashboard = dashboards(bob.email)

    bob_dashboard.toggle(widget_id, 1)
    refusal = bob_dashboard.receive_until("toast")
    post_telemetry(threaded_server, alice_device, {"v0": 0, "secret": 42})
    post_telemetry(threaded_server, bob_device, {"speed": 3})
    # Bob's own change was published after Alice's: had Alice's reached Bob, it would have come first.
    bob_messages = bob_dashboard.receive_until(bob_device.id)

    assert "No widget with id" in refusal[-1]
    assert alice_device.id not in bob_dashboard.snapshot + "".join(refusal + bob_messages)
    assert requests.get(f"{threaded_server}/telemetry/latest", params={"device_token": alice_device.token}).json()["data"]["v0"] == 0


def test_websocket_of_another_users_device_page_is_refused(threaded_server, make_user, make_device):
    device = make_device()
    _, _, cookie = http_session(threaded_server, make_user().email)

    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"{threaded_server.replace('http', 'ws', 1)}/ws?device={device.id}", cookie=cookie, origin=threaded_server)

    assert refused.value.status_code == 404


def test_websocket_refuses_anonymous_and_cross_site_connections(threaded_server, make_user):
    _, _, cookie = http_session(threaded_server, make_user().email)
    url = threaded_server.replace("http", "ws", 1) + "/ws"

    with pytest.raises(websocket.WebSocketBadStatusException) as anonymous:
        websocket.create_connection(url, origin=threaded_server)
    with pytest.raises(websocket.WebSocketBadStatusException) as cross_site:
        websocket.create_connection(url, cookie=cookie, origin="http://evil.example")
    # The same host under another scheme is another origin (a page injected over plain http, say).
    with pytest.raises(websocket.WebSocketBadStatusException) as other_scheme:
        websocket.create_connection(url, cookie=cookie, origin=threaded_server.replace("http://", "https://", 1))

    assert anonymous.value.status_code == 401
    assert cross_site.value.status_code == 403
    assert other_scheme.value.status_code == 403


def test_device_page_websocket_also_updates_state_table_and_recent_telemetry(threaded_server, dashboards, make_device):
    device = make_device()
    dashboard = dashboards(device.owner.email, f"?device={device.id}")

    post_telemetry(threaded_server, device, {"humidity": 48})
    live = "".join(dashboard.receive_until(f"readings-{device.id}"))

    assert f'<table class="state-table" id="state-{device.id}" hx-swap-oob="true">' in dashboard.snapshot
    assert '<th scope="row">humidity</th><td>48</td>' in live
    assert f'hx-swap-oob="afterbegin:#readings-{device.id}"' in live


def test_dashboards_redraw_widgets_when_another_tab_changes_them(threaded_server, dashboards, make_device):
    device = make_device()
    first_tab = dashboards(device.owner.email)
    second_tab = dashboards(device.owner.email)

    add_widget(threaded_server, first_tab.http, first_tab.csrf, device, kind="led", label="Status LED", key="v9")

    assert "Status LED" in second_tab.receive_until("Status LED")[-1]


def test_adding_a_device_makes_open_dashboards_reconnect_to_follow_it(threaded_server, dashboards, make_user):
    owner = make_user()
    dashboard = dashboards(owner.email)

    response = dashboard.http.post(f"{threaded_server}/devices", data={"name": "Brand new"}, headers={"X-CSRF-Token": dashboard.csrf, "HX-Request": "true"})

    assert response.status_code == 200
    assert dashboard.close_code() == 1012, "the htmx ws extension reconnects after 1012 (service restart)"


def test_logging_out_closes_the_streams_of_that_login_and_no_other(threaded_server, make_device):
    device = make_device()
    leaving = Dashboard(threaded_server, device.owner.email)
    staying = Dashboard(threaded_server, device.owner.email)
    add_widget(threaded_server, staying.http, staying.csrf, device, kind="value", label="Temperature", key="temperature")
    stream = leaving.http.get(f"{threaded_server}/events", stream=True, timeout=DEADLINE)
    events = read_events(stream)
    next(events)

    response = leaving.http.post(f"{threaded_server}/logout", data={"csrf_token": leaving.csrf}, allow_redirects=False)

    assert response.status_code == 303
    assert leaving.close_code() == 4401, "htmx does not reconnect after 4401; app.js goes to the login form"
    assert list(events) == []
    post_telemetry(threaded_server, device, {"temperature": 19.25})
    staying.receive_until("19.25")


def read_events(response):
    """Server-sent events as (event name, data) pairs."""
    name, data = None, []
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            data.append(line[len("data: "):])
        elif line == "" and name is not None:
            yield name, "\n".join(data)
            name, data = None, []


def test_event_stream_carries_own_notifications_with_the_unread_counter(app, threaded_server, make_user, make_device):
    alice_device = make_device(name="Alice's door")
    bob = make_user()
    bob_device = make_device(owner=bob, name="Bob's window")
    session, _, _ = http_session(threaded_server, bob.email)
    stream = session.get(f"{threaded_server}/events", stream=True, timeout=DEADLINE)
    events = read_events(stream)
    first = next(events)

    with app.app_context():
        notifications.notify_owner(alice_device.id, "offline", "went offline")
        notifications.notify_owner(bob_device.id, "offline", "went offline")
        db.session.remove()
    toast = next(events)
    item = next(events)
    with app.app_context():
        notifications.notify_owner(bob_device.id, "offline", "went offline")
        db.session.remove()
    muted = next(events)
    stream.close()

    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert first == ("notification", '<span id="unread-count" class="counter" data-count="0" hx-swap-oob="true">0<span class="visually-hidden"> unread</span></span>')
    assert toast[0] == "notification" and "Bob&#39;s window went offline" in toast[1] and 'data-count="1"' in toast[1]
    assert 'hx-swap-oob="beforeend:#toasts"' in toast[1]
    assert item[0] == "notification-item" and "Bob&#39;s window went offline" in item[1]
    assert "Alice" not in toast[1] + item[1]
    notification_id = item[1].split('id="notification-', 1)[1].split('"', 1)[0]
    assert muted == ("notification-muted", f'<span class="muted" id="muted-{notification_id}" hx-swap-oob="true">1 more while muted</span>')


def test_event_stream_needs_a_login(threaded_server):
    response = requests.get(f"{threaded_server}/events", timeout=DEADLINE)

    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


def test_streams_end_when_the_client_goes(app, threaded_server, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LIVE_HEARTBEAT_SECONDS", 0.2)
    user = make_user()
    # Counted by this user's channel: streams of earlier tests, whose clients went too, end at their own
    # heartbeat, which may fall within this test.
    streams = lambda: app.extensions["broker"].listening(user_channel(user.id))  # noqa: E731
    dashboard = Dashboard(threaded_server, user.email)
    session, _, _ = http_session(threaded_server, user.email)
    stream = session.get(f"{threaded_server}/events", stream=True, timeout=DEADLINE)
    next(read_events(stream))
    wait_until(lambda: streams() == 2, "both streams registering", DEADLINE)
    assert metrics.open_streams() >= 2

    dashboard.close()
    stream.close()

    wait_until(lambda: streams() == 0, "both streams ending", DEADLINE)


def test_open_streams_hold_no_database_connection(threaded_server, make_device):
    device = make_device()
    open_dashboards = [Dashboard(threaded_server, device.owner.email) for _ in range(3)]
    session, _, _ = http_session(threaded_server, device.owner.email)
    stream = session.get(f"{threaded_server}/events", stream=True, timeout=DEADLINE)
    next(read_events(stream))

    # With SQLite the pool has one connection: a stream holding it would stall these until the pool times out.
    telemetry = requests.post(f"{threaded_server}/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}}, timeout=5)
    page = session.get(f"{threaded_server}/", timeout=5)
    stream.close()
    for dashboard in open_dashboards:
        dashboard.close()

    assert telemetry.status_code == 200 and page.status_code == 200


def test_a_stopping_worker_ends_its_streams_so_clients_reconnect(app, threaded_server, make_user, monkeypatch):
    broker = MemoryBroker()
    monkeypatch.setitem(app.extensions, "broker", broker)
    user = make_user()
    dashboard = Dashboard(threaded_server, user.email)
    session, _, _ = http_session(threaded_server, user.email)
    stream = session.get(f"{threaded_server}/events", stream=True, timeout=DEADLINE)
    events = read_events(stream)
    next(events)  # each stream subscribed before its first message

    broker.shut_down()

    assert dashboard.close_code() == 1012, "the htmx ws extension reconnects after 1012 (service restart)"
    assert list(events) == []


def test_event_stream_grows_a_summary_in_place_when_more_devices_fold_into_it(app, threaded_server, make_user, make_device):
    owner = make_user()
    devices = [make_device(owner=owner, name=f"Shed {n}") for n in range(5)]
    session, _, _ = http_session(threaded_server, owner.email)
    stream = session.get(f"{threaded_server}/events", stream=True, timeout=DEADLINE)
    events = read_events(stream)
    next(events)

    with app.app_context():
        for device in devices:
            notifications.notify_owner(device.id, "offline", "went offline")
        db.session.remove()
    received = [next(events) for _ in range(2 * 4 + 1)]
    stream.close()

    summary = received[7]
    assert summary[0] == "notification-item" and "1 more device went offline: Shed 3" in summary[1]
    summary_id = summary[1].split('id="notification-', 1)[1].split('"', 1)[0]
    assert received[-1] == (
        "notification-grouped",
        f'<span class="message" id="notification-message-{summary_id}" hx-swap-oob="true">2 more devices went offline: Shed 3 and Shed 4'
        ' <a href="/">See your devices</a></span>',
    )
