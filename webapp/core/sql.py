"""The SQL that differs between SQLite and PostgreSQL, in one place."""
import functools
import re

import orjson
from sqlalchemy.dialects import postgresql, sqlite

from webapp.extensions import db


def insert(table):
    """An INSERT that supports `on_conflict_do_update` / `on_conflict_do_nothing` on either database."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


class DriverCursor:
    """Plain SQL run straight on the DB-API cursor of a SQLAlchemy connection.

    For the ingest hot path, where SQLAlchemy's statement and row handling
    cost more than the database work. Statements are written once, with
    `:name` parameters and `IN :name` for a list, and rendered for the
    driver: sqlite3 takes `:name` and a JSON array; psycopg takes `%(name)s`
    and `= ANY(array)`.
    """

    def __init__(self, connection):
        self._postgresql = connection.dialect.name == "postgresql"
        self._cursor = connection.connection.cursor()

    @property
    def postgresql(self):
        return self._postgresql

    @property
    def dialect(self):
        """"postgresql" or "sqlite": for the few statements whose SQL differs."""
        return "postgresql" if self._postgresql else "sqlite"

    def execute(self, statement, params):
        self._cursor.execute(_render(statement, self._postgresql), self._adapt(params))
        return self._cursor

    def insert_rows(self, table, columns, rows, on_conflict):
        """INSERT many rows (dicts) in one statement: `columns` are (name, PostgreSQL type) pairs.

        sqlite3 runs a prepared INSERT per row in C; psycopg would send one
        per row through its (Python) pipeline, so PostgreSQL gets the rows
        as one array per column, unnested.
        """
        names = ", ".join(name for name, _ in columns)
        if self._postgresql:
            arrays = ", ".join(f"%({name})s::{pg_type}[]" for name, pg_type in columns)
            statement = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {on_conflict}"
            self._cursor.execute(statement, {name: [row[name] for row in rows] for name, _ in columns})
        else:
            placeholders = ", ".join(f":{name}" for name, _ in columns)
            self._cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders}) {on_conflict}", rows)

    def _adapt(self, params):
        if self._postgresql:
            return params
        return {name: orjson.dumps(value).decode() if isinstance(value, list) else value for name, value in params.items()}


@functools.lru_cache(maxsize=64)
def _render(statement, postgresql_driver):
    if postgresql_driver:
        statement = re.sub(r"IN :(\w+)", r"= ANY(:\1)", statement)
        return re.sub(r"(?<!:):(\w+)", r"%(\1)s", statement)
    return re.sub(r"IN :(\w+)", r"IN (SELECT value FROM json_each(:\1))", statement)
