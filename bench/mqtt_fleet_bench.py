"""MQTT fleet: N simulated devices on a private Mosquitto (`flask mqtt broker`), telemetry every INTERVAL seconds
(±20 %), toggles made through the API during the run, one step per interval.

    .venv/bin/python -m bench.mqtt_fleet_bench [--devices 10000] [--intervals 10,2,1] [--seconds 60]

Per step: readings acknowledged by the broker vs stored (must be equal), stored readings/s, publish→stored
p50/p99 (the reading carries its send time; the server stamps when it stored it), toggle→device p50/p99
(`PUT /api/devices/{id}/pins/led` sent → the device's state message heard), CPU share and RSS of the
platform's worker and of Mosquitto, the worker's CPU per stored reading (through the backlog's drain: the figure
that a busy machine moves least) and the load average. A step starts once the fleet is connected and online
and the worker idle. The simulator (bench/mqtt_sim.py) runs in several processes: one may
open at most 20,000 files here.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

import requests
from sqlalchemy import func, select

from bench import common
from tests.mqtt_broker import PrivateBroker, device_client
from webapp.extensions import db
from webapp.models import Device, Reading

SIMULATOR = os.path.join(common.ROOT, "bench", "mqtt_sim.py")
DEVICES_PER_PROCESS = 5000
STORE_WAIT_SECONDS = 60
SETTLE_SECONDS = 180
# Longer than a fleet of 10,000 takes to connect and say `online` (OFFLINE_TIMEOUT, 60 s by default, would take the
# first devices offline again before the last are online, and every step would then start with status changes).
DEVICE_OFFLINE_TIMEOUT = 900
IDLE_SHARE = 0.1


def percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


def stored_count(server, key="t"):
    with server.app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Reading).where(Reading.key == key))
        db.session.remove()
    return count


def online_count(server):
    with server.app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Device).where(Device.status == "online"))
        db.session.remove()
    return count


def wait_until_settled(server, pids, devices):
    """Until the fleet is online and the workers idle (a second under IDLE_SHARE of a core): what connecting cost
    the platform (every device's `online`, the owner's notifications) is not counted in the step."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        before = sum(common.process_cpu_seconds(pid) for pid in pids)
        time.sleep(1)
        if sum(common.process_cpu_seconds(pid) for pid in pids) - before < IDLE_SHARE and online_count(server) >= devices:
            return
    print(f"the fleet did not settle within {SETTLE_SECONDS} s", file=sys.stderr, flush=True)


def store_latencies(server, since_ms):
    with server.app.app_context():
        rows = db.session.execute(select(Reading.ts_ms, Reading.num).where(Reading.key == "t", Reading.ts_ms >= since_ms)).all()
        db.session.remove()
    return [ts_ms - sent_ms for ts_ms, sent_ms in rows]


class Toggler(threading.Thread):
    """Toggles `led` of random devices through the API at `rate` per second, noting when each was sent."""

    def __init__(self, server, headers, device_ids, rate):
        super().__init__(daemon=True)
        self.server, self.headers, self.device_ids, self.rate = server, headers, device_ids, rate
        self.sent = {}
        self.stop = threading.Event()
        self.failures = 0

    def run(self):
        http = requests.Session()
        value = 0
        while not self.stop.wait(1 / self.rate):
            value += 1
            device_id = random.choice(self.device_ids)
            sent_ms = time.time() * 1000
            answer = http.put(f"{self.server.url}/api/devices/{device_id}/pins/led", json={"value": value}, headers=self.headers, timeout=10)
            if answer.status_code == 200:
                self.sent[(device_id, value)] = sent_ms
            else:
                self.failures += 1


def wait_for_platform(server, broker, device_id, token):
    """Until the worker's subscriber is on the broker (it retries every few seconds): a probe reading is stored."""
    probe = device_client(broker, device_id, token, will=False)
    probe.connect("127.0.0.1", broker.port)
    probe.loop_start()
    deadline = time.monotonic() + 60
    while stored_count(server, "probe") == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the platform's worker did not take MQTT messages within 60 s")
        probe.publish(f"devices/{device_id}/telemetry", b'{"data": {"probe": 1}}', qos=1)
        time.sleep(0.5)
    probe.disconnect()
    probe.loop_stop()


def run_step(server, broker, credentials, headers, interval, seconds, toggles_per_second):
    chunks = [credentials[start:start + DEVICES_PER_PROCESS] for start in range(0, len(credentials), DEVICES_PER_PROCESS)]
    simulators, results = [], []
    for chunk in chunks:
        devices_file = common.write_devices_file(chunk)
        result_file = tempfile.mktemp(suffix=".json", prefix="mqtt-sim-")
        process = subprocess.Popen([sys.executable, SIMULATOR, devices_file, str(broker.port), str(interval), str(seconds), result_file],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        simulators.append((process, devices_file, result_file))
    for process, _, _ in simulators:
        process.stdout.readline()  # "ready": its devices are connected and subscribed
    pids = server.worker_pids()
    wait_until_settled(server, pids, len(credentials))
    for process, _, _ in simulators:
        process.stdin.write("go\n")
        process.stdin.flush()
    stored_before = stored_count(server)
    started_ms = time.time() * 1000
    cpu_before = {pid: common.process_cpu_seconds(pid) for pid in [*pids, broker.process.pid]}
    toggler = Toggler(server, headers, [device_id for device_id, _ in credentials], toggles_per_second)
    toggler.start()
    time.sleep(seconds)
    toggler.stop.set()
    cpu = {pid: common.process_cpu_seconds(pid) - before for pid, before in cpu_before.items()}
    rss = {pid: common.rss_mib(pid) for pid in cpu_before}
    for process, devices_file, result_file in simulators:
        process.wait()
        with open(result_file) as result:
            results.append(json.load(result))
        os.unlink(devices_file)
        os.unlink(result_file)
    acknowledged = sum(result["acknowledged"] for result in results)
    deadline = time.monotonic() + STORE_WAIT_SECONDS
    while (stored := stored_count(server) - stored_before) < acknowledged and time.monotonic() < deadline:
        time.sleep(0.5)
    # Through the backlog's drain: what the worker spent on this step's readings, whenever it stored them.
    worker_cpu_seconds = sum(common.process_cpu_seconds(pid) - cpu_before[pid] for pid in pids)
    toggle_ms = [heard - toggler.sent[(device_id, value)] for result in results for device_id, value, heard in result["toggles"] if (device_id, value) in toggler.sent]
    store_ms = store_latencies(server, started_ms)
    return {
        "devices": len(credentials),
        "interval_s": interval,
        "connected": sum(result["connected"] for result in results),
        "refused": sum(result["refused"] for result in results),
        "published": sum(result["published"] for result in results),
        "acknowledged": acknowledged,
        "stored": stored,
        "stored_per_s": round(stored / seconds),
        "publish_to_stored_ms_p50": percentile(store_ms, 0.5),
        "publish_to_stored_ms_p99": percentile(store_ms, 0.99),
        "toggles_sent": len(toggler.sent),
        "toggles_heard": len(toggle_ms),
        "toggle_failures": toggler.failures,
        "toggle_to_device_ms_p50": percentile(toggle_ms, 0.5),
        "toggle_to_device_ms_p99": percentile(toggle_ms, 0.99),
        "worker_cpu_share": round(sum(cpu[pid] for pid in pids) / seconds, 2),
        "worker_cpu_us_per_stored": round(worker_cpu_seconds / stored * 1e6) if stored else None,
        "worker_rss_mib": [rss[pid] for pid in pids],
        "mosquitto_cpu_share": round(cpu[broker.process.pid] / seconds, 2),
        "mosquitto_rss_mib": rss[broker.process.pid],
        "load_average": os.getloadavg()[0],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=10000)
    parser.add_argument("--intervals", default="10,2,1", help="telemetry interval of each step, in seconds")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--toggles-per-second", type=float, default=5)
    args = parser.parse_args()
    broker = PrivateBroker(tempfile.mkdtemp(prefix="thingsnxt-mosquitto-"))
    server = common.start_thingsnxt(**broker.settings)
    steps = []
    try:
        credentials = common.create_devices(server, args.devices, offline_timeout=DEVICE_OFFLINE_TIMEOUT)
        broker.database_url = server.db_url
        broker.start()
        wait_for_platform(server, broker, *credentials[0])
        admin = server.create_user(admin=True)
        headers = {"Authorization": f"Bearer {server.api_token(admin)}"}
        for interval in [float(step) for step in args.intervals.split(",")]:
            step = run_step(server, broker, credentials, headers, interval, args.seconds, args.toggles_per_second)
            steps.append(step)
            print(json.dumps(step), flush=True)
    finally:
        server.close()
        broker.stop()
    path = common.write_result("mqtt_fleet", {"devices": args.devices, "seconds": args.seconds, "steps": steps})
    columns = ["interval_s", "connected", "acknowledged", "stored", "stored_per_s", "publish_to_stored_ms_p50", "publish_to_stored_ms_p99",
               "toggle_to_device_ms_p50", "toggle_to_device_ms_p99", "worker_cpu_share", "worker_cpu_us_per_stored", "worker_rss_mib", "mosquitto_cpu_share", "mosquitto_rss_mib"]
    common.print_table(f"MQTT fleet of {args.devices} devices ({path})", columns, [[step[column] for column in columns] for step in steps])


if __name__ == "__main__":
    main()
