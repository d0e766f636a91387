"""Recovery on a new device over real processes (PROTOCOL.md §14.1), as a person does it.

One deployment on loopback (three key servers, threshold 2, each a process counting tries in its
recovery.sqlite3; a limit of 3 tries so the test stays short). A reporter registers and is shown the
handle, writes a record and puts it in escrow; the device is lost (the home folder deleted); on a new
one, ``reporter recover HANDLE`` with the passphrase brings everything back, and the receipts of the
escrowed entry are fetched and checked again. Wrong passphrases then say how many tries are left,
until recovery pauses with the key servers' reason; ``admin recovery-unlock`` makes a code that lets
the right passphrase work again.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from consilience.tlog.receipt import FILE_EXTENSION
from messaging_world import Actor, add_counselor, deployment

pytestmark = pytest.mark.e2e

LIMIT = 2
HANDLE = re.compile(r"Your account handle is ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\. Write it down")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, Actor]]:
    root = tmp_path_factory.mktemp("recovery")
    before = os.environ.get("CONSILIENCE_RECOVERY_ATTEMPTS")
    os.environ["CONSILIENCE_RECOVERY_ATTEMPTS"] = str(LIMIT)  # the key server processes read it at start
    try:
        with deployment(root, max_quorum=2) as (data, server, operator, _services):
            add_counselor(root, data, server, operator, "Robin Counselor")  # an entry needs someone to open it
            yield data, server, operator
    finally:
        if before is None:
            os.environ.pop("CONSILIENCE_RECOVERY_ATTEMPTS", None)
        else:
            os.environ["CONSILIENCE_RECOVERY_ATTEMPTS"] = before


def test_a_new_device_gets_everything_back_and_guessing_pauses(world: tuple[Path, str, Actor],
                                                                 tmp_path: Path) -> None:
    data, server, operator = world
    invite = operator.run("admin", "invite", "--data-dir", str(data))["invites"][0]
    reporter = Actor(tmp_path / "phone", "a long and private passphrase")
    shown = " ".join(reporter.text("reporter", "register", "--server", server, "--invite", invite).split())
    found = HANDLE.search(shown)
    assert found, shown
    handle = found.group(1)
    assert "with your passphrase it brings everything back on a new device" in shown
    record = reporter.run("reporter", "write", "--text", "What happened on the stairs.")["record_id"]
    reporter.run("reporter", "escrow", record, "--name", "sam.doe@example.com")
    reporter.run("reporter", "write", "--text", "A second, private note.")
    status = reporter.run("reporter", "backup")
    assert status["handle"] == handle and status["set_up"] and not status["pending"]

    shutil.rmtree(reporter.home)  # the phone is lost
    new = Actor(tmp_path / "new-phone", reporter.passphrase)
    said = " ".join(new.text("reporter", "recover", handle.lower(), "--server", server).split())
    assert "Everything is back: 2 records, 1 in escrow." in said
    assert len(new.run("reporter", "list")["records"]) == 2
    receipts = list((new.home / "receipts").glob(f"*{FILE_EXTENSION}"))
    assert len(receipts) == 1, "the escrowed entry's receipt was fetched again"
    new.text("verify", str(receipts[0]))  # exit 0: it checks offline against the kept deployment document
    # the recovered wallet works as before: it writes, and the backup follows
    new.run("reporter", "write", "--text", "Written on the new phone.")

    # someone with the handle guesses: each wrong passphrase says how many tries are left, then it pauses
    thief = Actor(tmp_path / "thief", "not the passphrase at all")
    for left in range(LIMIT - 1, -1, -1):
        said = " ".join(thief.refused("reporter", "recover", handle, "--server", server).split())
        assert f"That passphrase did not open the backup. You have {left} tries left" in said, said
    said = " ".join(Actor(tmp_path / "owner", reporter.passphrase).refused(
        "reporter", "recover", handle, "--server", server).split())
    assert f"Recovery for this account is paused after {LIMIT} tries" in said and "unlock code" in said, said

    code = operator.text("admin", "recovery-unlock", handle, "--data-dir", str(data)).split()[0]
    assert code.startswith("cnslu1.")
    owner = Actor(tmp_path / "owner-again", reporter.passphrase)
    said = " ".join(owner.text("reporter", "recover", handle, "--server", server, "--unlock", code).split())
    assert "Everything is back: 3 records, 1 in escrow." in said


def test_an_unknown_or_mistyped_handle_is_said_plainly(world: tuple[Path, str, Actor], tmp_path: Path) -> None:
    _data, server, _operator = world
    someone = Actor(tmp_path / "someone", "any passphrase here")
    said = " ".join(someone.refused("reporter", "recover", "7KQ2-M9XD-4RTA-HW3", "--server", server).split())
    assert "An account handle is 16 letters and digits in four groups" in said
    said = " ".join(someone.refused("reporter", "recover", "7KQ2-M9XD-4RTA-HW3E", "--server", server).split())
    assert "There is no backup for this handle" in said
