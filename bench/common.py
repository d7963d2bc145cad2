"""What the benchmarks share: the database kind, servers, device fixtures, wrk, CPU accounting, results.

The ThingsNXT server is the tests' LiveServer (a real gunicorn + gevent
server with a database of its own); with DATABASE_URL and REDIS_URL set, it
runs on PostgreSQL + Redis with two workers, otherwise on SQLite with one.
"""
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.live_server import LiveServer, free_port  # noqa: E402
from webapp.core.clock import now_ms  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import User  # noqa: E402
from webapp.services.devices import registry as devices  # noqa: E402

RESULTS_DIR = os.path.join(ROOT, "bench", "results")
BIN = os.path.dirname(sys.executable)


def backend():
    """'postgresql+redis' when DATABASE_URL and REDIS_URL are set, else 'sqlite'."""
    if os.environ.get("DATABASE_URL", "").startswith("postgres") and os.environ.get("REDIS_URL"):
        return "postgresql+redis"
    return "sqlite"


def default_workers():
    return 2 if backend() == "postgresql+redis" else 1


def start_thingsnxt(workers=None, **settings):
    """A ThingsNXT server for load: rate limits counted, but high enough for a simulated fleet."""
    base = {
        "REDIS_URL": os.environ.get("REDIS_URL", "") if backend() != "sqlite" else "",
        "REDIS_KEY_PREFIX": f"thingsnxt-bench-{uuid.uuid4().hex[:8]}:",
        "SECRET_KEY": "bench-secret",
        "RATELIMIT_DEVICE": "1000000 per 60 seconds",
        "RATELIMIT_DEFAULT": "1000000 per 60 seconds",
        "RATELIMIT_AUTH_FAILURES": "1000000 per 60 seconds",
    }
    server = LiveServer(tempfile.mkdtemp(prefix="thingsnxt-bench-"), base | settings, workers=workers or default_workers())
    return server.start()


def create_devices(server, count, offline_timeout=None):
    """`count` devices of one owner, inserted in one transaction: [(device_id, token)]."""
    credentials = []
    with server.app.app_context():
        owner = User(email=f"bench-{uuid.uuid4().hex[:8]}@example.com", password_hash="!", is_admin=False, created_ms=now_ms())
        db.session.add(owner)
        db.session.flush()
        for number in range(count):
            device, token = devices.new_device(owner, f"bench-{number}", offline_timeout)
            db.session.add(device)
            credentials.append((device.id, token))
        db.session.commit()
        db.session.remove()
    return credentials


def write_devices_file(credentials):
    with tempfile.NamedTemporaryFile("w", prefix="devices-", suffix=".txt", delete=False) as handle:
        handle.write("".join(f"{device_id} {token}\n" for device_id, token in credentials))
    return handle.name


def wait_for_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


class Process:
    """A server process of a ceiling (plain Flask, FastAPI) with its port."""

    def __init__(self, command, port):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(port)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def start_plain_flask(workers):
    port = free_port()
    # -c /dev/null: not the project's gunicorn.conf.py, which gunicorn would load from the working directory.
    command = [f"{BIN}/gunicorn", "-c", "/dev/null", "-k", "gevent_pywsgi", "-w", str(workers), "--worker-connections", "1000",
               "-b", f"127.0.0.1:{port}", "--no-control-socket", "bench.ceilings.plain_flask:app"]
    return Process(command, port)


def start_plain_fastapi(workers):
    port = free_port()
    command = [f"{BIN}/uvicorn", "bench.ceilings.plain_fastapi:app", "--port", str(port), "--workers", str(workers),
               "--log-level", "warning", "--no-access-log"]
    return Process(command, port)


def wrk(url, script, script_args, connections=64, duration=10, threads=2):
    """Run wrk; its WRK_RESULT line as a dict, plus the CPU seconds wrk itself used."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: run `make bench-deps` (apt-get install -y wrk)")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s", "-s", script, url, "--", *script_args],
        capture_output=True, text=True, env={**os.environ, "LUA_PATH": os.path.join(ROOT, "bench", "lua", "?.lua") + ";;"},
    )
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed ({run.returncode}): {run.stderr.strip() or run.stdout.strip()}")
    output = run.stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(line for line in output.splitlines() if line.startswith("WRK_RESULT "))
    result = json.loads(line.split(" ", 1)[1])
    result["generator_cpu_s"] = round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2)
    result["rps"] = round(result["requests"] / (result["duration_us"] / 1e6))
    return result


def process_cpu_seconds(pid):
    """User + system CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def machine():
    with open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown")
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": sys.version.split()[0]}


def write_result(name, result):
    os.makedirs(RESULTS_DIR, exist_ok=True)
    result = {"benchmark": name, "backend": backend(), "at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(), **result}
    path = os.path.join(RESULTS_DIR, f"{name}-{backend()}.json")
    with open(path, "w") as out:
        json.dump(result, out, indent=2)
    return path


def print_table(title, columns, rows):
    widths = [max(len(str(column)), *(len(str(row[i])) for row in rows)) for i, column in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(str(column).ljust(width) for column, width in zip(columns, widths, strict=True)))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
