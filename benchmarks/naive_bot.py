"""The naive baseline of bench_inbound: a Telegram bot written the way a first PTB bot usually is.

A `ConversationHandler` keeps the registration wizard in memory (lost at a restart, not shared
by two workers), and the handlers call synchronous SQLAlchemy, blocking the event loop while
the database answers. It answers bench_inbound's script with the same buttons and the same
kinds of reads and writes as hienmau-bot (identity, person, consents; drives, slots, pledges),
without the audit trail, the dialogue state in the database or the outbox. Webhook mode only.

    python benchmarks/naive_bot.py --url sqlite:///bench.sqlite3 --token T --base-url URL \\
        --port 8443 --secret S
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, and_, create_engine, func, insert, select
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.models import Consent, Drive, DriveSlot, Identity, Person, Pledge, Unit

(CONSENT, REMIND, CLUB, NAME, PHONE, BIRTH, SEX, BLOOD, UNIT, WEIGHT, REVIEW) = range(11)
BLOODS = ("A+", "B+", "O+", "AB+", "A-", "B-", "O-", "AB-", "unknown")
MENU = (
    ("🩸 Đợt hiến máu sắp tới", "cmd:drives"),
    ("📋 Đợt tôi đã đăng ký", "cmd:mypledges"),
    ("👤 Hồ sơ của tôi", "cmd:profile"),
    ("❓ Trợ giúp", "cmd:help"),
)
HELP = "\n".join(
    [
        "Các lệnh bạn có thể dùng:",
        "/start – bắt đầu, đăng ký hiến máu",
        "/drives – các đợt hiến máu sắp tới",
        "/mypledges – các đợt bạn đã đăng ký",
        "/profile – xem hồ sơ",
        "/cancel – huỷ thao tác đang làm",
    ]
)

db: Engine  # set in main()


def keyboard(*buttons: tuple[str, str], columns: int = 1) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(text, callback_data=data) for text, data in buttons[i : i + columns]]
        for i in range(0, len(buttons), columns)
    ]
    return InlineKeyboardMarkup(rows)


async def say(update: Update, text: str, markup: Any = None) -> None:
    chat = update.effective_chat
    assert chat is not None
    await chat.send_message(html.escape(text), parse_mode=ParseMode.HTML, reply_markup=markup)


async def settle(update: Update) -> str:
    """Answer a pressed button and take its keyboard off; return its data."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_reply_markup(None)
    return query.data or ""


def person_of(user_id: int) -> Any:
    with db.connect() as connection:
        return connection.execute(
            select(Person)
            .join(Identity, Identity.person_id == Person.id)
            .where(Identity.channel == "telegram", Identity.platform_user_id == str(user_id))
        ).first()


def user_id(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


# Registration (the wizard in memory) ----------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    person = person_of(user_id(update))
    if person is not None:
        await say(update, f"Chào mừng {person.full_name} quay lại!", keyboard(*MENU))
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data.clear()
    await say(update, "🩸 Xin chào! Mình là trợ lý tự động của Ban chỉ đạo hiến máu.")
    await say(
        update,
        "Bạn có đồng ý cho lưu thông tin để đăng ký hiến máu không?",
        keyboard(("✅ Tôi đồng ý", "consent:yes"), ("Không, cảm ơn", "consent:no"), columns=2),
    )
    return CONSENT


async def consent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    if await settle(update) != "consent:yes":
        await say(update, "Không sao cả, mình chưa lưu gì về bạn.")
        return ConversationHandler.END
    await say(
        update,
        "Bạn có muốn nhận tin nhắc trước mỗi đợt hiến máu không?",
        keyboard(("Có, nhắc tôi", "remind:yes"), ("Không", "remind:no"), columns=2),
    )
    return REMIND


async def remind(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert context.user_data is not None
    context.user_data["reminders"] = await settle(update) == "remind:yes"
    await say(
        update,
        "Bạn có đồng ý để chủ nhiệm CLB xem hồ sơ của bạn không?",
        keyboard(("Đồng ý", "club:yes"), ("Không", "club:no"), columns=2),
    )
    return CLUB


async def club(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert context.user_data is not None
    context.user_data["club"] = await settle(update) == "club:yes"
    await say(update, "Họ và tên đầy đủ của bạn là gì?")
    return NAME


async def name(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert context.user_data is not None and update.message is not None
    context.user_data["name"] = (update.message.text or "").strip()
    button = KeyboardButton("📱 Chia sẻ số điện thoại", request_contact=True)
    markup = ReplyKeyboardMarkup([[button]], one_time_keyboard=True, resize_keyboard=True)
    await say(update, "Số điện thoại của bạn?", markup)
    return PHONE


async def phone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert context.user_data is not None and update.message is not None
    digits = "".join(c for c in update.message.text or "" if c.isdigit())
    context.user_data["phone"] = "+84" + digits.removeprefix("0")
    await say(update, "Ngày sinh của bạn? (ví dụ: 17/12/1995)")
    return BIRTH


async def birth(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert context.user_data is not None and update.message is not None
    try:
        born = dt.datetime.strptime((update.message.text or "").strip(), "%d/%m/%Y").date()
    except ValueError:
        await say(update, "Mình chưa hiểu ngày sinh này. Ví dụ: 17/12/1995")
        return BIRTH
    context.user_data["birth"] = born
    await say(
        update, "Giới tính của bạn?", keyboard(("Nam", "sex:male"), ("Nữ", "sex:female"), columns=2)
    )
    return SEX


async def sex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert context.user_data is not None
    context.user_data["sex"] = (await settle(update)).partition(":")[2]
    buttons = [(group, f"blood:{group}") for group in BLOODS]
    await say(update, "Nhóm máu của bạn?", keyboard(*buttons, columns=4))
    return BLOOD


async def blood(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert context.user_data is not None
    context.user_data["blood"] = (await settle(update)).partition(":")[2]
    await say(update, "Bạn sinh hoạt ở đơn vị nào? Gõ vài chữ trong tên để tìm.")
    return UNIT


async def unit_search(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None
    words = (update.message.text or "").strip().lower()
    with db.connect() as connection:
        found = connection.execute(
            select(Unit.id, Unit.name).where(Unit.search_name.contains(words)).limit(8)
        ).all()
    buttons = [(unit_name, f"unit:{unit_id}") for unit_id, unit_name in found]
    await say(update, "Chọn đơn vị của bạn:", keyboard(*buttons, ("Bỏ qua", "unit:skip")))
    return UNIT


async def unit_pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert context.user_data is not None
    value = (await settle(update)).partition(":")[2]
    context.user_data["unit"] = None if value == "skip" else int(value)
    await say(update, "Cân nặng của bạn (kg)?", keyboard(("Bỏ qua", "weight:skip")))
    return WEIGHT


async def weight(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await settle(update)
    assert context.user_data is not None
    answers = context.user_data
    await say(
        update,
        f"Vui lòng kiểm tra lại thông tin:\n• Họ tên: {answers['name']}\n"
        f"• Điện thoại: {answers['phone']}\n• Ngày sinh: {answers['birth']:%d/%m/%Y}",
        keyboard(("✅ Lưu", "review:save"), ("Huỷ", "review:cancel")),
    )
    return REVIEW


async def review(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert context.user_data is not None
    if await settle(update) != "review:save":
        await say(update, "Đã huỷ.")
        return ConversationHandler.END
    answers = context.user_data
    now = dt.datetime.now(dt.UTC)
    uid = str(user_id(update))
    with db.begin() as connection:
        person_id = connection.execute(
            insert(Person)
            .values(
                full_name=answers["name"],
                phone=answers["phone"],
                birth_date=answers["birth"],
                birth_year=answers["birth"].year,
                sex=answers["sex"],
                blood_group=answers["blood"],
                unit_id=answers["unit"],
                language="vi",
                status="active",
                confirmed_at=now,
                created_at=now,
                updated_at=now,
            )
            .returning(Person.id)
        ).scalar_one()
        purposes = ["registration"] + ["reminders"] * answers["reminders"]
        connection.execute(
            insert(Consent),
            [
                {
                    "person_id": person_id,
                    "purpose": purpose,
                    "version": "2026-01",
                    "granted_at": now,
                    "channel": "telegram",
                }
                for purpose in purposes
            ],
        )
        changed = connection.execute(
            sa.update(Identity)
            .where(Identity.channel == "telegram", Identity.platform_user_id == uid)
            .values(person_id=person_id, last_seen_at=now)
        ).rowcount
        if not changed:
            connection.execute(
                insert(Identity).values(
                    channel="telegram",
                    platform_user_id=uid,
                    chat_id=uid,
                    person_id=person_id,
                    language="vi",
                    display_name="",
                    created_at=now,
                    last_seen_at=now,
                )
            )
    await say(update, f"🎉 Cảm ơn {answers['name']}! Bạn đã đăng ký thành công.")
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await say(update, "Đã huỷ.", keyboard(*MENU))
    return ConversationHandler.END


# Everything else: handlers that read and write with synchronous SQLAlchemy -------------------


def upcoming() -> list[Any]:
    with db.connect() as connection:
        seats = (
            select(DriveSlot.drive_id, func.sum(DriveSlot.capacity - DriveSlot.taken).label("left"))
            .group_by(DriveSlot.drive_id)
            .subquery()
        )
        return list(
            connection.execute(
                select(Drive.id, Drive.date, Drive.place, seats.c.left)
                .outerjoin(seats, seats.c.drive_id == Drive.id)
                .where(Drive.date >= dt.date.today(), Drive.status.in_(["open", "planned"]))
                .order_by(Drive.date)
                .limit(6)
            ).all()
        )


async def drives(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.callback_query is not None:
        await settle(update)
    rows = upcoming()
    if not rows:
        await say(update, "Hiện chưa có đợt hiến máu nào sắp tới.")
        return
    lines = ["🩸 Các đợt hiến máu sắp tới:", ""] + [
        f"{n}. {row.date:%d/%m/%Y} · {row.place} · còn {row.left} chỗ"
        for n, row in enumerate(rows, start=1)
    ]
    buttons = [(str(n), f"drive:{row.id}") for n, row in enumerate(rows, start=1)]
    await say(update, "\n".join(lines), keyboard(*buttons, columns=3))


def card(drive_id: int, person_id: int | None) -> tuple[str, InlineKeyboardMarkup]:
    with db.connect() as connection:
        drive = connection.execute(select(Drive).where(Drive.id == drive_id)).one()
        slots = connection.execute(
            select(DriveSlot).where(DriveSlot.drive_id == drive_id).order_by(DriveSlot.start_time)
        ).all()
        pledged = connection.execute(
            select(Pledge.slot_id).where(
                Pledge.drive_id == drive_id,
                Pledge.person_id == person_id,
                Pledge.status == "pledged",
            )
        ).first()
    lines = [f"🩸 {drive.title}", f"📅 {drive.date:%d/%m/%Y}", f"📍 {drive.place}", "🕒 Khung giờ:"]
    lines += [
        f"  • {s.start_time:%H:%M}–{s.end_time:%H:%M}: còn {s.capacity - s.taken}/{s.capacity}"
        for s in slots
    ]
    if pledged is not None:
        lines.append("✅ Bạn đã đăng ký tham gia đợt này.")
    buttons = [("✋ Đăng ký hiến máu", f"pledge:{drive_id}"), ("📅 Thêm vào lịch", "ics:0")]
    return "\n".join(lines), keyboard(*buttons, columns=2)


async def drive_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    drive_id = int((await settle(update)).partition(":")[2])
    person = person_of(user_id(update))
    text, markup = card(drive_id, person.id if person is not None else None)
    await say(update, text, markup)


async def pledge_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    drive_id = int((await settle(update)).partition(":")[2])
    with db.connect() as connection:
        slots = connection.execute(
            select(DriveSlot.id, DriveSlot.start_time, DriveSlot.end_time)
            .where(DriveSlot.drive_id == drive_id)
            .order_by(DriveSlot.start_time)
        ).all()
    buttons = [
        (f"{s.start_time:%H:%M}–{s.end_time:%H:%M}", f"slot:{drive_id}:{s.id}") for s in slots
    ]
    await say(update, "Bạn muốn đến khung giờ nào?", keyboard(*buttons))


async def slot_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _prefix, drive_text, slot_text = (await settle(update)).split(":")
    drive_id, slot_id = int(drive_text), int(slot_text)
    person = person_of(user_id(update))
    if person is None:
        await say(update, "Bạn cần đăng ký trước: gõ /start.")
        return
    now = dt.datetime.now(dt.UTC)
    with db.begin() as connection:
        taken = connection.execute(
            sa.update(DriveSlot)
            .where(DriveSlot.id == slot_id, DriveSlot.taken < DriveSlot.capacity)
            .values(taken=DriveSlot.taken + 1)
        ).rowcount
        if not taken:
            text = "Khung giờ này đã kín chỗ."
        else:
            old = connection.execute(
                select(Pledge.id, Pledge.slot_id, Pledge.status).where(
                    Pledge.person_id == person.id, Pledge.drive_id == drive_id
                )
            ).first()
            if old is None:
                connection.execute(
                    insert(Pledge).values(
                        person_id=person.id,
                        drive_id=drive_id,
                        slot_id=slot_id,
                        status="pledged",
                        channel="telegram",
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                if old.status == "pledged" and old.slot_id is not None:
                    connection.execute(
                        sa.update(DriveSlot)
                        .where(DriveSlot.id == old.slot_id)
                        .values(taken=DriveSlot.taken - 1)
                    )
                connection.execute(
                    sa.update(Pledge)
                    .where(Pledge.id == old.id)
                    .values(slot_id=slot_id, status="pledged", updated_at=now)
                )
            text = "✅ Cảm ơn bạn! Mình đã ghi nhận bạn đăng ký hiến máu."
    body, markup = card(drive_id, person.id)
    await say(update, f"{text}\n\n{body}", markup)


async def my_pledges(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.callback_query is not None:
        await settle(update)
    person = person_of(user_id(update))
    with db.connect() as connection:
        rows = connection.execute(
            select(Drive.id, Drive.date, Drive.place)
            .join(Pledge, and_(Pledge.drive_id == Drive.id, Pledge.status == "pledged"))
            .where(Pledge.person_id == (person.id if person is not None else -1))
            .order_by(Drive.date)
        ).all()
    if not rows:
        await say(update, "Bạn chưa đăng ký đợt hiến máu nào.", keyboard(*MENU[:1]))
        return
    lines = ["📋 Các đợt bạn đã đăng ký:", ""] + [
        f"{n}. {row.date:%d/%m/%Y} · {row.place}" for n, row in enumerate(rows, start=1)
    ]
    buttons = [(str(n), f"drive:{row.id}") for n, row in enumerate(rows, start=1)]
    await say(update, "\n".join(lines), keyboard(*buttons, columns=3))


async def profile(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.callback_query is not None:
        await settle(update)
    person = person_of(user_id(update))
    if person is None:
        await say(update, "Bạn chưa đăng ký: gõ /start.")
        return
    await say(
        update,
        f"👤 Hồ sơ của bạn\n• Họ tên: {person.full_name}\n• Điện thoại: {person.phone}\n"
        f"• Nhóm máu: {person.blood_group}",
    )


async def help_(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.callback_query is not None:
        await settle(update)
    await say(update, HELP)


async def unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await say(update, "Mình chưa hiểu lệnh này. Gõ /help để xem các lệnh.", keyboard(*MENU))


def build(token: str, base_url: str) -> Application:  # type: ignore[type-arg]
    root = base_url.rstrip("/").removesuffix("/bot")
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .build()
    )
    text = filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBUserWarning)  # per_message=False with buttons
        wizard = ConversationHandler(
            entry_points=[CommandHandler("start", start)],
            states={
                CONSENT: [CallbackQueryHandler(consent, pattern="^consent:")],
                REMIND: [CallbackQueryHandler(remind, pattern="^remind:")],
                CLUB: [CallbackQueryHandler(club, pattern="^club:")],
                NAME: [MessageHandler(text, name)],
                PHONE: [MessageHandler(text, phone)],
                BIRTH: [MessageHandler(text, birth)],
                SEX: [CallbackQueryHandler(sex, pattern="^sex:")],
                BLOOD: [CallbackQueryHandler(blood, pattern="^blood:")],
                UNIT: [
                    MessageHandler(text, unit_search),
                    CallbackQueryHandler(unit_pick, pattern="^unit:"),
                ],
                WEIGHT: [CallbackQueryHandler(weight, pattern="^weight:")],
                REVIEW: [CallbackQueryHandler(review, pattern="^review:")],
            },
            fallbacks=[CommandHandler("cancel", cancel)],
        )
    app.add_handler(wizard)
    app.add_handler(CommandHandler("drives", drives))
    app.add_handler(CommandHandler("mypledges", my_pledges))
    app.add_handler(CommandHandler("profile", profile))
    app.add_handler(CommandHandler("help", help_))
    app.add_handler(CallbackQueryHandler(drives, pattern="^cmd:drives$"))
    app.add_handler(CallbackQueryHandler(my_pledges, pattern="^cmd:mypledges$"))
    app.add_handler(CallbackQueryHandler(profile, pattern="^cmd:profile$"))
    app.add_handler(CallbackQueryHandler(help_, pattern="^cmd:help$"))
    app.add_handler(CallbackQueryHandler(drive_button, pattern="^drive:"))
    app.add_handler(CallbackQueryHandler(pledge_button, pattern="^pledge:"))
    app.add_handler(CallbackQueryHandler(slot_button, pattern="^slot:"))
    app.add_handler(MessageHandler(filters.TEXT, unknown))
    return app


def main() -> None:
    global db
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="a synchronous SQLAlchemy database URL")
    parser.add_argument("--token", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    db = create_engine(args.url)
    build(args.token, args.base_url).run_webhook(
        listen="127.0.0.1",
        port=args.port,
        url_path="telegram",
        webhook_url="https://bench.invalid/telegram",  # the benchmark posts the updates itself
        secret_token=args.secret,
    )


if __name__ == "__main__":
    main()
