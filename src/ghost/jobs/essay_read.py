"""How the strong model reads the episode for an essay: the whole cleaned transcript, or notes.

    choice = choose_reading(session, source, "auto")
    choice.mode    # "full": a 53-minute episode of 12,700 tokens is read whole
    choice.reason  # "the transcript (12,686 tokens) fits 25% of claude-opus-5-5's context"

Read whole, the strong model sees every speaker turn with its timestamp (as the map stage
would: sources render segments "[HH:MM:SS] Speaker: text"), delimited as data in the user
message. A transcript too long for its share of the context, or a job over several episodes,
is read through notes: the cheap model maps every chunk with the essay-map prompt (quotes with
who said them and when, the guest and their role, the story arc, tensions, the host's
reactions), and those notes are condensed if they are still too long.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ghost.map.notes import map_requests
from ghost.map.stage import check_chunks_fit
from ghost.models.protocol import Request
from ghost.session import Session
from ghost.sources import Source
from ghost.tokens import counter_for

READ_MODES = ("auto", "full", "notes")
READ_SHARE = 0.25   # of the strong model's context the whole transcript may take
MAP_TEMPLATE = "essay-map"


@dataclass(frozen=True)
class ReadChoice:
    """Whether the strong model reads the transcript whole ("full") or notes ("notes")."""

    mode: str
    reason: str
    tokens: int  # the whole transcript, counted for the strong model

    def to_dict(self) -> dict[str, object]:
        return {"mode": self.mode, "reason": self.reason, "transcript_tokens": self.tokens}


def transcript_text(source: Source) -> str:
    """The cleaned transcript as the strong model reads it whole: every turn with its
    timestamp and speaker; an untimed transcript's parts headed by the labels it is cited by."""
    if all(chunk.label in source.citations and chunk.label.startswith("part ")
           for chunk in source.chunks):
        return "\n\n".join(f"[{chunk.label}]\n{chunk.text}" for chunk in source.chunks)
    return "\n\n".join(chunk.text for chunk in source.chunks)


def choose_reading(session: Session, sources: Source | Sequence[Source],
                   asked: str = "auto") -> ReadChoice:
    """The reading `asked` (auto, full, notes) comes to for these sources and this model.

    auto reads one transcript whole when it takes at most READ_SHARE of the strong model's
    context, else notes; full insists (an error when it cannot fit at all); notes always maps.
    The budget can still turn auto to notes (`over_budget`)."""
    from ghost.errors import InputError

    if asked not in READ_MODES:
        raise InputError(f"--read {asked}: choose one of {', '.join(READ_MODES)}")
    several = not isinstance(sources, Source) and len(sources) != 1
    if several:
        if asked == "full":
            raise InputError("--read full reads one transcript; several episodes are read "
                             "through notes (--read notes or auto)")
        return ReadChoice("notes", "several episodes are read through notes", 0)
    source = sources if isinstance(sources, Source) else sources[0]
    info = session.info("reduce")
    tokens = counter_for(info.tokenizer, info.token_margin)(transcript_text(source))
    share = int(info.context * READ_SHARE)
    if asked == "notes":
        return ReadChoice("notes", "--read notes: the cheap model takes essay notes first",
                          tokens)
    if asked == "full":
        room = info.context - session.max_tokens("reduce") - 4000
        if tokens > room:
            raise InputError(f"--read full: the transcript ({tokens:,} tokens) does not fit "
                             f"{info.spec}'s {info.context:,}-token context beside the "
                             "essay; use --read notes")
        return ReadChoice("full", f"--read full: the transcript ({tokens:,} tokens) is read "
                          "whole", tokens)
    if tokens <= share:
        return ReadChoice("full", f"the transcript ({tokens:,} tokens) fits "
                          f"{READ_SHARE:.0%} of {info.spec}'s context ({share:,} tokens): "
                          "the strong model reads it whole", tokens)
    return ReadChoice("notes", f"the transcript ({tokens:,} tokens) is more than "
                      f"{READ_SHARE:.0%} of {info.spec}'s context ({share:,} tokens): the "
                      "cheap model takes essay notes first", tokens)


def over_budget(choice: ReadChoice, cost: float, budget: float) -> ReadChoice:
    """auto's fallback when reading the transcript whole would pass --budget."""
    return ReadChoice("notes", f"reading the transcript ({choice.tokens:,} tokens) whole "
                      f"would cost about ${cost:.4f}, over --budget ${budget:.2f}: the cheap "
                      "model takes essay notes first", choice.tokens)


def essay_map_requests(session: Session, sources: Source | Sequence[Source]) -> list[Request]:
    """One essay-map request per chunk of every source, in order."""
    info = session.info("map")
    max_tokens = session.max_tokens("map")
    requests: list[Request] = []
    for source in [sources] if isinstance(sources, Source) else sources:
        check_chunks_fit(info, source.chunks, max_tokens)
        requests += map_requests(source.chunks, session.templates, template=MAP_TEMPLATE,
                                 title=source.title, max_tokens=max_tokens)
    return requests
