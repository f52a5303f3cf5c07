"""Wizards: a flow is an ordered set of steps; each step asks a question and takes an answer.

State (flow, step, answers) lives in the database, so a restart resumes at the same step.
An invalid answer raises `InvalidInput`: the person gets the reason and the same question again,
and nothing is stored. Buttons carry `step:value`, so a press on an old keyboard is recognised.
Typed answers are matched to a step's buttons by number ("2") or by their words ("nữ").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from handlers.context import Ctx
from handlers.messages import Button, InboundKind, Reply
from locales import _
from services import dialogue
from services.errors import DomainError
from services.validation import fold

Ask = Callable[[Ctx], Awaitable[Reply]]
# An answer handler returns None (go on to the next step in order), the name of a step to go
# to, or the final replies (the flow is over and its state is cleared).
Outcome = str | list[Reply] | None
Answer = Callable[[Ctx, str], Awaitable[Outcome]]


@dataclass(frozen=True, slots=True)
class Step:
    ask: Ask
    answer: Answer
    # The step takes a photo or file (`ctx.inbound.attachment`; the value is then "").
    files: bool = False


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    steps: dict[str, Step]
    order: tuple[str, ...]
    # Called when the last step in `order` returns None.
    finish: Callable[[Ctx], Awaitable[list[Reply]]] | None = None
    # Commands that keep working inside this flow (besides /cancel, /help, /language).
    allowed_commands: frozenset[str] = field(default_factory=frozenset)


def choice(step: str, value: str, label: str) -> Button:
    payload = f"{step}:{value}"
    assert len(payload.encode()) <= 64, payload
    return Button(label=label, payload=payload)


def error_text(error: DomainError) -> str:
    return "⚠️ " + _(error.message).format(**error.params)


async def start(
    ctx: Ctx, flow: Flow, answers: dict[str, object] | None = None, step: str | None = None
) -> list[Reply]:
    first = step or flow.order[0]
    ctx.state = dialogue.State(flow.name, first, dict(answers or {}))
    await dialogue.save(ctx.work, ctx.inbound.channel, ctx.inbound.chat_id, ctx.state)
    return [await flow.steps[first].ask(ctx)]


async def remember(ctx: Ctx) -> None:
    """Store the dialogue state as it is now (answers included)."""
    assert ctx.state is not None
    await dialogue.save(ctx.work, ctx.inbound.channel, ctx.inbound.chat_id, ctx.state)


async def goto(ctx: Ctx, flow: Flow, step: str) -> list[Reply]:
    assert ctx.state is not None
    ctx.state.step = step
    await remember(ctx)
    return [await flow.steps[step].ask(ctx)]


async def end(ctx: Ctx) -> None:
    ctx.state = None
    await dialogue.clear(ctx.work, ctx.inbound.channel, ctx.inbound.chat_id)


def _match_typed(text: str, buttons: tuple[Button, ...]) -> str | None:
    """The payload of the button a typed answer names, by number or by its words."""
    stripped = text.strip().rstrip(".)")
    if stripped.isdigit() and 1 <= int(stripped) <= len(buttons):
        return buttons[int(stripped) - 1].payload
    folded = fold(text)
    for button in buttons:
        if fold(button.label) == folded:
            return button.payload
    return None


async def resume(ctx: Ctx, flow: Flow) -> list[Reply]:
    """Feed the inbound message to the current step of `flow`."""
    assert ctx.state is not None
    step_name = ctx.state.step
    step = flow.steps.get(step_name)
    if step is None:  # a step removed by an upgrade: start the flow again, politely
        await end(ctx)
        return [Reply(_("Cuộc trò chuyện trước đã hết hạn. Mời bạn bắt đầu lại."))]
    inbound = ctx.inbound
    value = inbound.payload
    if inbound.kind is InboundKind.BUTTON:
        pressed_step, _sep, value = inbound.payload.partition(":")
        if pressed_step != step_name:
            return [
                Reply(_("Nút này thuộc câu hỏi trước. Mời bạn trả lời câu hỏi hiện tại:")),
                await step.ask(ctx),
            ]
    elif inbound.kind is InboundKind.TEXT:
        question = await step.ask(ctx)
        matched = _match_typed(inbound.payload, question.choices)
        if matched is not None:
            value = matched.partition(":")[2]
    elif inbound.kind in (InboundKind.CONTACT, InboundKind.LOCATION):
        value = inbound.payload
    elif inbound.kind in (InboundKind.PHOTO, InboundKind.DOCUMENT) and step.files:
        value = ""
    else:
        return [
            Reply(_("Mình chỉ đọc được chữ và nút bấm. Mời bạn trả lời câu hỏi:")),
            await step.ask(ctx),
        ]
    try:
        outcome = await step.answer(ctx, value)
    except DomainError as error:
        return [Reply(error_text(error)), await step.ask(ctx)]
    if isinstance(outcome, list):
        await end(ctx)
        return outcome
    if outcome is None:
        index = flow.order.index(step_name) if step_name in flow.order else len(flow.order)
        if index + 1 >= len(flow.order):
            assert flow.finish is not None, f"flow {flow.name} has no finish"
            try:
                replies = await flow.finish(ctx)
            except DomainError as error:
                return [Reply(error_text(error)), await step.ask(ctx)]
            await end(ctx)
            return replies
        outcome = flow.order[index + 1]
    return await goto(ctx, flow, outcome)
