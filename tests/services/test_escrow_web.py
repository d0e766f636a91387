"""The escrow server serves the built web app with strict security headers (no browser needed)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from consilience.crypto import signing
from consilience.errors import InvalidInput
from consilience.services.escrow import create_app
from consilience.services.escrow.settings import Settings, create_private_key
from consilience.services.escrow.web import origin
from v2_world import make_counselor

from .harness import make_deployment, write_signed


def make_static(folder: Path) -> Path:
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text('<!doctype html><title>Reporter</title><script type="module" '
                                       'src="/reporter.js"></script>')
    (folder / "counselor.html").write_text("<!doctype html><title>Counselor</title>")
    (folder / "reporter.js").write_text("export const x = 1;")
    (folder / "app.css").write_text("body{}")
    (folder / "assets" / "icon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (folder / "manifest.json").write_text(json.dumps({"files": {}}))
    return folder


def build_client(tmp_path: Path, static: Path) -> tuple[TestClient, object]:
    settings = Settings.for_data_dir(tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    log_key = create_private_key(settings.log_key_path)
    deployment = make_deployment([make_counselor("Ana")], log_public=signing.public_key(log_key))
    write_signed(settings.deployment_path, deployment, signing.generate())
    return TestClient(create_app(settings, web_static=static)), deployment


@pytest.fixture
def built(tmp_path: Path) -> Iterator[tuple[TestClient, object]]:
    client, deployment = build_client(tmp_path, make_static(tmp_path / "static"))
    with client:
        yield client, deployment


def check_security_headers(response, deployment) -> None:  # type: ignore[no-untyped-def]
    h = response.headers
    csp = {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in h["content-security-policy"].split("; ")}
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["img-src"] == "'self' data: blob:"
    assert csp["worker-src"] == "'self'"
    assert csp["form-action"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert csp["connect-src"].split() == ["'self'", *[origin(k.url) for k in deployment.key_servers]]
    assert "unsafe" not in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["cross-origin-opener-policy"] == "same-origin"
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in h["permissions-policy"]


def test_reporter_app_at_root_with_security_headers(built) -> None:  # type: ignore[no-untyped-def]
    client, deployment = built
    r = client.get("/")
    assert r.status_code == 200
    assert "Reporter" in r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["cache-control"] == "no-store"
    check_security_headers(r, deployment)
    assert [origin(k.url) for k in deployment.key_servers] == [
        "http://127.0.0.1:8101", "http://127.0.0.1:8102", "http://127.0.0.1:8103"]


def test_counselor_app_at_counselor(built) -> None:  # type: ignore[no-untyped-def]
    client, deployment = built
    r = client.get("/counselor/")
    assert r.status_code == 200 and "Counselor" in r.text
    assert r.headers["cache-control"] == "no-store"
    check_security_headers(r, deployment)
    redirect = client.get("/counselor", follow_redirects=False)
    assert redirect.status_code == 308 and redirect.headers["location"] == "/counselor/"


@pytest.mark.parametrize("path", ["/reporter.js", "/counselor/reporter.js"])
def test_scripts_have_a_javascript_type_and_the_csp(built, path: str) -> None:  # type: ignore[no-untyped-def]
    client, deployment = built
    r = client.get(path)
    assert r.status_code == 200 and r.text == "export const x = 1;"
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache"
    check_security_headers(r, deployment)  # a worker script takes its CSP from its own response


def test_scripts_revalidate_with_an_etag_and_pages_are_never_cached(built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, deployment = built
    first = client.get("/reporter.js")
    tag = first.headers["etag"]
    again = client.get("/reporter.js", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    check_security_headers(again, deployment)
    assert client.get("/reporter.js", headers={"If-None-Match": '"other", ' + tag}).status_code == 304
    assert client.get("/reporter.js", headers={"If-None-Match": '"stale"'}).status_code == 200
    # A new build changes the tag, so the browser gets the new code.
    (tmp_path / "static" / "reporter.js").write_text("export const x = 2;")
    changed = client.get("/reporter.js", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag and changed.text.endswith("2;")
    # Pages carry no validator and are never answered 304: each load gets the current CSP and files.
    page = client.get("/")
    assert "etag" not in page.headers
    assert client.get("/", headers={"If-None-Match": "*"}).status_code == 200


def test_css_and_assets(built) -> None:  # type: ignore[no-untyped-def]
    client, _ = built
    assert client.get("/app.css").headers["content-type"].startswith("text/css")
    assert client.get("/assets/icon.svg").headers["content-type"] == "image/svg+xml"


@pytest.mark.parametrize("path", ["/nope.js", "/assets/", "/..%2f..%2fetc%2fpasswd", "/assets/../../x",
                                  "/.hidden", "/assets/.hidden", "/counselor/nope.html"])
def test_unknown_or_unsafe_paths_are_404(built, path: str) -> None:  # type: ignore[no-untyped-def]
    client, _ = built
    assert client.get(path).status_code == 404


def test_api_routes_keep_their_answers(built) -> None:  # type: ignore[no-untyped-def]
    client, deployment = built
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/v2/deployment").status_code == 200
    assert client.get("/v2/openapi.json").status_code == 200
    # an unknown API path is the API's 404, not a file lookup; a wrong method stays 405
    assert client.get("/v2/nothing-here").status_code == 404
    assert client.get("/v2/register").status_code == 405
    # a path of v1's that v2 dropped is the API's too: 410, naming the version, never a file
    assert client.get("/v1/accounts").status_code == 410
    paths = client.get("/v2/openapi.json").json()["paths"]
    assert all(p.startswith("/v2/") or p == "/healthz" for p in paths), \
        "web routes (and the transitional /v1 aliases) stay out of the API schema"


def test_connect_src_follows_a_new_deployment(tmp_path: Path) -> None:
    settings = Settings.for_data_dir(tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    log_key = create_private_key(settings.log_key_path)
    admin = signing.generate()
    d1 = make_deployment([], log_public=signing.public_key(log_key))
    write_signed(settings.deployment_path, d1, admin)
    with TestClient(create_app(settings, web_static=make_static(tmp_path / "static"))) as client:
        from dataclasses import replace

        moved = tuple(replace(k, url=f"https://ks{k.index}.example.org") for k in d1.key_servers)
        assert d1.key_change is not None  # before the key servers' result: the change lists them too
        write_signed(settings.deployment_path, replace(d1, serial=2, key_servers=moved,
                                                       key_change=replace(d1.key_change, servers=moved)), admin)
        csp = client.get("/").headers["content-security-policy"]
        assert "connect-src 'self' https://ks1.example.org https://ks2.example.org https://ks3.example.org;" in csp


def test_unbuilt_app_answers_503_with_how_to_build(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="consilience.services.escrow.web"):
        client, _ = build_client(tmp_path, tmp_path / "not-built")
        with client:
            for path in ("/", "/counselor/", "/reporter.js"):
                r = client.get(path)
                assert r.status_code == 503
                assert "./scripts/build-web" in r.text
                assert r.headers["content-type"].startswith("text/plain")
                assert r.headers["x-content-type-options"] == "nosniff"
            assert client.get("/healthz").status_code == 200  # the API works all the same
    warnings = [r for r in caplog.records if "not built" in r.getMessage()]
    assert len(warnings) == 1


def test_origin_of_urls() -> None:
    assert origin("http://127.0.0.1:8101") == "http://127.0.0.1:8101"
    assert origin("https://KS.Example.org/base/path") == "https://ks.example.org"
    with pytest.raises(InvalidInput):
        origin("ftp://example.org")


# --- the icon browsers ask for, and HEAD -----------------------------------------------------------

ICON = b"\x00\x00\x01\x00" + bytes(range(60))  # an ICO header, then anything: the server hands out bytes


def test_favicon_is_the_builds_icon_with_the_same_type_and_caching(built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, deployment = built
    (tmp_path / "static" / "assets" / "favicon.ico").write_bytes(ICON)
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.content == ICON
    assert r.headers["content-type"] == "image/x-icon"
    assert r.headers["cache-control"] == "no-cache"
    check_security_headers(r, deployment)
    # the same file, bytes and validator as under its own name (which the manifest lists)
    own = client.get("/assets/favicon.ico")
    assert own.content == ICON and own.headers["etag"] == r.headers["etag"]
    assert client.get("/favicon.ico", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    # browsers ask at the origin's root, but a relative reference from the counselor page works too
    assert client.get("/counselor/favicon.ico").content == ICON


def test_no_icon_in_the_build_is_404_not_another_file(built) -> None:  # type: ignore[no-untyped-def]
    client, _ = built
    assert client.get("/favicon.ico").status_code == 404


@pytest.mark.parametrize("path", ["/", "/counselor/", "/reporter.js", "/app.css", "/assets/icon.svg",
                                  "/favicon.ico", "/healthz", "/v2/deployment", "/v2/openapi.json",
                                  "/counselor", "/nope.js", "/v2/register", "/v1/accounts"])
def test_head_answers_wherever_get_does_with_the_same_headers_and_no_body(  # type: ignore[no-untyped-def]
        built, tmp_path: Path, path: str) -> None:
    client, _ = built
    (tmp_path / "static" / "assets" / "favicon.ico").write_bytes(ICON)
    got = client.get(path, follow_redirects=False)
    head = client.head(path, follow_redirects=False)
    assert head.status_code == got.status_code, path
    assert head.content == b""
    assert {k: v for k, v in head.headers.items() if k != "date"} == \
        {k: v for k, v in got.headers.items() if k != "date"}
    if got.status_code == 200:
        assert int(head.headers["content-length"]) == len(got.content)


def test_head_revalidates_like_get(built) -> None:  # type: ignore[no-untyped-def]
    client, _ = built
    tag = client.get("/reporter.js").headers["etag"]
    assert client.head("/reporter.js", headers={"If-None-Match": tag}).status_code == 304


def test_a_large_script_goes_gzip_compressed_to_a_browser_that_accepts_it(built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import gzip

    from consilience.services.escrow.web import accepts_gzip

    client, deployment = built
    script = ("export const words = " + json.dumps(["a survivor's slow phone"] * 400) + ";").encode()
    (tmp_path / "static" / "reporter.js").write_bytes(script)
    plain = client.get("/reporter.js", headers={"Accept-Encoding": "identity"})
    assert plain.content == script and "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    with client.stream("GET", "/reporter.js", headers={"Accept-Encoding": "gzip, br"}) as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip" and r.headers["vary"] == "Accept-Encoding"
        tag = r.headers["etag"]
    assert gzip.decompress(raw) == script and len(raw) < len(script) // 10
    assert tag != plain.headers["etag"]  # another representation, another tag
    again = client.get("/reporter.js", headers={"Accept-Encoding": "gzip", "If-None-Match": tag})
    assert again.status_code == 304
    check_security_headers(again, deployment)
    assert client.get("/reporter.js", headers={"Accept-Encoding": "gzip;q=0, *"}).headers.get(
        "content-encoding") is None
    # the API's answers are never compressed (they may carry tokens beside what a page sent: BREACH)
    api = client.get("/v2/deployment", headers={"Accept-Encoding": "gzip"})
    assert api.status_code == 200 and "content-encoding" not in api.headers
    assert [accepts_gzip(h) for h in ("gzip", "GZip;q=0.5", "*", "br, *;q=0", "*, gzip;q=0", "", "gzip;q=x")] == [
        True, True, True, False, False, False, False]
