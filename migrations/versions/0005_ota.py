"""over-the-air updates: firmware images, rollouts, updates per device

Revision ID: 0005_ota
Revises: 0004_hardening
Create Date: 2026-12-06 02:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005_ota'
down_revision = '0004_hardening'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('firmware_images',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('owner_id', BIG_ID, nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('firmware_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_firmware_images_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_firmware_images_sha256'), ['sha256'], unique=False)

    op.create_table('rollouts',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('owner_id', BIG_ID, nullable=False),
    sa.Column('firmware_id', BIG_ID, nullable=False),
    sa.Column('stage_percent', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['firmware_id'], ['firmware_images.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rollouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rollouts_owner_id'), ['owner_id'], unique=False)

    op.create_table('ota_updates',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('device_id', sa.String(length=24), nullable=False),
    sa.Column('firmware_id', BIG_ID, nullable=False),
    sa.Column('rollout_id', BIG_ID, nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('received', sa.BigInteger(), nullable=False),
    sa.Column('from_version', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['firmware_id'], ['firmware_images.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rollout_id'], ['rollouts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ota_updates', schema=None) as batch_op:
        batch_op.create_index('ix_ota_updates_device_id_id', ['device_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ota_updates_rollout_id'), ['rollout_id'], unique=False)
        batch_op.create_index('ix_ota_updates_status', ['status'], unique=False)


def downgrade():
    op.drop_table('ota_updates')
    op.drop_table('rollouts')
    op.drop_table('firmware_images')
