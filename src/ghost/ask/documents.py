"""The documents a set of paths holds, each read as its kind and named for citing.

Paths are files, folders (walked recursively; hidden entries, the cache folder and ghost's own
outputs left out, so answers written into the folder are never read back) and glob patterns.
Each document is named by its path under the folder or glob it was found in (`q3/report.pdf`),
or by its file name when given alone, so adding a file to a folder renames no other document
and re-pays no other document's calls::

    found, skipped = find_documents([Path("docs"), Path("notes/*.md")])
    documents, unread = read_documents(found, reading)
    documents[0].name, documents[0].source.kind     # ("q3/report.pdf", "pdf")

Mail stays one document per mailbox, read by the mail kind alone, so its passages cite only
its own messages: an mbox or a .eml file, a Maildir (a folder with cur/ or new/), or a folder
holding nothing but message files. A file that cannot be read is skipped with its reason.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ghost.ask.citations import Places, chunk_places
from ghost.errors import GhostError, InputError
from ghost.sources import Reading, Source, SourceKind, detect_kind
from ghost.sources.mail import MESSAGE_SUFFIXES, MailKind

NAME_CHARS = 160
_UNCITABLE = re.compile(r"[\[\];,<>–—]")  # would end or split a citation
_SPACED_DASH = re.compile(r"\s[-–—]\s")


@dataclass(frozen=True)
class Found:
    path: Path
    name: str              # how citations name it
    mailbox: bool = False  # a folder read as one mailbox


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


@dataclass
class AskDocument:
    name: str
    source: Source
    places: Places = field(default_factory=Places)  # every place the document has
    chunk_places: list[Places] = field(default_factory=list)

    @classmethod
    def of(cls, name: str, source: Source) -> AskDocument:
        per_chunk = [chunk_places(c) for c in source.chunks]
        places = Places()
        for p in per_chunk:
            places = places | p
        return cls(name, source, places, per_chunk)


def citable(name: str) -> str:
    """A document name a citation can carry: one line, no brackets, semicolons, commas or
    spaced dashes (they end or split citations), at most NAME_CHARS characters."""
    name = _SPACED_DASH.sub("-", " ".join(name.split()))
    return _UNCITABLE.sub("_", name)[:NAME_CHARS] or "untitled"


def is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() or (path / "new").is_dir()


def is_message_folder(path: Path) -> bool:
    """A folder of nothing but message files (.eml, .msg): one mailbox."""
    try:
        files = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    except OSError:
        return False
    return bool(files) and all(p.suffix.lower() in MESSAGE_SUFFIXES for p in files)


def is_mailbox_folder(path: Path) -> bool:
    return is_maildir(path) or is_message_folder(path)


def find_documents(paths: Sequence[Path], *, exclude: Sequence[Path] = ()
                   ) -> tuple[list[Found], list[Skipped]]:
    """Every document under `paths`, in order, each once; a missing path or a glob that
    matches nothing is an InputError (a typo should not pass for an empty folder)."""
    from ghost.write.markdown import written_by_ghost

    excluded = [_resolved(p) for p in exclude]
    found: list[Found] = []
    skipped: list[Skipped] = []
    seen: set[Path] = set()
    for given in paths:
        for path, name, mailbox in _expand(given, excluded, skipped):
            key = _resolved(path)
            if key in seen or any(key == e or e in key.parents for e in excluded):
                continue
            seen.add(key)
            if path != given and not mailbox and written_by_ghost(path):  # found, not named
                skipped.append(Skipped(path, "written by ghost"))
                continue
            found.append(Found(path, citable(name), mailbox))
    return _distinct_names(found), skipped


def _expand(given: Path, excluded: list[Path],
            skipped: list[Skipped]) -> Iterator[tuple[Path, str, bool]]:
    text = str(given)
    if glob.has_magic(text) and not given.exists():  # "notes [draft].md" is a file
        matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
        if not matches:
            raise InputError(f"{given}: matches no file")
        base = _glob_base(given)
        for match in matches:
            if match.is_dir():
                yield from _walk(match, base, excluded, skipped)
            else:
                yield match, _relative(match, base), False
        return
    if given.is_dir():
        if is_mailbox_folder(given):
            yield given, given.resolve().name, True
        else:
            yield from _walk(given, given, excluded, skipped)
    elif given.exists() or given.is_symlink():
        yield given, given.name, False
    else:
        raise InputError(f"{given}: no such file or folder")


def _walk(folder: Path, base: Path, excluded: list[Path],
          skipped: list[Skipped]) -> Iterator[tuple[Path, str, bool]]:
    """Files under `folder` (sorted; hidden ones and excluded folders left out), a mailbox
    folder as one entry; named relative to `base`."""
    entries: list[tuple[Path, bool]] = []

    def unreadable(exc: OSError) -> None:
        skipped.append(Skipped(Path(exc.filename or folder), exc.strerror or "unreadable"))

    for here, folders, files in os.walk(folder, onerror=unreadable):
        at = Path(here)
        kept = []
        for name in sorted(folders):
            sub = at / name
            if name.startswith(".") or _resolved(sub) in excluded:
                continue
            if is_mailbox_folder(sub):
                entries.append((sub, True))
            else:
                kept.append(name)
        folders[:] = kept
        entries += [(at / name, False) for name in files if not name.startswith(".")]
    for path, mailbox in sorted(entries):
        yield path, _relative(path, base), mailbox


def _glob_base(pattern: Path) -> Path:
    parts = pattern.parts
    cut = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    return Path(*parts[:cut]) if cut else Path(".")


def _relative(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix() if path != base else path.name
    except ValueError:
        return path.as_posix()


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def _distinct_names(found: list[Found]) -> list[Found]:
    """Documents that share a name (two `notes.md` given apart) are named by their paths,
    then numbered if that is not enough."""
    names = [f.name for f in found]
    renamed = [f if names.count(f.name) == 1 else Found(f.path, citable(f.path.as_posix()),
                                                        f.mailbox) for f in found]
    taken: dict[str, int] = {}
    distinct = []
    for f in renamed:
        taken[f.name] = taken.get(f.name, 0) + 1
        name = f.name if taken[f.name] == 1 else f"{f.name}~{taken[f.name]}"
        distinct.append(Found(f.path, name, f.mailbox))
    return distinct


def kind_for(found: Found) -> SourceKind:
    """Mail (an mbox, a message file, a mailbox folder) is read as mail; anything else as the
    first kind that recognises it (PDF, HTML, transcript, else plain text)."""
    mail = MailKind()
    if found.mailbox or (found.path.is_file() and mail.detects(found.path)):
        return mail
    return detect_kind(found.path)


_TEXT_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16 and UTF-32 text holds NUL bytes


def looks_binary(path: Path) -> bool:
    """A file whose first 8 KB hold a NUL byte (and no UTF-16/32 mark) and that is no PDF: a
    video or an archive in the folder is skipped without being read whole."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
    except OSError:
        return False  # reading it says why, as the reason it is skipped
    return b"\x00" in head and not head.startswith((*_TEXT_BOMS, b"%PDF-"))


def read_documents(found: Sequence[Found], reading: Reading
                   ) -> tuple[list[AskDocument], list[Skipped]]:
    """Each document read as its kind; those that cannot be read, with the reason."""
    documents: list[AskDocument] = []
    skipped: list[Skipped] = []
    for item in found:
        if not item.mailbox and item.path.is_file() and looks_binary(item.path):
            skipped.append(Skipped(item.path, "a binary file, not text"))
            continue
        try:
            source = kind_for(item).load(item.path, reading)
        except (GhostError, OSError, ValueError, UnicodeError, RecursionError) as exc:
            skipped.append(Skipped(item.path, short_reason(item.path, exc)))
            continue
        if not source.chunks:
            skipped.append(Skipped(item.path, "holds no text"))
            continue
        source.title = item.name
        documents.append(AskDocument.of(item.name, source))
    return documents, skipped


def short_reason(path: Path, exc: BaseException) -> str:
    """`exc` in a few words: without the path it starts with, up to its advice."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    text = str(exc)
    for prefix in (f"{path}: ", f"{path.name}: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text.split(";")[0].strip()[:120] or type(exc).__name__


def describe_skipped(skipped: Sequence[Skipped], shown: int = 3) -> str:
    """One line: `skipped 4 files: a.bin (looks like a binary file, not text), …`."""
    first = ", ".join(f"{s.path.name} ({s.reason})" for s in skipped[:shown])
    more = f" and {len(skipped) - shown} more" if len(skipped) > shown else ""
    files = "file" if len(skipped) == 1 else "files"
    return f"skipped {len(skipped)} {files}: {first}{more}"
