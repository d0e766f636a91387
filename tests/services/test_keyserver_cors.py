"""Key servers let browsers call /v2/evaluate from the configured web origins only (CORS)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from consilience.datadir import DataDir, web_origins
from consilience.errors import InvalidInput
from consilience.operator.deployment import init_deployment, load_deployment
from consilience.protocol.encoding import b64u_encode
from consilience.services.keyserver.app import create_app
from consilience.services.keyserver.settings import Settings
from keyserver_world import Folder, account, make_deployment, request_body, run_keygen

WEB = "http://127.0.0.1:8100"
PREFLIGHT = {"Origin": WEB, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "content-type"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    f = make_deployment(tmp_path_factory.mktemp("cors") / "data")
    run_keygen(f)
    return f


@pytest.fixture()
def settings(folder: Folder) -> Settings:
    """Key server 1 on its folder, with no web origins unless a test adds them."""
    return Settings(folder=folder.data.keyserver(1), run_keygen=False)


def with_origins(settings: Settings, origins: list[str]) -> Settings:
    return replace(settings, web_origins=tuple(origins))


def evaluate(client: TestClient, origin: str | None, signed: bool = True):  # type: ignore[no-untyped-def]
    """A request by a certified account to the key server behind CLIENT (its deployment read from its folder)."""
    data = client.app.state.keyserver.settings.folder.root.parent  # type: ignore[attr-defined]
    folder = Folder(DataDir(data), load_deployment(data))
    headers = {"Origin": origin} if origin else {}
    body = request_body(folder, account(folder), folder.deployment.key_server(1).identity_key)
    if not signed:
        body["signature"] = b64u_encode(bytes(64))
    return client.post("/v2/evaluate", json=body, headers=headers)


def test_preflight_from_the_web_origin_allows_exactly_what_evaluate_needs(settings: Settings) -> None:
    client = TestClient(create_app(with_origins(settings, [WEB])))
    r = client.options("/v2/evaluate", headers=PREFLIGHT)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == WEB
    assert r.headers["access-control-allow-methods"] == "POST"
    assert {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")} >= {"content-type"}
    assert "access-control-allow-credentials" not in r.headers


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_preflight_for_other_methods_is_refused(settings: Settings, method: str) -> None:
    client = TestClient(create_app(with_origins(settings, [WEB])))
    r = client.options("/v2/evaluate", headers={**PREFLIGHT, "Access-Control-Request-Method": method})
    assert r.status_code == 400


@pytest.mark.parametrize("header", ["x-secret", "authorization"])
def test_preflight_for_other_headers_is_refused(settings: Settings, header: str) -> None:
    """v2 requests carry their credentials in the signed body: no Authorization header is allowed."""
    client = TestClient(create_app(with_origins(settings, [WEB])))
    r = client.options("/v2/evaluate", headers={**PREFLIGHT, "Access-Control-Request-Headers": header})
    assert r.status_code == 400


@pytest.mark.parametrize("origin", ["http://127.0.0.1:8101", "https://127.0.0.1:8100", "http://evil.example",
                                    "null"])
def test_other_origins_get_no_cors_headers(settings: Settings, origin: str) -> None:
    client = TestClient(create_app(with_origins(settings, [WEB])))
    assert client.options("/v2/evaluate", headers={**PREFLIGHT, "Origin": origin}).status_code == 400
    r = evaluate(client, origin)
    assert r.status_code == 200  # the server answers; the browser withholds the answer from the page
    assert "access-control-allow-origin" not in r.headers


def test_answers_and_refusals_carry_the_origin_for_the_page(settings: Settings) -> None:
    client = TestClient(create_app(with_origins(settings, [WEB])))
    ok = evaluate(client, WEB)
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == WEB
    assert "origin" in ok.headers["vary"].lower()
    refused = evaluate(client, WEB, signed=False)
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == WEB
    assert "retry-after" in refused.headers["access-control-expose-headers"].lower()


def test_no_web_origins_means_no_cross_origin_access(settings: Settings) -> None:
    client = TestClient(create_app(settings))
    r = client.options("/v2/evaluate", headers=PREFLIGHT)
    assert r.status_code == 405 and "access-control-allow-origin" not in r.headers
    assert "access-control-allow-origin" not in evaluate(client, WEB).headers


@pytest.mark.parametrize("bad", ["*", "http://x.example/path", "ftp://x.example", "x.example",
                                 "http://u:p@x.example", "http://x.example?q"])
def test_bad_origins_are_refused(settings: Settings, bad: str) -> None:
    with pytest.raises(InvalidInput):
        create_app(with_origins(settings, [bad]))


def test_admin_init_writes_the_escrow_origin_for_each_key_server(tmp_path: Path) -> None:
    init_deployment(tmp_path, "pass", escrow_port=8200, keyserver_ports=[8201, 8202, 8203],
                    kdf_params={"memory_cost_kib": 8192, "iterations": 1, "lanes": 1})
    layout = DataDir(tmp_path)
    for i in (1, 2, 3):
        # the escrow origin first; on loopback also the name a browser opens it by (localhost)
        assert web_origins.read(layout.keyserver(i).web_origins) == ["http://127.0.0.1:8200",
                                                                     "http://localhost:8200"]


def test_web_origins_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "ks" / web_origins.FILE_NAME
    assert web_origins.read(path) == []
    web_origins.write(path, ["https://Escrow.Example.org/", "http://127.0.0.1:8100"])
    assert web_origins.read(path) == ["https://escrow.example.org", "http://127.0.0.1:8100"]
    path.write_text("[]")
    with pytest.raises(InvalidInput):
        web_origins.read(path)
