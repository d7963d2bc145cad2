"""hardening: wrong passwords per email (a growing login delay, the owner told)

Revision ID: 0004_hardening
Revises: 0003_fleet_compat
Create Date: 2026-12-06 02:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_hardening'
down_revision = '0003_fleet_compat'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_failures',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failed_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('email')
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_failures_last_failed_ms'), ['last_failed_ms'], unique=False)


def downgrade():
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failures_last_failed_ms'))

    op.drop_table('login_failures')
