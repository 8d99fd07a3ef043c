"""A live progress bar on a terminal (rich, which typer already brings), one row per stage.

Lines said while it runs print above it; it disappears when the command ends."""

from __future__ import annotations

from typing import Any


class LiveBar:
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(),
                                  console=Console(stderr=True), transient=True)
        self._tasks: dict[str, Any] = {}
        self._started = False

    def update(self, stage: str, done: int, total: int) -> None:
        if not self._started:
            self._progress.start()
            self._started = True
        task = self._tasks.get(stage)
        if task is None or done <= 1:
            if task is not None:
                self._progress.remove_task(task)
            task = self._tasks[stage] = self._progress.add_task(stage, total=total)
        self._progress.update(task, completed=done, total=total)

    def say(self, line: str) -> None:
        self._progress.console.print(line, markup=False, highlight=False, soft_wrap=True)

    @property
    def live(self) -> bool:
        return self._started

    def stop(self) -> None:
        if self._started:
            self._progress.stop()
            self._started = False
            self._tasks.clear()
