"""Handover, revocation and who read a record, in the CLI as people run it (PROTOCOL.md §13.6).

Each test has a deployment of its own on loopback (``admin init``, three key servers and the escrow
server as processes, the key generation published, the release pass every half second), and every
actor is a CLI process with a home folder of its own.

* A counselor hands over to a counselor added after the entries were escrowed: the new counselor
  opens the match the first could open, and the reporters see exactly the readings of their
  released entries, checked against the log and named from the document; a reporter whose entry was
  under the matched tag but not released sees no reader at all.
* Entries escrowed while only one counselor existed, who then loses their key: a second counselor is
  added, the first revoked (their envelopes are deleted: the database is searched for them), the
  reporters' next ``reporter list`` seals their records again for the counselors now listed, and the
  second counselor opens the match.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cli_process import cli
from consilience.protocol.encoding import b64u_decode
from consilience.services.escrow.settings import Settings
from consilience.storage.database import Database
from consilience.storage.models import EntryEnvelope
from messaging_world import NAMED, RELEASE_INTERVAL, Actor, add_counselor, deployment

pytestmark = pytest.mark.e2e


def reporters(root: Path, data: Path, server: str, operator: Actor, quorums: list[int]) -> list[tuple[Actor, str]]:
    """Reporters who each wrote a record and named the same person at these quorums: (reporter, record id)."""
    invites = operator.run("admin", "invite", "--data-dir", str(data), "--count", str(len(quorums)))["invites"]
    out = []
    for n, (invite, quorum) in enumerate(zip(invites, quorums, strict=True), start=1):
        actor = Actor(root / f"reporter{n}", f"reporter {n} passphrase")
        actor.run("reporter", "register", "--server", server, "--invite", invite,
                  "--contact", f"reporter{n}@example.org")
        record = actor.run("reporter", "write", "--text", f"What reporter {n} remembers.")["record_id"]
        actor.run("reporter", "escrow", record, "--name", NAMED, "--quorum", str(quorum))
        out.append((actor, record))
    return out


def eventually(what: str, check: Any, timeout: float = 40.0) -> Any:
    """``check()`` once it returns something true (the release pass runs on its own timer)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(RELEASE_INTERVAL)


def the_match(counselor: Actor) -> str:
    return str(eventually("a match", lambda: counselor.run("counselor", "matches")["matches"])[0]["match_id"])


def records_read(counselor: Actor, match_id: str) -> list[str]:
    return sorted(e["record"] for e in counselor.run("counselor", "open", "--", match_id)["entries"])


def text_of(actor: Actor, *args: str) -> str:
    proc = cli(actor.env, *args)
    assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def envelopes_for(data: Path, key_id: str) -> int:
    db = Database(Settings.for_data_dir(data / "escrow").database_url)
    try:
        with db.read() as session:
            return int(session.scalar(select(func.count()).select_from(EntryEnvelope)
                                      .where(EntryEnvelope.key_id == b64u_decode(key_id))) or 0)
    finally:
        db.dispose()


def test_a_counselor_hands_over_to_a_new_counselor_and_reporters_see_who_read_them(tmp_path: Path) -> None:
    with deployment(tmp_path, max_quorum=5) as (data, server, operator, _):  # a reporter asks for quorum 5
        robin, robin_key = add_counselor(tmp_path, data, server, operator, "Robin Counselor")
        (one, rec1), (two, rec2), (three, rec3) = reporters(tmp_path, data, server, operator, [2, 2, 5])
        match_id = the_match(robin)
        expected = ["What reporter 1 remembers.", "What reporter 2 remembers."]
        assert records_read(robin, match_id) == expected

        sky, sky_key = add_counselor(tmp_path, data, server, operator, "Sky Counselor")
        assert records_read(sky, match_id) == []  # escrowed before Sky was added: nothing sealed to Sky yet
        done = robin.run("counselor", "handover", "--to", "Sky Counselor")
        assert (done["to"], done["key_id"], done["envelopes"], done["unreadable"]) == ("Sky Counselor", sky_key, 3, 0)
        assert envelopes_for(data, sky_key) == 3  # reporter 3's too: its shares count for the next release
        assert records_read(sky, match_id) == expected
        again = text_of(robin, "counselor", "handover", "--to", "Sky Counselor")
        assert "already holds everything" in again

        # the reporters of released entries see both readings, logged, with the names the document gives
        def logged(actor: Actor, record: str) -> list[dict[str, Any]] | None:
            found: list[dict[str, Any]] = actor.run("reporter", "readers", record)["readers"]
            return found if found and all(r["log"] == "logged" for r in found) else None

        for actor, record in ((one, rec1), (two, rec2)):
            found = eventually("the openings in the log", lambda a=actor, r=record: logged(a, r))
            # Sky's first look, before the handover, handed out nothing of theirs: it is no reading
            assert [(r["counselor"], r["counselor_key_id"]) for r in found] == [
                ("Robin Counselor", robin_key), ("Sky Counselor", sky_key)]
            verified = json.loads(text_of(actor, "verify", found[-1]["receipt"], "--json"))
            assert verified["valid"] and verified["event"] == "opening"
        shown = text_of(one, "reporter", "readers", rec1)
        assert "Sky Counselor" in shown and "checked: the log has it" in shown
        # reporter 3's entry gave only its shares: no reader, the same words as for a record nobody matched
        assert three.run("reporter", "readers", rec3)["readers"] == []
        assert "No counselor has read record" in text_of(three, "reporter", "readers", rec3)


def test_entries_escrowed_while_only_a_counselor_who_lost_their_key_existed_stay_openable(tmp_path: Path) -> None:
    with deployment(tmp_path) as (data, server, operator, _):
        ash, ash_key = add_counselor(tmp_path, data, server, operator, "Ash Counselor")
        (one, _), (two, _) = reporters(tmp_path, data, server, operator, [2, 2])
        match_id = the_match(ash)
        assert len(records_read(ash, match_id)) == 2
        ash.key.unlink()  # Ash loses their key: nobody can hand over what was sealed only to it

        kit, kit_key = add_counselor(tmp_path, data, server, operator, "Kit Counselor")
        revoked = operator.run("admin", "revoke", "counselor", "Ash Counselor", "--data-dir", str(data))
        assert revoked["envelopes_deleted"] == 2
        assert envelopes_for(data, ash_key) == 0
        assert records_read(kit, match_id) == []

        # each reporter's next listing seals the record again for the counselors now in the deployment
        listed = one.run("reporter", "list")
        assert listed["resealed"] == [listed["records"][0]["record_id"]]
        said = text_of(two, "reporter", "list")
        assert "was sealed again for the counselors now in this deployment" in said
        assert "resealed" not in one.run("reporter", "list")  # once is enough
        assert envelopes_for(data, kit_key) == 2 and envelopes_for(data, ash_key) == 0
        found = eventually("the match released again", lambda: len(records_read(kit, match_id)) == 2)
        assert found
        assert records_read(kit, match_id) == ["What reporter 1 remembers.", "What reporter 2 remembers."]
