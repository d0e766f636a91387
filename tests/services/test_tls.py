"""TLS in process (issue 12 item 1): the certificate checks before a server starts, and clients against a
real TLS listener on loopback.

A private CA and its server certificates are made in the test (tests/tls_certs.py); a board in the
plan's format (tests/keyserver_world.py) is served by uvicorn with the options ``serving.TLSFiles``
gives it, as both servers do. The clients are the SDK's (clients/board.py, escrow_client.py, every
one built by clients/http.py): with the CA file they get answers; without it, or against a
certificate for another name or out of date, they are refused and say so in words.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from consilience.clients import http, oprf_client, webcheck
from consilience.clients.board import BoardClient, BoardError
from consilience.clients.escrow_client import ApiError, EscrowClient
from consilience.crypto import signing
from consilience.errors import InvalidInput, VerificationError
from consilience.protocol import deployment as dep
from consilience.services import serving
from consilience.services.config import ConfigurationError
from consilience.services.escrow.settings import Settings as EscrowSettings
from keyserver_world import Folder, board_app, free_port, make_deployment
from tls_certs import PrivateCA, ServerFiles, stray_key, write_key
from v2_world import ident, make_v2_world


@pytest.fixture(autouse=True)
def no_ca_file(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with the system's CAs alone, and leaves them so."""
    monkeypatch.delenv(http.CA_FILE_ENV, raising=False)
    http.use_ca_file(None)
    yield
    http.use_ca_file(None)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCA:
    return PrivateCA.make(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    return make_deployment(tmp_path_factory.mktemp("tls") / "data")


@contextmanager
def tls_serving(app: FastAPI, files: ServerFiles) -> Iterator[str]:
    """APP over TLS on loopback in a thread, with the options the servers use; yields its https URL."""
    tls = serving.TLSFiles(files.cert, files.key)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", log_config=None,
                                           **tls.uvicorn_options()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the TLS test server did not start")
        time.sleep(0.02)
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def fingerprint(folder: Folder) -> bytes:
    return dep.admin_fingerprint(signing.public_key(folder.admin_private()))


# -- clients against a TLS server ---------------------------------------------------------------------------


def test_a_client_with_the_ca_file_gets_answers_one_without_is_refused_in_words(ca: PrivateCA,
                                                                                 folder: Folder) -> None:
    with tls_serving(board_app(folder.root), ca.issue("board")) as url:
        # without the private CA: the key server's board client and the SDK's escrow client both refuse
        with BoardClient(url) as board, pytest.raises(BoardError) as refused:
            board.deployment(fingerprint(folder))
        message = str(refused.value)
        assert f"the escrow server at {url} presented a certificate this machine does not trust" in message
        assert "--ca-file" in message and http.CA_FILE_ENV in message
        assert "SSL" not in message.replace("SSL_", ""), "an OpenSSL error is not the message"
        with EscrowClient(url) as escrow, pytest.raises(ApiError) as api:
            escrow.published_deployment()
        assert api.value.code == "untrusted_certificate" and api.value.status == 0
        assert str(api.value).startswith(f"The escrow server at {url} presented a certificate this machine "
                                         "does not trust") and "--ca-file" in str(api.value)
        with http.client() as raw, pytest.raises(http.UntrustedCertificate) as plain:
            raw.get(f"{url}/v2/deployment")
        assert plain.value.url == url and "unable to get local issuer certificate" in plain.value.reason

        # with it (--ca-file sets it for the process): answers, the document checked as over plain HTTP
        http.use_ca_file(ca.cert_path)
        with BoardClient(url) as board:
            assert board.deployment(fingerprint(folder)).deployment_id == folder.deployment.deployment_id
        with EscrowClient(url) as escrow:
            assert escrow.published_deployment().document


def test_a_reporter_is_told_which_key_servers_presented_an_untrusted_certificate(ca: PrivateCA,
                                                                                  folder: Folder) -> None:
    """clients/oprf_client.py: each key server skipped, named, and why, in the reporter's words."""
    world = make_v2_world(n=3, t=2, label="tls")
    who = world.account("reporter")
    with tls_serving(board_app(folder.root), ca.issue("keys")) as url:
        d = replace(world.deployment, key_servers=tuple(replace(s, url=url) for s in world.deployment.key_servers))
        with pytest.raises(oprf_client.KeyServerUnavailable) as refused:
            oprf_client.evaluate(d, [ident("email:boss@example.org").oprf_input],
                                 oprf_client.Credentials(who.seed, who.certificate))
    message = str(refused.value)
    for index in (1, 2, 3):
        assert (f"key server {index} ({url}) presented a certificate this machine does not trust (unable to get "
                f"local issuer certificate); {http.CA_FILE_HINT}") in message
    assert refused.value.answered == 0


def test_web_verify_says_the_certificate_is_not_trusted_not_that_the_server_is_unreachable(
        ca: PrivateCA, folder: Folder) -> None:
    with tls_serving(board_app(folder.root), ca.issue("web")) as url, http.client(base_url=url) as client, \
            pytest.raises(VerificationError) as refused:
        webcheck.verify(client, {"index.html": "0" * 64})
    assert str(refused.value).startswith(f"The server at {url} presented a certificate this machine does not trust")
    assert str(refused.value).endswith("Nothing was compared.")


def test_the_ca_file_may_come_from_the_environment(ca: PrivateCA, folder: Folder,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with tls_serving(board_app(folder.root), ca.issue("board-env")) as url:
        monkeypatch.setenv(http.CA_FILE_ENV, str(ca.cert_path))
        http.use_ca_file(None)  # the context is built anew, reading the environment
        assert http.ca_file() == ca.cert_path
        with BoardClient(url) as board:
            assert board.deployment(fingerprint(folder)).deployment_id == folder.deployment.deployment_id


def test_a_certificate_for_another_name_or_out_of_date_is_refused_even_from_the_trusted_ca(
        ca: PrivateCA, folder: Folder) -> None:
    http.use_ca_file(ca.cert_path)
    elsewhere = ca.issue("elsewhere", ("escrow.example.org",))
    expired = ca.issue("expired", days=1, not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
    for files, why in ((elsewhere, "address mismatch, certificate is not valid for '127.0.0.1'"),
                       (expired, "certificate has expired")):
        with tls_serving(board_app(folder.root), files) as url, BoardClient(url) as board, \
                pytest.raises(BoardError) as refused:
            board.deployment(fingerprint(folder))
        assert "presented a certificate this machine does not trust" in str(refused.value)
        assert why in str(refused.value)


def test_a_ca_file_that_cannot_serve_is_refused_and_changes_nothing(ca: PrivateCA, tmp_path: Path) -> None:
    before = http.ssl_context()
    with pytest.raises(InvalidInput, match="cannot read the CA file"):
        http.use_ca_file(tmp_path / "missing.pem")
    key = stray_key(tmp_path / "a.key")
    with pytest.raises(InvalidInput, match="holds no PEM certificate"):
        http.use_ca_file(key)
    assert http.ca_file() is None and http.ssl_context() is before


#: httpx calls that build a client of their own, hence neither the CA file nor the certificate message
OWN_CLIENT = re.compile(r"httpx\.(Client|AsyncClient|HTTPTransport|get|post|put|patch|delete|head|request|stream)\(")
#: local/launcher.py waits for the processes it started itself, over plain HTTP on loopback
LOOPBACK_ONLY = {"local/launcher.py"}


def test_every_client_is_built_by_clients_http() -> None:
    """board.py, oprf_client.py, escrow_client.py (witness.py uses it), webcheck, cli/web.py, services calling
    the escrow server: none builds an httpx client of its own."""
    src = Path(http.__file__).resolve().parents[1]
    offenders = [str(p.relative_to(src)) for p in src.rglob("*.py")
                 if p != Path(http.__file__).resolve() and OWN_CLIENT.search(p.read_text())]
    assert sorted(set(offenders) - LOOPBACK_ONLY) == []
    witness = (src / "clients" / "witness.py").read_text()
    assert "EscrowClient(" in witness and "httpx" not in witness


# -- the server's certificate and key, checked before anything starts ----------------------------------------


def test_a_key_that_is_not_the_certificates_is_refused(ca: PrivateCA, tmp_path: Path) -> None:
    files = ca.issue("mine")
    with pytest.raises(ConfigurationError) as refused:
        serving.TLSFiles(files.cert, stray_key(tmp_path / "other.key")).check()
    assert str(refused.value).startswith(f"the TLS private key {tmp_path / 'other.key'} does not belong to the "
                                         f"certificate {files.cert}")
    serving.TLSFiles(files.cert, files.key).check()  # the control: its own key


def test_one_of_the_two_files_alone_is_refused() -> None:
    assert serving.tls_files(None, None) is None
    with pytest.raises(ConfigurationError, match="^--tls-cert was given without --tls-key"):
        serving.tls_files("cert.pem", None)
    with pytest.raises(ConfigurationError, match="^--tls-key was given without --tls-cert"):
        serving.tls_files(None, "key.pem")
    with pytest.raises(ConfigurationError, match="^CONSILIENCE_TLS_CERT was given without CONSILIENCE_TLS_KEY"):
        EscrowSettings.from_env({"CONSILIENCE_TLS_CERT": "cert.pem"})


def test_the_environment_names_the_escrow_servers_files(ca: PrivateCA, tmp_path: Path) -> None:
    files = ca.issue("env")
    settings = EscrowSettings.from_env({"CONSILIENCE_DATA_DIR": str(tmp_path / "escrow"),
                                        "CONSILIENCE_TLS_CERT": str(files.cert), "CONSILIENCE_TLS_KEY": str(files.key)})
    assert settings.tls == serving.TLSFiles(files.cert, files.key)
    assert EscrowSettings.from_env({"CONSILIENCE_DATA_DIR": str(tmp_path / "escrow")}).tls is None


def test_files_that_cannot_serve_are_refused_in_words(ca: PrivateCA, tmp_path: Path) -> None:
    files = ca.issue("words")
    sealed = tmp_path / "sealed.key"
    from cryptography.hazmat.primitives import serialization

    write_key(sealed, serialization.load_pem_private_key(files.key.read_bytes(), None), b"a passphrase")  # type: ignore[arg-type]
    cases = [
        (tmp_path / "missing.pem", files.key, "cannot read the TLS certificate (--tls-cert)"),
        (files.cert, tmp_path, "cannot read the TLS private key (--tls-key)"),
        (files.key, files.key, "is not a PEM certificate"),
        (files.cert, files.cert, "is not a PEM private key"),
        (files.cert, sealed, "is sealed with a passphrase"),
    ]
    for cert, key, said in cases:
        with pytest.raises(ConfigurationError) as refused:
            serving.TLSFiles(cert, key).check()
        assert said in str(refused.value), (cert, key)
        assert "Traceback" not in str(refused.value) and "_ssl.c" not in str(refused.value)


def test_a_loose_key_or_an_expired_certificate_is_warned_about(ca: PrivateCA, caplog: pytest.LogCaptureFixture) -> None:
    files = ca.issue("loose")
    os.chmod(files.key, 0o644)
    expired = ca.issue("old", days=1, not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
    with caplog.at_level(logging.WARNING, logger="consilience.services.serving"):
        serving.TLSFiles(files.cert, files.key).check()
        serving.TLSFiles(expired.cert, expired.key).check()
    said = " ".join(r.getMessage() for r in caplog.records)
    assert f"the TLS private key {files.key} is readable by group or others" in said
    assert f"the TLS certificate {expired.cert} is valid only from" in said


# -- no TLS off loopback: a warning, not a refusal ---------------------------------------------------------


def test_plain_http_off_loopback_is_warned_about() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert serving.plain_http_warning(host, None) is None, host
    for host in ("0.0.0.0", "::", "192.0.2.1", "keys.example.org"):
        warning = serving.plain_http_warning(host, None)
        assert warning and "key servers and the escrow server must be reached over TLS" in warning
        assert "--tls-cert" in warning and "--trusted-proxy" in warning
    assert serving.plain_http_warning("0.0.0.0", serving.TLSFiles(Path("c"), Path("k"))) is None


def test_serve_says_so_before_it_binds(caplog: pytest.LogCaptureFixture) -> None:
    """192.0.2.1 (TEST-NET-1) is not this machine's: the bind fails, after the warning."""
    with caplog.at_level(logging.WARNING, logger="consilience.services.serving"), \
            pytest.raises(ConfigurationError, match="did not start on http://192.0.2.1"):
        serving.serve(FastAPI(), host="192.0.2.1", port=free_port())
    assert any("listening on 192.0.2.1 without TLS" in r.getMessage() for r in caplog.records)


def test_serve_refuses_bad_files_before_it_binds(ca: PrivateCA, tmp_path: Path) -> None:
    files = ca.issue("serve")
    port = free_port()
    with pytest.raises(ConfigurationError, match="does not belong to the certificate"):
        serving.serve(FastAPI(), host="127.0.0.1", port=port,
                      tls=serving.TLSFiles(files.cert, stray_key(tmp_path / "stray.key")))


def test_the_ready_url_says_https() -> None:
    assert serving.Listening("127.0.0.1", 8101, 1, tls=True).url == "https://127.0.0.1:8101"
    assert serving.Listening("::1", 8101, 1, tls=True).url == "https://[::1]:8101"
    assert serving.Listening("127.0.0.1", 8101, 1).url == "http://127.0.0.1:8101"
