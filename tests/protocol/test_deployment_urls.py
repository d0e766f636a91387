"""Key servers and the escrow server are reached over TLS: a document naming a plain-HTTP address off
this machine is refused, by clients (so a signed downgrade is refused too) and by ``admin init``
before it writes anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from consilience.errors import InvalidInput
from consilience.operator.deployment import init_deployment
from consilience.protocol import deployment as dep

KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}


@pytest.mark.parametrize("url", ["https://keys.example.org", "https://keys.example.org:8101/ks",
                                 "http://127.0.0.1:8101", "http://localhost:8101", "http://[::1]:8101",
                                 "http://127.5.6.7:9000"])
def test_https_anywhere_and_http_on_loopback_are_accepted(url: str) -> None:
    dep.check_url("key server 1", url)


@pytest.mark.parametrize(("url", "why"), [
    ("http://keys.example.org:8101", "must be reached over TLS"),
    ("http://10.0.0.5:8101", "must be reached over TLS"),
    ("http://localhost.evil.example", "must be reached over TLS"),
    ("ftp://keys.example.org", "with nothing else"),
    ("https://user:pw@keys.example.org", "with nothing else"),
    ("https://keys.example.org/?next=x", "with nothing else"),
    ("keys.example.org", "with nothing else"),
    ("https://keys.example.org:port", "not a valid URL"),
])
def test_plain_http_off_this_machine_and_odd_addresses_are_refused(url: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        dep.check_url("key server 1", url)


def test_admin_init_for_another_host_over_http_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "deploy"
    with pytest.raises(InvalidInput, match="must be reached over TLS"):
        init_deployment(root, "admin pass", host="escrow.example.org", kdf_params=KDF)
    assert not root.exists() or not any(root.rglob("*"))


def test_a_signed_document_downgraded_to_http_is_refused_by_clients(tmp_path: Path) -> None:
    from dataclasses import replace

    from consilience.operator.deployment import load_deployment, unseal_admin_key

    init_deployment(tmp_path / "d", "admin pass", kdf_params=KDF)
    d = load_deployment(tmp_path / "d")
    admin = unseal_admin_key(tmp_path / "d", "admin pass")
    downgraded = replace(d, escrow_url="http://escrow.example.org")
    with pytest.raises(InvalidInput, match="must be reached over TLS"):
        dep.sign(downgraded, admin)
    # signed anyway (bypassing sign's own check), a client refuses it
    import json

    from consilience.crypto import signing
    from consilience.protocol.encoding import b64u_encode

    document = downgraded.canonical_bytes()
    published = {"document": b64u_encode(document),
                 "signature": b64u_encode(signing.sign(admin, dep.SIGNING_PREFIX + document)),
                 "admin_key": b64u_encode(signing.public_key(admin))}
    with pytest.raises(InvalidInput, match="must be reached over TLS"):
        dep.verify(json.loads(json.dumps(published)), dep.admin_fingerprint(signing.public_key(admin)))


def test_a_witness_listed_twice_in_both_forms_or_the_logs_own_key_as_witness_is_refused(tmp_path: Path) -> None:
    from dataclasses import replace

    from consilience.crypto import signing
    from consilience.operator.deployment import load_deployment
    from consilience.tlog import checkpoint
    from consilience.tlog.notes import ed25519_vkey

    init_deployment(tmp_path / "d", "admin pass", kdf_params=KDF)
    d = load_deployment(tmp_path / "d")
    witness = signing.generate()
    cosig = checkpoint.CosignatureV1Signer("witness.example/1", witness, 0)
    both = [cosig.vkey, ed25519_vkey("witness.example/1", signing.public_key(witness))]
    dep.validate(replace(d, witnesses=(both[0],)))
    with pytest.raises(InvalidInput, match="listed twice"):
        dep.validate(replace(d, witnesses=tuple(both)))
    with pytest.raises(InvalidInput, match="own key"):
        dep.validate(replace(d, witnesses=(ed25519_vkey("witness.example/2", d.log_public_key),)))
