"""What the `ghost ask` tests share: small PDFs written by hand, a folder of documents with facts
planted in a known few, and a map model's replies for the stand-in and the fake provider (the
lines holding a FACT marker, each cited by the document and the place it is at)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ghost.models.protocol import Request

FACT = re.compile(r"FACT-[A-Za-z0-9_-]+")
DOCUMENT = re.compile(r"^Document: (.+)$", re.M)
CITE_AS = re.compile(r"^Cite passages from this part as (\[[^\]\n]+\])", re.M)
SOURCE = re.compile(r"<<<SOURCE \w+>>>\n(.*)\n<<<END SOURCE \w+>>>", re.S)
PAGE = re.compile(r"^\[p\.(\d+)\]$")
STAMP = re.compile(r"^\[?(\d{2}:\d{2}:\d{2})\]?")
MESSAGE_ID = re.compile(r"Message-ID: (<[^>\s]+>)")
MAP_PROMPT = "Cite passages from this part as"  # in ask-map's user part only


def minimal_pdf(pages: list[str]) -> bytes:
    """A valid PDF of `pages` (lines of Latin-1 text in Helvetica), with a correct xref."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               ("<< /Type /Pages /Kids [" + " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
                + f"] /Count {len(pages)} >>").encode(),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, text in enumerate(pages):
        shown = " ".join("(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                         + ") Tj T*" for line in text.split("\n"))
        content = f"BT /F1 11 Tf 72 720 Td 14 TL {shown} ET".encode("latin-1")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
                       f"<< /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
            "%%EOF\n").encode()
    return out


def filler(n: int, paragraphs: int = 3) -> str:
    return "\n\n".join(" ".join(f"Document {n} paragraph {p} sentence {s} is about nothing much."
                                for s in range(5)) for p in range(paragraphs)) + "\n"


# (document, fact): planted in a known few of the hundred
PLANTED = {
    "doc-007.md": "FACT-LAUNCH the launch moved to May",
    "doc-042.txt": "FACT-BUDGET the budget was cut by 12 percent",
    "nested/doc-063.md": "FACT-OWNER Dana Reyes owns the rollout",
    "report.pdf": "FACT-PDF revenue rose 4 percent in Q3",
    "page.html": "FACT-HTML the office closes on Fridays",
}


def hundred_documents(folder: Path) -> Path:
    """98 text documents, a PDF and an HTML page; facts planted in the five of PLANTED."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"doc-{n:03d}.{'md' if n % 2 else 'txt'}" for n in range(98)]
    names[63] = "nested/doc-063.md"
    for n, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        body = filler(n)
        if name in PLANTED:
            body += f"\nThe minutes record that {PLANTED[name]}.\n"
        path.write_text(body, encoding="utf-8")
    (folder / "report.pdf").write_bytes(minimal_pdf([
        "Quarterly report\nNothing to see on the first page.",
        f"Results\nThe board heard that {PLANTED['report.pdf']}.",
    ]))
    (folder / "page.html").write_text(
        "<!DOCTYPE html><html><head><title>Office</title><script>var FACT_SCRIPT = 1;"
        "</script></head><body><h1>Notice</h1><p>Please note that "
        f"{PLANTED['page.html']}.</p><p>Thanks.</p></body></html>", encoding="utf-8")
    return folder


def passages_reply(text: str, wanted: Callable[[str], object] = FACT.search,
                   longest: int = 300) -> str:
    """What a map model says of one ask-map prompt: each line that is `wanted` (holds a FACT
    marker), quoted (its first `longest` characters) and cited by its document and the page,
    timestamp or message it is at (else the part's citation); NOTHING when there is none."""
    name = DOCUMENT.search(text)
    cite = CITE_AS.search(text)
    source = SOURCE.search(text)
    if not (name and cite and source):
        return "NOTHING"
    passages = []
    place: str | None = None
    for line in source.group(1).splitlines():
        line = line.strip().lstrip("^ ")
        if page := PAGE.match(line):
            place = f"[{name.group(1)} p.{page.group(1)}]"
        elif stamp := STAMP.match(line):
            place = f"[{name.group(1)} {stamp.group(1)}]"
        elif message := MESSAGE_ID.search(line):
            place = f"[{message.group(1)}]"
        if wanted(line):
            passages.append(f'- "{line[:longest]}" {place or cite.group(1)}')
    return "\n".join(passages) or "NOTHING"


def body_text(body: dict[str, Any]) -> tuple[str, str]:
    """(system, last user text) of a recorded Anthropic or OpenAI request body."""
    messages = body.get("messages", [])
    system = body.get("system") or next((m.get("content") for m in messages
                                         if m.get("role") in ("system", "developer")), "")
    last = messages[-1].get("content", "") if messages else ""
    if not isinstance(last, str):
        last = "".join(b.get("text", "") for b in last if isinstance(b, dict))
    return json.dumps(system), last


def is_map(body: dict[str, Any]) -> bool:
    return MAP_PROMPT in body_text(body)[1]


def is_reduce(body: dict[str, Any]) -> bool:
    return "expert analyst" in body_text(body)[0]


def standin_map(provider: str, body: dict[str, Any]) -> str | None:
    """The stand-in's responder: passages for ask-map calls, the default reply otherwise."""
    return passages_reply(body_text(body)[1]) if is_map(body) else None


def fake_map(request: Request) -> str | None:
    """The same for the fake provider."""
    text = request.messages[-1].text
    return passages_reply(text) if MAP_PROMPT in text else None
