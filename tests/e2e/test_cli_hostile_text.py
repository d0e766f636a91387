"""Reporter-written text reaches the counselor's terminal as text, never as markup or terminal commands.

A reporter is whoever holds an invite, so everything in a released entry (contact, record, details,
the names typed, attachment names and types, the time written) is written by someone who may wish
the counselor harm. The attack, as a reporter would run it: a contact of ``[/]`` (rich markup that
closes a style nobody opened) and a record holding an OSC title change and a screen clear. Opening
the match must still work, and the escapes must show as text (``\\x1b``), not reach the terminal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from cli_process import cli, ok, person
from consilience.cli.output import visible
from consilience.local import loopback

pytestmark = pytest.mark.e2e

ADMIN = "hostile text admin passphrase"
COUNSELOR = "hostile text counselor passphrase"
REPORTER = "hostile text reporter passphrase"

TITLE = "\x1b]0;pwned\x07"  # OSC 0: sets the terminal window's title
CLEAR = "\x1b[2J"  # CSI 2 J: clears the screen
C1_CSI = "\x9b31m"  # the one-byte C1 form of CSI
OVERRIDE = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: shows what follows backwards
RECORD = f"He said {TITLE}nothing{CLEAR} at all.\nSecond line\tindented.\rOverwritten {OVERRIDE}gnp.exe"
WHAT = f"[bold red]not bold[/] {C1_CSI}\x7f"
ATTACHMENT = f"photo{CLEAR}\u2066.txt"
RAW = ("\x1b", "\x07", "\x9b", "\x7f", "\r", "\u202e", "\u2066")




@dataclass
class Released:
    counselor: dict[str, str]
    hostile: dict[str, str]
    match_id: str


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Released]:
    root = tmp_path_factory.mktemp("hostile-text")
    dep = loopback.create(root / "deploy", ADMIN, quorum=2, key_servers=1, threshold=1)
    with dep.start(env={"CONSILIENCE_RELEASE_INTERVAL": "0.5"}):
        home = root / "counselor"
        home.mkdir()
        dep.add_counselor("Robin Counselor", home / "counselor.key", COUNSELOR)
        attachment = root / ATTACHMENT
        attachment.write_bytes(b"not really a photo")
        hostile, plain = person(root / "hostile", REPORTER), person(root / "plain", REPORTER)
        invites = dep.invites(2)
        for env, invite, contact in ((hostile, invites[0], "[/]"), (plain, invites[1], "plain@example.org")):
            ok(env, "reporter", "register", "--server", dep.url, "--invite", invite, "--contact", contact)
        hostile_rec = json.loads(ok(hostile, "reporter", "write", "--text", RECORD, "--what", WHAT, "--attach",
                                    str(attachment), "--json"))["record_id"]
        ok(hostile, "reporter", "escrow", hostile_rec, "--name", "pat.doe@example.com")
        plain_rec = json.loads(ok(plain, "reporter", "write", "--text", "Plain words.", "--json"))["record_id"]
        ok(plain, "reporter", "escrow", plain_rec, "--name", "Pat.Doe@Example.com")
        counselor = person(home, COUNSELOR)
        deadline = time.monotonic() + 30
        while not (found := json.loads(ok(counselor, "counselor", "matches", "--json"))["matches"]):
            assert time.monotonic() < deadline, "no match released"
            time.sleep(0.5)
        yield Released(counselor, hostile, found[0]["match_id"])


def test_open_shows_hostile_text_as_text(released: Released) -> None:
    proc = cli(released.counselor, "counselor", "open", "--", released.match_id)
    shown = proc.stdout + proc.stderr
    assert proc.returncode == 0, shown
    assert "2 entries opened" in proc.stdout
    for raw in RAW:
        assert raw not in shown, f"{raw!r} reached the terminal: {shown!r}"
    assert "Contact: [/]" in proc.stdout  # the markup is shown as typed, not interpreted
    assert "He said \\x1b]0;pwned\\x07nothing\\x1b[2J at all." in proc.stdout
    assert " at all.\nSecond line" in proc.stdout  # lines stay lines (rich lays a tab out as spaces)
    assert "indented.\\x0dOverwritten \\u202egnp.exe" in proc.stdout
    assert "[bold red]not bold[/] \\x9b31m\\x7f" in proc.stdout
    assert "photo\\x1b[2J\\u2066.txt" in proc.stdout


def test_json_keeps_the_text_exactly_and_escapes_what_a_terminal_would_act_on(released: Released) -> None:
    proc = cli(released.counselor, "counselor", "open", "--json", "--", released.match_id)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for raw in RAW:
        assert raw not in proc.stdout
    entries = json.loads(proc.stdout)["entries"]
    [hostile] = [e for e in entries if e["contact"] == "[/]"]
    assert hostile["record"] == RECORD and hostile["details"] == {"what": WHAT}
    assert hostile["attachments"][0]["name"] == ATTACHMENT


def test_the_reporters_own_list_shows_escapes_too(released: Released) -> None:
    proc = cli(released.hostile, "reporter", "list", "--offline")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "He said \\x1b]0;pwned\\x07nothing" in proc.stdout
    for raw in RAW:
        assert raw not in proc.stdout


def test_visible_names_every_control_character() -> None:
    assert visible("a\x00b\x1bc\x7fd\x85e\x9ff") == "a\\x00b\\x1bc\\x7fd\\x85e\\x9ff"
    assert visible("l\nt\t") == "l\\x0at\\x09"
    assert visible("l\nt\t", multiline=True) == "l\nt\t"
    assert visible("".join(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))) == (
        "\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069")
    assert visible("Zoë, Жанна, 李, שלום, [b]x[/b]") == "Zoë, Жанна, 李, שלום, [b]x[/b]"
