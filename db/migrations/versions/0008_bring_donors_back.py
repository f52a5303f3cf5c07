"""bring donors back: donate again with a drive, busy, waiting list

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 05:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("busy_until", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_person_busy_until"), ["busy_until"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("not_after", db.models.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "waitlist",
        sa.Column("id", BIG, nullable=False),
        sa.Column("person_id", BIG, nullable=False),
        sa.Column("drive_id", BIG, nullable=False),
        sa.Column("slot_id", BIG, nullable=True),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("offered_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["drive_id"], ["drive.id"], name=op.f("fk_waitlist_drive_id_drive"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_waitlist_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["drive_slot.id"],
            name=op.f("fk_waitlist_slot_id_drive_slot"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist")),
        sa.UniqueConstraint("person_id", "drive_id", name=op.f("uq_waitlist_person_id_drive_id")),
    )
    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.create_index("ix_waitlist_drive_status", ["drive_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_waitlist_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waitlist_person_id"))
        batch_op.drop_index("ix_waitlist_drive_status")
    op.drop_table("waitlist")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("not_after")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_busy_until"))
        batch_op.drop_column("busy_until")
