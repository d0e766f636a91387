"""The CLI as a person meets it the first time: what they see, on a pipe and on a terminal.

Every command runs as its own process against a loopback deployment (``local.loopback``, as the
demo and the browser tests start it). Output goes to a pipe, as when it is piped into a file or
another program, and the tests assert on what a person reads there: the message, the exit code,
no traceback, nothing wrapped or coloured, ids in full. The prompts (writing a record, choosing and
typing a passphrase) are driven through a real pseudo-terminal, so the prompt and the re-ask are
tested as they appear to someone typing.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from consilience.clients import counselor as counselor_client
from consilience.clients import reporter as reporter_client
from consilience.clients import wallet as wallet_mod
from consilience.clients.counselor import CounselorKeys
from consilience.clients.escrow_client import ApiError, describe
from consilience.local import loopback
from consilience.protocol import invites
from consilience.protocol.encoding import b64u_decode, b64u_encode
from consilience.protocol.messages import MatchSummary

pytestmark = pytest.mark.e2e

ADMIN = "first run admin passphrase"
COUNSELOR = "first run counselor passphrase"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: A time as the CLI shows it in text: to the second, zone named (the tests run with TZ=UTC).
SHOWN_TIME = re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\b")


# -- running the CLI -----------------------------------------------------------------------------------------------


@dataclass
class Shown:
    """What a command printed to a pipe, and how it ended."""

    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err

    def json(self) -> Any:
        return json.loads(self.out)


def person(home: Path, passphrase: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CONSILIENCE_PASSPHRASE", "COLUMNS", "FORCE_COLOR", "LC_ALL", "LC_TELEPHONE")}
    # a locale that names no country (phone numbers then need + unless a test gives one)
    env.update({"CONSILIENCE_HOME": str(home), "TZ": "UTC", "LANG": "C.UTF-8", **extra})
    if passphrase is not None:
        env["CONSILIENCE_PASSPHRASE"] = passphrase
    return env


def cli(env: dict[str, str], *args: str, stdin: str | None = None, ok: bool | None = True) -> Shown:
    """``consilience ARGS`` with stdout and stderr to pipes and no controlling terminal (as under cron or CI)."""
    proc = subprocess.run([sys.executable, "-m", "consilience", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=180, start_new_session=True, stdin=None if stdin is not None
                          else subprocess.DEVNULL)
    shown = Shown(proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in shown.both, shown.both
    assert not ANSI.search(shown.both), f"ANSI codes on a pipe: {shown.both!r}"
    if ok is True:
        assert shown.code == 0, f"{args}: {shown.both}"
    elif ok is False:
        assert shown.code != 0, f"{args} should have failed: {shown.both}"
    return shown


class Terminal:
    """A command run on a pseudo-terminal (its controlling terminal, 200 columns), typed at like a person would."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its controlling terminal and its stdin, stdout and stderr
            try:
                os.execve(sys.executable, [sys.executable, "-m", "consilience", *args], env)
            finally:
                os._exit(127)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        self.seen = ""
        self.pos = 0  # where in ``text`` the last ``expect`` matched
        self.code: int | None = None

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        self.seen += data.decode("utf-8", "replace")
        return True

    @property
    def text(self) -> str:
        """What the terminal showed, ANSI codes removed, lines joined (rich may wrap long lines)."""
        return " ".join(ANSI.sub("", self.seen).replace("\r", "").split())

    def expect(self, words: str, timeout: float = 60.0) -> None:
        """Wait until ``words`` is shown after what the previous ``expect`` matched (a prompt shown again
        is a new prompt, not the old one)."""
        wanted = " ".join(words.split())
        deadline = time.monotonic() + timeout
        while True:
            found = self.text.find(wanted, self.pos)
            if found >= 0:
                self.pos = found + len(wanted)
                return
            if time.monotonic() > deadline or not self._read(0.2):
                if self.text.find(wanted, self.pos) >= 0:
                    continue
                raise AssertionError(f"never showed {words!r}; the terminal showed:\n{self.text}")

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\n")

    def end_of_input(self) -> None:
        os.write(self.fd, b"\x04")  # Ctrl-D on a new line

    def wait(self, timeout: float = 120.0) -> int:
        deadline = time.monotonic() + timeout
        while self._read(0.2) and time.monotonic() < deadline:
            pass
        _, status = os.waitpid(self.pid, 0)
        self.code = os.waitstatus_to_exitcode(status)
        os.close(self.fd)
        assert "Traceback" not in self.seen, self.seen
        return self.code


# -- the deployment ------------------------------------------------------------------------------------------------


@dataclass
class Site:
    dep: loopback.LoopbackDeployment
    root: Path
    counselor_home: Path
    counselor_keys: CounselorKeys
    fingerprint: str
    homes: Iterator[int] = field(default_factory=lambda: iter(range(10_000)))

    @property
    def url(self) -> str:
        return self.dep.url

    def invite(self) -> str:
        [code] = self.dep.invites(1)
        return code

    def home(self, label: str) -> Path:
        # deliberately long: a path wrapped at 80 columns would be split in the output
        return self.root / f"people-with-a-long-folder-name-to-test-that-nothing-wraps-{next(self.homes)}" / label

    def reporter(self, label: str, passphrase: str = "reporter passphrase") -> dict[str, str]:
        env = person(self.home(label), passphrase)
        cli(env, "reporter", "register", "--server", self.url, "--invite", self.invite(), "--contact", f"{label}@x.org")
        return env


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("first-run")
    dep = loopback.create(root / "deploy", ADMIN, quorum=2, key_servers=1, threshold=1)
    # the escrow server looks for matches on a randomised timer: about twice a second here
    with dep.start(env={"CONSILIENCE_RELEASE_INTERVAL": "0.5"}):
        home = root / "counselor"
        home.mkdir()
        keys = dep.add_counselor("Robin Counselor", home / "counselor.key", COUNSELOR)
        yield Site(dep, root, home, keys, dep.admin_fingerprint_b64u)


def words(text: str) -> str:
    """Help text laid out in boxes by rich, as one line of words."""
    return " ".join(text.replace("│", " ").split())


def record_of(env: dict[str, str], record_id: str) -> dict[str, Any]:
    listed = cli(env, "reporter", "list", "--offline", "--json").json()["records"]
    [found] = [r for r in listed if r["record_id"] == record_id]
    return found  # type: ignore[no-any-return]


# -- 1. writing a record without putting it in shell history -------------------------------------------------------


def test_write_reads_a_pipe_quietly_and_text_help_warns_of_shell_history(site: Site) -> None:
    env = site.reporter("writer")
    shown = cli(env, "reporter", "write", stdin="He followed me home after the party.\nSecond line.\n")
    assert "Saved private record" in shown.out and "nothing was sent" in shown.out
    assert "Type what happened" not in shown.both  # a pipe is read quietly
    record_id = shown.out.split("Saved private record ")[1].split(".")[0]
    assert record_of(env, record_id)["text"] == "He followed me home after the party.\nSecond line.\n"

    notes = site.root / "notes.txt"
    notes.write_text("Written in a file first.\n")
    from_file = cli(env, "reporter", "write", "--file", str(notes), "--json").json()
    assert from_file["text"] == "Written in a file first.\n"
    missing = cli(env, "reporter", "write", "--file", str(site.root / "nope.txt"), ok=False)
    assert f"{site.root / 'nope.txt'} does not exist" in missing.err and missing.code == 1

    empty = cli(env, "reporter", "write", stdin="  \n", ok=False)
    assert "Nothing was typed, so nothing was saved." in empty.err

    helped = words(cli(env, "reporter", "write", "--help").out)
    assert "visible in your shell history" in helped


def test_write_on_a_terminal_asks_after_unlocking_and_ends_with_ctrl_d(site: Site) -> None:
    env = site.reporter("typist")
    del env["CONSILIENCE_PASSPHRASE"]
    term = Terminal(env, "reporter", "write")
    term.expect("Passphrase for")
    term.type("not the passphrase")
    term.expect("did not open: the passphrase is not the one it was locked with")
    term.expect("Try the passphrase again")
    term.expect("Passphrase for")
    term.type("reporter passphrase")
    term.expect("Type what happened. It stays on this device. Finish with Ctrl-D on a new line.")
    term.type("It happened in the stairwell.")
    term.end_of_input()
    term.expect("Saved private record")
    assert term.wait() == 0
    record_id = term.text.split("Saved private record ")[1].split(".")[0]
    env["CONSILIENCE_PASSPHRASE"] = "reporter passphrase"
    assert record_of(env, record_id)["text"] == "It happened in the stairwell.\n"


# -- 2. adding names keeps the ones already named ------------------------------------------------------------------


def test_a_second_escrow_adds_names_and_says_which(site: Site) -> None:
    env = site.reporter("namer")
    rec = cli(env, "reporter", "write", "--text", "A record.", "--json").json()["record_id"]
    first = cli(env, "reporter", "escrow", rec, "--name", "Dana@Example.com", "--json").json()
    assert first["escrow"]["canonical"] == ["email:dana@example.com"] and first["added"] == ["email:dana@example.com"]

    second = cli(env, "reporter", "escrow", rec, "--name", "+1 202 555 0143", "--name", "dana@example.com")
    assert "Added: phone:+12025550143." in second.out
    assert "Already named: email:dana@example.com." in second.out
    escrow = record_of(env, rec)["escrow"]
    assert escrow["canonical"] == ["email:dana@example.com", "phone:+12025550143"]
    assert escrow["identifiers"] == ["Dana@Example.com", "+1 202 555 0143"]  # as typed the first time
    assert escrow["entry_id"] == first["escrow"]["entry_id"]  # the same entry, re-sealed

    again = cli(env, "reporter", "escrow", rec, "--name", "DANA@example.com")
    assert "Nothing changed" in again.out and "Nothing was sent." in again.out

    replaced = cli(env, "reporter", "escrow", rec, "--name", "github:dana", "--replace-names", "--json").json()
    assert replaced["escrow"]["canonical"] == ["github:dana"]
    assert replaced["removed"] == ["email:dana@example.com", "phone:+12025550143"]


def test_adding_a_name_keeps_a_phone_number_typed_with_its_region(site: Site) -> None:
    env = site.reporter("regional")
    rec = cli(env, "reporter", "write", "--text", "Another record.", "--json").json()["record_id"]
    cli(env, "reporter", "escrow", rec, "--name", "020 7946 0958", "--region", "GB")
    added = cli(env, "reporter", "escrow", rec, "--name", "x.com/someone", "--json").json()  # no --region now
    assert added["escrow"]["canonical"] == ["phone:+442079460958", "x:someone"] and added["added"] == ["x:someone"]


def test_a_phone_number_without_its_country_code_is_read_in_the_locales_country(site: Site) -> None:
    """No fixed country: LANG=es_MX reads a national number as Mexican and says so, and the answer shows it with
    its country code ('--replace-names' mends a wrong guess); LC_ALL overrides LANG; a locale naming no country
    asks for +."""
    env = site.reporter("in-mexico")
    rec = cli(env, "reporter", "write", "--text", "A record.", "--json").json()["record_id"]
    refused = cli(env, "reporter", "escrow", rec, "--name", "55 1234 5678", ok=False)
    assert "has no country code; write it with + and the country code" in refused.both
    # LANG=es_MX chooses Spanish too; CONSILIENCE_LANGUAGE keeps the words English, the country Mexican
    shown = cli({**env, "LANG": "es_MX.UTF-8", "CONSILIENCE_LANGUAGE": "en"}, "reporter", "escrow", rec,
                "--name", "55 1234 5678")
    assert "Phone numbers without + are read as numbers in MX (from your locale); '--region' chooses another " \
           "country." in words(shown.out)
    assert "55 1234 5678 → phone:+525512345678" in words(shown.out)
    rec = cli(env, "reporter", "write", "--text", "Another record.", "--json").json()["record_id"]
    done = cli({**env, "LANG": "es_MX.UTF-8", "LC_ALL": "ar_EG.UTF-8"}, "reporter", "escrow", rec,
               "--name", "010 1234 5678", "--json").json()
    assert done["escrow"]["canonical"] == ["phone:+201012345678"]


# -- 3. register checks the invite before the passphrase, and asks again on a terminal --------------------------


def test_register_refuses_a_bad_invite_before_asking_for_a_passphrase(site: Site) -> None:
    env = person(site.home("hasty"))  # no passphrase in the environment, no terminal: it would have to ask
    typo = cli(env, "reporter", "register", "--server", site.url, "--invite", site.invite()[:-3] + "ä" + "AA",
               "--contact", "me@x.org", ok=False)
    assert invites.MISTYPED in typo.err and "passphrase" not in typo.err.lower()

    # one character of the fingerprint mistyped, still well formed: the server's deployment does not match
    good = site.invite()
    prefix, code, fpr = good.split(".")
    other = fpr[:5] + ("B" if fpr[5] != "B" else "C") + fpr[6:]
    wrong = cli(env, "reporter", "register", "--server", site.url, "--invite", f"{prefix}.{code}.{other}",
                "--contact", "me@x.org", "--json", ok=False)
    assert "is not the deployment this invite is for" in wrong.json()["error"]
    assert "may be mistyped" in wrong.json()["error"]
    assert not (Path(env["CONSILIENCE_HOME"]) / "wallet.sealed").exists()

    # the invite passed every check; only now is a passphrase needed, and there is no terminal to ask on
    asked = cli(env, "reporter", "register", "--server", site.url, "--invite", good, "--contact", "me@x.org",
                ok=False)
    assert "There is no terminal to ask for the passphrase on" in asked.err and "CONSILIENCE_PASSPHRASE" in asked.err

    short = cli({**env, "CONSILIENCE_PASSPHRASE": "short"}, "reporter", "register", "--server", site.url,
                "--invite", good, "--contact", "me@x.org", ok=False)
    assert short.code == 1 and short.err.count("error:") == 1
    assert "The passphrase in CONSILIENCE_PASSPHRASE has 5 characters; a passphrase needs at least 8" in short.err
    # nothing was created and the invite is still good
    cli({**env, "CONSILIENCE_PASSPHRASE": "long enough now"}, "reporter", "register", "--server", site.url,
        "--invite", good, "--contact", "me@x.org")


def test_register_on_a_terminal_asks_again_for_a_short_or_mismatched_passphrase(site: Site) -> None:
    env = person(site.home("careful"))
    term = Terminal(env, "reporter", "register", "--server", site.url, "--invite", site.invite(), "--contact",
                    "careful@x.org")
    term.expect("The invite fits the deployment at")
    term.expect("Choose a wallet passphrase")
    term.type("short")
    term.expect("That passphrase is too short: it needs at least 8 characters.")
    term.expect("Choose a wallet passphrase")
    term.type("a long passphrase")
    term.expect("Type it again to check")
    term.type("a long passphrase, mistyped")
    term.expect("The two passphrases were not the same. Please choose it again.")
    term.expect("Choose a wallet passphrase")
    term.type("a long passphrase")
    term.expect("Type it again to check")
    term.type("a long passphrase")
    term.expect("Registered.")
    assert term.wait() == 0
    assert wallet_mod.load(Path(env["CONSILIENCE_HOME"]) / "wallet.sealed", "a long passphrase").contact == \
        "careful@x.org"


# -- 4. escrow shows the entry id and the receipt; errors in plain words -------------------------------------------


def test_escrow_shows_entry_id_and_receipt_path(site: Site) -> None:
    env = site.reporter("receipt-keeper")
    rec = cli(env, "reporter", "write", "--text", "Receipts please.", "--json").json()["record_id"]
    shown = cli(env, "reporter", "escrow", rec, "--name", "sam@example.org")
    entry_id = record_of(env, rec)["escrow"]["entry_id"]
    assert f"its entry id on the escrow server is {entry_id}." in shown.out
    [receipt] = (Path(env["CONSILIENCE_HOME"]) / "receipts").glob("*.tlog-proof")
    assert f"Receipt saved to {receipt};" in shown.out  # the whole path, on one line
    assert cli(env, "reporter", "escrow", rec, "--name", "sam2@example.org", "--json").json()["receipt"].endswith(
        ".tlog-proof")
    # the receipt checks out with the log key given as the file beside it
    checked = cli(env, "verify", str(receipt), "--log-key", str(receipt.parent / "log.vkey"))
    assert checked.out.startswith(f"valid: entry {entry_id} logged at ") and SHOWN_TIME.search(checked.out)


def test_client_errors_speak_plainly_and_keep_their_status_in_json(site: Site) -> None:
    env = person(site.home("unlucky"), "reporter passphrase")
    nowhere = "http://127.0.0.1:9"
    unreachable = cli(env, "reporter", "register", "--server", nowhere, "--invite", site.invite(), "--contact", "x",
                      "--json", ok=False)
    doc = unreachable.json()
    assert doc["error"] == (f"Cannot reach the escrow server at {nowhere}. Check the address and your connection; "
                            "nothing was sent.")
    assert doc["status"] == 0 and doc["code"] == "unreachable"
    assert f"error: {doc['error']}" in unreachable.err and "Errno" not in unreachable.err

    bad_address = cli(env, "reporter", "register", "--server", "127.0.0.1:8100", "--invite", site.invite(),
                      "--contact", "x", ok=False)
    assert "should start with https://" in bad_address.err

    used = site.invite()
    cli(env, "reporter", "register", "--server", site.url, "--invite", used, "--contact", "x")
    again = cli(person(site.home("second-try"), "reporter passphrase"), "reporter", "register", "--server", site.url,
                "--invite", used, "--contact", "x", "--json", ok=False).json()
    assert again["error"].startswith("This invite was not accepted: it may have been used already, have expired")
    assert again["status"] == 403 and again["code"] == "forbidden" and "invite refused" in again["detail"]
    assert "server answered" not in again["error"]

    # a wallet whose account the server does not know (closed, or another deployment's): 401 in words
    path = Path(env["CONSILIENCE_HOME"]) / "wallet.sealed"
    w = wallet_mod.load(path, "reporter passphrase")
    w.token = b64u_encode(os.urandom(32))
    w.account_seed = b64u_encode(os.urandom(32))  # signing in again cannot help: the server knows no such account
    wallet_mod.save(path, w, "reporter passphrase")
    refused = cli(env, "reporter", "list", "--json", ok=False).json()
    assert refused["status"] == 401 and "did not accept your sign-in" in refused["error"]
    assert "ask the administrator" in refused["error"]


def test_web_verify_of_an_unreachable_server_says_so(tmp_path: Path) -> None:
    build = tmp_path / "build"
    build.mkdir()
    (build / "manifest.json").write_text(json.dumps({"format": "consilience-web-manifest/v1",
                                                     "files": {"index.html": {"sha256": "0" * 64}}}))
    shown = cli(person(tmp_path), "web", "verify", "http://127.0.0.1:9", "--build", str(build), "--json", ok=False)
    assert shown.json() == {"error": "Cannot reach the server at http://127.0.0.1:9. Check the address and your "
                                     "connection; nothing was compared.",
                            "status": 0, "code": "unreachable", "server": "http://127.0.0.1:9"}


def test_each_status_has_what_to_do() -> None:
    server = "https://escrow.example.org"
    assert "Run the command again" in describe(409, "conflict", "stale deployment document: the current serial is 3",
                                               server=server, current_serial=3)
    assert describe(409, "conflict", "this entry id is already in use with other content", server=server).endswith(
        "conflicts with what it already holds: this entry id is already in use with other content.")
    assert "Wait about 30 seconds and try again." in describe(429, "rate_limited", "too many requests",
                                                              retry_after=30)
    assert "Wait 2 minutes" in describe(429, "rate_limited", "x", retry_after=90)
    assert "unavailable for the moment" in describe(503, "unavailable", "database unavailable")
    assert "Remove or shrink some attachments" in describe(413, "too_large", "body too large")
    assert "tell the administrator" in describe(500, "internal", "internal error")
    error = ApiError(429, "rate_limited", "slow down", server=server, retry_after=5)
    assert error.json_fields() == {"status": 429, "code": "rate_limited", "detail": "slow down", "server": server,
                                   "retry_after": 5}


# -- 5. match ids in hex, whole, and opened by a unique prefix -----------------------------------------------------


@pytest.fixture(scope="module")
def match(site: Site) -> dict[str, str]:
    """A released match: two reporters name the same person."""
    for label, name in (("first-of-two", "Pat.Doe@Example.com"), ("second-of-two", "pat.doe@example.com")):
        env = site.reporter(label)
        rec = cli(env, "reporter", "write", "--text", f"What {label} went through.", "--json").json()["record_id"]
        cli(env, "reporter", "escrow", rec, "--name", name)
    time.sleep(2.0)  # one release pass
    env = person(site.counselor_home, COUNSELOR)
    [found] = cli(env, "counselor", "matches", "--json").json()["matches"]
    return {"b64u": found["match_id"], "hex": b64u_decode(found["match_id"]).hex()}


def test_matches_show_whole_hex_ids_and_open_takes_a_unique_prefix(site: Site, match: dict[str, str]) -> None:
    env = person(site.counselor_home, COUNSELOR)
    listed = cli(env, "counselor", "matches")
    assert match["hex"] in listed.out and match["b64u"] not in listed.out
    assert len(match["hex"]) == 32 and not match["hex"].startswith("-")
    assert SHOWN_TIME.search(listed.out) and not re.search(r"\d\d:\d\d:\d\d\.\d{6}", listed.out)

    opened = cli(env, "counselor", "open", match["hex"][:6])
    assert f"Match {match['hex']}: 2 entries opened." in opened.out
    assert "What first-of-two went through." in opened.out and SHOWN_TIME.search(opened.out)
    assert cli(env, "counselor", "open", match["hex"].upper(), "--json").json()["match_id"] == match["b64u"]
    by_b64u = cli(env, "counselor", "open", match["b64u"], "--json").json()
    assert by_b64u["match_id"] == match["b64u"] and len(by_b64u["entries"]) == 2
    # '--' still works, and --json after it is taken as meant
    after = cli(env, "counselor", "open", "--", match["b64u"], "--json").json()
    assert after["match_id"] == match["b64u"]

    unknown = "0" * 6 if not match["hex"].startswith("000000") else "f" * 6
    missing = cli(env, "counselor", "open", unknown, "--json", ok=False).json()
    assert missing["error"].startswith(f"No match waiting for you has an id starting with {unknown}.")
    short = cli(env, "counselor", "open", match["hex"][:4], ok=False)
    assert "give at least 6 characters of its id" in short.err
    nonsense = cli(env, "counselor", "open", "not-an-id!", ok=False)
    assert "is not a match id" in nonsense.err
    gone = cli(env, "counselor", "open", "ab" * 16, ok=False)  # well formed, but no such match
    assert f"There is no match {'ab' * 16} waiting for you." in gone.err

    helped = words(cli(env, "counselor", "open", "--help").out)
    assert "MATCH_ID" in helped and "the first 6 or more when no other match starts the same way" in helped


def test_an_ambiguous_prefix_lists_the_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [bytes.fromhex("abcdef01" + "0" * 24), bytes.fromhex("abcdef02" + "0" * 24)]
    listed = [MatchSummary(match_id=b64u_encode(i), created_at="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
                           updated_at="2026-01-01T00:00:00Z", released=2) for i in ids]  # type: ignore[arg-type]
    monkeypatch.setattr(counselor_client, "list_matches", lambda keys: listed)
    keys = CounselorKeys("c", bytes(32))
    with pytest.raises(Exception, match="More than one match has an id starting with abcdef: abcdef01") as caught:
        counselor_client.resolve_match_id(keys, "ABCDEF")
    assert ids[1].hex() in str(caught.value)
    assert counselor_client.resolve_match_id(keys, "abcdef02") == ids[1]


# -- 6. nothing wrapped or coloured on a pipe; times to the second; --version -------------------------------------


def test_pipes_get_whole_lines_times_to_the_second_and_a_version(site: Site) -> None:
    env = person(site.home("long-" + "x" * 60))
    wallet = Path(env["CONSILIENCE_HOME"]) / "wallet.sealed"
    assert len(str(wallet)) > 120
    shown = cli({**env, "CONSILIENCE_PASSPHRASE": "reporter passphrase"}, "reporter", "register", "--server",
                site.url, "--invite", site.invite(), "--contact", "x")
    assert f"Your wallet is {wallet}." in shown.out  # one line, not split at 80 columns
    env["CONSILIENCE_PASSPHRASE"] = "reporter passphrase"
    cli(env, "reporter", "write", "--text", "A record to list.")
    listed = cli(env, "reporter", "list")
    assert SHOWN_TIME.search(listed.out) and "+00:00" not in listed.out

    for flag in ("--version", "-V"):
        version = cli(env, flag)
        assert re.fullmatch(r"consilience \d+\.\d+\.\d+\S*\n", version.out)


# -- 7. list summaries, the MATCH_ID help (above), a passphrase that does not open the file ----------------------


def test_list_summarises_records_without_text_and_a_wrong_passphrase_names_the_file(site: Site, tmp_path: Path) -> None:
    env = site.reporter("summariser")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8" + bytes(100))
    cli(env, "reporter", "write", "--what", "Grabbed my arm", "--when", "1 March")
    cli(env, "reporter", "write", "--attach", str(photo))
    cli(env, "reporter", "write", "--text", "A line that is much longer than forty characters, so it is cut short.")
    listed = cli(env, "reporter", "list", "--offline").out
    assert "what: Grabbed my arm" in listed
    assert "(attachments only: 1 file)" in listed
    assert "A line that is much longer than forty c…" in listed

    wrong = cli({**env, "CONSILIENCE_PASSPHRASE": "not my passphrase"}, "reporter", "list", ok=False)
    wallet = Path(env["CONSILIENCE_HOME"]) / "wallet.sealed"
    assert f"{wallet} did not open: the passphrase is not the one it was locked with, or the file is damaged." \
        in wrong.err
    assert "Try the passphrase again; if the file was copied from somewhere else, copy it again." in wrong.err


# -- 8. a mistyped invite is a typo, not base64url -----------------------------------------------------------------


def test_a_mistyped_invite_is_told_so(site: Site) -> None:
    env = person(site.home("typo"), "reporter passphrase")
    good = site.invite()
    for typed in (good[:12] + "!" + good[13:], good[:-1], good + "x", "cnsl2.abc"):
        shown = cli(env, "reporter", "register", "--server", site.url, "--invite", typed, "--contact", "x",
                    "--json", ok=False)
        assert shown.json() == {"error": invites.MISTYPED}, typed
        assert "base64" not in shown.err
    assert invites.MISTYPED == ("This invite does not look right — a character may be mistyped or missing. Check it "
                                "against the one you were given (it looks like cnsl2.…).")
    # an invite from a protocol v1 install is named as such, not as a typo
    old = cli(env, "reporter", "register", "--server", site.url, "--invite", "cnsl1.abc", "--contact", "x",
              "--json", ok=False)
    assert old.json() == {"error": invites.OLD_VERSION}
    credential = cli(env, "reporter", "register", "--server", site.url, "--invite", "cnslc1.abc.def",
                     "--contact", "x", ok=False)
    assert "This is a counselor's credential" in credential.err
    # and the other way round, before any passphrase is asked for
    mixed = cli(person(site.counselor_home), "counselor", "login", "--server", site.url, "--credential", good,
                ok=False)
    assert "This is a reporter's invite (it starts with cnsl2.), not a counselor's credential." in mixed.err


# -- 9. a witness gets the log key from the deployment document ----------------------------------------------------


def test_witness_takes_the_log_key_from_the_signed_deployment(site: Site) -> None:
    env = person(site.home("witness"), "witness passphrase")
    vkey = cli(env, "witness", "keygen", "--name", "witness.example/first-run", "--json").json()["vkey"]
    cli(person(site.root, ADMIN), "admin", "witness", "add", vkey, "--data-dir", str(site.dep.root))

    empty = cli(env, "witness", "cosign", "--server", site.url, "--log-key", "", ok=False)
    assert "--log-key is empty." in empty.err and "--admin-fingerprint" in empty.err
    malformed = cli(env, "witness", "cosign", "--server", site.url, "--log-key", "not-a-key", ok=False)
    assert "--log-key is neither a log verifier key nor a file that exists" in malformed.err
    first_time = cli(env, "witness", "cosign", "--server", site.url, ok=False)
    assert "needs the log's key" in first_time.err

    wrong_admin = b64u_encode(os.urandom(16))
    refused = cli(env, "witness", "cosign", "--server", site.url, "--admin-fingerprint", wrong_admin, ok=False)
    assert "is not signed by the administrator whose fingerprint you were given" in refused.err
    typo = cli(env, "witness", "cosign", "--server", site.url, "--admin-fingerprint", site.fingerprint[:-1],
               ok=False)
    assert "This administrator fingerprint does not look right" in typo.err

    first = cli(env, "witness", "cosign", "--server", site.url, "--admin-fingerprint", site.fingerprint,
                "--json").json()
    assert first["size"] >= 1
    later = cli(env, "witness", "cosign", "--server", site.url, "--json").json()  # the key was remembered
    assert later["previous"] == first["size"]

    # a file holding the key works too (what the administrator may hand out)
    key_file = Path(env["CONSILIENCE_HOME"]) / "log.vkey"
    state = json.loads((Path(env["CONSILIENCE_HOME"]) / "witness.key.state.json").read_text())
    key_file.write_text(state["log_vkey"] + "\n")
    assert cli(env, "witness", "cosign", "--server", site.url, "--log-key", str(key_file), "--json").json()["size"]


def test_reporter_flows_still_work_through_the_sdk(site: Site, tmp_path: Path) -> None:
    """The SDK's escrow keeps its old meaning for a new record (the callers outside the CLI)."""
    session = reporter_client.register(site.url, site.invite(), "sdk@x.org", tmp_path / "w", "sdk passphrase",
                                       kdf_params={"memory_cost_kib": 1024, "iterations": 1, "lanes": 1})
    record = reporter_client.write(session, "From the SDK.")
    done = reporter_client.escrow(session, record.record_id, ["sdk.person@example.org"])
    assert done.escrow is not None and done.escrow.canonical == ["email:sdk.person@example.org"]
    with pytest.raises(ApiError):
        reporter_client.register("http://127.0.0.1:9", site.invite(), "x", tmp_path / "w2", "sdk passphrase")
