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
    from ghost.screen.guard import guarded_call

    return guarded_call(session, session.stage("reduce"), request, screen_text=screen_text,
                        expected_output=expected_output)


def cite(session: Session, text: str, valid: Iterable[str],
         accept: Callable[[str], bool] | None = None) -> tuple[str, CitationReport]:
    """`text` with citations the source lacks flagged, stripped or kept (--citations)."""
    return check_citations(text, valid, mode=session.options.citations, accept=accept)
