"""A private Mosquitto for tests and benchmarks, started by `flask --app wsgi mqtt broker` on a free port.

The machine's own Mosquitto (port 1883) is not configured for us; this one
runs the repository's configuration (deploy/mosquitto/) with the accounts
written from the given database, as in production.
"""
import contextlib
import os
import secrets
import socket
import subprocess
import sys

import paho.mqtt.client as paho

from tests.live_server import ROOT, LiveServer, free_port
from tests.waiting import wait_until

START_TIMEOUT = 60


class PrivateBroker:
    """`database_url` is where its accounts come from; it may be set after the settings are read, before `start()`.
    With `tls` (certificate file, key file) it has a TLS listener too, on `tls_port`."""

    def __init__(self, data_dir, database_url=None, tls=None):
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.admin_user = "thingsnxt"
        self.admin_password = secrets.token_urlsafe(16)
        self.data_dir = str(data_dir)
        self.database_url = database_url
        self.tls = tls
        self.tls_port = free_port() if tls else None
        self.process = None

    @property
    def settings(self):
        settings = {"MQTT_URL": self.url, "MQTT_ADMIN_USER": self.admin_user, "MQTT_ADMIN_PASSWORD": self.admin_password}
        if self.tls:
            settings |= {"MQTT_TLS_PORT": self.tls_port, "MQTT_TLS_CERTFILE": self.tls[0], "MQTT_TLS_KEYFILE": self.tls[1]}
        return settings

    def start(self):
        env = {**os.environ, "DATABASE_URL": self.database_url, **{name: str(value) for name, value in self.settings.items()}}
        flask = os.path.join(os.path.dirname(sys.executable), "flask")
        self.log = open(os.path.join(self.data_dir, "broker.log"), "ab")  # noqa: SIM115 (open as long as the broker runs)
        self.process = subprocess.Popen(
            [flask, "--app", "wsgi", "mqtt", "broker", "--data-dir", self.data_dir], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        wait_until(self._listening, f"Mosquitto listening on {self.port}", timeout=START_TIMEOUT)
        return self

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
            self.log.close()

    def _listening(self):
        assert self.process.poll() is None, f"the broker exited ({self.process.returncode}); see {self.data_dir}/broker.log"
        try:
            for port in filter(None, (self.port, self.tls_port)):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False


@contextlib.contextmanager
def platform_on_a_private_broker(tmp_path_factory):
    """(server, broker): a private broker and a gunicorn server on it (MQTT_URL set), the broker's accounts
    written from the server's database."""
    from tests.conftest import settings_for_tests  # the suite's settings; the benchmarks use this module without them

    broker = PrivateBroker(tmp_path_factory.mktemp("mosquitto"))
    server = LiveServer(tmp_path_factory.mktemp("live"), settings_for_tests("") | broker.settings)
    broker.database_url = server.db_url
    broker.start()
    server.start()
    try:
        yield server, broker
    finally:
        server.close()
        broker.stop()


def device_client(broker, username, password, client_id=None, will=True):
    """A paho client (MQTT 5, so the broker says why it refuses a publish) as a device would connect, not yet connected."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id or username, protocol=paho.MQTTv5)
    client.username_pw_set(username, password)
    if will:
        client.will_set(f"devices/{username}/status", b"offline", qos=1, retain=True)
    return client
