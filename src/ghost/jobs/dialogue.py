"""ghost dialogue: two models hold a conversation, each keeping its own side of the history.

The opening prompt goes to model A as its first user turn. Each reply then becomes the other
model's next user turn, so with replies A1, B1, A2, ... model A is sent

    user: prompt, assistant: A1, user: B1, assistant: A2, user: B2, ...

and model B (who never sees the prompt) is sent

    user: A1, assistant: B1, user: A2, ...

Every call goes through the session's runner: cached, budgeted, retried, ledgered (stages
`dialogue-a` and `dialogue-b`) and noted in the manifest. A re-run with the same prompt,
models and options replays from the cache without a call.

`prepare_dialogue` plans (and checks --budget) without a call; `continue_dialogue` appends
turns to the result in place, so whoever holds the result keeps the finished turns when the
run is interrupted (Ctrl-C) or stops on an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from ghost.errors import InputError, ModelCallError
from ghost.jobs.runner import Document
from ghost.models.catalog import Catalog, ModelInfo
from ghost.models.protocol import Completion, Message, Part, Request
from ghost.models.runner import Stage, call_key
from ghost.plan import Plan, StagePlan
from ghost.providers import get_provider
from ghost.session import Session
from ghost.tokens import count_tokens
from ghost.write.dialogue_format import (
    TIMESTAMP_FORMAT,
    Speaker,
    TranscriptTurn,
    family_speakers,
    generic_speakers,
    render_dialogue,
    render_header,
    render_turn,
)

log = logging.getLogger(__name__)

Side = Literal["a", "b"]
SIDES: tuple[Side, Side] = ("a", "b")
STAGES: dict[Side, str] = {"a": "dialogue-a", "b": "dialogue-b"}
DEFAULT_MAX_TOKENS = 1024
DEFAULT_TEMPERATURE = 0.7
EXPECTED_REPLY_TOKENS = 400  # a typical conversational reply; the plan assumes it per turn
MESSAGE_OVERHEAD = 4         # tokens of role framing per message, for the estimate


@dataclass(frozen=True)
class DialogueSetup:
    """What to run: the two model specs, the opening prompt and how many replies in all."""

    a: str
    b: str
    prompt: str
    turns: int = 6
    system_a: str = ""
    system_b: str = ""
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float | None = DEFAULT_TEMPERATURE

    def validate(self) -> None:
        if not self.prompt.strip():
            raise InputError("the opening prompt is empty; give --prompt TEXT or --prompt-file")
        if self.turns < 1:
            raise InputError("--turns must be at least 1")
        if self.max_tokens < 1:
            raise InputError("--max-tokens must be at least 1")

    def spec(self, side: Side) -> str:
        return self.a if side == "a" else self.b

    def system(self, side: Side) -> str:
        return self.system_a if side == "a" else self.system_b


@dataclass
class DialogueTurn:
    number: int      # 1-based, over both sides
    side: Side
    speaker: str     # the transcript label
    text: str
    completion: Completion

    @property
    def cached(self) -> bool:
        return self.completion.cached


@dataclass
class DialogueResult:
    setup: DialogueSetup
    plan: Plan
    speakers: tuple[Speaker, Speaker]
    timestamp: str
    turns: list[DialogueTurn] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return len(self.turns) >= self.setup.turns

    def speaker(self, side: Side) -> Speaker:
        return self.speakers[0] if side == "a" else self.speakers[1]

    @property
    def header(self) -> str:
        return render_header(self.timestamp, self.speakers, self.setup.prompt)

    @property
    def text(self) -> str:
        """The transcript of the turns finished so far."""
        return render_dialogue(self.timestamp, self.speakers, self.setup.prompt,
                               [TranscriptTurn(t.speaker, t.text) for t in self.turns])

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan.to_dict(), "timestamp": self.timestamp,
            "models": {"a": self.setup.a, "b": self.setup.b},
            "speakers": {"a": self.speakers[0].label, "b": self.speakers[1].label},
            "turns_requested": self.setup.turns, "turns_completed": len(self.turns),
            "turns_cached": sum(t.cached for t in self.turns), "complete": self.complete,
        }


def side_of(number: int) -> Side:
    """Who speaks turn `number` (1-based): A opens, then they alternate."""
    return "a" if number % 2 == 1 else "b"


def history_for(side: Side, prompt: str, replies: Sequence[str]) -> tuple[Message, ...]:
    """The conversation as `side` sees it, before its next reply: its own replies are the
    assistant's, the other side's are the user's; only A is sent the opening prompt."""
    messages = [Message.user(prompt)] if side == "a" else []
    for number, reply in enumerate(replies, 1):
        own = side_of(number) == side
        messages.append(Message.assistant(reply) if own else Message.user(reply))
    return tuple(messages)


def turn_request(setup: DialogueSetup, info: ModelInfo, replies: Sequence[str]) -> Request:
    """The request for the next turn, after `replies` (all the replies so far, in order)."""
    side = side_of(len(replies) + 1)
    messages = history_for(side, setup.prompt, replies)
    if get_provider(info.provider).marks_cache:
        messages = _cache_marks(setup.system(side), messages, info)
    return Request(system=setup.system(side), messages=messages,
                   max_tokens=min(setup.max_tokens, info.max_output),
                   temperature=setup.temperature, stage=STAGES[side])


def _cache_marks(system: str, messages: tuple[Message, ...],
                 info: ModelInfo) -> tuple[Message, ...]:
    """Mark where this side's history ended last turn and where it ends now.

    Each turn resends the whole history. The mark at the end lets the next turn read all of it
    from Anthropic's prompt cache; the mark where the previous request of this side ended reads
    what that request wrote. Prefixes below the model's minimum are left unmarked (they would
    not be cached anyway). The marks depend on the history only, never on --turns, so a
    longer re-run of the same dialogue still replays its first turns from ghost's cache.
    """
    marked = list(messages)
    for index in (len(messages) - 3, len(messages) - 1):
        if index < 0:
            continue
        prefix = system + "".join(m.text for m in messages[: index + 1])
        if count_tokens(prefix, info.tokenizer, info.token_margin) >= info.cache_min_tokens:
            m = messages[index]
            marked[index] = Message(m.role, (Part(m.text, cache=True),))
    return tuple(marked)


def speakers_for(catalog: Catalog, a: ModelInfo, b: ModelInfo) -> tuple[Speaker, Speaker]:
    """`Claude`/`GPT` labels (the original transcripts' own) when one side is a Claude model
    and the other a GPT model; otherwise `A`/`B` with full provider:model specs."""

    def family(info: ModelInfo) -> str | None:
        name = get_provider(info.provider).family
        # openai:llama3.1 on a local server is no GPT: the name must carry the provider's prefix.
        return name if name and catalog.provider_for(info.name) == info.provider else None

    fa, fb = family(a), family(b)
    if fa and fb and fa != fb:
        return family_speakers(fa, a.name, fb, b.name)
    return generic_speakers(a.spec, b.spec)


def expected_reply(setup: DialogueSetup) -> int:
    return min(EXPECTED_REPLY_TOKENS, setup.max_tokens)


def plan_dialogue(session: Session, setup: DialogueSetup) -> Plan:
    """Calls, tokens and dollars per side. Each turn resends the history, so input grows with
    every turn. Turns already in the cache are read from it, cost nothing, and their real
    lengths replace the estimate."""
    infos = {s: session.resolve(setup.spec(s)) for s in SIDES}
    stages = {s: StagePlan(STAGES[s], infos[s], 0, 0, 0, max_tokens=setup.max_tokens)
              for s in SIDES}
    replies: list[str] = []      # the reply texts while the chain of cached turns lasts
    reply_tokens: list[int] = []  # every reply's length: real when cached, else the estimate
    per_turn: list[int] = []
    chain = True
    for number in range(1, setup.turns + 1):
        side = side_of(number)
        info = infos[side]
        messages = number if side == "a" else number - 1  # only A is sent the prompt
        tokens_in = (count_tokens(setup.system(side), info.tokenizer, info.token_margin)
                     + sum(reply_tokens) + MESSAGE_OVERHEAD * messages)
        if side == "a":
            tokens_in += count_tokens(setup.prompt, info.tokenizer, info.token_margin)
        per_turn.append(tokens_in)
        plan = stages[side]
        plan.calls += 1
        hit = _cached_reply(session, info, turn_request(setup, info, replies)) if chain else None
        if hit is not None:
            plan.cached_calls += 1
            replies.append(hit)
            reply_tokens.append(count_tokens(hit, info.tokenizer, info.token_margin))
            continue
        chain = False
        plan.input_tokens += tokens_in
        plan.output_tokens += expected_reply(setup)
        reply_tokens.append(expected_reply(setup))
    source: dict[str, Any] = {
        "dialogue": f"A {infos['a'].spec} <-> B {infos['b'].spec}",
        "turns": f"{setup.turns} ({stages['a'].calls} by A, {stages['b'].calls} by B)",
        "replies": f"~{expected_reply(setup)} tokens each assumed (at most "
                   f"{setup.max_tokens}); every turn resends the history",
        "input tokens per turn": _growth(per_turn),
    }
    if any(s.cached_calls for s in stages.values()):
        source["cached turns"] = f"{sum(s.cached_calls for s in stages.values())} (free)"
    for side, plan in stages.items():
        last = max((t for n, t in enumerate(per_turn, 1) if side_of(n) == side), default=0)
        room = infos[side].context - min(setup.max_tokens, infos[side].max_output)
        if last > room:
            plan.note = (f"the history may outgrow {infos[side].spec}'s context "
                         f"({infos[side].context:,} tokens); use fewer --turns")
    return Plan(source, [stages["a"], stages["b"]])


def _growth(per_turn: Sequence[int]) -> str:
    shown = [f"{t:,}" for t in per_turn]
    if len(shown) > 6:
        shown = [*shown[:3], "...", *shown[-2:]]
    return " -> ".join(shown)


def _cached_reply(session: Session, info: ModelInfo, request: Request) -> str | None:
    if session.cache is None:
        return None
    hit = session.cache.get(call_key(info, request.digest()))
    text = str(hit.get("text", "")).strip() if hit else ""
    return text or None


def prepare_dialogue(session: Session, setup: DialogueSetup, *,
                     now: datetime | None = None) -> DialogueResult:
    """Plan the run and check --budget; makes no call and needs no API key."""
    setup.validate()
    catalog = session.catalog
    a, b = session.resolve(setup.a), session.resolve(setup.b)
    plan = plan_dialogue(session, setup)
    plan.check_budget(session.options.budget)
    timestamp = (now or datetime.now()).strftime(TIMESTAMP_FORMAT)
    return DialogueResult(setup, plan, speakers_for(catalog, a, b), timestamp)


def dialogue_stages(session: Session, setup: DialogueSetup) -> dict[Side, Stage]:
    """Both sides' callable models; raises MissingKeyError before any call is made."""
    return {s: session.stage_for(STAGES[s], setup.spec(s)) for s in SIDES}


def continue_dialogue(session: Session, result: DialogueResult, *,
                      on_call: Callable[[int, str], None] | None = None,
                      on_turn: Callable[[DialogueTurn], None] | None = None) -> DialogueResult:
    """Run the turns not yet in `result`, appending each as soon as it is finished.

    `on_call(number, speaker)` runs before each call, `on_turn(turn)` after each reply. An
    exception (KeyboardInterrupt included) leaves `result.turns` holding every finished turn.
    """
    setup = result.setup
    stages = dialogue_stages(session, setup)
    while not result.complete:
        number = len(result.turns) + 1
        side = side_of(number)
        stage = stages[side]
        speaker = result.speaker(side).label
        if on_call is not None:
            on_call(number, speaker)
        request = turn_request(setup, stage.info, [t.text for t in result.turns])
        completion = session.runner.call(stage, request, expected_output=expected_reply(setup),
                                         turn=number)
        text = completion.text.strip()
        if not text:
            raise ModelCallError(
                f"{stage.info.spec} gave an empty reply at turn {number} (stop reason "
                f"'{completion.stop_reason or 'unknown'}'); raise --max-tokens or try another "
                "model")
        if completion.stop_reason in ("max_tokens", "length"):
            log.warning("turn %d (%s): the reply hit --max-tokens %d and was cut short",
                        number, speaker, request.max_tokens)
        turn = DialogueTurn(number, side, speaker, text, completion)
        result.turns.append(turn)
        if on_turn is not None:
            on_turn(turn)
    return result


def turn_block(turn: DialogueTurn) -> str:
    """A finished turn as it appears in the transcript."""
    return render_turn(turn.speaker, turn.text)


@dataclass
class DialogueJob:
    """Two models in conversation. `show(block)` gets the header, then each finished turn, as
    they come; `on_call(number, speaker)` runs before each call. `result` holds every finished
    turn even when the run stops early (Ctrl-C, a failed call)."""

    setup: DialogueSetup
    prompt_file: Path | None = None
    show: Callable[[str], None] | None = None
    on_call: Callable[[int, str], None] | None = None
    command: str = "dialogue"
    result: DialogueResult | None = None

    def run(self, session: Session) -> DialogueResult:
        if self.prompt_file is not None:
            session.add_input(self.prompt_file, self.setup.prompt, kind="prompt")
        result = self.result = prepare_dialogue(session, self.setup)
        if session.options.dry_run:
            return result
        dialogue_stages(session, self.setup)  # a missing key fails before anything is shown
        show = self.show or (lambda block: None)
        show(result.header)
        return continue_dialogue(session, result, on_call=self.on_call,
                                 on_turn=lambda turn: show(turn_block(turn)))

    def documents(self, result: DialogueResult, target: Path,
                  front: dict[str, Any]) -> list[Document]:
        return [Document(target, result.text)]
