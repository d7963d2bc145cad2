"""notification groups: an owner's notifications of a kind past a few within a window fold into one summary

Revision ID: 0007_notification_groups
Revises: 0006_mqtt
Create Date: 2026-12-06 05:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007_notification_groups'
down_revision = '0006_mqtt'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_groups',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('window_start_ms', sa.BigInteger(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('summary_id', sa.BigInteger(), nullable=True),
    sa.Column('named', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'kind')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grouped_count', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('grouped_count')
    op.drop_table('notification_groups')
