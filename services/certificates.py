"""A donor's photo of their paper certificate (Giấy chứng nhận hiến máu tình nguyện), kept with
the donation it proves and shown back on request.

Files live under the data directory (`[storage] data_dir`): certificates/<person>/<donation>
.jpg|.png|.webp, written to a temporary name and renamed (a crash leaves no half file), and
checked to be an image of at most `MAX_BYTES`. Files are deleted (a replaced photo; the
person's directory on `/forget`) only once the unit of work that forgets them commits: rolled
back, the record still finds its file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy import select, update

from db.models import Donation, Person
from locales import N_
from services.audit import Actor, record
from services.errors import Conflict, InvalidInput, NotFound
from services.work import Work

MAX_BYTES = 5 * 1024 * 1024
FOLDER = "certificates"
_KINDS = (  # magic bytes -> extension, MIME type
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
)


@dataclass(frozen=True, slots=True)
class Photo:
    filename: str
    content: bytes
    mime_type: str


def image_kind(content: bytes) -> tuple[str, str] | None:
    """(extension, MIME type) of a JPEG, PNG or WebP image; None for anything else."""
    for magic, extension, mime in _KINDS:
        if content.startswith(magic):
            return extension, mime
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp", "image/webp"
    return None


def _root(work: Work) -> Path:
    if work.data_dir is None:
        raise Conflict(N_("Máy chủ chưa được cấu hình nơi lưu ảnh. Bạn báo Ban chỉ đạo giúp nhé."))
    return work.data_dir


async def _own(work: Work, person: Person, donation_id: int) -> Donation:
    donation = await work.session.get(Donation, donation_id)
    if donation is None or donation.person_id != person.id:
        raise NotFound(N_("Không tìm thấy lần hiến máu này."))
    return donation


def _write_atomically(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


async def save(
    work: Work, person: Person, donation_id: int, content: bytes, actor: Actor
) -> Donation:
    """Keep `content` as the certificate of one of the person's donations (replacing one)."""
    donation = await _own(work, person, donation_id)
    if len(content) > MAX_BYTES:
        raise InvalidInput(
            N_("Ảnh lớn quá (tối đa {mb} MB). Bạn chụp lại hoặc gửi ảnh nhỏ hơn nhé."),
            mb=MAX_BYTES // (1024 * 1024),
        )
    kind = image_kind(content)
    if kind is None:
        raise InvalidInput(N_("Mình chỉ nhận ảnh (JPEG, PNG hoặc WebP). Bạn gửi lại ảnh nhé."))
    root = _root(work)
    relative = f"{FOLDER}/{person.id}/{donation.id}.{kind[0]}"
    _write_atomically(root / relative, content)
    if donation.certificate_path and donation.certificate_path != relative:
        replaced = root / donation.certificate_path
        work.after_commit.append(partial(replaced.unlink, missing_ok=True))
    donation.certificate_path = relative
    record(work, actor, "certificate.save", person.id, donation=donation.id)
    return donation


async def photo(work: Work, person: Person, donation_id: int) -> Photo | None:
    """The stored photo of a donation's certificate, or None."""
    donation = await _own(work, person, donation_id)
    if not donation.certificate_path or work.data_dir is None:
        return None
    path = work.data_dir / donation.certificate_path
    try:
        content = path.read_bytes()
    except OSError:
        return None
    kind = image_kind(content) or ("jpg", "image/jpeg")
    name = f"giay-chung-nhan-{donation.donated_on:%Y-%m-%d}.{kind[0]}"
    return Photo(name, content, kind[1])


async def stored(work: Work, person_id: int) -> list[tuple[Donation, str]]:
    """The person's donations with a certificate photo, and its path under the data dir."""
    rows = await work.session.scalars(
        select(Donation)
        .where(Donation.person_id == person_id, Donation.certificate_path.is_not(None))
        .order_by(Donation.donated_on)
    )
    return [(row, row.certificate_path or "") for row in rows]


async def erase(work: Work, person_id: int) -> None:
    """Forget the paths of the person's certificate photos, and delete the files and their
    directory when the unit of work commits."""
    await work.session.execute(
        update(Donation)
        .where(Donation.person_id == person_id, Donation.certificate_path.is_not(None))
        .values(certificate_path=None)
    )
    if work.data_dir is not None:
        folder = work.data_dir / FOLDER / str(person_id)
        # Once the erasure is committed: rolled back, the paths still point at the files.
        work.after_commit.append(partial(shutil.rmtree, folder, ignore_errors=True))
