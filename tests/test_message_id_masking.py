"""Masking never touches a Message-ID: header lines that carry them and `[<id@host>]`
citations are left exactly as they are (3.2 % of the r-devel archive's IDs hold a digit run
that passes the Luhn check: `<[REDACTED card].GA26106@…>` broke citations)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli, shared_path

from ghost.chunk.threads import Masking, render_message
from ghost.ingest.mail import ReadStats, iter_records
from ghost.privacy import mask_secrets
from standin import StandIn
from test_private_files import mailbox as private_mailbox

OWNER = "Dana Reyes <dana@acme.example>"
LUHN_ID = "20050610153240.GA26106@stat.math.ethz.ch"  # its digit run passes the Luhn check


def mailbox(path: Path) -> Path:
    return private_mailbox(path, first_id=LUHN_ID)


def test_masking_keeps_message_ids_and_masks_what_is_around_them() -> None:
    text = (f"Sam wrote [<{LUHN_ID}>] and [{LUHN_ID}], card 4111 1111 1111 1111.\n"
            f"> Message-ID: <{LUHN_ID}>\n> References: <a@b>\n>\t<{LUHN_ID}>\n"
            f"In-Reply-To: <{LUHN_ID}>\n"
            "References: available on request; card 4111111111111111\n"
            f"password: hunter2<{LUHN_ID}>")
    masked, found = mask_secrets(text)
    assert masked.count(LUHN_ID) == text.count(LUHN_ID) == 6
    assert "4111" not in masked and found == {"card": 2, "password": 1}
    assert "password: [REDACTED]<" in masked
    assert mask_secrets(masked) == (masked, {})  # idempotent


def test_a_profile_keeps_a_citation_whose_id_looks_like_a_card(standin: StandIn,
                                                               tmp_path: Path) -> None:
    standin.enqueue("R")
    standin.enqueue(f"- **travel:** offsite in Lisbon FACT-OFFSITE [<{LUHN_ID}>]")
    standin.enqueue(f"# Profile\n\nThe offsite is in Lisbon [<{LUHN_ID}>].")
    result = run_cli("profile", "--mbox", mailbox(tmp_path / "inbox.mbox"), "--query",
                     "subject:offsite", "--cache-dir", tmp_path / "cache", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["citations"]["unknown"] == [] and not report["secrets_masked_reduce"]
    assert f"[<{LUHN_ID}>]" in report["text"]
    assert f"[<{LUHN_ID}>]" in json.dumps(standin.requests[-1].body)  # sent to the reduce


def test_masking_the_whole_r_devel_archive_alters_no_message_id() -> None:
    archive = shared_path("data", "mail", "r-devel-2005-2012.mbox")
    records = list(iter_records(archive, ReadStats(), workers=4))
    assert len(records) > 20_000
    masking = Masking(enabled=True, counts={})
    lost = [r.message_id for r in records
            if f"Message-ID: <{r.message_id}>\n" not in render_message(r, masking)]
    assert lost == []
    assert masking.counts.get("card", 0) > 0  # masking did run over the bodies
    citations = [f"- a fact [<{r.message_id}>] and [{r.message_id}]" for r in records]
    for start in range(0, len(citations), 2000):
        text = "\n".join(citations[start:start + 2000])
        assert mask_secrets(text)[0] == text
