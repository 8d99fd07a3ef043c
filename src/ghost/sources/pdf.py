"""PDF documents (their text layer, read with pypdf): chunks of whole pages, cited by page,
e.g. [p.4] (or [report.pdf p.4] where several documents are asked at once).

Each page's text is headed `[p.N]` in its chunk, so the map model can cite the page a passage
is on; a page longer than a chunk is cut by the plain-text splitter, every piece keeping its
page. Pages are packed with the same content-defined boundaries as text, so an edited page
re-chunks only the pages around it. pypdf is imported when a PDF is read, never at start-up.

    source = load_source(Path("report.pdf"), reading)
    source.kind, sorted(source.citations)   # ("pdf", ["p.1", "p.2", ...])
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from ghost.chunk.boundaries import chunk_ends
from ghost.chunk.text import chunk_text
from ghost.cite import CitationForm, register_form
from ghost.errors import InputError
from ghost.sources import Reading, Source, SourceKind, register_kind, source_title

PAGE = re.compile(r"^pp?\.\s?(\d+)$")
PAGE_RANGE = re.compile(r"^pp?\.\s?(\d+)\s?-\s?(?:p\.\s?)?(\d+)$")
PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class PageChunk:
    index: int
    text: str
    tokens: int
    first_page: int
    last_page: int

    @property
    def label(self) -> str:
        if self.first_page == self.last_page:
            return f"p.{self.first_page}"
        return f"p.{self.first_page}-{self.last_page}"

    @property
    def citations(self) -> frozenset[str]:
        return frozenset(f"p.{n}" for n in range(self.first_page, self.last_page + 1))


def page_texts(path: Path) -> list[str]:
    """The text of every page, in order ("" for a page without a text layer)."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError:  # pragma: no cover - pypdf is a dependency
        raise InputError(f"{path}: reading PDF needs pypdf (pip install pypdf)") from None
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are about the file
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"{path}: is an encrypted PDF; save a copy without a password")
        return [page.extract_text() or "" for page in reader.pages]
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError, NotImplementedError) as exc:
        # pypdf reads untrusted bytes: a broken file fails in many ways, each one line here
        raise InputError(f"{path}: not a readable PDF ({type(exc).__name__})") from None


def page_chunks(pages: list[str], reading: Reading) -> list[PageChunk]:
    """Pages (1-based by position) packed into chunks of at most `reading.chunk_tokens`."""
    units: list[tuple[int, str, int]] = []  # (page, text, tokens)
    room = max(1, reading.chunk_tokens - 8)  # the page heading's few tokens
    for number, raw in enumerate(pages, start=1):
        text = "\n".join(line.rstrip() for line in raw.replace("\r", "\n").split("\n")).strip()
        if not text:
            continue
        tokens = reading.count_tokens(text)
        if tokens <= room:
            units.append((number, f"[p.{number}]\n{text}", tokens + 4))
            continue
        for piece in chunk_text(text, max_tokens=room, count_tokens=reading.count_tokens):
            units.append((number, f"[p.{number}]\n{piece.text.strip()}", piece.tokens + 4))
    chunks: list[PageChunk] = []
    start = 0
    for end in chunk_ends([(t, n) for _, t, n in units], max_tokens=reading.chunk_tokens,
                          sep_tokens=1):
        group = units[start:end]
        chunks.append(PageChunk(len(chunks), "\n\n".join(t for _, t, _ in group),
                                sum(n for _, _, n in group) + len(group) - 1,
                                group[0][0], group[-1][0]))
        start = end
    return chunks


class PdfKind(SourceKind):
    name = "pdf"

    def detects(self, path: Path) -> bool:
        if not path.is_file():
            return False
        if path.suffix.lower() == ".pdf":
            return True
        try:
            with open(path, "rb") as fh:
                return fh.read(len(PDF_MAGIC)) == PDF_MAGIC
        except OSError:
            return False

    def load(self, path: Path, reading: Reading) -> Source:
        pages = page_texts(path)
        chunks = page_chunks(pages, reading)
        if not chunks:
            raise InputError(f"{path}: the PDF has no text layer ({len(pages)} pages; a "
                             "scanned PDF needs OCR first)")
        text = "\n\n".join(c.text for c in chunks)
        citations: frozenset[str] = frozenset().union(*(c.citations for c in chunks))
        return Source(path, source_title(path), self.name, text, chunks, citations,
                      {"pages": len(pages)})


def normalise_page(token: str) -> str:
    match = PAGE.match(token.strip())
    return f"p.{int(match.group(1))}" if match else token.strip()


def page_range_ends(token: str) -> list[str] | None:
    match = PAGE_RANGE.match(token.strip())
    return [f"p.{match.group(1)}", f"p.{match.group(2)}"] if match else None


register_form(CitationForm("page", lambda token: bool(PAGE.match(token.strip())),
                           normalise_page, page_range_ends))
register_kind(PdfKind())
