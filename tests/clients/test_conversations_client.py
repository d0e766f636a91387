"""clients/conversations.py against a real deployment, and against a server that lies (PROTOCOL.md §13).

The honest path: a counselor writes to the reporter of a released entry with the key from the opened
body, the reporter reads, counts new messages, answers and reveals; an introduction is proposed,
accepted by two, declined by one (nothing sent). Then the escrow server turns on its users: it swaps a
reporter's stored messaging key, stores messages and cards it sealed and signed itself, moves a
counselor's message into another conversation and lists an acceptance nobody made. Every time the
clients refuse what the server forged and say why; nothing forged is shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consilience.clients import conversations as conv
from consilience.clients import counselor as counselor_mod
from consilience.clients import reporter as reporter_mod
from consilience.clients import wallet as wallet_mod
from consilience.clients.escrow_client import ApiError, EscrowClient
from consilience.crypto import signing
from consilience.errors import InvalidInput
from consilience.protocol import accounts
from consilience.protocol import conversations as pc
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.entry import Attachment
from consilience.services.escrow.settings import Settings
from consilience.storage import models
from consilience.storage.database import Database
from messaging_world import Actor, World, released_match

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with released_match(tmp_path_factory.mktemp("conversations")) as w:
        yield w


@pytest.fixture(scope="module")
def database(world: World) -> Iterator[Database]:
    """The escrow server's own database: what a server that turns on its users can rewrite."""
    db = Database(Settings.for_data_dir(world.data / "escrow").database_url)
    yield db
    db.dispose()


def session_of(actor: Actor) -> reporter_mod.Session:
    return reporter_mod.open_session(actor.wallet, actor.passphrase)


def keys_of(world: World) -> counselor_mod.CounselorKeys:
    return counselor_mod.load(world.counselor.key, world.counselor.passphrase)


def match_id(world: World) -> bytes:
    return b64u_decode(world.match_id, length=16)


def direct_of(database: Database, entry_id: str) -> models.Conversation:
    with database.read() as s:
        found = s.scalars(select(models.Conversation).where(
            models.Conversation.entry_id == b64u_decode(entry_id))).one()
        s.expunge(found)
        return found


def forge(database: Database, conversation_id: bytes, sealed: pc.Sealed, message_id: bytes, role: str) -> None:
    """Store a message as the server would, with a sender of its choosing: nothing the clients sent."""
    with database.write() as s:
        sender = s.scalars(select(models.Account.account_id).where(models.Account.role == role)).first()
        assert sender is not None
        s.add(models.Message(message_id=message_id, conversation_id=conversation_id, sender_account_id=sender,
                             sender_role=role, content=sealed.content, created_at=datetime.now(UTC)))
        s.add_all(models.SealedWrap(item_kind=int(pc.Kind.MESSAGE), item_id=message_id, key_id=k, wrap=w)
                  for k, w in sealed.wraps.items())


def counts(database: Database) -> dict[str, int]:
    with database.read() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) or 0
                for t in (models.Message, models.SealedWrap, models.IntroductionAcceptance,
                          models.ConversationMember, models.Conversation)}


def test_an_old_wallet_loads_and_has_no_messaging_key_yet() -> None:
    made_before = {"format": wallet_mod.FORMAT, "server": "http://127.0.0.1:1", "admin_fingerprint": "AAAA",
                   "account_id": "AAAA", "token": "AAAA", "contact": "me@example.org", "account_seed": "",
                   "certificate": "", "min_serial": 1, "records": []}
    w = wallet_mod.Wallet.from_bytes(json.dumps(made_before).encode())
    assert (w.message_seed, w.message_key_registered, w.declined, w.seen) == ("", False, [], {})
    assert reporter_mod.messaging_key(w) is None
    assert wallet_mod.Wallet.from_bytes(w.to_bytes()) == w


def test_counselor_writes_with_the_key_from_the_body_and_the_reporter_answers(world: World,
                                                                              database: Database) -> None:
    keys, r1 = keys_of(world), session_of(world.reporters[0])
    own = reporter_mod.messaging_key(r1.wallet)
    assert own is not None and r1.wallet.message_key_registered
    # the key the counselor writes to is the one in the reporter's sealed body
    _, opened = counselor_mod.open_match_by_id(keys, match_id(world))
    body_keys = {b64u_encode(o.entry_id): o.body.messaging_key for o in opened.opened}
    assert body_keys[world.entries[0]] == own.encode_public()

    sent = conv.message(keys, match_id(world), world.entries[0], "Hello from Robin.")
    listed = conv.conversations(r1)
    assert [(c.record_id, c.new) for c in listed.conversations] == [(world.records[0], 1)]
    view = conv.read(r1, world.records[0])
    assert [(x.author, x.name, x.text) for x in view.messages] == [("counselor", "Robin Counselor",
                                                                    "Hello from Robin.")]
    assert view.messages[0].message_id == sent.message_id
    assert conv.conversations(session_of(world.reporters[0])).conversations[0].new == 0  # kept in the wallet

    photo = b"\x89PNG" + bytes(range(200))
    conv.reply(r1, world.records[0], "Here is what I kept.", [Attachment("photo.png", "image/png", photo)])
    [seen] = conv.conversation(keys, match_id(world), world.entries[0]).conversations
    last = seen.messages[-1]
    assert (last.author, last.text, last.files[0].data) == ("reporter", "Here is what I kept.", photo)
    with pytest.raises(InvalidInput, match="no contact"):
        conv.reveal(r1, world.records[0])  # registered without one: nothing to reveal unless given now
    conv.reveal(r1, world.records[0], "call me on +44 20 7946 0000")
    assert conv.conversation(keys, match_id(world), world.entries[0]).conversations[0].contact == \
        "call me on +44 20 7946 0000"


def test_a_wallet_made_before_messaging_gets_a_key_before_its_next_seal(world: World, database: Database,
                                                                       tmp_path: Path) -> None:
    invite = world.operator.run("admin", "invite", "--data-dir", str(world.data))["invites"][0]
    checked = reporter_mod.check_registration(world.server, invite, "old@example.org", tmp_path / "old.sealed")
    seed = checked.invite.seed
    with EscrowClient(world.server) as anonymous:  # as the client before messaging registered: no messaging key
        registered = anonymous.register(accounts.account_key(seed),
                                        accounts.registration_proof(seed, checked.deployment.deployment_id))
    w = wallet_mod.Wallet(server=checked.server, admin_fingerprint=b64u_encode(checked.invite.admin_fingerprint),
                          account_id=b64u_encode(registered.account_id), token=b64u_encode(registered.token),
                          contact="old@example.org", account_seed=b64u_encode(seed),
                          certificate=b64u_encode(registered.certificate), min_serial=checked.deployment.serial)
    session = reporter_mod.Session(tmp_path / "old.sealed", "old passphrase", w)
    session.save()
    record = reporter_mod.write(session, "Written with an old wallet.")
    reporter_mod.escrow(session, record.record_id, ["someone.else@example.org"])
    key = reporter_mod.messaging_key(session.wallet)
    assert key is not None and session.wallet.message_key_registered
    with database.read() as s:
        stored = s.scalars(select(models.Account.message_key).where(
            models.Account.account_id == registered.account_id)).one()
    assert stored == key.encode_public()

    # the server holding another key for the account is said, and nothing is sealed
    other = pc.MessagingKey.generate()
    session.wallet.message_seed = b64u_encode(other.seed)
    session.wallet.message_key_registered = False
    with pytest.raises(ApiError, match="another messaging key"):
        reporter_mod.edit(session, record.record_id, "Changed.")


def test_a_swapped_messaging_key_on_the_server_reads_nothing(world: World, database: Database) -> None:
    """The server replaces reporter 2's stored key with its own: the counselor still seals to the body's key."""
    keys = keys_of(world)
    real = reporter_mod.messaging_key(session_of(world.reporters[1]).wallet)
    assert real is not None
    servers_own = pc.MessagingKey.generate()
    with database.write() as s:
        account = s.scalars(select(models.Account).where(models.Account.message_key == real.encode_public())).one()
        account.message_key = servers_own.encode_public()
    try:
        sent = conv.message(keys, match_id(world), world.entries[1], "Only for the reporter.")
        with database.read() as s:
            wrapped_to = set(s.scalars(select(models.SealedWrap.key_id).where(
                models.SealedWrap.item_id == b64u_decode(sent.message_id))))
        assert real.key_id in wrapped_to and servers_own.key_id not in wrapped_to
        assert wrapped_to == {real.key_id, keys.key_id}
    finally:
        with database.write() as s:
            account = s.scalars(select(models.Account).where(
                models.Account.message_key == servers_own.encode_public())).one()
            account.message_key = real.encode_public()
    view = conv.read(session_of(world.reporters[1]), world.records[1])
    assert "Only for the reporter." in [x.text for x in view.messages]


def test_the_server_cannot_write_as_a_counselor_or_as_the_reporter(world: World, database: Database) -> None:
    keys = keys_of(world)
    conv.message(keys, match_id(world), world.entries[2], "Hello, reporter 3.")
    r3 = session_of(world.reporters[2])
    key = reporter_mod.messaging_key(r3.wallet)
    assert key is not None
    conversation = direct_of(database, world.entries[2])
    cid, entry = conversation.conversation_id, b64u_decode(world.entries[2])
    impostor = signing.generate()

    # as a counselor, to the reporter, signed with a key the document does not list
    mid = pc.new_id()
    forge(database, cid, pc.seal_item(pc.Kind.MESSAGE, cid, mid, pc.Text("Send me your address."),
                                      signer_seed=impostor, recipients=[key.hpke_public], entry=entry,
                                      to=key.public), mid, "counselor")
    view = conv.read(r3, world.records[2])
    assert "Send me your address." not in [x.text for x in view.messages]
    assert [r.message_id for r in view.refused] == [b64u_encode(mid)]
    assert "not signed by a counselor of this deployment" in view.refused[0].reason

    # as the reporter, to the counselors, signed with another key
    mid = pc.new_id()
    forge(database, cid, pc.seal_item(pc.Kind.MESSAGE, cid, mid, pc.Reveal("fake@example.org"),
                                      signer_seed=impostor, recipients=[keys.public_key], entry=entry),
          mid, "reporter")
    [seen] = conv.conversation(keys, match_id(world), world.entries[2]).conversations
    assert seen.contact is None and b64u_encode(mid) in [r.message_id for r in seen.refused]
    assert "Hello, reporter 3." in [x.text for x in seen.messages]

    # a real counselor message moved into another reporter's conversation does not open there
    other = direct_of(database, world.entries[1])
    with database.read() as s:
        original = s.scalars(select(models.Message).where(
            models.Message.conversation_id == other.conversation_id).order_by(models.Message.seq)).first()
        assert original is not None
        content = original.content
        wrap = s.scalars(select(models.SealedWrap.wrap).where(
            models.SealedWrap.item_id == original.message_id)).first()
    moved = pc.new_id()
    with database.write() as s:
        sender = s.scalars(select(models.Account.account_id).where(models.Account.role == "counselor")).first()
        assert sender is not None and wrap is not None
        s.add(models.Message(message_id=moved, conversation_id=cid, sender_account_id=sender,
                             sender_role="counselor", content=content, created_at=datetime.now(UTC)))
        s.add(models.SealedWrap(item_kind=1, item_id=moved, key_id=key.key_id, wrap=wrap))
    view = conv.read(session_of(world.reporters[2]), world.records[2])
    assert b64u_encode(moved) in [r.message_id for r in view.refused]
    assert "did not open" in next(r.reason for r in view.refused if r.message_id == b64u_encode(moved))


def test_introductions_with_consent_and_a_server_that_adds_people(world: World, database: Database) -> None:
    keys = keys_of(world)
    for entry in world.entries:
        conv.message(keys, match_id(world), entry, "Before the introduction.")
    proposed = conv.introduce(keys, match_id(world), "Would you like to meet the others?")
    iid = proposed.introduction_id
    r1, r2, r3 = (session_of(a) for a in world.reporters)
    assert [i.state for i in conv.introductions(r3).introductions if i.introduction_id == iid] == ["open"]

    conv.accept(r1, conv.introduction_hex(iid), "Ana")
    conv.accept(r2, iid, "Bea")
    before = counts(database)
    assert conv.decline(r3, conv.introduction_hex(iid)[:6]).state == "declined"
    assert counts(database) == before  # a decline is sent nowhere
    assert iid in session_of(world.reporters[2]).wallet.declined

    # the server lists an acceptance for reporter 3 with a card it made itself
    impostor = pc.MessagingKey.generate()
    cid3 = direct_of(database, world.entries[2]).conversation_id
    card = pc.seal_item(pc.Kind.CARD, b64u_decode(iid), cid3, pc.Card(b64u_decode(iid), "Mallory", impostor.public),
                        signer_seed=impostor.signing_seed, recipients=[keys.public_key, impostor.hpke_public])
    with database.write() as s:
        account = s.scalars(select(models.ConversationMember.account_id).where(
            models.ConversationMember.conversation_id == cid3)).one()
        s.add(models.IntroductionAcceptance(introduction_id=b64u_decode(iid), conversation_id=cid3,
                                            account_id=account, card=card.content, accepted_at=datetime.now(UTC)))
        s.add_all(models.SealedWrap(item_kind=int(pc.Kind.CARD), item_id=cid3, key_id=k, wrap=w)
                  for k, w in card.wraps.items())
    group = conv.group_counselor(keys, conv.introduction_hex(iid))
    assert sorted(group.accepted) == ["Ana", "Bea"] and group.roster_posted
    assert len(group.refused_cards) == 1 and "not signed by the reporter" in group.refused_cards[0]
    assert sorted(group.group.members) == ["Ana", "Bea"]

    conv.group(r1, iid, "Hello Bea.")
    seen = conv.group(r2, iid)
    assert [(x.author, x.name, x.text) for x in seen.messages if x.type == "text"] == [("member", "Ana",
                                                                                      "Hello Bea.")]
    # a roster the server signs itself, adding its own key, is refused; the members stay as the counselor listed
    gid = b64u_decode(proposed.group_conversation_id)
    mine = reporter_mod.messaging_key(r2.wallet)
    assert mine is not None
    mid = pc.new_id()
    roster = pc.Roster(b64u_decode(iid), (pc.RosterMember("Mallory", impostor.public),
                                          pc.RosterMember("Bea", mine.public)))
    forge(database, gid, pc.seal_item(pc.Kind.MESSAGE, gid, mid, roster, signer_seed=impostor.signing_seed,
                                      recipients=[mine.hpke_public]), mid, "counselor")
    mid2 = pc.new_id()
    forge(database, gid, pc.seal_item(pc.Kind.MESSAGE, gid, mid2, pc.Text("I am one of you."),
                                      signer_seed=impostor.signing_seed, recipients=[mine.hpke_public]),
          mid2, "reporter")
    seen = conv.group(session_of(world.reporters[1]), iid)
    assert sorted(seen.members) == ["Ana", "Bea"]
    assert {r.message_id for r in seen.refused} == {b64u_encode(mid), b64u_encode(mid2)}
    assert "I am one of you." not in [x.text for x in seen.messages]

    # reporter 3 declined (and the server's forged acceptance made no member of them): nothing of the group
    with pytest.raises(InvalidInput, match="not open to you"):
        conv.group(session_of(world.reporters[2]), iid)
    with session_of(world.reporters[2]).client() as client:
        assert proposed.group_conversation_id not in [c.conversation_id for c in client.conversations()]
        with pytest.raises(ApiError) as refused:
            client.messages(gid)
        assert refused.value.status == 404
