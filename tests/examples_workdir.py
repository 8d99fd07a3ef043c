"""The folder every documented example runs in (tests/examples_table.py): corpora/ and the
small inputs the examples name — mail, captions, labelled screen examples, prompts."""

from __future__ import annotations

import json
import mailbox
import shutil
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OWNER = "Dana Reyes <dana@example.com>"


def _message(mid: str, sender: str, to: str, subject: str, date: datetime, body: str,
             attachment: bool = False, reply_to: str = "") -> EmailMessage:
    msg = EmailMessage()
    msg["Message-ID"], msg["From"], msg["To"] = f"<{mid}>", sender, to
    msg["Subject"], msg["Date"] = subject, format_datetime(date)
    if reply_to:
        msg["In-Reply-To"] = msg["References"] = f"<{reply_to}>"
    msg.set_content(body)
    if attachment:
        msg.add_attachment(b"==1234== 48 bytes definitely lost\n", maintype="text",
                           subtype="plain", filename="valgrind.txt")
    return msg


def messages() -> list[EmailMessage]:
    now = datetime.now(UTC)
    r_devel = "r-devel@r-project.org"
    return [
        _message("m1@acme.com", "Board <board@acme.com>", OWNER, "Board offsite in Lisbon",
                 now - timedelta(days=20), "Dana, FACT-OFFSITE the offsite is 12 March."),
        _message("m2@example.com", OWNER, "Board <board@acme.com>", "Re: Board offsite in Lisbon",
                 now - timedelta(days=19), "Thanks. I fly aisle seats only. FACT-AISLE",
                 reply_to="m1@acme.com"),
        _message("m3@agency.example", "Trips <trips@agency.example>", OWNER,
                 "travel: Lisbon flights", now - timedelta(days=18),
                 "Your flights to Lisbon are booked. FACT-TRAVEL"),
        _message("m4@example.com", OWNER, "Lee <lee@acme.com>", "Budget review",
                 now - timedelta(days=10), "Lee, the Q1 budget by Friday please. FACT-BUDGET"),
        _message("m5@stats.ox.ac.uk", "Brian Ripley <ripley@stats.ox.ac.uk>", r_devel,
                 "R 2.5.0 is released", datetime(2007, 4, 24, 9, tzinfo=UTC),
                 "R 2.5.0 is out. FACT-R25"),
        _message("m6@example.org", "Ann <ann@example.org>", r_devel, "memory leak in readRDS",
                 datetime(2011, 3, 2, 9, tzinfo=UTC), "A memory leak; valgrind log attached.",
                 attachment=True),
        _message("m7@example.org", "Bob <bob@example.org>", r_devel, "memory leak on windows",
                 datetime(2011, 3, 3, 9, tzinfo=UTC), "Only on windows. Log attached.",
                 attachment=True),
    ]


def write_mail(path: Path, maildir: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(path) if maildir else mailbox.mbox(path)
    for msg in messages():
        box.add(msg)
    box.close()


VTT = "WEBVTT\n\n" + "".join(
    f"00:0{i}:00.000 --> 00:0{i}:30.000\n<v Maya>Part {i} of the talk about pricing.{fact}\n\n"
    for i, fact in enumerate(["", " FACT-VTT we raised prices twice.", "", ""]))

LABELLED = [{"label": letter, "text": text} for letter, text in [
    ("A", "Two founders talk about pricing calibration software for breweries."),
    ("B", "A guest repeats an unproven rumour that a named rival cheats customers."),
    ("C", "A caller reads out a neighbour's home address and urges a visit.")]]


def workdir(tmp: Path) -> None:
    """corpora/ and every input the examples name, small; essays/ leaves one essay out, and
    that one is draft.txt and essay.md."""
    shutil.copytree(REPO / "corpora", tmp / "corpora")
    essays = sorted((tmp / "corpora" / "my_essays").iterdir())
    shutil.copytree(tmp / "corpora" / "my_essays", tmp / "essays")
    (tmp / "essays" / essays[-1].name).unlink()
    text = essays[-1].read_text(encoding="utf-8")
    (tmp / "essay.md").write_text(text, encoding="utf-8")
    (tmp / "draft.txt").write_text(text.split("---\n", 2)[-1], encoding="utf-8")
    episode = tmp / "corpora" / "episode-042.txt"
    for name in ("ep.txt", "episode.txt", "post.txt"):
        shutil.copy(episode, tmp / name)
    (tmp / "episodes").mkdir()
    shutil.copy(episode, tmp / "episodes" / "ep42.txt")
    shutil.copy(tmp / "corpora" / "notes.txt", tmp / "report.txt")
    (tmp / "ep.vtt").write_text(VTT, encoding="utf-8")
    for mbox in ("inbox.mbox", "takeout.mbox", "takeout/inbox.mbox"):
        write_mail(tmp / mbox)
    write_mail(tmp / "Maildir", maildir=True)
    (tmp / "labelled.jsonl").write_text("".join(json.dumps(x) + "\n" for x in LABELLED))
    (tmp / "opening.txt").write_text("Introduce yourselves and find one disagreement.\n")
    others = tmp / "other-writers"  # texts not by the host: the episode's talk, the notes
    others.mkdir()
    shutil.copy(episode, others / "episode.txt")
    shutil.copy(tmp / "corpora" / "notes.txt", others / "notes.txt")
    (tmp / "p.txt").write_text("What makes a small software business last? FACT-PROMPT\n")


