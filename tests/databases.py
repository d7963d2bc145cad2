"""Databases of the test run's own: a SQLite file, or a PostgreSQL database created and dropped.

With DATABASE_URL set (as .ci/run does), every database made here is a new
PostgreSQL database on that server, so two runs never see each other's data.
"""
import os
import uuid

import psycopg

from webapp.config import database_url


def base_url():
    return os.environ.get("DATABASE_URL", "")


def uses_postgresql():
    return base_url().startswith(("postgres://", "postgresql://"))


def create_database(tmp_dir):
    """A URL to a new, empty database."""
    if not uses_postgresql():
        return "sqlite:///" + os.path.join(str(tmp_dir), f"test-{uuid.uuid4().hex[:8]}.sqlite3")
    name = f"thingsnxt_test_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return _with_database(name)


def drop_database(url):
    if not url.startswith("postgresql"):
        return
    name = url.rsplit("/", 1)[1]
    with _admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_connection():
    url = database_url(base_url(), "").replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True)


def _with_database(name):
    prefix = database_url(base_url(), "").rsplit("/", 1)[0]
    return f"{prefix}/{name}"
