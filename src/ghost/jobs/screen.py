"""Screening: a cheap model sorts a source into a category by answering with one letter.

The categories live in the `screen` template (`categories.md`: letter, label, action, meaning;
default A ok / B borderline / C refuse). Each category's action decides what happens to the
main request it guards: `pass` sends it as asked, `caution` sends it with a caution appended to
its system part (our own text, never the source's), `cancel` does not send it.

`screened_call` runs the screen alongside the main request. The main request waits for the
verdict up to a short head start (the screen asks for a handful of tokens and normally answers
well within it), so that a caution never pays for the main request twice and a refusal never
pays for it at all. A screen slower than the head start (rate limits, retries) does not hold
the run up: the main request then starts speculatively in a daemon thread, without the cache;
a `cancel` verdict abandons it without waiting, a `caution` verdict abandons it and sends the
cautioned request instead, a `pass` verdict waits for it, uses it and only then caches it.

Hand-labelled examples (`--examples FILE.jsonl`, see screen_examples) can calibrate the
classifier: the k most similar to the text go into the user part of its prompt, delimited, with
their labels. The categories and the reading of replies are in screen_categories.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ghost.errors import InputError
from ghost.jobs.screen_categories import (
    SEVERITY,
    TEMPLATE,
    Action,
    Categories,
    Category,
    load_categories,
    parse_reply,
)
from ghost.jobs.screen_examples import (
    DEFAULT_K,
    EXAMPLE_CHARS,
    Example,
    ExampleSet,
    Retrieved,
    load_examples,
    retrieve,
)
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Completion, Message, Request
from ghost.models.runner import Runner, Stage, call_key
from ghost.plan import StagePlan
from ghost.session import Session

log = logging.getLogger(__name__)

STAGE = "screen"
MAX_TOKENS = 5            # one letter; a little room for a stray space or full stop
HEAD_START = 5.0          # seconds the main request waits for the verdict before starting
CHUNK_TOKENS = 8000       # longer texts are screened in parts; the most severe part decides

MainCall = Literal["not_started", "used", "abandoned", "reissued"]


# ------------------------------------------------------------------ classify


@dataclass(frozen=True)
class PartReading:
    part: int
    letter: str
    raw: str
    note: str | None


@dataclass
class Verdict:
    letter: str
    label: str
    action: Action
    description: str
    raw: str                       # the deciding reply, verbatim (model output: never a prompt)
    note: str | None = None
    examples: list[Retrieved] = field(default_factory=list)
    similarity: str = "none"
    parts: list[PartReading] = field(default_factory=list)
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "letter": self.letter, "label": self.label, "action": self.action, "raw": self.raw,
            "note": self.note, "model": self.model, "similarity": self.similarity,
            "examples": [r.to_dict() for r in self.examples],
        }
        if len(self.parts) > 1:
            data["parts"] = [{"part": p.part, "letter": p.letter, "note": p.note}
                             for p in self.parts]
        return data


def screen_spec(session: Session, spec: str | None = None) -> str:
    """The screen model: `spec`, else the table's `screen` default, else the map default."""
    return spec or session.catalog.defaults.get(STAGE) or session.catalog.defaults["map"]


@dataclass
class ScreenPlan:
    """The classifier requests for one text (one per part), ready to send."""

    stage: Stage
    categories: Categories
    requests: list[Request]
    retrieved: list[list[Retrieved]]   # the examples each request carries
    similarity: str

    def is_cached(self, session: Session) -> bool:
        return all(session.is_cached(self.stage.info, r.digest()) for r in self.requests)


def plan_screen(session: Session, text: str, *, spec: str | None = None,
                examples: ExampleSet | None = None, k: int = DEFAULT_K,
                max_tokens: int = MAX_TOKENS) -> ScreenPlan:
    """Build the classifier requests; no call is made. Texts longer than CHUNK_TOKENS (or the
    screen model's context) are split into parts, each screened on its own."""
    from ghost.chunk.text import chunk_text
    from ghost.tokens import counter_for

    if not text.strip():
        raise InputError("nothing to screen: the text is empty")
    cats = load_categories(session.templates)
    stage = session.stage_for(STAGE, screen_spec(session, spec))
    info = stage.info
    count = counter_for(info.tokenizer, info.token_margin)
    limit = _part_limit(info)
    pieces = [text] if count(text) <= limit else \
        [c.text for c in chunk_text(text, max_tokens=limit, count_tokens=count)]
    requests, retrieved_all, method = [], [], "none"
    for i, piece in enumerate(pieces, 1):
        retrieved: list[Retrieved] = []
        if examples is not None:
            retrieved, method = retrieve(piece, examples, k)
        requests.append(_screen_request(session, cats, piece, i, len(pieces),
                                        [r.example for r in retrieved], max_tokens))
        retrieved_all.append(retrieved)
    return ScreenPlan(stage, cats, requests, retrieved_all, method)


def _part_limit(info: ModelInfo) -> int:
    """The longest part of a text screened in one request, in tokens."""
    return max(500, min(CHUNK_TOKENS, info.context - 4000))


def _screen_request(session: Session, cats: Categories, piece: str, part: int, parts: int,
                    examples: Sequence[Example], max_tokens: int) -> Request:
    shown = [{"label": e.label, "text": e.text[:EXAMPLE_CHARS]} for e in examples]
    prompt = session.templates.render(
        TEMPLATE, categories=cats.items, letters=cats.letters,
        caution_letter=cats.fallback.letter, examples=shown, text=piece, part=part,
        parts=parts)
    return Request(prompt.system, (Message.user(prompt.user),), max_tokens=max_tokens,
                   temperature=0.0, stage=STAGE)


def _request_tokens(info: ModelInfo, request: Request) -> int:
    from ghost.tokens import count_tokens

    return count_tokens(request.system + request.messages[0].text, info.tokenizer,
                        info.token_margin)


def screen_stage_plan(session: Session, plan: ScreenPlan) -> StagePlan:
    """The plan of sending `plan`'s requests: calls, tokens, dollars (replies already cached
    cost nothing). Each reply is planned at its max_tokens, the most it can cost."""
    info = plan.stage.info
    cached = sum(session.is_cached(info, r.digest()) for r in plan.requests)
    return StagePlan(STAGE, info, len(plan.requests),
                     sum(_request_tokens(info, r) for r in plan.requests),
                     sum(r.max_tokens for r in plan.requests), cached)


def estimate_screen(session: Session, text_tokens: int, *, spec: str | None = None,
                    examples: ExampleSet | None = None, k: int = DEFAULT_K,
                    max_tokens: int = MAX_TOKENS, note: str = "") -> StagePlan:
    """The plan of screening a text that does not exist yet (a job screens the notes it is
    about to write): `text_tokens` long, split in parts as plan_screen would, with the k longest
    examples in every prompt (the most the retrieved ones can cost). Builds no model (a dry run
    needs no key) and embeds nothing."""
    info = session.catalog.resolve(screen_spec(session, spec))
    cats = load_categories(session.templates)
    parts = max(1, math.ceil(max(1, text_tokens) / _part_limit(info)))
    placeholder = "x " * math.ceil(max(1, text_tokens) / parts)
    worst = sorted(examples.examples, key=lambda e: -len(e.text[:EXAMPLE_CHARS]))[:max(0, k)] \
        if examples is not None else []
    request = _screen_request(session, cats, placeholder, 1, parts, worst, max_tokens)
    return StagePlan(STAGE, info, parts, parts * _request_tokens(info, request),
                     parts * max_tokens, note=note)


def run_screen(session: Session, plan: ScreenPlan) -> Verdict:
    """Send the classifier requests (cached like any call) and read the replies."""
    stage, cats = plan.stage, plan.categories
    if len(plan.requests) == 1:
        completions = [session.runner.call(stage, plan.requests[0], expected_output=1)]
    else:
        completions = session.runner.map(stage, plan.requests,
                                         expected_output=[1] * len(plan.requests))
    readings = [parse_reply(c.text, cats) for c in completions]
    # The most severe part decides; among equals, the first.
    worst = max(range(len(readings)),
                key=lambda i: (SEVERITY[readings[i].category.action], -i))
    decider = readings[worst]
    cat = decider.category
    note = decider.note
    if len(readings) > 1:
        where = f"part {worst + 1} of {len(readings)} decided"
        note = f"{where}; {note}" if note else where
    return Verdict(
        letter=cat.letter, label=cat.label, action=cat.action, description=cat.description,
        raw=decider.raw, note=note, examples=plan.retrieved[worst],
        similarity=plan.similarity,
        parts=[PartReading(i + 1, r.category.letter, r.raw, r.note)
               for i, r in enumerate(readings)],
        model=stage.info.spec)


def classify(session: Session, text: str, *, spec: str | None = None,
             examples: ExampleSet | None = None, k: int = DEFAULT_K,
             max_tokens: int = MAX_TOKENS) -> Verdict:
    """Screen `text` with the cheap model; never raises on an odd reply (it counts as B)."""
    return run_screen(session, plan_screen(session, text, spec=spec, examples=examples, k=k,
                                           max_tokens=max_tokens))


def caution_request(session: Session, request: Request, category: Category | Verdict) -> Request:
    """`request` with the caution (our template, the category's own words) in its system."""
    caution = session.templates.file(TEMPLATE, "caution", {
        "letter": category.letter, "label": category.label,
        "description": category.description})
    system = f"{request.system.rstrip()}\n\n{caution}" if request.system.strip() else caution
    return replace(request, system=system)


# ------------------------------------------------------------------ screened call


@dataclass
class ScreenedResult:
    verdict: Verdict
    completion: Completion | None   # None when the main request was cancelled
    request: Request | None         # the main request as sent (with any caution); None if not
    main_call: MainCall
    speculative: bool = False       # the main request started before the verdict arrived
    screen_seconds: float = 0.0
    head_start: float | None = HEAD_START

    @property
    def decision(self) -> Action:
        return self.verdict.action

    @property
    def cancelled(self) -> bool:
        return self.verdict.action == "cancel"

    @property
    def text(self) -> str | None:
        return self.completion.text if self.completion is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "cautioned": self.decision == "caution",
                "main_call": self.main_call, "speculative": self.speculative,
                "screen_seconds": round(self.screen_seconds, 3),
                "head_start_seconds": self.head_start, "verdict": self.verdict.to_dict()}


class _Background:
    """A call on a daemon thread: never joined at exit, so an abandoned call cannot hold the
    process open. `cancel()` before it starts means it never starts."""

    def __init__(self, fn: Callable[[], Any], name: str, *, start: bool = True):
        self.future: Future[Any] = Future()
        self._fn = fn
        self._name = name
        self._lock = threading.Lock()
        self.started = False
        self.cancelled = False
        if start:
            self.start()

    def start(self) -> None:
        threading.Thread(target=self._run, name=self._name, daemon=True).start()

    def _run(self) -> None:
        with self._lock:
            if self.cancelled:
                self.future.cancel()
                return
            self.started = True
        try:
            self.future.set_result(self._fn())
        except BaseException as exc:
            self.future.set_exception(exc)

    def cancel(self) -> bool:
        """Give the call up; True when it had already started (its result will be ignored)."""
        with self._lock:
            self.cancelled = True
            return self.started


def screened_call(session: Session, stage: Stage, request: Request, *, text_to_screen: str,
                  screen_spec: str | None = None, examples: ExampleSet | None = None,
                  k: int = DEFAULT_K, head_start: float | None = HEAD_START,
                  expected_output: int | None = None) -> ScreenedResult:
    """Run `request` on `stage` guarded by a screen of `text_to_screen`.

    `head_start`: seconds the main request waits for the verdict before it starts
    speculatively; None waits for the verdict however long it takes (nothing is ever sent
    before it), 0 starts both at once. When the screen's replies or the main answer (with or
    without a caution) are already cached, the main request always waits: speculating would
    save no time worth paying for.
    """
    started = time.monotonic()
    plan = plan_screen(session, text_to_screen, spec=screen_spec, examples=examples, k=k)
    screen = _Background(lambda: run_screen(session, plan), "ghost-screen")
    # Nothing to gain from speculating when the verdict or the main answer costs nothing.
    patient = (head_start is None or plan.is_cached(session)
               or _main_is_cached(session, stage, request, plan.categories))
    try:
        verdict: Verdict = screen.future.result(timeout=None if patient else head_start)
    except FutureTimeout:
        return _speculate(session, stage, request, screen, started, head_start, expected_output)
    result = ScreenedResult(verdict, None, None, "not_started",
                            screen_seconds=time.monotonic() - started, head_start=head_start)
    if verdict.action == "cancel":
        log.info("screen: %s (%s); main request not sent", verdict.letter, verdict.label)
        return result
    sent = caution_request(session, request, verdict) if verdict.action == "caution" else request
    result.request = sent
    result.completion = session.runner.call(stage, sent, expected_output=expected_output)
    result.main_call = "used"
    return result


def _speculate(session: Session, stage: Stage, request: Request, screen: _Background,
               started: float, head_start: float | None,
               expected_output: int | None) -> ScreenedResult:
    """The screen is slow: start the main request now, keep it only if the verdict allows."""
    # Without the cache, so a result nobody may use is never stored; the ledger and manifest
    # are shared, so whatever the call costs is still accounted for.
    bare = Runner(session.ledger, None, session.manifest, patience=session.runner.patience)
    main = _Background(lambda: bare.call(stage, request, expected_output=expected_output,
                                         screen="speculative"), "ghost-screened-main")
    try:
        verdict: Verdict = screen.future.result()
    except BaseException:
        main.cancel()
        raise
    result = ScreenedResult(verdict, None, None, "not_started", speculative=True,
                            screen_seconds=time.monotonic() - started, head_start=head_start)
    if verdict.action == "cancel":
        if main.cancel():
            result.main_call = "abandoned"
        log.info("screen: %s (%s); main request %s", verdict.letter, verdict.label,
                 "abandoned in flight" if result.main_call == "abandoned" else "not sent")
        return result
    if verdict.action == "caution":
        had_started = main.cancel()
        sent = caution_request(session, request, verdict)
        result.request = sent
        result.completion = session.runner.call(stage, sent, expected_output=expected_output)
        result.main_call = "reissued" if had_started else "used"
        return result
    completion: Completion = main.future.result()
    if session.cache is not None and completion.text.strip():
        key = call_key(stage.info, request.digest())
        session.cache.set(key, completion.to_json())
    result.request, result.completion, result.main_call = request, completion, "used"
    return result


def _main_is_cached(session: Session, stage: Stage, request: Request,
                    categories: Categories) -> bool:
    """The main request, as is or with any category's caution, is already in the cache."""
    variants = [request] + [caution_request(session, request, c) for c in categories.items
                            if c.action == "caution"]
    return any(session.is_cached(stage.info, r.digest()) for r in variants)


def guarded_screen_plan(session: Session, text_tokens: int) -> StagePlan | None:
    """The screen stage of a job's plan when the run asks for it (`--screen`), else None:
    what guarded_call will spend screening a text of about `text_tokens` tokens."""
    opts = session.options
    if not opts.screen:
        return None
    examples = load_examples(opts.screen_examples) if opts.screen_examples else None
    return estimate_screen(session, text_tokens, examples=examples,
                           note="screens the notes before the main call (--screen); estimate")


def guarded_call(session: Session, stage: Stage, request: Request, *, screen_text: str,
                 expected_output: int | None = None) -> tuple[Completion, dict[str, Any] | None]:
    """The main call of a job, screened when the run asks for it (`--screen`).

    Returns the completion and the screen's report; raises ScreenRefused on a refusing
    verdict, so the job writes nothing."""
    from ghost.errors import ScreenRefused

    opts = session.options
    if not opts.screen:
        return session.runner.call(stage, request, expected_output=expected_output), None
    examples = load_examples(opts.screen_examples) if opts.screen_examples else None
    result = screened_call(session, stage, request, text_to_screen=screen_text,
                           examples=examples, expected_output=expected_output)
    if result.cancelled or result.completion is None:
        raise ScreenRefused(f"the screen classified the input as {result.verdict.letter} "
                            f"({result.verdict.label}); the main request was cancelled and "
                            "nothing was written")
    return result.completion, result.to_dict()
