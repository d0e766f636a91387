"""Schemathesis against a v2 key server's OpenAPI schema (``/v2/openapi.json``), in process over ASGI.

Every operation gets generated requests, schema-valid and schema-violating; most draws of
/v2/evaluate have a genuinely signed request spliced in (a certified account, this key server's
audience, fresh, with valid elements and points), some a stale one or one for another key server,
so the handler gets past the first refusal and into the evaluation. Checks: no 5xx; status, content
type, headers and body as documented (every error answer is ``{"error", "detail"}``);
schema-violating requests refused (4xx). Bounded like tests/fuzz/test_schemathesis.py.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
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

from consilience.services.keyserver.app import create_app
from consilience.services.keyserver.limits import LimitSettings
from consilience.services.keyserver.settings import Settings
from keyserver_world import Folder, account, make_deployment, request_body, run_keygen

HUNT = os.environ.get("CONSILIENCE_FUZZ_EXAMPLES")
SETTINGS = settings(max_examples=int(HUNT or 30), deadline=None, derandomize=HUNT is None, database=None,
                    suppress_health_check=list(HealthCheck))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
CONFIG = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {
    "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]}}})
NO_LIMITS = LimitSettings(**{name: (1e9, 1e9) for name in LimitSettings.__dataclass_fields__})

OPERATIONS = [("GET", "/healthz"), ("GET", "/v2/info"), ("POST", "/v2/evaluate"),
              ("POST", "/v2/recovery/evaluate"), ("POST", "/v2/recovery/reset"), ("POST", "/v2/recovery/unlock")]


@dataclass
class World:
    folder: Folder
    app: Any

    def audience(self, index: int = 2) -> bytes:
        return self.folder.deployment.key_server(index).identity_key


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = make_deployment(tmp_path_factory.mktemp("fuzz-ks") / "data")
    run_keygen(folder)
    app = create_app(Settings(folder=folder.data.keyserver(2), index=2, run_keygen=False, limits=NO_LIMITS))
    return World(folder, app)


@pytest.fixture(scope="module")
def schema(world: World) -> Any:
    return schemathesis.openapi.from_asgi("/v2/openapi.json", world.app, config=CONFIG)


def test_every_keyserver_operation_is_fuzzed(schema: Any) -> None:
    assert {(r.ok().method.upper(), r.ok().path) for r in schema.get_all_operations()} == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_keyserver_operation(method: str, path: str, world: World, schema: Any) -> None:
    operation = schema[path][method]
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @SETTINGS
    @given(case=cases, data=st.data())
    def fuzz(case: Any, data: st.DataObject) -> None:
        spliced = False
        if case.path == "/v2/evaluate" and data.draw(st.integers(0, 9), label="signed") <= 7:
            n = data.draw(st.integers(1, 8), label="identifiers")
            kind = data.draw(st.sampled_from(["fresh", "fresh", "fresh", "stale", "other key server"]), label="kind")
            audience = world.audience(3 if kind == "other key server" else 2)
            body = request_body(world.folder, account(world.folder), audience, n,
                                now=time.time() - 3600 if kind == "stale" else None)
            if data.draw(st.booleans(), label="keep generated fields"):
                generated = case.body if isinstance(case.body, dict) else {}
                body = {**body, **{k: v for k, v in generated.items() if k in ("blinded", "points")}}
            case.body = body
            spliced = True
        response = case.call()
        case.validate_response(response, checks=CHECKS if spliced else [*CHECKS, negative_data_rejection])
        if spliced and response.status_code == 200:
            assert len(response.json()["shares"]) == len(case.body["points"])

    fuzz()
