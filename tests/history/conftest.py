"""Fixtures for history tests: readings written straight into history, and a helper to read it back."""
from urllib.parse import urlencode

import pytest

from webapp.core import values
from webapp.extensions import db
from webapp.models import Reading

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
# A fixed moment, so windows and bucket boundaries in the tests are exact: 2026-11-27T10:00:00Z.
T0 = 1_795_773_600_000


@pytest.fixture
def add_readings(app):
    """`add_readings(device_id, key, [(ts_ms, value), …])`: history as ingest stores it, without the HTTP path."""

    def add(device_id, key, points):
        with app.app_context():
            db.session.execute(
                Reading.__table__.insert(),
                [{"device_id": device_id, "key": key, "ts_ms": ts, "num": values.numeric(v), "value": values.encode(v)} for ts, v in points],
            )
            db.session.commit()

    return add


@pytest.fixture
def stored_timestamps(app):
    """`stored_timestamps(device_id, key)`: the ts_ms still in history, oldest first."""

    def read(device_id, key):
        with app.app_context():
            rows = db.session.scalars(
                Reading.__table__.select()
                .with_only_columns(Reading.ts_ms)
                .where(Reading.device_id == device_id, Reading.key == key)
                .order_by(Reading.ts_ms)
            ).all()
            db.session.remove()
            return rows

    return read


def history_url(device_id, **params):
    """The history URL with `params` encoded (`from_` for `from`)."""
    return f"/api/devices/{device_id}/history?" + urlencode({name.rstrip("_"): value for name, value in params.items()})
