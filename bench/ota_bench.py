"""OTA delivery: time to deliver a firmware image to one device and to many at once, with the server's CPU and RSS.

Each simulated device does what the firmware does (firmware/lib/ThingsNXT/src/OtaUpdate.h): a telemetry
POST whose answer carries the `ota` offer, the image in 16 KiB Range requests with its token, the SHA-256
checked, then `applied` reported. All devices start together; the figure is from the first request to the
last device's report.

    .venv/bin/python -m bench.ota_bench [--size 1572864] [--devices 1,100] [--chunk 16384]
"""
import argparse
import hashlib
import io
import os
import statistics
import tempfile
import threading
import time

import requests

from bench import common
from webapp.extensions import db
from webapp.models import Device, User
from webapp.services.ota import images, updates

# The firmware's default (firmware/esp32_production_ready/board_config.h otaSettings).
DEFAULT_CHUNK = 16384


def deliver(url, device_id, token, chunk, timings, errors):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    try:
        offer = session.post(f"{url}/devices/{device_id}/telemetry", json={"data": {"n": 1}}, timeout=60).json()["ota"]
        digest, received = hashlib.sha256(), 0
        while received < offer["size"]:
            last = min(received + chunk, offer["size"]) - 1
            answer = session.get(f"{url}{offer['url']}", headers={"Range": f"bytes={received}-{last}"}, timeout=60)
            assert answer.status_code == 206, answer.status_code
            digest.update(answer.content)
            received += len(answer.content)
        assert digest.hexdigest() == offer["sha256"]
        session.post(f"{url}/devices/{device_id}/ota/status", json={"state": "applied"}, timeout=60).raise_for_status()
        timings.append(time.perf_counter() - started)
    except Exception as failure:  # counted and shown: a benchmark reports what failed rather than stopping
        errors.append(repr(failure))


def run(server, credentials, image, chunk):
    with server.app.app_context():
        owner = db.session.get(User, db.session.get(Device, credentials[0][0]).owner_id)
        stored = images.store_image(owner, io.BytesIO(image), "bench-fw", f"2.0.{len(credentials)}")
        for device_id, _ in credentials:
            updates.assign(device_id, stored)
        db.session.remove()
    pids = [server.process.pid, *server.worker_pids()]
    cpu_before = sum(common.process_cpu_seconds(pid) for pid in pids)
    peak_rss, done = [0.0], threading.Event()

    def sample_rss():
        while not done.wait(0.05):
            peak_rss[0] = max(peak_rss[0], sum(common.rss_mib(pid) or 0 for pid in pids))

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    timings, errors = [], []
    threads = [threading.Thread(target=deliver, args=(server.url, device_id, token, chunk, timings, errors)) for device_id, token in credentials]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    cpu = sum(common.process_cpu_seconds(pid) for pid in pids) - cpu_before
    return {
        "devices": len(credentials),
        "failed": len(errors),
        "errors": errors[:3],
        "wall_s": round(wall, 2),
        "per_device_median_s": round(statistics.median(timings), 2) if timings else None,
        "per_device_max_s": round(max(timings), 2) if timings else None,
        "server_cpu_s": round(cpu, 2),
        "server_peak_rss_mib": round(peak_rss[0], 1),
        "delivered_mib_per_s": round(len(timings) * len(image) / wall / 2**20, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1536 * 1024)
    parser.add_argument("--devices", default="1,100")
    parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK)
    args = parser.parse_args()
    image = bytes([0xE9]) + os.urandom(args.size - 1)
    server = common.start_thingsnxt(FIRMWARE_DIR=tempfile.mkdtemp(prefix="thingsnxt-bench-firmware-"), FIRMWARE_MAX_BYTES=args.size)
    rows = []
    try:
        idle_rss = round(sum(common.rss_mib(pid) or 0 for pid in [server.process.pid, *server.worker_pids()]), 1)
        for count in (int(number) for number in args.devices.split(",")):
            rows.append(run(server, common.create_devices(server, count), image, args.chunk))
    finally:
        server.close()
    common.print_table(
        f"OTA delivery of {args.size} bytes in {args.chunk}-byte ranges ({common.backend()}, server idle RSS {idle_rss} MiB)",
        ["devices", "wall s", "per device median s", "max s", "server CPU s", "peak RSS MiB", "MiB/s", "failed"],
        [
            [row["devices"], row["wall_s"], row["per_device_median_s"], row["per_device_max_s"], row["server_cpu_s"], row["server_peak_rss_mib"],
             row["delivered_mib_per_s"], row["failed"]]
            for row in rows
        ],
    )
    name = "ota" if args.chunk == DEFAULT_CHUNK else f"ota-chunk{args.chunk}"
    print("results:", common.write_result(name, {"size": args.size, "chunk": args.chunk, "idle_rss_mib": idle_rss, "runs": rows}))


if __name__ == "__main__":
    main()
