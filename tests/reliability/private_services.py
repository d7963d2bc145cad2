"""A PostgreSQL and a Redis of a test's own, on free ports, that the test may stop and start.

The machine's shared PostgreSQL and Redis serve every other test running at
the time: outage tests must never touch them. PostgreSQL refuses to run as
root, so as root its cluster lives in a directory owned by the `postgres`
user and its commands run as that user (runuser); otherwise as the caller.
"""
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time

import psycopg
import redis

from tests.live_server import free_port

START_TIMEOUT = 30


RUN_AS_POSTGRES = os.geteuid() == 0


def postgresql_bin_dir():
    """The newest installed PostgreSQL's binaries, or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates or (RUN_AS_POSTGRES and shutil.which("runuser") is None):
        return None
    return os.path.dirname(candidates[-1])


class PrivatePostgres:
    def __init__(self, bin_dir):
        self.bin_dir = bin_dir
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="thingsnxt-pg-")
        if RUN_AS_POSTGRES:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self._as_postgres("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def _as_postgres(self, program, *args):
        as_postgres = ["runuser", "-u", "postgres", "--"] if RUN_AS_POSTGRES else []
        subprocess.run(
            [*as_postgres, os.path.join(self.bin_dir, program), *args],
            check=True, capture_output=True, cwd=self.dir, timeout=START_TIMEOUT * 2,
        )

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._as_postgres("pg_ctl", "-D", self.data, "-o", options, "-l", os.path.join(self.dir, "log"), "-w", "-t", str(START_TIMEOUT), "start")

    def stop(self):
        """A fast shutdown: sessions are ended, committed data kept."""
        self._as_postgres("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def create_database(self, name="thingsnxt"):
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def close(self):
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=START_TIMEOUT)

    def freeze(self):
        """Hang Redis: connections stay open, nothing answers (as on a stalled host)."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.process.send_signal(signal.SIGCONT)

    def close(self):
        if self.process.poll() is None:
            self.thaw()
            self.stop()
