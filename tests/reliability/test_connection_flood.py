"""A flood of slow connections from one address neither starves /health and the devices nor is held for long.

Bounded: 2,000 connections on loopback, a 2 s header timeout, 50 connections per
address. The answers' latencies during the flood are figures of bench/flood_bench.py,
not assertions here.
"""
import http.client
import json
import socket
import threading
import time

import pytest
import requests

from tests.slow_clients import SlowClients, allow_open_files

FLOOD = 2000
PER_ADDRESS = 50
HEADER_TIMEOUT = 2
BODY_TIMEOUT = 2
# Time for a closed connection to be noticed on a machine shared with other test runs.
SLACK = 3


@pytest.fixture(scope="module")
def guarded_server(live_server_factory):
    allow_open_files(FLOOD)
    return live_server_factory(
        MAX_CONNECTIONS_PER_ADDRESS=PER_ADDRESS, REQUEST_HEADER_TIMEOUT=HEADER_TIMEOUT, REQUEST_BODY_TIMEOUT=BODY_TIMEOUT
    )


class OtherClients(threading.Thread):
    """/health and telemetry POSTs from 127.0.0.1, each on a new connection, until stopped: their statuses."""

    def __init__(self, server, device):
        super().__init__(daemon=True)
        self.server, self.device = server, device
        self.statuses = []
        self.stopped = threading.Event()

    def run(self):
        telemetry = f"{self.server.url}/devices/{self.device['device_id']}/telemetry"
        while not self.stopped.is_set():
            for call in (
                lambda: requests.get(f"{self.server.url}/health", timeout=10),
                lambda: requests.post(telemetry, json={"device_token": self.device["device_token"], "data": {"t": 1}}, timeout=10),
            ):
                try:
                    self.statuses.append(call().status_code)
                except requests.RequestException as exc:
                    self.statuses.append(type(exc).__name__)


def test_slow_connections_from_one_address_are_closed_and_others_keep_being_answered(guarded_server):
    others = OtherClients(guarded_server, guarded_server.create_device())
    flood = SlowClients(guarded_server.port, FLOOD)
    others.start()
    try:
        still_open = flood.trickle_until_closed(HEADER_TIMEOUT + SLACK)
    finally:
        others.stopped.set()
        others.join()
        flood.close()

    assert still_open == 0, f"{still_open} slow connections still open {HEADER_TIMEOUT + SLACK} s after opening"
    closed_at_once = sum(1 for seconds in flood.closed_after if seconds < HEADER_TIMEOUT)
    assert closed_at_once >= FLOOD - PER_ADDRESS, "connections past the per-address cap are closed at once"
    assert len(others.statuses) >= 4 and set(others.statuses) == {200}, others.statuses


def test_one_connection_past_the_cap_is_told_why_and_closed(guarded_server):
    held = []
    try:
        for _ in range(PER_ADDRESS):
            held.append(_connection_from("127.0.0.3", guarded_server.port))
        # Connections are taken in the order they came: once the last is answered, all are counted.
        held[-1].sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _recv_ready(held[-1], HEADER_TIMEOUT).startswith(b"HTTP/1.1 200")
        with _connection_from("127.0.0.3", guarded_server.port) as one_more:
            answer = _recv_until_closed(one_more)
        with _connection_from("127.0.0.4", guarded_server.port) as another_address:
            another_address.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            other = _recv_ready(another_address, HEADER_TIMEOUT)
    finally:
        for sock in held:
            sock.close()

    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 503") and b"Retry-After: 5" in status
    assert body == b"Too many connections from your address.\n" and f"Content-Length: {len(body)}".encode() in status
    assert other.startswith(b"HTTP/1.1 200")


def _connection_from(address, port):
    sock = socket.socket()
    sock.bind((address, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def test_a_kept_alive_connection_serves_one_request_after_another(guarded_server):
    device = guarded_server.create_device()
    body = json.dumps({"device_token": device["device_token"], "data": {"t": 1}})
    connection = http.client.HTTPConnection("127.0.0.1", guarded_server.port, timeout=10)

    statuses = []
    for _ in range(3):
        connection.request("POST", f"/devices/{device['device_id']}/telemetry", body=body, headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        statuses.append(answer.status)
        connection.request("GET", "/health")
        answer = connection.getresponse()
        answer.read()
        statuses.append(answer.status)
    connection.close()

    assert statuses == [200] * 6


def test_a_body_that_trickles_in_is_answered_408_and_its_connection_closed(guarded_server):
    device = guarded_server.create_device()
    body = b'{"device_token": "%s", "data": {"t": 1}}' % device["device_token"].encode()
    head = (
        f"POST /devices/{device['device_id']}/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", guarded_server.port), timeout=BODY_TIMEOUT + SLACK) as sock:
        sock.sendall(head + body[:5])
        started = time.monotonic()
        answer = b""
        for byte in body[5:]:
            try:
                sock.sendall(bytes([byte]))
                chunk = _recv_ready(sock, 0.5)
            except OSError:
                break
            answer += chunk
            if b"\r\n\r\n" in answer:
                break
        answer += _recv_until_closed(sock)
        elapsed = time.monotonic() - started

    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"request_timeout" in answer
    assert elapsed < BODY_TIMEOUT + SLACK


def test_a_request_whose_headers_trickle_in_is_closed_within_the_header_timeout(guarded_server):
    with socket.create_connection(("127.0.0.1", guarded_server.port), timeout=HEADER_TIMEOUT + SLACK) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        answer = b""
        while time.monotonic() - started < HEADER_TIMEOUT + SLACK:
            try:
                sock.sendall(b"X-Slow: a\r\n")
                chunk = _recv_ready(sock, 0.5)
            except OSError:
                break
            if chunk == b"" and _closed(sock):
                break
            answer += chunk
        elapsed = time.monotonic() - started

    assert elapsed < HEADER_TIMEOUT + SLACK
    assert b"200 OK" not in answer


def _recv_ready(sock, seconds):
    """What arrived within `seconds` (b'' when nothing did)."""
    sock.settimeout(seconds)
    try:
        return sock.recv(4096)
    except TimeoutError:
        return b""


def _closed(sock):
    sock.settimeout(0.01)
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except TimeoutError:
        return False


def _recv_until_closed(sock):
    sock.settimeout(BODY_TIMEOUT + SLACK)
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received
