"""Find the messages under a path (mbox, Maildir, folder of message files, one .eml) and read
them, optionally on several processes.

Work is cut into tasks that a worker can do alone: a byte range of an mbox (a message
belongs to the range its separator line starts in) or a group of one-message files.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from ghost.errors import InputError
from ghost.ingest.mail.mbox import iter_mbox, looks_like_mbox
from ghost.ingest.mail.parse import parse_message
from ghost.ingest.mail.records import MailRecord, ReadStats

log = logging.getLogger(__name__)

SEGMENT_BYTES = 8 * 1024 * 1024
FILES_PER_TASK = 256
_SNIFF = 4096
R = TypeVar("R")


class RawMessage(NamedTuple):
    data: bytes
    source: str
    offset: int | None  # byte offset in an mbox; None for a one-message file


@dataclass(frozen=True)
class MboxTask:
    path: str
    start: int
    end: int


@dataclass(frozen=True)
class FilesTask:
    paths: tuple[str, ...]


Task = MboxTask | FilesTask


@dataclass
class TaskResult:
    task: Task
    records: list[MailRecord] = field(default_factory=list)
    stats: ReadStats = field(default_factory=ReadStats)


def task_bytes(task: Task) -> int:
    """The bytes of mail a task reads: its byte range, or its files' sizes."""
    if isinstance(task, MboxTask):
        return task.end - task.start
    return sum(_size(p) for p in task.paths)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:  # gone since it was found: reading it will say so
        return 0


def kind_of_file(path: Path) -> str:
    """'mbox', 'message', or a reason the file is not mail ('empty', 'binary', 'not_mail')."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF)
    except OSError:
        return "unreadable"
    if not head.strip():
        return "empty"
    if looks_like_mbox(head):
        return "mbox"
    if b"\0" in head:
        return "binary"
    first_line = head.lstrip(b"\r\n").split(b"\n", 1)[0]
    name, colon, _ = first_line.partition(b":")
    if colon and name and b" " not in name.strip() and name.strip().isascii():
        return "message"
    if first_line.startswith(b"From ") and b":" in head:
        return "message"  # an envelope line without a date, then headers
    return "not_mail"


def discover(path: str | Path, stats: ReadStats | None = None) -> tuple[list[Path], list[Path]]:
    """(mbox files, one-message files) under `path`; other files are skipped and counted."""
    stats = stats if stats is not None else ReadStats()
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder; pass an mbox file, a Maildir or an .eml")
    if p.is_file():
        kind = kind_of_file(p)
        if kind == "mbox":
            return [p], []
        if kind == "message":
            return [], [p]
        raise InputError(f"{p}: is {kind.replace('_', ' ')}, not an mbox or a message; "
                         "pass an mbox file, a Maildir folder or an .eml file")
    mboxes: list[Path] = []
    messages: list[Path] = []
    _walk(p, mboxes, messages, stats)
    if not mboxes and not messages and stats.total_skipped:
        raise InputError(f"{p}: no mail found in this folder ({stats.total_skipped} other "
                         "files); pass an mbox file, a Maildir or a folder of .eml files")
    return mboxes, messages


def _walk(p: Path, mboxes: list[Path], messages: list[Path], stats: ReadStats) -> None:
    for root, dirs, files in os.walk(p):
        dirs.sort()
        if Path(root).name == "tmp" and {"cur", "new"} & set(os.listdir(Path(root).parent)):
            stats.skipped["maildir_tmp"] += len(files)  # deliveries in progress
            continue
        for name in sorted(files):
            f = Path(root, name)
            if name.startswith("."):
                stats.skip("hidden_file")
                continue
            kind = kind_of_file(f)
            if kind == "mbox":
                mboxes.append(f)
            elif kind == "message":
                messages.append(f)
            else:
                stats.skip(f"file_{kind}")
                log.debug("skipping %s: %s", f, kind)


def plan(path: str | Path, stats: ReadStats | None = None,
         segment_bytes: int = SEGMENT_BYTES) -> list[Task]:
    """Tasks that together read every message under `path` once."""
    mboxes, messages = discover(path, stats)
    tasks: list[Task] = []
    for mbox in mboxes:
        tasks.extend(mbox_tasks(mbox, 0, segment_bytes=segment_bytes))
    tasks.extend(file_tasks(messages))
    return tasks


def mbox_tasks(path: Path, start: int, end: int | None = None,
               segment_bytes: int = SEGMENT_BYTES) -> list[Task]:
    end = path.stat().st_size if end is None else end
    cuts = [*range(start, end, segment_bytes), end]
    return [MboxTask(str(path), a, b) for a, b in itertools.pairwise(cuts) if b > a]


def file_tasks(paths: list[Path]) -> list[Task]:
    return [FilesTask(tuple(str(p) for p in paths[i : i + FILES_PER_TASK]))
            for i in range(0, len(paths), FILES_PER_TASK)]


def iter_task(task: Task, stats: ReadStats) -> Iterator[RawMessage]:
    """The raw messages of one task."""
    if isinstance(task, MboxTask):
        for offset, data in iter_mbox(task.path, task.start, task.end, stats):
            yield RawMessage(data, task.path, offset)
        return
    for name in task.paths:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            log.warning("%s: cannot read (%s)", name, exc.strerror)
            stats.skip("unreadable")
            continue
        yield RawMessage(data, name, None)


def run_task(task: Task) -> TaskResult:
    """Read and parse one task (the unit of work of a worker process)."""
    result = TaskResult(task)
    for raw in iter_task(task, result.stats):
        record = parse_message(raw.data, raw.source, raw.offset, result.stats)
        if record is not None:
            result.records.append(record)
    return result


def run_tasks(tasks: Iterable[Task], fn: Callable[[Task], R], workers: int = 1) -> Iterator[R]:
    """`fn(task)` for each task, in order; with workers > 1 on a process pool (fork).

    At most workers + 1 tasks are in flight, so memory stays flat when the consumer (the
    index) is slower than the parsers.
    """
    if workers <= 1:
        for task in tasks:
            yield fn(task)
        return
    import multiprocessing as mp
    from collections import deque

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    with ctx.Pool(workers) as pool:
        pending: deque[Any] = deque()
        todo = iter(tasks)
        for task in todo:
            pending.append(pool.apply_async(fn, (task,)))
            if len(pending) > workers:
                break
        while pending:
            result = pending.popleft().get()
            for task in todo:
                pending.append(pool.apply_async(fn, (task,)))
                break
            yield result


def iter_messages(path: str | Path, stats: ReadStats | None = None) -> Iterator[RawMessage]:
    """Raw messages under `path`, detecting mbox / Maildir / folder / single message."""
    stats = stats if stats is not None else ReadStats()
    for task in plan(path, stats, segment_bytes=1 << 62):
        yield from iter_task(task, stats)


def iter_records(path: str | Path, stats: ReadStats | None = None,
                 workers: int = 1) -> Iterator[MailRecord]:
    """Parsed records under `path` (duplicates included: see `threads.dedupe`)."""
    stats = stats if stats is not None else ReadStats()
    tasks = plan(path, stats)
    for result in run_tasks(tasks, run_task, workers if len(tasks) > 1 else 1):
        stats.merge(result.stats)
        yield from result.records
