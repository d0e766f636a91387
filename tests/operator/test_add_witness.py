"""``admin witness add`` takes a witness key in either vkey form, once, and never the log's own key."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from consilience.crypto import signing
from consilience.datadir import DataDir
from consilience.errors import InvalidInput
from consilience.operator.deployment import init_deployment, load_deployment, next_serial, publish, unseal_admin_key
from consilience.operator.witnesses import add_witness
from consilience.tlog import checkpoint as cp
from consilience.tlog import notes

KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}


def test_add_witness_in_either_form_once(tmp_path: Path) -> None:
    root = tmp_path / "data"
    d = init_deployment(root, "pass", key_servers=3, threshold=2, kdf_params=KDF)
    one, two = signing.public_key(signing.generate()), signing.public_key(signing.generate())
    plain = notes.ed25519_vkey("w1.example", one)  # the ordinary Ed25519 form (0x01)
    cosig = cp.cosignature_vkey("w2.example", two)  # the cosignature/v1 form (0x04)
    assert add_witness(root, plain + "\n", "pass").witnesses == (plain,)
    assert add_witness(root, cosig, "pass").witnesses == (plain, cosig)
    before = load_deployment(root)
    for again in (cp.cosignature_vkey("w1.example", one), notes.ed25519_vkey("w2.example", two), plain,
                  cp.cosignature_vkey("another-name.example", one)):
        with pytest.raises(InvalidInput, match="already in the deployment"):
            add_witness(root, again, "pass")
    with pytest.raises(InvalidInput, match="the log's own key"):
        add_witness(root, cp.cosignature_vkey("w3.example", d.log_public_key), "pass")
    with pytest.raises(InvalidInput, match="the log's own key"):
        add_witness(root, d.log_vkey, "pass")
    other_type = f"w4.example+{notes.key_id('w4.example', 2, one).hex()}+{base64.b64encode(bytes([2]) + one).decode()}"
    with pytest.raises(InvalidInput, match="unsupported verifier key type 0x02"):
        add_witness(root, other_type, "pass")
    assert load_deployment(root) == before, "a refused key changes nothing"


def test_at_most_99_witnesses(tmp_path: Path) -> None:
    """With the log's line, a checkpoint cosigned by every listed witness stays within 100 signatures."""
    root = tmp_path / "data"
    init_deployment(root, "pass", key_servers=3, threshold=2, kdf_params=KDF)
    many = tuple(cp.cosignature_vkey(f"w{i}.example", signing.public_key(signing.generate()))
                 for i in range(notes.MAX_SIGNATURES - 2))
    publish(DataDir(root), next_serial(load_deployment(root), witnesses=many), unseal_admin_key(root, "pass"))
    last = cp.cosignature_vkey("last.example", signing.public_key(signing.generate()))
    assert len(add_witness(root, last, "pass").witnesses) == notes.MAX_SIGNATURES - 1
    with pytest.raises(InvalidInput, match="at most 99 witnesses"):
        add_witness(root, cp.cosignature_vkey("one-more.example", signing.public_key(signing.generate())), "pass")
