"""The host's voice, measured from their past essays, as guidance a writer can follow.

    profile = voice_profile(["I fell off my bike today. ...\\n\\nBuild slow.", ...])
    profile.median_words        # 480: the default length of a new essay
    profile.never               # ("semicolons", "exclamation marks"): habits the host lacks
    profile.render()            # "- Length: about 480 words (440–540 across 12 essays)" ...

Everything here is counted, not guessed: lengths, punctuation rates per 1000 words, how the
essays open and close, phrases several essays share. The rendered profile quotes the host's
own words (openings, sign-offs, phrases), so it is user data: it goes in the user message,
delimited, never in the system prompt.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ghost.style.markers import _SENTENCE_BREAK, PUNCTUATION, normalize, tokenize

# Openings that tell a story about the writer: "I", "My", "Last week I", "When I was".
_FIRST_PERSON = re.compile(r"\b(i|i'm|i've|i'd|my|me|we|our)\b")
_PERSONAL_SHARE = 0.5   # of essays opening in the first person: the host opens on a story
_PHRASE_SHARE = 0.25    # a phrase recurs when at least this share of the essays use it
_MIN_PHRASE_ESSAYS = 2
MAX_PHRASES = 8
MAX_EXAMPLES = 3        # openings and closings quoted
_EXAMPLE_CHARS = 200
_STOP = frozenset("""a an the and or but of to in on at for with by from as is it that this
was be are were i you he she we they his her its our their my your me him them so if not""".split())
# Habits worth naming when the samples never show them (mark name as in markers.PUNCTUATION).
_HABITS = ("em dashes", "en dashes", "semicolons", "exclamation marks", "ellipses",
           "parentheses", "question marks", "colons")
_LIST_LINE = re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+\S", re.MULTILINE)
_SUBHEADING = re.compile(r"^[ \t]*#{2,6}[ \t]+\S", re.MULTILINE)
_TITLE = re.compile(r"^[ \t]*#[ \t].*$", re.MULTILINE)


@dataclass(frozen=True)
class VoiceProfile:
    """What the host's essays have in common, in numbers and in their own words."""

    n_essays: int
    median_words: int
    words_low: int            # the shortest and longest essays
    words_high: int
    sentence_words: float     # mean words per sentence
    paragraph_sentences: float  # median sentences per paragraph
    paragraphs: int           # median paragraphs per essay
    punctuation: dict[str, float]  # per 1000 words, over all the essays
    never: tuple[str, ...]    # habits no essay shows: "em dashes", "bullet lists", …
    opens_personal: float     # share of essays whose first sentence is in the first person
    openings: tuple[str, ...]
    closings: tuple[str, ...]
    sign_off: str             # a last line most essays end on, "" when there is none
    phrases: tuple[str, ...]  # word sequences several essays use

    @property
    def opens_with_story(self) -> bool:
        return self.opens_personal >= _PERSONAL_SHARE

    def to_dict(self) -> dict[str, object]:
        return {"essays": self.n_essays, "median_words": self.median_words,
                "words_range": [self.words_low, self.words_high],
                "sentence_words": round(self.sentence_words, 1),
                "paragraph_sentences": round(self.paragraph_sentences, 1),
                "paragraphs": self.paragraphs,
                "punctuation_per_1000_words": {k: round(v, 1)
                                               for k, v in self.punctuation.items()},
                "never": list(self.never), "opens_personal": round(self.opens_personal, 2),
                "sign_off": self.sign_off, "phrases": list(self.phrases)}

    def render(self) -> str:
        """The profile as Markdown bullets for the writer (quotes are the host's words)."""
        lines = [
            f"- Length: about {self.median_words} words ({self.words_low}–{self.words_high} "
            f"across {self.n_essays} essays), in about {self.paragraphs} paragraphs.",
            f"- Sentences run about {self.sentence_words:.0f} words; paragraphs about "
            f"{self.paragraph_sentences:.0f} sentences.",
        ]
        used = [f"{name} {rate:.1f}" for name, rate in sorted(
            self.punctuation.items(), key=lambda item: -item[1]) if rate >= 0.5]
        if used:
            lines.append("- Punctuation per 1000 words: " + ", ".join(used) + ".")
        if self.never:
            lines.append("- Never uses: " + ", ".join(self.never) + ".")
        share = f"{self.opens_personal:.0%} of the essays"
        lines.append(f"- Openings: {share} open in the first person." + (
            " The host usually opens with a story of their own." if self.opens_with_story
            else ""))
        lines += [f"  - opening: \"{o}\"" for o in self.openings]
        lines += [f"  - ending: \"{c}\"" for c in self.closings]
        if self.sign_off:
            lines.append(f"- Signs off with: \"{self.sign_off}\"")
        if self.phrases:
            lines.append("- Recurring phrases: " + ", ".join(f"\"{p}\"" for p in self.phrases)
                         + ".")
        return "\n".join(lines)

    def violations(self, draft: str) -> list[str]:
        """Habits the host never shows that `draft` does: "uses em dashes (4×); the host
        never does"."""
        found = []
        for habit, count in _habit_counts(draft).items():
            if habit in self.never and count:
                found.append(f"uses {habit} ({count}×); the host never does")
        return found


def voice_profile(texts: Sequence[str]) -> VoiceProfile:
    """Measure the host's voice over their essays (at least one with words)."""
    essays = [t for t in texts if tokenize(normalize(t))]
    if not essays:
        raise ValueError("voice profile: no essay has any words")
    words = [len(tokenize(normalize(t))) for t in essays]
    paragraphs = [_paragraphs(t) for t in essays]
    sentences = [s for t in essays for s in _sentences(t)]
    per_paragraph = [len(_sentences(p)) for ps in paragraphs for p in ps]
    total_words = sum(words)
    counts: Counter[str] = Counter()
    for text in essays:
        counts.update(_habit_counts(text))
    punctuation = {name: 1000 * counts[name] / total_words for name in PUNCTUATION}
    never = tuple(h for h in (*_HABITS, "bullet lists", "subheadings") if not counts[h])
    firsts = [_sentences(ps[0])[0] if ps and _sentences(ps[0]) else "" for ps in paragraphs]
    lasts = [ps[-1].strip() if ps else "" for ps in paragraphs]
    personal = sum(bool(_FIRST_PERSON.search(f.lower())) for f in firsts) / len(essays)
    sign_off = _sign_off(lasts)
    signed = " ".join(tokenize(sign_off))
    closings = [_closing(ps, sign_off) for ps in paragraphs]
    return VoiceProfile(
        n_essays=len(essays), median_words=round(statistics.median(words)),
        words_low=min(words), words_high=max(words),
        sentence_words=statistics.fmean(len(tokenize(s)) for s in sentences),
        paragraph_sentences=statistics.median(per_paragraph or [1]),
        paragraphs=round(statistics.median(len(ps) for ps in paragraphs)),
        punctuation=punctuation, never=never, opens_personal=personal,
        openings=_examples(firsts), closings=_examples(closings),
        sign_off=sign_off,
        phrases=tuple(p for p in recurring_phrases(essays) if not signed or p not in signed))


def recurring_phrases(essays: Sequence[str], *, sizes: Sequence[int] = (5, 4, 3)
                      ) -> tuple[str, ...]:
    """Word sequences (longest first) at least a quarter of the essays (and two) use, that are
    not only common words; a shorter one inside a longer one found is left out.

    >>> recurring_phrases(["Build slow and stay small.", "We build slow and stay small."])
    ('build slow and stay small',)
    """
    needed = max(_MIN_PHRASE_ESSAYS, round(_PHRASE_SHARE * len(essays)))
    found: list[str] = []
    for size in sizes:
        seen: Counter[str] = Counter()
        for text in essays:
            words = tokenize(normalize(text))
            seen.update({" ".join(words[i:i + size]) for i in range(len(words) - size + 1)})
        for phrase, n in seen.most_common():
            if n < needed or len(found) >= MAX_PHRASES:
                break
            content = [w for w in phrase.split() if w not in _STOP]
            if len(content) >= 2 and not any(phrase in longer for longer in found):
                found.append(phrase)
    return tuple(found)


def _habit_counts(text: str) -> Counter[str]:
    clean = normalize(_TITLE.sub("", text))
    counts = Counter({name: len(p.findall(clean)) for name, p in PUNCTUATION.items()})
    counts["bullet lists"] = len(_LIST_LINE.findall(text))
    counts["subheadings"] = len(_SUBHEADING.findall(text))
    return counts


def _paragraphs(text: str) -> list[str]:
    body = _TITLE.sub("", text)
    return [p.strip() for p in re.split(r"\n[ \t]*\n", body) if tokenize(p)]


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_BREAK.split(normalize(text)) if tokenize(s)]


def _examples(lines: Sequence[str]) -> tuple[str, ...]:
    """Up to three distinct examples, each cut to a readable length."""
    picked: list[str] = []
    for line in lines:
        line = " ".join(line.split())
        if len(line) > _EXAMPLE_CHARS:
            line = line[:_EXAMPLE_CHARS].rsplit(" ", 1)[0] + " …"
        if line and line not in picked:
            picked.append(line)
        if len(picked) == MAX_EXAMPLES:
            break
    return tuple(picked)


def _closing(paragraphs: Sequence[str], sign_off: str) -> str:
    """The essay's last sentence before its sign-off line."""
    body = [p for p in paragraphs if " ".join(p.split()) != sign_off]
    if body and sign_off and body[-1].splitlines()[-1].strip() == sign_off:
        body[-1] = "\n".join(body[-1].splitlines()[:-1])
    sentences = _sentences(body[-1]) if body else []
    return sentences[-1] if sentences else ""


def _sign_off(lasts: Sequence[str]) -> str:
    """The last line most essays (at least two) end on: "Build slow. — M."."""
    tails = Counter(" ".join(p.splitlines()[-1].split()) for p in lasts if p)
    if not tails:
        return ""
    line, n = tails.most_common(1)[0]
    return line if n >= 2 and n * 2 >= len(lasts) else ""
