"""The screened call: the screen runs alongside a job's main request and decides what happens
to it (see ghost/screen/__init__.py for the timing rules)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Literal

from ghost.models.cancel import CallCancelled, Cancel, cancellable
from ghost.models.protocol import Completion, Request
from ghost.models.runner import CallStopped, Runner, Stage, call_key, sent_request
from ghost.plan import StagePlan
from ghost.screen.categories import Action, Categories
from ghost.screen.classify import (
    Verdict,
    caution_request,
    estimate_screen,
    plan_screen,
    run_screen,
)
from ghost.screen.examples import DEFAULT_K, ExampleSet, load_examples
from ghost.session import Session

log = logging.getLogger(__name__)

HEAD_START = 0.0          # seconds the main request waits for the verdict: both start together
CLOSE_WAIT = 30.0         # seconds to wait for a cancelled main request to close and be billed

MainCall = Literal["not_started", "used", "closed", "unused", "reissued"]


@dataclass
class ScreenedResult:
    verdict: Verdict
    completion: Completion | None   # None when the main request was cancelled
    request: Request | None         # the main request as sent (with any caution); None if not
    main_call: MainCall
    speculative: bool = False       # the main request started before the verdict arrived
    screen_seconds: float = 0.0
    head_start: float | None = HEAD_START
    # What the speculative main request cost when its answer was not used (B, C): its worst
    # case when its stream was closed part-way (main_call "closed", or "reissued" after a
    # close), its bill when it had finished first; None when nothing was wasted or no price.
    speculative_cost: float | None = None
    speculative_closed: bool = False  # its stream was closed before the end

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
        cost = self.speculative_cost
        return {"decision": self.decision, "cautioned": self.decision == "caution",
                "main_call": self.main_call, "speculative": self.speculative,
                "speculative_closed": self.speculative_closed,
                "speculative_cost_usd": round(cost, 6) if cost is not None else None,
                "screen_seconds": round(self.screen_seconds, 3),
                "head_start_seconds": self.head_start, "verdict": self.verdict.to_dict()}


class _Background:
    """A call on a daemon thread, so a call that never lands cannot hold the process open
    (the screened call waits for the ones it starts: see `_close`). `cancel()` before it
    starts means it never starts."""

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
    speculatively; 0 (the default) starts both at once, None waits for the verdict however
    long it takes (nothing is ever sent before it). When the screen's replies or the main
    answer (with or without a caution) are already cached, the main request always waits:
    speculating would save no time worth paying for.
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
    """The verdict is not in: start the main request now, cancellable, and keep it only if
    the verdict allows; B and C close its stream (ghost/models/cancel.py)."""
    # Without the cache, so a result nobody may use is never stored; the ledger and manifest
    # are shared, so whatever the call costs is accounted for (a closed one: its worst case).
    bare = Runner(session.ledger, None, session.manifest, patience=session.runner.patience)
    cancel = Cancel()

    def main_call() -> Completion:
        with cancellable(cancel):
            return bare.call(stage, request, expected_output=expected_output,
                             screen="speculative")

    main = _Background(main_call, "ghost-screened-main")
    try:
        verdict: Verdict = screen.future.result()
    except BaseException:
        _close(main, cancel, stage, request)
        raise
    result = ScreenedResult(verdict, None, None, "not_started", speculative=True,
                            screen_seconds=time.monotonic() - started, head_start=head_start)
    if verdict.action == "pass":
        try:
            completion: Completion = main.future.result()
        except KeyboardInterrupt:  # a stop: close it, so what it cost lands in the ledger
            _close(main, cancel, stage, request)
            raise
        if session.cache is not None and completion.text.strip():
            key = call_key(stage.info, sent_request(request, completion).digest())
            session.cache.set(key, completion.to_json())
        result.request, result.completion, result.main_call = request, completion, "used"
        return result
    cancel.set()  # B or C: the uncautioned answer is never used
    if verdict.action == "caution":  # sent at once; the speculative one closes meanwhile
        sent = caution_request(session, request, verdict)
        try:
            result.completion = session.runner.call(stage, sent, expected_output=expected_output)
        finally:
            result.speculative_closed, result.speculative_cost = _close(main, cancel, stage,
                                                                        request)
        result.request, result.main_call = sent, "reissued"
    else:
        result.speculative_closed, result.speculative_cost = _close(main, cancel, stage,
                                                                    request)
        result.main_call = "closed" if result.speculative_closed else "unused"
    cost = "" if result.speculative_cost is None else f" (${result.speculative_cost:.4f})"
    fate = ("was closed part-way, billed at its worst case" if result.speculative_closed
            else "was stopped before it was sent again" if result.speculative_cost == 0.0
            else "had finished and is not used")
    log.info("screen: %s (%s); the speculative main request %s%s", verdict.letter,
             verdict.label, fate, cost)
    return result


def _close(main: _Background, cancel: Cancel, stage: Stage,
           request: Request) -> tuple[bool, float | None]:
    """Cancel the speculative main request and wait for it to land in the ledger: whether its
    stream was closed part-way, and what it cost (None: no price, or still not landed)."""
    from ghost.ledger import usage_cost
    from ghost.models.worst_case import worst_cost

    cancel.set()
    if not main.cancel():
        return False, None  # never started: nothing sent, nothing paid
    try:
        completion = main.future.result(timeout=CLOSE_WAIT)
    except FutureTimeout:
        log.warning("screen: the speculative main request has not closed after %.0fs; it is "
                    "billed when it does", CLOSE_WAIT)
        return False, None
    except CallCancelled as exc:
        if not exc.sent:
            return False, 0.0  # cancelled before a retry went out: nothing more was paid
        return True, worst_cost(stage.info, request) if stage.info.prices else None
    except CallStopped:  # it was waiting to retry: it never answered, nothing was billed
        return False, 0.0
    except Exception as exc:  # its failure does not matter: its answer was not wanted
        log.debug("screen: the speculative main request failed: %s", exc)
        return False, None
    return False, usage_cost(stage.info, completion.usage)


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
                           note=speculative_note(session, text_tokens))


def speculative_note(session: Session, text_tokens: int) -> str:
    """What the plan says of a screened main call: it starts with the screen, so a B or C
    verdict closes it part-way, billed at its worst case (a reduce call on `text_tokens` of
    notes at its full max_tokens), in the ledger as '<stage> (cancelled)'."""
    from ghost.ledger import worst_input_tokens

    info = session.info("reduce")
    worst = ""
    if info.prices is not None:
        asked = info.asked_output(session.max_tokens("reduce"))
        dollars = (worst_input_tokens(text_tokens) * info.prices.input
                   + asked * info.prices.output) / 1e6
        worst = f" (at worst about ${dollars:.4f})"
    return ("screens the notes alongside the main call (--screen); estimate. The main call "
            "starts with the screen: on B it is closed and sent again with a caution, on C "
            f"closed; a closed call is billed at its worst case{worst}, listed in the ledger "
            "as '<stage> (cancelled)'")


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
