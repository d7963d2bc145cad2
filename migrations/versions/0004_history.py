"""history: readings laid out for history reads; the schedule of the retention prune

Measured with bench/history_bench.py (bench/README.md): the index on ts_ms
alone led PostgreSQL to scan every device's readings of a window and filter;
reading a key's window through the primary key but fetching each row from a
table laid out in arrival order cost one page per reading when cold. So:
SQLite keeps readings in primary-key order (WITHOUT ROWID), PostgreSQL's
primary key carries num and value (index-only reads), and ix_readings_ts_ms
goes (the prune walks the primary key per device and key).

Revision ID: 0004_history
Revises: 0003_webhooks
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_history"
down_revision = "0003_webhooks"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_readings_ts_ms", table_name="readings")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE readings DROP CONSTRAINT readings_pkey, "
            "ADD CONSTRAINT readings_pkey PRIMARY KEY (device_id, key, ts_ms) INCLUDE (num, value)"
        )
    else:
        # SQLite cannot change a table's layout in place: copy it into a WITHOUT ROWID one.
        with op.batch_alter_table("readings", recreate="always", table_kwargs={"sqlite_with_rowid": False}):
            pass

    op.create_table(
        "scheduled_jobs",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("due_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade():
    op.drop_table("scheduled_jobs")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE readings DROP CONSTRAINT readings_pkey, "
            "ADD CONSTRAINT readings_pkey PRIMARY KEY (device_id, key, ts_ms)"
        )
    else:
        with op.batch_alter_table("readings", recreate="always", table_kwargs={"sqlite_with_rowid": True}):
            pass
    op.create_index("ix_readings_ts_ms", "readings", ["ts_ms"], unique=False)
