"""The essay's plan, made before any call and the same in a dry run as in the real run: how the
episode is read, the sample pack, the voice profile, the prompt's parts and each stage's price.

The essay request is ordered for prompt caching: system instructions, then the sample pack and
the voice profile (marked with cache_control), then this episode. For the same samples the
first two are byte-identical from one episode to the next, so only the episode is paid for at
full price; N drafts share the prefix too (cached for an hour when N > 1).

    essay = plan_essay(session, source, samples, EssaySettings(drafts=3))
    essay.read.mode      # "full" or "notes"
    essay.words          # the samples' median length unless --words says otherwise
    essay.plan.stages    # [map, collapse]? screen? essay (3 calls), revise?
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from ghost.ingest.samples import Sample
from ghost.jobs.essay_drafts import LONG_TTL, cache_write_tokens, prefix_cache_note
from ghost.jobs.essay_impostor import plain_request, plain_stage_plan
from ghost.jobs.essay_read import (
    ReadChoice,
    choose_reading,
    essay_map_requests,
    over_budget,
    transcript_text,
)
from ghost.map.stage import plan_notes
from ghost.models.protocol import Request
from ghost.plan import Plan, StagePlan
from ghost.screen.guard import guarded_screen_plan
from ghost.session import Session
from ghost.sources import Source
from ghost.style.pack import SamplePack, choose_samples
from ghost.style.voice import VoiceProfile, voice_profile
from ghost.tokens import counter_for

log = logging.getLogger(__name__)

TEMPLATE = "essay-write"
NOTES_SHARE = 0.25      # of the strong model's context the episode notes may take
DEFAULT_SAMPLES_BUDGET = 250_000  # tokens of past essays in front of the strong model
DEFAULT_WORDS = 700     # when the samples cannot say (no words to measure)
OUTPUT_PER_WORD = 1.6   # tokens of reply per word asked (the essay and its SOURCES lines)
REVISE_ROOM = 600       # tokens of measured differences and instructions in a revision
PACK_ORDER = "oldest first"


@dataclass(frozen=True)
class EssaySettings:
    """What the essay asks for beyond the episode and the samples."""

    words: int | None = None    # None: the median length of the host's samples
    read: str = "auto"          # auto | full | notes (ghost.jobs.essay_read)
    drafts: int = 1             # drafts written on one cached prefix; the best is kept
    revise: bool = False        # one revision from the measured differences
    samples_budget: int | None = None
    first_draft: int = 1        # --draft N: the single draft is number N (its own cache key)
    impostors: tuple[str, ...] = ()  # other writers' texts: the style check rejects them
    impostor_draft: bool = False  # the cheap model's plain essay is one more impostor

    @property
    def draft_numbers(self) -> list[int]:
        return list(range(self.first_draft, self.first_draft + self.drafts))

    @property
    def cache_ttl(self) -> str:
        return LONG_TTL if self.drafts > 1 else ""


@dataclass
class EssayPlan:
    plan: Plan
    read: ReadChoice
    pack: SamplePack
    voice: VoiceProfile | None
    words: int
    settings: EssaySettings
    map_requests: list[Request] = field(default_factory=list)
    notes_budget: int = 0


def measured_voice(samples: Sequence[Sample]) -> VoiceProfile | None:
    try:
        return voice_profile([s.text for s in samples])
    except ValueError as exc:
        log.warning("no voice profile: %s", exc)
        return None


def sample_pack(session: Session, samples: Sequence[Sample], source: Source, *,
                samples_budget: int | None, episode_room: int) -> SamplePack:
    """The samples that go in front of the strong model: at most `samples_budget` tokens
    (DEFAULT_SAMPLES_BUDGET when None), within what the context leaves beside the most the
    episode may take, chosen by recency and by similarity to this episode's transcript. It
    depends on nothing a run learns on the way, so a dry run shows the very pack sent."""
    info = session.info("reduce")
    count = counter_for(info.tokenizer, info.token_margin)
    system = session.templates.file(TEMPLATE, "system", {})
    room = info.context - session.max_tokens("reduce") - count(system) - episode_room - 2500
    budget = min(room, samples_budget or DEFAULT_SAMPLES_BUDGET)
    return choose_samples(samples, budget=max(0, budget), count_tokens=count, topic=source.text)


def samples_part(session: Session, pack: SamplePack, voice: VoiceProfile | None) -> str:
    """The cached part of the essay request: the past essays, then the voice profile."""
    return session.templates.file(TEMPLATE, "samples", {
        "samples": pack.samples, "order": PACK_ORDER,
        "voice": voice.render() if voice else "", "voice_essays": voice.n_essays if voice else 0})


def episode_part(session: Session, source: Source, *, words: int, voice: VoiceProfile | None,
                 transcript: str = "", notes: str = "") -> str:
    """This episode: its whole transcript or its notes, and what to write."""
    return session.templates.file(TEMPLATE, "episode", {
        "title": source.title, "speakers": source.meta.get("speakers") or [],
        "transcript": transcript, "notes": notes, "target_words": words,
        "opens_with_story": bool(voice and voice.opens_with_story)})


def plan_essay(session: Session, source: Source, samples: Sequence[Sample],
               settings: EssaySettings) -> EssayPlan:
    """The plan; `auto` reading falls back to notes when reading whole would pass --budget."""
    voice = measured_voice(samples)
    words = settings.words or (voice.median_words if voice else DEFAULT_WORDS)
    read = choose_reading(session, source, settings.read)
    essay = _plan(session, source, samples, settings, read, voice, words)
    budget = session.options.budget
    cost = essay.plan.cost
    if (settings.read == "auto" and read.mode == "full" and budget is not None
            and cost is not None and cost > budget):
        essay = _plan(session, source, samples, settings, over_budget(read, cost, budget),
                      voice, words)
    essay.plan.check_budget(budget)
    return essay


def _plan(session: Session, source: Source, samples: Sequence[Sample], settings: EssaySettings,
          read: ReadChoice, voice: VoiceProfile | None, words: int) -> EssayPlan:
    info = session.info("reduce")
    count = counter_for(info.tokenizer, info.token_margin)
    notes_budget = int(info.context * NOTES_SHARE)
    plan = Plan(source.describe())
    requests: list[Request] = []
    if read.mode == "notes":
        requests = essay_map_requests(session, source)
        stage_plans, notes_tokens = plan_notes(session, source, requests, notes_budget)
        plan.stages += stage_plans
        episode_tokens = count(episode_part(session, source, words=words, voice=voice)) \
            + notes_tokens
    else:
        episode_tokens = count(episode_part(session, source, words=words, voice=voice,
                                            transcript=transcript_text(source)))
    pack = sample_pack(session, samples, source, samples_budget=settings.samples_budget,
                       episode_room=max(notes_budget, episode_tokens))
    system = session.templates.file(TEMPLATE, "system", {})
    prefix_tokens = count(system) + count(samples_part(session, pack, voice))
    plan.source["read"] = read.mode
    plan.source["samples"] = f"{len(pack.samples)} of {pack.available} ({pack.tokens:,} tokens)"
    plan.source["target words"] = words
    plan.notes.append(f"read: {read.reason}")
    if not pack.complete:
        plan.notes.append(
            f"samples: {pack.available - len(pack.samples)} of {pack.available} left out to "
            f"stay within {settings.samples_budget or DEFAULT_SAMPLES_BUDGET:,} tokens "
            "(--samples-budget); the most recent and the most similar to this episode are in")
    if settings.words is None and voice is not None:
        plan.notes.append(f"length: about {words} words, the median of the host's "
                          f"{voice.n_essays} essays (--words to change it)")
    screen_plan = guarded_screen_plan(session, episode_tokens)
    if screen_plan is not None:
        plan.stages.append(screen_plan)
    output = int(words * OUTPUT_PER_WORD)
    calls = settings.drafts
    notes = [f"{calls} drafts on one cached prefix, ranked by the style check; the best is "
             "kept"] if calls > 1 else []
    if not pack.complete:
        notes.append("not every sample fits; recent and similar ones are chosen")
    # The budget is checked against the worst case: a cold prompt cache, the prefix written.
    essay_stage = StagePlan(
        "essay", info, calls, calls * (prefix_tokens + episode_tokens), calls * output,
        note="; ".join(notes),
        cache_write_tokens=cache_write_tokens(info, prefix_tokens),
        max_tokens=session.max_tokens("reduce"), cache_ttl=settings.cache_ttl)
    plan.stages.append(essay_stage)
    plan.notes.append(prefix_cache_note(info, prefix_tokens, essay_stage))
    if settings.revise:
        plan.stages.append(StagePlan(
            "revise", info, 1, prefix_tokens + episode_tokens + output + REVISE_ROOM, output,
            note="one revision from the measured differences, kept only if it scores better "
                 "(none when nothing differs)",
            max_tokens=session.max_tokens("reduce")))
    if settings.impostor_draft:
        plan.stages.append(_impostor_stage(session, source, read, words, episode_tokens))
    return EssayPlan(plan, read, pack, voice, words, settings, requests, notes_budget)


def _impostor_stage(session: Session, source: Source, read: ReadChoice, words: int,
                    episode_tokens: int) -> StagePlan:
    """The plain essay's call (ghost.jobs.essay_impostor): known exactly when the transcript is
    read whole; from the notes' estimate otherwise."""
    if read.mode == "full":
        request = plain_request(session, source, words=words, transcript=transcript_text(source))
        stage = plain_stage_plan(session, request, words=words)
        stage.cached_calls = int(session.is_cached(stage.info, request.digest()))
        return stage
    return plain_stage_plan(session, plain_request(session, source, words=words), words=words,
                            extra_input=episode_tokens)
