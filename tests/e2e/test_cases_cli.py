"""Case work in the CLI as counselors run it (PROTOCOL.md §13.5), over real processes.

One person is named by email in two records and by handle in two others: two matches. Two counselors
see them as two cases, most urgent first (one left four days without anyone reaching out, said in
words); one takes a case, gives it to the other, sets its state; a note is sealed to both counselors;
linking the handle match into the email case leaves one case with both matches and the note, which the
other counselor reads and checks. The note's text is in no file the servers wrote. Bad input is
refused with what to do, and nothing changes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from consilience.clients import reporter as reporter_mod
from consilience.protocol.encoding import b64u_decode
from messaging_world import RELEASE_INTERVAL, Actor, add_counselor, deployment

pytestmark = pytest.mark.e2e

BY_EMAIL, BY_HANDLE = "sam.doe@example.com", "x:samdoe"
#: The note, with a terminal escape and rich markup in it: shown as text, never acted on.
NOTE = "Reporters of both matches describe the same office party. \x1b[31mred\x1b[0m [/] [bold]b[/bold]"


@dataclass
class World:
    data: Path
    operator: Actor
    robin: Actor
    kim: Actor
    reporters: list[Actor]
    #: match id (b64u) of the email match and of the handle match
    matches: dict[str, str] = field(default_factory=dict)


def database(world: World) -> Path:
    (path,) = world.data.glob("escrow/*.sqlite")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("cases")
    with deployment(root) as (data, server, operator, _):
        robin, _ = add_counselor(root, data, server, operator, "Robin Counselor")
        kim, _ = add_counselor(root, data, server, operator, "Kim")
        invites = operator.run("admin", "invite", "--data-dir", str(data), "--count", "4")["invites"]
        reporters = [Actor(root / f"reporter{i + 1}", f"reporter {i + 1} passphrase") for i in range(4)]
        for actor, invite, named in zip(reporters, invites, [BY_EMAIL, BY_EMAIL, BY_HANDLE, BY_HANDLE], strict=True):
            actor.run("reporter", "register", "--server", server, "--invite", invite, "--contact",
                      f"{actor.home.name}@example.org")
            record = actor.run("reporter", "write", "--text", f"What {actor.home.name} remembers.")["record_id"]
            actor.run("reporter", "escrow", record, "--name", named)
        world = World(data, operator, robin, kim, reporters)
        deadline = time.monotonic() + 60
        while len(found := robin.run("counselor", "matches")["matches"]) < 2:
            assert time.monotonic() < deadline, "the two matches were not released"
            time.sleep(RELEASE_INTERVAL)
        opened = {x["match_id"]: robin.run("counselor", "open", "--", x["match_id"]) for x in found}
        for match_id, detail in opened.items():
            (named,) = {n for e in detail["entries"] for n in e["identifiers"]}
            world.matches["email" if named == BY_EMAIL else "handle"] = match_id
        yield world


def case_of(cases: list[dict[str, Any]], match_id: str) -> dict[str, Any]:
    (found,) = [c for c in cases if match_id in [m["match_id"] for m in c["matches"]]]
    return found


def hex_of(b64: str) -> str:
    return b64u_decode(b64).hex()


def test_two_counselors_work_the_cases_of_one_person(world: World) -> None:
    robin, kim = world.robin, world.kim
    cases = robin.run("counselor", "cases")["cases"]
    assert len(cases) == 2 and all(c["state"] == "new" and c["owner"] is None for c in cases)
    email_case, handle_case = case_of(cases, world.matches["email"]), case_of(cases, world.matches["handle"])

    # the email case has waited four days (as if its match were made then): first, and said so in words
    with sqlite3.connect(database(world)) as db:
        db.execute("UPDATE cases SET created_at = ? WHERE case_id = ?",
                   ((datetime.now(UTC) - timedelta(days=4, hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f"),
                    b64u_decode(email_case["case_id"])))
    listed = robin.run("counselor", "cases")["cases"]
    assert [c["case_id"] for c in listed] == [email_case["case_id"], handle_case["case_id"]]
    assert listed[0]["overdue"] is True and listed[1]["overdue"] is False
    shown = robin.text("counselor", "cases")
    assert "no one has reached out for 4 days" in shown
    assert shown.index(hex_of(email_case["case_id"])) < shown.index(hex_of(handle_case["case_id"]))

    # take it (by a prefix of its id), give it to Kim while saying how far it got, then to no one
    short = hex_of(handle_case["case_id"])[:8]
    taken = robin.run("counselor", "case", short, "--take")["case"]
    assert taken["owner"] == "Robin Counselor"
    given = robin.run("counselor", "case", short, "--owner", "kim", "--state", "reaching_out")["case"]
    assert (given["owner"], given["state"]) == ("Kim", "reaching_out") and given["reached_out_at"] is not None
    assert "Owner: Kim" in kim.text("counselor", "case", short)

    # bad input: refused with what to do, and the case is as it was
    assert "reaching_out" in robin.refused("counselor", "case", short, "--state", "done")
    assert "Robin Counselor" in robin.refused("counselor", "case", short, "--owner", "Nobody")
    assert "--take" in robin.refused("counselor", "case", short, "--take", "--owner", "Kim")
    assert "--text or with --file" in robin.refused("counselor", "note", short)
    assert "not a case id" in robin.refused("counselor", "case", "zzzz-not-an-id", "--take")
    after = case_of(robin.run("counselor", "cases")["cases"], world.matches["handle"])
    assert (after["owner"], after["state"], after["updated_at"]) == ("Kim", "reaching_out", given["updated_at"])
    assert robin.run("counselor", "case", short, "--owner", "none")["case"]["owner"] is None

    # a note on the handle case, sealed here to both counselors
    note_file = world.data.parent / "note.txt"
    note_file.write_text(NOTE, encoding="utf-8")
    added = robin.run("counselor", "note", short, "--file", str(note_file))
    assert sorted(added["sealed_to"]) == ["Kim", "Robin Counselor"]

    # the handle match names the same person: linked into the email case, one case with both and the note
    linked = robin.run("counselor", "link", hex_of(email_case["case_id"]), hex_of(world.matches["handle"]))["case"]
    assert sorted(m["match_id"] for m in linked["matches"]) == sorted(world.matches.values())
    cases = kim.run("counselor", "cases")["cases"]
    assert [c["case_id"] for c in cases] == [email_case["case_id"]]
    assert robin.run("counselor", "link", hex_of(email_case["case_id"]),
                     hex_of(world.matches["handle"]))["case"]["matches"] == linked["matches"]  # again: no-op

    read = kim.run("counselor", "notes", hex_of(email_case["case_id"]))
    assert read["failed"] == {}
    (note,) = read["notes"]
    assert (note["author"], note["text"], note["written_in"]) == ("Robin Counselor", NOTE, handle_case["case_id"])
    shown = kim.text("counselor", "notes", hex_of(email_case["case_id"]))
    assert "office party" in shown and "\x1b" not in shown and "\\x1b[31m" in shown
    assert "[/] [bold]b[/bold]" in shown
    assert "Robin Counselor" in shown

    # the note is in no file the servers wrote: only its ciphertext is
    needle = b"office party"
    for path in world.data.rglob("*"):
        if path.is_file():
            assert needle not in path.read_bytes(), path

    # a reporter's own session, sent as a reporter's client would, gets nothing of the cases
    r1 = world.reporters[0]
    session = reporter_mod.open_session(r1.home / "wallet.sealed", r1.passphrase)
    with session.client() as client:
        client.entries()  # signs in
        assert client.token is not None
        for method, path in (("GET", "/v2/cases"), ("GET", f"/v2/cases/{email_case['case_id']}/notes")):
            answer = client._http.request(method, path)
            assert answer.status_code == 403, answer.text
