"""History on a real gunicorn + gevent server: the prune runs in the worker, the CSV goes out in chunks."""
import csv
import io

import pytest
import requests

from tests.history.conftest import DAY_MS
from tests.waiting import wait_until
from webapp.core import values
from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.models import Reading

pytestmark = pytest.mark.live


def store(server, device_id, key, points):
    with server.app.app_context():
        db.session.execute(
            Reading.__table__.insert(),
            [{"device_id": device_id, "key": key, "ts_ms": ts, "num": values.numeric(v), "value": values.encode(v)} for ts, v in points],
        )
        db.session.commit()
        db.session.remove()


def test_the_worker_prunes_expired_history_and_streams_csv(live_server_factory):
    server = live_server_factory(RETENTION_DAYS=2, RETENTION_PRUNE_INTERVAL=1, HISTORY_EXPORT_CHUNK=500)
    device = server.create_device()
    token = server.api_token(device["owner_email"])
    now = now_ms()
    recent = [(now - 3_000_000 + i * 1000, i) for i in range(2_000)]
    store(server, device["device_id"], "t", [(now - 3 * DAY_MS + i, "expired") for i in range(20)] + recent)
    url = f"{server.url}/api/devices/{device['device_id']}/history"
    headers = {"Authorization": f"Bearer {token}"}

    def points():
        return requests.get(url, params={"key": "t", "from": (now - 4 * DAY_MS) // 1000}, headers=headers, timeout=10).json()["points"]

    wait_until(lambda: len(points()) == len(recent), "the prune", timeout=20)
    assert [p["value"] for p in points()] == [v for _, v in recent], server.log()

    with requests.get(url, params={"key": "t", "format": "csv"}, headers=headers, stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in response.headers
        rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["timestamp", "key", "value"]
    assert [int(row[2]) for row in rows[1:]] == [v for _, v in recent]
