"""``admin counselor add`` lists the counselor's signing key (PROTOCOL.md §13.1) from the public file.

A public file made before messaging has none: the counselor is still added (they can open matches), and
the document lists no signing key for them, so no reporter will take a message as theirs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consilience.cli.app import app
from consilience.clients import counselor
from consilience.errors import InvalidInput
from consilience.operator.counselors import add_counselor
from consilience.operator.deployment import init_deployment, load_deployment
from consilience.protocol import conversations

KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    init_deployment(data, "pass", kdf_params=KDF)
    return data


def test_the_public_file_carries_the_signing_key_and_the_document_lists_it(root: Path) -> None:
    keys = counselor.generate("Ana Counselor")
    public = counselor.public_key_file(keys)
    assert keys.signing_key == conversations.counselor_signing_key(keys.seed)
    assert "seed" not in public and "signing_seed" not in public
    d, _ = add_counselor(root, public, "pass")
    (listed,) = d.counselors
    assert listed.signing_key == keys.signing_key and listed.key_id == keys.key_id
    assert load_deployment(root).counselors == d.counselors  # as published and verified again


def test_an_old_public_file_adds_a_counselor_without_a_signing_key(root: Path) -> None:
    public = counselor.public_key_file(counselor.generate("Bo Counselor"))
    del public["signing_key"]
    d, _ = add_counselor(root, public, "pass")
    assert d.counselors[0].signing_key is None
    assert "signing_key" not in d.to_json()["counselors"][0]


@pytest.mark.parametrize("bad, says", [("AAAA", "expected 32 bytes"), (5, "base64url text")])
def test_a_bad_signing_key_adds_nothing(root: Path, bad: object, says: str) -> None:
    public: dict[str, object] = dict(counselor.public_key_file(counselor.generate("Cy Counselor")))
    public["signing_key"] = bad
    before = load_deployment(root)
    with pytest.raises(InvalidInput, match=says):
        add_counselor(root, public, "pass")
    assert load_deployment(root) == before


def test_the_cli_says_when_a_counselor_cannot_send_messages(root: Path, tmp_path: Path) -> None:
    def add(public: dict[str, str], *json_flag: str) -> str:
        path = tmp_path / f"{public['name']}.json"
        path.write_text(json.dumps(public))
        result = CliRunner().invoke(app, ["admin", "counselor", "add", str(path), "--data-dir", str(root),
                                          *json_flag], env={"CONSILIENCE_PASSPHRASE": "pass"})
        assert result.exit_code == 0, result.output
        return result.output

    def old_file(name: str) -> dict[str, str]:
        public = counselor.public_key_file(counselor.generate(name))
        del public["signing_key"]
        return public

    assert json.loads(add(counselor.public_key_file(counselor.generate("New")), "--json"))["can_send_messages"]
    assert json.loads(add(old_file("Old"), "--json"))["can_send_messages"] is False
    said = " ".join(add(old_file("Older")).split())
    assert "can open matches but cannot send messages" in said
    assert "cannot send" not in add(counselor.public_key_file(counselor.generate("Newer")))
