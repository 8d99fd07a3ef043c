"""Citations in model output — timestamps, line ranges, Message-IDs — checked against the source.

A model can invent a citation as easily as a fact. After every generation we list the citations
in the text, compare them with the ones the source really has, and flag (or strip) the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# [00:12:34], [00:12:34–00:15:00], [00:12:34-00:15:00], [01:02:03.500], [01:02:03,500],
# [L10-L42], [L10-L42; 00:01:02], [<id@host>]
BRACKET = re.compile(r"\[([^\[\]\n]{1,200})\]")
_STAMP = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"  # a fraction (SRT uses ",") is optional
TIMESTAMP = re.compile(rf"^{_STAMP}$")
TIME_RANGE = re.compile(rf"^({_STAMP})\s*[-–—]\s*({_STAMP})$")
LINE_RANGE = re.compile(r"^L\d+-L\d+$")
MESSAGE_ID = re.compile(r"^<?[^\s<>@]+@[^\s<>@]+>?$")
# Between citations: ";", a comma unless it is a fraction ("01:02:03,500"; but "00:01:02,00:03:04"
# is a list), a dash with spaces around it, or an en or em dash. A hyphen without spaces is
# left to TIME_RANGE: Message-IDs and line ranges have hyphens of their own.
SEPARATOR = re.compile(r";|(?<!:\d\d),|,(?!\d{1,3}(?![\d:]))|\s[–—-]\s|[–—]")
_FRACTION = re.compile(r"[.,]\d+$")
UNVERIFIED = "⚠ not in source"


def _is_citation(token: str) -> bool:
    return bool(TIMESTAMP.match(token) or LINE_RANGE.match(token) or MESSAGE_ID.match(token))


def split_citation(inner: str) -> list[str]:
    """`00:01:02–00:03:04; L1-L2` → ['00:01:02', '00:03:04', 'L1-L2'] (only citation-shaped).

    Both ends of a time range are citations; `01:02:03,500` is one timestamp, not two tokens.
    """
    tokens: list[str] = []
    for token in (t.strip() for t in SEPARATOR.split(inner)):
        span = TIME_RANGE.match(token)
        tokens.extend(span.groups() if span else [token])
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
    """Compare timestamps as HH:MM:SS and Message-IDs without angle brackets.

    A fraction of a second is dropped: 01:02:03.500 is the source's 01:02:03, which is how
    transcript timestamps are rendered (rounded down).
    """
    token = token.strip().strip("<>")
    if TIMESTAMP.match(token):
        parts = [int(p) for p in _FRACTION.sub("", token).split(":")]
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
