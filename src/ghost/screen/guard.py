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

from ghost.models.protocol import Completion, Request
from ghost.models.runner import Runner, Stage, call_key, sent_request
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

HEAD_START = 5.0          # seconds the main request waits for the verdict before starting

MainCall = Literal["not_started", "used", "abandoned", "reissued"]



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
        key = call_key(stage.info, sent_request(request, completion).digest())
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
