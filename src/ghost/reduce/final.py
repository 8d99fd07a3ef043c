"""The final call every job ends with: the strong model writes from the notes, screened when the
run asks for it (--screen), and every citation in what it wrote is checked against the source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ghost.cite import CitationReport, check_citations
from ghost.models.protocol import Completion, Message, Request
from ghost.session import Session


def reduce_request(session: Session, template: str, *, stage: str = "reduce",
                   **variables: Any) -> Request:
    """The `template`'s system and user parts as one request to the reduce model."""
    prompt = session.templates.render(template, **variables)
    return Request(prompt.system, (Message.user(prompt.user),),
                   max_tokens=session.max_tokens("reduce"), stage=stage)


def final_reply(session: Session, request: Request, *, expected_output: int,
                screen_text: str = "") -> tuple[Completion, dict[str, Any] | None]:
    """The reduce model's answer, and the screen's report when the run screens (raises
    ScreenRefused when the screen cancels the call)."""
    from ghost.errors import ModelCallError
    from ghost.screen.guard import guarded_call

    reply, screen = guarded_call(session, session.stage("reduce"), request,
                                 screen_text=screen_text, expected_output=expected_output)
    if reply.truncated:
        info = session.info("reduce")
        room = reply.clamped_to or request.max_tokens
        cause = (f"the budget allowed only {room:,} output tokens; raise --budget"
                 if reply.clamped_to else
                 f"raise thinking_allowance for {info.spec} in a models file (it thinks "
                 "before it writes)" if info.thinking_allowance else
                 "ask for fewer words")
        raise ModelCallError(f"the {request.stage} from {info.spec} was cut off at its "
                             f"{room:,}-token limit and is not kept: {cause}")
    return reply, screen


def cite(session: Session, text: str, valid: Iterable[str],
         accept: Callable[[str], bool] | None = None) -> tuple[str, CitationReport]:
    """`text` with citations the source lacks flagged, stripped or kept (--citations)."""
    return check_citations(text, valid, mode=session.options.citations, accept=accept)
