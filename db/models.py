"""SQLAlchemy 2 models. Times are stored in UTC (timezone-aware on both SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# JSON on SQLite, JSONB-compatible JSON on PostgreSQL.
JSONDict = JSON().with_variant(JSON(none_as_null=True), "postgresql")
# Integer primary keys that are 64-bit on PostgreSQL and ROWID aliases on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Unit(Base):
    """A province, legacy district, commune, organisation or club, in one tree."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    # Lower-case name without diacritics, for search by typed words ("tam duong").
    search_name: Mapped[str] = mapped_column(String(200), index=True)
    # Clubs: regular / reserve (dự bị) / rh_negative / platelet / family.
    club_kind: Mapped[str | None] = mapped_column(String(20))

    parent: Mapped[Unit | None] = relationship(remote_side=[id])


class Person(Base):
    """A donor (or a volunteer, chair, committee member: everyone is a person)."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    full_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)  # E.164
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(10))  # male / female
    blood_group: Mapped[str] = mapped_column(String(8), default="unknown")  # A+, O-, ..., unknown
    weight_kg: Mapped[float | None] = mapped_column(Numeric(5, 1, asdecimal=False))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    language: Mapped[str] = mapped_column(String(5), default="vi")
    status: Mapped[str] = mapped_column(String(20), default="active")
    # Who typed the record in: NULL when the donor registered themself.
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # When the donor confirmed the record (self-registration confirms at once).
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The first day the person may donate again (latest donation + interval, or a deferral's
    # end), kept in step by the transaction that records either. NULL: no known constraint.
    next_eligible_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    # The channel reminders go to ("telegram", "zalo"); NULL: the one the person used last.
    preferred_channel: Mapped[str | None] = mapped_column(String(20))
    # A volunteer marked "do not contact" after a call (issue 11, 0010): no notice goes to
    # them (services.appeals.screen) until a volunteer undoes it; the person may still write.
    do_not_contact_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Appeals paused until this day, inclusive (/busy: exams, travel, illness); no reason kept.
    busy_until: Mapped[dt.date | None] = mapped_column(Date, index=True)

    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])


class Consent(Base):
    """One purpose a person agreed to, with the text version and time; withdrawal keeps the row."""

    __tablename__ = "consent"
    __table_args__ = (Index("ix_consent_person_purpose", "person_id", "purpose"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(30))  # registration / reminders / club_sharing
    version: Mapped[str] = mapped_column(String(20))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The volunteer who said the person agreed; NULL when the donor said it.
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    channel: Mapped[str] = mapped_column(String(20))


class Identity(Base):
    """A chat account on one channel, linked to a person once they register."""

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("channel", "platform_user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    platform_user_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    language: Mapped[str] = mapped_column(String(5), default="vi")
    display_name: Mapped[str] = mapped_column(String(200), default="")
    unreachable_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class DialogueState(Base):
    """The wizard a chat is in: flow, step and answers so far (survives restarts)."""

    __tablename__ = "dialogue_state"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flow: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(40))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONDict, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class HandledUpdate(Base):
    """A platform update already handled: Telegram's update_id, Zalo's message_id. Written in
    the transaction that handles the update, so an update delivered again (a webhook retry, a
    load balancer trying another worker) is handled once. Rows go after a few days
    (`services.updates.prune`): platforms redeliver within minutes."""

    __tablename__ = "handled_update"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    update_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    handled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class ChatMenu(Base):
    """The numbered choices a chat without buttons (Zalo) was shown last, as [label, payload]
    pairs: a typed "2" picks the second. Stored, so a restart or a message sent by another
    process (`jobs tick`) still gives the number its meaning."""

    __tablename__ = "chat_menu"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    buttons: Mapped[list[list[str]]] = mapped_column(JSONDict, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RoleGrant(Base):
    __tablename__ = "role_grant"
    __table_args__ = (Index("ix_role_grant_person_role", "person_id", "role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))  # volunteer / club_chair / committee / admin
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Drive(Base):
    """A blood drive (đợt hiến máu): from an annual plan row or created by a committee in chat."""

    __tablename__ = "drive"
    __table_args__ = (UniqueConstraint("plan_year", "plan_no", "date", "place"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_year: Mapped[int | None] = mapped_column(Integer)
    plan_no: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    campaign: Mapped[str | None] = mapped_column(String(300))
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    date_is_month_only: Mapped[bool] = mapped_column(default=False)
    start_time: Mapped[dt.time | None] = mapped_column(Time)
    end_time: Mapped[dt.time | None] = mapped_column(Time)
    place: Mapped[str] = mapped_column(String(300))
    map_url: Mapped[str | None] = mapped_column(String(500))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    organiser: Mapped[str | None] = mapped_column(Text)
    receiving_institution: Mapped[str | None] = mapped_column(String(300))
    target_units: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="planned")  # open, done, cancelled
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    # Where it came from: "plan:<file name>:<row>" or "chat".
    source: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Pledges wanted per unit of target, set by the committee; None: learned from the unit's
    # past drives, else [rules] show_up_factor (services.booking).
    show_up_factor: Mapped[float | None] = mapped_column(Float)
    # The last drive-day notice to its pledged donors: at most one per 30 minutes (drive_day).
    day_notice_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    slots: Mapped[list[DriveSlot]] = relationship(
        order_by="DriveSlot.start_time", cascade="all, delete-orphan", lazy="selectin"
    )


class DriveSlot(Base):
    """A time slot of a drive with its capacity; `taken` counts live pledges (kept in step)."""

    __tablename__ = "drive_slot"
    __table_args__ = (UniqueConstraint("drive_id", "start_time"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    drive_id: Mapped[int] = mapped_column(ForeignKey("drive.id", ondelete="CASCADE"))
    start_time: Mapped[dt.time] = mapped_column(Time)
    end_time: Mapped[dt.time] = mapped_column(Time)
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)


class Pledge(Base):
    """A donor's promise to come to a drive (one row per person and drive, re-used on re-pledge)."""

    __tablename__ = "pledge"
    __table_args__ = (
        UniqueConstraint("person_id", "drive_id"),
        Index("ix_pledge_drive_status", "drive_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    drive_id: Mapped[int] = mapped_column(ForeignKey("drive.id", ondelete="CASCADE"))
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("drive_slot.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20))  # pledged / cancelled / attended / no_show
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )
    # Why a pledged donor did not come, as they told the "we missed you" message (0010):
    # forgot / sick / busy / deferred. A reason code only.
    missed_reason: Mapped[str | None] = mapped_column(String(20))
    # Issue 13 (0009): the donor who booked this place for a companion ("tôi và 2 người
    # nữa"); NULL when the person pledged themself.
    booked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    # The companion's name as the booking donor typed it: what the donor is shown, never the
    # record of someone already on file.
    booked_name: Mapped[str | None] = mapped_column(String(100))
    # The club block this place was claimed from, while the block holds it (0009).
    block_id: Mapped[int | None] = mapped_column(ForeignKey("club_block.id", ondelete="SET NULL"))


class Donation(Base):
    """A donation: recorded by a volunteer at a drive (verified) or told by the donor."""

    __tablename__ = "donation"
    __table_args__ = (
        Index("ix_donation_person_date", "person_id", "donated_on"),
        # The analytics read donations by date first (a year, a month): issue 10, 0007.
        Index("ix_donation_date_person", "donated_on", "person_id", "kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    donated_on: Mapped[dt.date] = mapped_column(Date)
    drive_id: Mapped[int | None] = mapped_column(ForeignKey("drive.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))  # whole_blood / platelets / plasma
    volume_ml: Mapped[int | None] = mapped_column(Integer)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    verified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The donor's photo of their paper certificate, relative to the data directory (0010).
    certificate_path: Mapped[str | None] = mapped_column(String(300))


class Deferral(Base):
    """A temporary deferral: the end date and a reason code, never medical details."""

    __tablename__ = "deferral"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    until: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(30))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Outbox(Base):
    """A message to someone other than the sender, written in the transaction that caused it.

    The scheduler's sender delivers it; `dedup_key` makes writing the same notice twice a no-op.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "due_at"),
        # The reminder funnel reads a kind's rows by creation time (0007).
        Index("ix_outbox_key_created", "key", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(40))  # a notice kind: drive_cancelled, reminder ...
    params: Mapped[dict[str, Any]] = mapped_column(JSONDict, default=dict)
    body: Mapped[str | None] = mapped_column(Text)  # pre-rendered text, when there is one
    urgent: Mapped[bool] = mapped_column(default=False)  # ignores quiet hours
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # sent, failed, dropped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcast.id", ondelete="SET NULL"), index=True
    )
    # Not sent at or after this moment: the row waits for the same hours of the next day
    # (appeals go out in the evening window only, even when the sender was down).
    not_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Audit(Base):
    """Who read or changed whose data, when. Details never hold the personal data itself."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )
    actor: Mapped[str] = mapped_column(String(100))  # "telegram:12345", "cli", "system"
    action: Mapped[str] = mapped_column(String(40))
    subject_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    details: Mapped[dict[str, Any]] = mapped_column(JSONDict, default=dict)


class Quota(Base):
    """A unit's quota (chỉ tiêu) in units of blood for a year, or its share of one drive with
    the slot its people arrive in. `months`: the months it is expected to collect in (1-12)."""

    __tablename__ = "quota"
    __table_args__ = (
        UniqueConstraint("unit_id", "year", "drive_id"),
        # A unique constraint lets NULLs repeat: a unit's yearly quota (no drive) is kept
        # unique by this partial index, on SQLite and PostgreSQL alike.
        Index(
            "uq_quota_unit_year_yearly",
            "unit_id",
            "year",
            unique=True,
            sqlite_where=text("drive_id IS NULL"),
            postgresql_where=text("drive_id IS NULL"),
        ),
        Index("ix_quota_year_drive", "year", "drive_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    target_units: Mapped[int] = mapped_column(Integer)
    months: Mapped[list[int]] = mapped_column(JSONDict, default=list)
    drive_id: Mapped[int | None] = mapped_column(
        ForeignKey("drive.id", ondelete="CASCADE"), index=True
    )
    slot_start: Mapped[dt.time | None] = mapped_column(Time)
    slot_end: Mapped[dt.time | None] = mapped_column(Time)
    notes: Mapped[str | None] = mapped_column(Text)
    # Where it came from: "<file name>:<row>" or "chat".
    source: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Invite(Base):
    """A one-time (role) or shared (club) invitation behind a `/start inv_<token>` deep link.

    Only a hash of the token is stored: a leaked database gives no usable links.
    """

    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # role / club
    role: Mapped[str | None] = mapped_column(String(20))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    max_uses: Mapped[int | None] = mapped_column(Integer)  # None: until it expires
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ClubMember(Base):
    __tablename__ = "club_member"
    __table_args__ = (UniqueConstraint("club_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))


class ClubChat(Base):
    """A club's group chat: notices to the club also post there."""

    __tablename__ = "club_chat"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    club_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200), default="")
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    linked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ClubBlock(Base):
    """Places of one slot a club reserves for its members (issue 13, 0009). The slot's `taken`
    counts all `places` from the reservation on; a member's claim turns one into a pledge
    (`claimed` + 1, `taken` unchanged). At the release (`[rules] block_release_days` before
    the drive) the unclaimed places go back to the slot and `released_places` says how many."""

    __tablename__ = "club_block"
    __table_args__ = (UniqueConstraint("slot_id", "club_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    drive_id: Mapped[int] = mapped_column(ForeignKey("drive.id", ondelete="CASCADE"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("drive_slot.id", ondelete="CASCADE"))
    club_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))
    places: Mapped[int] = mapped_column(Integer)
    claimed: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_places: Mapped[int | None] = mapped_column(Integer)


class Broadcast(Base):
    """A notice written by a chair or committee member to an audience, sent through the outbox."""

    __tablename__ = "broadcast"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    audience: Mapped[dict[str, Any]] = mapped_column(JSONDict, default=dict)
    urgent: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(String(300))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    # People left out because they had their appeals of the last 30 days (services.appeals).
    capped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The dialogue that confirmed it: a second press of "send" finds it and sends nothing.
    request_key: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CampaignShare(Base):
    """A committee's campaign share of a unit's yearly plan: months `first_month` to
    `last_month` of the reporting year (12 is the December that opens it) carry
    `share_percent` of the unit's quota (Thái Nguyên: January-March 20%, April 10% ...)."""

    __tablename__ = "campaign_share"
    __table_args__ = (UniqueConstraint("unit_id", "year", "first_month"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    first_month: Mapped[int] = mapped_column(Integer)
    last_month: Mapped[int] = mapped_column(Integer)
    share_percent: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Waitlist(Base):
    """A donor waiting for a place at a full drive (or one slot of it). When a place frees,
    the first waiting person is offered it; an offer expires and passes to the next."""

    __tablename__ = "waitlist"
    __table_args__ = (
        UniqueConstraint("person_id", "drive_id"),
        Index("ix_waitlist_drive_status", "drive_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    drive_id: Mapped[int] = mapped_column(ForeignKey("drive.id", ondelete="CASCADE"))
    # The slot waited for (NULL: any slot); once offered, the slot offered.
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("drive_slot.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    offered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # waiting / offered / pledged / expired / left / closed
    status: Mapped[str] = mapped_column(String(20), default="waiting")


class Feedback(Base):
    """How a donor found a drive (1-5) and an optional comment, asked the day after. `/forget`
    keeps the score (anonymous, for the tally) and removes the person and the comment."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("person_id", "drive_id"),
        Index("ix_feedback_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    drive_id: Mapped[int] = mapped_column(ForeignKey("drive.id", ondelete="CASCADE"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CallTask(Base):
    """A donor for a club's volunteers to call: two appeals ignored in a row, or a pledged
    drive missed. `source` (unique) names what put them there, so planning twice adds nothing.
    Outcomes: reached / no_answer / call_back / do_not_contact (NULL: not called yet)."""

    __tablename__ = "call_task"
    __table_args__ = (Index("ix_call_task_unit_outcome", "unit_id", "outcome"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(30))  # ignored_two_appeals / no_show
    drive_id: Mapped[int | None] = mapped_column(ForeignKey("drive.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    called_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    called_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
