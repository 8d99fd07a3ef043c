"""Transcript detection and parsing: small hand-written fixtures, then the real shared files."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from conftest import FIXTURES, shared_path

from ghost.errors import InputError
from ghost.ingest.transcripts import (
    FORMATS,
    Segment,
    Transcript,
    detect_format,
    format_timestamp,
    load_transcript,
    parse_timestamp,
    parse_transcript,
)

HERE = FIXTURES / "transcripts"
CHANGELOG = ["go-time-1.md", "go-time-100.md", "practical-ai-100.md", "practical-ai-177.md",
             "practical-ai-292.md", "practical-ai-99.md", "the-changelog-bonus-sustainoss-2018.md"]


def triples(t: Transcript) -> list[tuple[float | None, str | None, str]]:
    return [(s.start, s.speaker, s.text) for s in t.segments]


# --- timestamps -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "seconds"), [
    ("1:02:03", 3723.0), ("01:02:03", 3723.0), ("02:03", 123.0), ("2:03", 123.0),
    ("01:02:03.500", 3723.5), ("00:00:01,250", 1.25), (" 00:45 ", 45.0), ("75:30", 4530.0),
])
def test_parse_timestamp(text: str, seconds: float) -> None:
    assert parse_timestamp(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "1:2:3", "00:60:00", "00:00:60", "12", "1:02:03:04"])
def test_parse_timestamp_rejects(text: str) -> None:
    with pytest.raises(InputError, match="bad timestamp"):
        parse_timestamp(text)


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "00:00:00"), (59.99, "00:00:59"), (3723.9, "01:02:03"), (360000, "100:00:00"),
    (-3, "00:00:00"),
])
def test_format_timestamp(seconds: float, text: str) -> None:
    assert format_timestamp(seconds) == text


# --- detection ------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "fmt"), [
    ("blocks.txt", "timestamp-blocks"), ("episode.md", "markdown"), ("talk.vtt", "vtt"),
    ("talk.srt", "srt"), ("lines.txt", "timestamp-lines"), ("notes.txt", "plain"),
])
def test_detect_fixture(name: str, fmt: str) -> None:
    text = (HERE / name).read_text(encoding="utf-8")
    assert detect_format(text) == fmt
    assert detect_format(text, filename=f"renamed{Path(name).suffix}") == fmt
    assert load_transcript(HERE / name).format == fmt


def test_detect_edge_cases() -> None:
    assert detect_format("") == "plain"
    assert detect_format("\ufeffWEBVTT\r\n\r\n") == "vtt"
    headerless = "1\n00:00:01.000 --> 00:00:02.000\nHi\n"
    assert detect_format(headerless) == "vtt"
    assert detect_format(headerless, filename="a.srt") == "srt"
    assert detect_format("**Ann:** hi\n\nno second turn") == "plain"
    assert detect_format("**Ann:** hi\n\nno second turn", filename="ep.md") == "markdown"
    assert detect_format("The meeting started at\n10:30\nand ended late.") == "plain"


def test_forced_and_unknown_format() -> None:
    text = (HERE / "lines.txt").read_text(encoding="utf-8")
    plain = parse_transcript(text, fmt="plain")
    assert plain.format == "plain"
    assert all(s.start is None for s in plain.segments)
    with pytest.raises(InputError, match="unknown transcript format 'youtube'") as err:
        parse_transcript(text, fmt="youtube")
    assert all(name in str(err.value) for name in FORMATS)


# --- one fixture per format -----------------------------------------------------------------

def test_timestamp_blocks_strip_filler() -> None:
    t = load_transcript(HERE / "blocks.txt")
    assert t.source == str(HERE / "blocks.txt")
    assert t.skipped == 1  # "00:0X:30" and its paragraph
    assert triples(t) == [
        (0.0, None, "Welcome to the show. Today we talk about gardening in small spaces."),
        (15.0, None, "Thanks for having me. I love this topic. No, I really do."),
        (42.0, None, "Let's start with tomatoes, which need plenty of sun."),
    ]
    assert [s.end for s in t.segments] == [15.0, 42.0, None]
    assert t.duration == 42.0
    assert "~~" not in "".join(s.text for s in t.segments)


def test_timestamp_blocks_keep_filler() -> None:
    t = load_transcript(HERE / "blocks.txt", keep_filler=True)
    assert t.segments[0].text.endswith("about kind of gardening in small spaces.")
    assert t.segments[1].text == ("Thanks for having me. I mean, I love this topic. "
                                  "No, I do. I really do.")
    assert not any(mark in s.text for s in t.segments for mark in ("~~", "**"))


def test_timestamp_blocks_with_speaker_labels() -> None:
    t = parse_transcript("00:00:01\nAnn Lee: Hi there.\nBob: Hello.\n\n00:00:09\nMore from Bob.\n")
    assert triples(t) == [(1.0, "Ann Lee", "Hi there."), (1.0, "Bob", "Hello."),
                          (9.0, "Bob", "More from Bob.")]


def test_markdown_turns_and_stamps() -> None:
    t = load_transcript(HERE / "episode.md")
    assert t.speakers == ["Host Person", "Ann Lee"]  # "Break" has no words: not a speaker
    assert triples(t) == [
        (0.0, "Host Person", "Welcome back, everyone. Today's guest is Ann Lee."),
        (45.0, "Ann Lee", "Thanks! Happy to be here. [laughs]\nIt all started on a balcony."),
        (70.0, "Ann Lee", "That's where I grew my first basil."),
        (90.0, "Host Person", "And what went wrong?"),
        (195.0, "Host Person", "We're back. So, tomatoes?"),  # after "\[02:00\] to \[03:15\]"
        (3723.0, "Ann Lee", "Tomatoes need a lot of sun."),
    ]
    assert t.segments[0].end == 45.0
    assert t.segments[-1].end is None


def test_markdown_stamp_before_turn_and_bad_stamp() -> None:
    t = parse_transcript("[00:05] **Ann:** Hi.\n\n\\[00:09\\] **Bob:** At \\[99:99\\] ok.\n")
    assert t.format == "markdown"
    assert triples(t) == [(5.0, "Ann", "Hi."), (9.0, "Bob", "At [99:99] ok.")]


def test_markdown_without_stamps_is_untimed() -> None:
    t = parse_transcript("**Ann:** Hello.\n\n**Bob:** Hi.\nStill Bob.\n\nAnd more.", fmt="markdown")
    assert triples(t) == [(None, "Ann", "Hello."), (None, "Bob", "Hi. Still Bob.\nAnd more.")]
    assert t.duration is None


def test_vtt_cues_voices_and_merging() -> None:
    t = load_transcript(HERE / "talk.vtt")
    assert t.skipped == 1  # "00:xx.000"; the empty cue is dropped without counting
    assert [(s.start, s.end, s.speaker, s.text) for s in t.segments] == [
        (1.0, 7.0, "Ann Lee", "Hello and welcome to the garden hour. Today: tomatoes."),
        (7.0, 9.5, "Bob", "Tomatoes & basil!"),
        (20.0, 25.0, "Bob", "Basil first."),
        (20.0, 25.0, "Ann Lee", "No, tomatoes."),
        (3723.0, 3725.5, "Ann Lee", "Unlabelled words carry on."),
    ]
    assert t.duration == 3725.5


def test_vtt_stray_text_and_missing_newline() -> None:
    text = "WEBVTT\n\nstray words with no timing\n\n00:01.000 --> 00:02.000\n<b>Hi</b>"
    t = parse_transcript(text)
    assert (t.format, t.skipped, triples(t)) == ("vtt", 1, [(1.0, None, "Hi")])


def test_vtt_rolling_captions_deduplicated() -> None:
    text = ("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nhello<00:00:01.000><c> there</c>\n\n"
            "00:00:02.000 --> 00:00:02.010\nhello there\n\n"
            "00:00:02.010 --> 00:00:04.000\nhello there\nhow<00:00:03.000><c> are you</c>\n")
    assert triples(parse_transcript(text)) == [(0.0, None, "hello there how are you")]


def test_srt_speakers_and_malformed_cues() -> None:
    t = load_transcript(HERE / "talk.srt")
    assert t.skipped == 2  # "->" arrow, and 61 seconds
    assert [(s.start, s.end, s.speaker, s.text) for s in t.segments] == [
        (1.0, 5.0, "Ann Lee", "Welcome to the garden hour. We grow food on balconies."),
        (6.0, 8.0, "BOB", "Since when?"),
        (60.0, 64.0, "Ann Lee", "Since 2019, when we moved in."),
    ]


def test_srt_crlf_and_bom(tmp_path: Path) -> None:
    lf = (HERE / "talk.srt").read_bytes()
    path = tmp_path / "talk.srt"
    path.write_bytes(b"\xef\xbb\xbf" + lf.replace(b"\n", b"\r\n"))
    crlf = load_transcript(path)
    assert (crlf.format, crlf.skipped) == ("srt", 2)
    assert crlf.segments == load_transcript(HERE / "talk.srt").segments


def test_srt_missing_blank_line_between_cues() -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\nFirst.\n2\n00:00:15,000 --> 00:00:16,000\nSecond."
    assert triples(parse_transcript(text)) == [(1.0, None, "First."), (15.0, None, "Second.")]


def test_srt_cue_with_two_labelled_lines() -> None:
    text = "1\n00:00:01,000 --> 00:00:03,000\nAnn: Ready?\nBob: Ready.\nSet.\n\n" \
           "2\n00:00:09,000 --> 00:00:10,000\nGo!\n"
    assert triples(parse_transcript(text)) == [(1.0, "Ann", "Ready?"), (1.0, "Bob", "Ready. Set."),
                                               (9.0, "Bob", "Go!")]


def test_timestamp_lines() -> None:
    t = load_transcript(HERE / "lines.txt")
    assert t.skipped == 1  # "00:7x:00"
    assert triples(t) == [
        (0.0, None, "Recorded live at the allotment."),
        (5.0, "Ann Lee", "Welcome to the allotment tour. This bed is all beans."),
        (14.0, "Bob", "How many rows? which is a continuation line of Bob."),
        (20.0, "Ann Lee", "Twelve rows, give or take."),
        (65.0, "Bob", "Good to know."),
    ]
    assert t.segments[1].end == 14.0


def test_plain_paragraphs() -> None:
    t = load_transcript(HERE / "notes.txt")
    assert triples(t) == [(None, None, "Some notes from the garden talk. They were typed by hand."),
                          (None, None, "Second paragraph, short.")]
    assert t.duration is None
    assert t.speakers == []


def test_speaker_label_needs_a_name() -> None:
    t = parse_transcript("00:00:01 So here's the thing: it works.\n00:00:02 Dr. Ann Lee: Yes.\n")
    assert triples(t) == [(1.0, None, "So here's the thing: it works."),
                          (2.0, "Dr. Ann Lee", "Yes.")]


@pytest.mark.parametrize(("content", "message"), [
    ("", "is empty"),
    ("WEBVTT\n\nNOTE nothing else\n", "no transcript text found"),
    ("00:00:01\n\n00:00:05\n", "no transcript text found"),
])
def test_load_rejects_files_without_text(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "t.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_transcript(path)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_transcript(tmp_path / "nope.vtt")


def test_segment_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Segment(0.0, 1.0, None, "x").text = "y"  # type: ignore[misc]


# --- real transcripts in ../shared ----------------------------------------------------------

def test_real_timestamp_blocks() -> None:
    path = shared_path("data", "transcripts", "cognitive-revolution-alex-albert.txt")
    t = load_transcript(path)
    assert t.format == "timestamp-blocks"
    assert t.skipped == 0
    assert len(t.segments) > 80
    starts = [s.start for s in t.segments]
    assert all(a is not None and b is not None and a < b for a, b in pairwise(starts))
    assert not any("~~" in s.text or "**" in s.text for s in t.segments)
    assert t.duration is not None and 52 * 60 < t.duration < 54 * 60
    kept = load_transcript(path, keep_filler=True)
    assert sum(len(s.text) for s in kept.segments) > sum(len(s.text) for s in t.segments)


@pytest.mark.parametrize("name", CHANGELOG)
def test_real_changelog_markdown(name: str) -> None:
    t = load_transcript(shared_path("data", "transcripts", "changelog", name))
    assert t.format == "markdown"
    assert len(t.speakers) >= 2
    assert not {"Break", "Outro"} & set(t.speakers)
    times = [s.start for s in t.segments if s.start is not None]
    assert times == sorted(times)
    if name == "go-time-1.md":  # this episode has no stamps at all
        assert times == []
    else:
        assert len(set(times)) >= 5
        assert t.duration is not None and t.duration > 20 * 60
    text = "\n".join(s.text for s in t.segments)
    assert "\\[" not in text and "**" not in text
