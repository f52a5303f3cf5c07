"""groups at drives: companions and club blocks

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 05:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "club_block",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("drive_id", BIG_ID, nullable=False),
        sa.Column("slot_id", BIG_ID, nullable=False),
        sa.Column("club_id", BIG_ID, nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("claimed", sa.Integer(), nullable=False),
        sa.Column("created_by_id", BIG_ID, nullable=True),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("released_places", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["club_id"], ["unit.id"], name=op.f("fk_club_block_club_id_unit"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["person.id"],
            name=op.f("fk_club_block_created_by_id_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["drive_id"],
            ["drive.id"],
            name=op.f("fk_club_block_drive_id_drive"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["drive_slot.id"],
            name=op.f("fk_club_block_slot_id_drive_slot"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_club_block")),
        sa.UniqueConstraint("slot_id", "club_id", name=op.f("uq_club_block_slot_id_club_id")),
    )
    with op.batch_alter_table("club_block", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_club_block_drive_id"), ["drive_id"], unique=False)

    with op.batch_alter_table("pledge", schema=None) as batch_op:
        batch_op.add_column(sa.Column("booked_by_id", BIG_ID, nullable=True))
        batch_op.add_column(sa.Column("booked_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("block_id", BIG_ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_pledge_booked_by_id"), ["booked_by_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_pledge_booked_by_id_person"),
            "person",
            ["booked_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_pledge_block_id_club_block"),
            "club_block",
            ["block_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("pledge", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_pledge_block_id_club_block"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_pledge_booked_by_id_person"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_pledge_booked_by_id"))
        batch_op.drop_column("block_id")
        batch_op.drop_column("booked_name")
        batch_op.drop_column("booked_by_id")

    with op.batch_alter_table("club_block", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_club_block_drive_id"))

    op.drop_table("club_block")
