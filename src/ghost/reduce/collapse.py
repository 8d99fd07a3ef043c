"""Fit notes into the reduce model's input budget by condensing groups of them, in rounds.

Each round packs consecutive notes into groups that fit one call, condenses every group
concurrently, and repeats until everything fits. Nothing is dropped: every note is in exactly
one group of every round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ghost.errors import GhostError
from ghost.map.notes import Notes, with_room
from ghost.models.protocol import Message, Request
from ghost.models.runner import Runner, Stage
from ghost.session import Session
from ghost.templates import Templates
from ghost.tokens import counter_for

MAX_ROUNDS = 8
GROUP_ROOM = 4000        # tokens of the collapse prompt's own instructions, and a margin
LARGEST_GROUP = 80_000   # notes per collapse call: below 100k-token prompt price tiers
COLLAPSE_TEMPLATE = "summarize-collapse"


def condense(session: Session, notes: Sequence[Notes], *, title: str,
             budget: int, template: str = COLLAPSE_TEMPLATE) -> tuple[list[Notes], int]:
    """`collapse_notes` on the run's collapse model (the map model unless --collapse-model),
    each call's notes kept within that model's context and under the 100k-token prompts
    some providers price higher. `template`: the collapse prompt (a profile merges per
    person and project: "profile-collapse")."""
    stage = session.stage("collapse")
    info, target = stage.info, session.info("reduce")
    max_tokens = session.max_tokens("collapse")
    # The output each call is really sent (with any thinking allowance) shares the context.
    group = min(budget, info.context - info.asked_output(max_tokens) - GROUP_ROOM, LARGEST_GROUP)
    return collapse_notes(session.runner, stage, notes, session.templates, title=title,
                          budget=budget, count_tokens=counter_for(target.tokenizer,
                                                                  target.token_margin),
                          max_tokens=max_tokens, group_budget=max(1000, group),
                          template=template)


def join_notes(notes: Sequence[Notes]) -> str:
    return "\n\n".join(f"## Part {n.index + 1} [{n.label}]\n{n.text}" for n in notes)


def pack_groups(notes: Sequence[Notes], budget: int,
                count_tokens: Callable[[str], int]) -> list[list[Notes]]:
    """Consecutive notes packed greedily into groups of at most `budget` tokens each.

    A single note over budget gets a group of its own (its condensed form will be smaller)."""
    groups: list[list[Notes]] = []
    size = 0
    for note in notes:
        tokens = count_tokens(join_notes([note]))
        if groups and size + tokens <= budget:
            groups[-1].append(note)
            size += tokens
        else:
            groups.append([note])
            size = tokens
    return groups


def collapse_requests(groups: Sequence[Sequence[Notes]], templates: Templates, *, title: str,
                      max_tokens: int, round_no: int,
                      template: str = COLLAPSE_TEMPLATE) -> list[Request]:
    requests = []
    for group in groups:
        prompt = templates.render(template, title=title, notes=join_notes(group),
                                  first_part=group[0].index + 1, last_part=group[-1].index + 1,
                                  round=round_no)
        requests.append(Request(prompt.system, (Message.user(prompt.user),),
                                max_tokens=max_tokens, stage="collapse"))
    return requests


def collapse_notes(runner: Runner, stage: Stage, notes: Sequence[Notes], templates: Templates,
                   *, title: str, budget: int, count_tokens: Callable[[str], int],
                   max_tokens: int, group_budget: int | None = None,
                   template: str = COLLAPSE_TEMPLATE) -> tuple[list[Notes], int]:
    """Condense `notes` until `join_notes(notes)` fits `budget` tokens, `group_budget` tokens
    of them (default `budget`) per call. Returns (notes, rounds)."""
    current = list(notes)
    rounds = 0
    size = count_tokens(join_notes(current))
    while size > budget:
        if rounds >= MAX_ROUNDS:
            raise GhostError(f"the notes still do not fit the reduce model after {rounds} "
                             "rounds of condensing; use a reduce model with a larger context "
                             "(--reduce-model)")
        rounds += 1
        groups = pack_groups(current, group_budget or budget, count_tokens)
        requests = collapse_requests(groups, templates, title=title, max_tokens=max_tokens,
                                     round_no=rounds, template=template)
        # A condensed group is about half its notes: reserve that against the budget, not the
        # whole max_tokens, or a tight --budget refuses calls it can pay for.
        expected = [min(max_tokens, max(256, count_tokens(join_notes(g)) // 2)) for g in groups]
        completions = with_room(runner, stage, requests,
                                runner.map(stage, requests, expected_output=expected))
        current = [Notes(g[0].index, g[0].label if len(g) == 1 else f"{g[0].label} … {g[-1].label}",
                         c.text.strip()) for g, c in zip(groups, completions, strict=True)]
        new_size = count_tokens(join_notes(current))
        if new_size >= size:
            raise GhostError("condensing the notes did not make them shorter; use a reduce "
                             "model with a larger context (--reduce-model)")
        size = new_size
    return current, rounds
