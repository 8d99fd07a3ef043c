"""Plain-language revision guidance from a style report: what to change, measured.

For `ghost essay --revise`: the lines go to the strong model as a list of concrete changes.

>>> from ghost.style.style_report import Difference, StyleReport
>>> report = StyleReport("borderline", 0.9, None, 12, 90, 500,
...     (Difference("semicolons", 6.0, 0.0, 4.0, "uses semicolons (6.0 per 1000 words) where "
...                 "the samples almost never do"),), (), (), (),
...     cliches=("delve", "tapestry"), cliche_rate=4.0)
>>> notes = revision_notes(report)
>>> notes[0]
'Cut the generic phrasing the author never uses: "delve", "tapestry".'
>>> notes[1].startswith("Use semicolons rarely or not at all: the draft uses semicolons (6.0")
True
"""

from __future__ import annotations

from ghost.style.style_report import Difference, StyleReport, WordUse


def revision_notes(report: StyleReport) -> list[str]:
    """The measured differences and the clichés to drop, most important first ([] if none)."""
    notes = []
    if report.cliches:
        notes.append("Cut the generic phrasing the author never uses: "
                     + ", ".join(f'"{c}"' for c in report.cliches) + ".")
    notes += [_feature_note(d) for d in report.differences]
    if report.more_words:
        notes.append("Use these words less often, as the author does: " + _words(report.more_words)
                     + ".")
    if report.fewer_words:
        notes.append("Use these words more often, as the author does: "
                     + _words(report.fewer_words) + ".")
    return notes


def _feature_note(d: Difference) -> str:
    more = d.draft > d.author
    if d.feature == "sentence length":
        action = "Write shorter sentences" if more else "Write longer sentences"
    elif d.feature == "sentence length spread":
        action = ("Keep sentence lengths steadier" if more
                  else "Vary sentence lengths more (mix short and long)")
    elif d.author < 0.05:
        action = f"Use {d.feature} rarely or not at all"
    elif d.draft == 0:
        action = f"Use {d.feature} as the author does"
    else:
        action = f"Use {d.feature} {'less' if more else 'more'} often"
    subject = "the draft " if d.text.startswith(("uses", "never")) else "in the draft, "
    return f"{action}: {subject}{d.text}."


def _words(uses: tuple[WordUse, ...]) -> str:
    return ", ".join(f'"{u.word}" ({u.draft_per_1000:.1f} in the draft vs '
                     f"{u.author_per_1000:.1f} per 1000 words)" for u in uses)
