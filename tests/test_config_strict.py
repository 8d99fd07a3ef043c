"""ghost.toml is checked strictly: a typo, an unknown section or a wrong type is exit 2 and one
line naming the `[section] key` (and the setting meant), never silently ignored. No model call
is made in any of these: the config is read before anything else."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

from ghost.errors import ConfigError
from ghost.workspace.config import EXAMPLE, load_config

BASE = '[episodes]\ninbox = "episodes"\n[samples]\nfolder = "essays"\n'


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "episodes").mkdir(exist_ok=True)
    (tmp_path / "essays").mkdir(exist_ok=True)
    config = tmp_path / "ghost.toml"
    config.write_text(body)
    return config


def with_setting(section: str, setting: str) -> str:
    """BASE with `setting` added to `[section]` (replacing BASE's value of the same key)."""
    sections = {"episodes": ['inbox = "episodes"'], "samples": ['folder = "essays"']}
    key = setting.split(" =")[0]
    kept = [line for line in sections.get(section, []) if not line.startswith(f"{key} =")]
    sections[section] = [*kept, setting]
    return "".join(f"[{name}]\n" + "".join(f"{line}\n" for line in lines)
                   for name, lines in sections.items())


def refused(config: Path, command: str = "run") -> str:
    """Run `ghost <command> -c config`; it must exit 2 with one line, and no API key asked for
    (the config error comes first). Returns that line."""
    result = run_cli(command, "-c", config)
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert line.count("\n") == 0, line
    assert line.startswith(f"ghost: error: {config}: "), line
    for noise in ("pydantic", "validation error", "Traceback", "API_KEY", "errors.pydantic"):
        assert noise not in line, line
    return line


# A misspelt key in each section: the typo, its section and the key meant.
TYPOS = [
    ("episodes", 'inbx = "episodes"', "inbox"),
    ("samples", 'folders = "essays"', "folder"),
    ("outputs", 'mkae = ["summary"]', "make"),
    ("outputs", "essay_word = 500", "essay_words"),
    ("outputs", "sumary_words = 500", "summary_words"),
    ("models", 'reduse = "anthropic:claude-opus-5-5"', "reduce"),
    ("models", 'base_ulr = "http://localhost:11434/v1"', "base_url"),
    ("budget", "per_rn = 2.00", "per_run"),
    ("budget", "per_mnth = 20.00", "per_month"),
    ("run", "bacth = true", "batch"),
    ("run", "concurency = 4", "concurrency"),
    ("run", "chunk_token = 4000", "chunk_tokens"),
    ("run", 'cachedir = "cache"', "cache_dir"),
]


@pytest.mark.parametrize(("section", "setting", "meant"), TYPOS)
@pytest.mark.parametrize("command", ["run", "status"])
def test_a_misspelt_key_names_itself_and_the_key_meant(tmp_path: Path, command: str,
                                                       section: str, setting: str,
                                                       meant: str) -> None:
    line = refused(write(tmp_path, with_setting(section, setting)), command)
    typo = setting.split(" =")[0]
    assert line.endswith(f"[{section}] {typo} is not a setting; did you mean {meant}?"), line


def test_the_measured_case_a_budget_typo_no_longer_removes_the_cap(tmp_path: Path) -> None:
    config = write(tmp_path, BASE + "[budget]\nper_rn = 2.00\n")
    line = refused(config)
    assert line == (f"ghost: error: {config}: [budget] per_rn is not a setting; "
                    "did you mean per_run?")
    with pytest.raises(ConfigError, match=r"\[budget\] per_rn .* did you mean per_run\?"):
        load_config(config)


@pytest.mark.parametrize(("body", "expected"), [
    ("[bugdet]\nper_run = 2.00\n", "[bugdet] is not a section; did you mean [budget]?"),
    ("[Run]\nbatch = true\n", "[Run] is not a section; did you mean [run]?"),
    ("[extras]\nx = 1\n", "[extras] is not a section; the sections are [episodes], [samples], "
                          "[outputs], [essay], [models], [budget], [run]"),
])
@pytest.mark.parametrize("command", ["run", "status"])
def test_an_unknown_section_exits_2(tmp_path: Path, command: str, body: str,
                                    expected: str) -> None:
    assert refused(write(tmp_path, BASE + body), command).endswith(expected)


@pytest.mark.parametrize(("body", "expected"), [
    # a setting in the wrong section, or above every section header
    (BASE + "[run]\nper_run = 2.00\n",
     "[run] per_run is not a setting; did you mean [budget] per_run?"),
    (BASE + "[budget]\nconcurency = 2\n",
     "[budget] concurency is not a setting; did you mean [run] concurrency?"),
    ("per_month = 20\n" + BASE, "per_month is outside any section; did you mean [budget] "
                                "per_month?"),
    ("colour = 1\n" + BASE, "colour is outside any section; settings go under a section"),
    # no setting is near: the section's settings are listed
    (BASE + "[budget]\nlimit = 2\n", "[budget] limit is not a setting; [budget] takes per_run, "
                              "per_month"),
    (BASE + "[budget.caps]\nx = 1\n", "[budget] caps is not a setting"),
    # a section written as a value
    ("budget = 2\n" + BASE, "budget must be a section ([budget] on a line of its own), got 2"),
])
def test_settings_in_the_wrong_place_say_where_they_go(tmp_path: Path, body: str,
                                                       expected: str) -> None:
    line = refused(write(tmp_path, body))
    assert expected in line, line


WRONG_TYPES = [
    ("episodes", 'inbox = ["episodes"]', "inbox must be a string (in quotes), got a list"),
    ("samples", "folder = 3", "folder must be a string (in quotes), got 3"),
    ("outputs", "folder = true", "folder must be a string (in quotes), got true"),
    ("outputs", 'make = "essay"',
     'make must list some of essay, summary, got the string "essay" (write ["essay"])'),
    ("outputs", 'make = ["essay", "poem"]',
     'make must list some of essay, summary, got "poem" in the list'),
    ("outputs", "make = []", "make must list some of essay, summary, got an empty list"),
    ("outputs", 'essay_words = "700"', 'essay_words must be a whole number, got the string "700"'),
    ("outputs", "summary_words = 600.5", "summary_words must be a whole number, got 600.5"),
    ("outputs", "essay_words = 0", "essay_words must be at least 1, got 0"),
    ("models", "map = 3", "map must be a string (in quotes), got 3"),
    ("models", "base_url = { host = 'x' }", "base_url must be a string (in quotes), got a table"),
    ("budget", 'per_run = "2.00"',
     'per_run must be a positive amount of US dollars, got the string "2.00"'),
    ("budget", "per_run = true", "per_run must be a positive amount of US dollars, got true"),
    ("budget", "per_run = 0", "per_run must be a positive amount of US dollars, got 0"),
    ("budget", "per_month = -20.0", "per_month must be a positive amount of US dollars, got -20.0"),
    ("budget", "per_month = inf", "per_month must be a positive amount of US dollars, got inf"),
    ("budget", "per_month = 2024-01-01", "per_month must be a positive amount of US dollars, "
                                         "got the date/time 2024-01-01"),
    ("run", 'batch = "yes"', 'batch must be true or false, got the string "yes"'),
    ("run", "batch = 1", "batch must be true or false, got 1"),
    ("run", 'concurrency = "8"', 'concurrency must be a whole number, got the string "8"'),
    ("run", "concurrency = true", "concurrency must be a whole number, got true"),
    ("run", "concurrency = 8.0", "concurrency must be a whole number, got 8.0"),
    ("run", "chunk_tokens = 99", "chunk_tokens must be at least 100, got 99"),
    ("run", "cache_dir = false", "cache_dir must be a string (in quotes), got false"),
]


@pytest.mark.parametrize(("section", "setting", "expected"), WRONG_TYPES)
def test_wrong_types_and_ranges_name_the_key(tmp_path: Path, section: str, setting: str,
                                             expected: str) -> None:
    line = refused(write(tmp_path, with_setting(section, setting)))
    assert line.endswith(f"[{section}] {expected}"), line


def test_several_problems_report_the_first_and_count_the_rest(tmp_path: Path) -> None:
    body = BASE + '[budget]\nper_rn = 2\n[run]\nbatch = "yes"\nconcurrency = 0\n'
    assert refused(write(tmp_path, body)).endswith(
        "[budget] per_rn is not a setting; did you mean per_run? (and 2 more problems)")


def test_the_init_example_loads_as_written(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli("init").exit_code == 0
    config = load_config(tmp_path / "ghost.toml")
    assert (config.inbox, config.samples, config.outputs) == (
        "episodes", tmp_path / "essays", tmp_path / "out")
    assert config.make == ("essay", "summary")
    assert (config.map_model, config.reduce_model, config.base_url) == (
        "anthropic:claude-haiku-4-5", "anthropic:claude-opus-5-5", None)
    assert (config.budget_per_run, config.budget_per_month) == (2.0, 20.0)
    assert (config.batch, config.concurrency, config.chunk_tokens) == (False, 32, 4000)
    assert config.cache_dir == tmp_path / "cache"
    (tmp_path / "episodes").mkdir()
    status = run_cli("status")
    assert status.exit_code == 0, status.output
    assert "no episodes" in status.stdout


def test_every_setting_the_example_comments_out_is_accepted(tmp_path: Path) -> None:
    commented = re.findall(r"^# (\w+) = ", EXAMPLE, flags=re.M)
    assert set(commented) == {"essay_words", "summary_words", "base_url", "collapse", "timeout",
                              "chunk_tokens", "cache_dir", "impostors"}
    body = re.sub(r"^# (\w+ = )", r"\1", EXAMPLE, flags=re.M)
    body = body.replace("essay_words = 500", "essay_words = 900").replace(
        "chunk_tokens = 4000", "chunk_tokens = 3000").replace('"cache"', '"my-cache"')
    config = load_config(write(tmp_path, body))
    assert (config.essay_words, config.summary_words) == (900, 600)
    assert config.base_url == "http://localhost:11434/v1"
    assert config.chunk_tokens == 3000
    assert config.cache_dir == tmp_path / "my-cache"
    assert config.impostors == tmp_path / "other-writers"


def test_good_values_keep_their_meaning(tmp_path: Path) -> None:
    sub = tmp_path / "show"
    sub.mkdir()
    config = sub / "ghost.toml"
    config.write_text('[episodes]\ninbox = "eps/**/*.vtt"\n[outputs]\nmake = ["summary"]\n'
                      'folder = "../done"\n[budget]\nper_run = 2\n[run]\nbatch = true\n'
                      "concurrency = 1\nchunk_tokens = 100\n")
    loaded = load_config(config)
    assert loaded.root == sub and loaded.inbox == "eps/**/*.vtt"
    assert loaded.outputs == sub / "../done" and loaded.samples == sub
    assert loaded.budget_per_run == 2.0 and isinstance(loaded.budget_per_run, float)
    assert loaded.budget_per_month is None
    assert (loaded.batch, loaded.concurrency, loaded.chunk_tokens) == (True, 1, 100)
    assert (loaded.essay_words, loaded.summary_words) == (None, 600)  # None: samples' median


def test_help_does_not_load_the_config_schema() -> None:
    """`import ghost.cli` and `ghost --help` import no pydantic; no command's --help imports
    the config module. (typer itself imports pydantic once it parses a subcommand.)"""
    probe = ("import sys\nimport ghost.cli\nseen = ['pydantic' in sys.modules]\n"
             "for argv in (['--help'], ['run', '--help'], ['status', '--help'],"
             " ['init', '--help']):\n"
             "    sys.argv = ['ghost', *argv]\n"
             "    try:\n        ghost.cli.main()\n    except SystemExit:\n        pass\n"
             "    if argv == ['--help']:\n        seen.append('pydantic' in sys.modules)\n"
             "seen.append('ghost.workspace.config' in sys.modules)\n"
             "print('SEEN=' + repr(seen), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    assert "SEEN=[False, False, False]" in done.stderr, done.stderr
