"""After a match, in the CLI as people run it (PROTOCOL.md §13): messages, a reveal, an introduction with consent.

A counselor writes to reporter 1, who answers without ever having given a contact and later reveals
one; the counselor proposes an introduction to the three reporters; 1 and 2 accept, 3 declines; the
roster lists exactly 1 and 2; they talk in the group; 3 sees nothing of it, and nobody is told that 3
said no. A server that forges a counselor's message is caught by the reporter's client, which says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from cli_process import cli
from consilience.clients import reporter as reporter_mod
from consilience.crypto import signing
from consilience.protocol import conversations as pc
from consilience.protocol.encoding import b64u_decode
from consilience.services.escrow.settings import Settings
from consilience.storage import models
from consilience.storage.database import Database
from messaging_world import Actor, World, released_match

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with released_match(tmp_path_factory.mktemp("messages")) as w:
        yield w


def text_of(actor: Actor, *args: str) -> str:
    """The command's text output (not --json), as a person reads it; it must succeed."""
    proc = cli(actor.env, *args)
    assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def refused(actor: Actor, *args: str) -> str:
    proc = cli(actor.env, *args)
    assert proc.returncode != 0, f"{args} should have failed: {proc.stdout}"
    return proc.stderr


def test_messages_reveal_and_an_introduction_with_consent(world: World) -> None:
    counselor, (r1, r2, r3) = world.counselor, world.reporters
    match = world.match_id
    opened = counselor.run("counselor", "open", "--", match)
    assert sorted(e["entry_id"] for e in opened["entries"]) == sorted(world.entries)
    assert {e["contact"] for e in opened["entries"]} == {"", "ana@example.org", "+44 7700 900123"}

    # nothing yet: a reporter is never told of a match, only written to
    assert r1.run("reporter", "messages")["conversations"] == []
    assert "No messages" in text_of(r1, "reporter", "messages")

    sent = counselor.run("counselor", "message", match, world.entries[0][:8], "--text",
                         "Hello, I am Robin, a counselor. Would you like to talk?")
    assert sent["type"] == "text"
    listed = r1.run("reporter", "messages")["conversations"]
    assert [(c["record_id"], c["kind"], c["new"]) for c in listed] == [(world.records[0], "direct", 1)]
    read = r1.run("reporter", "messages", world.records[0])
    assert [(x["author"], x["name"], x["text"]) for x in read["messages"]] == [
        ("counselor", "Robin Counselor", "Hello, I am Robin, a counselor. Would you like to talk?")]
    assert read["refused"] == []
    assert r1.run("reporter", "messages")["conversations"][0]["new"] == 0  # read on this device

    # reporter 1 answers without saying who they are; the counselor reads it, no contact anywhere
    note = world.root / "answer.txt"
    note.write_text("Yes. I would rather not say who I am yet.", encoding="utf-8")
    r1.run("reporter", "reply", world.records[0], "--file", str(note))
    [conv] = counselor.run("counselor", "conversation", match, world.entries[0])["conversations"]
    assert [(x["author"], x["text"]) for x in conv["messages"]][-1] == (
        "reporter", "Yes. I would rather not say who I am yet.")
    assert conv["contact"] is None

    # a reveal asks first; without a terminal it needs --yes, and nothing is sent without it
    assert "--yes" in refused(r1, "reporter", "reveal", world.records[0], "--contact", "Ana, ana@example.net")
    assert counselor.run("counselor", "conversation", match, world.entries[0])["conversations"][0]["contact"] is None
    r1.run("reporter", "reveal", world.records[0], "--contact", "Ana, ana@example.net", "--yes")
    [conv] = counselor.run("counselor", "conversation", match, world.entries[0])["conversations"]
    assert conv["contact"] == "Ana, ana@example.net"
    assert conv["messages"][-1]["type"] == "reveal"

    # an introduction needs the counselor to have written to each reporter first
    assert "at least two" in refused(counselor, "counselor", "introduce", match)
    for entry in world.entries[1:]:
        counselor.run("counselor", "message", match, entry, "--text", "Hello from Robin.")
    proposed = counselor.run("counselor", "introduce", match)
    assert sorted(proposed["invited"]) == sorted(world.entries) and proposed["skipped"] == []
    intro = b64u_decode(proposed["introduction_id"]).hex()

    for actor in (r1, r2, r3):
        [offer] = actor.run("reporter", "introductions")["introductions"]
        assert offer["state"] == "open" and offer["counselor"] == "Robin Counselor"
    r1.run("reporter", "accept", intro[:8], "--name", "Ana")
    r2.run("reporter", "accept", intro, "--name", "Bea")
    declined = r3.run("reporter", "decline", intro)
    assert declined["state"] == "declined"
    assert r3.run("reporter", "introductions")["introductions"][0]["state"] == "declined"

    # the counselor checks the two cards and lists exactly 1 and 2; a decline is not told apart from silence
    group = counselor.run("counselor", "group", intro)
    assert group["roster_posted"] is True and sorted(group["accepted"]) == ["Ana", "Bea"]
    assert group["invited"] == 3 and group["refused_cards"] == []
    assert "declin" not in json.dumps(group)
    assert counselor.run("counselor", "group", intro)["roster_posted"] is False  # nothing new

    r1.run("reporter", "group", intro, "--send", "Hi Bea, I am glad you are here.")
    seen = r2.run("reporter", "group", intro)
    assert sorted(seen["members"]) == ["Ana", "Bea"]
    assert [(x["author"], x["name"], x["text"]) for x in seen["messages"] if x["type"] == "text"] == [
        ("member", "Ana", "Hi Bea, I am glad you are here.")]
    assert seen["refused"] == []
    shown = text_of(r2, "reporter", "group", intro)
    assert "Hi Bea, I am glad you are here." in shown and "Ana" in shown
    counselor.run("counselor", "group", intro, "--send", "I am here too.")
    assert [x["text"] for x in r1.run("reporter", "group", intro)["messages"]][-1] == "I am here too."

    # reporter 3 sees nothing of the group: not in its list, and the server gives it nothing
    assert "not joined" in refused(r3, "reporter", "group", intro)
    assert [c["kind"] for c in r3.run("reporter", "messages")["conversations"]] == ["direct"]
    session = reporter_mod.open_session(r3.wallet, r3.passphrase)
    with session.client() as client:
        answer = client._http.get(f"/v2/conversations/{proposed['group_conversation_id']}/messages",
                                  headers={"Authorization": f"Bearer {session.wallet.token}"})
    assert answer.status_code == 404


def test_a_message_the_server_forges_is_refused_and_said_so(world: World) -> None:
    """The server plays a counselor: it stores a message it sealed to reporter 2's key and signed itself."""
    r2 = world.reporters[1]
    world.counselor.run("counselor", "message", world.match_id, world.entries[1], "--text", "A real message.")
    database = Database(Settings.for_data_dir(world.data / "escrow").database_url)
    try:
        with database.write() as session:
            conversation = session.scalars(select(models.Conversation).where(
                models.Conversation.entry_id == b64u_decode(world.entries[1]))).one()
            account = session.scalars(select(models.Account).where(
                models.Account.message_key.is_not(None))).all()
            keys = {a.account_id: a.message_key for a in account}
            member = session.scalars(select(models.ConversationMember.account_id).where(
                models.ConversationMember.conversation_id == conversation.conversation_id)).one()
            reporter_key = pc.MessagingPublicKey.parse(keys[member])
            counselor_account = session.scalars(select(models.Account).where(
                models.Account.role == "counselor")).first()
            assert counselor_account is not None
            message_id = pc.new_id()
            forged = pc.seal_item(pc.Kind.MESSAGE, conversation.conversation_id, message_id,
                                  pc.Text("Please send me your address."), signer_seed=signing.generate(),
                                  recipients=[reporter_key.hpke_public], entry=conversation.entry_id,
                                  to=reporter_key)
            session.add(models.Message(message_id=message_id, conversation_id=conversation.conversation_id,
                                       sender_account_id=counselor_account.account_id, sender_role="counselor",
                                       content=forged.content, created_at=datetime.now(UTC)))
            session.add_all(models.SealedWrap(item_kind=1, item_id=message_id, key_id=k, wrap=w)
                            for k, w in forged.wraps.items())
    finally:
        database.dispose()
    read = r2.run("reporter", "messages", world.records[1])
    assert "Please send me your address." not in json.dumps(read)
    assert [r["reason"] for r in read["refused"]] == [
        "this message is not signed by a counselor of this deployment nor by the reporter"]
    shown = text_of(r2, "reporter", "messages", world.records[1])
    assert "refused and not shown" in shown and "not signed by a counselor of this deployment" in shown
    assert "Please send me your address." not in shown


def test_register_without_contact_says_what_it_means(world: World, tmp_path: Path) -> None:
    invite = world.operator.run("admin", "invite", "--data-dir", str(world.data))["invites"][0]
    actor = Actor(tmp_path / "late", "late reporter passphrase")
    shown = text_of(actor, "reporter", "register", "--server", world.server, "--invite", invite)
    assert "No contact given" in shown and "consilience reporter messages" in shown
    session = reporter_mod.open_session(actor.wallet, actor.passphrase)
    assert session.wallet.contact == "" and len(b64u_decode(session.wallet.message_seed)) == 32
    assert session.wallet.message_key_registered


def test_a_corroboration_statement_made_with_the_reporters_consent_checks_offline(world: World, tmp_path: Path) -> None:
    """PROTOCOL.md §14.4 as people run it: the counselor asks, two of three reporters consent, the statement is
    written and checks offline; a changed copy is refused, naming the field."""
    counselor, (r1, r2, r3) = world.counselor, world.reporters
    for entry in world.entries:  # the reporters asked are those the counselors talk to
        counselor.run("counselor", "message", world.match_id, entry, "--text", "May I ask you something?")
    out = tmp_path / "statement.json"
    asked = counselor.run("counselor", "corroborate", world.match_id, "--out", str(out))
    # reporters 1 and 2 escrowed before the match's release; reporter 3 usually after it, and is then not asked
    late = not r3.run("reporter", "consent")["requests"]
    assert (asked["asked"], asked["written"]) == (2 if late else 3, None) and not out.exists()

    shown = text_of(r1, "reporter", "consent")
    assert "no text" in shown and "waiting for you" in shown and "nobody is told" in shown
    for actor, record in ((r1, world.records[0]), (r2, world.records[1])):
        [request] = actor.run("reporter", "consent")["requests"]
        assert (request["record_id"], request["problem"], request["consented_at"]) == (record, None, None)
        given = actor.run("reporter", "consent", request["request_id"], "--yes")
        assert given["consented"] is True
    assert "There is no request" in refused(r3, "reporter", "consent", "00000000", "--yes")

    made = counselor.run("counselor", "corroborate", world.match_id, "--out", str(out))
    assert (made["k"], made["asked"], made["consented"], made["written"]) == (2, asked["asked"], 2, str(out))
    statement = json.loads(out.read_text(encoding="utf-8"))
    assert statement["format"] == "consilience-corroboration/v1"
    assert "remembers" not in out.read_text(encoding="utf-8")  # no record's text is in it ("What … remembers.")

    checked = r3.run("verify-corroboration", str(out))
    assert checked["valid"] is True and checked["k"] == 2
    assert sorted(e["entry_id"] for e in checked["entries"]) == sorted(world.entries[:2])
    text = text_of(r3, "verify-corroboration", str(out))
    assert "k = 2" in text and "before the match was released" in text and "What it does not show" in text

    tampered = tmp_path / "tampered.json"
    statement["entries"][0]["leaf_index"] += 1
    tampered.write_text(json.dumps(statement), encoding="utf-8")
    assert "entries[0].proof" in refused(r3, "verify-corroboration", str(tampered))
