"""Write the final document: a front-matter block of run facts, then the text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ghost.write.atomic import write_text_atomic


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


def write_document(path: str | Path, text: str, meta: dict[str, Any] | None = None) -> Path:
    return write_text_atomic(path, render_document(text, meta))
