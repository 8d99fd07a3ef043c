"""Quote, signature and footer stripping; HTML to text."""

from __future__ import annotations

from ghost.ingest.mail.clean import clean_body
from ghost.ingest.mail.html import html_to_text


def test_quotes_and_attribution() -> None:
    text = ("I agree.\n\nJane Doe <jane@x.example> wrote:\n> old text\n> more\n\n"
            "Second point.\n")
    assert clean_body(text) == "I agree.\n\nSecond point."


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
