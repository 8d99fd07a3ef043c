"""Classify a text with the cheap model: one category letter (see ghost/screen/__init__.py)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ghost.errors import InputError
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Message, Request
from ghost.models.runner import Stage
from ghost.plan import StagePlan
from ghost.screen.categories import (
    SEVERITY,
    TEMPLATE,
    Action,
    Categories,
    Category,
    load_categories,
    parse_reply,
)
from ghost.screen.examples import (
    DEFAULT_K,
    EXAMPLE_CHARS,
    Example,
    ExampleSet,
    Retrieved,
    retrieve,
)
from ghost.session import Session

log = logging.getLogger(__name__)

STAGE = "screen"
MAX_TOKENS = 5            # one letter; a little room for a stray space or full stop
CHUNK_TOKENS = 8000       # longer texts are screened in parts; the most severe part decides


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
                     sum(r.max_tokens for r in plan.requests), cached,
                     max_tokens=max((r.max_tokens for r in plan.requests), default=0))


def estimate_screen(session: Session, text_tokens: int, *, spec: str | None = None,
                    examples: ExampleSet | None = None, k: int = DEFAULT_K,
                    max_tokens: int = MAX_TOKENS, note: str = "") -> StagePlan:
    """The plan of screening a text that does not exist yet (a job screens the notes it is
    about to write): `text_tokens` long, split in parts as plan_screen would, with the k longest
    examples in every prompt (the most the retrieved ones can cost). Builds no model (a dry run
    needs no key) and embeds nothing."""
    info = session.resolve(screen_spec(session, spec))
    cats = load_categories(session.templates)
    parts = max(1, math.ceil(max(1, text_tokens) / _part_limit(info)))
    placeholder = "x " * math.ceil(max(1, text_tokens) / parts)
    worst = sorted(examples.examples, key=lambda e: -len(e.text[:EXAMPLE_CHARS]))[:max(0, k)] \
        if examples is not None else []
    request = _screen_request(session, cats, placeholder, 1, parts, worst, max_tokens)
    return StagePlan(STAGE, info, parts, parts * _request_tokens(info, request),
                     parts * max_tokens, note=note, max_tokens=max_tokens)


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
