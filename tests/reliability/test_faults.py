"""Faults a real server must survive with nothing acknowledged lost.

A killed worker, a database that stops and comes back, a Redis that stops
(or hangs) and comes back, and SIGTERM with requests in flight. Each test runs its own
gunicorn + gevent server under a load of telemetry POSTs whose every reading
is distinct, records which ones were acknowledged (2xx), and afterwards
finds every acknowledged one in the readings table.

PostgreSQL and Redis are private instances started here (never the shared
ones other tests use); on PostgreSQL + Redis (DATABASE_URL and REDIS_URL
set) the killed-worker test runs two workers.
"""
import collections
import os
import signal
import socket
import threading

import orjson
import pytest
import redis
import requests
from sqlalchemy import select

from tests import databases
from tests.conftest import settings_for_tests
from tests.live_server import LiveServer
from tests.reliability.private_services import PrivatePostgres, PrivateRedis, postgresql_bin_dir
from tests.waiting import wait_until
from webapp.core import values
from webapp.extensions import db
from webapp.models import Reading
from webapp.pubsub.broker import RedisBroker

pytestmark = pytest.mark.live

REQUEST_TIMEOUT = 10
DEADLINE = 60
LOAD_THREADS = 6


def shared_backend_workers():
    return 2 if databases.uses_postgresql() and os.environ.get("REDIS_URL") else 1


class TelemetryLoad:
    """Client threads posting distinct readings (one device each), remembering which got a 2xx."""

    def __init__(self, server, devices):
        self.url = server.url
        self.devices = devices
        self.acked = collections.defaultdict(set)
        self.outcomes = collections.Counter()
        self._acks = 0
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._post_until_stopped, args=(device,), daemon=True) for device in devices]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT + 5)

    def _post_until_stopped(self, device):
        # Sessions are closed when done: an idle kept-alive connection holds a stopping worker until GRACEFUL_TIMEOUT.
        with requests.Session() as session:
            self._post_with(session, device)

    def _post_with(self, session, device):
        number = 0
        while not self._stop.is_set():
            number += 1
            value = f"{device['device_id']}-{number}"
            try:
                response = session.post(
                    f"{self.url}/devices/{device['device_id']}/telemetry",
                    json={"device_token": device["device_token"], "data": {"seq": value}},
                    timeout=REQUEST_TIMEOUT,
                )
                outcome = response.status_code
            except requests.Timeout:
                outcome = "timeout"
            except requests.RequestException:
                outcome = "connection error"
            with self._changed:
                self.outcomes[outcome] += 1
                if isinstance(outcome, int) and 200 <= outcome < 300:
                    self.acked[device["device_id"]].add(value)
                    self._acks += 1
                self._changed.notify_all()
            if outcome != 200:
                self._stop.wait(0.05)  # a client backs off after an error, as the firmware does

    def wait_for_acks(self, more):
        """Block until `more` further readings are acknowledged."""
        with self._changed:
            target = self._acks + more
            assert self._changed.wait_for(lambda: self._acks >= target, DEADLINE), f"stuck at {self._acks} acks: {self.outcomes}"

    def wait_for_outcome(self, outcome):
        with self._changed:
            seen = self.outcomes[outcome]
            assert self._changed.wait_for(lambda: self.outcomes[outcome] > seen, DEADLINE), f"no {outcome}: {self.outcomes}"


def stored_readings(server, device_ids):
    with server.app.app_context():
        rows = db.session.execute(select(Reading.device_id, Reading.value).where(Reading.device_id.in_(device_ids), Reading.key == "seq")).all()
        db.session.remove()
    stored = collections.defaultdict(set)
    for device_id, value in rows:
        stored[device_id].add(values.decode(value))
    return stored


def assert_nothing_acknowledged_lost(server, load, capsys):
    stored = stored_readings(server, [device["device_id"] for device in load.devices])
    lost = {device_id: acked - stored[device_id] for device_id, acked in load.acked.items() if acked - stored[device_id]}
    assert not lost, f"acknowledged but not stored: {lost}"
    acknowledged = sum(len(acked) for acked in load.acked.values())
    assert acknowledged > 0
    with capsys.disabled():
        print(f"\n  {acknowledged} readings acknowledged, all stored; answers: {dict(load.outcomes)}")


def health(server):
    response = requests.get(server.url + "/health", timeout=REQUEST_TIMEOUT)
    return response.status_code, response.json()


# A worker killed under load


def test_acknowledged_readings_survive_a_worker_killed_mid_load(live_server_factory, capsys):
    server = live_server_factory(workers=shared_backend_workers())
    devices = [server.create_device() for _ in range(LOAD_THREADS)]
    victim = server.worker_pids()[0]

    with TelemetryLoad(server, devices) as load:
        load.wait_for_acks(200)
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: victim not in server.worker_pids() and len(server.worker_pids()) == server.workers, "no worker replaced the killed one", DEADLINE)
        load.wait_for_acks(200)

    assert not [outcome for outcome in load.outcomes if isinstance(outcome, int) and outcome >= 500], load.outcomes
    assert_nothing_acknowledged_lost(server, load, capsys)


# The database stops and comes back


@pytest.fixture
def private_postgres():
    bin_dir = postgresql_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) or runuser are not installed")
    instance = PrivatePostgres(bin_dir)
    yield instance
    instance.close()


def test_database_outage_answers_503_then_service_resumes_by_itself(private_postgres, tmp_path, capsys):
    settings = settings_for_tests("")
    server = LiveServer(tmp_path, settings, workers=2 if settings["REDIS_URL"] else 1, database_url=private_postgres.create_database())
    try:
        server.start()
        devices = [server.create_device() for _ in range(LOAD_THREADS)]
        with TelemetryLoad(server, devices) as load:
            load.wait_for_acks(50)
            private_postgres.stop()

            wait_until(lambda: health(server)[0] == 503, "/health did not report the outage", DEADLINE)
            status, body = health(server)
            assert (status, body["status"], body["database"]) == (503, "unavailable", "unavailable")
            load.wait_for_outcome(503)
            device = devices[0]
            posted = requests.post(
                f"{server.url}/devices/{device['device_id']}/telemetry",
                json={"device_token": device["device_token"], "data": {"during": 1}}, timeout=REQUEST_TIMEOUT,
            )
            polled = requests.get(f"{server.url}/telemetry/latest", params={"device_token": device["device_token"]}, timeout=REQUEST_TIMEOUT)
            assert (posted.status_code, polled.status_code) == (503, 503)
            assert posted.json()["error"] == "unavailable" and posted.headers["Retry-After"]

            private_postgres.start()
            wait_until(lambda: health(server)[0] == 200, "/health did not recover", DEADLINE)
            load.wait_for_acks(50)

        assert set(load.outcomes) <= {200, 503}, load.outcomes
        assert_nothing_acknowledged_lost(server, load, capsys)
    finally:
        server.close()


# Redis stops, or hangs, and comes back


@pytest.fixture
def private_redis():
    instance = PrivateRedis()
    yield instance
    instance.close()


def long_poll_released_by_toggle(server, device, api_token):
    """Whether a waiting long-poll is answered (200, the new value) when the owner sets a pin."""
    token = {"device_token": device["device_token"]}
    etag = requests.get(f"{server.url}/telemetry/latest", params=token, timeout=REQUEST_TIMEOUT).headers["ETag"]
    answer = {}
    poll = threading.Thread(
        target=lambda: answer.setdefault(
            "response",
            requests.get(f"{server.url}/telemetry/latest", params={**token, "wait": 20}, headers={"If-None-Match": etag}, timeout=30),
        )
    )
    poll.start()
    # The pin is set until the poll answers: the first toggles may come before the poll subscribed.
    value = 0
    while poll.is_alive() and value < 100:
        value += 1
        toggled = requests.put(
            f"{server.url}/api/devices/{device['device_id']}/pins/v7", json={"value": value},
            headers={"Authorization": f"Bearer {api_token}"}, timeout=REQUEST_TIMEOUT,
        )
        assert toggled.status_code == 200, toggled.text
        poll.join(0.5)
    poll.join(30)
    response = answer["response"]
    return response.status_code == 200 and response.json()["data"]["v7"] >= 1


def redis_listeners(private_redis):
    return redis.Redis.from_url(private_redis.url).execute_command("PUBSUB", "NUMPAT")


@pytest.mark.parametrize("outage", ["stopped", "hung"])
def test_redis_outage_degrades_service_without_failing_it(outage, private_redis, live_server_factory, capsys):
    begin, end = (private_redis.stop, private_redis.start) if outage == "stopped" else (private_redis.freeze, private_redis.thaw)
    server = live_server_factory(REDIS_URL=private_redis.url)
    device = server.create_device()
    quiet = server.create_device(owner_email=device["owner_email"])  # long-polled, not under load: only toggles change it
    api_token = server.api_token(device["owner_email"])
    assert health(server)[1]["redis"] == "ok"

    with TelemetryLoad(server, [device]) as load:
        load.wait_for_acks(20)
        begin()
        load.wait_for_acks(50)

        status, body = health(server)
        assert (status, body["status"], body["database"], body["redis"]) == (200, "degraded", "ok", "unavailable")
        latest = requests.get(f"{server.url}/telemetry/latest", params={"device_token": device["device_token"]}, timeout=REQUEST_TIMEOUT)
        assert latest.status_code == 200 and latest.json()["data"]["seq"].startswith(device["device_id"])
        assert long_poll_released_by_toggle(server, quiet, api_token), "the worker's own long-poll missed a toggle during the outage"

        end()
        wait_until(lambda: health(server)[1]["redis"] == "ok", "/health did not see Redis come back", DEADLINE)
        wait_until(lambda: redis_listeners(private_redis) >= 1, "the broker did not listen to Redis again", DEADLINE)
        load.wait_for_acks(20)

    assert set(load.outcomes) == {200}, load.outcomes
    assert_nothing_acknowledged_lost(server, load, capsys)
    assert "Redis unreachable" in server.log()
    # Events go through Redis again: an outside subscriber sees the next toggle, and so does a long-poll.
    outsider = RedisBroker(private_redis.url, server.settings["REDIS_KEY_PREFIX"])
    with outsider.subscribe([f"device:{quiet['device_id']}"]) as subscription:
        assert long_poll_released_by_toggle(server, quiet, api_token)
        assert subscription.get(timeout=REQUEST_TIMEOUT)[1]["type"] == "state"
    outsider.close()


# SIGTERM with requests in flight


GRACEFUL_TIMEOUT = 10  # shorter than the long-poll's wait: a long-poll that held on would be cut


def read_http_response(connection):
    """(status, headers, body) of one HTTP/1.1 response read from a raw socket file."""
    status_line = connection.readline()
    assert status_line, "the server closed the connection without answering"
    status = int(status_line.split()[1])
    headers = {}
    while (line := connection.readline().decode().strip()):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = connection.read(int(headers.get("content-length", 0)))
    return status, headers, body


def test_sigterm_lets_in_flight_requests_finish_and_exits(live_server_factory):
    server = live_server_factory(workers=shared_backend_workers(), GRACEFUL_TIMEOUT=GRACEFUL_TIMEOUT)
    device = server.create_device()
    host = f"127.0.0.1:{server.port}"

    # A kept-alive connection between two requests: it must not hold the stopping worker.
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE)
    idle_file = idle.makefile("rb")
    idle.sendall(f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    assert read_http_response(idle_file)[0] == 200

    # A long-poll on a kept-alive connection: the server is already handling that connection.
    polling = socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE)
    poll_file = polling.makefile("rb")
    query = f"/telemetry/latest?device_token={device['device_token']}"
    polling.sendall(f"GET {query} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    etag = read_http_response(poll_file)[1]["etag"]
    polling.sendall(f"GET {query}&wait=30 HTTP/1.1\r\nHost: {host}\r\nIf-None-Match: {etag}\r\n\r\n".encode())

    # A telemetry POST whose body is still on its way: the server answered 100 Continue, so the view is reading it.
    posting = socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE)
    post_file = posting.makefile("rb")
    body = orjson.dumps({"device_token": device["device_token"], "data": {"seq": "in flight"}})
    posting.sendall(
        f"POST /devices/{device['device_id']}/telemetry HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode()
    )
    assert post_file.readline().startswith(b"HTTP/1.1 100"), "the server did not start reading the body"
    post_file.readline()

    server.process.send_signal(signal.SIGTERM)
    assert idle_file.read() == b"", "the idle connection was not closed"

    poll_status, poll_headers, _ = read_http_response(poll_file)
    assert poll_status == 304 and poll_headers["etag"] == etag
    assert poll_headers["connection"] == "close"
    posting.sendall(body)
    post_status, post_headers, post_body = read_http_response(post_file)
    assert post_status == 200 and orjson.loads(post_body)["data"] == {"seq": "in flight"}
    assert post_headers["connection"] == "close"
    assert server.process.wait(timeout=GRACEFUL_TIMEOUT + 5) == 0
    server.process = None
    for connection in (idle_file, idle, poll_file, polling, post_file, posting):
        connection.close()

    assert stored_readings(server, [device["device_id"]])[device["device_id"]] == {"in flight"}
    log = server.log()
    assert "graceful timeout" not in log.lower(), "the worker waited out GRACEFUL_TIMEOUT and cut what was left"
    assert "Exception during worker exit" not in log
