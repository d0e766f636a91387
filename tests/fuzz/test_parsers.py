"""Every parser of untrusted bytes, fuzzed: it accepts, or refuses with InvalidInput / VerificationError.

The targets are those of ``fuzz/fuzz_parsers.py`` (the atheris harness), run
here under Hypothesis with bounded example counts: raw bytes and text, and
valid documents (signed with the harness's fixed keys) after byte flips,
truncations, line insertions and deletions, big numbers and JSON-level
changes. A target that accepts its input also checks that the input is the
unique encoding of what it parsed, where the format is canonical.

``identifiers.normalise`` gets only the structured mutations here (and the
atheris run): tests/protocol/test_identifiers.py already throws arbitrary
text at it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consilience.errors import InvalidInput, VerificationError
from consilience.protocol import deployment, events
from consilience.tlog import consistency

HARNESS_PATH = Path(__file__).resolve().parents[2] / "fuzz" / "fuzz_parsers.py"


def _load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_parsers", HARNESS_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


H = _load_harness()
#: Examples per target; a longer hunt: CONSILIENCE_FUZZ_EXAMPLES=20000 pytest tests/fuzz/test_parsers.py
SETTINGS = settings(max_examples=int(os.environ.get("CONSILIENCE_FUZZ_EXAMPLES", 120)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# -- strategies -------------------------------------------------------------------------------

#: Text with lone surrogates too: JSON strings ("\ud800") reach parsers that way.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=120)
raw = st.one_of(st.binary(max_size=300), any_text.map(lambda s: s.encode("utf-8", "surrogatepass")),
                st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\n"), max_size=200)
                .map(str.encode))


@st.composite
def edited(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A valid document after a few byte-level edits (the atheris harness's mutator)."""
    return H.mutate(draw(st.sampled_from(seeds)), draw(st.binary(min_size=3, max_size=30)))


@st.composite
def line_edited(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A valid document with one line inserted, replaced, deleted or truncated."""
    lines = draw(st.sampled_from(seeds)).split(b"\n")
    i = draw(st.integers(0, len(lines) - 1))
    line = draw(st.one_of(st.sampled_from(lines), any_text.map(lambda s: s.encode("utf-8", "surrogatepass")),
                          st.sampled_from([b"", b" ", b"index 1", b"old 1", b"\xe2\x80\x94 x AAAA",
                                           b"extra AAAA", b"x" * 300])))
    how = draw(st.sampled_from(["insert", "replace", "delete", "truncate"]))
    if how == "insert":
        lines.insert(i, line)
    elif how == "replace":
        lines[i] = line
    elif how == "delete":
        del lines[i]
    else:
        lines[i] = lines[i][:draw(st.integers(0, max(len(lines[i]) - 1, 0)))]
    return b"\n".join(lines)


@st.composite
def truncated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    seed = draw(st.sampled_from(seeds))
    return seed[:draw(st.integers(0, len(seed)))]


def inputs(name: str) -> st.SearchStrategy[bytes]:
    seeds = H.seeds().by_target[name]
    mutations = [edited(seeds), line_edited(seeds), truncated(seeds)]
    # arbitrary text at normalise() is already tests/protocol/test_identifiers.py's job
    return st.one_of(*mutations) if name == "identifier" else st.one_of(raw, *mutations)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63 - 2, max_value=2**70),
              st.floats(allow_nan=False), any_text),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=12,
)


@st.composite
def json_edited(draw: st.DrawFn, document: Any) -> Any:
    """A JSON document with one value somewhere replaced, removed or added."""
    doc = json.loads(json.dumps(document))
    node = doc
    while isinstance(node, (dict, list)) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        if not isinstance(node[key], (dict, list)) or not node[key]:
            break
        node = node[key]
    if isinstance(node, dict) and node:
        key = draw(st.sampled_from(sorted(node)))
        how = draw(st.sampled_from(["replace", "delete", "add"]))
        if how == "replace":
            node[key] = draw(json_values)
        elif how == "delete":
            del node[key]
        else:
            node[draw(any_text)] = draw(json_values)
    elif isinstance(node, list):
        if node and draw(st.booleans()):
            node[draw(st.integers(0, len(node) - 1))] = draw(json_values)
        else:
            node.append(draw(json_values))
    return doc


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8", "surrogatepass")


def _document() -> dict[str, Any]:
    return json.loads(H.seeds().by_target["deployment.parse"][0])


def _published() -> dict[str, Any]:
    return json.loads(H.seeds().by_target["deployment.verify"][0])


def _seed_json(name: str) -> Any:
    return json.loads(H.seeds().by_target[name][0])


def _json_target(name: str) -> st.SearchStrategy[bytes]:
    """A JSON request or answer body: arbitrary JSON, or the seed with one value replaced, removed or added."""
    return st.one_of(json_values.map(_dumps), json_edited(_seed_json(name)).map(_dumps))


JSON_INPUTS: dict[str, st.SearchStrategy[bytes]] = {
    **{name: _json_target(name) for name in ("register", "evaluate.request", "evaluate.signed", "evaluate.response",
                                             "board.post", "board.page")},
    "deployment.verify": st.one_of(json_values.map(_dumps), json_edited(_published()).map(_dumps)),
    "deployment.parse": st.one_of(json_values.map(_dumps), json_edited(_document()).map(_dumps)),
    # canonical serialisation, so most of these get past the signature and canonical-form checks to validate()
    "deployment.signed": json_edited(_document()).map(deployment.canonical_json),
}


# -- the properties ----------------------------------------------------------------------------


def test_the_harness_seeds_are_valid_documents() -> None:
    # a seed that its own parser refuses would make the mutations start from nothing
    for name in H.NAMES:
        for seed in H.seeds().by_target[name]:
            assert H.run(name, seed), name


def test_every_v2_parser_is_a_target() -> None:
    # protocol v2's parsers of untrusted bytes (PROTOCOL.md): none may silently drop out of the fuzzing
    assert {"deployment.verify", "deployment.signed", "deployment.parse", "invite", "certificate", "register",
            "evaluate.request", "evaluate.signed", "evaluate.response", "envelope", "dkg.parse", "dkg.signed",
            "board.post", "board.page", "leaf", "opening", "receipt.v2"} <= set(H.NAMES)
    assert "token" not in H.NAMES  # v1 access tokens are gone
    assert json.loads(H.b64u_decode(_published()["document"]))["quorum_keys"] is not None


def test_seeds_reach_past_the_signatures() -> None:
    """The mutated documents start from ones that pass every check, so mutations test what lies behind them."""
    doc = H.deployment.verify(_published(), H.FINGERPRINT)
    assert doc.quorum_keys is not None and doc.quorum_parameters()
    for message in H.seeds().by_target["dkg.parse"]:
        H.dkg.parse(H.key_generation().params, message)
    with pytest.raises(InvalidInput, match="protocol v1"):
        H.invites.parse("cnsl1." + H.b64u_encode(bytes(16)) + "." + H.b64u_encode(H.FINGERPRINT))
    with pytest.raises(VerificationError, match="another key server"):
        H.t_evaluate_request(H.seeds().by_target["evaluate.request"][0].replace(
            H.b64u_encode(H.signing.public_key(H.IDENTITIES[1])).encode(),
            H.b64u_encode(H.signing.public_key(H.IDENTITIES[2])).encode()))


@pytest.mark.parametrize("name", H.NAMES)
def test_parser_accepts_or_refuses_cleanly(name: str) -> None:
    strategy = st.one_of(inputs(name), JSON_INPUTS[name]) if name in JSON_INPUTS else inputs(name)

    @SETTINGS
    @given(data=strategy)
    def fuzz(data: bytes) -> None:
        H.run(name, data)  # raises, and fails the test, on anything but InvalidInput / VerificationError

    fuzz()


@SETTINGS
@given(data=st.binary(min_size=2, max_size=200))
def test_the_atheris_entry_point_accepts_or_refuses_cleanly(data: bytes) -> None:
    H.one_input(data)


# -- the atheris harness itself ----------------------------------------------------------------


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris is not installed")
def test_atheris_harness_runs_bounded(tmp_path: Path) -> None:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(HARNESS_PATH), "-runs=2000", "-seed=1", "-max_len=2048",
         f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Done 2000 runs" in proc.stderr, proc.stderr[-2000:]
    assert not list(tmp_path.glob("crash-*"))
    assert time.monotonic() - start < 60


# -- regressions: inputs the fuzzers found, as plain cases ---------------------------------------


@pytest.mark.parametrize("millis", [b"\xff" * 8, (2**63).to_bytes(8, "big"), (253402300800000).to_bytes(8, "big")])
def test_leaf_time_beyond_what_a_date_can_hold_is_refused(millis: bytes) -> None:
    # found by Hypothesis: parse_leaf (v2: parse_event, the event inside a leaf's opening) raised ValueError
    # ("year 584556019 is out of range")
    for kind, body in ((events.ENTRY, bytes(48)), (events.WITHDRAWAL, bytes(16)), (events.RELEASE, bytes(20)),
                       (events.OPENING, bytes(32)), (events.PADDING, b"")):
        with pytest.raises(InvalidInput, match="time"):
            events.parse_event(bytes([kind]) + body + millis)
        with pytest.raises(InvalidInput, match="time"):
            events.parse_opening(bytes(32) + bytes([kind]) + body + millis)
    last = events.parse_event(bytes([events.WITHDRAWAL]) + bytes(16) + (253402300799999).to_bytes(8, "big"))
    assert last.at.year == 9999  # the last millisecond a datetime holds still parses


@pytest.mark.parametrize("published", [[], "x", None, 1, 1.5, True, ["document", "signature", "admin_key"]])
def test_published_deployment_that_is_not_an_object_is_refused(published: Any) -> None:
    # found by Hypothesis: deployment.verify([]) raised TypeError (list indices must be integers)
    with pytest.raises(InvalidInput, match="object"):
        deployment.verify(published, bytes(16))


@pytest.mark.parametrize("line", ["é" * 44, "\udcb5", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\u00e9="])
def test_consistency_bundle_with_a_non_ascii_proof_line_is_refused(line: str) -> None:
    # found by atheris: consistency.parse raised ValueError ("string argument should contain only ASCII")
    bundle = H.seeds().by_target["consistency"][0].decode()
    head, _, note = bundle.partition("\n\n")
    with pytest.raises(InvalidInput, match="proof line"):
        consistency.parse(head + "\n" + line + "\n\n" + note)
    assert consistency.parse(bundle).encode() == bundle
