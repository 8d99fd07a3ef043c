"""Citations in model output checked against the source they claim to come from.

A model can invent a citation as easily as a fact. After every generation we list the citations
in the text, compare them with the ones the source really has, and flag (or strip) the rest.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

# A citation sits in square brackets; what may stand inside is up to the source kinds, each
# of which registers its own form (ghost/sources/): [00:12:34], [L10-L42], [<id@host>], …
BRACKET = re.compile(r"\[([^\[\]\n]{1,200})\]")
# Between citations: ";", a comma unless it is a fraction ("01:02:03,500"; but "00:01:02,00:03:04"
# is a list), a dash with spaces around it, or an en or em dash. A hyphen without spaces is
# left to the forms: Message-IDs and line ranges have hyphens of their own.
SEPARATOR = re.compile(r";|(?<!:\d\d),|,(?!\d{1,3}(?![\d:]))|\s[–—-]\s|[–—]")
UNVERIFIED = "⚠ not in source"
T = TypeVar("T")


@dataclass(frozen=True)
class CitationForm:
    """One shape of citation, as a source kind writes it.

    `matches(token)` says whether a token is of this form; `normalise` makes the model's
    spelling and the source's comparable; `expand` splits a token that cites several places
    (a time range cites both ends)."""

    name: str
    matches: Callable[[str], bool]
    normalise: Callable[[str], str] = str.strip
    expand: Callable[[str], list[str] | None] = lambda token: None


_FORMS: dict[str, CitationForm] = {}
_forms_lock = threading.Lock()


def register_form(form: CitationForm) -> None:
    """Teach citation checking a new form (each source kind module registers its own)."""
    with _forms_lock:
        _FORMS[form.name] = form
    _normalised.cache_clear()  # a new form may normalise tokens the old ones left alone


def _forms() -> list[CitationForm]:
    from ghost.sources import load_builtin_kinds

    load_builtin_kinds()  # each registers its form when its module is first imported
    with _forms_lock:
        return list(_FORMS.values())


def _form_of(token: str, forms: Iterable[CitationForm]) -> CitationForm | None:
    return next((f for f in forms if f.matches(token)), None)


def split_citation(inner: str) -> list[str]:
    """`00:01:02–00:03:04; L1-L2` → ['00:01:02', '00:03:04', 'L1-L2'] (only citation-shaped).

    Both ends of a time range are citations; `01:02:03,500` is one timestamp, not two tokens.
    """
    forms = _forms()
    tokens: list[str] = []
    for token in (t.strip() for t in SEPARATOR.split(inner)):
        expanded = next((parts for f in forms if (parts := f.expand(token))), None)
        tokens.extend(expanded or [token])
    return [t for t in tokens if t and _form_of(t, forms)]


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
    """A token as its form compares it: timestamps as HH:MM:SS (a fraction of a second is
    dropped, as transcripts render stamps rounded down), Message-IDs without angle brackets."""
    token = token.strip()
    form = _form_of(token, _forms())
    return form.normalise(token) if form else token.strip("<>")


@lru_cache(maxsize=32)
def _normalised(valid: frozenset[str]) -> frozenset[str]:
    """The citations as compared, worked out once per set: a source's set is checked against
    every one of its notes (thousands on a long transcript), and building it is linear."""
    return frozenset(normalise(v) for v in valid)


def check_citations(text: str, valid: Iterable[str], *, mode: str = "flag",
                    accept: Callable[[str], bool] | None = None) -> tuple[str, CitationReport]:
    """Return `text` with unknown citations flagged (mode "flag"), removed ("strip") or left
    ("keep"), and a report. `accept(token)` may vouch for tokens missing from `valid`."""
    known = _normalised(valid if isinstance(valid, frozenset) else frozenset(valid))
    return mark_citations(
        text, split_citation,
        lambda token: normalise(token) in known or bool(accept and accept(token)),
        mode=mode)


def mark_citations(text: str, split: Callable[[str], Sequence[T]],
                   holds: Callable[[T], bool], *, mode: str = "flag",
                   shown: Callable[[T], str] = str,
                   written: Callable[[T], str] = str) -> tuple[str, CitationReport]:
    """Check each bracketed citation of `text`: `split` its inside into citations (none: not
    a citation), keep those that `holds` says the source has, and flag (as `written`), strip
    or keep the rest (`mode`); the report lists them as `shown`. Every citation check is
    this, for its own kind of citation (ghost.ask's name a document and a place)."""
    report = CitationReport()

    def fix(match: re.Match[str]) -> str:
        cites = split(match.group(1))
        if not cites:
            return match.group(0)
        report.found += len(cites)
        bad = [c for c in cites if not holds(c)]
        if not bad:
            return match.group(0)
        report.unknown.extend(shown(c) for c in bad)
        if mode == "strip":
            good = [shown(c) for c in cites if c not in bad]
            return f"[{'; '.join(good)}]" if good else ""
        if mode == "flag":
            return f"[{match.group(1)} {UNVERIFIED}: {', '.join(written(c) for c in bad)}]"
        return match.group(0)

    return BRACKET.sub(fix, text), report
