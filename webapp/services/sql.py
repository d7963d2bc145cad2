"""The SQL that differs between SQLite and PostgreSQL, in one place."""
from sqlalchemy.dialects import postgresql, sqlite

from webapp.extensions import db


def insert(table):
    """An INSERT that supports `on_conflict_do_update` / `on_conflict_do_nothing` on either database."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
