"""Schemathesis against the escrow server's OpenAPI schema, in process over ASGI.

Every operation of the escrow server (``/v2/openapi.json``) gets generated
requests, schema-valid and schema-violating, sent with working credentials
most of the time (the right role's Bearer token) and with the wrong role,
garbage or nothing the rest of the time (the key server's schema:
test_schemathesis_keyserver.py). Some draws also splice known ids and valid values into the
generated request, so the handlers get past the first refusal and into the
database code. The checks:

* no answer is a 5xx;
* status code, content type, headers and body match what the schema
  documents for that status (every error answer is documented,
  ``{"error", "detail"}``);
* schema-violating requests are refused (4xx);
* a refused request (4xx) changes nothing in the escrow database: no row
  added, removed or changed in any table (``repository.row_counts`` would
  miss a row changed in place).

Bounded for CI: 30 derandomized examples per operation, about a minute and a half per database.
The regressions at the end are what earlier, longer runs found.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

import pg_cluster
from consilience.protocol import dkg
from consilience.protocol.encoding import b64u_encode
from consilience.services.escrow.limits import LimitSettings
from consilience.storage.models import Base
from services.harness import Escrow, Reporter, build, key_server_keys, registration

#: Examples per operation. CI runs a fixed, derandomized set; a longer hunt with fresh random
#: draws each time: CONSILIENCE_FUZZ_EXAMPLES=1000 pytest tests/fuzz
HUNT = os.environ.get("CONSILIENCE_FUZZ_EXAMPLES")
MAX_EXAMPLES = int(HUNT or 30)
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=HUNT is None, database=None,
                    suppress_health_check=list(HealthCheck))

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
#: 413 is how both services refuse a body over their size limit, before any parsing.
CONFIG = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {
    "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]}}})
#: Budgets so large that the generated traffic never runs into a 429 (the limits have their own tests).
NO_LIMITS = LimitSettings(**{name: (1e9, 1e9) for name in LimitSettings.__dataclass_fields__})

REPORTER_PATHS = ("/v2/entries", "/v2/account", "/v2/introductions")
#: /v2/conversations answers both roles; it is fuzzed as the counselor, who can also create them
COUNSELOR_PATHS = ("/v2/matches", "/v2/handover", "/v2/cases", "/v2/conversations")
#: a reporter's corroboration requests (PROTOCOL.md §14.4); the counselor's are under /v2/matches
REPORTER_PATHS += ("/v2/corroborations",)


def fuzz_database_url(request: pytest.FixtureRequest) -> str | None:
    """None for the parameter "sqlite" (the harness's file), else a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return pg_cluster.fresh_database(request.getfixturevalue("postgres_admin_url"))


def database_state(escrow: Escrow) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: stricter than row counts, it also sees a row changed in place.

    Except the request budgets (on PostgreSQL, ``rate_buckets``): a refusal is charged by design
    (a failed authentication spends the address's budget), and they hold no content.
    """
    with escrow.db.read() as session:
        return {table.name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
                for table in Base.metadata.sorted_tables if table.name != "rate_buckets"}


def _role(path: str) -> str | None:
    if path.startswith(REPORTER_PATHS):
        return "reporter"
    if path.startswith(COUNSELOR_PATHS):
        return "counselor"
    return None


# -- the escrow server -------------------------------------------------------------------


@dataclass
class EscrowWorld:
    escrow: Escrow
    reporter: Reporter
    counselor_headers: dict[str, str]
    entry_ids: list[str] = field(default_factory=list)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    match_ids: list[str] = field(default_factory=list)
    case_ids: list[str] = field(default_factory=list)
    conversation_ids: list[str] = field(default_factory=list)

    def headers_for(self, role: str | None) -> dict[str, str]:
        if role == "reporter":
            return self.reporter.headers
        if role == "counselor":
            return self.counselor_headers
        return {}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def escrow_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EscrowWorld]:
    escrow = build(tmp_path_factory.mktemp("escrow") / "data", limits=NO_LIMITS,
                   database_url=fuzz_database_url(request))
    with escrow.client:
        reporter, other = escrow.reporter(), escrow.reporter()
        world = EscrowWorld(escrow, reporter, escrow.counselor_headers(escrow.counselors[0]))
        shared = os.urandom(32)
        # the first and last release a match (one active entry per account and person: the second names another)
        for who, tags, quorum in ((reporter, [shared], 2), (reporter, [os.urandom(32)], 3), (other, [shared], 2)):
            submission = escrow.submission(tags=tags, quorum=quorum)
            r = escrow.submit(who, submission)
            assert r.status_code == 201, r.text
            if who is reporter:
                world.entry_ids.append(r.json()["entry_id"])
                world.submissions.append(submission)
        escrow.run_pass()
        matches = escrow.client.get("/v2/matches", headers=world.counselor_headers).json()
        world.match_ids = [m["match_id"] for m in matches]
        assert world.match_ids
        cases = escrow.client.get("/v2/cases", headers=world.counselor_headers).json()
        world.case_ids = [c["case_id"] for c in cases]
        conversation = {"conversation_id": b64u_encode(os.urandom(16)), "match_id": world.match_ids[0],
                        "entry_id": world.entry_ids[0]}
        r = escrow.client.post("/v2/conversations", json=conversation, headers=world.counselor_headers)
        assert r.status_code == 201, r.text
        world.conversation_ids = [conversation["conversation_id"]]
        yield world
    escrow.db.dispose()


@pytest.fixture(scope="module")
def escrow_schema(escrow_world: EscrowWorld) -> Any:
    return schemathesis.openapi.from_asgi("/v2/openapi.json", escrow_world.escrow.client.app, config=CONFIG)


ESCROW_OPERATIONS = [
    ("GET", "/healthz"), ("GET", "/v2/deployment"),
    ("POST", "/v2/register"),
    ("GET", "/v2/entries"), ("POST", "/v2/entries"), ("GET", "/v2/entries/{entry_id}"),
    ("PUT", "/v2/entries/{entry_id}"), ("DELETE", "/v2/entries/{entry_id}"),
    ("GET", "/v2/entries/{entry_id}/receipt"),
    ("GET", "/v2/matches"), ("GET", "/v2/matches/{match_id}"),
    ("GET", "/v2/log/checkpoint"), ("GET", "/v2/log/consistency"), ("POST", "/v2/log/cosignatures"),
    ("POST", "/v2/board"), ("GET", "/v2/board/{epoch}"),
    ("POST", "/v2/login"), ("POST", "/v2/login/counselor"), ("GET", "/v2/revocations"),
]
#: who read a record, and handover (PROTOCOL.md §13.6)
ESCROW_OPERATIONS += [("GET", "/v2/entries/{entry_id}/readers"), ("GET", "/v2/handover/{key_id}"),
                      ("POST", "/v2/handover/{key_id}")]
#: disclosures (PROTOCOL.md §14.3): inclusion proofs by leaf index
ESCROW_OPERATIONS += [("GET", "/v2/log/inclusion")]
#: the log as C2SP tlog-tiles (PROTOCOL.md §11.1)
ESCROW_OPERATIONS += [("GET", "/v2/log/tiles/checkpoint"), ("GET", "/v2/log/tiles/tile/{tile_path}")]
#: after a match: conversations, introductions, cases, addresses (PROTOCOL.md §13.3–§13.5, §13.7)
ESCROW_OPERATIONS += [
    ("PUT", "/v2/account/message-key"), ("GET", "/v2/account/notify"), ("PUT", "/v2/account/notify"),
    ("GET", "/v2/conversations"), ("POST", "/v2/conversations"),
    ("GET", "/v2/conversations/{conversation_id}/messages"), ("POST", "/v2/conversations/{conversation_id}/messages"),
    ("POST", "/v2/matches/{match_id}/introductions"), ("GET", "/v2/introductions/{introduction_id}"),
    ("POST", "/v2/introductions/{introduction_id}/accept"),
    ("GET", "/v2/cases"), ("PUT", "/v2/cases/{case_id}"), ("POST", "/v2/cases/{case_id}/links"),
    ("GET", "/v2/cases/{case_id}/notes"), ("POST", "/v2/cases/{case_id}/notes"),
]
#: delete my account (PROTOCOL.md §14.2)
ESCROW_OPERATIONS += [("DELETE", "/v2/account")]
#: sealed wallet backups for recovery on a new device (PROTOCOL.md §14.1)
ESCROW_OPERATIONS += [("PUT", "/v2/account/backup"), ("DELETE", "/v2/account/backup"), ("GET", "/v2/backup/{handle}")]
#: corroboration statements (PROTOCOL.md §14.4)
ESCROW_OPERATIONS += [
    ("POST", "/v2/matches/{match_id}/corroborations"), ("GET", "/v2/matches/{match_id}/corroborations"),
    ("GET", "/v2/matches/{match_id}/corroborations/{statement_id}"), ("GET", "/v2/corroborations"),
    ("POST", "/v2/corroborations/{statement_id}/consent"),
]


def _operations(schema: Any) -> set[tuple[str, str]]:
    return {(r.ok().method.upper(), r.ok().path) for r in schema.get_all_operations()}


def test_every_escrow_operation_is_fuzzed(escrow_schema: Any) -> None:
    assert _operations(escrow_schema) == set(ESCROW_OPERATIONS)


def _cases(schema: Any, method: str, path: str) -> st.SearchStrategy[Any]:
    operation = schema[path][method]
    return st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))


def _splice_escrow(case: Any, world: EscrowWorld, data: st.DataObject) -> bool:
    """Put known ids and valid values into some requests; True if anything was replaced."""
    spliced = False
    path_parameters = case.path_parameters or {}
    counselor_keys = [b64u_encode(c.key_id) for c in world.escrow.counselors]  # handover targets (§13.6)
    for name, pool in (("entry_id", world.entry_ids), ("match_id", world.match_ids), ("key_id", counselor_keys),
                       ("case_id", world.case_ids), ("conversation_id", world.conversation_ids)):
        if name in path_parameters and data.draw(st.booleans(), label=f"known {name}"):
            path_parameters[name] = data.draw(st.sampled_from(pool), label=name)
            spliced = True
    if case.path in ("/v2/entries", "/v2/entries/{entry_id}") and case.method in ("POST", "PUT") \
            and isinstance(case.body, dict):
        how = data.draw(st.sampled_from(["generated", "valid fields", "resubmission", "reused id"]), label="body")
        if how == "valid fields":
            valid = world.escrow.submission(quorum=data.draw(st.integers(1, 6), label="quorum"))
            if case.method == "PUT" and "entry_id" in path_parameters:
                valid["entry_id"] = path_parameters["entry_id"]
            keep = data.draw(st.sets(st.sampled_from(sorted(case.body))), label="generated fields kept") \
                if case.body else set()
            case.body = {**valid, **{k: v for k, v in case.body.items() if k in keep}}
        elif how == "resubmission":  # identical content: 200 with the stored status
            case.body = data.draw(st.sampled_from(world.submissions), label="submission")
            if case.method == "PUT":
                path_parameters["entry_id"] = case.body["entry_id"]
        elif how == "reused id":  # a known id with other content
            entry_id = data.draw(st.sampled_from(world.entry_ids), label="entry_id")
            case.body = {**world.escrow.submission(), "entry_id": entry_id}
            if case.method == "PUT":
                path_parameters["entry_id"] = entry_id
        spliced = spliced or how != "generated"
    if case.path == "/v2/register" and isinstance(case.body, dict) and data.draw(st.booleans(), label="invite"):
        case.body = {**case.body, **registration(world.escrow.invite(), world.escrow.deployment.deployment_id)}
        spliced = True
    if case.path == "/v2/board" and isinstance(case.body, dict) and data.draw(st.booleans(), label="signed"):
        params = world.escrow.deployment.dkg_parameters(1)
        message = dkg.complain(params, 1, key_server_keys(1).identity_private, 2, os.urandom(dkg.DIGEST_BYTES),
                               dkg.BAD_SHARES)
        case.body = {**case.body, "epoch": 1, "message": b64u_encode(message)}
        spliced = True
    if case.path == "/v2/board/{epoch}" and data.draw(st.booleans(), label="known epoch"):
        path_parameters["epoch"] = 1
        spliced = True
    if case.path == "/v2/log/consistency" and data.draw(st.booleans(), label="small sizes"):
        case.query = {"old": data.draw(st.integers(0, 12)), "new": data.draw(st.integers(0, 12))}
        spliced = True
    if case.path == "/v2/log/inclusion" and data.draw(st.booleans(), label="small index"):
        case.query = {"index": data.draw(st.integers(0, 12)), "size": data.draw(st.integers(0, 12))}
        spliced = True
    if case.path == "/v2/log/checkpoint" and data.draw(st.booleans(), label="small size"):
        case.query = {"size": data.draw(st.integers(0, 12))}
        spliced = True
    if case.path == "/v2/log/cosignatures" and isinstance(case.body, dict) \
            and data.draw(st.booleans(), label="small size"):
        case.body = {**case.body, "size": data.draw(st.integers(1, 12))}
        spliced = True
    if case.path == "/v2/log/tiles/tile/{tile_path}" and data.draw(st.booleans(), label="a tile of the log"):
        kind = data.draw(st.sampled_from(["0", "1", "entries"]), label="tile kind")
        width = data.draw(st.integers(0, 256), label="width")
        path_parameters["tile_path"] = f"{kind}/000" + ("" if width in (0, 256) else f".p/{width}")
        spliced = True
    return spliced


def _credentials(role: str | None, world: EscrowWorld, data: st.DataObject) -> dict[str, str]:
    choice = data.draw(st.integers(0, 9), label="credentials")
    if choice <= 6:
        return world.headers_for(role)
    if choice == 7:  # the other role's valid token
        return world.headers_for("counselor" if role == "reporter" else "reporter")
    if choice == 8:
        garbage = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60)
        return {"Authorization": "Bearer " + data.draw(garbage, label="garbage token")}
    return {}


@pytest.mark.parametrize(("method", "path"), ESCROW_OPERATIONS, ids=[f"{m} {p}" for m, p in ESCROW_OPERATIONS])
def test_escrow_operation(method: str, path: str, escrow_world: EscrowWorld, escrow_schema: Any) -> None:
    @SETTINGS
    @given(case=_cases(escrow_schema, method, path), data=st.data())
    def fuzz(case: Any, data: st.DataObject) -> None:
        spliced = _splice_escrow(case, escrow_world, data)
        case.headers = {**(case.headers or {}), **_credentials(_role(case.path), escrow_world, data)}
        if (case.method, case.path) == ("DELETE", "/v2/account") \
                and case.headers.get("Authorization") == escrow_world.reporter.headers["Authorization"]:
            # deleting the world's reporter would leave the other operations without one (PROTOCOL.md §14.2)
            case.headers["Authorization"] = escrow_world.escrow.reporter().headers["Authorization"]
        before = database_state(escrow_world.escrow)
        response = case.call()
        case.validate_response(response, checks=CHECKS if spliced else [*CHECKS, negative_data_rejection])
        if 400 <= response.status_code < 500:
            after = database_state(escrow_world.escrow)
            assert after == before, f"a refused request ({response.status_code}) changed " + ", ".join(
                sorted(table for table in before if before[table] != after[table]))

    fuzz()


# The key server's schema is fuzzed in tests/fuzz/test_schemathesis_keyserver.py.


# -- regressions: what the runs above found, as plain cases ------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def escrow(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Escrow]:
    harness = build(tmp_path / "data", database_url=fuzz_database_url(request))
    with harness.client:
        yield harness
    harness.db.dispose()


@pytest.mark.parametrize("size", [2**63, 2**64, 10**30])
def test_checkpoint_size_beyond_a_database_integer_is_refused_not_a_crash(escrow: Escrow, size: int) -> None:
    # found by schemathesis: GET /v2/log/checkpoint?size=9223372036854775808 was a 500
    # (OverflowError binding the size as an SQLite INTEGER; a DataError on PostgreSQL)
    before = escrow.counts()
    r = escrow.client.get("/v2/log/checkpoint", params={"size": size})
    assert r.status_code == 422 and r.json()["error"] == "invalid"
    assert escrow.client.get("/v2/log/checkpoint", params={"size": 2**63 - 1}).status_code == 404
    assert escrow.counts() == before


@pytest.mark.parametrize("size", [2**63, 2**64])
def test_cosignature_size_beyond_a_database_integer_is_refused_not_a_crash(escrow: Escrow, size: int) -> None:
    # found by schemathesis: POST /v2/log/cosignatures {"size": 9223372036854775808, ...} was a 500
    before = escrow.counts()
    r = escrow.client.post("/v2/log/cosignatures", json={"size": size, "cosignature": ""})
    assert r.status_code == 422 and r.json()["error"] == "invalid"
    r = escrow.client.post("/v2/log/cosignatures", json={"size": 2**63 - 1, "cosignature": ""})
    assert r.status_code == 404
    assert escrow.counts() == before


@pytest.mark.parametrize(("name", "value"), [("deployment_serial", True), ("quorum", "2"), ("quorum", 2.0),
                                             ("quorum", True), ("deployment_serial", "1")])
def test_entry_integers_are_json_integers(escrow: Escrow, name: str, value: Any) -> None:
    # found while fuzzing: pydantic's lax mode took JSON true, 2.0 and "2" for the schema's integers
    reporter = escrow.reporter()
    submission = {**escrow.submission(), name: value}
    before = escrow.counts()
    r = escrow.submit(reporter, submission)
    assert r.status_code == 422, r.text
    assert escrow.counts() == before
    r = escrow.client.post("/v2/log/cosignatures", json={"size": True, "cosignature": ""})
    assert r.status_code == 422
