"""HTML pages (.html, .htm, .xhtml, or a file that opens with <!DOCTYPE html> or <html>):
cleaned to text by the cleaner mail uses for HTML bodies (scripts, styles and markup dropped,
paragraph breaks kept), then chunked and cited by line range of that text, like plain text.

    source = load_source(Path("page.html"), reading)
    source.kind, source.chunks[0].label     # ("html", "L1-L40")
"""

from __future__ import annotations

from pathlib import Path

from ghost.chunk.text import chunk_text
from ghost.errors import InputError
from ghost.ingest.mail.html import html_to_text
from ghost.ingest.text import read_text
from ghost.sources import Reading, Source, SourceKind, register_kind, source_title

HTML_SUFFIXES = (".html", ".htm", ".xhtml")
HTML_OPENINGS = (b"<!doctype html", b"<html")


class HtmlKind(SourceKind):
    name = "html"

    def detects(self, path: Path) -> bool:
        if not path.is_file():
            return False
        if path.suffix.lower() in HTML_SUFFIXES:
            return True
        try:
            with open(path, "rb") as fh:
                head = fh.read(512).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        except OSError:
            return False
        return head.startswith(HTML_OPENINGS)

    def load(self, path: Path, reading: Reading) -> Source:
        text = html_to_text(read_text(path))
        if not text.strip():
            raise InputError(f"{path}: the page holds no text once its markup is removed")
        text += "\n"
        chunks = chunk_text(text, max_tokens=reading.chunk_tokens,
                            count_tokens=reading.count_tokens)
        return Source(path, source_title(path), self.name, text, chunks,
                      frozenset(c.label for c in chunks))


register_kind(HtmlKind())
