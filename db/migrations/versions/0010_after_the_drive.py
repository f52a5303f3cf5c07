"""after the drive, calls, self-check, certificates

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 05:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("do_not_contact_at", db.models.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("pledge", schema=None) as batch_op:
        batch_op.add_column(sa.Column("missed_reason", sa.String(length=20), nullable=True))
    with op.batch_alter_table("donation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("certificate_path", sa.String(length=300), nullable=True))

    op.create_table(
        "feedback",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("drive_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["drive_id"], ["drive.id"], name=op.f("fk_feedback_drive_id_drive"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_feedback_person_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("person_id", "drive_id", name=op.f("uq_feedback_person_id_drive_id")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_created", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_drive_id"), ["drive_id"], unique=False)

    op.create_table(
        "call_task",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("drive_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "called_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("called_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["called_by_id"],
            ["person.id"],
            name=op.f("fk_call_task_called_by_id_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["drive_id"],
            ["drive.id"],
            name=op.f("fk_call_task_drive_id_drive"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_call_task_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_call_task_unit_id_unit"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_task")),
        sa.UniqueConstraint("source", name=op.f("uq_call_task_source")),
    )
    with op.batch_alter_table("call_task", schema=None) as batch_op:
        batch_op.create_index("ix_call_task_unit_outcome", ["unit_id", "outcome"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_task_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_task_person_id"))
        batch_op.drop_index("ix_call_task_unit_outcome")
    op.drop_table("call_task")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_drive_id"))
        batch_op.drop_index("ix_feedback_created")
    op.drop_table("feedback")
    with op.batch_alter_table("donation", schema=None) as batch_op:
        batch_op.drop_column("certificate_path")
    with op.batch_alter_table("pledge", schema=None) as batch_op:
        batch_op.drop_column("missed_reason")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("do_not_contact_at")
