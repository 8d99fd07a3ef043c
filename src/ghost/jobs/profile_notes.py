"""Notes the strong model can act on: every bullet dated, attributed and cited.

The map model cites a Message-ID on each bullet; ghost then starts the bullet with the date
and sender of the message it cites, from the mail's own headers (a model may miscopy a date,
ghost does not):

    - **travel:** prefers aisle seats [<m2@acme.example>]
  becomes
    - 2025-02-03 · Dana Reyes <dana@acme.example> (the owner): **travel:** prefers aisle
      seats [<m2@acme.example>]

A bullet that cites nothing is attributed to the message of its thread it shares the most
words with, and that message's citation is added; one that shares none is not from the
thread and is dropped (counted). After condensing, bullets keep their citations and are
stamped again from them if the condensing model dropped the stamp.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ghost.chunk.threads import MessageLike, sender_of

_CITATION = re.compile(r"\[<([^<>\s\[\]]+)>\]")
_STAMPED = re.compile(r"^\s*(?:[-*•]\s+)?\d{4}-\d\d-\d\d\b")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_WORD = re.compile(r"[^\W\d_]{3,}|\d{2,}")


@dataclass
class StampReport:
    by_wording: int = 0    # bullets without a citation, attributed by the words they share
    dropped: int = 0       # bullets with neither a citation nor a word from the thread

    def add(self, other: StampReport) -> None:
        self.by_wording += other.by_wording
        self.dropped += other.dropped


def stamp(message: MessageLike, owner: Sequence[str]) -> str:
    """`2025-02-03 · Sam Ortiz <sam@acme.example>` (`undated` when the mail has no date)."""
    when = f"{message.date:%Y-%m-%d}" if message.date else "undated"
    return f"{when} · {sender_of(message, owner)}"


def stamp_notes(text: str, messages: Mapping[str, MessageLike], owner: Sequence[str], *,
                by_wording: bool = True) -> tuple[str, StampReport]:
    """`text` (one thread's notes, or condensed ones) with every bullet stamped; see the module
    doc. `messages`: the thread's messages (with `by_wording`), or every message the notes may
    cite, by Message-ID. Headings (`#` lines) are kept as they are."""
    report = StampReport()
    words = {mid: _words(f"{m.subject} {m.sender_name} {m.body}")
             for mid, m in messages.items()} if by_wording else {}
    out: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            out.append(line)
            continue
        if out and line[:1].isspace() and not _BULLET.match(line):
            out.append(line)  # a wrapped bullet's continuation
            continue
        body = _BULLET.sub("", line, count=1).strip()
        cited = [mid for mid in _CITATION.findall(body) if mid in messages]
        if not cited and by_wording:
            best = _closest(body, words)
            if best is not None:
                cited = [best]
                body = f"{body} [<{best}>]"
                report.by_wording += 1
        if not cited:
            if _STAMPED.match(line) and _CITATION.search(line):
                out.append(line)  # stamped already, citing a message outside this lookup
            else:
                report.dropped += 1
            continue
        if _STAMPED.match(body):
            out.append(f"- {body}")
            continue
        stamps = "; ".join(dict.fromkeys(stamp(messages[mid], owner) for mid in cited))
        out.append(f"- {stamps}: {body}")
    return "\n".join(out).strip(), report


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _closest(bullet: str, words: Mapping[str, set[str]]) -> str | None:
    """The message sharing the most words with `bullet` (at least two, or all of a shorter
    bullet's); the earlier one on a tie."""
    mine = _words(bullet)
    if not mine:
        return None
    best, score = None, 0
    for mid, theirs in words.items():
        shared = len(mine & theirs)
        if shared > score:
            best, score = mid, shared
    return best if score >= min(2, len(mine)) else None
