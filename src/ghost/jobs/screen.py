"""ghost screen: one category letter for a text, from the cheap model (see ghost/screen/).

    path = Path("corpora/episode-042.txt")
    job = ScreenJob(path, read_text(path))
    result = JobRun(job, RunOptions()).execute()
    result.verdict.letter, result.verdict.label    # ("A", "ok")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghost.jobs.runner import Document
from ghost.plan import Plan
from ghost.screen.classify import Verdict, plan_screen, run_screen, screen_stage_plan
from ghost.screen.examples import DEFAULT_K, ExampleSet
from ghost.session import Session


@dataclass
class ScreenResult:
    plan: Plan
    verdict: Verdict
    examples: ExampleSet | None = None

    @property
    def text(self) -> str:
        return f"{self.verdict.letter} {self.verdict.label}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"input": self.plan.source["input"], "plan": self.plan.to_dict()}
        if self.examples is not None:
            data["examples_file"] = self.examples.to_dict()
        return {**data, **self.verdict.to_dict()}


@dataclass
class ScreenJob:
    path: Path
    text: str
    examples_file: Path | None = None
    top_k: int = DEFAULT_K
    similarity: str = "auto"
    screen_model: str | None = None
    command: str = "screen"
    examples: ExampleSet | None = None  # as loaded, once the job has run
    verbose: bool = False               # say why each bad example line was skipped

    def run(self, session: Session) -> ScreenResult:
        from ghost.screen.categories import load_categories
        from ghost.screen.examples import load_examples

        session.add_input(self.path, self.text)
        if self.examples_file is not None:
            letters = load_categories(session.templates).letters
            examples = self.examples = load_examples(self.examples_file, letters=letters,
                                                     similarity=self.similarity)
            if examples.bad_lines:
                why = f" ({'; '.join(examples.problems)})" if self.verbose else ""
                session.say(f"{self.examples_file}: skipped {examples.bad_lines} bad "
                            f"line(s){why}")
        requests = plan_screen(session, self.text, spec=self.screen_model,
                               examples=self.examples, k=self.top_k)
        # Like every job: refuse up front (exit 2) when the estimate exceeds --budget.
        plan = Plan({"input": str(self.path)}, [screen_stage_plan(session, requests)])
        plan.check_budget(session.options.budget)
        return ScreenResult(plan, run_screen(session, requests), self.examples)

    def documents(self, result: ScreenResult, target: Path,
                  front: dict[str, Any]) -> list[Document]:
        return [Document(target, result.text + "\n")]
