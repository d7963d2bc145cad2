"""A real gunicorn + gevent server on a free port, for tests that need one.

Its database is of its own (see tests/databases.py) and migrated before the
first start; users and devices are made by an in-process app on the same
database, which is quicker than the CLI and goes through the same services.
"""
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import flask_migrate
import requests

from tests import databases
from webapp import create_app
from webapp.extensions import db
from webapp.services.accounts import users
from webapp.services.devices import registry as devices

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START_TIMEOUT = 30
PASSWORD = "correct horse battery"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    """`start()`, `stop()`, `restart()` keep the port and the database; `url` is the base URL."""

    def __init__(self, tmp_dir, settings, workers=1, database_url=None):
        """A server on a new database of its own, or on `database_url` (migrated here, never dropped)."""
        self.tmp_dir = str(tmp_dir)
        self.owns_database = database_url is None
        self.db_url = database_url or databases.create_database(self.tmp_dir)
        self.settings = {**settings, "DATABASE_URL": self.db_url}
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.pid_file = os.path.join(self.tmp_dir, f"gunicorn-{self.port}.pid")
        self.log_path = os.path.join(self.tmp_dir, f"gunicorn-{self.port}.log")
        self.process = None
        self.app = create_app({**self.settings, "TESTING": True})
        with self.app.app_context():
            flask_migrate.upgrade()

    # Server process

    def start(self):
        env = {
            **os.environ,
            **{name: str(value) for name, value in self.settings.items()},
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(self.workers),
        }
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                os.path.join(os.path.dirname(sys.executable), "gunicorn"),
                "-c",
                "gunicorn.conf.py",
                "--no-control-socket",
                "--pid",
                self.pid_file,
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_until_healthy()
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.process is None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self):
        self.stop()
        return self.start()

    def close(self):
        self.stop()
        with self.app.app_context():
            db.engine.dispose()
        self.app.extensions["broker"].close()
        if self.owns_database:
            databases.drop_database(self.db_url)

    def log(self):
        with open(self.log_path, errors="replace") as log:
            return log.read()

    def worker_pids(self):
        with open(self.pid_file) as pid_file:
            master = int(pid_file.read().strip())
        children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
        return [int(pid) for pid in children]

    def _wait_until_healthy(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not answer /health within {START_TIMEOUT} s:\n{self.log()}")

    # Data

    def create_user(self, email=None, admin=False, password=PASSWORD):
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        with self.app.app_context():
            users.create_user(email, password, is_admin=admin)
            db.session.remove()
        return email

    def api_token(self, email):
        with self.app.app_context():
            user = users.find_user(email) or users.create_user(email, PASSWORD)
            token = users.create_api_token(user)
            db.session.remove()
        return token

    def create_device(self, owner_email=None, name="Test ESP32", offline_timeout=None):
        """A new device (its owner created when missing): {device_id, device_token, owner_email}."""
        owner_email = owner_email or self.create_user()
        with self.app.app_context():
            owner = users.find_user(owner_email) or users.create_user(owner_email, PASSWORD)
            device, token = devices.create_device(owner, name, offline_timeout)
            credentials = {"device_id": device.id, "device_token": token, "owner_email": owner_email}
            db.session.remove()
        return credentials
