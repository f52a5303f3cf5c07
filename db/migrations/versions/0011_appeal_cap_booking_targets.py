"""appeal cap, booking targets, drive-day notices

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 05:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drive", schema=None) as batch_op:
        batch_op.add_column(sa.Column("show_up_factor", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("day_notice_at", db.models.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.add_column(sa.Column("capped", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.drop_column("capped")
    with op.batch_alter_table("drive", schema=None) as batch_op:
        batch_op.drop_column("day_notice_at")
        batch_op.drop_column("show_up_factor")
