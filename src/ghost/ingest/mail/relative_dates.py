"""Relative dates in a message ("tomorrow", "next Tuesday") resolved against its own date.

    >>> from datetime import datetime
    >>> sent = datetime(2025, 2, 3, 9, 0)   # a Monday
    >>> resolve_relative("Call me tomorrow or on Friday; we met last Thursday.", sent)
    'Call me tomorrow [2025-02-04] or on Friday [2025-02-07]; we met last Thursday [2025-01-30].'
    >>> resolve_relative("Lunch next Tuesday?", sent)    # this week's, or the next one's
    'Lunch next Tuesday [2025-02-04 or 2025-02-11]?'
    >>> resolve_relative("Lunch next Tuesday?", datetime(2025, 2, 7))   # from a Friday
    'Lunch next Tuesday [2025-02-11]?'

Only what one reading settles is resolved: today, tonight, tomorrow, yesterday, the day after
tomorrow, a weekday after on / this / by / until / coming / last / next, next week. "Next
<weekday>" said earlier in the same week could mean either week: both dates are given. A bare
weekday ("see you Tuesday") is left to the model, which the prompt gives the message's date
and weekday. Quoted lines (`>`) were written on another day and are left alone; a forwarded
block is resolved against its own "dated" line (forwards.py).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PHRASE = re.compile(
    r"\b(?:(the day after tomorrow)|(today|tonight|this (?:morning|afternoon|evening))"
    r"|(tomorrow)|(yesterday)|(next week)"
    r"|(on|this|by|until|till|coming|last|next)\s+(" + "|".join(_DAYS) + r"))\b(?!\s*\[)",
    re.I)
_FORWARD = re.compile(r"^\[Forwarded message .*?, dated (\d{4}-\d\d-\d\d)[ ,\]]", re.M)
_FORWARD_END = "[End of forwarded message]"


def resolve_relative(text: str, sent: datetime | date | None) -> str:
    """`text` with each relative date it settles followed by `[YYYY-MM-DD]`."""
    if sent is None or not text:
        return text
    day = sent.date() if isinstance(sent, datetime) else sent
    out: list[str] = []
    pos = 0
    for m in _FORWARD.finditer(text):
        end = text.find(_FORWARD_END, m.end())
        end = len(text) if end < 0 else end
        if m.start() < pos:
            continue
        out.append(_resolve_lines(text[pos : m.start()], day))
        out.append(_resolve_lines(text[m.start() : end], date.fromisoformat(m.group(1))))
        pos = end
    out.append(_resolve_lines(text[pos:], day))
    return "".join(out)


def _resolve_lines(text: str, day: date) -> str:
    if not _PHRASE.search(text):
        return text
    return "\n".join(line if line.lstrip().startswith(">") else
                     _PHRASE.sub(lambda m: f"{m.group(0)} [{_when(m, day)}]", line)
                     for line in text.split("\n"))


def _when(m: re.Match[str], day: date) -> str:
    after, today, tomorrow, yesterday, next_week, word, weekday = m.groups()
    if after:
        return f"{day + timedelta(days=2)}"
    if today:
        return f"{day}"
    if tomorrow:
        return f"{day + timedelta(days=1)}"
    if yesterday:
        return f"{day - timedelta(days=1)}"
    if next_week:
        return f"week of {day + timedelta(days=7 - day.weekday())}"
    target = _DAYS.index(weekday.lower())
    word = word.lower()
    if word == "last":
        return f"{day - timedelta(days=(day.weekday() - target - 1) % 7 + 1)}"
    ahead = (target - day.weekday()) % 7
    if word == "this" and ahead == 0:
        return f"{day}"
    coming = day + timedelta(days=ahead or 7)
    if word == "next" and coming.isocalendar()[1] == day.isocalendar()[1]:
        return f"{coming} or {coming + timedelta(days=7)}"
    return f"{coming}"
