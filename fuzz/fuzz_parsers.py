"""Coverage-guided fuzzing of every parser that reads untrusted bytes (atheris / libFuzzer).

    python fuzz/fuzz_parsers.py -runs=100000              # bounded run
    python fuzz/fuzz_parsers.py -max_total_time=600 corpus/  # keep what it learns in corpus/
    python fuzz/fuzz_parsers.py --list                     # the targets

Each input picks a target and either hands it the raw bytes or applies them
as edits (byte flips, truncations, insertions, line swaps, big numbers) to a
valid document of that kind, signed with fixed keys, so the fuzzer starts
past the first syntax check. A target may succeed or raise
``InvalidInput`` / ``VerificationError``; anything else is a crash, and so is
a successful parse that does not re-encode to its input where the format
is canonical. ``tests/fuzz/test_parsers.py`` runs the same targets under
Hypothesis and runs this script briefly when atheris is installed.

Not part of the pytest run by itself: it needs ``pip install atheris``
(Linux x86-64 wheels) and runs until stopped unless given ``-runs`` or
``-max_total_time``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache

try:
    import atheris
except ImportError:  # the Hypothesis tests import this module without atheris
    atheris = None


def _instrumented() -> contextlib.AbstractContextManager[object]:
    if atheris is not None and __name__ == "__main__":
        return atheris.instrument_imports(include=["consilience"])
    return contextlib.nullcontext()


with _instrumented():
    import pydantic

    from consilience.clients import receipts as receipts_v2
    from consilience.clients.counselor import credential, parse_credential
    from consilience.crypto import hpke, signing, threshold_oprf
    from consilience.crypto.bls12381 import G1Point, G2Point, Scalar
    from consilience.errors import InvalidInput, VerificationError
    from consilience.protocol import accounts, deployment, dkg, evaluation, events, invites, messages, quorum
    from consilience.protocol.encoding import b64u_decode, b64u_encode
    from consilience.protocol.entry import Body, EnvelopeContent, EnvelopeSection, encode_envelope, parse_envelope
    from consilience.protocol.identifiers import KINDS, normalise
    from consilience.tlog import checkpoint as cp
    from consilience.tlog import consistency, merkle, notes, receipt

#: What a parser may raise on bad input; anything else is a bug.
ALLOWED = (InvalidInput, VerificationError)

#: Every cosignature and checkpoint below is dated before this, so "now" checks pass on valid seeds.
NOW = 1_800_000_000


def _key(label: str) -> bytes:
    """Fixed keys, so a crashing input found once reproduces on every run."""
    return hashlib.sha256(b"consilience fuzz " + label.encode()).digest()


ORIGIN = "consilience.log/f00d"
LOG_KEY = _key("log")
LOG_VKEY = notes.ed25519_vkey(ORIGIN, signing.public_key(LOG_KEY))
WITNESS = "witness.example"
WITNESS_KEY = _key("witness")
WITNESS_VKEY = cp.cosignature_vkey(WITNESS, signing.public_key(WITNESS_KEY))
ADMIN_KEY = _key("admin")
FINGERPRINT = deployment.admin_fingerprint(signing.public_key(ADMIN_KEY))
DEPLOYMENT_ID = bytes(range(16))
KEY_SERVERS = 3
IDENTITIES = {i: _key(f"key server {i} identity") for i in range(1, KEY_SERVERS + 1)}
HPKE_SEEDS = {i: _key(f"key server {i} hpke") for i in range(1, KEY_SERVERS + 1)}
ACCOUNT_SEED = _key("account")
#: the key-generation epoch of the deployment below
EPOCH = 1


@dataclass(frozen=True)
class Seeds:
    """Valid documents of every kind (bytes), the starting points of structured mutation."""

    by_target: dict[str, list[bytes]]


@cache
def _document() -> deployment.Deployment:
    """A v2 deployment document (quorum range 2..3, 2-of-3 key servers) before its key generation."""
    counselor_public = hpke.public_key_bytes(_key("counselor"))
    servers = tuple(deployment.KeyServer(i, f"http://127.0.0.1:{8100 + i}", b"", signing.public_key(IDENTITIES[i]),
                                         hpke.public_key_bytes(HPKE_SEEDS[i])) for i in sorted(IDENTITIES))
    return deployment.Deployment(
        deployment_id=DEPLOYMENT_ID, serial=3, issued_at="2026-11-25T10:00:00Z", quorum=2, max_quorum=3,
        escrow_url="http://127.0.0.1:8100", threshold=2, oprf_public_key=b"", key_servers=servers,
        counselors=(deployment.Counselor("Ana", hpke.key_id(counselor_public), counselor_public),),
        log_origin=ORIGIN, log_public_key=signing.public_key(LOG_KEY), witnesses=(WITNESS_VKEY,),
        key_change=deployment.KeyChange(EPOCH, "generate", 2, servers),
    )


@dataclass(frozen=True)
class KeyGeneration:
    """One honest in-process run of the key servers' key generation, and the extra messages of round 2."""

    params: dkg.Parameters
    board: list[bytes]
    complaint: bytes
    answer: bytes
    results: dict[int, dkg.KeyServerResult]
    #: what publish-keys signs into the next document
    published: dict[str, object]


@cache
def key_generation() -> KeyGeneration:
    params = _document().dkg_parameters(EPOCH)
    dealers = {i: dkg.DealerSeed(_key(f"dealer {i}")) for i in IDENTITIES}
    deals = [dkg.deal(params, i, IDENTITIES[i], dealers[i]) for i in sorted(IDENTITIES)]
    results = {i: dkg.finalize(params, i, HPKE_SEEDS[i], deals) for i in sorted(IDENTITIES)}
    confirmations = [dkg.confirm(params, IDENTITIES[i], results[i]) for i in sorted(IDENTITIES)]
    first = dkg.parse(params, deals[0])
    assert isinstance(first, dkg.Deal)
    complaint = dkg.complain(params, 2, IDENTITIES[2], 1, first.digest, dkg.BAD_SHARES)
    (answer,) = dkg.answer(params, 1, IDENTITIES[1], dealers[1], [deals[0], complaint])
    from consilience.operator.quorum_keys import quorum_keys_from_board

    result = quorum_keys_from_board(_document(), EPOCH, deals + confirmations)
    return KeyGeneration(params, deals + confirmations, complaint, answer, results, result.apply(_document()))


def _signed_doc() -> deployment.Deployment:
    return replace(_document(), **key_generation().published)  # type: ignore[arg-type]


def _request_json(req: evaluation.EvaluationRequest) -> bytes:
    return json.dumps({"certificate": b64u_encode(req.certificate), "audience": b64u_encode(req.audience),
                       "issued_at": req.issued_at, "nonce": b64u_encode(req.nonce),
                       "blinded": [b64u_encode(b) for b in req.blinded],
                       "points": [b64u_encode(p) for p in req.points],
                       "signature": b64u_encode(req.signature)}).encode()


@cache
def seeds() -> Seeds:
    tree = merkle.MemoryTree()
    leaves = [  # v2: the log's leaf data is a commitment; the parser reads the event inside its opening
        events.entry_event(bytes(range(16)), bytes(range(32)), datetime(2026, 11, 25, tzinfo=UTC)),
        events.withdrawal_event(bytes(range(16)), datetime(2026, 11, 26, tzinfo=UTC)),
        events.release_event(bytes(range(1, 17)), 3, datetime(2026, 11, 27, tzinfo=UTC)),
        events.opening_event(bytes(range(1, 17)), bytes(range(2, 18)), datetime(2026, 11, 28, tzinfo=UTC)),
        events.padding_event(datetime(2026, 11, 29, tzinfo=UTC)),
    ]
    openings = [events.Opening(_key(f"nonce {i}"), leaves[i % len(leaves)]) for i in range(9)]
    for o in openings:
        tree.append(o.leaf)

    def signed(size: int, cosigned: bool = True) -> str:
        note = cp.sign_checkpoint(cp.Checkpoint(ORIGIN, size, tree.root(size)), LOG_KEY)
        return cp.cosign(note, WITNESS, WITNESS_KEY, NOW - 1000) if cosigned else note

    old, new = signed(5), signed(9)
    receipts = [receipt.issue_receipt(tree, index=i, leaf=openings[i].leaf, checkpoint=old) for i in (0, 3, 4)]
    plain = signed(5, cosigned=False)  # open_receipt checks cosignatures against the clock: none here
    receipts_with_openings = [
        replace(receipt.parse_receipt(receipt.issue_receipt(tree, index=i, leaf=openings[i].leaf, checkpoint=plain)),
                extra=openings[i].encoded).encode() for i in (0, 1, 4)]
    bundle = consistency.ConsistencyBundle(5, tuple(merkle.consistency_proof(tree, 5, 9)), new).encode()

    doc = _signed_doc()
    published = deployment.sign(doc, ADMIN_KEY)
    run = key_generation()

    g1, g2 = G1Point.generator(), G2Point.generator()
    envelope = encode_envelope(EnvelopeContent(
        bytes(range(16)), 3, range(2, 6), 1,
        tuple(EnvelopeSection(bytes([t]) * 32, Scalar(7 + t), {k: g1.mul_secret(Scalar(100 * k + t)).to_bytes()
                                                               for k in range(2, 6)},
                              g2.mul_secret(Scalar(t + 5)).to_bytes(), bytes([t + 1]) * 60) for t in (1, 2)),
    ))
    invite = str(invites.Invite(ACCOUNT_SEED, FINGERPRINT))
    account_key = accounts.account_key(ACCOUNT_SEED)
    certificate = accounts.issue_certificate(ADMIN_KEY, DEPLOYMENT_ID, account_key, now=NOW - 60)
    points = [quorum.identifier_point(b"email:dana@example.com").mul_secret(Scalar(3 + k)).to_bytes()
              for k in range(2)]
    blinded = [threshold_oprf.public_share(_key(f"blinded {k}")[:31] + b"\x00") for k in range(2)]
    request = evaluation.make_request(ACCOUNT_SEED, certificate, DEPLOYMENT_ID, signing.public_key(IDENTITIES[1]),
                                      blinded, points, now=NOW, nonce=bytes(16))
    x = accounts.abscissa(run.results[1].abscissa_key, DEPLOYMENT_ID, account_key)
    answers = [quorum.answer(run.results[1].shares, x, p) for p in points]
    response = messages.EvaluateResponseV2(
        index=1, evaluated=[b64u_encode(b) for b in blinded], proof=b64u_encode(bytes(64)),
        abscissa=b64u_encode(x.to_bytes()), shares=[[b64u_encode(z[q]) for q in sorted(z)] for z in answers])
    register = messages.RegisterRequestV2(account_key=b64u_encode(account_key), proof=b64u_encode(
        accounts.registration_proof(ACCOUNT_SEED, DEPLOYMENT_ID)))
    board_messages = [*run.board, run.complaint, run.answer]
    page = messages.BoardPage(messages=[
        messages.BoardMessage(seq=n + 1, message=b64u_encode(m), received_at=datetime(2026, 11, 25, tzinfo=UTC))
        for n, m in enumerate(board_messages[-3:])], next_after=3)
    typed = ["Dana.Smith@Example.com", "+44 20 7946 0958", "https://twitter.com/DanaSmith_",
             "https://www.linkedin.com/in/jos%C3%A9-garc%C3%ADa/", "@dana@mastodon.social",
             "https://www.facebook.com/profile.php?id=100012345", "bluesky:dana.bsky.social"]

    text = {
        "envelope": [envelope],
        "entry.body": [Body("What happened.", typed[:2], ["email:dana.smith@example.com", "phone:+442079460958"],
                            "signal: @me", "2026-11-25T10:00:00+00:00").to_bytes()],
        "leaf": leaves,
        "opening": [o.encoded for o in openings[:5]],
        "receipt.parse": [r.encode() for r in receipts],
        "receipt.verify": [r.encode() for r in receipts],
        "receipt.against": [bundle.encode()],
        "receipt.v2": [r.encode() for r in receipts_with_openings],
        "consistency": [bundle.encode()],
        "note": [old.encode(), new.encode()],
        "note.open": [old.encode(), new.encode()],
        "vkey": [LOG_VKEY.encode(), WITNESS_VKEY.encode()],
        "checkpoint.body": [cp.Checkpoint(ORIGIN, 9, tree.root(9), ("ext line",)).body().encode()],
        "checkpoint.open": [old.encode(), new.encode(), signed(1, cosigned=False).encode()],
        "deployment.verify": [json.dumps(published).encode(),
                              json.dumps(deployment.sign(_document(), ADMIN_KEY)).encode()],
        "deployment.signed": [doc.canonical_bytes(), _document().canonical_bytes()],
        "deployment.parse": [doc.canonical_bytes()],
        "invite": [invite.encode()],
        "certificate": [certificate],
        "register": [register.model_dump_json().encode()],
        "evaluate.request": [_request_json(request)],
        "evaluate.signed": [_request_json(request)],
        "evaluate.response": [response.model_dump_json().encode()],
        "dkg.parse": board_messages,
        "dkg.signed": [m[:-dkg.SIGNATURE_BYTES] for m in board_messages],
        "board.post": [messages.BoardPost(epoch=EPOCH, message=b64u_encode(m)).model_dump_json().encode()
                       for m in (run.complaint, run.board[-1])],
        "board.page": [page.model_dump_json().encode()],
        "credential": [credential(bytes(range(32)), FINGERPRINT).encode()],
        "identifier": [b"\x00" + t.encode() for t in typed],  # first byte 0: no kind given
        "b64u": [bytes([n]) + b64u_encode(bytes(range(n))).encode() for n in (0, 1, 2, 16, 32)],
    }
    return Seeds(text)


# -- targets: bytes in; return normally, or raise one of ALLOWED ----------------------------------


def _text(data: bytes) -> str:
    """The bytes as text: UTF-8 where valid, and lone surrogates (as JSON strings may carry) elsewhere."""
    return data.decode("utf-8", "surrogateescape")


def _json(data: bytes) -> object | None:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None  # not JSON: nothing for a JSON-document parser to see


def t_envelope(data: bytes) -> None:
    content = parse_envelope(data)
    assert encode_envelope(content) == data, "an accepted envelope must be the unique encoding of its content"


def t_entry_body(data: bytes) -> None:
    """What a counselor parses after opening a released body: bytes a reporter chose."""
    body = Body.from_bytes(data)
    assert all(isinstance(v, str) for v in (body.record, body.contact, body.written_at, *body.identifiers))


def t_leaf(data: bytes) -> None:
    event = events.parse_event(data)
    assert event.kind in events.KIND_NAMES.values()
    assert events.parse_opening(bytes(32) + data).event == data


def t_opening(data: bytes) -> None:
    opening = events.parse_opening(data)
    assert opening.encoded == data and opening.leaf == events.commit(data[:32], data[32:])


def t_receipt_v2(data: bytes) -> None:
    """A v2 receipt (clients/receipts.open_receipt): the extra line must open the leaf the proof is for."""
    opened = receipts_v2.open_receipt(_text(data), LOG_VKEY, origin=ORIGIN)
    assert opened.opening.leaf == events.commit(opened.opening.nonce, opened.opening.event)
    assert opened.event == events.parse_event(opened.opening.event)


def t_receipt_parse(data: bytes) -> None:
    parsed = receipt.parse_receipt(data)
    assert parsed.encode() == data.decode("utf-8"), "an accepted receipt must re-encode to itself"


def t_receipt_verify(data: bytes) -> None:
    result = receipt.verify_receipt(data, LOG_VKEY, witness_vkeys=[WITNESS_VKEY], witness_quorum=0, now=NOW)
    assert result.origin == ORIGIN and result.index < result.tree_size


def t_receipt_against(data: bytes) -> None:
    """A valid receipt checked against a fuzzed consistency bundle (``consilience verify --against``)."""
    bundle = consistency.parse(_text(data))
    receipt.verify_receipt(seeds().by_target["receipt.verify"][0], LOG_VKEY, against=bundle.checkpoint,
                           consistency_proof=bundle.proof, witness_vkeys=[WITNESS_VKEY], witness_quorum=0, now=NOW)


def t_consistency(data: bytes) -> None:
    text = _text(data)
    bundle = consistency.parse(text)
    assert bundle.encode() == text


def t_note(data: bytes) -> None:
    note = notes.parse_note(data)
    assert note.encode() == data.decode("utf-8")


def t_note_open(data: bytes) -> None:
    verifiers = [notes.Ed25519Verifier.from_vkey(LOG_VKEY), cp.CosignatureV1Verifier.from_vkey(WITNESS_VKEY)]
    opened = notes.open_note(data, verifiers)
    assert opened.verified


def t_vkey(data: bytes) -> None:
    text = _text(data)
    key = notes.VerifierKey.parse(text)
    assert key.encode() == text
    for make in (notes.Ed25519Verifier.from_vkey, cp.CosignatureV1Verifier.from_vkey):
        with contextlib.suppress(InvalidInput):
            make(key)


def t_checkpoint_body(data: bytes) -> None:
    text = _text(data)
    assert cp.Checkpoint.parse(text).body() == text


def t_checkpoint_open(data: bytes) -> None:
    text = _text(data)
    with contextlib.suppress(InvalidInput):
        cp.parse_signed_checkpoint(text)
    opened = cp.open_checkpoint(text, LOG_VKEY, witness_vkeys=[WITNESS_VKEY], now=NOW)
    assert opened.checkpoint.origin == ORIGIN


def t_deployment_verify(data: bytes) -> None:
    published = _json(data)
    if published is not None:
        deployment.verify(published, FINGERPRINT)  # type: ignore[arg-type]


def t_deployment_signed(data: bytes) -> None:
    """Any document bytes, correctly signed by the pinned administrator: parse and validate run."""
    published = {"document": b64u_encode(data), "admin_key": b64u_encode(signing.public_key(ADMIN_KEY)),
                 "signature": b64u_encode(signing.sign(ADMIN_KEY, deployment.SIGNING_PREFIX + data))}
    doc = deployment.verify(published, FINGERPRINT)
    assert doc.canonical_bytes() == data


def t_deployment_parse(data: bytes) -> None:
    doc = _json(data)
    if doc is not None:
        deployment.parse(doc)  # type: ignore[arg-type]


def t_invite(data: bytes) -> None:
    text = _text(data)
    assert str(invites.parse(text)) == text.strip()


def _model(model: type[pydantic.BaseModel], data: bytes) -> pydantic.BaseModel:
    """A request body through its wire model, as the server's framework does (a refusal there is a 422)."""
    try:
        return model.model_validate_json(data)
    except pydantic.ValidationError as exc:
        raise InvalidInput(f"request does not match {model.__name__}") from exc


def t_certificate(data: bytes) -> None:
    cert = accounts.verify_certificate(signing.public_key(ADMIN_KEY), DEPLOYMENT_ID, data)
    assert cert.encoded == data and cert.deployment_id == DEPLOYMENT_ID


def t_register(data: bytes) -> None:
    """POST /v2/register's body: the account key and its proof (services/escrow checks the proof)."""
    body = _model(messages.RegisterRequestV2, data)
    assert isinstance(body, messages.RegisterRequestV2)
    accounts.verify_registration(b64u_decode(body.account_key, length=32), DEPLOYMENT_ID,
                                 b64u_decode(body.proof, length=64))


def _evaluation_request(data: bytes) -> evaluation.EvaluationRequest:
    body = _model(messages.EvaluateRequestV2, data)
    assert isinstance(body, messages.EvaluateRequestV2)
    return evaluation.EvaluationRequest(
        b64u_decode(body.certificate, length=120), b64u_decode(body.audience, length=32), body.issued_at,
        b64u_decode(body.nonce, length=16), tuple(b64u_decode(b, length=32) for b in body.blinded),
        tuple(b64u_decode(p, length=48) for p in body.points), b64u_decode(body.signature, length=64))


def t_evaluate_request(data: bytes) -> None:
    """POST /v2/evaluate's body as key server 1 reads it: the model, then audience, time, certificate, signature."""
    _check_request(_evaluation_request(data))


def t_evaluate_signed(data: bytes) -> None:
    """The same, with the account's signature made over whatever the fuzzed body carries (so its points are
    decoded: a subgroup or identity refusal must be an InvalidInput, before any budget is spent)."""
    request = _evaluation_request(data)
    message = evaluation.signed_bytes(DEPLOYMENT_ID, request.audience, request.issued_at, request.nonce,
                                      request.blinded, request.points)
    _check_request(replace(request, signature=signing.sign(ACCOUNT_SEED, message)))


def _check_request(request: evaluation.EvaluationRequest) -> None:
    cert = evaluation.verify_request(request, admin_public=signing.public_key(ADMIN_KEY), deployment_id=DEPLOYMENT_ID,
                                     audience=signing.public_key(IDENTITIES[1]), now=NOW)
    for point in request.points:  # then every element is decoded (subgroup checked) before any budget is spent
        G1Point.from_bytes(point)
    assert cert.deployment_id == DEPLOYMENT_ID


def t_evaluate_response(data: bytes) -> None:
    """A key server's answer as the reporter decodes it (clients/oprf_client.py): model, abscissa, G1 shares."""
    body = _model(messages.EvaluateResponseV2, data)
    assert isinstance(body, messages.EvaluateResponseV2)
    for z in body.evaluated:
        b64u_decode(z, length=32)
    b64u_decode(body.proof, length=64)
    quorum.abscissa_from_bytes(b64u_decode(body.abscissa, length=32))
    for row in body.shares:
        for z in row:
            G1Point.from_bytes(b64u_decode(z, length=48))


def t_dkg_parse(data: bytes) -> None:
    message = dkg.parse(key_generation().params, data)
    assert message.raw == data


def t_dkg_signed(data: bytes) -> None:
    """Any message body, signed by the key server it names as author: the body parsers run past the signature."""
    params = key_generation().params
    author = 1
    with contextlib.suppress(IndexError, ValueError):
        label_length = int.from_bytes(data[:2], "big")
        at = 2 + label_length
        id_length = int.from_bytes(data[at:at + 2], "big")
        author = data[at + 2 + id_length + 8 + 32]
    signed = data + signing.sign(IDENTITIES.get(author, IDENTITIES[1]), data)
    message = dkg.parse(params, signed)
    assert message.raw == signed


def t_board_post(data: bytes) -> None:
    """POST /v2/board as the escrow server checks it: the model, then dkg.parse under the epoch's parameters."""
    body = _model(messages.BoardPost, data)
    assert isinstance(body, messages.BoardPost)
    dkg.parse(_signed_doc().dkg_parameters(body.epoch), b64u_decode(body.message, field="board message"))


def t_board_page(data: bytes) -> None:
    """GET /v2/board/{epoch} as clients/board.py reads it; each message then goes to dkg.parse."""
    page = _model(messages.BoardPage, data)
    assert isinstance(page, messages.BoardPage)
    for m in page.messages:
        with contextlib.suppress(*ALLOWED):
            dkg.parse(key_generation().params, b64u_decode(m.message, field="board message"))


def t_credential(data: bytes) -> None:
    token, fingerprint = parse_credential(_text(data))
    assert len(token) == 32 and len(fingerprint) == 16


def t_identifier(data: bytes) -> None:
    # the first byte picks a kind (or none), the rest is what the reporter typed
    kinds = [None, *KINDS]
    kind = kinds[data[0] % len(kinds)] if data else None
    ident = normalise(_text(data[1:]), kind)
    assert normalise(ident.canonical).canonical == ident.canonical


def t_b64u(data: bytes) -> None:
    # the first byte picks an expected length (0: any)
    length = (data[0] % 40) or None if data else None
    text = _text(data[1:])
    decoded = b64u_decode(text, length=length)
    assert b64u_encode(decoded) == text


TARGETS: dict[str, Callable[[bytes], None]] = {
    "envelope": t_envelope,
    "entry.body": t_entry_body,
    "leaf": t_leaf,
    "opening": t_opening,
    "receipt.v2": t_receipt_v2,
    "receipt.parse": t_receipt_parse,
    "receipt.verify": t_receipt_verify,
    "receipt.against": t_receipt_against,
    "consistency": t_consistency,
    "note": t_note,
    "note.open": t_note_open,
    "vkey": t_vkey,
    "checkpoint.body": t_checkpoint_body,
    "checkpoint.open": t_checkpoint_open,
    "deployment.verify": t_deployment_verify,
    "deployment.signed": t_deployment_signed,
    "deployment.parse": t_deployment_parse,
    "invite": t_invite,
    "certificate": t_certificate,
    "register": t_register,
    "evaluate.request": t_evaluate_request,
    "evaluate.signed": t_evaluate_signed,
    "evaluate.response": t_evaluate_response,
    "dkg.parse": t_dkg_parse,
    "dkg.signed": t_dkg_signed,
    "board.post": t_board_post,
    "board.page": t_board_page,
    "credential": t_credential,
    "identifier": t_identifier,
    "b64u": t_b64u,
}
NAMES = sorted(TARGETS)


def run(name: str, data: bytes) -> bool:
    """Run one target; True if it accepted the input, False if it refused it as it should."""
    try:
        TARGETS[name](data)
    except ALLOWED:
        return False
    return True


# -- structured mutation, driven by bytes (the fuzzer's) -------------------------------------------


BIG_NUMBERS = [b"0", b"00", b"-1", b"18446744073709551615", b"18446744073709551616", b"9223372036854775808",
               b"1" * 40, b"1e999", b"NaN", b"true", b"[]", b"{}", b'""', b"null"]
SPLICES = [b"\n", b"\n\n", b" ", b"\xe2\x80\x94 ", b"=", b"+", b"/", b"\r\n", b"\x00", b"\xff", b"\xed\xa0\x80",
           b'"', b"\\u0000", b"\\ud800", b"index ", b"extra ", b"old ", b"cosignature/v1", b"time "]


def mutate(seed: bytes, edits: bytes) -> bytes:
    """Apply ``edits`` to ``seed``, three bytes an edit: (operation, position, argument)."""
    data = bytearray(seed)
    for i in range(0, len(edits) - 2, 3):
        op, where, arg = edits[i], edits[i + 1], edits[i + 2]
        pos = (where * max(len(data), 1)) // 256 if len(data) > 255 else where % (len(data) + 1)
        kind = op % 9
        if kind == 0 and data:  # flip bits in one byte
            data[min(pos, len(data) - 1)] ^= arg or 1
        elif kind == 1:  # truncate
            del data[pos:]
        elif kind == 2:  # delete a few bytes
            del data[pos:pos + 1 + arg % 8]
        elif kind == 3:  # insert one of the interesting splices
            data[pos:pos] = SPLICES[arg % len(SPLICES)]
        elif kind == 4:  # replace a run of digits (or insert) with a big or odd number
            end = pos
            while end < len(data) and data[end:end + 1].isdigit():
                end += 1
            data[pos:end] = BIG_NUMBERS[arg % len(BIG_NUMBERS)]
        elif kind == 5:  # duplicate a line
            lines = bytes(data).split(b"\n")
            n = pos % len(lines)
            lines.insert(arg % (len(lines) + 1), lines[n])
            data = bytearray(b"\n".join(lines))
        elif kind == 6:  # swap two lines
            lines = bytes(data).split(b"\n")
            a, b = pos % len(lines), arg % len(lines)
            lines[a], lines[b] = lines[b], lines[a]
            data = bytearray(b"\n".join(lines))
        elif kind == 7:  # set one byte
            if data:
                data[min(pos, len(data) - 1)] = arg
        else:  # insert a raw byte
            data[pos:pos] = bytes([arg])
    return bytes(data)


def one_input(data: bytes) -> None:
    """The libFuzzer entry point: [target][mode][rest]; mode even: raw rest, odd: edits to a seed."""
    if len(data) < 2:
        return
    name = NAMES[data[0] % len(NAMES)]
    rest = data[2:]
    if data[1] % 2:
        pool = seeds().by_target[name]
        rest = mutate(pool[(data[1] // 2) % len(pool)], rest)
    run(name, rest)


def main(argv: list[str]) -> None:
    if "--list" in argv:
        print("\n".join(NAMES))
        return
    if atheris is None:
        sys.exit("atheris is not installed: pip install atheris (Linux x86-64 wheels)")
    seeds()  # built once before fuzzing, so its cost is not charged to the first input
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
