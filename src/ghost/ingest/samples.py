"""Load an author's past essays (style samples) from a folder of Markdown or text files."""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ghost.errors import InputError
from ghost.ingest.text import read_text
from ghost.write.markdown import is_ghost_text

SAMPLE_SUFFIXES = (".md", ".markdown", ".txt")
WRITTEN_BY_GHOST = "written by ghost"  # how a skipped sample that ghost wrote is reported

log = logging.getLogger(__name__)

_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_FENCE = re.compile(r"^---[ \t]*$")
_FENCE_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$")


@dataclass(frozen=True)
class Sample:
    """One past essay: where it came from, its title and date, and its body text."""

    path: Path
    title: str
    date: datetime.date | None
    text: str
    sha256: str


def load_samples(folder: str | Path, *, exclude: Iterable[Path] = ()
                 ) -> tuple[list[Sample], list[tuple[Path, str]]]:
    """Read every .md/.markdown/.txt file under `folder`, sorted by path.

    Returns (samples, skipped) where skipped lists (path, reason) for files that are empty,
    binary, undecodable, written by ghost (front matter `generator: "ghost"`: its essays and
    notes are not the author's) or repeat an earlier file's text. Hidden files and folders
    are ignored, and so are the folders in `exclude` (`ghost run`'s outputs) when they lie
    inside `folder`. Raises InputError when `folder` is missing, is a file, or yields no usable
    sample.
    """
    root = Path(folder)
    if not root.exists():
        raise InputError(f"{root}: no such folder; pass the folder that holds your past essays")
    if not root.is_dir():
        raise InputError(f"{root}: is a file; pass the folder that holds your past essays")
    samples: list[Sample] = []
    skipped: list[tuple[Path, str]] = []
    seen: dict[str, Path] = {}
    for path in _sample_files(root, exclude):
        try:
            sample = _load_one(path)
        except InputError as exc:
            skipped.append((path, str(exc).removeprefix(f"{path}: ")))
            continue
        if sample.sha256 in seen:
            skipped.append((path, f"same text as {seen[sample.sha256]}"))
            continue
        seen[sample.sha256] = path
        samples.append(sample)
    if not samples:
        detail = ""
        if skipped:
            detail = f" ({len(skipped)} skipped, e.g. {skipped[0][0].name}: {skipped[0][1]})"
        raise InputError(f"{root}: no usable style samples{detail}; add past essays as "
                         f"{', '.join(SAMPLE_SUFFIXES)} files")
    return samples, skipped


def load_impostors(folder: str | Path, *, called: str,
                   samples: Iterable[Sample] = ()) -> tuple[str, ...]:
    """Other writers' texts for the style check, read like samples: errors name the setting
    (`called`, e.g. "--impostors"), skipped files are logged, and a text that is also one of
    the author's `samples` is dropped (it would make the author their own impostor)."""
    try:
        found, skipped = load_samples(folder)
    except InputError as exc:
        raise InputError(f"{called} (other writers' texts): "
                         + str(exc).split("; ")[0]) from None
    for path, reason in skipped:
        log.warning("skipped impostor text %s: %s", path, reason)
    own = {s.sha256 for s in samples}
    kept = tuple(s.text for s in found if s.sha256 not in own)
    if not kept:
        raise InputError(f"{called} (other writers' texts): {folder}: every text there is "
                         "also among the samples; give other writers' texts")
    if len(kept) < len(found):
        log.warning("%s: %d text(s) also among the samples were left out", called,
                    len(found) - len(kept))
    return kept


def order_samples_by_recency(samples: Iterable[Sample]) -> list[Sample]:
    """Newest first; undated samples last. Ties and undated samples go by path."""
    return sorted(samples, key=lambda s: (s.date is None,
                                          -s.date.toordinal() if s.date else 0, s.path))


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split `---` front matter (simple `key: value` lines) from the body.

    Text without a closing fence has no front matter (a leading `---` may be a rule).
    """
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0]):
        return {}, text
    for end in range(1, len(lines)):
        if _FENCE_END.match(lines[end]):
            break
    else:
        return {}, text
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        key, sep, value = line.partition(":")
        if sep and key.strip() and not line[:1].isspace():
            meta[key.strip().lower()] = _unquote(value.strip())
    return meta, "\n".join(lines[end + 1:])


def _sample_files(root: Path, exclude: Iterable[Path] = ()) -> list[Path]:
    home = root.resolve()
    # A folder that holds the samples folder cannot be told apart by place: front matter can.
    skip = {p for p in (e.resolve() for e in exclude) if home != p and p not in home.parents}
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")
                       and (Path(dirpath) / d).resolve() not in skip]
        found.extend(Path(dirpath) / name for name in filenames
                     if not name.startswith(".") and name.lower().endswith(SAMPLE_SUFFIXES))
    return sorted(found)


def _load_one(path: Path) -> Sample:
    text = read_text(path).lstrip("\ufeff")
    if is_ghost_text(text):
        raise InputError(f"{path}: {WRITTEN_BY_GHOST} (its front matter says generator: "
                         "\"ghost\"), not by the author; remove that line if it is yours now")
    meta, body = split_front_matter(text)
    body = body.strip()
    if not body:
        raise InputError(f"{path}: has front matter but no text")
    return Sample(path=path, title=_title(meta, body, path), date=_date(meta, path), text=body,
                  sha256=hashlib.sha256(body.encode("utf-8")).hexdigest())


def _title(meta: dict[str, str], body: str, path: Path) -> str:
    if meta.get("title"):
        return meta["title"]
    heading = _HEADING.search(body)
    return heading.group(1) if heading else path.stem


def _date(meta: dict[str, str], path: Path) -> datetime.date | None:
    for candidate in (meta.get("date", ""), path.name):
        match = _DATE.search(candidate)
        if match:
            try:
                return datetime.date(*(int(g) for g in match.groups()))
            except ValueError:
                continue
    return None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value
