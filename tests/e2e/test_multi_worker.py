"""Two gunicorn workers share live updates through Redis: a dashboard on one sees telemetry posted to the other."""
import http.client
import json
import os

import pytest
import websocket

from tests.dashboard.helpers import http_session
from tests.e2e.conftest import SERVER_SETTINGS
from tests.live_server import PASSWORD

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"),
        reason="several workers need REDIS_URL to share live updates; CI runs the suite again with Redis",
    ),
]

ATTEMPTS = 100
TIMEOUT = 10


@pytest.fixture(scope="module")
def two_workers(live_server_factory):
    return live_server_factory(workers=2, **SERVER_SETTINGS)


def worker_holding(server, client_port):
    """The pid of the worker that holds the server side of the TCP connection from `client_port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as connections:
            for line in list(connections)[1:]:
                fields = line.split()
                local_port, remote_port = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
                if (local_port, remote_port) == (server.port, client_port):
                    inodes.add(f"socket:[{fields[9]}]")
    for pid in server.worker_pids():
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
            except OSError:
                continue
    return None


def connection_to_another_worker(server, busy_worker):
    """A keep-alive HTTP connection that a worker other than `busy_worker` serves."""
    for _ in range(ATTEMPTS):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
        connection.request("GET", "/health")
        connection.getresponse().read()
        worker = worker_holding(server, connection.sock.getsockname()[1])
        if worker not in (None, busy_worker):
            return connection, worker
        connection.close()
    raise AssertionError(f"no connection reached another worker than {busy_worker} in {ATTEMPTS} attempts")


def test_dashboard_on_one_worker_sees_telemetry_posted_through_the_other(two_workers):
    email = two_workers.create_user()
    device = two_workers.create_device(email, name="Shared")
    _, _, cookie = http_session(two_workers.url, email, PASSWORD)
    dashboard = websocket.create_connection(two_workers.url.replace("http", "ws", 1) + "/ws", cookie=cookie, origin=two_workers.url, timeout=TIMEOUT)
    dashboard.recv()
    dashboard_worker = worker_holding(two_workers, dashboard.sock.getsockname()[1])
    connection, posting_worker = connection_to_another_worker(two_workers, dashboard_worker)

    connection.request(
        "POST",
        f"/devices/{device['device_id']}/telemetry",
        body=json.dumps({"device_token": device["device_token"], "data": {"v0": 1}}),
        headers={"Content-Type": "application/json"},
    )
    posted = connection.getresponse()
    posted.read()
    online = f'id="status-{device["device_id"]}" hx-swap-oob="true">Online</span>'
    updates = [dashboard.recv()]
    while online not in updates[-1]:
        updates.append(dashboard.recv())
    connection.close()
    dashboard.close()

    assert dashboard_worker is not None and posting_worker != dashboard_worker
    assert posted.status == 200
    assert f'<time id="seen-{device["device_id"]}"' in "".join(updates)


def test_a_regenerated_token_is_refused_at_once_by_the_other_worker_too(two_workers):
    admin = two_workers.create_user(admin=True)
    device = two_workers.create_device(name="Rotated")
    session, csrf, _ = http_session(two_workers.url, admin, PASSWORD)
    old_token_body = json.dumps({"device_token": device["device_token"], "data": {"v0": 1}})
    # A connection per worker, each having accepted the old token (so each worker knows it).
    first, first_worker = connection_to_another_worker(two_workers, busy_worker=None)
    second, _ = connection_to_another_worker(two_workers, busy_worker=first_worker)
    for connection in (first, second):
        connection.request("POST", f"/devices/{device['device_id']}/telemetry", body=old_token_body)
        accepted = connection.getresponse()
        accepted.read()
        assert accepted.status == 200

    regenerated = session.post(f"{two_workers.url}/devices/{device['device_id']}/token", headers={"X-CSRF-Token": csrf, "HX-Request": "true"}, timeout=TIMEOUT)
    statuses = []
    for connection in (first, second):
        connection.request("POST", f"/devices/{device['device_id']}/telemetry", body=old_token_body)
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
        connection.close()

    assert regenerated.status_code == 200 and "shown only this once" in regenerated.text
    assert statuses == [403, 403]
