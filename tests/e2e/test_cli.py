"""The CLI walk-through of the README, as separate processes on loopback.

Each actor has its own CONSILIENCE_HOME; passphrases come from the
environment as a script would pass them. Covers quorum 2 with a key server
down and another one lying about its key, the key servers' own key
generation published by the administrator, one active entry per person and
account, and releases found on the escrow server's timer, not in the
submitter's request.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from consilience.crypto import ristretto
from consilience.local import launcher
from consilience.services.keyserver import quorum_store

pytestmark = pytest.mark.e2e

#: The escrow server's release pass runs about this often here (seconds); tests wait out one pass.
RELEASE_INTERVAL = 0.5
RELEASE_WAIT = 2.0


class Actor:
    def __init__(self, home: Path, passphrase: str) -> None:
        self.env = {**os.environ, "CONSILIENCE_HOME": str(home), "CONSILIENCE_PASSPHRASE": passphrase}

    def run(self, *args: str, ok: bool = True) -> dict[str, Any]:
        if "--" in args:  # keep --json before the "--" that ends the options
            cut = args.index("--")
            args = (*args[:cut], "--json", *args[cut:])
        else:
            args = (*args, "--json")
        proc = subprocess.run([sys.executable, "-m", "consilience", *args], capture_output=True,
                              text=True, env=self.env, timeout=120)
        if ok:
            assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
        else:
            assert proc.returncode != 0, f"{args} should have failed: {proc.stdout}"
        return json.loads(proc.stdout) if proc.stdout.strip() else {}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("cli")
    data = root / "deploy"
    escrow_port, *ks_ports = launcher.free_ports(4)
    operator = Actor(root / "operator", "operator passphrase")
    init = operator.run("admin", "init", "--data-dir", str(data), "--quorum", "2", "--keyservers", "3",
                        "--threshold", "2", "--port", str(escrow_port),
                        "--keyserver-ports", ",".join(map(str, ks_ports)))
    assert [int(url.rsplit(":", 1)[1]) for url in init["key_servers"]] == ks_ports
    pace = launcher.local_keygen()  # rounds of a second: every key server is a process here, started together
    services = [launcher.keyserver_service(data, i + 1, p, keygen=pace) for i, p in enumerate(ks_ports)]
    services.append(launcher.escrow_service(data, escrow_port))
    try:
        launcher.start_all(services, env={"CONSILIENCE_RELEASE_INTERVAL": str(RELEASE_INTERVAL)})
        # Nothing can be put in escrow until the key servers' key generation is published.
        published = operator.run("admin", "publish-keys", "--data-dir", str(data))
        assert published["qualified"] == [1, 2, 3]
        yield {"root": root, "data": data, "operator": operator, "services": services,
               "server": services[-1].url}
    finally:
        for s in services:
            s.stop()


def test_walk_through(deployment) -> None:  # type: ignore[no-untyped-def]
    root, data, operator, server = (deployment[k] for k in ("root", "data", "operator", "server"))
    counselor = Actor(root / "counselor", "counselor passphrase")
    keygen = counselor.run("counselor", "keygen", "--name", "Robin Counselor")
    added = operator.run("admin", "counselor", "add", keygen["public_key_file"], "--data-dir", str(data))
    counselor.run("counselor", "login", "--server", server, "--credential", added["credential"])
    assert counselor.run("counselor", "matches")["matches"] == []

    invites = operator.run("admin", "invite", "--data-dir", str(data), "--count", "3")["invites"]
    reporters = [Actor(root / f"reporter{i}", f"reporter {i} passphrase") for i in range(3)]
    for actor, invite, contact in zip(reporters, invites, ["ana@example.org", "+44 7700 900123", "@bo"], strict=False):
        actor.run("reporter", "register", "--server", server, "--invite", invite, "--contact", contact)
    # an invite works once
    Actor(root / "intruder", "intruder passphrase").run(
        "reporter", "register", "--server", server, "--invite", invites[0], "--contact", "x", ok=False)

    a, b, c = reporters
    rec_a = a.run("reporter", "write", "--text", "He followed me home after the party.")["record_id"]
    escrowed = a.run("reporter", "escrow", rec_a, "--name", "Sam.Doe@Example.com", "--name", "+1 202 555 0143")
    assert escrowed["escrow"]["status"] == "escrowed"
    assert escrowed["escrow"]["canonical"] == ["email:sam.doe@example.com", "phone:+12025550143"]
    # a name that cannot be normalised is refused with a message, and nothing is sent
    refused = a.run("reporter", "escrow", rec_a, "--name", "not a thing", ok=False)
    assert "error" in refused

    # the same reporter naming the same person in a second record is refused, with the way forward
    rec_a2 = a.run("reporter", "write", "--text", "And again in May.")["record_id"]
    again = a.run("reporter", "escrow", rec_a2, "--name", "sam.doe@example.com", ok=False)
    assert again["code"] == "already_named" and again["record_id"] == rec_a
    assert f"reporter edit {rec_a}" in again["error"]
    assert a.run("reporter", "list")["records"][1]["escrow"] is None  # nothing was sent
    time.sleep(RELEASE_WAIT)
    assert counselor.run("counselor", "matches")["matches"] == []

    # reporter b writes, escrows under a different identifier, then withdraws
    rec_b = b.run("reporter", "write", "--text", "Unrelated draft.")["record_id"]
    b.run("reporter", "escrow", rec_b, "--name", "instagram:someone_else")
    assert b.run("reporter", "withdraw", rec_b)["escrow"]["status"] == "withdrawn"

    # one key server is down, another lies about its key: submissions go on with the honest ones
    services = deployment["services"]
    services[0].stop()
    share_path = data / "keyserver-2" / "quorum-keys.json"  # its VOPRF share, from the key generation
    honest = quorum_store.read(share_path)
    assert honest is not None
    quorum_store.write(share_path, dataclasses.replace(honest, oprf_share=ristretto.scalar_random()))
    services[1].stop()
    services[1].start(env={"CONSILIENCE_RELEASE_INTERVAL": str(RELEASE_INTERVAL)})
    try:
        photo = root / "photo.jpg"
        photo.write_bytes(bytes(range(256)) * 40)
        rec_c = c.run("reporter", "write", "--text", "He did the same to me at work.", "--what", "Grabbed my arm",
                      "--when", "1 March, evening", "--where", "Office kitchen", "--witnesses", "Kim [the intern]",
                      "--attach", str(photo))["record_id"]
        c.run("reporter", "escrow", rec_c, "--name", "sam.doe@EXAMPLE.com", ok=False)  # only 1 honest server
        services[0].start()
        result = c.run("reporter", "escrow", rec_c, "--name", "sam.doe@EXAMPLE.com")
        # the reporter is never told of a release: a counselor reaching out is how they learn of it
        assert result["escrow"]["status"] == "escrowed"
    finally:
        quorum_store.write(share_path, honest)
        services[1].stop()
        services[1].start(env={"CONSILIENCE_RELEASE_INTERVAL": str(RELEASE_INTERVAL)})

    # proactive refresh of the key shares: same OPRF key, so later entries still match earlier ones
    old_share = quorum_store.read(data / "keyserver-1" / "quorum-keys.json")
    assert old_share is not None
    asked = operator.run("admin", "refresh-keys", "--data-dir", str(data))
    assert (asked["kind"], asked["epoch"]) == ("refresh", 2)
    assert operator.run("admin", "publish-keys", "--data-dir", str(data))["kind"] == "refresh"
    launcher.wait_for_quorum_keys(services[:3], 2, timeout=60)
    new_share = quorum_store.read(data / "keyserver-1" / "quorum-keys.json")
    assert new_share is not None and new_share.epoch == 2
    assert new_share.oprf_share != old_share.oprf_share and new_share.shares != old_share.shares
    rec_b2 = b.run("reporter", "write", "--text", "It happened to me too, last year.")["record_id"]
    assert b.run("reporter", "escrow", rec_b2, "--name", "SAM.DOE@example.com")["escrow"]["status"] == "escrowed"

    time.sleep(RELEASE_WAIT)
    listed = a.run("reporter", "list")["records"]
    assert [r["escrow"] and r["escrow"]["status"] for r in listed] == ["escrowed", None]

    matches = counselor.run("counselor", "matches")["matches"]
    assert len(matches) == 1
    opened = counselor.run("counselor", "open", "--", matches[0]["match_id"])  # ids may start with "-"
    records = sorted(e["record"] for e in opened["entries"])
    assert records == sorted(["He followed me home after the party.", "He did the same to me at work.",
                              "It happened to me too, last year."])
    # counselors see pseudonyms (abscissas), never account ids: three reporters, three pseudonyms
    assert len({e["reporter"] for e in opened["entries"]}) == 3
    assert all(len(e["reporter"]) == 16 for e in opened["entries"])
    contacts = {e["contact"] for e in opened["entries"]}
    assert contacts == {"ana@example.org", "@bo", "+44 7700 900123"}
    assert opened["bogus"] == [] and opened["failed"] == {}
    # the structured details and attachments are shown; files are saved only when asked for
    by_record = {e["record"]: e for e in opened["entries"]}
    structured = by_record["He did the same to me at work."]
    assert structured["details"] == {"what": "Grabbed my arm", "when": "1 March, evening", "where": "Office kitchen",
                                     "witnesses": "Kim [the intern]"}
    assert structured["attachments"] == [{"name": "photo.jpg", "type": "image/jpeg", "size": 10240}]
    plain = by_record["He followed me home after the party."]
    assert plain["details"] is None and plain["attachments"] == []
    saved = counselor.run("counselor", "open", "--save-attachments", str(root / "files"), "--", matches[0]["match_id"])
    [entry] = [e for e in saved["entries"] if e["attachments"]]
    path = Path(entry["attachments"][0]["saved_to"])
    assert path.parent == root / "files" / entry["entry_id"] and path.read_bytes() == photo.read_bytes()

    # a released entry can still be edited and withdrawn, exactly as before a release
    edited = a.run("reporter", "edit", rec_a, "--text", "He followed me home after the party, twice.")
    assert edited["escrow"]["status"] == "escrowed"
    status = operator.run("admin", "status", "--data-dir", str(data))
    assert status["entries"]["released"] == 3 and status["entries"]["withdrawn"] == 1


def test_receipts_verify_offline_and_witnesses_cosign(deployment) -> None:  # type: ignore[no-untyped-def]
    root, data, operator, server = (deployment[k] for k in ("root", "data", "operator", "server"))
    counselor = Actor(root / "counselor2", "counselor passphrase")
    keygen = counselor.run("counselor", "keygen", "--name", "Second Counselor")
    operator.run("admin", "counselor", "add", keygen["public_key_file"], "--data-dir", str(data))

    witness = Actor(root / "witness", "witness passphrase")
    vkey = witness.run("witness", "keygen", "--name", "witness.example/one")["vkey"]
    operator.run("admin", "witness", "add", vkey, "--data-dir", str(data))

    reporter = Actor(root / "receipt-reporter", "receipt reporter passphrase")
    invite = operator.run("admin", "invite", "--data-dir", str(data))["invites"][0]
    reporter.run("reporter", "register", "--server", server, "--invite", invite, "--contact", "r@example.org")
    rec = reporter.run("reporter", "write", "--text", "A receipt test.")["record_id"]
    reporter.run("reporter", "escrow", rec, "--name", "github:someone")
    receipts = sorted((root / "receipt-reporter" / "receipts").glob("*.tlog-proof"))
    assert len(receipts) == 1
    receipt = receipts[0]

    checked = reporter.run("verify", str(receipt))
    assert checked["valid"] and checked["event"] == "entry"

    # the log key pinned beside the receipt is used; a wrong one is refused
    from consilience.crypto import signing
    from consilience.tlog.notes import ed25519_vkey

    wrong = ed25519_vkey(checked["origin"], signing.public_key(signing.generate()))
    assert "error" in reporter.run("verify", str(receipt), "--log-key", wrong, ok=False)

    # tampering with the receipt is refused with a reason
    text = receipt.read_text()
    index_line = next(line for line in text.splitlines() if line.startswith("index "))
    tampered = root / "tampered.tlog-proof"
    tampered.write_text(text.replace(index_line, f"index {int(index_line.split()[1]) + 1}"))
    (root / "log.vkey").write_text((receipt.parent / "log.vkey").read_text())
    assert "error" in reporter.run("verify", str(tampered), ok=False)

    # the witness cosigns twice; the second time it checks consistency with the first
    log_vkey = (receipt.parent / "log.vkey").read_text().strip()
    first = witness.run("witness", "cosign", "--server", server, "--log-key", log_vkey)
    # the log survives a restart of the escrow server (and a SIGKILL mid-life): still consistent afterwards
    deployment["services"][-1].kill()
    deployment["services"][-1].start()
    rec2 = reporter.run("reporter", "write", "--text", "A later record.")["record_id"]
    reporter.run("reporter", "escrow", rec2, "--name", "github:someone-else")
    second = witness.run("witness", "cosign", "--server", server, "--log-key", log_vkey)
    assert second["previous"] == first["size"] and second["size"] > first["size"]

    # years later: a newer checkpoint plus a consistency proof, cosigned by the witness
    bundle = root / "newer.checkpoint"
    reporter.run("log", "fetch", "--server", server, "--receipt", str(receipt), "--out", str(bundle))
    later = reporter.run("verify", str(receipt), "--against", str(bundle), "--witness", vkey)
    assert later["consistent_with_size"] == second["size"]
    assert [w["name"] for w in later["witnesses"]] == ["witness.example/one"]

    # a disclosure of the first record (PROTOCOL.md §14.3): anchored to the checkpoint the witness cosigned,
    # checked by a third party with no wallet and no network, who is given the administrator's fingerprint
    out, pdf = root / "disclosure.json", root / "disclosure.pdf"
    made = reporter.run("reporter", "disclose", rec, "--out", str(out), "--pdf", str(pdf))
    assert made["witnessed"] and made["record"] == "A receipt test." and made["checkpoint_size"] == second["size"]
    assert [w["name"] for w in made["witnesses"]] == ["witness.example/one"] and pdf.stat().st_size > 10_000
    stranger = Actor(root / "stranger", "unused")
    seen = stranger.run("verify-disclosure", str(out), "--admin-fingerprint", made["admin_fingerprint"])
    assert seen["valid"] and seen["leaf_index"] == made["leaf_index"] and seen["logged_at"] == made["logged_at"]
    doc = json.loads(out.read_text())
    doc["entry"]["quorum"] += 1
    (root / "changed.json").write_text(json.dumps(doc))
    refused = stranger.run("verify-disclosure", str(root / "changed.json"), ok=False)
    assert refused["field"] == "entry" and "content hash" in refused["reason"]
