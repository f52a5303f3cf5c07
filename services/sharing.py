"""Things a donor takes away from a drive card: a calendar file and a QR code of the link."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

import icalendar
import qrcode
from qrcode.image.pure import PyPNGImage

from db.models import Drive, DriveSlot

DEFAULT_START, DEFAULT_HOURS = dt.time(7, 0), 4  # when a plan gives no time
ALARM_BEFORE = dt.timedelta(hours=12)  # the evening before a morning drive


def drive_payload(drive_id: int) -> str:
    """The deep-link payload of a drive (`/start drive_12`): A-Za-z0-9_- and at most 64 chars."""
    return f"drive_{drive_id}"


def ics(
    drive: Drive,
    slot: DriveSlot | None,
    timezone: zoneinfo.ZoneInfo,
    *,
    description: str = "",
    alarm_text: str = "",
    now: dt.datetime | None = None,
) -> bytes:
    """An iCalendar file with one event (the chosen slot, else the drive's hours) and an alarm.

    A month-only plan date has no day to put in a calendar: callers do not offer it then.
    """
    start_time = slot.start_time if slot else drive.start_time or DEFAULT_START
    if slot is not None:
        end_time = slot.end_time
    elif drive.end_time is not None:
        end_time = drive.end_time
    else:
        end_time = (
            dt.datetime.combine(drive.date, start_time) + dt.timedelta(hours=DEFAULT_HOURS)
        ).time()
    start = dt.datetime.combine(drive.date, start_time, tzinfo=timezone)
    end = dt.datetime.combine(drive.date, end_time, tzinfo=timezone)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//hienmau-bot//drives//VI")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"drive-{drive.id}@hienmau-bot")
    event.add("dtstamp", now or dt.datetime.now(dt.UTC))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", drive.title)
    event.add("location", drive.place)
    if description:
        event.add("description", description)
    if drive.map_url:
        event.add("url", drive.map_url)
    if drive.latitude is not None and drive.longitude is not None:
        event.add("geo", (drive.latitude, drive.longitude))
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", alarm_text or drive.title)
    alarm.add("trigger", -ALARM_BEFORE)
    event.add_component(alarm)
    calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data


def qr_png(text: str) -> bytes:
    """A QR code of `text` as PNG bytes (pure Python: no imaging library needed)."""
    image = qrcode.make(text, image_factory=PyPNGImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    png: bytes = buffer.getvalue()
    return png
