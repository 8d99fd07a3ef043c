"""One client's mail never reaches another's profile: two mailboxes share one cache folder.

Alice's mailbox is profiled first; then Bob's, with a query that matches Alice's mail, with
model-written queries, and with the owner's threads. Nothing of Alice's — her planted facts,
her Message-IDs, her correspondents' addresses — may reach any request the stand-in receives
for Bob's runs, nor Bob's output; a citation of Alice's Message-ID in Bob's profile is flagged.
Each mailbox has its own index (narrow/mailboxes.py): `ghost mail forget` deletes one,
`ghost cache clear --all` all of them, and a dry run writes none.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli

from standin import StandIn

ALICE = "Alice Hart <alice@alice.example>"
BOB = "Bob Stone <bob@bob.example>"
# What only Alice's mailbox holds: her facts, her Message-IDs' and her correspondents' domains.
ALICES = ("FACT-ALICE", "alice.example", "vance-law.example", "alice-family.example")


def message(mid: str, sender: str, to: str, subject: str, body: str, date: str, *,
            reply_to: str = "") -> str:
    headers = [f"From {sender.split('<')[-1].rstrip('>')} {date}", f"Message-ID: <{mid}>",
               f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Date: {date}"]
    if reply_to:
        headers += [f"In-Reply-To: <{reply_to}>", f"References: <{reply_to}>"]
    return "\n".join(headers) + "\n\n" + body + "\n\n"


CAROL = "Carol Vance <carol@vance-law.example>"
SHARED = message("board-7@board.example", "Eve Board <eve@board.example>",
                 "Board <members@board.example>", "Board dinner",
                 "Dinner after the board meeting on the 9th. FACT-SHARED-DINNER",
                 "Mon, 10 Feb 2025 08:00:00 +0000")


def alice_mailbox(path: Path) -> Path:
    msgs = [message(f"a{i}@alice.example", CAROL, ALICE, f"Settlement terms, draft {i}",
                    f"Alice, the settlement is 2.4M; sign by Friday. FACT-ALICE-SETTLEMENT-{i}",
                    f"Mon, 0{i} Feb 2025 09:00:00 +0000") for i in range(1, 5)]
    msgs += [
        message("a9@alice.example", ALICE, CAROL, "Re: Settlement terms, draft 1",
                "Carol, agreed on the settlement. FACT-ALICE-REPLY",
                "Wed, 05 Feb 2025 10:00:00 +0000", reply_to="a1@alice.example"),
        message("d1@alice-family.example", "Dmitri Hart <dmitri@alice-family.example>", ALICE,
                "Dinner Sunday", "Dinner at mum's, settlement talk banned. FACT-ALICE-DINNER",
                "Thu, 06 Feb 2025 18:00:00 +0000"),
        SHARED,
    ]
    path.write_text("".join(msgs))
    return path


def bob_mailbox(path: Path) -> Path:
    fay = "Fay Stone <fay@stone-co.example>"
    msgs = [
        message("b1@bob.example", fay, BOB, "Settlement of the March invoice",
                "Bob, the invoice settlement is due. FACT-BOB-INVOICE",
                "Mon, 03 Feb 2025 09:00:00 +0000"),
        message("b2@bob.example", BOB, fay, "Re: Settlement of the March invoice",
                "Fay, paid today. FACT-BOB-PAID", "Tue, 04 Feb 2025 09:00:00 +0000",
                reply_to="b1@bob.example"),
        # Bob answers a message he never had (Alice's a1): one shared index would have
        # threaded it with Alice's settlement mail.
        message("b3@bob.example", BOB, "Gus Stone <gus@bob-golf.example>",
                "Re: Settlement terms, draft 1", "Gus, no idea what this settlement is. "
                "FACT-BOB-CROSS", "Wed, 05 Feb 2025 09:00:00 +0000", reply_to="a1@alice.example"),
        message("b4@bob.example", "Gus Stone <gus@bob-golf.example>", BOB, "Golf on Saturday",
                "Tee time 8am. FACT-BOB-GOLF", "Thu, 06 Feb 2025 09:00:00 +0000"),
        SHARED,  # in both mailboxes: Bob's copy is his, not a duplicate of Alice's
    ]
    path.write_text("".join(msgs))
    return path


def cli(tmp: Path, *args: object):
    return run_cli(*map(str, args), "--cache-dir", str(tmp / "cache"))


def profile_alice(tmp: Path, standin: StandIn) -> None:
    result = cli(tmp, "profile", "--mbox", alice_mailbox(tmp / "alice.mbox"), "--owner", ALICE,
                 "-o", tmp / "alice.md")
    assert result.exit_code == 0, result.output
    assert "FACT-ALICE-SETTLEMENT" in (tmp / "alice.md").read_text()
    assert "FACT-ALICE" in json.dumps([r.body for r in standin.requests])  # the check can fail


def bob_run(tmp: Path, standin: StandIn, *args: object) -> tuple[dict, str]:
    """Profile Bob; (the JSON report, everything sent to the stand-in for this run)."""
    before = len(standin.requests)
    result = cli(tmp, "profile", "--mbox", bob_mailbox(tmp / "bob.mbox"), *args, "--json")
    assert result.exit_code == 0, result.output
    sent = json.dumps([r.body for r in standin.requests[before:]])
    report = json.loads(result.stdout)
    for theirs in ALICES:
        assert theirs not in sent, f"{theirs} sent in Bob's run"
        assert theirs not in result.stdout, f"{theirs} in Bob's output"
    return report, sent


def test_a_query_matching_alices_mail_reads_only_bobs(standin: StandIn, tmp_path: Path) -> None:
    profile_alice(tmp_path, standin)
    report, sent = bob_run(tmp_path, standin, "--owner", BOB, "--query", "settlement")
    assert "FACT-BOB-INVOICE" in sent and "FACT-BOB-CROSS" in sent
    assert report["threads_selected"] == 2  # the invoice thread and Bob's reply; none of hers
    assert report["mail"]["messages"] == 5
    sent_ids = next(iter(json.loads(Path(report["manifest"]).read_text())["messages_sent"]
                         .values()))
    assert not [m for m in sent_ids if "alice" in m]


def test_auto_queries_see_bobs_correspondents_only(standin: StandIn, tmp_path: Path) -> None:
    profile_alice(tmp_path, standin)
    # A strong model that somehow asks for Alice's correspondent and her dinner finds nothing.
    standin.enqueue("settlement\nfrom:carol\nsubject:dinner", provider="anthropic")
    before = len(standin.requests)
    report, sent = bob_run(tmp_path, standin, "--owner", BOB, "--auto-queries", "--brief",
                           "money matters")
    queries = json.dumps(standin.requests[before].body)  # the queries prompt: top senders
    assert "fay@stone-co.example" in queries and "carol" not in queries.lower()
    assert report["queries"] == ["settlement", "from:carol", "subject:dinner"]
    assert "FACT-BOB-INVOICE" in sent and "FACT-SHARED-DINNER" in sent


def test_owner_threads_are_bobs_and_a_shared_message_is_his_too(standin: StandIn,
                                                                tmp_path: Path) -> None:
    profile_alice(tmp_path, standin)
    report, sent = bob_run(tmp_path, standin, "--owner", BOB)
    for fact in ("FACT-BOB-INVOICE", "FACT-BOB-PAID", "FACT-BOB-CROSS", "FACT-BOB-GOLF"):
        assert fact in sent
    # The board's message reached both: one shared index dropped Bob's copy as a duplicate.
    assert run_cli("mail", "search", "--mbox", str(tmp_path / "bob.mbox"), "dinner",
                   "--cache-dir", str(tmp_path / "cache")).stdout.count("board-7@") == 1
    assert report["mail"]["messages"] == 5


def test_a_citation_of_alices_message_id_is_not_in_bobs_mailbox(standin: StandIn,
                                                                tmp_path: Path) -> None:
    profile_alice(tmp_path, standin)

    def reply(provider: str, body: dict) -> str | None:
        text = json.dumps(body)
        if "one letter" in text:
            return "R"
        if "THREAD" in text:
            return "- **project:** the March invoice is settled [<b1@bob.example>]"
        return ("# Profile\n\nThe invoice is settled [<b1@bob.example>]; the 2.4M settlement "
                "[<a1@alice.example>].")

    standin.responder = reply
    before = len(standin.requests)
    result = cli(tmp_path, "profile", "--mbox", bob_mailbox(tmp_path / "bob.mbox"), "--owner",
                 BOB, "--query", "settlement", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["citations"]["unknown"] == ["<a1@alice.example>"]
    assert "[<b1@bob.example>]" in report["text"]
    assert "⚠ not in source: <a1@alice.example>" in report["text"]
    assert "FACT-ALICE" not in json.dumps([r.body for r in standin.requests[before:]])


def index_files(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if "mail-index" in p.name] if cache.exists() else []


def test_forget_and_clear_all_remove_the_indexes(tmp_path: Path) -> None:
    alice, bob = alice_mailbox(tmp_path / "alice.mbox"), bob_mailbox(tmp_path / "bob.mbox")
    cache = tmp_path / "cache"
    for box in (alice, bob):
        assert cli(tmp_path, "mail", "index", box).exit_code == 0
    folders = sorted(p for p in (cache / "mail").iterdir())
    assert len(folders) == 2  # one index each
    info = json.loads(cli(tmp_path, "cache", "info", "--json").stdout)
    assert info["mail"]["indexes"] == 2 and info["mail"]["bytes"] > 0
    assert {m["mailbox"] for m in info["mail"]["mailboxes"]} == {str(alice), str(bob)}
    assert info["bytes"] < info["mail"]["bytes"]  # the mail is not counted as cache
    text = cli(tmp_path, "cache", "info").stdout
    assert "2 mail indexes" in text and str(alice) in text and "5 messages" in text

    forgot = cli(tmp_path, "mail", "forget", alice)
    assert forgot.exit_code == 0 and "forgot" in forgot.stdout
    assert all(str(alice) not in p.read_bytes().decode("utf-8", "replace")
               for p in index_files(cache))
    left = [m["mailbox"] for m in json.loads(cli(tmp_path, "cache", "info", "--json").stdout)
            ["mail"]["mailboxes"]]
    assert left == [str(bob)]
    searched = cli(tmp_path, "mail", "search", "--mbox", alice, "settlement")
    assert searched.exit_code == 2 and "not indexed" in searched.stderr
    assert "no index" in cli(tmp_path, "mail", "forget", alice).stdout  # again: nothing to do

    plain = cli(tmp_path, "cache", "clear", "--yes")
    assert plain.exit_code == 0 and "1 mail index" in plain.stdout
    assert "ghost cache clear --all" in plain.stdout and index_files(cache)
    cleared = cli(tmp_path, "cache", "clear", "--all", "--yes")
    assert cleared.exit_code == 0 and "remain" not in cleared.stdout
    assert index_files(cache) == [] and not (cache / "mail").exists()


def test_clear_all_removes_the_shared_index_of_an_older_ghost(tmp_path: Path) -> None:
    from ghost.narrow.index import MailIndex

    with MailIndex(tmp_path / "cache" / "mail") as old:  # the layout before: one for all
        old.add(alice_mailbox(tmp_path / "alice.mbox"), workers=1)
    info = json.loads(cli(tmp_path, "cache", "info", "--json").stdout)["mail"]
    assert info["indexes"] == 1 and info["mailboxes"][0]["legacy"]
    assert "older ghost" in cli(tmp_path, "cache", "info").stdout
    assert "older ghost" in cli(tmp_path, "mail", "forget", tmp_path / "alice.mbox").stderr
    assert cli(tmp_path, "cache", "clear", "--all", "--yes").exit_code == 0
    assert index_files(tmp_path / "cache") == []


def test_dry_run_writes_no_index(standin: StandIn, tmp_path: Path) -> None:
    bob = bob_mailbox(tmp_path / "bob.mbox")
    dry = cli(tmp_path, "profile", "--mbox", bob, "--owner", BOB, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "triage" in dry.stdout and "temporary database" in dry.stdout
    assert not (tmp_path / "cache").exists() or index_files(tmp_path / "cache") == []
    assert not [p for p in tmp_path.rglob("*") if p.suffix.startswith(".sqlite")]
    assert standin.calls(status=None) == 0

    # With a stored index: the dry run starts from it and reads the new mail, but stores none.
    assert cli(tmp_path, "mail", "index", bob).exit_code == 0
    stored = index_files(tmp_path / "cache")
    before = {p: p.read_bytes() for p in stored}
    with open(bob, "a") as fh:
        fh.write(message("b5@bob.example", "Fay Stone <fay@stone-co.example>", BOB,
                         "New invoice", "Another one. FACT-BOB-NEW",
                         "Fri, 07 Feb 2025 09:00:00 +0000"))
    again = cli(tmp_path, "profile", "--mbox", bob, "--owner", BOB, "--dry-run", "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["mail"]["messages"] == 6 and report["mail"]["added"] == 1
    assert "temporary database" in " ".join(report["plan"]["notes"])
    assert {p: p.read_bytes() for p in stored if p.exists()} == before
    info = json.loads(cli(tmp_path, "cache", "info", "--json").stdout)["mail"]
    assert info["mailboxes"][0]["messages"] == 5  # the stored index did not grow

    auto = cli(tmp_path, "profile", "--mbox", bob, "--owner", BOB, "--auto-queries",
               "--dry-run")
    assert auto.exit_code == 0 and "temporary database" in auto.stdout
    assert standin.calls(status=None) == 0


def test_an_index_holds_its_own_mailbox_only(tmp_path: Path) -> None:
    import pytest

    from ghost.errors import InputError
    from ghost.narrow.mailboxes import index_folder, open_mailbox

    alice, bob = alice_mailbox(tmp_path / "alice.mbox"), bob_mailbox(tmp_path / "bob.mbox")
    cache = tmp_path / "cache"
    with open_mailbox(cache, alice) as index:
        index.add(workers=1)
        with pytest.raises(InputError, match="holds"):
            index.add(bob, workers=1)
    with pytest.raises(InputError, match="holds"):  # Bob's name on Alice's folder
        from ghost.narrow.index import MailIndex

        MailIndex(index_folder(cache, alice), mailbox=bob)


def test_each_index_is_private(tmp_path: Path) -> None:
    import os
    import stat

    from ghost.narrow.mailboxes import index_folder

    box = bob_mailbox(tmp_path / "bob.mbox")
    old = os.umask(0o022)
    try:
        assert cli(tmp_path, "mail", "index", box).exit_code == 0
    finally:
        os.umask(old)
    folder = index_folder(tmp_path / "cache", box)
    for path in (tmp_path / "cache", tmp_path / "cache" / "mail", folder):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
    assert "bob" not in folder.name  # the folder is named by a hash, not by the mailbox
