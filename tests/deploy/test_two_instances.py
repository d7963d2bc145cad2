"""The platform as it runs in production: nginx (deploy/nginx/thingsnxt.conf) terminating TLS in front
of two instances sharing PostgreSQL and Redis. Everything here goes through the proxy."""
import contextlib
import os
import queue
import signal
import socket
import ssl
import statistics
import subprocess
import threading
import time
import uuid

import requests
import websocket

from tests.dashboard.helpers import csrf_from
from tests.live_server import PASSWORD
from tests.presence.helpers import age_device, notifications_of
from tests.waiting import wait_until
from webapp.extensions import db
from webapp.models import Reading

TIMEOUT = 10
TOGGLE_ROUNDS = 12


def https(deployment):
    session = requests.Session()
    # Else REQUESTS_CA_BUNDLE, when set, would win over the session's own CA (a known requests quirk).
    session.trust_env = False
    session.verify = deployment.certificate
    return session


def post_telemetry(session, deployment, device, data, mark="", **headers):
    return session.post(
        f"{deployment.url}/devices/{device['device_id']}/telemetry",
        json={"device_token": device["device_token"], "data": data},
        headers={"X-Test-Mark": mark, **headers},
        timeout=TIMEOUT,
    )


def log_in(deployment, email):
    """A browser's session through the proxy: (session, CSRF token, Cookie header)."""
    session = https(deployment)
    csrf = csrf_from(session.get(deployment.url + "/login", timeout=TIMEOUT).text)
    answer = session.post(deployment.url + "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf}, allow_redirects=False)
    assert answer.status_code == 303, answer.text
    csrf = csrf_from(session.get(deployment.url + "/", timeout=TIMEOUT).text)
    return session, csrf, "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def on_both_instances(deployment, send):
    """Call `send(mark)` until nginx has passed it to both instances; the answers."""
    answers, ports = [], set()
    for _ in range(20):
        mark = uuid.uuid4().hex
        answers.append(send(mark))
        ports.update(deployment.nginx.upstreams_of(mark))
        if ports == {deployment.a.port, deployment.b.port}:
            return answers
    raise AssertionError(f"nginx sent every request to the same instance: {ports}")


def requests_in_flight(*ports):
    """Established TCP connections to the instances on `ports` (nginx opens one per request: no upstream keepalive).
    Asked of the kernel by `ss`, which filters them there: /proc/net/tcp lists every connection of the machine."""
    ports_filter = " or ".join(f"sport = :{port}" for port in ports)
    listed = subprocess.run(["ss", "-Htn", "state", "established", f"( {ports_filter} )"], capture_output=True, text=True, check=True)
    return len(listed.stdout.splitlines())


class Load:
    """A thread per device posting numbered readings through nginx until stopped; what was answered how."""

    def __init__(self, deployment, devices):
        self.deployment = deployment
        self.acknowledged, self.failures, self.sent = [], [], []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._post, args=(device,), daemon=True) for device in devices]
        for thread in self.threads:
            thread.start()

    def _post(self, device):
        session = https(self.deployment)
        number = 0
        while not self.stopping.is_set():
            body = {"device_token": device["device_token"], "ts": 1_700_000_000_000 + number, "data": {"n": number}}
            self.sent.append(number)
            try:
                status = session.post(f"{self.deployment.url}/devices/{device['device_id']}/telemetry", json=body, timeout=TIMEOUT).status_code
            except requests.RequestException:
                status = None
            if status is not None and 200 <= status < 300:
                self.acknowledged.append((device["device_id"], number))
            else:
                self.failures.append(status)
            number += 1

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join()


class EventStream:
    """The dashboard's /events, read in a thread: (event, data) pairs on a queue."""

    def __init__(self, session, deployment):
        self.response = session.get(deployment.url + "/events", stream=True, timeout=TIMEOUT)
        self.events = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        name, data = None, []
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line.startswith("event: "):
                    name = line[len("event: "):]
                elif line.startswith("data: "):
                    data.append(line[len("data: "):])
                elif line == "" and name is not None:
                    self.events.put((name, "\n".join(data)))
                    name, data = None, []
        except (requests.RequestException, AttributeError, OSError, ValueError):
            pass

    def next_matching(self, text, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            name, data = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if name == "notification" and text in data:
                return data

    def close(self):
        # The reader thread is blocked in recv(), holding the response's buffer: shutting the socket
        # down wakes it, where close() alone would wait for the read timeout.
        connection = self.response.raw.connection
        if connection is not None and connection.sock is not None:
            connection.sock.shutdown(socket.SHUT_RDWR)
        self.response.close()


def test_telemetry_over_https_with_http2(deployment):
    context = ssl.create_default_context(cafile=deployment.certificate)
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", deployment.nginx.https_port)) as raw, context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        protocol, version = tls.selected_alpn_protocol(), tls.version()
    device = deployment.a.create_device()
    session = https(deployment)
    posted = on_both_instances(deployment, lambda mark: post_telemetry(session, deployment, device, {"v0": 1, "t": 21.5}, mark))
    latest = session.get(f"{deployment.url}/telemetry/latest", params={"device_token": device["device_token"]}, timeout=TIMEOUT)
    plain = requests.post(f"http://127.0.0.1:{deployment.nginx.http_port}/telemetry", json={}, allow_redirects=False, timeout=TIMEOUT)

    assert protocol == "h2" and version == "TLSv1.3"
    assert [answer.status_code for answer in posted] == [200] * len(posted)
    assert latest.status_code == 200 and latest.json()["data"] == {"v0": 1, "t": 21.5}
    # Plain HTTP is sent to HTTPS, a POST staying a POST.
    assert plain.status_code == 308 and plain.headers["Location"].startswith("https://127.0.0.1/telemetry")


def test_bodies_larger_than_the_app_accepts_are_refused_by_nginx_as_json(deployment):
    device = deployment.a.create_device()
    session = https(deployment)
    too_large = post_telemetry(session, deployment, device, {"blob": "x" * 70_000})

    assert too_large.status_code == 413
    assert too_large.json()["error"] == "payload_too_large"


def test_the_dashboard_is_live_over_wss_and_sse(deployment):
    email = deployment.a.create_user()
    device = deployment.a.create_device(email, name="Greenhouse")
    session, _, cookie = log_in(deployment, email)
    socket_url = deployment.url.replace("https", "wss", 1) + "/ws"
    dashboard = websocket.create_connection(
        socket_url, cookie=cookie, origin=deployment.url, timeout=TIMEOUT, sslopt={"ca_certs": deployment.certificate}
    )
    dashboard.recv()
    stream = EventStream(session, deployment)

    posted = on_both_instances(deployment, lambda mark: post_telemetry(https(deployment), deployment, device, {"v0": 1}, mark))
    online = f'id="status-{device["device_id"]}" hx-swap-oob="true">Online</span>'
    updates = [dashboard.recv()]
    while online not in updates[-1]:
        updates.append(dashboard.recv())
    toast = stream.next_matching("Greenhouse came online")
    dashboard.close()
    stream.close()

    assert all(answer.status_code == 200 for answer in posted)
    assert stream.response.headers["Content-Type"].startswith("text/event-stream")
    assert "Greenhouse came online" in toast


def test_a_toggle_on_one_instance_reaches_a_device_long_polling_on_the_other(deployment):
    email = deployment.a.create_user()
    device = deployment.a.create_device(email)
    api = https(deployment)
    api.headers["Authorization"] = f"Bearer {deployment.a.api_token(email)}"
    poller = https(deployment)
    latest_url = f"{deployment.url}/telemetry/latest"
    etag = poller.get(latest_url, params={"device_token": device["device_token"]}, timeout=TIMEOUT).headers["ETag"]
    delays_ms, after_answer_ms = [], []
    for value in range(1, TOGGLE_ROUNDS + 1):
        poll_mark, toggle_mark = uuid.uuid4().hex, uuid.uuid4().hex
        answered = {}

        def long_poll(etag=etag, poll_mark=poll_mark, answered=answered):
            answer = poller.get(
                latest_url,
                params={"device_token": device["device_token"], "wait": 25},
                headers={"If-None-Match": etag, "X-Test-Mark": poll_mark},
                timeout=30,
            )
            answered["at"], answered["answer"] = time.monotonic(), answer

        # Nothing else in flight to either instance, so the one connection that appears is the long-poll's.
        wait_until(lambda: requests_in_flight(deployment.a.port, deployment.b.port) == 0, "earlier requests ending")
        polling = threading.Thread(target=long_poll)
        polling.start()
        wait_until(lambda: requests_in_flight(deployment.a.port, deployment.b.port) == 1, "the long-poll reaching an instance")
        toggled_at = time.monotonic()
        toggled = api.put(f"{deployment.url}/api/devices/{device['device_id']}/pins/v1", json={"value": value}, headers={"X-Test-Mark": toggle_mark})
        toggle_answered_at = time.monotonic()
        polling.join(timeout=30)
        etag = answered["answer"].headers["ETag"]

        assert toggled.status_code == 200
        assert answered["answer"].status_code == 200 and answered["answer"].json()["data"]["v1"] == value
        if deployment.nginx.upstreams_of(poll_mark) != deployment.nginx.upstreams_of(toggle_mark):
            # From sending the toggle (its own request through nginx included) to the device's answer.
            delays_ms.append((answered["at"] - toggled_at) * 1000)
            after_answer_ms.append(max(0.0, answered["at"] - toggle_answered_at) * 1000)

    print(f"\ntoggle on one instance -> long-poll on the other: {len(delays_ms)} rounds, median {statistics.median(delays_ms):.1f} ms, "
          f"max {max(delays_ms):.1f} ms; after the toggle's own answer: median {statistics.median(after_answer_ms):.1f} ms")
    assert len(delays_ms) >= TOGGLE_ROUNDS // 3
    # The device has the new value within 100 ms of the toggle being made (answered to whoever made it).
    assert max(after_answer_ms) < 100


def test_a_token_regenerated_on_one_instance_is_refused_on_the_other_at_once(deployment):
    email = deployment.a.create_user()
    device = deployment.a.create_device(email)
    # Both instances busy with other devices' telemetry meanwhile.
    load = Load(deployment, [deployment.a.create_device(name=f"Busy {number}") for number in range(6)])
    try:
        rotate_and_post_with_the_old_token(deployment, email, device)
    finally:
        load.stop()
    assert load.failures == [] and len(load.acknowledged) > 0


def rotate_and_post_with_the_old_token(deployment, email, device):
    api = https(deployment)
    api.headers["Authorization"] = f"Bearer {deployment.a.api_token(email)}"
    session = https(deployment)
    for _ in range(5):
        # Both instances know the current token (each has it in its directory).
        accepted = on_both_instances(deployment, lambda mark: post_telemetry(session, deployment, device, {"v0": 1}, mark))
        regenerated = api.post(f"{deployment.url}/api/devices/{device['device_id']}/token", timeout=TIMEOUT)
        refused = on_both_instances(deployment, lambda mark: post_telemetry(session, deployment, device, {"v0": 1}, mark))

        assert [answer.status_code for answer in accepted] == [200] * len(accepted)
        assert regenerated.status_code == 200
        assert [answer.status_code for answer in refused] == [403] * len(refused)
        device = {**device, "device_token": regenerated.json()["device_token"]}


def test_presence_notifications_are_sent_once_across_both_instances(deployment):
    email = deployment.a.create_user()
    device = deployment.a.create_device(email, name="Cellar", offline_timeout=5)
    session, _, _ = log_in(deployment, email)
    stream = EventStream(session, deployment)
    on_both_instances(deployment, lambda mark: post_telemetry(https(deployment), deployment, device, {"v0": 1}, mark))
    stream.next_matching("Cellar came online")
    # As if the device had been silent past its timeout: both instances' presence sweeps see it at once.
    age_device(deployment.a.app, device["device_id"], 10)
    stream.next_matching("Cellar went offline")
    # Each instance sweeps every second (PRESENCE_SWEEP_INTERVAL): two more rounds on each find nothing more to send.
    repeats = []
    with contextlib.suppress(queue.Empty):
        repeats.append(stream.next_matching("Cellar", timeout=2.5))
    stream.close()

    assert repeats == []
    kinds = [kind for kind, _, _ in notifications_of(deployment.a.app, device["device_id"])]
    assert sorted(kinds) == ["offline", "online"]


def test_rules_and_rate_limits_see_the_clients_real_address(deployment):
    email = deployment.a.create_user()
    device = deployment.a.create_device(email)
    api = https(deployment)
    api.headers["Authorization"] = f"Bearer {deployment.a.api_token(email)}"
    rules_url = f"{deployment.url}/api/devices/{device['device_id']}/rules"
    session = https(deployment)
    forged = {"X-Forwarded-For": "10.20.30.40"}

    api.put(rules_url, json={"rules": [{"name": "lan", "type": "source_network", "networks": ["10.20.30.0/24"]}]}, timeout=TIMEOUT)
    denied = on_both_instances(deployment, lambda mark: post_telemetry(session, deployment, device, {"v0": 1}, mark, **forged))
    api.put(rules_url, json={"rules": [{"name": "here", "type": "source_network", "networks": ["127.0.0.1/32"]}]}, timeout=TIMEOUT)
    allowed = on_both_instances(deployment, lambda mark: post_telemetry(session, deployment, device, {"v0": 1}, mark, **forged))
    # Failed logins from "different" forged addresses: one budget (RATELIMIT_LOGIN, 8 a minute), shared by both instances.
    login_statuses = []
    for attempt in range(10):
        browser = https(deployment)
        csrf = csrf_from(browser.get(deployment.url + "/login", timeout=TIMEOUT).text)
        answer = browser.post(
            deployment.url + "/login",
            data={"email": email, "password": "wrong", "csrf_token": csrf},
            headers={"X-Forwarded-For": f"10.0.0.{attempt}"},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        login_statuses.append(answer.status_code)

    assert all(answer.status_code == 403 and answer.json()["rule"] == "lan" for answer in denied)
    assert all(answer.status_code == 200 for answer in allowed)
    assert 429 in login_statuses and login_statuses[-1] == 429
    assert login_statuses.index(429) <= 8


def test_when_an_instance_dies_under_load_nginx_fails_over_and_nothing_acknowledged_is_lost(deployment):
    devices = [deployment.a.create_device(name=f"Load {number}") for number in range(6)]
    load = Load(deployment, devices)
    wait_until(lambda: len(load.acknowledged) >= 150, "load before the kill", timeout=30)
    # The host of instance B goes away: every one of its processes at once.
    victim = deployment.b
    for pid in [*victim.worker_pids(), victim.process.pid]:
        os.kill(pid, signal.SIGKILL)
    victim.process.wait()
    victim.process = None
    acknowledged_at_kill = len(load.acknowledged)
    wait_until(lambda: len(load.acknowledged) >= acknowledged_at_kill + 300, "load after the kill", timeout=30)
    load.stop()

    with deployment.a.app.app_context():
        ids = [device["device_id"] for device in devices]
        stored = {(row.device_id, int(row.value)) for row in db.session.query(Reading).filter(Reading.device_id.in_(ids))}
        db.session.remove()
    lost = set(load.acknowledged) - stored
    print(f"\nfailover: {len(load.sent)} requests, {len(load.acknowledged)} answered 2xx, {len(load.failures)} failed "
          f"{sorted(set(map(str, load.failures)))}, lost {len(lost)}")
    assert lost == set()
    # Only requests in flight at the kill may fail (one per device); the rest went to instance A.
    assert len(load.failures) <= len(devices)
