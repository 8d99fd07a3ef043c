"""Triage of a profile's threads: one letter per thread from the cheap model, read by the
shared classifier's reader (`ghost.screen.categories.parse_reply`), its categories and the
sensitive topics in templates (profile-triage/categories.md, profile-sensitive/topics.md).

    R | relevant | pass | ...        notes are taken
    S | sensitive | caution | ...    notes are taken with care, shown under "Handle with care"
    N | not relevant | cancel | ...  the thread is not read further

A reply that is not one clear category letter counts as the first caution category (S): the
thread is kept, and handled with care.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ghost.errors import ConfigError
from ghost.screen.categories import Categories, Reading, parse_categories, parse_reply
from ghost.templates import Templates

TEMPLATE = "profile-triage"
SENSITIVE = "profile-sensitive"
MAX_TOKENS = 5  # one letter; a little room for a stray space or full stop


@dataclass(frozen=True)
class Topic:
    label: str
    description: str


@dataclass
class Triage:
    """What the replies decided: per thread, keep it? sensitive? And counts for the report."""

    keep: list[bool] = field(default_factory=list)
    sensitive: list[bool] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)   # by category label
    unclear: int = 0                                        # replies read as the fallback


def load_triage_categories(templates: Templates) -> Categories:
    return parse_categories(templates.file(TEMPLATE, "categories", {}),
                            source=f"{TEMPLATE}/categories.md")


def load_topics(templates: Templates) -> list[Topic]:
    """The sensitive topics: `label | what it covers` lines; `#` and blank lines skipped."""
    source = f"{SENSITIVE}/topics.md"
    topics = []
    for n, line in enumerate(templates.file(SENSITIVE, "topics", {}).splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        label, bar, description = line.partition("|")
        if not bar or not label.strip() or not description.strip():
            raise ConfigError(f"template {source} line {n}: expected 'label | what it covers'")
        topics.append(Topic(label.strip(), description.strip()))
    if not topics:
        raise ConfigError(f"template {source}: names no topic")
    return topics


def read_triage(replies: Sequence[str], categories: Categories) -> Triage:
    """The decisions of the triage replies, in thread order."""
    triage = Triage()
    for raw in replies:
        reading: Reading = parse_reply(raw, categories)
        action = reading.category.action
        triage.keep.append(action != "cancel")
        triage.sensitive.append(action == "caution")
        label = reading.category.label
        triage.counts[label] = triage.counts.get(label, 0) + 1
        if reading.note is not None and "treated as" in reading.note:
            triage.unclear += 1  # the reader's note on a reply it could not read
    return triage
