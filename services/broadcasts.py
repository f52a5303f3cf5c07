"""Broadcasts: a chair or committee member writes a notice to an audience they are responsible
for, sees how many it reaches, confirms, and it goes out through the outbox. A second press of
"send" finds the same broadcast and sends nothing more."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import func, select

from db.models import Broadcast, Outbox, Person, Pledge, Unit
from locales import N_
from services import analytics, clubs, drives, eligibility, outbox, roles
from services.audit import Actor, record
from services.errors import Conflict, InvalidInput
from services.outbox import Notice
from services.roles import Role
from services.units import descendants
from services.work import Work

TEXT_MAX = 2000  # Zalo's limit for one message; Telegram allows 4,096
REASON_MIN = 5


@dataclass(frozen=True, slots=True)
class Audience:
    club_id: int | None = None
    unit_id: int | None = None
    blood_groups: tuple[str, ...] = ()
    eligible_for_drive: int | None = None  # may donate on that drive's date
    pledged_drive: int | None = None
    not_pledged_drive: int | None = None
    # Lapsed donors (services.analytics.lapsed_condition), computed again at sending time.
    lapsed: bool = False

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["blood_groups"] = list(self.blood_groups)
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Audience:
        values = dict(data)
        groups = values.get("blood_groups") or []
        assert isinstance(groups, list)
        values["blood_groups"] = tuple(str(g) for g in groups)
        return cls(**values)  # type: ignore[arg-type]


async def _check(work: Work, author: Person, audience: Audience) -> Unit:
    if (audience.club_id is None) == (audience.unit_id is None):
        raise InvalidInput(N_("Chọn một câu lạc bộ hoặc một đơn vị để gửi."))
    if audience.club_id is not None:
        return await clubs.get_managed(work, author.id, audience.club_id)
    unit = await work.session.get(Unit, audience.unit_id)
    await roles.check_scope(work, author.id, Role.COMMITTEE, audience.unit_id)
    assert unit is not None
    return unit


async def recipients(work: Work, author: Person, audience: Audience) -> list[int]:
    """Who would get it: active people of the audience who accept notices."""
    await _check(work, author, audience)
    statement = select(Person).where(Person.status == "active")
    if audience.club_id is not None:
        statement = statement.where(Person.id.in_(await clubs.member_ids(work, audience.club_id)))
    else:
        assert audience.unit_id is not None
        units = await descendants(work, audience.unit_id)
        statement = statement.where(Person.unit_id.in_(sorted(units)))
    if audience.blood_groups:
        statement = statement.where(Person.blood_group.in_(audience.blood_groups))
    if audience.lapsed:
        statement = statement.where(analytics.lapsed_condition(work.today()))
    for drive_id, want in ((audience.pledged_drive, True), (audience.not_pledged_drive, False)):
        if drive_id is not None:
            pledged = select(Pledge.person_id).where(
                Pledge.drive_id == drive_id, Pledge.status == "pledged"
            )
            statement = statement.where(
                Person.id.in_(pledged) if want else Person.id.not_in(pledged)
            )
    people = list(await work.session.scalars(statement.order_by(Person.id)))
    if audience.eligible_for_drive is not None:
        drive = await drives.get(work, audience.eligible_for_drive)
        people = [p for p in people if eligibility.on(p, drive.date, work.rules).eligible]
    agreed = await outbox.consenting({p.id for p in people}, work)
    return [p.id for p in people if p.id in agreed]


def check_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput(N_("Bạn chưa viết nội dung thông báo."))
    if len(text) > TEXT_MAX:
        raise InvalidInput(
            N_("Thông báo dài {length} ký tự; tối đa {max}. Bạn rút gọn giúp mình nhé."),
            length=len(text),
            max=TEXT_MAX,
        )
    return text


async def send(
    work: Work,
    author: Person,
    text: str,
    audience: Audience,
    actor: Actor,
    request_key: str,
    *,
    urgent: bool = False,
    reason: str | None = None,
) -> tuple[Broadcast, bool]:
    """Queue the notice for everyone in the audience (and the club's linked group chats).
    Returns the broadcast and whether it is new (False: this request was already sent)."""
    existing = await work.session.scalar(
        select(Broadcast).where(Broadcast.request_key == request_key)
    )
    if existing is not None:
        return existing, False
    text = check_text(text)
    target = await _check(work, author, audience)
    if urgent:
        if target.club_kind not in clubs.URGENT_KINDS:
            raise InvalidInput(
                N_("Chỉ CLB dự bị và CLB nhóm máu hiếm Rh(-) mới được gọi khẩn (gửi cả giờ nghỉ).")
            )
        if not reason or len(reason.strip()) < REASON_MIN:
            raise InvalidInput(N_("Gọi khẩn cần ghi rõ lý do (ví dụ: bệnh nhân cần máu O Rh-)."))
    people = await recipients(work, author, audience)
    groups = await clubs.group_identities(work, audience.club_id) if audience.club_id else []
    if not people and not groups:
        raise Conflict(N_("Không có ai trong nhóm người nhận này. Bạn chọn nhóm khác nhé."))
    broadcast = Broadcast(
        author_id=author.id,
        unit_id=target.id,
        text=text,
        audience=audience.to_json(),
        urgent=urgent,
        reason=reason.strip() if reason else None,
        request_key=request_key,
        created_at=work.now(),
    )
    work.session.add(broadcast)
    await work.session.flush()
    capped_before = work.skipped["cap"]
    queued = await outbox.enqueue_many(
        work,
        [
            Notice(
                person_id,
                "notice",
                {"broadcast_id": broadcast.id},
                f"broadcast:{broadcast.id}:{person_id}",
                urgent=urgent,
                broadcast_id=broadcast.id,
            )
            for person_id in people
        ],
    )
    now = work.now()
    for identity_id in groups:
        work.session.add(
            Outbox(
                identity_id=identity_id,
                person_id=None,
                key="notice",
                params={"broadcast_id": broadcast.id},
                urgent=urgent,
                due_at=now,
                dedup_key=f"broadcast:{broadcast.id}:group:{identity_id}",
                status="pending",
                attempts=0,
                created_at=now,
                broadcast_id=broadcast.id,
            )
        )
    broadcast.recipients = queued + len(groups)
    # A non-urgent notice is an appeal: people who had theirs for the month are left out.
    broadcast.capped = work.skipped["cap"] - capped_before
    record(
        work,
        actor,
        "broadcast.send",
        None,
        broadcast=broadcast.id,
        recipients=broadcast.recipients,
        capped=broadcast.capped,
        urgent=urgent,
        reason=broadcast.reason,
    )
    return broadcast, True


@dataclass(frozen=True, slots=True)
class Delivery:
    broadcast: Broadcast
    sent: int
    pending: int
    blocked: int
    failed: int


async def deliveries(work: Work, author: Person, limit: int = 10) -> list[Delivery]:
    rows = list(
        await work.session.scalars(
            select(Broadcast)
            .where(Broadcast.author_id == author.id)
            .order_by(Broadcast.id.desc())
            .limit(limit)
        )
    )
    result = []
    for broadcast in rows:
        counts = dict(
            (
                await work.session.execute(
                    select(Outbox.status, func.count(Outbox.id))
                    .where(Outbox.broadcast_id == broadcast.id)
                    .group_by(Outbox.status)
                )
            ).all()
        )
        result.append(
            Delivery(
                broadcast,
                counts.get("sent", 0),
                counts.get("pending", 0),
                counts.get("dropped", 0),
                counts.get("failed", 0),
            )
        )
    return result


async def text_of(work: Work, broadcast_id: int) -> tuple[str, str | None] | None:
    """The notice's text and the name of who it is from (rendered at sending time)."""
    row = (
        await work.session.execute(
            select(Broadcast.text, Unit.name)
            .outerjoin(Unit, Unit.id == Broadcast.unit_id)
            .where(Broadcast.id == broadcast_id)
        )
    ).first()
    return (row[0], row[1]) if row else None
