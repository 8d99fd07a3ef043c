"""Map every chunk to notes with the map model, concurrently; cached per chunk."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ghost.models.protocol import Completion, Message, Request
from ghost.models.runner import Runner, Stage
from ghost.sources import ChunkLike
from ghost.templates import Templates

log = logging.getLogger(__name__)

NOTHING = "NOTHING"


@dataclass(frozen=True)
class Notes:
    index: int
    label: str
    text: str

    @property
    def empty(self) -> bool:
        return is_nothing(self.text)


def is_nothing(text: str) -> bool:
    stripped = text.strip().strip(".*_ ").upper()
    return not stripped or stripped == NOTHING


def expected_notes_tokens(chunk_tokens: int, max_tokens: int) -> int:
    """What a map call is expected to write: used for cost estimates and budget reservations."""
    return max(64, min(max_tokens, chunk_tokens // 5))


def map_requests(chunks: Sequence[ChunkLike], templates: Templates, *, template: str,
                 title: str, max_tokens: int, **variables: object) -> list[Request]:
    requests = []
    for chunk in chunks:
        prompt = templates.render(template, title=title, part=chunk.index + 1, parts=len(chunks),
                                  label=chunk.label, text=chunk.text, **variables)
        requests.append(Request(system=prompt.system, messages=(Message.user(prompt.user),),
                                max_tokens=max_tokens, temperature=0.0, stage="map"))
    return requests


def map_chunks(runner: Runner, stage: Stage, chunks: Sequence[ChunkLike],
               requests: Sequence[Request],
               on_done: Callable[[int, Completion], None] | None = None) -> list[Notes]:
    expected = [expected_notes_tokens(c.tokens, r.max_tokens)
                for c, r in zip(chunks, requests, strict=True)]
    completions = runner.map(stage, requests, expected_output=expected, on_done=on_done)
    return notes_from(chunks, with_room(runner, stage, requests, completions))


def with_room(runner: Runner, stage: Stage, requests: Sequence[Request],
              completions: Sequence[Completion]) -> list[Completion]:
    """`completions`, each one cut off at max_tokens asked again once with twice the room
    (within the model's maximum). The runner never caches a cut-off reply, so only the
    whole answer is kept; one still cut off after that is used as it is, and logged."""
    done = list(completions)
    cut = [i for i, c in enumerate(done) if c.truncated
           and requests[i].max_tokens < stage.info.max_output]
    if not cut:
        return done
    roomier = [replace(requests[i], max_tokens=min(stage.info.max_output,
                                                   2 * requests[i].max_tokens)) for i in cut]
    for i, again in zip(cut, runner.map(stage, roomier), strict=True):
        if again.truncated:
            log.warning("%s: a reply was cut off at %d tokens even with twice the room; "
                        "it is used as it is", stage.name, roomier[cut.index(i)].max_tokens)
        done[i] = again
    return done


def notes_from(chunks: Sequence[ChunkLike], completions: Sequence[Completion]) -> list[Notes]:
    return [Notes(c.index, c.label, done.text.strip())
            for c, done in zip(chunks, completions, strict=True)]
