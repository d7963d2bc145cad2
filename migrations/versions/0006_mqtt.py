"""mqtt: each device's token as the MQTT broker hashes it (the broker's accounts are written from the database), its transport

Revision ID: 0006_mqtt
Revises: 0005_ota
Create Date: 2026-12-06 02:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006_mqtt'
down_revision = '0005_ota'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('broker_password', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('transport', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('transport')
        batch_op.drop_column('broker_password')
