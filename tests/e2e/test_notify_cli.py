"""Notifications as people meet them (PROTOCOL.md §13.7): ``serve --notify smtp`` refused at start without a
mail server, or with plain SMTP to another machine, saying what to set; then a real server process that mails
through a local SMTP server started by the test. The operator gives a counselor an address; a reporter gives
one and is told first what that means; a match mails the counselor only that a match is waiting, and the
reporters nothing at all (they are never told of a match)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_process import cli, ok, person
from consilience.clients.notify import BEFORE_GIVING
from consilience.local import launcher
from mail_server import Mailbox, mail_server

pytestmark = pytest.mark.e2e

NAMED = "sam.doe@example.com"
SENDER = "consilience@escrow.example"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with mail_server() as running:
        yield running


def run(env: dict[str, str], *args: str) -> dict[str, Any]:
    return json.loads(ok(env, *args, "--json"))


def test_mail_notices_from_a_running_server(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> None:
    box, smtp_port = mailbox
    data = tmp_path / "deploy"
    escrow_port, *ks_ports = launcher.free_ports(4)
    operator = person(tmp_path / "operator", "operator passphrase")
    for key in [k for k in operator if k.startswith("CONSILIENCE_SMTP_") or k == "CONSILIENCE_NOTIFIER"]:
        del operator[key]
    run(operator, "admin", "init", "--data-dir", str(data), "--quorum", "2", "--keyservers", "3", "--threshold", "2",
        "--port", str(escrow_port), "--keyserver-ports", ",".join(map(str, ks_ports)))

    # misconfigured: refused at start, saying what to set
    serve = ["serve", "--data-dir", str(data), "--port", str(escrow_port), "--notify", "smtp"]
    refused = cli(operator, *serve)
    assert refused.returncode != 0
    assert "set CONSILIENCE_SMTP_HOST and CONSILIENCE_SMTP_FROM" in " ".join(refused.stderr.split())
    plain_far = cli({**operator, "CONSILIENCE_SMTP_HOST": "smtp.example.org", "CONSILIENCE_SMTP_FROM": SENDER,
                     "CONSILIENCE_SMTP_SECURITY": "none"}, *serve)
    assert plain_far.returncode != 0
    assert "only allowed to a mail server on this machine" in " ".join(plain_far.stderr.split())

    mail_env = {"CONSILIENCE_SMTP_HOST": "127.0.0.1", "CONSILIENCE_SMTP_PORT": str(smtp_port),
                "CONSILIENCE_SMTP_FROM": SENDER, "CONSILIENCE_SMTP_SECURITY": "none",
                "CONSILIENCE_RELEASE_INTERVAL": "0.5"}
    pace = launcher.local_keygen()  # rounds of a second: every key server is a process here, started together
    services = [launcher.keyserver_service(data, i + 1, p, keygen=pace) for i, p in enumerate(ks_ports)]
    services.append(launcher.escrow_service(data, escrow_port, extra_args=["--notify", "smtp"]))
    try:
        launcher.start_all(services, env=mail_env)
        run(operator, "admin", "publish-keys", "--data-dir", str(data))
        server = services[-1].url
        counselor = person(tmp_path / "counselor", "counselor passphrase")
        keygen = run(counselor, "counselor", "keygen", "--name", "Robin Counselor")
        added = run(operator, "admin", "counselor", "add", keygen["public_key_file"], "--data-dir", str(data))
        run(counselor, "counselor", "login", "--server", server, "--credential", added["credential"])
        assert run(operator, "admin", "counselor", "notify", "Robin Counselor", "--email", "robin@counseling.example",
                   "--data-dir", str(data)) == {"name": "Robin Counselor", "email": "robin@counseling.example"}

        invites = run(operator, "admin", "invite", "--data-dir", str(data), "--count", "2")["invites"]
        reporters = [person(tmp_path / f"reporter{i}", f"reporter {i} passphrase") for i in (1, 2)]
        for env, invite in zip(reporters, invites, strict=True):
            run(env, "reporter", "register", "--server", server, "--invite", invite)

        # the reporter is told what giving an address means before it is sent
        given = cli(reporters[0], "reporter", "notify", "--email", " survivor@mail.example ")
        assert given.returncode == 0, given.stderr
        assert " ".join(BEFORE_GIVING.split()) in " ".join(given.stderr.split())
        assert "Notices that something is waiting go to survivor@mail.example." in given.stdout
        assert run(reporters[0], "reporter", "notify") == {"email": "survivor@mail.example", "sends_mail": True}
        bad = cli(reporters[1], "reporter", "notify", "--email", "two@at@example.org")
        assert bad.returncode != 0 and "exactly one @" in bad.stderr
        assert run(reporters[1], "reporter", "notify") == {"email": None, "sends_mail": True}

        for env in reporters:
            record = run(env, "reporter", "write", "--text", "What I remember.")["record_id"]
            run(env, "reporter", "escrow", record, "--name", NAMED)
        deadline = time.monotonic() + 60
        while not box.mails and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # anything else the pass would send
        assert [rcpts for rcpts, _ in box.mails] == [["robin@counseling.example"]]  # reporters: nothing
        mail = box.mails[0][1]
        assert mail["Subject"] == "A match is waiting for you" and mail["From"] == SENDER
        assert mail.get_payload().strip() == "A match is waiting for you in Consilience. Open the app to see it."
        match_id = run(counselor, "counselor", "matches")["matches"][0]["match_id"]
        assert match_id not in mail.as_string() and NAMED not in mail.as_string()
        log = (data / "logs" / "escrow.log").read_text()
        assert "robin@" not in log and "survivor@" not in log

        assert run(reporters[0], "reporter", "notify", "--none") == {"email": None, "sends_mail": True}
    finally:
        for service in services:
            service.stop()
