"""Citation checking: ranges, fractional seconds, and the chunk labels we hand the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghost.chunk.segments import Chunk
from ghost.cite import UNVERIFIED, check_citations, normalise, split_citation
from ghost.sources import load_transcript_source

KNOWN = {"00:12:34", "00:15:00", "01:02:03"}


def words(s: str) -> int:
    return len(s.split())


@pytest.mark.parametrize("dash", ["-", "–", "—", " - ", " – "])
def test_both_ends_of_a_range_are_citations(dash: str) -> None:
    assert split_citation(f"00:12:34{dash}00:15:00") == ["00:12:34", "00:15:00"]
    text, report = check_citations(f"Said so [00:12:34{dash}00:15:00].", KNOWN)
    assert report.ok and report.found == 2
    assert text == f"Said so [00:12:34{dash}00:15:00]."


@pytest.mark.parametrize("dash", ["-", "–"])
def test_a_bogus_end_of_a_range_is_flagged(dash: str) -> None:
    _, report = check_citations(f"Said so [00:12:34{dash}00:15:59].", KNOWN)
    assert report.found == 2 and report.unknown == ["00:15:59"]
    _, report = check_citations(f"Said so [00:00:09{dash}00:15:00].", KNOWN)
    assert report.unknown == ["00:00:09"]
    flagged, _ = check_citations(f"x [00:12:34{dash}00:15:59]", KNOWN)
    assert flagged == f"x [00:12:34{dash}00:15:59 {UNVERIFIED}: 00:15:59]"
    stripped, _ = check_citations(f"x [00:12:34{dash}00:15:59]", KNOWN, mode="strip")
    assert stripped == "x [00:12:34]"


@pytest.mark.parametrize("stamp", ["01:02:03.500", "01:02:03,500", "01:02:03.5", "1:02:03,999"])
def test_a_fractional_stamp_matches_its_whole_second(stamp: str) -> None:
    assert split_citation(stamp) == [stamp]
    assert normalise(stamp) == "01:02:03"
    text, report = check_citations(f"Yes [{stamp}].", KNOWN)
    assert report.ok and report.found == 1 and text == f"Yes [{stamp}]."


@pytest.mark.parametrize("stamp", ["01:02:04.500", "01:02:04,500"])
def test_a_bogus_fractional_stamp_is_flagged(stamp: str) -> None:
    flagged, report = check_citations(f"No [{stamp}].", KNOWN)
    assert report.unknown == [stamp]
    assert flagged == f"No [{stamp} {UNVERIFIED}: {stamp}]."


def test_fractional_ranges() -> None:
    _, report = check_citations("[00:12:34,250-00:15:00,750] [00:12:34.1–00:15:01.0]", KNOWN)
    assert report.found == 4 and report.unknown == ["00:15:01.0"]


def test_lists_line_ranges_and_message_ids_still_split_as_before() -> None:
    assert split_citation("00:12:34,00:15:00") == ["00:12:34", "00:15:00"]
    assert split_citation("00:12:34, 00:15:00; L1-L5") == ["00:12:34", "00:15:00", "L1-L5"]
    assert split_citation("<a-1@host-2.example>, <b@c>") == ["<a-1@host-2.example>", "<b@c>"]
    assert split_citation("see 00:12:34-ish") == []
    _, report = check_citations("[L1-L5] [<a-1@host>] [12:34]", {"L1-L5", "a-1@host", "00:12:34"})
    assert report.ok and report.found == 3


# Cues with silences between them: no cue ends where the next one starts.
VTT = """WEBVTT

00:00:01.000 --> 00:00:04.500
<v Ann>We started in a shed.

00:00:10.000 --> 00:00:13.250
<v Bob>How big was the shed?

00:00:20.000 --> 00:00:24.900
<v Ann>Two metres by three, with a leaking roof.

00:00:40.000 --> 00:00:47.600
<v Bob>And the first customer came when?

00:01:10.000 --> 00:01:19.300
<v Ann>In the spring, after the first harvest.
"""

SRT = """1
00:00:01,000 --> 00:00:04,500
Ann: We started in a shed.

2
00:00:10,000 --> 00:00:13,250
Bob: How big was the shed?

3
00:00:20,000 --> 00:00:24,900
Ann: Two metres by three, with a leaking roof.

4
00:00:40,000 --> 00:00:47,600
Bob: And the first customer came when?

5
00:01:10,000 --> 00:01:19,300
Ann: In the spring, after the first harvest.
"""


@pytest.mark.parametrize(("name", "body"), [("talk.vtt", VTT), ("talk.srt", SRT)],
                         ids=["vtt", "srt"])
@pytest.mark.parametrize("chunk_tokens", [20, 40, 1000])
def test_chunk_labels_pass_the_citation_check(tmp_path: Path, name: str, body: str,
                                              chunk_tokens: int) -> None:
    """A model that copies the label it was given must not be flagged for it."""
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    source = load_transcript_source(path, chunk_tokens=chunk_tokens, count_tokens=words)
    assert len(source.chunks) >= (2 if chunk_tokens < 1000 else 1)
    labels = [c.label for c in source.chunks]
    assert any("–" in label for label in labels)
    text = " ".join(f"Claim [{label}]." for label in labels)
    checked, report = check_citations(text, source.citations)
    assert report.ok, report.unknown
    assert checked == text
    for chunk in source.chunks:  # every stamp of a label is shown in the chunk's own text
        assert all(f"[{stamp}]" in chunk.text for stamp in split_citation(chunk.label))
    last = source.chunks[-1]
    assert isinstance(last, Chunk) and last.end == 79.3  # the time covered: to the last cue's end
