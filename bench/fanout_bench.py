"""Fan-out: 1,000 dashboards of one user connected; time from a telemetry POST to each seeing it.

WebSocket (/ws, what carries widget updates): each round posts a new
temperature to a device with a value widget; every socket waits for the
fragment with that value. SSE (/events, what carries notifications): each
round a new device posts its first reading, which notifies "… came online";
every stream waits for that notification. Clients run in this process
(asyncio), so one clock times the POST and every arrival; their own
processing is included in the figures, so each client is a bare asyncio
protocol that only looks for the marker in the bytes that arrive (frames are
neither masked nor compressed from server to client, so the marker is in the
bytes as sent). A client built on a WebSocket library spent more time
parsing frames than the server spent sending them: the 1,000th client then
measured the client process's queue, not the server. The table reports the
CPU time the clients used.

Also the workers' RSS before and after the clients connect: memory per
connection.

    .venv/bin/python -m bench.fanout_bench [--clients 1000] [--rounds 20]
"""
import argparse
import asyncio
import base64
import contextlib
import os
import random
import re
import resource
import statistics
import time

import requests

from bench import common
from webapp.extensions import db
from webapp.schemas import WidgetIn
from webapp.services.accounts import users
from webapp.services.devices import widgets

PASSWORD = "fan-out bench password"


def log_in(url, email):
    """A logged-in session's cookie header, through the real login form."""
    session = requests.Session()
    form = session.get(f"{url}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    session.post(f"{url}/login", data={"email": email, "password": PASSWORD, "csrf_token": token}, timeout=10).raise_for_status()
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def prepare(server):
    email = server.create_user(password=PASSWORD)
    device = server.create_device(owner_email=email, name="Fan-out")
    with server.app.app_context():
        owner = users.find_user(email)
        widgets.add_widget(owner, device["device_id"], WidgetIn(kind="value", label="Temperature", key="temperature"))
        db.session.commit()
        db.session.remove()
    return email, device


class Arrivals:
    """When each client first saw each marker."""

    def __init__(self):
        self.seen = {}
        self.waiters = {}

    def record(self, client, text):
        now = time.perf_counter()
        for marker, (remaining, done) in list(self.waiters.items()):
            if marker in text and (client, marker) not in self.seen:
                self.seen[(client, marker)] = now
                remaining.discard(client)
                if not remaining:
                    done.set()

    def expect(self, marker, clients):
        done = asyncio.Event()
        self.waiters[marker] = (set(clients), done)
        return done


class StreamClient(asyncio.Protocol):
    """One dashboard: sends the request, is ready once the answer's headers have come (and,
    for a WebSocket, the snapshot frame), then records every marker it sees in what arrives.
    """

    def __init__(self, request, client, arrivals, ready, wait_for_snapshot):
        self.request, self.client, self.arrivals, self.ready = request, client, arrivals, ready
        self.wait_for_snapshot = wait_for_snapshot
        self.received = b""
        self.streaming = False
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        if self.streaming:
            # A marker split between two reads is found in the tail of the last one and this.
            self.arrivals.record(self.client, (self.received + data).decode(errors="replace"))
            self.received = data[-16:]
            return
        self.received += data
        head, separator, rest = self.received.partition(b"\r\n\r\n")
        if separator and (rest or not self.wait_for_snapshot):
            if not head.startswith((b"HTTP/1.1 101", b"HTTP/1.1 200")):
                raise RuntimeError(f"stream refused: {head[:80]!r}")
            self.streaming, self.received = True, rest[-16:]
            self.ready.release()

    def connection_lost(self, exc):
        self.closed.set_result(None)


def websocket_request(host, port, cookie):
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}:{port}\r\nCookie: {cookie}\r\n\r\n"
    ).encode()


def sse_request(host, port, cookie):
    return f"GET /events HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n".encode()


async def run_fanout(server, kind, clients, rounds, cookie, post_round):
    arrivals, ready = Arrivals(), asyncio.Semaphore(0)
    host, port = "127.0.0.1", server.port
    rss_before = [common.rss_mib(pid) for pid in server.worker_pids()]
    loop = asyncio.get_running_loop()
    request = (websocket_request if kind == "websocket" else sse_request)(host, port, cookie)
    connections = []
    for client in range(clients):
        connections.append(await loop.create_connection(lambda client=client: StreamClient(request, client, arrivals, ready, kind == "websocket"), host, port))
        if client % 50 == 49:
            await asyncio.sleep(0.05)  # pace the connects: a burst of 1,000 handshakes is not what this measures
    for _ in range(clients):
        await asyncio.wait_for(ready.acquire(), 60)
    rss_after = [common.rss_mib(pid) for pid in server.worker_pids()]
    delays, missed = [], 0
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    # Round 0 warms up (the fragment's template compiles, caches fill) and is not counted.
    for round_number in range(rounds + 1):
        marker = str(random.randrange(10**8, 10**9))
        done = arrivals.expect(marker, range(clients))
        sent = await loop.run_in_executor(None, post_round, marker)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 10)
        got = [arrivals.seen[(client, marker)] for client in range(clients) if (client, marker) in arrivals.seen]
        if round_number > 0:
            missed += clients - len(got)
            delays.extend((moment - sent) * 1000 for moment in got)
        await asyncio.sleep(0.2)
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    for transport, protocol in connections:
        transport.close()
        await protocol.closed
    ordered = sorted(delays)
    return {
        "clients": clients,
        "rounds": rounds,
        "deliveries": len(ordered),
        "missed": missed,
        "p50_ms": round(statistics.median(ordered), 1) if ordered else None,
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 1) if ordered else None,
        "max_ms": round(ordered[-1], 1) if ordered else None,
        "rss_before_mib": rss_before,
        "rss_after_mib": rss_after,
        "kib_per_connection": round((sum(rss_after) - sum(rss_before)) * 1024 / clients, 1),
        # Everything this process did during the rounds (the POSTs too), of the rounds' wall time.
        "client_cpu_s": round(cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime, 2),
    }


def measure(kind, args):
    """One kind of stream on a server of its own, so its memory figure starts from a fresh worker."""
    # Grouping off: each round's new device must notify on its own, not fold into a summary (docs/PRESENCE.md).
    server = common.start_thingsnxt(WORKER_CONNECTIONS=str(args.clients * 2 + 100), LIVE_HEARTBEAT_SECONDS="60", NOTIFICATION_GROUP_AFTER="0")
    try:
        email, device = prepare(server)
        cookie = log_in(server.url, email)
        http = requests.Session()

        # Each returns the moment its POST went out: what comes before (making a device) is not timed.
        def post_temperature(marker):
            # The value widget shows the number: the marker is the value.
            body = {"device_token": device["device_token"], "data": {"temperature": int(marker)}}
            return post(f"{server.url}/devices/{device['device_id']}/telemetry", body)

        def new_device_online(marker):
            # Its first reading notifies "Device <marker> came online".
            fresh = server.create_device(owner_email=email, name=f"Device {marker}")
            body = {"device_token": fresh["device_token"], "data": {"t": 1}}
            return post(f"{server.url}/devices/{fresh['device_id']}/telemetry", body)

        def post(url, body):
            sent = time.perf_counter()
            http.post(url, json=body, timeout=10).raise_for_status()
            return sent

        post_round = post_temperature if kind == "websocket" else new_device_online
        return asyncio.run(run_fanout(server, kind, args.clients, args.rounds, cookie, post_round))
    finally:
        server.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    results = {kind: measure(kind, args) for kind in ("websocket", "sse")}
    common.print_table(
        f"Fan-out ({common.backend()}, {common.default_workers()} worker(s), {args.clients} clients of one user, {args.rounds} rounds)",
        ["stream", "deliveries", "missed", "p50 ms", "p99 ms", "max ms", "KiB per connection", "client CPU s"],
        [
            (kind, r["deliveries"], r["missed"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["kib_per_connection"], r["client_cpu_s"])
            for kind, r in results.items()
        ],
    )
    print("results:", common.write_result("fanout", results))


if __name__ == "__main__":
    main()
