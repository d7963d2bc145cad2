"""`flask db backup` while the server stores telemetry, then `flask db restore` into a new database:
every table comes back, and the copy is the database as of one moment."""
import os
import subprocess
import sys
import threading
import time

import pytest
import requests
from sqlalchemy import create_engine, insert, inspect, text

from tests import databases
from tests.live_server import ROOT
from webapp.config import database_url
from webapp.extensions import db
from webapp.models import Reading, Rule, Widget

DEVICES = 4
HISTORY_READINGS = 50_000
# Readings' timestamps: a day ago, a second apart per device, so none collide and none is in the future.
START_MS = int(time.time() * 1000) - 86_400_000


def flask_command(db_url, *args):
    env = {**os.environ, "DATABASE_URL": db_url}
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    return subprocess.run([flask, "--app", "wsgi", "db", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def every_table(db_url):
    """{table: rows (dicts) in primary-key order} of every table, Alembic's version table included."""
    engine = create_engine(database_url(db_url, ""))
    try:
        with engine.connect() as connection:
            tables = {}
            for name in sorted(inspect(connection).get_table_names()):
                order = ", ".join(inspect(connection).get_pk_constraint(name)["constrained_columns"]) or "1"
                tables[name] = [dict(row._mapping) for row in connection.execute(text(f"SELECT * FROM {name} ORDER BY {order}"))]
            return tables
    finally:
        engine.dispose()


def without(row, columns):
    return {name: value for name, value in row.items() if name not in columns}


class Devices:
    """One thread per device posting numbered readings 0, 1, 2, … until stopped; what was acknowledged when."""

    def __init__(self, server, credentials):
        self.server = server
        self.credentials = credentials
        self.acknowledged = {device["device_id"]: [] for device in credentials}
        self.failures = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._post, args=(device,)) for device in credentials]

    def _post(self, device):
        http = requests.Session()
        url = f"{self.server.url}/devices/{device['device_id']}/telemetry"
        number = 0
        while not self.stopping.is_set():
            body = {"device_token": device["device_token"], "ts": START_MS + number * 1000, "data": {"n": number}}
            answer = http.post(url, json=body, timeout=30)
            if answer.status_code == 200:
                self.acknowledged[device["device_id"]].append((number, time.monotonic()))
                number += 1
            else:
                self.failures.append(answer.status_code)

    def start(self):
        for thread in self.threads:
            thread.start()

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join()

    def acknowledged_before(self, moment):
        return sum(1 for acks in self.acknowledged.values() for _, at in acks if at < moment)

    def acknowledged_between(self, start, end):
        return sum(1 for acks in self.acknowledged.values() for _, at in acks if start <= at < end)


def fill(server):
    """Users, devices, rules, widgets, and a history large enough that a backup takes a while."""
    credentials = [server.create_device(name=f"Backed up {number}") for number in range(DEVICES)]
    history_device = server.create_device(name="History")["device_id"]
    with server.app.app_context():
        db.session.add(Rule(device_id=credentials[0]["device_id"], position=0, name="keys", type="allowed_keys", params='{"keys": ["n"]}'))
        db.session.add(Widget(device_id=credentials[0]["device_id"], kind="value", label="N", key="n", position=0, created_ms=START_MS))
        rows = [
            {"device_id": history_device, "key": f"k{index % 5}", "ts_ms": START_MS - index * 1000, "num": index, "value": str(index)}
            for index in range(HISTORY_READINGS)
        ]
        db.session.execute(insert(Reading), rows)
        db.session.commit()
        db.session.remove()
    return credentials


@pytest.fixture
def restored_url(tmp_path):
    url = databases.create_database(tmp_path)
    yield url
    databases.drop_database(url)


def test_a_backup_made_while_serving_restores_every_table_as_of_one_moment(live_server, tmp_path, restored_url):
    devices = Devices(live_server, fill(live_server))
    backup_path = str(tmp_path / "thingsnxt.backup")
    devices.start()
    # Telemetry is flowing before the backup starts.
    while devices.acknowledged_before(time.monotonic()) < 50:
        time.sleep(0.01)
    backup_started = time.monotonic()
    backed_up = flask_command(live_server.db_url, "backup", backup_path)
    backup_ended = time.monotonic()
    devices.stop()
    restored = flask_command(restored_url, "restore", backup_path, "--yes")

    assert backed_up.returncode == 0, backed_up.stderr
    assert restored.returncode == 0, restored.stderr
    assert devices.failures == []
    source, copy = every_table(live_server.db_url), every_table(restored_url)
    assert source.keys() == copy.keys()
    # What telemetry and the background jobs change: readings, the latest state, the devices' last-seen, and
    # when each periodic job is due next. Everything else is as it was.
    for table in source.keys() - {"readings", "device_state", "devices", "scheduled_jobs"}:
        assert copy[table] == source[table], table
    seen = {"last_seen_ms", "reading_numbers", "status", "presence_claim", "transport"}
    assert [without(row, seen) for row in copy["devices"]] == [without(row, seen) for row in source["devices"]]
    source_readings = {tuple(row.values()) for row in source["readings"]}
    assert all(tuple(row.values()) in source_readings for row in copy["readings"])
    for device_id, acks in devices.acknowledged.items():
        numbers = sorted(int(row["value"]) for row in copy["readings"] if row["device_id"] == device_id)
        # One moment: each device's readings are 0..k without a gap, and its latest state says k.
        assert numbers == list(range(len(numbers))), device_id
        assert len(numbers) >= sum(1 for _, at in acks if at < backup_started)
        latest = [row for row in copy["device_state"] if row["device_id"] == device_id and row["key"] == "n"]
        assert latest and int(latest[0]["reported"]) == numbers[-1], device_id
    written_during = devices.acknowledged_between(backup_started, backup_ended)
    print(f"\nthe backup command took {backup_ended - backup_started:.2f} s (its start included); {written_during} readings were acknowledged meanwhile")
    assert written_during > 0
