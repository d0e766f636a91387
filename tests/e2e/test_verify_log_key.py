"""`consilience verify` takes the log key from the administrator-signed deployment document.

The attack, as someone handing over a receipt would run it: they make an Ed25519 key of their own,
sign a checkpoint with it under the deployment's origin over a tree holding a leaf for an event that
was never logged, write the receipt, and put their key beside it as ``log.vkey`` (with a copy of the
genuine deployment document, which they can fetch like anyone). A verifier who trusted the loose
key would be told the event is in the log. It must be refused; the genuine receipt verifies, offline,
and says whose signed document its key came from.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli_process import cli, ok, person
from consilience.crypto import signing
from consilience.local import loopback
from consilience.protocol import events
from consilience.protocol.encoding import b64u_encode
from consilience.tlog import checkpoint as cp
from consilience.tlog import merkle
from consilience.tlog.notes import ed25519_vkey
from consilience.tlog.receipt import Receipt, parse_receipt

pytestmark = pytest.mark.e2e

ADMIN = "verify log key admin passphrase"
REPORTER = "verify log key reporter passphrase"




def refused(env: dict[str, str], *args: str) -> str:
    proc = cli(env, *args)
    assert proc.returncode != 0, f"{args} should have been refused: {proc.stdout}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return " ".join(proc.stderr.split())


@dataclass
class Site:
    root: Path
    url: str
    fingerprint: str
    reporter: dict[str, str]
    receipt: Path  # the genuine receipt, in the reporter's receipts folder
    stranger: dict[str, str]  # someone with no wallet


def forge(genuine: Path, folder: Path) -> Path:
    """What the attacker does: a receipt for an entry never logged, under their own key and the same origin."""
    text = genuine.read_text()
    head, _ = cp.parse_signed_checkpoint(parse_receipt(text).checkpoint)
    opening = events.Opening.fresh(events.entry_event(os.urandom(16), os.urandom(32), datetime.now(UTC)))
    tree = merkle.MemoryTree()
    for _ in range(3):
        tree.append(os.urandom(32))
    index = tree.append(opening.leaf)
    private = signing.generate()
    note = cp.sign_checkpoint(cp.Checkpoint(head.origin, len(tree), merkle.root_hash(tree, len(tree))), private)
    proof = merkle.inclusion_proof(tree, index, len(tree))
    folder.mkdir(parents=True, exist_ok=True)
    forged = folder / f"{b64u_encode(os.urandom(16))}-entry-{index}.tlog-proof"
    forged.write_text(Receipt(index, tuple(proof), note, opening.encoded).encode())
    (folder / "log.vkey").write_text(ed25519_vkey(head.origin, signing.public_key(private)) + "\n")
    return forged


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("verify-log-key")
    dep = loopback.create(root / "deploy", ADMIN, quorum=2, key_servers=1, threshold=1)
    with dep.start():
        (root / "counselor").mkdir()
        dep.add_counselor("Robin Counselor", root / "counselor" / "counselor.key", "counselor passphrase")
        reporter = person(root / "reporter", REPORTER)
        [invite] = dep.invites(1)
        ok(reporter, "reporter", "register", "--server", dep.url, "--invite", invite, "--contact", "r@example.org")
        rec = json.loads(ok(reporter, "reporter", "write", "--text", "A receipt to check.", "--json"))["record_id"]
        ok(reporter, "reporter", "escrow", rec, "--name", "github:someone")
        [receipt] = sorted((root / "reporter" / "receipts").glob("*.tlog-proof"))
        yield Site(root, dep.url, dep.admin_fingerprint_b64u, reporter, receipt, person(root / "stranger"))


def test_a_receipt_under_the_attackers_key_beside_their_log_vkey_is_refused(site: Site) -> None:
    folder = site.root / "handed-over"
    forged = forge(site.receipt, folder)
    shutil.copy(site.receipt.parent / "deployment.json", folder / "deployment.json")  # public, genuine

    # the reporter's wallet pins the administrator
    said = refused(site.reporter, "verify", str(forged))
    assert f"The log key in {folder / 'log.vkey'} is not the one in the deployment document signed by " \
           f"administrator {site.fingerprint}" in said
    assert "this receipt was not checked" in said
    # a stranger with the administrator's fingerprint, offline, the same
    said = refused(site.stranger, "verify", str(forged), "--admin-fingerprint", site.fingerprint)
    assert "is not the one in the deployment document signed by" in said
    # without the loose key the forged checkpoint's signature is not the log's
    (folder / "log.vkey").unlink()
    assert "error" in json.loads(cli(site.stranger, "verify", str(forged), "--admin-fingerprint", site.fingerprint,
                                     "--json").stdout)
    # and with nothing to check the key against, nothing is taken on trust
    said = refused(site.stranger, "verify", str(forged))
    assert "There is no administrator to check this receipt's log key against" in said


def test_a_document_signed_by_another_administrator_is_refused(site: Site) -> None:
    other = b64u_encode(os.urandom(16))
    said = refused(site.stranger, "verify", str(site.receipt), "--admin-fingerprint", other)
    assert f"is not signed by the administrator whose fingerprint is {other}" in said
    typo = refused(site.stranger, "verify", str(site.receipt), "--admin-fingerprint", site.fingerprint[:-1])
    assert "This administrator fingerprint does not look right" in typo


def test_the_genuine_receipt_verifies_offline_and_names_where_its_key_came_from(site: Site) -> None:
    signed_by = f"the deployment document signed by administrator {site.fingerprint}, serial "
    mine = json.loads(ok(site.reporter, "verify", str(site.receipt), "--json"))
    assert mine["valid"] and mine["event"] == "entry"
    assert mine["log_key_from"].startswith(signed_by) and str(site.receipt.parent / "deployment.json") in \
        mine["log_key_from"]
    assert mine["admin_fingerprint"] == site.fingerprint and mine["deployment_serial"] >= 1

    # years later, elsewhere, no network: the receipt and its saved document are enough
    kept = site.root / "archive"
    kept.mkdir()
    receipt = Path(shutil.copy(site.receipt, kept))
    document = Path(shutil.copy(site.receipt.parent / "deployment.json", site.root / "saved-deployment.json"))
    text = ok(site.stranger, "verify", str(receipt), "--admin-fingerprint", site.fingerprint, "--deployment",
              str(document), "--server", "http://127.0.0.1:9")  # unreachable: never asked
    assert "valid: entry" in text and f"Log key from {signed_by}" in text
    # a loose key that is the document's key is fine
    shutil.copy(site.receipt.parent / "log.vkey", kept / "log.vkey")
    ok(site.stranger, "verify", str(receipt), "--admin-fingerprint", site.fingerprint, "--deployment", str(document))


def test_the_document_can_come_from_the_escrow_server(site: Site) -> None:
    kept = site.root / "bare"
    kept.mkdir()
    receipt = Path(shutil.copy(site.receipt, kept))
    fetched = json.loads(ok(site.stranger, "verify", str(receipt), "--admin-fingerprint", site.fingerprint,
                            "--server", site.url, "--json"))
    assert fetched["log_key_from"].endswith(f"(from {site.url})")
    said = refused(site.stranger, "verify", str(receipt), "--admin-fingerprint", site.fingerprint)
    assert "There is no deployment document to take the log key from" in said
