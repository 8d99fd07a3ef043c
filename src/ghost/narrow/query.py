"""Gmail-style search queries -> SQL over the mail index.

Supported: bare words and "quoted phrases" (full text; `word*` is a prefix), `from:`, `to:`,
`cc:`, `subject:`, `after:` / `before:` (YYYY/MM/DD, YYYY-MM-DD or epoch seconds),
`older_than:` / `newer_than:` (`10d`, `6m`, `2y`, also `w`, `h`), `has:attachment`,
`is:bulk`, `include:bulk`, `rfc822msgid:`, `thread:`, `-` negation of any term or group,
`OR` (or `|`), `{a b}` (any of), `( )` grouping, implicit AND. Bulk mail (lists,
newsletters, no-reply senders) is left out unless `is:bulk` or `include:bulk` is given.
A term like `http://x` whose prefix is not an operator is searched as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ghost.errors import InputError

FTS_FIELDS = {"from": "from_t", "to": "to_t", "cc": "cc_t", "bcc": "to_t", "subject": "subject"}
OPERATORS = set(FTS_FIELDS) | {"after", "before", "older_than", "newer_than", "has", "is",
                               "include", "rfc822msgid", "thread"}
_UNITS = {"h": 1 / 24, "d": 1, "w": 7, "m": 30.44, "y": 365.25}
_DATE = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})$")
_RELATIVE = re.compile(r"(\d+)([hdwmy])$", re.I)


@dataclass
class Term:
    field: str  # "text" or an operator name
    value: str
    phrase: bool = False


@dataclass
class Node:
    op: str  # "and", "or", "not"
    children: list[Node | Term] = field(default_factory=list)


Expr = Node | Term


@dataclass
class CompiledQuery:
    """SQL pieces for `SELECT ... FROM messages m [JOIN mail_fts] WHERE ...`."""

    match: str | None  # FTS5 expression that drives the query and ranks it, if any
    where: str  # condition on `m` (always valid SQL, "1" when empty)
    params: list[object]
    include_bulk: bool


def tokenize(text: str) -> list[tuple[str, str]]:
    """(kind, value) tokens: 'word', 'phrase', 'field' (value 'name:'), '(', ')', '{', '}', '-'."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise InputError(f"query {text!r}: unbalanced quote; close the phrase with \"")
            tokens.append(("phrase", text[i + 1 : end]))
            i = end + 1
        elif c in "(){}":
            tokens.append((c, c))
            i += 1
        elif c == "-" and i + 1 < n and not text[i + 1].isspace():
            tokens.append(("-", "-"))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '(){}"':
                j += 1
            word = text[i:j]
            name, colon, rest = word.partition(":")
            if colon and name.lower() in OPERATORS:
                tokens.append(("field", name.lower()))
                if rest:
                    tokens.append(("word", rest))
            elif word == "|":
                tokens.append(("word", "OR"))
            elif word != "AND":  # explicit AND is the default anyway
                tokens.append(("word", word))
            i = j
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    def error(self, why: str) -> InputError:
        return InputError(f"query {self.text!r}: {why}")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> Expr:
        expr = self.parse_or(closing=None)
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return expr

    def parse_or(self, closing: str | None) -> Expr:
        """A run of terms (implicit AND); as in Gmail, OR binds tighter than AND."""
        items: list[Expr] = []
        while True:
            tok = self.peek()
            if tok is None or tok[0] == closing:
                break
            if tok[0] in ")}" or tok == ("word", "OR"):
                raise self.error(f"unexpected {tok[1]!r}")
            alternatives = [self.parse_unary()]
            while self.peek() == ("word", "OR"):
                self.pos += 1
                if self.peek() is None or self.peek()[0] in ")}":  # type: ignore[index]
                    raise self.error("OR needs a term on both sides")
                alternatives.append(self.parse_unary())
            items.append(alternatives[0] if len(alternatives) == 1 else Node("or", alternatives))
        if not items:
            raise self.error("empty group")
        return items[0] if len(items) == 1 else Node("and", items)

    def parse_unary(self) -> Expr:
        tok = self.peek()
        assert tok is not None
        self.pos += 1
        kind, value = tok
        if kind == "-":
            if self.peek() is None:
                raise self.error("'-' needs a term after it")
            return Node("not", [self.parse_unary()])
        if kind in "({":
            closing = ")" if kind == "(" else "}"
            if kind == "(":
                inner = self.parse_or(closing)
            else:
                parts: list[Expr] = []
                while self.peek() is not None and self.peek()[0] != "}":  # type: ignore[index]
                    parts.append(self.parse_unary())
                if not parts:
                    raise self.error("empty {}")
                inner = Node("or", parts) if len(parts) > 1 else parts[0]
            if self.peek() != (closing, closing):
                raise self.error(f"unbalanced {kind!r}")
            self.pos += 1
            return inner
        if kind == "field":
            nxt = self.peek()
            if nxt is None or nxt[0] not in ("word", "phrase"):
                raise self.error(f"{value}: needs a value, like {value}:something")
            self.pos += 1
            return Term(value, nxt[1], phrase=nxt[0] == "phrase")
        return Term("text", value, phrase=kind == "phrase")


def parse_query(text: str) -> Expr | None:
    """The query's syntax tree, or None for an empty query. Raises InputError when malformed."""
    if not text.strip():
        return None
    return _Parser(text).parse()


def compile_query(text: str, now: datetime | None = None) -> CompiledQuery:
    """Parse `text` and turn it into SQL pieces (see CompiledQuery). Raises InputError."""
    expr = parse_query(text)
    now = now or datetime.now(UTC)
    include_bulk = expr is not None and _asks_for_bulk(expr, negated=False)
    children: list[Expr] = []
    if expr is not None:
        children = expr.children if isinstance(expr, Node) and expr.op == "and" else [expr]
    ranked: list[str] = []
    rest: list[Expr] = []
    for child in children:
        fts = _fts(child)
        if fts is not None:
            ranked.append(fts)
        else:
            rest.append(child)
    match = " AND ".join(f"({f})" for f in ranked) if ranked else None
    conditions: list[str] = []
    params: list[object] = []
    for child in rest:
        if match and isinstance(child, Node) and child.op == "not":
            negated = _fts(child.children[0])
            if negated is not None:
                match = f"({match}) NOT ({negated})"
                continue
        sql, args = _sql(child, now)
        conditions.append(f"({sql})")
        params.extend(args)
    if not include_bulk:
        conditions.append("m.is_bulk = 0")
    return CompiledQuery(match, " AND ".join(conditions) or "1", params, include_bulk)


def _asks_for_bulk(expr: Expr, negated: bool) -> bool:
    if isinstance(expr, Term):
        return not negated and (expr.field, expr.value.lower()) in (("is", "bulk"),
                                                                     ("include", "bulk"))
    flip = expr.op == "not"
    return any(_asks_for_bulk(c, negated ^ flip) for c in expr.children)


def fts_string(value: str, phrase: bool = False) -> str | None:
    """An FTS5 string for a word or phrase (quoted, so no character is an operator)."""
    prefix = not phrase and len(value) > 1 and value.endswith("*")
    core = value[:-1] if prefix else value
    if not any(ch.isalnum() for ch in core):
        return None
    quoted = '"' + core.replace('"', '""') + '"'
    return quoted + " *" if prefix else quoted


def _fts(expr: Expr) -> str | None:
    """The FTS5 expression for a positive text/field term or an OR of them, else None."""
    if isinstance(expr, Term):
        column = FTS_FIELDS.get(expr.field)
        if expr.field != "text" and column is None:
            return None
        text = fts_string(expr.value, expr.phrase)
        if text is None:
            return None
        return text if column is None else f"{column} : {text}"
    if expr.op in ("or", "and"):
        parts = [_fts(c) for c in expr.children]
        if all(p is not None for p in parts):
            return f" {expr.op.upper()} ".join(f"({p})" for p in parts)
    return None


def _sql(expr: Expr, now: datetime) -> tuple[str, list[object]]:
    if isinstance(expr, Node):
        if expr.op == "not":
            inner, args = _sql(expr.children[0], now)
            return f"NOT ({inner})", args
        parts = [_sql(c, now) for c in expr.children]
        joiner = " OR " if expr.op == "or" else " AND "
        return joiner.join(f"({p})" for p, _ in parts), [a for _, args in parts for a in args]
    fts = _fts(expr)
    if fts is not None:
        return "m.id IN (SELECT rowid FROM mail_fts WHERE mail_fts MATCH ?)", [fts]
    field_, value = expr.field, expr.value.strip()
    low = value.lower()
    if field_ in ("text", *FTS_FIELDS):
        return "1", []  # only punctuation: nothing to search for
    if field_ in ("after", "before"):
        op = ">=" if field_ == "after" else "<"
        return f"m.date {op} ?", [_parse_date(value)]
    if field_ in ("older_than", "newer_than"):
        m = _RELATIVE.match(value)
        if not m:
            raise InputError(f"{field_}:{value}: use a number and a unit, like 10d, 6m or 2y")
        cutoff = now - timedelta(days=int(m.group(1)) * _UNITS[m.group(2).lower()])
        op = "<" if field_ == "older_than" else ">="
        return f"m.date {op} ?", [int(cutoff.timestamp())]
    if field_ == "has" and low in ("attachment", "attachments"):
        return "m.n_attachments > 0", []
    if field_ in ("is", "include") and low == "bulk":
        return ("m.is_bulk = 1" if field_ == "is" else "1"), []
    if field_ == "rfc822msgid":
        return "m.message_id = ?", [value.strip("<>")]
    if field_ == "thread" and value.isdigit():
        return "m.thread_id = ?", [int(value)]
    raise InputError(f"{field_}:{value}: not supported; use has:attachment, is:bulk, "
                     "include:bulk, rfc822msgid:<id> or thread:<number>")


def _parse_date(value: str) -> int:
    if value.isdigit() and len(value) > 8:
        return int(value)  # epoch seconds, as Gmail accepts
    m = _DATE.match(value)
    try:
        if not m:
            raise ValueError
        day = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=UTC)
    except ValueError:
        raise InputError(f"date {value!r}: use YYYY/MM/DD, like 2021/03/31") from None
    return int(day.timestamp())
