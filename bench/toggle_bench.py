"""Toggle to device: time from an owner's PUT /api/devices/{id}/pins/v0 to a device client seeing it.

Two device clients, as the firmware does it: polling /telemetry/latest every
5 s with its ETag, and long-polling (wait=25 with If-None-Match). Both run
in this process, so one clock times the toggle and the sighting.

    .venv/bin/python -m bench.toggle_bench [--toggles 40] [--poll-toggles 10]
"""
import argparse
import random
import statistics
import threading
import time

import requests

from bench import common

POLL_INTERVAL_S = 5


class DeviceClient(threading.Thread):
    """Polls (or long-polls) the device's state; records when each new v0 value first arrives."""

    def __init__(self, url, token, long_poll):
        super().__init__(daemon=True)
        self.url, self.token, self.long_poll = url, token, long_poll
        self.seen = {}
        self.changed = threading.Condition()
        self.stopping = threading.Event()

    def run(self):
        session, etag = requests.Session(), None
        while not self.stopping.is_set():
            params = {"device_token": self.token, **({"wait": 25} if self.long_poll else {})}
            response = session.get(f"{self.url}/telemetry/latest", params=params, headers={"If-None-Match": etag} if etag else {}, timeout=35)
            arrived = time.perf_counter()
            if response.status_code == 200:
                etag = response.headers["ETag"]
                value = response.json()["data"].get("v0")
                with self.changed:
                    self.seen.setdefault(value, arrived)
                    self.changed.notify_all()
            if not self.long_poll:
                self.stopping.wait(POLL_INTERVAL_S)

    def wait_for(self, value, timeout):
        with self.changed:
            self.changed.wait_for(lambda: value in self.seen, timeout)
            return self.seen.get(value)


def measure(server, long_poll, toggles):
    device = server.create_device()
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {server.api_token(device['owner_email'])}"
    client = DeviceClient(server.url, device["device_token"], long_poll)
    client.start()
    client.wait_for(None, 10)
    delays = []
    for number in range(1, toggles + 1):
        time.sleep(random.uniform(0.05, 0.3 if long_poll else POLL_INTERVAL_S))
        sent = time.perf_counter()
        api.put(f"{server.url}/api/devices/{device['device_id']}/pins/v0", json={"value": number}, timeout=10).raise_for_status()
        seen = client.wait_for(number, POLL_INTERVAL_S * 3)
        if seen is not None:
            delays.append((seen - sent) * 1000)
    client.stopping.set()
    return delays


def summary(delays, toggles):
    ordered = sorted(delays)
    return {
        "toggles": toggles,
        "seen": len(delays),
        "p50_ms": round(statistics.median(ordered), 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--toggles", type=int, default=40)
    parser.add_argument("--poll-toggles", type=int, default=10)
    args = parser.parse_args()
    server = common.start_thingsnxt()
    try:
        long_poll = summary(measure(server, True, args.toggles), args.toggles)
        polling = summary(measure(server, False, args.poll_toggles), args.poll_toggles)
    finally:
        server.close()
    common.print_table(
        f"Toggle to device ({common.backend()}, {common.default_workers()} worker(s))",
        ["client", "toggles", "seen", "p50 ms", "p99 ms", "max ms"],
        [(name, r["toggles"], r["seen"], r["p50_ms"], r["p99_ms"], r["max_ms"]) for name, r in (("long-poll", long_poll), ("5 s polling", polling))],
    )
    print("results:", common.write_result("toggle", {"long_poll": long_poll, "polling_5s": polling}))


if __name__ == "__main__":
    main()
