"""The impostor that matters most for a ghostwriter: a plain essay on the same episode, written
by the cheap model without the host's samples (`ghost essay --impostor-draft`).

The style check then asks not only whether a draft fits the host's samples but whether it is
nearer to them than to this plain essay (ghost.style.stylometry: `impostors`): a draft in a
model's generic voice is held back from "sounds like the author", and drafts are ranked with it.

    request = plain_request(session, source, words=460, transcript=text)
    stage = plain_stage_plan(session, request, words=460)   # in the plan, priced like any call
    plain = write_plain(session, request)                  # one call of the map model, cached
"""

from __future__ import annotations

from ghost.models.protocol import Message, Request
from ghost.plan import StagePlan
from ghost.session import Session
from ghost.sources import Source
from ghost.tokens import counter_for

TEMPLATE = "essay-plain"
STAGE = "impostor"
ROLE = "map"            # the cheap model writes it
CONTEXT_SHARE = 0.5     # of the cheap model's context the transcript may take
OUTPUT_PER_WORD = 1.6   # tokens of reply per word asked
# The cap the call asks for: generous, since a reply cut off is never cached (a cheap model
# often overshoots a short target) and would be paid for again on every run.
MAX_OUTPUT_PER_WORD = 3.0
MAX_OUTPUT_ROOM = 400
NOTE = ("a plain essay the cheap model writes without the samples: a draft nearer to it than "
        "to the host's essays cannot sound like the host")


def plain_request(session: Session, source: Source, *, words: int, transcript: str = "",
                  notes: str = "") -> Request:
    """The call; a transcript or notes longer than CONTEXT_SHARE of the cheap model's context
    are cut (the plain essay stands for a generic voice on this topic, not for every fact)."""
    info = session.info(ROLE)
    count = counter_for(info.tokenizer, info.token_margin)
    room = int(info.context * CONTEXT_SHARE)

    def fitted(text: str) -> str:
        tokens = count(text) if text else 0
        return text[: len(text) * room // tokens] if tokens > room else text

    whole = (transcript, notes)
    transcript, notes = fitted(transcript), fitted(notes)
    cut = (transcript, notes) != whole
    system = session.templates.file(TEMPLATE, "system", {})
    user = session.templates.file(TEMPLATE, "episode", {
        "title": source.title, "transcript": transcript, "notes": notes, "cut": cut,
        "target_words": words})
    max_tokens = min(int(words * MAX_OUTPUT_PER_WORD) + MAX_OUTPUT_ROOM, info.max_output)
    return Request(system, (Message.user(user),), max_tokens=max_tokens, temperature=0.7,
                   stage=STAGE)


def plain_stage_plan(session: Session, request: Request, *, words: int,
                     extra_input: int = 0) -> StagePlan:
    """The stage in the plan. `extra_input`: tokens of notes not yet taken at plan time."""
    info = session.info(ROLE)
    count = counter_for(info.tokenizer, info.token_margin)
    tokens = count(request.system) + sum(count(m.text) for m in request.messages)
    return StagePlan(STAGE, info, 1, tokens + extra_input, int(words * OUTPUT_PER_WORD),
                     note=NOTE, max_tokens=request.max_tokens)


def write_plain(session: Session, request: Request) -> str:
    """The plain essay's text (from the cache when this episode was seen before)."""
    stage = session.stage_for(STAGE, session.info(ROLE).spec)
    return session.runner.call(stage, request).text.strip()
