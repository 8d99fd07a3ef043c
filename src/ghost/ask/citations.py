"""Citations that name their document, checked against the places that document really has.

The form is `[DOCUMENT PLACE]`: [report.pdf p.4], [notes.md L120-L140], [ep12.txt 00:14:05],
[ep3.md part 2] (an untimed transcript); mail is cited by Message-ID alone, [<id@host>], since
the ID names its message wherever it is. A bracket may hold several, and a bare place after a
named one belongs to the same document::

    refs = parse_refs("notes.md L3-L9, L20-L25; report.pdf p.2-3")
    [(r.doc, r.place.kind) for r in refs]
    # [("notes.md", "lines"), ("notes.md", "lines"), ("report.pdf", "page")]

A citation holds when its document is in the scope (by name; or by its stem, "ep12", when
that names one document) and has the place: lines within its lines, pages it has (both ends
of a range), timestamps it holds, the message. The map stage's scope is the one chunk a
passage came from; the answer's is every document whose passages reached the strong model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath

from ghost.cite import BRACKET, SEPARATOR, UNVERIFIED, CitationReport, mark_citations
from ghost.sources import ChunkLike
from ghost.sources.transcript import normalise_stamp

_STAMP = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_PLACE = (rf"(?P<page>pp?\.\s?\d+(?:\s?-\s?(?:p\.\s?)?\d+)?)"
          rf"|(?P<lines>L\d+(?:\s?-\s?L?\d+)?)"
          rf"|(?P<time>{_STAMP}(?:\s?-\s?{_STAMP})?)"
          rf"|(?P<part>[Pp]art\s\d+)"
          rf"|(?P<id><[^\s<>@]+@[^\s<>@]+>)")
PLACE = re.compile(rf"^(?:{_PLACE})$")
QUALIFIED = re.compile(rf"^(?P<doc>\S(?:.*?\S)?)\s+(?P<place>{_PLACE})$")
BARE_ID = re.compile(r"^<?[^\s<>@]+@[^\s<>@]+>?$")
_NUMBERS = re.compile(r"\d+")
_STAMPS = re.compile(_STAMP)


@dataclass(frozen=True)
class Place:
    """Where in a document: kind "page", "lines" or "part" with (first, last) numbers,
    "time" with (first, last) HH:MM:SS, "id" with the Message-ID (no angle brackets)."""

    kind: str
    ends: tuple[int, int] | tuple[str, str] | tuple[str]


def parse_place(text: str) -> Place | None:
    match = PLACE.match(text.strip())
    if match is None:
        return None
    kind = next(k for k, v in match.groupdict().items() if v)
    value = match.group(kind)
    if kind == "id":
        return Place("id", (value.strip("<>"),))
    if kind == "time":
        stamps = [normalise_stamp(s) for s in _STAMPS.findall(value)]
        return Place("time", (stamps[0], stamps[-1]))
    numbers = [int(n) for n in _NUMBERS.findall(value)]
    return Place(kind, (numbers[0], numbers[-1]))


@dataclass(frozen=True)
class Ref:
    doc: str | None  # None: a Message-ID, or a place that names no document
    place: Place
    text: str        # as written
    place_text: str  # its place, as written

    @property
    def shown(self) -> str:
        """The citation with its document, as a report lists it."""
        if self.doc is None or self.text.startswith(self.doc):
            return self.text
        return f"{self.doc} {self.text}"


def parse_refs(inner: str) -> list[Ref]:
    """The citations in one bracket's text; words that are not citations are left out."""
    refs: list[Ref] = []
    doc: str | None = None
    for token in (t.strip() for t in SEPARATOR.split(inner)):
        qualified = QUALIFIED.match(token)
        if qualified:
            doc = qualified.group("doc")
            place = parse_place(qualified.group("place"))
            if place is not None:
                refs.append(Ref(doc, place, token, qualified.group("place")))
        elif BARE_ID.match(token):
            refs.append(Ref(None, Place("id", (token.strip("<>"),)), token, token))
        elif (place := parse_place(token)) is not None:
            refs.append(Ref(doc, place, token, token))
    return refs


@dataclass(frozen=True)
class Places:
    """The places a document (or one of its chunks) has."""

    lines: tuple[int, int] | None = None
    pages: frozenset[int] = frozenset()
    stamps: frozenset[str] = frozenset()
    parts: frozenset[int] = frozenset()
    ids: frozenset[str] = frozenset()

    def holds(self, place: Place) -> bool:
        if place.kind == "id":
            return place.ends[0] in self.ids
        if place.kind == "time":
            return all(s in self.stamps for s in place.ends)
        first, last = place.ends[0], place.ends[-1]
        assert isinstance(first, int) and isinstance(last, int)
        if place.kind == "lines":
            return self.lines is not None and self.lines[0] <= first <= last <= self.lines[1]
        if place.kind == "page":
            return first <= last and first in self.pages and last in self.pages
        return first == last and first in self.parts

    def __or__(self, other: Places) -> Places:
        spans = [s for s in (self.lines, other.lines) if s is not None]
        lines = (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None
        return Places(lines, self.pages | other.pages, self.stamps | other.stamps,
                      self.parts | other.parts, self.ids | other.ids)


def chunk_places(chunk: ChunkLike) -> Places:
    """What a chunk of any kind can be cited by: text and HTML by their lines, PDF by its
    pages, a timed transcript by its timestamps (an untimed one by its part), mail by the
    Message-IDs of its messages."""
    first_line, last_line = getattr(chunk, "first_line", None), getattr(chunk, "last_line", None)
    first_page, last_page = getattr(chunk, "first_page", None), getattr(chunk, "last_page", None)
    stamps = getattr(chunk, "timestamps", None)
    ids = getattr(chunk, "message_ids", ())
    return Places(
        lines=(first_line, last_line) if first_line is not None and last_line else None,
        pages=frozenset(range(first_page, last_page + 1)) if first_page and last_page
        else frozenset(),
        stamps=frozenset(normalise_stamp(s) for s in stamps or ()),
        parts=frozenset({chunk.index + 1}) if stamps is not None and not stamps else frozenset(),
        ids=frozenset(i.strip("<>") for i in ids))


def document_places(chunks: Iterable[ChunkLike]) -> Places:
    places = Places()
    for chunk in chunks:
        places = places | chunk_places(chunk)
    return places


@dataclass
class Scope:
    """The documents (by name) a text may cite, and their places; `home`, when given, is the
    document a place that names none belongs to (a passage's own, in the map stage)."""

    documents: dict[str, Places] = field(default_factory=dict)
    home: str | None = None

    def resolve(self, name: str) -> str | None:
        """The document `name` names: exactly, else ignoring case, else by its stem when
        that is one document's."""
        if name in self.documents:
            return name
        for candidates in ([d for d in self.documents if d.lower() == name.lower()],
                           [d for d in self.documents if PurePath(d).stem == name]):
            if len(candidates) == 1:
                return candidates[0]
        return None

    def holds(self, ref: Ref) -> bool:
        if ref.doc is None and ref.place.kind == "id":
            return any(p.holds(ref.place) for p in self.documents.values())
        name = self.home if ref.doc is None else self.resolve(ref.doc)
        return name is not None and name in self.documents and \
            self.documents[name].holds(ref.place)


def check_refs(text: str, scope: Scope, *, mode: str = "flag") -> tuple[str, CitationReport]:
    """`text` with the citations `scope` does not hold flagged (mode "flag"), removed
    ("strip") or left ("keep"), as ghost.cite.check_citations does for one source."""
    return mark_citations(text, parse_refs, scope.holds, mode=mode,
                          shown=lambda ref: ref.shown, written=lambda ref: ref.text)


def cited_refs(text: str) -> list[Ref]:
    return [ref for match in BRACKET.finditer(text) for ref in parse_refs(match.group(1))]


_HEADING = re.compile(r"^\s*(#|\*\*[^*]+\*\*:?\s*$|---+\s*$)")


def uncited_claims(text: str) -> list[str]:
    """Lines of an answer that state something (a sentence of five words or more that is not a
    heading) and cite nothing."""
    claims = []
    for line in text.splitlines():
        stripped = line.strip().lstrip("-*•> ").strip()
        if (len(stripped.split()) < 5 or _HEADING.match(line) or stripped.endswith(":")
                or UNVERIFIED in stripped):
            continue
        if not cited_refs(stripped):
            claims.append(stripped[:160])
    return claims
