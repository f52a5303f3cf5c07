"""The console channel: a chat in the terminal, or driven by a piped script (stdin not a TTY).

Choices are drawn as a numbered menu; typing the number presses the button. Attachments are
saved next to the working directory and their path is shown. `/photo PATH` sends a picture.
"""

from __future__ import annotations

import asyncio
import mimetypes
import sys
from pathlib import Path
from typing import TextIO

from handlers.messages import Attachment, Button, Deliver, Dispatch, Inbound, InboundKind, Reply

CHANNEL = "console"


def render(reply: Reply, saved: Path | None = None) -> str:
    lines = [reply.text]
    choices = reply.choices
    for number, button in enumerate(choices, start=1):
        lines.append(f"  {number}. {button.label}")
    if saved is not None:
        lines.append(f"📎 {saved}")
    return "\n".join(lines)


def photo_attachment(path_text: str) -> Attachment | None:
    """`/photo PATH`: the picture at PATH, as a chat platform would hand it over."""
    path = Path(path_text.strip()).expanduser()
    try:
        content = path.read_bytes()
    except OSError:
        return None
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Attachment(path.name, content, mime)


def to_inbound(line: str, user_id: str, menu: tuple[Button, ...], language: str | None) -> Inbound:
    text = line.strip()
    attachment = None
    if text.startswith("/photo ") or text == "/photo":  # sends a picture (demos and tests)
        kind, payload = InboundKind.PHOTO, ""
        attachment = photo_attachment(text[len("/photo") :])
    elif text.startswith("/"):
        kind, payload = InboundKind.COMMAND, text
    elif text.isdigit() and 1 <= int(text) <= len(menu):
        kind, payload = InboundKind.BUTTON, menu[int(text) - 1].payload
    else:
        kind, payload = InboundKind.TEXT, text
    return Inbound(
        channel=CHANNEL,
        user_id=user_id,
        chat_id=user_id,
        kind=kind,
        payload=payload,
        language=language,
        display_name=user_id,
        attachment=attachment,
    )


class ConsoleChat:
    def __init__(
        self,
        dispatch: Dispatch,
        user_id: str,
        out: TextIO = sys.stdout,
        files_dir: Path | None = None,
        language: str | None = None,
    ) -> None:
        self.dispatch = dispatch
        self.user_id = user_id
        self.out = out
        self.files_dir = files_dir or Path.cwd()
        self.language = language
        self.menu: tuple[Button, ...] = ()

    async def say(self, line: str) -> list[Reply]:
        """Send one line as the user; print and return the bot's replies."""
        replies = await self.dispatch(to_inbound(line, self.user_id, self.menu, self.language))
        for reply in replies:
            saved = self._save(reply)
            print(render(reply, saved), file=self.out, end="\n\n", flush=True)
        menus = [r.choices for r in replies if r.choices]
        self.menu = menus[-1] if menus else ()
        return replies

    def _save(self, reply: Reply) -> Path | None:
        if reply.attachment is None:
            return None
        target = self.files_dir / reply.attachment.filename
        target.write_bytes(reply.attachment.content)
        return target

    async def run(self, stdin: TextIO = sys.stdin, first: str | None = None) -> None:
        """Read lines until end of input or /quit."""
        interactive = stdin.isatty()
        if first is not None:
            await self.say(first)
        while True:
            if interactive:
                print("> ", end="", file=self.out, flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            if line.strip() in {"/quit", "/exit"}:
                break
            if not line.strip():
                continue
            if not interactive:
                print(f"> {line.rstrip()}", file=self.out, flush=True)
            await self.say(line)


def printer(out: TextIO = sys.stdout) -> Deliver:
    """Deliver outbox messages to console chats by printing them (demos, `jobs tick`)."""

    async def deliver(chat_id: str, replies: list[Reply]) -> None:
        for reply in replies:
            print(f"[→ {chat_id}] {render(reply)}", file=out, end="\n\n", flush=True)

    return deliver
