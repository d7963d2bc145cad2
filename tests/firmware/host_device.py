"""The firmware's host build as a device under test, and the device API as
the tests use it to look at the server (only what the API guide promises)."""

from __future__ import annotations

import fcntl
import json
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FIRMWARE_MAKEFILE = "firmware/firmware.mk"
PROGRAM = REPO_ROOT / "firmware" / "build" / "thingsnxt-host-device"


def run_make(target: str) -> subprocess.CompletedProcess:
    """Runs a firmware.mk target from the repository root (installing the
    Debian packages it needs when missing). One build at a time: test
    workers running in parallel share the object files."""
    lock_path = REPO_ROOT / "firmware" / "build" / ".make.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return subprocess.run(
            ["make", "-j2", "-f", FIRMWARE_MAKEFILE, target],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
        )


def build_host_device() -> Path:
    result = run_make("firmware-fil")
    assert result.returncode == 0, f"building the host device failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return PROGRAM


@dataclass
class Seen:
    """A line of the device's log that matched: where it is, and the match."""

    index: int
    match: re.Match

    def __getitem__(self, group):
        return self.match[group]


class HostDevice:
    """thingsnxt-host-device running as a subprocess; its stdout is the serial
    log, its stdin the serial console."""

    def __init__(self, program: Path, args: list[str]):
        self.process = subprocess.Popen(
            [str(program), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: list[str] = []
        self._exited = False
        self._new_line = threading.Condition()
        threading.Thread(target=self._read_log, daemon=True).start()

    def _read_log(self):
        for line in self.process.stdout:
            with self._new_line:
                self.lines.append(line.rstrip("\n"))
                self._new_line.notify_all()
        with self._new_line:
            self._exited = True
            self._new_line.notify_all()

    def mark(self) -> int:
        """The index the next log line will have."""
        with self._new_line:
            return len(self.lines)

    def wait_for(self, pattern: str, *, after: int = 0, timeout: float = 15.0) -> Seen:
        """The first log line from index `after` on that matches, waiting for
        it up to `timeout` seconds."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        index = after
        with self._new_line:
            while True:
                for index in range(index, len(self.lines)):
                    match = regex.search(self.lines[index])
                    if match:
                        return Seen(index, match)
                index = len(self.lines)
                remaining = deadline - time.monotonic()
                if self._exited or remaining <= 0:
                    why = "the device exited" if self._exited else f"nothing within {timeout} s"
                    raise AssertionError(f"waiting for {pattern!r}: {why}; the log ends:\n" + self.tail())
                self._new_line.wait(remaining)

    def wait_for_count(self, pattern: str, count: int, *, after: int = 0, timeout: float = 15.0) -> list[Seen]:
        seen: list[Seen] = []
        deadline = time.monotonic() + timeout
        while len(seen) < count:
            start = seen[-1].index + 1 if seen else after
            seen.append(self.wait_for(pattern, after=start, timeout=max(deadline - time.monotonic(), 0)))
        return seen

    def matches(self, pattern: str, *, after: int = 0, before: int | None = None) -> list[Seen]:
        regex = re.compile(pattern)
        with self._new_line:
            lines = self.lines[after:before]
        return [Seen(after + i, m) for i, line in enumerate(lines) if (m := regex.search(line))]

    def send(self, line: str):
        """Types a line on the serial console."""
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def tail(self, count: int = 40) -> str:
        return "\n".join(self.lines[-count:])

    def kill(self):
        """Pulls the plug: no clean shutdown, as a power cut."""
        self.process.kill()
        self.process.wait()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- the server, through its API ------------------------------------------------


def _request(method: str, url: str, *, body: dict | None = None, headers: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=40) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def set_pin(server_url: str, api_token: str, device_id: str, key: str, value) -> None:
    """An owner switches a pin, as the dashboard does."""
    status, _, body = _request(
        "PUT",
        f"{server_url}/api/devices/{device_id}/pins/{key}",
        body={"value": value},
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert 200 <= status < 300, f"setting {key} failed: {status} {body!r}"


def wait_for_state(server_url: str, device_token: str, predicate, *, timeout: float = 15.0) -> dict:
    """The device's current state once `predicate(data)` holds, watched with
    the server's own long-poll rather than sleeps."""
    deadline = time.monotonic() + timeout
    etag, data = None, None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"the server's state never matched; last seen: {data}")
        headers = {"Authorization": f"Bearer {device_token}"}
        if etag:
            headers["If-None-Match"] = etag
        wait = max(1, min(int(remaining), 5))
        status, response_headers, body = _request("GET", f"{server_url}/telemetry/latest?wait={wait}", headers=headers)
        assert status in (200, 304), f"/telemetry/latest answered {status}: {body!r}"
        if status == 200:
            etag, data = response_headers.get("ETag"), json.loads(body)["data"]
            if predicate(data):
                return data


def upload_batch(server_url: str, device: dict, records: list[dict]) -> dict:
    status, _, body = _request(
        "POST",
        f"{server_url}/devices/{device['device_id']}/telemetry/batch",
        body={"device_token": device["device_token"], "records": records},
    )
    assert status == 200, f"batch upload answered {status}: {body!r}"
    return json.loads(body)
