"""Migration 0004_history re-lays the readings table out; readings already stored survive both ways."""
import flask_migrate
import pytest
from sqlalchemy import inspect, text

from tests import databases
from tests.conftest import test_settings as settings_for
from webapp import create_app
from webapp.extensions import db

READING = ("d0000000000000000000000a", "temperature", 1_795_773_600_000, 21.5, "21.5")


@pytest.fixture
def fresh_app(tmp_path):
    url = databases.create_database(tmp_path)
    app = create_app(settings_for(url) | {"TESTING": True})
    yield app
    app.extensions["broker"].close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop_database(url)


def stored_readings():
    return [tuple(row) for row in db.session.execute(text("SELECT device_id, key, ts_ms, num, value FROM readings"))]


def test_readings_survive_the_upgrade_and_the_downgrade(fresh_app):
    with fresh_app.app_context():
        flask_migrate.upgrade(revision="0001")
        db.session.execute(text("INSERT INTO users (id, email, password_hash, is_admin, created_ms) VALUES (1, 'm@example.com', '-', false, 0)"))
        db.session.execute(
            text(
                "INSERT INTO devices (id, owner_id, name, token_hash, token_prefix, status, presence_claim, offline_timeout,"
                " disabled, denied_count, state_version, created_ms)"
                " VALUES (:id, 1, 'm', 'hash', 'p', 'offline', 0, 60, false, 0, 0, 0)"
            ),
            {"id": READING[0]},
        )
        db.session.execute(text("INSERT INTO readings VALUES (:d, :k, :t, :n, :v)"), dict(zip("dktnv", READING)))
        db.session.commit()

        flask_migrate.upgrade()
        assert stored_readings() == [READING]
        assert "ix_readings_ts_ms" not in {index["name"] for index in inspect(db.session.connection()).get_indexes("readings")}
        assert "scheduled_jobs" in inspect(db.session.connection()).get_table_names()
        db.session.commit()

        flask_migrate.downgrade(revision="0001")
        assert stored_readings() == [READING]
        assert "ix_readings_ts_ms" in {index["name"] for index in inspect(db.session.connection()).get_indexes("readings")}
        db.session.commit()
