"""Nothing the demo writes determines a secret, unless t key-server folders are put together.

The demo runs a whole deployment on one machine: the administrator's files, the escrow server's
(database and its WAL included), every key server's folder, the counselor's and the reporters'.
Here every file is read, as someone holding a copy of the data folder would:

* from every set of fewer than t key-server folders, the shares found are interpolated at 0 (the
  best an attacker can do with them: with one share, the share itself) and compared with the
  public commitments of the signed document: the VOPRF key against its public key, every
  coefficient of every quorum polynomial against its G2 commitment. None matches. With t folders
  the same reconstruction matches every commitment (so the check can fail);
* no file outside the key-server folders holds any key server's share, the VOPRF key, a quorum
  coefficient or the abscissa key, in any encoding the code writes (raw bytes either way round,
  base64url), and no key-server folder holds another's share or a whole secret.
"""

from __future__ import annotations

import base64
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from consilience.crypto import ristretto
from consilience.crypto.bls12381 import ORDER as R
from consilience.crypto.bls12381 import G2Point, Scalar
from consilience.protocol import deployment as dep
from consilience.protocol.encoding import b64u_decode

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_folder(demo_run: dict[str, Any]) -> Path:
    """The data folder of the demo's run (tests/e2e/conftest.py)."""
    return Path(demo_run["data_dir"])


def _lagrange_at_zero(xs: list[int], modulus: int) -> list[int]:
    out = []
    for i in xs:
        num = den = 1
        for j in xs:
            if j != i:
                num = num * (-j) % modulus
                den = den * (i - j) % modulus
        out.append(num * pow(den, -1, modulus) % modulus)
    return out


def _folders(root: Path) -> dict[int, Path]:
    return {int(p.name.rsplit("-", 1)[1]): p for p in sorted(root.glob("keyserver-*")) if p.is_dir()}


def _held(folder: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((folder / "quorum-keys.json").read_text())
    return doc


def _document(root: Path) -> dep.Deployment:
    return dep.parse(json.loads((root / "admin" / "deployment.json").read_text()))


def _reconstruct(helds: list[dict[str, Any]]) -> tuple[int, dict[int, list[int]]]:
    """(VOPRF key, {q: [a_{q,j}]}) interpolated at 0 from these key servers' shares, plain integers."""
    xs = [int(h["index"]) for h in helds]
    lam_l = _lagrange_at_zero(xs, ristretto.ORDER)
    lam_r = _lagrange_at_zero(xs, R)
    key = sum(w * int.from_bytes(b64u_decode(str(h["oprf_share"])), "little") for w, h in zip(lam_l, helds,
                                                                                                 strict=True))
    levels: dict[int, list[int]] = {}
    for q in dict(helds[0]["shares"]):
        count = len(helds[0]["shares"][q])
        levels[int(q)] = [sum(w * int.from_bytes(b64u_decode(h["shares"][q][j]), "big")
                              for w, h in zip(lam_r, helds, strict=True)) % R for j in range(count)]
    return key % ristretto.ORDER, levels


def _matches(d: dep.Deployment, key: int, levels: dict[int, list[int]]) -> list[str]:
    """Which public commitments the candidate secrets match."""
    assert d.quorum_keys is not None
    hits = []
    if key and ristretto.scalar_mult_base(ristretto.scalar_from_int(key)) == d.oprf_public_key:
        hits.append("the VOPRF key")
    g2 = G2Point.generator()
    for q, coefficients in levels.items():
        for j, a in enumerate(coefficients):
            if a and g2.mul_public(Scalar(a)).to_bytes() == d.quorum_keys.levels[q][j]:
                hits.append(f"a_{q},{j}")
    return hits


def test_fewer_than_t_key_server_folders_reconstruct_nothing_and_t_reconstruct_everything(demo_folder: Path) -> None:
    d = _document(demo_folder)
    assert d.quorum_keys is not None
    folders = _folders(demo_folder)
    assert sorted(folders) == [s.index for s in d.key_servers] and len(folders) > d.threshold - 1
    helds = {i: _held(f) for i, f in folders.items()}
    coefficients = sum(len(v) for v in d.quorum_keys.levels.values())
    for size in range(1, d.threshold):
        for subset in itertools.combinations(sorted(folders), size):
            hits = _matches(d, *_reconstruct([helds[i] for i in subset]))
            assert hits == [], f"key-server folders {subset} determine {hits}"
    for subset in itertools.combinations(sorted(folders), d.threshold):
        hits = _matches(d, *_reconstruct([helds[i] for i in subset]))
        assert len(hits) == 1 + coefficients, f"t folders {subset} should determine every secret, got {len(hits)}"


def _encodings(value: int, width: int = 32) -> list[bytes]:
    raw_be, raw_le = value.to_bytes(width, "big"), value.to_bytes(width, "little")
    out = [raw_be, raw_le]
    for raw in (raw_be, raw_le):
        out.append(base64.urlsafe_b64encode(raw).rstrip(b"="))
        out.append(base64.b64encode(raw).rstrip(b"="))
    return out


def _contents(paths: list[Path]) -> bytes:
    return b"\0".join(p.read_bytes() for p in paths)


def test_no_file_outside_a_key_server_holds_a_share_or_a_secret(demo_folder: Path) -> None:
    d = _document(demo_folder)
    folders = _folders(demo_folder)
    helds = {i: _held(f) for i, f in folders.items()}
    key, levels = _reconstruct([helds[i] for i in sorted(folders)[: d.threshold]])
    secrets = _encodings(key) + [e for cs in levels.values() for a in cs for e in _encodings(a)]
    abscissa_key = b64u_decode(str(helds[1]["abscissa_key"]))
    outside = [p for p in demo_folder.rglob("*") if p.is_file() and not any(f in p.parents for f in folders.values())]
    assert any(p.name.endswith(".sqlite3") or "sqlite" in p.name for p in outside), "the database is read too"
    everything_outside = _contents(outside)
    for e in secrets:
        assert e not in everything_outside, "a whole secret is in a file outside the key servers"
    for e in (abscissa_key, base64.urlsafe_b64encode(abscissa_key).rstrip(b"=")):
        assert e not in everything_outside, "the abscissa key is in a file outside the key servers"
    for i, held in helds.items():
        own = {str(held["oprf_share"]), *(v for level in dict(held["shares"]).values() for v in level)}
        for value in own:
            raw = b64u_decode(value)
            encoded = [value.encode(), raw, raw[::-1]]
            assert not any(e in everything_outside for e in encoded), f"key server {i}'s share is outside its folder"
            for j, folder in folders.items():
                if j != i:
                    assert not any(e in _contents([p for p in folder.rglob("*") if p.is_file()]) for e in encoded), \
                        f"key server {i}'s share is in key server {j}'s folder"
        inside = _contents([p for p in folders[i].rglob("*") if p.is_file()])
        assert not any(e in inside for e in secrets), f"key server {i}'s folder holds a whole secret"
