"""The map side of `ghost ask`: one request per chunk, and its reply turned into passages whose
citations are checked against the chunk they came from.

A request holds the question, the document's name, the chunk and how to cite it, and nothing
about the other documents: its cache key depends on those alone, so a document added to the
folder costs its own calls only. A reply is NOTHING or a bullet list of passages::

    passages = checked_passages(doc, 0, '- "Sales rose 4%" [report.pdf p.2]', report)
    passages[0].citations   # ("report.pdf p.2",) when page 2 is in chunk 0; else dropped

A bullet that cites nothing is cited by its whole chunk (`[notes.md L1-L40]`); other text that
cites nothing is the model talking, and dropped (counted as uncited); a passage whose every
citation fails is dropped (counted as miscited); one with some good citations keeps only those.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ghost.ask.citations import Ref, Scope, check_refs, cited_refs, parse_refs
from ghost.ask.documents import AskDocument
from ghost.cite import BRACKET, CitationReport
from ghost.map.notes import Notes, is_nothing
from ghost.models.protocol import Message, Request
from ghost.privacy import DATAMARK
from ghost.sources import ChunkLike
from ghost.templates import Templates

MAP_TEMPLATE = "ask-map"
_BULLET = re.compile(r"^\s*(?:[-*•+]|\d{1,3}[.)])\s+")


@dataclass(frozen=True)
class Passage:
    document: str
    text: str                    # with its (checked) citations
    citations: tuple[str, ...]   # each with its document, e.g. "report.pdf p.4"
    chunk: int

    def to_dict(self) -> dict[str, Any]:
        return {"document": self.document, "citation": "; ".join(self.citations),
                "text": self.text}


@dataclass
class MapReport:
    citations: CitationReport = field(default_factory=CitationReport)
    passages: int = 0   # kept
    by_chunk: int = 0   # kept, cited by their chunk: a bullet that cited nothing
    uncited: int = 0    # dropped: text that is no bullet and cites nothing
    miscited: int = 0   # dropped: every citation failed

    def to_dict(self) -> dict[str, Any]:
        return {**self.citations.to_dict(), "passages": self.passages,
                "cited_by_chunk": self.by_chunk, "dropped_uncited": self.uncited,
                "dropped_miscited": self.miscited}


def citation_hint(document: AskDocument, chunk: ChunkLike) -> str:
    """How passages from `chunk` are cited, shown to the map model with the chunk."""
    name, kind = document.name, document.source.kind
    if kind == "mail":
        return "[<Message-ID>]: the Message-ID of the message the passage is from"
    if kind == "pdf":
        first = getattr(chunk, "first_page", 1)
        return f"[{name} p.{first}]: the page the passage is on (pages are headed [p.N])"
    stamps = getattr(chunk, "timestamps", None)
    if stamps:
        return (f"[{name} {min(stamps)}]: the timestamp the passage starts at (stamps are "
                "shown in the text)")
    if stamps is not None:
        return f"[{name} part {chunk.index + 1}]"
    return f"[{name} {chunk.label}]"


def map_requests(templates: Templates, document: AskDocument, question: str, *,
                 max_tokens: int) -> list[Request]:
    requests = []
    for chunk in document.source.chunks:
        prompt = templates.render(MAP_TEMPLATE, question=question, document=document.name,
                                  cite_as=citation_hint(document, chunk), text=chunk.text)
        requests.append(Request(system=prompt.system, messages=(Message.user(prompt.user),),
                                max_tokens=max_tokens, temperature=0.0, stage="map"))
    return requests


def split_passages(reply: str) -> list[tuple[str, bool]]:
    """The passages of a map reply, each with whether it was a bullet (a line that is no
    bullet continues the bullet before it; other text is an item of its own); none for
    NOTHING."""
    if is_nothing(reply):
        return []
    items: list[tuple[str, bool]] = []
    bulleted = False
    for line in reply.splitlines():
        if not line.strip():
            bulleted = False
            continue
        if _BULLET.match(line):
            items.append((_BULLET.sub("", line, count=1).strip(), True))
            bulleted = True
        elif bulleted and items:
            items[-1] = (f"{items[-1][0]} {line.strip()}", True)
        else:
            items.append((line.strip(), False))
    return [(text, bullet) for text, bullet in items if not is_nothing(text)]


def chunk_citation(document: AskDocument, chunk: ChunkLike, passage: str) -> str | None:
    """The place a bullet that cites nothing is cited by: its whole chunk, `[notes.md L1-L40]`,
    `[report.pdf p.3-5]`, `[ep12.txt 00:00:00-00:05:00]`; for mail, the message of the chunk
    that holds its words (None when no one message does)."""
    if document.source.kind == "mail":
        found = message_holding(chunk.text, passage)
        return f"[<{found}>]" if found else None
    stamps = getattr(chunk, "timestamps", None)
    if stamps:
        first, last = min(stamps), max(stamps)
        return f"[{document.name} {first}{'-' + last if last != first else ''}]"
    if stamps is not None:
        return f"[{document.name} part {chunk.index + 1}]"
    return f"[{document.name} {chunk.label}]"


_MESSAGE = re.compile(r"^Message-ID: <([^>\s]+)>$", re.M)
_QUOTE = re.compile(r'"([^"]{12,})"')


def _words(text: str) -> str:
    return " ".join(text.replace(DATAMARK, " ").split()).lower()


def message_holding(chunk_text: str, passage: str) -> str | None:
    """The Message-ID of the one message in a mail chunk whose text holds the passage's words
    (its quote, else the passage; the first 60 characters of it)."""
    quote = _QUOTE.search(passage)
    wanted = _words(quote.group(1) if quote else passage)[:60]
    text = chunk_text.replace(DATAMARK, "")
    heads = list(_MESSAGE.finditer(text))
    holding = {head.group(1) for n, head in enumerate(heads)
               if wanted and wanted in _words(text[head.end():heads[n + 1].start()
                                                   if n + 1 < len(heads) else len(text)])}
    return holding.pop() if len(holding) == 1 else None


def checked_passages(document: AskDocument, chunk: int, reply: str,
                     report: MapReport) -> list[Passage]:
    """The reply's passages whose citations hold in chunk `chunk` of `document`. A bullet
    that cites nothing is cited by its chunk (it came from there); other uncited text is the
    model talking, and dropped."""
    scope = Scope({document.name: document.chunk_places[chunk]}, home=document.name)
    kept = []
    for item, bullet in split_passages(reply.replace(DATAMARK, "")):
        if not cited_refs(item):
            whole = chunk_citation(document, document.source.chunks[chunk], item) \
                if bullet else None
            if whole is None:
                report.uncited += 1
                continue
            item = f"{item} {whole}"
            report.by_chunk += 1
        text, checked = check_refs(item, scope, mode="strip")
        report.citations.found += checked.found
        report.citations.unknown += checked.unknown
        good = cited_refs(text)
        if not good:
            report.miscited += 1
            continue
        citations = tuple(dict.fromkeys(_full(r, document.name) for r in good))
        kept.append(Passage(document.name, " ".join(_with_names(text, document.name).split()),
                            citations, chunk))
    report.passages += len(kept)
    return kept


def _full(ref: Ref, name: str) -> str:
    """A citation spelled out for the strong model: the document's full name and the place
    (a Message-ID alone)."""
    return f"<{ref.place.ends[0]}>" if ref.place.kind == "id" else f"{name} {ref.place_text}"


def _with_names(text: str, name: str) -> str:
    """`text` with every citation spelled out (`[00:14:05]` in a passage from ep12.txt, or
    `[ep12 00:14:05]`, becomes `[ep12.txt 00:14:05]`), so the strong model copies whole ones."""
    def spell(match: re.Match[str]) -> str:
        refs = parse_refs(match.group(1))
        return f"[{'; '.join(_full(r, name) for r in refs)}]" if refs else match.group(0)

    return BRACKET.sub(spell, text)


def passages_by_document(passages: Sequence[Passage]) -> list[Notes]:
    """The passages as one block per document, in document order, for the strong model."""
    blocks: dict[str, list[str]] = {}
    for passage in passages:
        blocks.setdefault(passage.document, []).append(f"- {passage.text}")
    return [Notes(n, name, "\n".join(lines)) for n, (name, lines) in enumerate(blocks.items())]


def render_blocks(blocks: Sequence[Notes]) -> str:
    return "\n\n".join(f"## {block.label}\n{block.text}" for block in blocks)
