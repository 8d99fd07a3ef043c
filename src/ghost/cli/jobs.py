"""Run a job from the command line and print what it did: the plan (dry run), the result (to
-o FILE or stdout), the ledger, and with --json the run report."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from ghost.cli.common import Console, RunContext
from ghost.jobs.runner import Hooks, Job, JobRun
from ghost.plan import Plan


class TextResult(Protocol):
    plan: Plan
    text: str

    def to_dict(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=TextResult)


def hooks_for(console: Console) -> Hooks:
    return Hooks(progress=console.progress, say=console.info)


def failure_report(command: str, run: JobRun[Any], exc: Exception) -> dict[str, Any]:
    """The --json report of a run that failed: its error line, exit code, what it spent."""
    from ghost.errors import GhostError
    from ghost.logs import redact

    return {"command": command, "status": run.status or "failed",
            "error": redact(str(exc)),
            "exit_code": exc.exit_code if isinstance(exc, GhostError) else 1,
            "ledger": run.ledger.to_dict(),
            "manifest": str(run.manifest) if run.manifest else None}


def execute(ctx: RunContext, job: Job[T]) -> T:
    """Run `job` with the command's options; print the plan or write the result; report."""
    from ghost.write.markdown import render_document

    console, options = ctx.console, ctx.options
    run = JobRun(job, options, hooks_for(console))
    try:
        result = run.execute(ctx.output)
    except Exception as exc:
        if console.as_json:  # a script reading stdout learns why, and what was spent
            console.report(failure_report(job.command, run, exc))
        raise
    finally:
        console.clear_progress()
        if run.status != "ok" and run.ledger.stages:
            console.info(run.ledger.render())  # what a failed run spent, before its error
    report: dict[str, Any] = {"command": job.command, **result.to_dict()}
    if options.dry_run:
        if not console.as_json:
            console.result(result.plan.render())
    else:
        if ctx.output is not None:
            report["output"] = str(ctx.output)
            for path in run.written:
                console.info(f"wrote {path}")
        elif console.as_json:
            report["text"] = result.text
        else:
            console.result(render_document(result.text))
        report["ledger"] = run.ledger.to_dict()
        report["manifest"] = str(run.manifest) if run.manifest else None
        console.info(run.ledger.render())
    if console.as_json:
        console.report(report)
    return result
