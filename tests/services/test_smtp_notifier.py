"""Notifications say only that something is waiting (PROTOCOL.md §13.7): the inbox for counselors by
default, mail through a real SMTP server the tests start on loopback (aiosmtpd), and nothing at all
for a reporter who gave no address."""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.services.escrow import waiting
from consilience.services.escrow.notifier import (
    MATCH_TEXT,
    WAITING_TEXT,
    InboxNotifier,
    MatchEvent,
    SmtpNotifier,
    WaitingNotice,
)
from consilience.services.escrow.settings import ConfigurationError, Settings, SmtpSettings
from consilience.storage.models import Account
from mail_server import Mailbox, free_port, mail_server
from tls_certs import PrivateCA

from .harness import API, Escrow, build

SENDER = "consilience@escrow.example"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with mail_server() as running:
        yield running


def mail_settings(port: int, **changes: Any) -> SmtpSettings:
    return SmtpSettings(**{"host": "127.0.0.1", "port": port, "sender": SENDER, "security": "none",
                           "timeout": 5.0, **changes})


def smtp_escrow(tmp_path: Path, smtp: SmtpSettings) -> Escrow:
    settings = Settings.for_data_dir(tmp_path / "data")
    return build(tmp_path / "data", notifier=SmtpNotifier(smtp, InboxNotifier(settings.inbox_dir)))


@pytest.fixture
def mailed(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> Iterator[tuple[Escrow, Mailbox]]:
    box, port = mailbox
    harness = smtp_escrow(tmp_path, mail_settings(port))
    with harness.client:
        yield harness, box
    harness.db.dispose()


def flush(escrow: Escrow) -> None:
    assert escrow.state.notifier.flush(10.0)


def counselor_account(escrow: Escrow, index: int) -> bytes:
    escrow.counselor_credential(escrow.counselors[index])
    with escrow.db.read() as session:
        return next(a.account_id for a in session.query(Account).filter_by(
            counselor_key_id=escrow.counselors[index].key_id))


def stored_address(escrow: Escrow, account_id: bytes) -> str | None:
    with escrow.db.read() as session:
        account = session.get(Account, account_id)
        assert account is not None
        return account.notify_email


def set_address(escrow: Escrow, headers: dict[str, str], email: str | None) -> Any:
    return escrow.client.put(f"{API}/account/notify", json={"email": email}, headers=headers)


def inbox_files(escrow: Escrow) -> dict[str, list[dict[str, Any]]]:
    inbox = Path(escrow.settings.inbox_dir)
    return {folder.name: [json.loads(f.read_text()) for f in sorted(folder.iterdir())]
            for folder in sorted(inbox.iterdir())} if inbox.exists() else {}


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


# -- the inbox (the default) ----------------------------------------------------------------


def test_a_counselor_finds_a_generic_notice_in_the_inbox(escrow: Escrow) -> None:
    counselor = counselor_account(escrow, 0)
    reporter = escrow.reporter()
    assert set_address(escrow, reporter.headers, "survivor@mail.example").json() == {
        "email": "survivor@mail.example", "sends_mail": False}
    waiting.something_waiting(escrow.state, [counselor, reporter.account_id], NOW)
    # the reporter has no inbox: without mail it is told nothing at all
    assert inbox_files(escrow) == {"Ana-Counselor": [{"waiting": WAITING_TEXT, "time": "2026-12-01T12:00:00Z"}]}
    assert WAITING_TEXT == "There is something waiting for you in Consilience. Open the app to see it."
    # told again soon after: nothing more; after the quiet time: once more
    waiting.something_waiting(escrow.state, [counselor], NOW + timedelta(minutes=5))
    assert len(inbox_files(escrow)["Ana-Counselor"]) == 1
    waiting.something_waiting(escrow.state, [counselor], NOW + timedelta(seconds=waiting.QUIET_SECONDS))
    assert len(inbox_files(escrow)["Ana-Counselor"]) == 2


# -- mail ----------------------------------------------------------------------------------


def test_a_reporter_who_gave_an_address_gets_one_generic_mail(mailed: tuple[Escrow, Mailbox]) -> None:
    escrow, box = mailed
    reporter, silent = escrow.reporter(), escrow.reporter()
    assert set_address(escrow, reporter.headers, "survivor@mail.example").json() == {
        "email": "survivor@mail.example", "sends_mail": True}
    assert escrow.client.get(f"{API}/account/notify", headers=silent.headers).json() == {
        "email": None, "sends_mail": True}
    waiting.something_waiting(escrow.state, [reporter.account_id, silent.account_id], NOW)
    flush(escrow)
    assert [rcpts for rcpts, _ in box.mails] == [["survivor@mail.example"]]
    mail = box.to("survivor@mail.example")[0]
    assert mail["From"] == SENDER and mail["To"] == "survivor@mail.example"
    assert mail["Subject"] == "Something is waiting for you"
    assert mail["Date"] and mail["Message-ID"].endswith("@escrow.example>")
    assert mail.get_payload().strip() == WAITING_TEXT
    assert "match" not in mail.as_string().lower()
    assert inbox_files(escrow) == {}


def test_a_counselor_with_an_address_is_mailed_one_without_gets_the_inbox(mailed: tuple[Escrow, Mailbox]) -> None:
    escrow, box = mailed
    ana, bo = counselor_account(escrow, 0), counselor_account(escrow, 1)
    with escrow.db.write() as session:
        account = session.get(Account, ana)
        assert account is not None
        account.notify_email = "ana@counseling.example"
    waiting.something_waiting(escrow.state, [ana, bo], NOW)
    flush(escrow)
    assert [rcpts for rcpts, _ in box.mails] == [["ana@counseling.example"]]
    assert box.mails[0][1].get_payload().strip() == WAITING_TEXT
    assert list(inbox_files(escrow)) == ["bo"]
    # a match notification: by mail it says only that a match is waiting; no id, no count
    match_id = bytes(range(16))
    escrow.state.notify([type("Change", (), {"match_id": match_id, "released": 3, "created": True})()], NOW)
    flush(escrow)
    mail = box.mails[-1][1]
    assert box.mails[-1][0] == ["ana@counseling.example"]
    assert mail["Subject"] == "A match is waiting for you" and mail.get_payload().strip() == MATCH_TEXT
    text = mail.as_string()
    assert match_id.hex() not in text and "AAECAwQFBgcICQoLDA0ODw" not in text and "3" not in mail.get_payload()
    assert len(inbox_files(escrow)["bo"]) == 2


def test_a_failing_mail_server_loses_only_the_notice(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    escrow = smtp_escrow(tmp_path, mail_settings(free_port(), timeout=2.0))  # nothing listens there
    with escrow.client:
        reporter = escrow.reporter()
        assert set_address(escrow, reporter.headers, "survivor@mail.example").status_code == 200
        with caplog.at_level(logging.DEBUG):
            waiting.something_waiting(escrow.state, [reporter.account_id], NOW)
            flush(escrow)
        assert "could not send 1 notification mail(s) through 127.0.0.1" in caplog.text
        assert "survivor" not in caplog.text and "mail.example" not in caplog.text
    escrow.db.dispose()


@pytest.mark.parametrize("email", [
    "two@at@example.org", "no-at.example.org", "with space@example.org", "line@example.org\r\nBcc: x@evil.example",
    "a,b@example.org", "Name <a@example.org>", "", "a@", "@example.org", "a@.example.org", "x" * 310 + "@example.org",
])
def test_a_bad_address_is_refused_and_nothing_stored(escrow: Escrow, email: str) -> None:
    reporter = escrow.reporter()
    assert set_address(escrow, reporter.headers, "kept@example.org").status_code == 200
    answer = set_address(escrow, reporter.headers, email)
    assert answer.status_code in (400, 422), answer.text
    assert stored_address(escrow, reporter.account_id) == "kept@example.org"


def test_null_removes_the_address_and_counselors_set_their_own(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    assert set_address(escrow, reporter.headers, "a@example.org").status_code == 200
    assert set_address(escrow, reporter.headers, None).json() == {"email": None, "sends_mail": False}
    assert stored_address(escrow, reporter.account_id) is None
    assert escrow.client.put(f"{API}/account/notify", json={}, headers=reporter.headers).status_code == 422
    headers = escrow.counselor_headers(escrow.counselors[1])
    assert set_address(escrow, headers, "bo@counseling.example").status_code == 200
    with escrow.db.read() as session:
        rows = session.query(Account).filter(Account.notify_email.is_not(None)).all()
        assert [(a.role, a.notify_email) for a in rows] == [("counselor", "bo@counseling.example")]


def test_setting_an_address_needs_a_signed_in_account(escrow: Escrow) -> None:
    reporter = escrow.reporter()
    assert set_address(escrow, {}, "a@example.org").status_code == 401
    assert set_address(escrow, {"Authorization": "Bearer " + "A" * 43}, "a@example.org").status_code == 401
    assert stored_address(escrow, reporter.account_id) is None


# -- connection security ---------------------------------------------------------------------


def test_starttls_is_required_when_configured(tmp_path: Path) -> None:
    """A server that offers no STARTTLS gets nothing; one that does, with a trusted certificate, gets the mail."""
    ca = PrivateCA.make(tmp_path / "ca")
    files = ca.issue("smtp")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert, files.key)
    plain, tls = Mailbox(), Mailbox()
    no_tls = Controller(plain, hostname="127.0.0.1", port=free_port())
    with_tls = Controller(tls, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True)
    no_tls.start()
    with_tls.start()
    try:
        inbox = InboxNotifier(tmp_path / "inbox")
        event = MatchEvent(bytes(16), 2, True, NOW, ("ana",), (("ana", "ana@counseling.example"),))
        refused = SmtpNotifier(mail_settings(no_tls.port, security="starttls", ca_file=ca.cert_path), inbox)
        refused.notify(event)
        assert refused.flush(10.0) and plain.mails == []
        untrusted = SmtpNotifier(mail_settings(with_tls.port, security="starttls"), inbox)
        untrusted.notify(event)
        assert untrusted.flush(10.0) and tls.mails == []
        trusted = SmtpNotifier(mail_settings(with_tls.port, security="starttls", ca_file=ca.cert_path), inbox)
        trusted.notify(event)
        assert trusted.flush(10.0)
        assert [rcpts for rcpts, _ in tls.mails] == [["ana@counseling.example"]]
    finally:
        no_tls.stop()
        with_tls.stop()


def test_misconfigured_mail_is_refused_at_start_up_saying_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CONSILIENCE_SMTP_SECURITY=none"):
        SmtpSettings(host="smtp.example.org", sender=SENDER, security="none")
    with pytest.raises(ConfigurationError, match="CONSILIENCE_SMTP_FROM"):
        SmtpSettings(host="smtp.example.org", sender="not an address")
    with pytest.raises(ConfigurationError, match="CONSILIENCE_SMTP_PASSWORD_FILE"):
        SmtpSettings(host="smtp.example.org", sender=SENDER, user="consilience")
    with pytest.raises(ConfigurationError, match="starttls, ssl or none"):
        SmtpSettings(host="smtp.example.org", sender=SENDER, security="tls")
    with pytest.raises(ConfigurationError, match="is empty"):
        (tmp_path / "password").write_text("")
        SmtpNotifier(SmtpSettings(host="smtp.example.org", sender=SENDER, user="u",
                                  password_file=tmp_path / "password"), InboxNotifier(tmp_path))
    environ = {"CONSILIENCE_DATA_DIR": str(tmp_path / "data"), "CONSILIENCE_NOTIFIER": "smtp"}
    with pytest.raises(ConfigurationError, match="set CONSILIENCE_SMTP_HOST and CONSILIENCE_SMTP_FROM"):
        _load(Settings.from_env(environ))
    with pytest.raises(ConfigurationError, match="CONSILIENCE_SMTP_FROM"):
        Settings.from_env({**environ, "CONSILIENCE_SMTP_HOST": "smtp.example.org"})
    settings = Settings.from_env({**environ, "CONSILIENCE_SMTP_HOST": "smtp.example.org",
                                  "CONSILIENCE_SMTP_FROM": SENDER})
    assert settings.smtp is not None and settings.smtp.port_number == 587 and settings.smtp.security == "starttls"
    assert isinstance(_load(settings), SmtpNotifier)


def _load(settings: Settings) -> object:
    from consilience.services.escrow.notifier import load_notifier

    return load_notifier(settings)


def test_the_client_gives_and_removes_the_address(escrow: Escrow) -> None:
    from consilience.clients.escrow_client import ApiError, EscrowClient

    reporter = escrow.reporter()
    client = EscrowClient("http://testserver", reporter.token, transport=escrow.client._transport)
    with client:
        assert client.notify_address().email is None
        assert client.set_notify_address("survivor@mail.example").email == "survivor@mail.example"
        assert stored_address(escrow, reporter.account_id) == "survivor@mail.example"
        with pytest.raises(ApiError) as refused:
            client.set_notify_address("survivor@mail.example\nBcc: eve@evil.example")
        assert refused.value.status == 422
        assert client.notify_address().email == "survivor@mail.example"
        assert client.set_notify_address(None).email is None
    assert stored_address(escrow, reporter.account_id) is None


# -- end to end: a message stored, the other side told ---------------------------------------


def test_a_counselors_message_mails_the_reporter_only_that_something_is_waiting(
        mailed: tuple[Escrow, Mailbox]) -> None:
    from .messaging import counselor_message, open_conversation, reporter_message, world

    escrow, box = mailed
    w = world(escrow, released=2)
    told, silent = w.released
    assert set_address(escrow, told.headers, "survivor@mail.example").status_code == 200
    text = "Hello, this is Ana from the counseling team about what you wrote"
    for person in (told, silent):
        cid = open_conversation(w, person)
        sent = w.client.post(f"{API}/conversations/{cid}/messages", headers=w.counselor,
                             json=counselor_message(w, cid, person, text))
        assert sent.status_code == 201, sent.text
    flush(escrow)
    assert [rcpts for rcpts, _ in box.mails] == [["survivor@mail.example"]]  # the reporter without one: nothing
    mail = box.mails[0][1]
    assert mail["Subject"] == "Something is waiting for you" and mail.get_payload().strip() == WAITING_TEXT
    raw = mail.as_string()
    entry_id = told.entry_id
    secrets_of_the_case = [text, "Ana", "Counselor", "counsel", w.match_id, entry_id, w.tag.hex(),
                           b64u_encode(w.tag), b64u_decode(w.match_id).hex(), b64u_decode(entry_id).hex(),
                           w.conversations[told.entry_id]]
    for secret in secrets_of_the_case:
        assert secret.lower() not in raw.lower(), secret
    assert "match" not in raw.lower()
    # a second message soon after tells nobody again
    cid = w.conversations[told.entry_id]
    assert w.client.post(f"{API}/conversations/{cid}/messages", headers=w.counselor,
                         json=counselor_message(w, cid, told, "and one more thing")).status_code == 201
    flush(escrow)
    assert len(box.mails) == 1
    # the reporter answers: the counselor who gave an address is mailed the same generic words
    assert set_address(escrow, w.counselor, "ana@counseling.example").status_code == 200
    answer = w.client.post(f"{API}/conversations/{cid}/messages", headers=told.headers,
                           json=reporter_message(w, cid, told, "Thank you, I am here"))
    assert answer.status_code == 201, answer.text
    flush(escrow)
    assert [rcpts for rcpts, _ in box.mails[1:]] == [["ana@counseling.example"]]
    assert box.mails[1][1].get_payload().strip() == WAITING_TEXT
    assert "Thank you" not in box.mails[1][1].as_string()


def test_a_mail_server_that_is_down_fails_no_message(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from .messaging import counselor_message, open_conversation, world

    escrow = smtp_escrow(tmp_path, mail_settings(free_port(), timeout=2.0))  # nothing listens there
    with escrow.client:
        w = world(escrow, released=2)
        person = w.released[0]
        assert set_address(escrow, person.headers, "survivor@mail.example").status_code == 200
        cid = open_conversation(w, person)
        with caplog.at_level(logging.DEBUG):
            sent = w.client.post(f"{API}/conversations/{cid}/messages", headers=w.counselor,
                                 json=counselor_message(w, cid, person, "hello"))
            flush(escrow)
        assert sent.status_code == 201, sent.text
        assert w.client.get(f"{API}/conversations/{cid}/messages", headers=person.headers).json()["messages"]
        assert "could not send 1 notification mail(s)" in caplog.text
        assert "survivor" not in caplog.text and "mail.example" not in caplog.text
    escrow.db.dispose()


def test_ssl_and_a_login_with_the_password_from_its_file(tmp_path: Path) -> None:
    """Implicit TLS (ssl) delivers; a login with the right password is accepted, a wrong one sends nothing."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ca = PrivateCA.make(tmp_path / "ca")
    files = ca.issue("smtp")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert, files.key)

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"consilience", b"s3cret pass")
        return AuthResult(success=ok)

    implicit, logged_in = Mailbox(), Mailbox()
    smtps = Controller(implicit, hostname="127.0.0.1", port=free_port(), ssl_context=context)
    with_login = Controller(logged_in, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True, auth_required=True, authenticator=authenticator)
    smtps.start()
    with_login.start()
    try:
        inbox = InboxNotifier(tmp_path / "inbox")
        notice = WaitingNotice(NOW, (), (), ("survivor@mail.example",))
        over_ssl = SmtpNotifier(mail_settings(smtps.port, security="ssl", ca_file=ca.cert_path), inbox)
        over_ssl.waiting(notice)
        assert over_ssl.flush(10.0)
        assert [rcpts for rcpts, _ in implicit.mails] == [["survivor@mail.example"]]
        (tmp_path / "wrong").write_text("not it\n")
        (tmp_path / "right").write_text("s3cret pass\n")
        (tmp_path / "right").chmod(0o600)
        for password, expected in (("wrong", 0), ("right", 1)):
            notifier = SmtpNotifier(mail_settings(with_login.port, security="starttls", ca_file=ca.cert_path,
                                                  user="consilience", password_file=tmp_path / password), inbox)
            notifier.waiting(notice)
            assert notifier.flush(10.0)
            assert len(logged_in.mails) == expected, password
    finally:
        smtps.stop()
        with_login.stop()
