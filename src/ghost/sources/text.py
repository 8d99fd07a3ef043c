"""Plain text (and Markdown): chunks by paragraph, cited by line range, e.g. [L120-L184]."""

from __future__ import annotations

import re
from pathlib import Path

from ghost.chunk.text import chunk_text
from ghost.cite import CitationForm, register_form
from ghost.ingest.text import read_text
from ghost.sources import Reading, Source, SourceKind, register_kind, source_title

LINE_RANGE = re.compile(r"^L\d+-L\d+$")


class TextKind(SourceKind):
    name = "text"

    def detects(self, path: Path) -> bool:
        return path.is_file()

    def load(self, path: Path, reading: Reading) -> Source:
        text = read_text(path)
        chunks = chunk_text(text, max_tokens=reading.chunk_tokens,
                            count_tokens=reading.count_tokens)
        return Source(path, source_title(path), self.name, text, chunks,
                      frozenset(c.label for c in chunks))


register_form(CitationForm("line range", lambda token: bool(LINE_RANGE.match(token))))
register_kind(TextKind())
