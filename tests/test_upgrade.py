"""An installation made at the first migration, with data in every table, upgraded to the newest:
nothing is lost, and what was there keeps working (docs/DEPLOYMENT.md, "Upgrades")."""
import flask_migrate
import pytest
import sqlalchemy as sa

from tests import databases
from tests.conftest import settings_for_tests
from webapp import create_app
from webapp.core import tokens
from webapp.extensions import db
from webapp.services.ingest.writer import ingest_writer

FIRST_REVISION = "0001"
ROWS_PER_TABLE = 3
NOW_MS = 1_796_000_000_000
DEVICE_TOKEN = "token-of-a-device-made-before-the-upgrade"
OLD_DEVICE_ID = "0123456789abcdef01234567"


def value_for(column, table, row):
    """A value of the column's type, different in every row (unique columns stay unique)."""
    if isinstance(column.type, sa.Boolean):
        return row % 2 == 0
    if isinstance(column.type, sa.BigInteger) and column.name.endswith("_ms"):
        return NOW_MS + row
    if isinstance(column.type, sa.Integer):
        return row + 1
    if isinstance(column.type, sa.Float):
        return row + 0.5
    if isinstance(column.type, sa.String) and column.type.length:
        return f"{table.name[:6]}{column.name[:6]}{row}"[: column.type.length]
    return f'{{"row": {row}}}'


def fill_every_table(connection):
    """ROWS_PER_TABLE rows in every table of the schema as it is now, parents before children."""
    metadata = sa.MetaData()
    metadata.reflect(connection)
    filled = {}
    for table in metadata.sorted_tables:
        if table.name == "alembic_version":
            continue
        rows = []
        for row in range(ROWS_PER_TABLE):
            values = {}
            for column in table.columns:
                references = list(column.foreign_keys)
                if references:
                    parent = references[0].column
                    values[column.name] = filled[parent.table.name][row][parent.name]
                else:
                    values[column.name] = value_for(column, table, row)
            rows.append(values)
        connection.execute(table.insert(), rows)
        filled[table.name] = rows
    return filled


def rows_of(connection, table_name, columns):
    table = sa.Table(table_name, sa.MetaData(), autoload_with=connection)
    return sorted(tuple(row) for row in connection.execute(sa.select(*(table.c[name] for name in columns))))


@pytest.fixture
def old_installation(tmp_path):
    url = databases.create_database(tmp_path)
    app = create_app(settings_for_tests(url) | {"TESTING": True})
    yield app
    app.extensions["broker"].close()
    with app.app_context():
        db.engine.dispose()
    databases.drop_database(url)


def test_upgrading_from_the_first_migration_keeps_every_row_and_the_devices_working(old_installation):
    app = old_installation
    with app.app_context():
        flask_migrate.upgrade(revision=FIRST_REVISION)
        with db.engine.begin() as connection:
            filled = fill_every_table(connection)
            # A device as the first release made it, with a token a real device still has, and no rules.
            old_board = {
                **filled["devices"][0],
                "id": OLD_DEVICE_ID, "name": "Old board", "token_hash": tokens.hash_token(DEVICE_TOKEN), "status": "offline", "disabled": False,
            }
            connection.execute(sa.Table("devices", sa.MetaData(), autoload_with=connection).insert(), [old_board])
            filled["devices"].append(old_board)
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            kept = {name: rows_of(connection, name, list(rows[0])) for name, rows in filled.items()}
        db.session.remove()
    posted = app.test_client().post(f"/devices/{OLD_DEVICE_ID}/telemetry", json={"device_token": DEVICE_TOKEN, "data": {"v0": 1}})
    ingest_writer(app).drain()

    assert kept.keys() == filled.keys() and len(filled) >= 10
    for name, rows in filled.items():
        assert kept[name] == sorted(tuple(row.values()) for row in rows), name
    assert posted.status_code == 200
