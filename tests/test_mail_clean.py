"""Quote, signature and footer stripping; HTML to text."""

from __future__ import annotations

import pytest

from ghost.ingest.mail.clean import clean_body
from ghost.ingest.mail.html import html_to_text


def test_quotes_and_attribution() -> None:
    # A quote answered below it keeps its lines (the question); the attribution goes.
    text = ("I agree.\n\nJane Doe <jane@x.example> wrote:\n> old text\n> more\n\n"
            "Second point here.\n")
    assert clean_body(text) == "I agree.\n\n> old text\n> more\n\nSecond point here."
    # A quote at the end (top-posting) is the history the thread holds: dropped.
    assert clean_body("I agree.\n\nJane Doe <jane@x.example> wrote:\n> old text\n") == \
        "I agree."


def test_inline_answers_keep_their_questions() -> None:
    text = ("Hi Dana,\n\nOn Mon, 3 Feb 2025 at 09:00, Sam <sam@acme.example> wrote:\n"
            "> Long intro line one\n" + "".join(f"> filler {i}\n" for i in range(8))
            + "> Should I book the 8:05 flight?\n\nYes, book it.\n\n> And the hotel?\n\n"
            "The Avenida, as usual.\n\nBest,\nDana\n\nOn Sun, Sam wrote:\n> old\n")
    cleaned = clean_body(text)
    assert "> Should I book the 8:05 flight?\n\nYes, book it." in cleaned
    assert "> And the hotel?\n\nThe Avenida, as usual." in cleaned
    assert "> …" in cleaned and "Long intro" not in cleaned  # the last lines only
    assert "wrote:" not in cleaned and "> old" not in cleaned and "Best" not in cleaned


def test_wrapped_gmail_attribution() -> None:
    text = ("Yes.\n\nOn Mon, Mar 3, 2025 at 9:00 AM Avery Quill\n<avery@quill.example> "
            "wrote:\n\n> Should we?\n")
    assert clean_body(text) == "Yes."


def test_other_languages() -> None:
    assert clean_body("Oui.\n\nLe 3 mars, Avery a écrit :\n> Bonjour\n") == "Oui."
    assert clean_body("Ja.\n\nAm 3. März schrieb Avery:\n> Hallo\n") == "Ja."


def test_signature_delimiter() -> None:
    assert clean_body("Body text.\n-- \nJane\nPhone 555\n") == "Body text."


def test_long_tail_after_dashes_is_kept() -> None:
    tail = "\n".join(f"line {i}" for i in range(30))
    text = f"Intro.\n--\n{tail}\n"
    assert clean_body(text).endswith("line 29")


def test_signoff_block_removed_but_not_in_middle() -> None:
    assert clean_body("See attached.\n\nThanks,\nJane\n") == "See attached."
    body = "Thanks for the report.\nIt is fixed now.\n"
    assert clean_body(body) == "Thanks for the report.\nIt is fixed now."


def test_list_footer_and_phone_lines() -> None:
    text = ("Patch attached.\n\nSent from my iPhone\n\n"
            "______________________________________________\n"
            "Dev@example.org mailing list\nhttps://lists.example.org/listinfo/dev\n")
    assert clean_body(text) == "Patch attached."


def test_whitespace_normalized() -> None:
    text = "a  \r\n\r\n\r\n\r\nb\u00a0c\u200b\t\n"
    assert clean_body(text) == "a\n\nb c"


def test_html_to_text() -> None:
    html = ("<div>Hello&nbsp;<b>world</b></div><br><table><tr><td>a</td><td>b</td></tr>"
            "</table><script>bad()</script><p>end &amp; done</p>")
    text = html_to_text(html)
    assert "Hello world" in text and "a b" in text and "end & done" in text
    assert "bad()" not in text


def test_broken_html_does_not_raise() -> None:
    assert "text" in html_to_text("<p>text<div <<<>>> </b></p></html")


GMAIL_FORWARD = """FYI, see below. Please book it.

Thanks,
Sam

---------- Forwarded message ---------
From: Air Travel <bookings@air.example>
Date: Mon, Jan 20, 2025 at 10:00 AM
Subject: Your itinerary
To: Sam <sam@acme.example>

Flight TP123 Lisbon 11 March 08:05, seat 3C.

Kind regards,
Air Travel
"""


def test_gmail_forward_is_kept_with_its_sender_and_date() -> None:
    assert clean_body(GMAIL_FORWARD) == (
        "FYI, see below. Please book it.\n\n[Forwarded message from Air Travel "
        '<bookings@air.example>, dated 2025-01-20 10:00, subject "Your itinerary"]\n'
        "Flight TP123 Lisbon 11 March 08:05, seat 3C.\n[End of forwarded message]")


def test_apple_forward_with_gmt_offset() -> None:
    text = ("Look.\n\nBegin forwarded message:\n\nFrom: Ana <ana@x.example>\n"
            "Subject: Dinner\nDate: 20 January 2025 at 19:02:11 GMT+1\nTo: s@x.example\n\n"
            "Dinner at 8 on Friday.\n")
    assert "[Forwarded message from Ana <ana@x.example>, dated 2025-01-20 18:02, " \
           'subject "Dinner"]\nDinner at 8 on Friday.' in clean_body(text)


OUTLOOK = """See below.

-----Original Message-----
From: Lee Park [mailto:lee@acme.example]
Sent: Tuesday, February 4, 2025 3:15 PM
To: Sam Ortiz
Subject: Q1 numbers

Q1 revenue was 1.2M.
"""


def test_outlook_original_message_is_a_forward_only_under_a_forward_subject() -> None:
    forwarded = clean_body(OUTLOOK, subject="FW: Q1 numbers")
    assert "[Forwarded message from Lee Park <lee@acme.example>, dated 2025-02-04 15:15" \
        in forwarded and "Q1 revenue was 1.2M." in forwarded
    assert clean_body(OUTLOOK, subject="RE: Q1 numbers") == "See below."  # reply history


def test_nested_forwards_and_a_forward_with_nothing_above() -> None:
    inner = GMAIL_FORWARD.replace("Air Travel <", "Desk <")
    text = ("---------- Forwarded message ---------\nFrom: Kim <kim@x.example>\n"
            "Date: Tue, 21 Jan 2025 09:00:00 +0000\nSubject: Fwd: itinerary\n\n" + inner)
    cleaned = clean_body(text)
    assert cleaned.startswith("[Forwarded message from Kim <kim@x.example>, dated "
                              "2025-01-21 09:00")
    assert "[Forwarded message from Desk <bookings@air.example>" in cleaned
    assert cleaned.count("[End of forwarded message]") == 2


def test_a_quoted_forward_is_history_not_a_forward() -> None:
    text = "Done.\n\nOn Mon, Sam wrote:\n> ---------- Forwarded message ---------\n> From: x\n"
    assert clean_body(text) == "Done."


def test_forwards_doctest() -> None:
    import doctest

    from ghost.ingest.mail import forwards

    assert doctest.testmod(forwards).failed == 0


def test_a_forward_dated_in_an_unknown_zone_warns_nothing(recwarn: pytest.WarningsRecorder) -> None:
    from ghost.ingest.mail.forwards import _iso

    assert _iso("Mon, Feb 3, 2025 at 9:15 AM PST") == "2025-02-03 09:15"  # the clock as written
    assert not [w for w in recwarn if "tzname" in str(w.message)]
