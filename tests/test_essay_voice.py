"""The voice profile, the drafts' ranking and revision guidance, and the [essay] settings of
ghost.toml as `ghost run` passes them on."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from ghost.errors import ConfigError
from ghost.ingest.samples import load_samples
from ghost.jobs.essay_drafts import DraftScore, draft_rank_key, rank_drafts, revision_guidance
from ghost.style.markers import normalize, tokenize
from ghost.style.stylometry import score_draft
from ghost.style.voice import recurring_phrases, voice_profile
from ghost.workspace.config import load_config
from standin import StandIn
from test_essay_e2e import CORPUS_SAMPLES, essay_requests
from test_run_workspace import workspace

GENERIC = ("In today's fast-paced world, it is important to note that innovation is a "
           "testament to the tapestry of modern business; we must navigate the complexities "
           "of growth! ") * 30


@pytest.fixture(scope="module")
def host() -> list[str]:
    samples, _ = load_samples(CORPUS_SAMPLES)
    return [s.text for s in samples]


def test_the_profile_measures_the_example_host(host: list[str]) -> None:
    profile = voice_profile(host)
    lengths = [len(tokenize(normalize(text))) for text in host]
    assert profile.median_words == round(statistics.median(lengths))
    assert (profile.words_low, profile.words_high) == (min(lengths), max(lengths))
    assert profile.opens_with_story  # every essay opens on the host's own life
    assert profile.sign_off == "Build slow. — M."
    assert "this week's guest is" in profile.phrases
    assert "bullet lists" in profile.never and "em dashes" not in profile.never
    assert profile.punctuation["em dashes"] > 10  # this host loves them
    shown = profile.render()
    assert "Never uses: " in shown and f"about {profile.median_words} words" in shown
    assert "Build slow. — M." in shown


def test_what_the_host_never_does_is_named_and_caught_in_a_draft() -> None:
    essays = [f"I walked to the shop on day {n}, and I thought about pricing. It rained. "
              "Nobody came. We talk about the long game with our guest. See you next week."
              for n in range(5)]
    profile = voice_profile(essays)
    assert {"em dashes", "semicolons", "exclamation marks"} <= set(profile.never)
    assert profile.sign_off == ""  # the last paragraph is the whole essay: not one line
    draft = "It rained — again — and nobody came; still, what a week!"
    found = profile.violations(draft)
    assert "uses em dashes (2×); the host never does" in found
    assert any("semicolons" in v for v in found) and any("exclamation" in v for v in found)
    assert profile.violations("It rained. Nobody came.") == []


def test_recurring_phrases_need_several_essays_and_real_words() -> None:
    essays = ["Build slow and stay small, friends.", "We build slow and stay small here.",
              "Of the people, by the people.", "Of the people it was."]
    found = recurring_phrases(essays)
    assert found == ("build slow and stay small",)  # "of the people" is only common words


def test_a_profile_needs_words() -> None:
    with pytest.raises(ValueError):
        voice_profile(["", "   "])


def test_drafts_rank_by_verdict_then_closeness(host: list[str]) -> None:
    close = score_draft(host[0], host[1:])
    generic = score_draft(GENERIC, host)
    assert draft_rank_key(close) < draft_rank_key(generic) < draft_rank_key(None)
    ranked = rank_drafts([DraftScore(1, GENERIC, generic), DraftScore(2, host[0], close),
                          DraftScore(3, "", None), DraftScore(4, host[0], close)])
    assert [d.number for d in ranked] == [2, 4, 1, 3]  # ties keep the earlier draft first
    assert ranked[0].to_dict()["verdict"] == close.verdict


def test_revision_guidance_says_what_to_fix(host: list[str]) -> None:
    profile = voice_profile(host)
    report = score_draft(GENERIC, host)
    lines = revision_guidance(report, profile, GENERIC, target_words=profile.median_words)
    assert lines[0].startswith(f"- it is {len(GENERIC.split())} words long")
    assert any("semicolons" in line or "exclamation" in line for line in lines)
    assert len(lines) <= 10 and all(line.startswith("- ") for line in lines)
    same = host[0]
    assert not any("words long" in line for line in revision_guidance(
        score_draft(same, host[1:]), profile, same, target_words=len(same.split())))


@pytest.mark.parametrize(("setting", "message"), [
    ('read = "sideways"', '[essay] read must be "auto", "full" or "notes"'),
    ("drafts = 0", "[essay] drafts must be a whole number from 1 to 10"),
    ("revise = 1", "[essay] revise must be true or false"),
    ("draft = 2", "[essay] draft is not a setting; did you mean drafts?"),
])
def test_bad_essay_settings_are_one_line_errors(tmp_path: Path, setting: str,
                                                message: str) -> None:
    config = tmp_path / "ghost.toml"
    config.write_text(f'[episodes]\ninbox = "e"\n[samples]\nfolder = "s"\n[essay]\n{setting}\n')
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_essay_settings_default_and_load(tmp_path: Path) -> None:
    config = tmp_path / "ghost.toml"
    config.write_text('[episodes]\ninbox = "e"\n[samples]\nfolder = "s"\n')
    defaults = load_config(config).essay_settings()
    assert (defaults.words, defaults.read, defaults.drafts, defaults.revise) == (
        None, "auto", 1, False)
    config.write_text('[episodes]\ninbox = "e"\n[samples]\nfolder = "s"\n[outputs]\n'
                      'essay_words = 400\n[essay]\nread = "notes"\ndrafts = 3\nrevise = true\n')
    chosen = load_config(config).essay_settings()
    assert (chosen.words, chosen.read, chosen.drafts, chosen.revise) == (400, "notes", 3, True)


def test_ghost_run_writes_the_drafts_ghost_toml_asks_for(standin: StandIn,
                                                         tmp_path: Path) -> None:
    config = workspace(tmp_path, make='["essay"]', extra='[essay]\ndrafts = 2\nrevise = false\n')
    result = run_cli("run", "-c", config)
    assert result.exit_code == 0, result.output
    sent = essay_requests(standin)
    assert len(sent) == 2
    assert all(r["messages"][0]["content"][0]["cache_control"]["ttl"] == "1h" for r in sent)
    notes = next((tmp_path / "out").glob("*.essay.notes.md")).read_text()
    assert "## Drafts, best first" in notes


def test_the_episode_prompt_never_invites_invented_biography(standin: StandIn,
                                                             tmp_path: Path) -> None:
    result = run_cli("essay", "--samples", CORPUS_SAMPLES, "--transcript",
                     REPO / "corpora" / "episode-042.txt", "--cache-dir", tmp_path / "c")
    assert result.exit_code == 0, result.output
    body = essay_requests(standin)[0]
    system = json.dumps(body["system"])
    assert "use only facts" not in system and "structure" not in system
    assert "Never write an experience" in system
    episode = body["messages"][0]["content"][1]["text"]
    assert "[HOST: your story about" in episode  # this host opens with stories of their own
    samples_block = body["messages"][0]["content"][0]["text"]
    assert "<<<VOICE" in samples_block and "Build slow. — M." in samples_block
