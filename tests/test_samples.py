"""Loading style samples: front matter, titles, dates, skipped files and bad folders."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

import pytest
from conftest import FIXTURES, shared_path

from ghost.errors import InputError
from ghost.ingest.samples import Sample, load_samples, order_samples_by_recency, split_front_matter

ESSAYS = FIXTURES / "samples" / "essays"


def test_fixture_folder_loads_sorted_with_titles_dates_and_skips() -> None:
    samples, skipped = load_samples(ESSAYS)

    assert [s.path.relative_to(ESSAYS).as_posix() for s in samples] == [
        "2023-04-02-gardens.md", "notes-on-walking.md", "older/letter-to-a-young-writer.txt"]
    gardens, walking, letter = samples
    # front matter wins over the first heading and over the date in the file name
    assert gardens.title == "Why I Keep a Garden"
    assert gardens.date == datetime.date(2023, 4, 9)
    assert gardens.text.startswith("# A heading that is not the title")
    assert "tags:" not in gardens.text and "---" not in gardens.text
    assert walking.title == "Notes on Walking" and walking.date is None
    assert letter.title == "letter-to-a-young-writer" and letter.date is None
    for s in samples:
        assert s.sha256 == hashlib.sha256(s.text.encode("utf-8")).hexdigest()
        assert s.text == s.text.strip()
    # the empty file is reported; the picture and the hidden draft are not samples at all
    assert [(p.name, reason) for p, reason in skipped] == [("empty.md", "is empty")]


def test_date_from_file_name_when_front_matter_has_none(tmp_path: Path) -> None:
    (tmp_path / "2021-12-31 year end.txt").write_text("Some closing thoughts on the year.")
    (tmp_path / "2021-02-30-bad-date.md").write_text("---\ndate: soon\n---\nText here.")
    samples, _ = load_samples(tmp_path)
    assert {s.path.name: s.date for s in samples} == {
        "2021-02-30-bad-date.md": None, "2021-12-31 year end.txt": datetime.date(2021, 12, 31)}


def test_front_matter_parsing() -> None:
    meta, body = split_front_matter("---\ntitle: 'A: B'\nDate: 2020-01-02T10:00\n"
                                    "  nested: ignored\nno colon line\n---\nBody\n")
    assert meta == {"title": "A: B", "date": "2020-01-02T10:00"}
    assert body == "Body\n"
    # a leading rule without a closing fence is body text, not front matter
    assert split_front_matter("---\nJust a rule above.\n") == ({}, "---\nJust a rule above.\n")
    assert split_front_matter("No front matter.") == ({}, "No front matter.")


def test_binary_undecodable_front_matter_only_and_duplicates_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("The real essay, in full.")
    (tmp_path / "b.bin.txt").write_bytes(b"\x89PNG\r\n\x00\x00\x00binary")
    (tmp_path / "c.txt").write_bytes(b"caf\x81 \x8d\x8f")  # undefined in cp1252, bad UTF-8
    (tmp_path / "d.md").write_text("---\ntitle: Only a title\n---\n\n")
    (tmp_path / "e.markdown").write_text("The real essay, in full.")
    (tmp_path / "F.TXT").write_text("Upper-case suffixes count too.")
    samples, skipped = load_samples(tmp_path)
    assert [s.path.name for s in samples] == ["F.TXT", "a.md"]
    reasons = {p.name: reason for p, reason in skipped}
    assert "binary" in reasons["b.bin.txt"]
    assert "UTF-8" in reasons["c.txt"]
    assert reasons["d.md"] == "has front matter but no text"
    assert reasons["e.markdown"] == f"same text as {tmp_path / 'a.md'}"


def test_bad_folders_raise_one_line_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        load_samples(tmp_path / "missing")
    (tmp_path / "essay.md").write_text("text")
    with pytest.raises(InputError, match="is a file"):
        load_samples(tmp_path / "essay.md")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.pdf").write_bytes(b"%PDF")
    with pytest.raises(InputError, match="no usable style samples") as exc:
        load_samples(empty)
    (empty / "blank.md").write_text("  \n")
    with pytest.raises(InputError, match=r"1 skipped, e\.g\. blank\.md: is empty"):
        load_samples(empty)
    assert "\n" not in str(exc.value)


def test_order_by_recency_newest_first_undated_last_by_path() -> None:
    def sample(name: str, date: datetime.date | None) -> Sample:
        return Sample(Path(name), name, date, "text", "0")

    old, new = datetime.date(2020, 1, 1), datetime.date(2024, 6, 1)
    ordered = order_samples_by_recency(
        [sample("z", None), sample("b", old), sample("a", None), sample("c", new),
         sample("a2", old)])
    assert [s.path.name for s in ordered] == ["c", "a2", "b", "a", "z"]


def test_loads_the_federalist_hamilton_papers() -> None:
    folder = shared_path("data", "essays", "federalist", "hamilton")
    samples, skipped = load_samples(folder)
    assert len(samples) == 51 and not skipped
    assert samples[0].title == "federalist-01"
    assert samples[0].text.startswith("To the People of the State of New York")
