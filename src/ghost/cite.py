"""Citations in model output — timestamps, line ranges, Message-IDs — checked against the source.

A model can invent a citation as easily as a fact. After every generation we list the citations
in the text, compare them with the ones the source really has, and flag (or strip) the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# [00:12:34], [00:12:34–00:15:00], [L10-L42], [L10-L42; 00:01:02], [<id@host>]
BRACKET = re.compile(r"\[([^\[\]\n]{1,200})\]")
TIMESTAMP = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")
LINE_RANGE = re.compile(r"^L\d+-L\d+$")
MESSAGE_ID = re.compile(r"^<?[^\s<>@]+@[^\s<>@]+>?$")
UNVERIFIED = "⚠ not in source"


def _is_citation(token: str) -> bool:
    return bool(TIMESTAMP.match(token) or LINE_RANGE.match(token) or MESSAGE_ID.match(token))


def split_citation(inner: str) -> list[str]:
    """`00:01:02–00:03:04; L1-L2` → ['00:01:02', '00:03:04', 'L1-L2'] (only citation-shaped)."""
    tokens = [t.strip() for t in re.split(r"[;,]|\s[–-]\s|–", inner)]
    return [t for t in tokens if t and _is_citation(t)]


@dataclass
class CitationReport:
    found: int = 0
    unknown: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unknown

    def to_dict(self) -> dict[str, object]:
        return {"found": self.found, "unknown": sorted(set(self.unknown))}


def normalise(token: str) -> str:
    """Compare timestamps as HH:MM:SS and Message-IDs without angle brackets."""
    token = token.strip().strip("<>")
    if TIMESTAMP.match(token):
        parts = [int(p) for p in token.split(":")]
        while len(parts) < 3:
            parts.insert(0, 0)
        return "{:02d}:{:02d}:{:02d}".format(*parts)
    return token


def check_citations(text: str, valid: Iterable[str], *, mode: str = "flag",
                    accept: Callable[[str], bool] | None = None) -> tuple[str, CitationReport]:
    """Return `text` with unknown citations flagged (mode "flag"), removed ("strip") or left
    ("keep"), and a report. `accept(token)` may vouch for tokens missing from `valid`."""
    known = {normalise(v) for v in valid}
    report = CitationReport()

    def fix(match: re.Match[str]) -> str:
        tokens = split_citation(match.group(1))
        if not tokens:
            return match.group(0)
        report.found += len(tokens)
        bad = [t for t in tokens if normalise(t) not in known and not (accept and accept(t))]
        if not bad:
            return match.group(0)
        report.unknown.extend(bad)
        if mode == "strip":
            good = [t for t in tokens if t not in bad]
            return f"[{'; '.join(good)}]" if good else ""
        if mode == "flag":
            return f"[{match.group(1)} {UNVERIFIED}: {', '.join(bad)}]"
        return match.group(0)

    return BRACKET.sub(fix, text), report
