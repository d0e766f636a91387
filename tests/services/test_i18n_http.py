"""Both servers answer in the language the client asks for (``Accept-Language``), and only where a body is words.

An error's ``detail`` is translated (Spanish, Arabic), its machine code is the English one, and the
answer says ``Content-Language`` with ``Vary: Accept-Language``; no header, or a language that is not
shipped, is English exactly as before. Refusals made in sync endpoints (run in the thread pool), in
async ones and in their dependencies are all translated, which is what the middleware's
``ContextVar`` has to reach. Tiles, checkpoints and the deployment document are the same bytes in
every language and keep their caching headers: no ``Vary``, no ``Content-Language``. Notifications
have no request behind them: they are written in the deployment's language (CONSILIENCE_LANGUAGE).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy import select

from consilience import i18n
from consilience.services import http_errors
from consilience.services.config import DEFAULT_LANGUAGE, deployment_language
from consilience.services.escrow import waiting
from consilience.services.escrow.log_endpoints import IMMUTABLE, SHORT_LIVED
from consilience.services.escrow.notifier import WAITING_TEXT, SmtpNotifier
from consilience.services.escrow.settings import Settings as EscrowSettings
from consilience.services.escrow.settings import SmtpSettings
from consilience.services.http_language import AcceptLanguage, requested
from consilience.services.keyserver.app import create_app as create_keyserver
from consilience.services.keyserver.settings import Settings as KeyServerSettings
from consilience.storage import log
from consilience.storage.models import Account
from keyserver_world import account, make_deployment, request_body
from mail_server import mail_server

from .harness import API, Escrow, build

SPANISH = "es-MX,es;q=0.9,en;q=0.5"
ARABIC = "ar-EG,ar;q=0.9"


@pytest.fixture
def escrow(tmp_path: Path) -> Iterator[Escrow]:
    """One escrow server on SQLite: what is checked here is the HTTP layer, not the database."""
    harness = build(tmp_path / "data")
    with harness.client:
        yield harness
    harness.db.dispose()


def audience_of(folder: Any, index: int) -> bytes:
    return bytes(folder.deployment.key_server(index).identity_key)


def translated(english: str, lang: str) -> str:
    with i18n.using(lang):
        return i18n._(english)


#: The tag each header's answer names: the one its words and numbers were written for.
TAGS = {SPANISH: "es-MX", ARABIC: "ar-EG"}


def says(response: Any, tag: str) -> None:
    """The answer names the tag it was written for (``es-MX``: the Spanish catalog, Mexico's numbers)."""
    assert response.headers["content-language"] == TAGS.get(tag, tag)
    assert "accept-language" in response.headers["vary"].lower()


# -- error answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "lang"), [(SPANISH, "es"), (ARABIC, "ar")])
def test_a_refused_submission_is_explained_in_the_clients_language(escrow: Escrow, header: str, lang: str) -> None:
    """An async endpoint whose refusal is raised in its worker thread: translated detail, English code."""
    reporter = escrow.reporter()
    tag = os.urandom(32)
    submission = escrow.submission(tags=[tag, tag])
    english = escrow.submit(reporter, submission)
    answer = escrow.client.post(f"{API}/entries", json=submission,
                                headers={**reporter.headers, "Accept-Language": header})
    assert english.status_code == answer.status_code == 422
    assert english.json() == {"error": "invalid", "detail": "tags: must be distinct"}
    assert answer.json()["error"] == "invalid"
    assert answer.json()["detail"] == translated("tags: must be distinct", lang) != "tags: must be distinct"
    says(answer, header)
    says(english, "en")


@pytest.mark.parametrize(("header", "lang"), [(SPANISH, "es"), (ARABIC, "ar")])
def test_malformed_submissions_keep_their_codes_and_field_names(escrow: Escrow, header: str, lang: str) -> None:
    reporter = escrow.reporter()
    headers = {**reporter.headers, "Accept-Language": header}
    broken = escrow.client.post(f"{API}/entries", content=b'{"entry_id": ',
                                headers={**headers, "Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"] == "malformed"
    assert broken.json()["detail"] == translated("request body is not valid JSON", lang)
    says(broken, header)
    # pydantic's own 422: the field names stay, the sentence after them comes from the catalog
    invalid = escrow.client.post(f"{API}/entries", json={**escrow.submission(), "extra": 1}, headers=headers)
    english = escrow.submit(reporter, {**escrow.submission(), "extra": 1})
    assert invalid.status_code == english.status_code == 422
    assert invalid.json()["error"] == english.json()["error"] == "invalid"
    assert english.json()["detail"] == "extra: Extra inputs are not permitted"
    assert invalid.json()["detail"] == "extra: " + translated("Extra inputs are not permitted", lang)
    says(invalid, header)


def test_no_header_or_an_unshipped_language_is_english(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    tag = os.urandom(32)
    submission = escrow.submission(tags=[tag, tag])
    for header in (None, "fr-FR,de;q=0.8", "*", "not a language", "es;q=0"):
        headers = {**reporter.headers, **({"Accept-Language": header} if header is not None else {})}
        answer = escrow.client.post(f"{API}/entries", json=submission, headers=headers)
        assert answer.json() == {"error": "invalid", "detail": "tags: must be distinct"}, header
        says(answer, "en")


def test_sync_endpoints_and_async_dependencies_are_translated(escrow: Escrow) -> None:
    """A sync endpoint runs in the thread pool, in a copy of the request's context: the language goes with it."""
    both = escrow.client.get(f"{API}/log/checkpoint", params={"size": 1, "cosigned": 1},
                             headers={"Accept-Language": "ar"})
    assert both.status_code == 400 and both.json()["error"] == "malformed"
    assert both.json()["detail"] == translated("ask for a size or for the newest cosigned checkpoint, not both", "ar")
    says(both, "ar")
    # the bearer check is an async dependency of every signed-in route
    unsigned = escrow.client.get(f"{API}/entries", headers={"Accept-Language": "es"})
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "unauthorized"
    assert unsigned.json()["detail"] == translated("missing bearer token", "es") != "missing bearer token"
    # the refusal of a request too large is the body limit's, outside the routes
    too_big = escrow.client.post(f"{API}/register", content=b"{" + b" " * escrow.settings.max_request_bytes + b"}",
                                 headers={"Content-Type": "application/json", "Accept-Language": "es"})
    assert too_big.status_code == 413 and too_big.json()["error"] == "too_large"
    assert too_big.json()["detail"] == translated("request body exceeds {limit} bytes", "es").format(
        limit=escrow.settings.max_request_bytes)
    says(too_big, "es")
    gone = escrow.client.get("/v1/anything", headers={"Accept-Language": "es"})
    assert gone.status_code == 410 and gone.json()["error"] == "protocol_v1"
    says(gone, "es")


def test_the_context_var_reaches_sync_and_async_endpoints_and_is_reset_after() -> None:
    """The middleware on its own: a sync endpoint (thread pool) and an async one both see the request's language."""
    app = FastAPI()
    seen: list[str] = []

    @app.get("/sync")
    def sync_endpoint() -> dict[str, str]:
        seen.append(i18n.language())
        return {"language": i18n.language()}

    @app.get("/async")
    async def async_endpoint() -> dict[str, str]:
        await asyncio.sleep(0)
        return {"language": i18n.language()}

    app.add_middleware(AcceptLanguage)
    with TestClient(app) as client:
        for path in ("/sync", "/async"):
            assert client.get(path, headers={"Accept-Language": "ar-SA"}).json() == {"language": "ar"}
            assert client.get(path, headers={"Accept-Language": "fr, es;q=0.4"}).json() == {"language": "es"}
            assert client.get(path).json() == {"language": "en"}
    assert seen == ["ar", "es", "en"]
    assert i18n.language() == "en"


def test_an_unexpected_error_is_answered_in_the_clients_language() -> None:
    """Starlette answers a 500 outside every middleware: the handler reads the header itself."""
    app = FastAPI()
    http_errors.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_middleware(AcceptLanguage)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/boom", headers={"Accept-Language": "es"})
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal", "detail": translated("internal error", "es")}
    says(answer, "es")


class Bounded(BaseModel):
    count: int = Field(le=1_000_000)


def test_numbers_in_a_detail_are_written_as_the_askers_region_writes_them() -> None:
    """The words are the Arabic catalog's for every Arabic; the digits are Egypt's or Morocco's (as Intl's)."""
    app = FastAPI()
    http_errors.install(app)

    @app.post("/count")
    def count(body: Bounded) -> dict[str, int]:
        return {"count": body.count}

    app.add_middleware(AcceptLanguage)
    with TestClient(app) as client:
        answers = {tag: client.post("/count", json={"count": 2_000_000}, headers={"Accept-Language": tag})
                   for tag in ("ar-EG", "ar-MA", "es-MX", "es")}
    bound = {"ar-EG": "١٬٠٠٠٬٠٠٠", "ar-MA": "1.000.000", "es-MX": "1,000,000", "es": "1.000.000"}
    for tag, answer in answers.items():
        assert answer.status_code == 422 and answer.json()["error"] == "invalid", answer.json()
        assert answer.json()["detail"] == "count: " + translated("Input should be less than or equal to {bound}",
                                                                 tag[:2]).format(bound=bound[tag]), tag
        says(answer, tag)


def test_requested_reads_the_raw_headers() -> None:
    """The tag keeps the region CLDR knows (the formats follow it); the catalog is the language's."""
    assert requested([(b"accept-language", b"ar;q=0.2, es;q=0.8")]) == "es"
    assert requested([(b"accept-language", b"es-MX,es;q=0.9")]) == "es-MX"
    assert requested([(b"accept-language", b"ar-eg")]) == "ar-EG"
    assert requested([(b"accept-language", b"ar-XX, en")]) == "ar"
    assert requested([(b"accept-language", b"fr-FR, ar-SA-u-nu-latn")]) == "ar-SA"
    assert requested([(b"accept-language", b"de"), (b"accept-language", b"ar")]) == "ar"
    assert requested([(b"host", b"example.org")]) == "en"
    assert requested([]) == "en"


# -- answers that are not words --------------------------------------------------------------------


def test_tiles_checkpoints_and_the_deployment_do_not_vary(escrow: Escrow) -> None:
    now = datetime.now(UTC)
    with escrow.db.write() as session:
        log.append_batch(session, 300, now)
        log.sign(session, escrow.deployment.log_origin, escrow.state.log_private, now)
    for path, cache in ((f"{API}/log/tiles/tile/0/000", IMMUTABLE), (f"{API}/log/tiles/tile/0/001.p/44", SHORT_LIVED),
                        (f"{API}/log/tiles/checkpoint", "no-cache"), (f"{API}/log/checkpoint", "no-cache"),
                        (f"{API}/deployment", "no-cache")):
        english = escrow.client.get(path)
        spanish = escrow.client.get(path, headers={"Accept-Language": SPANISH})
        assert english.status_code == spanish.status_code == 200, path
        assert spanish.content == english.content, path
        assert spanish.headers["cache-control"] == english.headers["cache-control"] == cache, path
        for answer in (english, spanish):
            assert "vary" not in answer.headers and "content-language" not in answer.headers, path


# -- the key server --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Any]]:
    """Key server 2 of a fresh deployment, whose key generation has not run (so it answers 503)."""
    folder = make_deployment(tmp_path_factory.mktemp("ks-i18n") / "data")
    settings = KeyServerSettings(folder=folder.data.keyserver(2), index=2, run_keygen=False)
    with TestClient(create_keyserver(settings)) as client:
        yield client, folder


@pytest.mark.parametrize(("header", "lang"), [(SPANISH, "es"), (ARABIC, "ar")])
def test_the_key_server_answers_in_the_clients_language(keyserver: tuple[TestClient, Any], header: str,
                                                        lang: str) -> None:
    client, folder = keyserver
    body = request_body(folder, account(folder), audience_of(folder, 2))
    waiting = client.post("/v2/evaluate", json=body, headers={"Accept-Language": header})
    english = client.post("/v2/evaluate", json=request_body(folder, account(folder), audience_of(folder, 2)))
    assert waiting.status_code == english.status_code == 503
    assert waiting.json()["error"] == english.json()["error"] == "unavailable"
    assert "has not finished generating the quorum keys" in english.json()["detail"]
    assert "(no key generation runs in this key server)" in english.json()["detail"]
    # the key server's status is set by its own thread and translated when a request reads it
    status = translated("no key generation runs in this key server", lang)
    assert waiting.json()["detail"] == translated(
        "this key server has not finished generating the quorum keys with the other key servers yet ({status}); "
        "try again in a little while", lang).format(status=status)
    says(waiting, header)
    info = client.get("/v2/info", headers={"Accept-Language": header})
    assert info.json()["keygen"]["status"] == status
    says(info, header)
    assert client.get("/v2/info").json()["keygen"]["status"] == "no key generation runs in this key server"
    extra = client.post("/v2/evaluate", json={**body, "extra": 1}, headers={"Accept-Language": header})
    assert extra.status_code == 422 and extra.json()["error"] == "invalid"
    assert extra.json()["detail"] == "extra: " + translated("Extra inputs are not permitted", lang)
    says(extra, header)
    assert client.get("/healthz", headers={"Accept-Language": header}).headers.get("vary") is None


# -- notifications: the deployment's language, not a request's ---------------------------------------


def test_the_deployment_language_comes_from_consilience_language(caplog: pytest.LogCaptureFixture) -> None:
    assert deployment_language({}) == DEFAULT_LANGUAGE == "en"
    # the region is kept for the formats (a notice's numbers in ar-EG are Egypt's digits)
    assert deployment_language({"CONSILIENCE_LANGUAGE": "es-MX"}) == "es-MX"
    assert deployment_language({"CONSILIENCE_LANGUAGE": "ar_EG.UTF-8"}) == "ar-EG"
    assert deployment_language({"CONSILIENCE_LANGUAGE": "ar"}) == "ar"
    assert deployment_language({"CONSILIENCE_LANGUAGE": "en-GB"}) == "en-GB" and not caplog.records
    with caplog.at_level("WARNING", logger="consilience.services.config"):
        assert deployment_language({"CONSILIENCE_LANGUAGE": "fr"}) == "en"
    assert "not a language Consilience ships" in caplog.text


def _header(message: Message, name: str) -> str:
    return str(make_header(decode_header(message[name])))


def test_a_notice_is_mailed_in_spanish(tmp_path: Path) -> None:
    """Through a real SMTP server: subject and text from the catalog, Content-Language, UTF-8."""
    with mail_server() as (box, port):
        smtp = SmtpSettings(host="127.0.0.1", port=port, sender="consilience@escrow.example", security="none")
        settings = EscrowSettings.from_env({"CONSILIENCE_DATA_DIR": str(tmp_path / "data"),
                                            "CONSILIENCE_LANGUAGE": "es"}, smtp=smtp)
        assert settings.language == "es"
        notifier = SmtpNotifier.from_settings(settings)
        harness = build(tmp_path / "data", notifier=notifier)
        with harness.client:
            reporter = harness.reporter()
            stored = harness.client.put(f"{API}/account/notify", json={"email": "survivor@mail.example"},
                                        headers={**reporter.headers, "Accept-Language": "ar"})
            assert stored.status_code == 200
            harness.counselor_credential(harness.counselors[0])  # a counselor without an address: the inbox
            with harness.db.read() as session:
                counselor = session.scalars(select(Account).where(Account.role == "counselor")).one().account_id
            # a request in Arabic causes it: the notice is still in the deployment's language
            with i18n.using("ar"):
                waiting.something_waiting(harness.state, [reporter.account_id, counselor],
                                          datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
            assert notifier.flush(10.0)
        harness.db.dispose()
    [(recipients, mail)] = box.mails
    assert recipients == ["survivor@mail.example"]
    assert _header(mail, "Subject") == "Hay algo esperándote" == translated("Something is waiting for you", "es")
    assert mail["Content-Language"] == "es"
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload.decode("utf-8").strip() == "Hay algo esperándote en Consilience. Abre la app para verlo."
    [folder] = Path(settings.inbox_dir).iterdir()
    [notice] = [json.loads(f.read_text(encoding="utf-8")) for f in folder.iterdir()]
    assert notice["waiting"] == translated(WAITING_TEXT, "es") != WAITING_TEXT


def test_starlettes_own_refusals_are_translated_too(escrow: Escrow) -> None:
    """An unknown path or a wrong method: Starlette's English phrase, from the catalog in other languages."""
    english = escrow.client.get(f"{API}/no-such-thing")
    assert english.status_code == 404 and english.json() == {"error": "not_found", "detail": "Not Found"}
    spanish = escrow.client.get(f"{API}/no-such-thing", headers={"Accept-Language": "es"})
    assert spanish.json() == {"error": "not_found", "detail": translated("Not Found", "es")}
    says(spanish, "es")
    wrong = escrow.client.delete(f"{API}/deployment", headers={"Accept-Language": "ar"})
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"
    assert wrong.json()["detail"] == translated("Method Not Allowed", "ar") != "Method Not Allowed"
