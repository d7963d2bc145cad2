"""The demo's simulated ESP32: reports temperature and humidity every few seconds and follows its LED switch.

It talks HTTP to the server exactly as the firmware does (docs/ESP32_TELEMETRY_API_GUIDE.md), with the
standard library only: telemetry POSTs, and between them a long-poll of GET /telemetry/latest, which
returns at once when someone toggles the LED switch (pin v0); the device then sets its LED and reports
v0 back, so the switch leaves "pending". On start it uploads the last 50 minutes as readings buffered
while it was off (a batch, on a fixed 30 s grid, so a restart adds none twice): the chart opens on the
last hour with a line across it.

gunicorn starts it with the server when DEMO_DEVICE=1 (gunicorn.conf.py; `make run` sets it) and stops it
with the server; it also ends by itself when the server that started it is gone. It reads the device's
id and token from the file `flask --app wsgi seed-demo` writes (DEMO_DEVICE_FILE).

    python scripts/demo_device.py --url http://127.0.0.1:8000 --credentials instance/demo-device.json
"""
import argparse
import json
import math
import os
import random
import signal
import sys
import time
import urllib.error
import urllib.request

BACKFILL_SECONDS = 50 * 60
BACKFILL_STEP = 30
REQUEST_TIMEOUT = 10


def temperature(at):
    """°C at Unix time `at`: a daily swing, a slower drift and a little noise, as a greenhouse might."""
    return round(21 + 3 * math.sin(2 * math.pi * at / 86400) + 0.6 * math.sin(2 * math.pi * at / 900) + random.uniform(-0.1, 0.1), 2)


def humidity(at):
    """% relative humidity at Unix time `at`: high when it is cool."""
    return round(55 - 8 * math.sin(2 * math.pi * at / 86400) + random.uniform(-0.5, 0.5), 1)


class DemoDevice:
    def __init__(self, url, device_id, token, interval):
        self.url, self.device_id, self.token, self.interval = url.rstrip("/"), device_id, token, interval
        self.led = 0
        self.etag = None

    def run(self, parent):
        self.backfill()
        next_report = time.monotonic()
        while os.getppid() == parent:
            now = time.monotonic()
            if now >= next_report:
                self.report({"temperature": temperature(time.time()), "humidity": humidity(time.time()), "v0": self.led})
                next_report = now + self.interval
            # Until the next report, wait for the LED switch.
            self.follow_switch(wait=max(0, math.ceil(next_report - time.monotonic())))

    def backfill(self):
        end = int(time.time()) // BACKFILL_STEP * BACKFILL_STEP
        records = [{"ts": at, "data": {"temperature": temperature(at), "humidity": humidity(at)}} for at in range(end - BACKFILL_SECONDS, end, BACKFILL_STEP)]
        self.call("POST", f"/devices/{self.device_id}/telemetry/batch", {"device_token": self.token, "records": records})

    def report(self, data):
        answer = self.call("POST", f"/devices/{self.device_id}/telemetry", {"device_token": self.token, "data": data})
        if answer is not None:
            self.apply(answer[1].get("data", {}))

    def follow_switch(self, wait):
        headers = {"If-None-Match": self.etag} if self.etag else {}
        answer = self.call("GET", f"/telemetry/latest?device_token={self.token}&wait={min(wait, 30)}", headers=headers, timeout=wait + REQUEST_TIMEOUT)
        if answer is None:
            time.sleep(wait)
            return
        status, body, etag = answer
        if status == 200:
            self.etag = etag
            self.apply(body.get("data", {}))

    def apply(self, state):
        """Set the LED as the server wants it and, if it changed, say so at once (the switch stops being pending)."""
        pin = state.get("v0")
        wanted = 1 if isinstance(pin, (bool, int, float)) and pin else 0
        if wanted != self.led:
            self.led = wanted
            print(f"demo device: LED {'on' if wanted else 'off'}", flush=True)
            self.report({"v0": self.led})

    def call(self, method, path, body=None, headers=None, timeout=REQUEST_TIMEOUT):
        """(status, JSON body, ETag), or None when the server cannot be reached or refuses (said once per call)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"{}"), response.headers.get("ETag")
        except urllib.error.HTTPError as refused:
            if refused.code == 304:
                return 304, {}, self.etag
            print(f"demo device: {method} {path.split('?')[0]} answered {refused.code}", file=sys.stderr, flush=True)
        except (urllib.error.URLError, OSError) as failed:
            print(f"demo device: {method} {path.split('?')[0]} failed: {failed}", file=sys.stderr, flush=True)
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--credentials", required=True, help="JSON file with device_id and device_token (written by seed-demo)")
    parser.add_argument("--interval", type=float, default=5, help="seconds between reports (default 5)")
    arguments = parser.parse_args()
    # Stopped with the server: SIGTERM ends it quietly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        with open(arguments.credentials) as credentials_file:
            credentials = json.load(credentials_file)
    except (OSError, ValueError) as unreadable:
        sys.exit(f"demo device: no credentials in {arguments.credentials} ({unreadable}); `flask --app wsgi seed-demo` writes them")
    device = DemoDevice(arguments.url, credentials["device_id"], credentials["device_token"], arguments.interval)
    print(f"demo device {device.device_id}: reporting to {device.url} every {arguments.interval:g} s", flush=True)
    device.run(parent=os.getppid())


if __name__ == "__main__":
    main()
