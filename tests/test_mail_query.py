"""The Gmail-style query parser and its SQL/FTS5 translation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ghost.errors import InputError
from ghost.narrow.query import Node, Term, compile_query, fts_string, parse_query

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def test_or_binds_tighter_than_and_like_gmail() -> None:
    expr = parse_query("a OR b c")
    assert isinstance(expr, Node) and expr.op == "and"
    first = expr.children[0]
    assert isinstance(first, Node) and first.op == "or"


def test_operators_and_phrases() -> None:
    expr = parse_query('from:"Jane Doe" -subject:invoice "board meeting" AND x | y')
    assert isinstance(expr, Node)
    assert expr.children[0] == Term("from", "Jane Doe", phrase=True)
    neg = expr.children[1]
    assert isinstance(neg, Node) and neg.op == "not"
    assert neg.children == [Term("subject", "invoice")]
    assert expr.children[2] == Term("text", "board meeting", phrase=True)
    last = expr.children[3]
    assert isinstance(last, Node) and last.op == "or"


def test_unknown_prefix_is_text() -> None:
    assert parse_query("http://example.com") == Term("text", "http://example.com")
    assert parse_query("label:work") == Term("text", "label:work")


def test_fts_quoting_neutralizes_syntax() -> None:
    assert fts_string('say "NEAR" AND') == '"say ""NEAR"" AND"'
    assert fts_string("plan*") == '"plan" *'
    assert fts_string("--") is None


def test_compile_text_drives_fts_and_folds_negations() -> None:
    q = compile_query("budget -draft from:ceo", now=NOW)
    assert q.match == '(("budget") AND (from_t : "ceo")) NOT ("draft")'
    assert q.where == "m.is_bulk = 0" and not q.include_bulk


def test_compile_filters_only() -> None:
    q = compile_query("has:attachment after:2024/01/31 newer_than:2y is:bulk", now=NOW)
    assert q.match is None
    assert "m.n_attachments > 0" in q.where and "m.is_bulk = 1" in q.where
    assert q.params[0] == int(datetime(2024, 1, 31, tzinfo=UTC).timestamp())
    assert q.include_bulk


def test_negated_bulk_does_not_include_bulk() -> None:
    assert not compile_query("-is:bulk x").include_bulk


def test_empty_query() -> None:
    q = compile_query("   ")
    assert q.match is None and q.where == "m.is_bulk = 0"


@pytest.mark.parametrize("query, message", [
    ('"open', "unbalanced quote"),
    ("(a b", "unbalanced"),
    ("a b)", "unexpected"),
    ("{}", "empty"),
    ("OR a", "unexpected"),
    ("a OR", "OR needs"),
    ("after:2024/02/30", "YYYY/MM/DD"),
    ("before:soon", "YYYY/MM/DD"),
    ("newer_than:3q", "unit"),
    ("is:starred", "not supported"),
    ("from:", "needs a value"),
])
def test_errors_are_one_clear_line(query: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        compile_query(query, now=NOW)
    assert "\n" not in str(err.value)
