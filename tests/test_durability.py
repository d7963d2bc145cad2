"""SQLite is durable by default: every commit is synced before the request is answered (PRAGMA synchronous=FULL)."""
import pytest
from sqlalchemy import text

from tests.conftest import settings_for_tests
from webapp import create_app

# SQLite's numbers for PRAGMA synchronous.
NORMAL, FULL = 1, 2


def synchronous_of(tmp_path, **settings):
    app = create_app(settings_for_tests(f"sqlite:///{tmp_path}/durable.db") | settings)
    try:
        with app.app_context(), app.extensions["sqlalchemy"].engine.connect() as connection:
            return connection.execute(text("PRAGMA synchronous")).scalar()
    finally:
        app.extensions["broker"].close()


def test_sqlite_syncs_every_commit_by_default(tmp_path):
    assert synchronous_of(tmp_path) == FULL


def test_normal_can_be_chosen(tmp_path):
    assert synchronous_of(tmp_path, SQLITE_SYNCHRONOUS="normal") == NORMAL


def test_anything_else_is_refused_at_start(tmp_path):
    with pytest.raises(RuntimeError, match="SQLITE_SYNCHRONOUS"):
        synchronous_of(tmp_path, SQLITE_SYNCHRONOUS="OFF")
