"""``admin revoke witness`` finds a witness by its key in either vkey form (PROTOCOL.md §11 witness keys).

A witness listed in the ordinary Ed25519 form (0x01) and revoked by the cosignature/v1 form (0x04)
of the same key, or the other way round, is the same witness: refusing it as "no such witness"
would leave a witness the administrator meant to revoke in the deployment.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from consilience.crypto import signing
from consilience.operator import revocations as operator_revocations
from consilience.operator.deployment import load_deployment
from consilience.operator.witnesses import add_witness
from consilience.services.escrow import create_app as create_escrow
from consilience.services.escrow.settings import Settings as EscrowSettings
from consilience.tlog import checkpoint as cp
from consilience.tlog import notes
from keyserver_world import PASSPHRASE, make_deployment, run_keygen


def test_a_witness_is_revoked_by_either_form_of_its_key(tmp_path: Path) -> None:
    folder = make_deployment(tmp_path / "data")
    run_keygen(folder)
    one, two = signing.public_key(signing.generate()), signing.public_key(signing.generate())
    add_witness(folder.root, notes.ed25519_vkey("w1.example", one), PASSPHRASE)
    add_witness(folder.root, cp.cosignature_vkey("w2.example", two), PASSPHRASE)
    with TestClient(create_escrow(EscrowSettings.for_data_dir(folder.data.escrow.root), release_pass=False)):
        done = operator_revocations.revoke_witness(folder.root, cp.cosignature_vkey("w1.example", one), PASSPHRASE)
        assert done.subject == notes.ed25519_vkey("w1.example", one)  # recorded as it was listed
        assert load_deployment(folder.root).witnesses == (cp.cosignature_vkey("w2.example", two),)
        operator_revocations.revoke_witness(folder.root, notes.ed25519_vkey("w2.example", two), PASSPHRASE)
        assert load_deployment(folder.root).witnesses == ()
