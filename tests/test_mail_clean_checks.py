"""The spelled-out fast checks of cleaning agree with the word lists and rules they stand for."""

from __future__ import annotations

import pytest

from ghost.ingest.mail.clean import _answered, _has_signoff_word, clean_body
from ghost.ingest.mail.forwards import _HINTS, _has_hint
from ghost.ingest.mail.headers import message_ids

SIGNOFF_WORDS = ("best", "regard", "cheers", "thank", "sincerely", "yours", "br", "rgds",
                 "grüß", "cordialement")


@pytest.mark.parametrize("hint", _HINTS)
def test_every_forward_hint_is_seen(hint: str) -> None:
    assert _has_hint(f"FYI\n\n---- {hint} ----\nFrom: a@b.example\n")
    assert not _has_hint(f"FYI\n\n---- {hint[:-1]} ----\n")


@pytest.mark.parametrize("word", SIGNOFF_WORDS)
def test_every_signoff_word_is_seen(word: str) -> None:
    assert _has_signoff_word(f"\nok.\n\n{word},\nsam\n")
    assert not _has_signoff_word("\nok.\n\nsee you,\nsam\n")


def test_answered_reads_the_lines_after_a_quote() -> None:
    quote = "\nq\n> what time?"
    end = len(quote)
    assert _answered(quote + "\n\nAt noon, see you.\n", end)
    assert not _answered(quote + "\n\n--\nsam\n", end)  # a signature, not an answer
    assert not _answered(quote + "\nSent from my phone\n", end)
    assert not _answered(quote + "\nOn Monday Kim wrote:\n", end)
    assert not _answered(quote, end)  # the quote ends the message
    assert _answered(quote + "\nfine by me", end)  # the last line has no newline


def test_blank_line_runs_become_one_blank_line() -> None:
    assert clean_body("a\n\n\n\n\n\n\nb\n\n\nc") == "a\n\nb\n\nc"


def test_message_ids() -> None:
    assert message_ids(" <a@b.example>  <c@d.example>\n\t<e@f>") == ["a@b.example", "c@d.example",
                                                                     "e@f"]
    assert message_ids("bare@host.example (comment)") == ["bare@host.example"]
    assert message_ids("no ids here") == []
    assert message_ids("") == []
