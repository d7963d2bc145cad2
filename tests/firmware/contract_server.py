"""A stand-in for the ThingsNXT server's device API, for the firmware tests.

The firmware-in-the-loop tests are written against the `live_server` fixture
of tests/conftest.py (a real gunicorn server). Until that fixture is in this
branch, conftest.py here serves this stand-in under the same interface. It
implements the contract the firmware relies on and nothing more: the V2 and
batch telemetry endpoints, `/telemetry/latest` with ETag and long-poll,
`/health`, and an owner setting a pin through `PUT /api/devices/{id}/pins/{key}`.
No rate limits, security rules or persistence beyond the process: when the
real fixture arrives, this file goes.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
MAX_LONG_POLL_SECONDS = 30


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def normalise_ts(ts) -> str:
    """The batch `ts` as the server stores it: ISO-8601 UTC with milliseconds."""
    if isinstance(ts, (int, float)) and not isinstance(ts, bool):
        moment = datetime.fromtimestamp(ts, timezone.utc)
    else:
        moment = datetime.fromisoformat(str(ts)).astimezone(timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def valid_data(data) -> bool:
    return (
        isinstance(data, dict)
        and len(data) <= 64
        and all(KEY_PATTERN.match(key) for key in data)
        and all(isinstance(value, (bool, int, float, str)) for value in data.values())
    )


class Device:
    def __init__(self, owner: str):
        self.device_id = secrets.token_hex(12)
        self.token = secrets.token_urlsafe(32)
        self.owner = owner
        self.sensors: dict = {}  # what the device reported
        self.desired: dict = {}  # control pins, set by people
        self.history: set[str] = set()  # ts of every stored reading
        self.version = 1

    def state(self) -> dict:
        return {**self.sensors, **self.desired}


class Store:
    """What a database would hold; survives stop() and start()."""

    def __init__(self):
        self.devices: dict[str, Device] = {}
        self.api_tokens: dict[str, str] = {}
        self.changed = threading.Condition()
        self.stopping = False

    def device_by_token(self, token: str) -> Device | None:
        return next((device for device in self.devices.values() if device.token == token), None)


class Handler(BaseHTTPRequestHandler):
    store: Store  # set on the subclass made per server

    def log_message(self, format, *args):  # noqa: A002 - quiet test output
        pass

    # -- plumbing -------------------------------------------------------
    def reply(self, status: int, body: dict | None = None, headers: dict | None = None):
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def fail(self, status: int, code: str, message: str):
        self.reply(status, {"error": code, "message": message})

    def json_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length))
        except ValueError:
            return None

    def bearer(self) -> str:
        header = self.headers.get("Authorization", "")
        return header[7:] if header.startswith("Bearer ") else ""

    # -- routes -----------------------------------------------------------
    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/health":
            self.reply(200, {"status": "ok", "database": "ok"})
        elif url.path == "/telemetry/latest":
            self.latest(parse_qs(url.query))
        else:
            self.fail(404, "not_found", "no such route")

    def do_POST(self):
        match = re.fullmatch(r"/devices/([0-9a-f]{24})/telemetry(/batch)?", urlsplit(self.path).path)
        if not match:
            self.fail(404, "not_found", "no such route")
            return
        body = self.json_body()
        if not isinstance(body, dict):
            self.fail(400, "bad_request", "body is not a JSON object")
            return
        with self.store.changed:
            device = self.store.devices.get(match[1])
            if device is None:
                self.fail(404, "not_found", "no such device")
            elif (body.get("device_token") or self.bearer()) != device.token:
                self.fail(403, "invalid_token", "token missing or wrong")
            elif match[2]:
                self.batch(device, body)
            else:
                self.telemetry(device, body)

    def do_PUT(self):
        match = re.fullmatch(r"/api/devices/([0-9a-f]{24})/pins/([^/]+)", urlsplit(self.path).path)
        body = self.json_body()
        with self.store.changed:
            device = self.store.devices.get(match[1]) if match else None
            if device is None:
                self.fail(404, "not_found", "no such device")
            elif self.store.api_tokens.get(self.bearer()) != device.owner:
                self.fail(403, "forbidden", "not the owner")
            elif not isinstance(body, dict) or "value" not in body:
                self.fail(400, "bad_request", 'body must be {"value": ...}')
            else:
                device.desired[match[2]] = body["value"]
                device.version += 1
                self.store.changed.notify_all()
                self.reply(200, {"key": match[2], "value": body["value"]})

    # -- device API ---------------------------------------------------------
    def telemetry(self, device: Device, body: dict):
        data = body.get("data")
        if not valid_data(data):
            self.fail(400, "bad_request", "data must be an object of up to 64 valid keys")
            return
        device.sensors.update({key: value for key, value in data.items() if key not in device.desired})
        device.history.add(now_iso())
        device.version += 1
        self.store.changed.notify_all()
        self.reply(
            200,
            {"message": "ok", "device_id": device.device_id, "data": device.state(), "timestamp": now_iso()},
        )

    def batch(self, device: Device, body: dict):
        records = body.get("records")
        if not isinstance(records, list) or len(records) > 500:
            self.fail(400, "bad_request", "records must be a list of at most 500")
            return
        accepted = duplicates = 0
        for record in records:
            if not isinstance(record, dict) or not valid_data(record.get("data")):
                self.fail(400, "bad_request", "each record needs ts and data")
                return
            ts = normalise_ts(record.get("ts"))
            if ts in device.history:
                duplicates += 1
            else:
                device.history.add(ts)
                accepted += 1
        self.reply(200, {"accepted": accepted, "duplicates": duplicates})

    def latest(self, query: dict):
        token = (query.get("device_token") or [self.bearer()])[0]
        wait = min(float((query.get("wait") or ["0"])[0]), MAX_LONG_POLL_SECONDS)
        with self.store.changed:
            device = self.store.device_by_token(token)
            if device is None:
                self.fail(403, "invalid_token", "token missing or wrong")
                return
            seen = self.headers.get("If-None-Match")
            if seen == f'"{device.version}"' and wait > 0:
                self.store.changed.wait_for(
                    lambda: f'"{device.version}"' != seen or self.store.stopping, timeout=wait
                )
                if self.store.stopping:
                    return  # the server is going down: the connection just closes
            etag = f'"{device.version}"'
            if seen == etag:
                self.reply(304, headers={"ETag": etag})
            else:
                self.reply(
                    200,
                    {"device_id": device.device_id, "data": device.state(), "timestamp": now_iso()},
                    headers={"ETag": etag},
                )


class ContractServer:
    """The `live_server` interface: url, create_device, api_token, start, stop, restart, db_url."""

    db_url = "memory://contract-stand-in"

    def __init__(self):
        self.store = Store()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadingHTTPServer | None = None

    def start(self):
        self.store.stopping = False
        handler = type("BoundHandler", (Handler,), {"store": self.store})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self):
        with self.store.changed:
            self.store.stopping = True
            self.store.changed.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def restart(self):
        self.stop()
        self.start()

    def create_device(self, owner_email: str = "owner@example.com") -> dict:
        device = Device(owner_email)
        with self.store.changed:
            self.store.devices[device.device_id] = device
        return {"device_id": device.device_id, "device_token": device.token}

    def api_token(self, email: str) -> str:
        token = secrets.token_urlsafe(24)
        self.store.api_tokens[token] = email
        return token
