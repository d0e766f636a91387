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
from dataclasses import dataclass
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
    from consilience.clients.counselor import credential, parse_credential
    from consilience.crypto import hpke, signing, threshold_oprf
    from consilience.errors import InvalidInput, VerificationError
    from consilience.protocol import deployment, events, invites, tokens
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
ISSUER_KEY = _key("issuer")
FINGERPRINT = deployment.admin_fingerprint(signing.public_key(ADMIN_KEY))


@dataclass(frozen=True)
class Seeds:
    """Valid documents of every kind (bytes), the starting points of structured mutation."""

    by_target: dict[str, list[bytes]]


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
    for i in range(9):
        tree.append(leaves[i % len(leaves)])

    def signed(size: int, cosigned: bool = True) -> str:
        note = cp.sign_checkpoint(cp.Checkpoint(ORIGIN, size, tree.root(size)), LOG_KEY)
        return cp.cosign(note, WITNESS, WITNESS_KEY, NOW - 1000) if cosigned else note

    old, new = signed(5), signed(9)
    receipts = [receipt.issue_receipt(tree, index=i, leaf=leaves[i % len(leaves)], checkpoint=old)
                for i in (0, 3, 4)]
    bundle = consistency.ConsistencyBundle(5, tuple(merkle.consistency_proof(tree, 5, 9)), new).encode()

    group_key, shares = threshold_oprf.deal_key(2, 3, _key("oprf"))
    counselor_public = hpke.public_key_bytes(_key("counselor"))
    doc = deployment.Deployment(
        deployment_id=bytes(range(16)), serial=3, issued_at="2026-11-25T10:00:00Z", quorum=2, max_quorum=5,
        escrow_url="http://127.0.0.1:8100", token_issuer_key=signing.public_key(ISSUER_KEY), threshold=2,
        oprf_public_key=group_key,
        key_servers=tuple(deployment.KeyServer(i, f"http://127.0.0.1:{8100 + i}", threshold_oprf.public_share(s))
                          for i, s in sorted(shares.items())),
        counselors=(deployment.Counselor("Ana", hpke.key_id(counselor_public), counselor_public),),
        log_origin=ORIGIN, log_public_key=signing.public_key(LOG_KEY), witnesses=(WITNESS_VKEY,),
    )
    published = deployment.sign(doc, ADMIN_KEY)

    envelope = encode_envelope(EnvelopeContent(
        bytes(range(16)), 3, range(2, 6),
        tuple(EnvelopeSection(bytes([t]) * 32, 7 + t, {k: 100 * k + t for k in range(2, 6)}, bytes([t]) * 16,
                              bytes([t + 1]) * 60) for t in (1, 2)),
    ))
    invite = str(invites.Invite(bytes(range(16)), FINGERPRINT))
    typed = ["Dana.Smith@Example.com", "+44 20 7946 0958", "https://twitter.com/DanaSmith_",
             "https://www.linkedin.com/in/jos%C3%A9-garc%C3%ADa/", "@dana@mastodon.social",
             "https://www.facebook.com/profile.php?id=100012345", "bluesky:dana.bsky.social"]

    text = {
        "envelope": [envelope],
        "entry.body": [Body("What happened.", typed[:2], ["email:dana.smith@example.com", "phone:+442079460958"],
                            "signal: @me", "2026-11-25T10:00:00+00:00").to_bytes()],
        "token": [tokens.issue(ISSUER_KEY, bytes(range(16)), now=NOW - 60)],
        "leaf": leaves,
        "receipt.parse": [r.encode() for r in receipts],
        "receipt.verify": [r.encode() for r in receipts],
        "receipt.against": [bundle.encode()],
        "consistency": [bundle.encode()],
        "note": [old.encode(), new.encode()],
        "note.open": [old.encode(), new.encode()],
        "vkey": [LOG_VKEY.encode(), WITNESS_VKEY.encode()],
        "checkpoint.body": [cp.Checkpoint(ORIGIN, 9, tree.root(9), ("ext line",)).body().encode()],
        "checkpoint.open": [old.encode(), new.encode(), signed(1, cosigned=False).encode()],
        "deployment.verify": [json.dumps(published).encode()],
        "deployment.signed": [doc.canonical_bytes()],
        "deployment.parse": [doc.canonical_bytes()],
        "invite": [invite.encode()],
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


def t_token(data: bytes) -> None:
    token = tokens.verify(signing.public_key(ISSUER_KEY), data, now=NOW)
    assert token.account_id == data[:16]


def t_leaf(data: bytes) -> None:
    event = events.parse_event(data)
    assert event.kind in events.KIND_NAMES.values()
    assert events.parse_opening(bytes(32) + data).event == data


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
    "token": t_token,
    "leaf": t_leaf,
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
