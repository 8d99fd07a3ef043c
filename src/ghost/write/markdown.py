"""Write the final document: a front-matter block of run facts, then the text.

Every Markdown document ghost writes opens with front matter saying `generator: "ghost"`, so
ghost can tell its own files from the user's (`written_by_ghost`): `ghost run` never takes
last week's essay for an episode, or ghost's essays for the host's samples.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ghost.write.atomic import write_text_atomic

GENERATOR = "ghost"
_HEAD_BYTES = 8192  # front matter is short: what `written_by_ghost` reads of a file
_GENERATOR_LINE = re.compile(r'^generator:[ \t]*(["\']?)ghost\1[ \t]*$')
_FENCE_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$")


def front_matter(meta: dict[str, Any]) -> str:
    """YAML front matter; values are JSON-encoded scalars or lists, which YAML reads as-is."""
    lines = ["---"]
    for key, value in meta.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {k}: {json.dumps(v, ensure_ascii=False)}" for k, v in value.items()]
        else:
            lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    lines.append("---")
    return "\n".join(lines) + "\n\n"


def render_document(text: str, meta: dict[str, Any] | None = None) -> str:
    body = text.strip() + "\n"
    return front_matter(meta) + body if meta else body


def write_document(path: str | Path, text: str, meta: dict[str, Any] | None = None, *,
                   mode: int | None = None) -> Path:
    """`mode=None`: the umask decides, as for `open()`; else exactly `mode` (see atomic.py)."""
    return write_text_atomic(path, render_document(text, meta), mode=mode)


def is_ghost_text(text: str) -> bool:
    """Whether `text` opens with front matter that names ghost as its generator."""
    lines = text.lstrip("\ufeff").split("\n")
    if not lines or lines[0].rstrip() != "---":
        return False
    for line in lines[1:]:
        if _FENCE_END.match(line):
            return False
        if _GENERATOR_LINE.match(line.rstrip("\r")):
            return True
    return False  # no closing fence in the head: not front matter


def written_by_ghost(path: str | Path) -> bool:
    """Whether the file at `path` is one ghost wrote (its front matter says so); False for a
    file that cannot be read."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError:
        return False
    return is_ghost_text(head.decode("utf-8", errors="replace"))
