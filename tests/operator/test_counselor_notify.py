"""``admin counselor notify NAME --email ADDR | --none``: a counselor's notification address in the escrow
database (PROTOCOL.md §13.7); a bad address, an unknown name or both options at once change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consilience.cli.app import app
from consilience.crypto import hpke
from consilience.operator.counselors import add_counselor
from consilience.operator.deployment import escrow_database, init_deployment
from consilience.protocol.encoding import b64u_encode
from consilience.storage.models import Account

KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    init_deployment(data, "pass", kdf_params=KDF)
    public = hpke.public_key_bytes(hpke.generate_private_key())
    add_counselor(data, {"name": "Ana Counselor", "public_key": b64u_encode(public)}, "pass")
    return data


def addresses(root: Path) -> list[tuple[str | None, str | None]]:
    with escrow_database(root) as db, db.read() as session:
        return [(a.name, a.notify_email) for a in session.query(Account).filter_by(role="counselor")]


def run(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["admin", "counselor", "notify", *args, "--data-dir", str(root), "--json"])
    return result.exit_code, result.output


def test_an_address_is_set_and_removed(root: Path) -> None:
    code, out = run(root, "Ana Counselor", "--email", "ana@counseling.example")
    assert code == 0, out
    assert json.loads(out) == {"name": "Ana Counselor", "email": "ana@counseling.example"}
    assert addresses(root) == [("Ana Counselor", "ana@counseling.example")]
    code, out = run(root, "Ana Counselor", "--none")
    assert code == 0, out
    assert addresses(root) == [("Ana Counselor", None)]


@pytest.mark.parametrize("args, says", [
    (["Ana Counselor", "--email", "ana@x@example"], "exactly one @"),
    (["Ana Counselor", "--email", "ana@example.org, eve@example.org"], "no spaces"),
    (["Ana Counselor", "--email", "a@example.org", "--none"], "either --email ADDRESS or --none"),
    (["Ana Counselor"], "either --email ADDRESS or --none"),
    (["Bo", "--email", "bo@example.org"], "no counselor of this deployment is named 'Bo'"),
])
def test_a_bad_request_changes_nothing(root: Path, args: list[str], says: str) -> None:
    assert run(root, "Ana Counselor", "--email", "kept@example.org")[0] == 0
    code, out = run(root, *args)
    assert code != 0 and says in out, out
    assert addresses(root) == [("Ana Counselor", "kept@example.org")]
