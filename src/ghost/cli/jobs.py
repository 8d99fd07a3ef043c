"""Run a pipeline job from the CLI: session, plan or result, output file, ledger and report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ghost.cli.common import Console
from ghost.options import RunOptions
from ghost.plan import Plan
from ghost.session import Session


class JobResult(Protocol):
    plan: Plan
    text: str

    def to_dict(self) -> dict[str, Any]: ...


def run_job(command: str, options: RunOptions, console: Console,
            job: Callable[[Session], JobResult], *, output: Path | None,
            meta: Callable[[Session, JobResult], dict[str, Any]] | None = None) -> JobResult:
    """Run `job` in a session; print the plan (dry run) or write the result; report."""
    from ghost.write.markdown import render_document, write_document

    session = Session(command, options)
    status = "failed"
    report: dict[str, Any] = {"command": command}
    try:
        result = job(session)
        report.update(result.to_dict())
        if options.dry_run:
            if not console.as_json:
                console.result(result.plan.render())
        else:
            front = meta(session, result) if meta else default_meta(session, result)
            if output is not None:
                write_document(output, result.text, front)
                report["output"] = str(output)
                console.info(f"wrote {output}")
            elif console.as_json:
                report["text"] = result.text
            else:
                console.result(render_document(result.text))
        status = "ok"
    finally:
        console.clear_progress()
        manifest = session.close(status)
        if status != "ok" and session.ledger.stages:
            console.info(session.ledger.render())  # what a failed run spent, before its error
    if not options.dry_run:
        report["ledger"] = session.ledger.to_dict()
        report["manifest"] = str(manifest) if manifest else None
        console.info(session.ledger.render())
    if console.as_json:
        console.report(report)
    return result


def default_meta(session: Session, result: JobResult) -> dict[str, Any]:
    ledger = session.ledger
    return {
        "generator": "ghost",
        "source": result.plan.source.get("source") or result.plan.source.get("mailbox"),
        "map_model": session.info("map").spec,
        "reduce_model": session.info("reduce").spec,
        "calls": ledger.calls,
        "input_tokens": sum(s.usage.prompt_tokens for s in ledger.stages.values()),
        "output_tokens": sum(s.usage.output_tokens for s in ledger.stages.values()),
        "cost_usd": round(ledger.spent, 4),
    }
