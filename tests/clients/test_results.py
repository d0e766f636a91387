"""The SDK's typed results print exactly the --json documents the CLI printed when it built them inline.

Each ``reference_*`` below is the dict the CLI command built before the results moved into
``consilience.clients`` (commit 38f7f13); the results must serialise to the same bytes, key order
included, since scripts read these documents. Protocol v2 changed one value: an opened entry's
``reporter`` is the account's pseudonym (16 hex digits of its abscissa), no longer its account id.
"""

from __future__ import annotations

import dataclasses
import io
import json
import stat
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from consilience.cli.output import emit
from consilience.clients import counselor, receipts, reporter, results, webcheck, witness
from consilience.clients import wallet as wallet_mod
from consilience.protocol import events
from consilience.protocol.encoding import b64u_encode
from consilience.protocol.entry import Attachment, Body
from consilience.protocol.release import OpenedEntry, OpenResult
from consilience.tlog.checkpoint import Cosignature
from consilience.tlog.receipt import ReceiptVerification


def printed(data: Any) -> str:
    """What ``emit(data, as_json=True)`` writes."""
    out = io.StringIO()
    with redirect_stdout(out):
        emit(data, True)
    return out.getvalue()


def same_document(result: results.Result, reference: dict[str, Any]) -> None:
    assert printed(result) == printed(reference)
    assert list(result.to_json()) == list(reference)
    json.dumps(result.to_json(), allow_nan=False)  # plain JSON, no default=str needed


# -- counselor open ------------------------------------------------------------------------------------------------


def attachment_summary(attachments: Any) -> list[dict[str, Any]]:
    return [{"name": a.name, "type": a.type, "size": len(a.data)} for a in attachments]


def reference_opened(match_id: str, result: OpenResult) -> dict[str, Any]:
    return {
        "match_id": match_id,
        "entries": [{"entry_id": b64u_encode(o.entry_id), "reporter": o.abscissa[:8].hex(),
                     "contact": o.body.contact, "record": o.body.record, "identifiers": o.body.identifiers,
                     "written_at": o.body.written_at, "details": o.body.details,
                     "attachments": attachment_summary(o.body.attachments)} for o in result.opened],
        "failed": {b64u_encode(k): v for k, v in result.failed.items()},
        "bogus": sorted(b64u_encode(b) for b in result.bogus),
    }


PHOTO = Attachment("photo.jpg", "image/jpeg", bytes(range(256)) * 4)
ODD_NAME = Attachment("../a/b:c.txt", "text/plain", b"notes")


def open_result() -> OpenResult:
    plain = Body("And again in May.", ["sam.doe@example.com"], ["email:sam.doe@example.com"], "ana@example.org",
                 "2026-01-02T03:04:05+00:00")
    rich = Body("He did the same to me at work. ünïcode", ["Sam.Doe@Example.com", "+1 202 555 0143"],
                ["email:sam.doe@example.com", "phone:+12025550143"], "@bo", "2026-02-03T04:05:06+00:00",
                details={"what": "Grabbed my arm", "witnesses": "Kim [the intern]"}, attachments=(PHOTO, ODD_NAME))
    return OpenResult(
        opened=[OpenedEntry(b"\x01" * 16, b"\x02" * 32, 2, plain), OpenedEntry(b"\x03" * 16, b"\x04" * 32, 2, rich)],
        failed={b"\x05" * 16: "no envelope for this counselor key", b"\x06" * 16: "the quorum secret does not open it"},
        bogus={b"\xff" * 16, b"\x07" * 16})


def test_opened_match_prints_what_counselor_open_printed() -> None:
    result = open_result()
    opened = counselor.OpenedMatch.of("bWF0Y2gtaWQtMTIzNDU2Nw", result)
    same_document(opened, reference_opened("bWF0Y2gtaWQtMTIzNDU2Nw", result))
    assert opened.bogus == tuple(sorted(opened.bogus)) and len(opened.failed) == 2
    assert opened.entries[1].files == (PHOTO, ODD_NAME)
    assert "data" not in printed(opened) and "files" not in printed(opened)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opened.match_id = "other"  # type: ignore[misc]


def test_an_empty_match_prints_empty_lists() -> None:
    same_document(counselor.OpenedMatch.of("x", OpenResult()), reference_opened("x", OpenResult()))


def test_saved_attachments_are_written_owner_only_and_noted_last(tmp_path: Path) -> None:
    result = open_result()
    saved = counselor.save_attachments(counselor.OpenedMatch.of("m", result), tmp_path)
    reference = reference_opened("m", result)
    entry_id = b64u_encode(b"\x03" * 16)
    targets = [tmp_path / entry_id / "1-photo.jpg", tmp_path / entry_id / "2-_a_b_c.txt"]
    for summary, target in zip(reference["entries"][1]["attachments"], targets, strict=True):
        summary["saved_to"] = str(target)
    same_document(saved, reference)
    assert [t.read_bytes() for t in targets] == [PHOTO.data, ODD_NAME.data]
    assert all(stat.S_IMODE(t.stat().st_mode) == 0o600 for t in targets)
    assert saved.entries[0].attachments == () and not (tmp_path / b64u_encode(b"\x01" * 16)).exists()


# -- reporter records ----------------------------------------------------------------------------------------------


def reference_record(r: wallet_mod.Record) -> dict[str, Any]:
    e = r.escrow
    return {"record_id": r.record_id, "written_at": r.written_at, "text": r.text,
            "details": r.details,
            "attachments": attachment_summary([Attachment.from_json(a) for a in r.attachments]),
            "escrow": None if e is None else {"entry_id": e.entry_id, "status": e.status,
                                              "quorum": e.quorum, "identifiers": e.identifiers,
                                              "canonical": e.canonical, "received_at": e.received_at}}


def wallet() -> wallet_mod.Wallet:
    w = wallet_mod.Wallet(server="http://127.0.0.1:8100", admin_fingerprint="f", account_id="a", token="t",
                          contact="ana@example.org")
    w.add_record("private draft", "2026-01-01T00:00:00+00:00")
    w.add_record("", "2026-01-02T00:00:00+00:00", details={"what": "x", "when": "May"}, attachments=[PHOTO])
    escrowed = w.add_record("He followed me home.", "2026-01-03T00:00:00+00:00")
    escrowed.escrow = wallet_mod.EscrowState(
        entry_id="ZW50cnktaWQtMTIzNDU2Nw", identifiers=["Sam.Doe@Example.com", "x.com/samdoe"],
        canonical=["email:sam.doe@example.com", "x:samdoe"], quorum=3, body_key="k", status="escrowed",
        received_at="2026-01-03T00:00:01.123456+00:00", pending={"entry_id": "e"}, receipts=["r.tlog-proof"])
    return w


def test_record_summaries_print_what_reporter_commands_printed() -> None:
    w = wallet()
    for record in w.records:
        same_document(reporter.RecordSummary.of(record), reference_record(record))
    listed = reporter.RecordList(tuple(reporter.RecordSummary.of(r) for r in w.records))
    same_document(listed, {"records": [reference_record(r) for r in w.records]})
    # the pending submission, body key and receipt paths stay in the wallet, out of the printed view
    assert "pending" not in printed(listed) and '"k"' not in printed(listed)


def test_list_records_offline_reads_only_the_wallet(tmp_path: Path) -> None:
    session = reporter.Session(tmp_path / "wallet", "unused", wallet())
    listed = reporter.list_records(session, offline=True)
    assert [r.record_id for r in listed.records] == [r.record_id for r in session.wallet.records]
    assert listed.records[2].escrow is not None and listed.records[2].escrow.canonical == ("email:sam.doe@example.com",
                                                                                          "x:samdoe")
    assert not (tmp_path / "wallet").exists()


# -- verify, web verify, witness cosign ----------------------------------------------------------------------------


def test_a_verified_receipt_prints_what_verify_printed() -> None:
    verification = ReceiptVerification(
        origin="consilience.log/abc", index=4, tree_size=9, root_hash=b"r" * 32, leaf=b"l", leaf_hash=b"h" * 32,
        cosignatures=(Cosignature("witness.example/one", b"k" * 4, 1_700_000_000),
                      Cosignature("witness.example/two", b"j" * 4, 1_700_000_005)),
        logged_by=None, against_size=12)
    for entry_id in (b"\x09" * 16, None):
        event = events.Event(kind="entry", at=datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC), entry_id=entry_id)
        checked = receipts.Verified(verification, event, "the deployment document signed by administrator "
                                    "AAAAAAAAAAAAAAAAAAAAAA, serial 3 (/somewhere/deployment.json)",
                                    "AAAAAAAAAAAAAAAAAAAAAA", 3)
        r, e = verification, event
        same_document(checked, {
            "valid": True, "event": e.kind, "logged_at": e.at.isoformat(), "index": r.index,
            "tree_size": r.tree_size, "origin": r.origin, "log_key_from": checked.key_source,
            "admin_fingerprint": "AAAAAAAAAAAAAAAAAAAAAA", "deployment_serial": 3,
            "entry_id": None if e.entry_id is None else b64u_encode(e.entry_id),
            "consistent_with_size": r.against_size,
            "witnesses": [{"name": c.name, "time": c.timestamp} for c in r.cosignatures]})
        assert checked.entry_id == (None if entry_id is None else b64u_encode(entry_id))


@pytest.mark.parametrize("mismatched", [{}, {"/app.css": "HTTP 404", "/": "sha256 00, expected 11"}])
def test_a_web_check_prints_what_web_verify_printed(mismatched: dict[str, str]) -> None:
    result = webcheck.WebCheck("http://127.0.0.1:8100", ("/", "/app.css", "/reporter.js"), mismatched)
    same_document(result, {"server": result.server, "identical": result.ok, "checked": list(result.checked),
                           "mismatched": dict(result.mismatched)})
    assert result.ok == (not mismatched)
    assert not webcheck.WebCheck("http://x").ok  # nothing checked is not a pass


@pytest.mark.parametrize("previous", [None, 3])
def test_a_cosignature_prints_what_witness_cosign_printed(previous: int | None) -> None:
    result = witness.CosignResult(7, previous, True)
    same_document(result, {"size": result.size, "previous": result.previous})


def test_emit_still_prints_plain_mappings() -> None:
    assert printed({"out": "b1", "since": 3}) == '{\n  "out": "b1",\n  "since": 3\n}\n'
    assert printed(results.AttachmentSummary("a", "text/plain", 3)) == \
        '{\n  "name": "a",\n  "type": "text/plain",\n  "size": 3\n}\n'


def test_a_match_list_prints_what_counselor_matches_printed() -> None:
    from consilience.protocol.messages import MatchSummary

    found = [MatchSummary(match_id="bWF0Y2gtaWQtMTIzNDU2Nw", created_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
                          updated_at=datetime(2026, 1, 3, tzinfo=UTC), released=4)]
    for listed in (found, []):
        same_document(counselor.MatchList(tuple(listed)), {"matches": [x.model_dump(mode="json") for x in listed]})
