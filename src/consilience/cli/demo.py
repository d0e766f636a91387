"""``consilience demo``: a whole deployment on loopback, narrated.

Three key servers (2-of-3) and the escrow server run as separate processes;
three reporters name the same person, each typing the identifier their own
way; the counselor tries to open matches after every entry. With quorum 3
the counselor can read nothing after two entries and all three after the
third. Everything written to disk stays in ``data_dir`` for inspection.

Output survives a pipe: lines are never wrapped (a command or path it suggests stays on one
line, whatever the width), and every command it suggests starts with ``local.command``, the
program as the person can run it from where they are (``.venv/bin/consilience`` after
``./scripts/demo``, which is not on PATH).
"""

from __future__ import annotations

import shlex
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from consilience.clients import counselor, reporter
from consilience.i18n import _
from consilience.local import loopback
from consilience.local.command import command, typable

ADMIN_PASSPHRASE = "demo admin passphrase"
COUNSELOR_PASSPHRASE = "demo counselor passphrase"
#: Cheaper Argon2id than the interactive default so the demo runs in seconds;
#: real wallets use the default (64 MiB, 3 passes).
DEMO_KDF = {"memory_cost_kib": 8192, "iterations": 1, "lanes": 1}
#: The escrow server looks for new matches on a randomised timer (so a reporter cannot tell from the answer to
#: their own submission whether it completed a match); the demo runs it about once a second instead of the
#: default few minutes, and waits out one pass after each reporter.
RELEASE_INTERVAL_SECONDS = 1.0
RELEASE_WAIT_SECONDS = 2.5
#: The console width when stdout is a pipe or a file: wide enough that nothing is wrapped.
UNWRAPPED = 1000


class DemoReporter(TypedDict):
    contact: str
    #: the identifiers as this reporter types them; all name the same person
    names: list[str]
    record: str


REPORTERS: list[DemoReporter] = [
    {"contact": "ana@example.org (text first)",
     "names": ["Dana.Smith@Example.com", "https://twitter.com/DanaSmith_"],
     "record": "At the March offsite, Dana Smith cornered me in the stairwell and grabbed me. "
               "I told nobody at the time."},
    {"contact": "+44 7700 900123, evenings",
     "names": ["dana.smith@example.com"],
     "record": "During my first month, Dana Smith sent me messages at night and threatened my contract "
               "when I did not answer."},
    {"contact": "signal: @bo.82",
     "names": ["x.com/danasmith_", "DANA.SMITH@EXAMPLE.COM"],
     "record": "Dana Smith pressured me into a hotel room after the 2024 conference dinner."},
]


class Narrator:
    """The story on stdout. Lines are never wrapped (``soft_wrap``), so a command the demo suggests
    stays one line to copy; when stdout is not a terminal there is no width to fit, and panels are
    drawn as wide as their longest line."""

    def __init__(self, enabled: bool) -> None:
        self.console = Console(highlight=False, soft_wrap=True) if enabled else None
        if self.console is not None and not self.console.is_terminal:
            self.console.width = UNWRAPPED

    def step(self, text: str) -> None:
        if self.console:
            self.console.print(_("[bold cyan]▸[/] {text}", text=text))

    def detail(self, text: str) -> None:
        if self.console:
            self.console.print(f"   {text}")

    def panel(self, text: str, title: str, style: str = "green") -> None:
        if self.console:
            self.console.print(Panel(text, title=title, border_style=style, expand=False), soft_wrap=False)


def run(*, data_dir: Path | None = None, quorum: int = 3, narrate: bool = True, keep_running: bool = False,
        on_ready: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The narrated story; with ``keep_running`` the servers stay up afterwards (until interrupted or
    SIGTERM) with fresh invites, so a person can try the web app; ``on_ready`` gets the result then."""
    say = Narrator(narrate)
    root = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="consilience-demo-"))
    say.step(_("Creating a deployment in {folder}: quorum {quorum}, key servers 2-of-3, all on loopback",
               folder=root.resolve(), quorum=quorum))
    deployment = loopback.create(root, ADMIN_PASSPHRASE, quorum=quorum, kdf_params=DEMO_KDF)
    root = deployment.root
    try:
        say.detail(_("the key servers generate the quorum keys among themselves (nobody ever holds them whole); "
                     "the administrator publishes the result they all confirmed"))
        deployment.start(lambda s: say.detail(_("{name} running at {url} (pid {pid})",
                                                name=s.name, url=s.url, pid=s.process.pid if s.process else '?')),
                         env={"CONSILIENCE_RELEASE_INTERVAL": str(RELEASE_INTERVAL_SECONDS)})
        result = _story(say, root, deployment, quorum)
        if keep_running:
            result["web"] = _web_access(deployment)
            _show_web_access(say, result["web"])
            if on_ready:
                on_ready(result)
            _wait_for_stop()
        else:
            say.step(_("To try the same in a browser: [bold]{command} demo --keep-running[/] (the servers stay up, "
                       "and it prints the web app's addresses, fresh invites and the counselor's key file)",
                       command=escape(command())))
        return result
    finally:
        deployment.stop()


def _web_access(deployment: loopback.LoopbackDeployment) -> dict[str, Any]:
    return {"reporter_url": deployment.reporter_url, "counselor_url": deployment.counselor_url,
            "escrow_url": deployment.url, "keyserver_urls": deployment.keyserver_urls,
            "invites": deployment.invites(3),
            "counselor_key": str(deployment.layout.counselor_key),
            "counselor_passphrase": COUNSELOR_PASSPHRASE}


def _show_web_access(say: Narrator, web: dict[str, Any]) -> None:
    from consilience.web import is_built

    built = "" if is_built() else "\n" + _("[yellow]The web app is not built here: run {command}, then reload.[/]",
                                            command=escape(_build_web()))
    say.panel(_("Reporter app:  {url}", url=web["reporter_url"]) + "\n"
              + _("Counselor app: {url}", url=web["counselor_url"]) + "\n\n"
              + _("Invites for new reporters (each works once):") + "\n"
              + "\n".join(f"  {c}" for c in web["invites"]) + "\n\n"
              + _("Counselor key file: {path}", path=web["counselor_key"]) + "\n"
              + _("Its passphrase:     {passphrase}", passphrase=web["counselor_passphrase"]) + built + "\n\n"
              + _("The servers keep running until you press Ctrl-C."),
              title=_("Try the web app"), style="cyan")


def _build_web() -> str:
    """scripts/build-web of this source tree, as it can be typed from here (the bare name when not
    installed from a source tree)."""
    script = Path(__file__).resolve().parents[3] / "scripts" / "build-web"
    return shlex.quote(typable(script, Path.cwd())) if script.is_file() else "scripts/build-web"


def _wait_for_stop() -> None:
    """Block until Ctrl-C or SIGTERM; either way the caller's finally stops the servers."""
    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _story(say: Narrator, root: Path, deployment: loopback.LoopbackDeployment, quorum: int) -> dict[str, Any]:
    server = deployment.url
    say.step(_("The counselor creates a post-quantum key pair (ML-KEM-768 + X25519) on their own device"))
    keys = deployment.add_counselor("Demo Counselor", deployment.layout.counselor_key, COUNSELOR_PASSPHRASE)
    say.detail(_("the administrator signs a new deployment document listing the counselor's public key"))

    invites = deployment.invites(len(REPORTERS))
    released_after: int | None = None
    decrypted: list[dict[str, Any]] = []
    wallets = []
    receipt_files: list[str] = []
    for n, (person, invite) in enumerate(zip(REPORTERS, invites, strict=False), start=1):
        say.step(_("Reporter {number} joins with an invite, writes a private record and puts it in escrow", number=n))
        path = deployment.layout.reporter_wallet(n)
        session = reporter.register(server, invite, person["contact"], path, f"demo reporter {n} passphrase",
                                    kdf_params=DEMO_KDF)
        record = reporter.write(session, person["record"])
        record = reporter.escrow(session, record.record_id, person["names"])
        wallets.append(str(path))
        assert record.escrow is not None
        receipt_files += record.escrow.receipts
        say.detail(_("receipt from the transparency log, checked and kept: {name}",
                     name=Path(record.escrow.receipts[-1]).name))
        for typed, canonical in zip(record.escrow.identifiers, record.escrow.canonical, strict=False):
            say.detail(_("names [italic]{typed}[/] → matched as [bold]{canonical}[/]",
                         typed=typed, canonical=canonical))
        say.detail(_("entry status: in escrow"))

        say.detail(_("waiting for the escrow server's next look for matches (on a timer, not on submission)"))
        time.sleep(RELEASE_WAIT_SECONDS)
        matches = counselor.list_matches(keys)
        readable: list[dict[str, Any]] = []
        for match in matches:
            _match, result = counselor.open_match_by_id(keys, _id(match.match_id))
            readable += [{"record": o.body.record, "identifiers": o.body.identifiers,
                          "contact": o.body.contact, "written_at": o.body.written_at} for o in result.opened]
        if readable and released_after is None:
            released_after = n
            decrypted = readable
            say.panel("\n\n".join(_opened(e, i) for i, e in enumerate(readable, start=1)),
                      title=_("Quorum reached after {number} reporters: the counselor opens {count} entries",
                              number=n, count=len(readable)))
        elif not readable:
            say.detail(_("[yellow]the counselor can read nothing[/] ({number} of {quorum} reporters so far)",
                         number=n, quorum=quorum))

    receipt = shlex.quote(typable(Path(receipt_files[0]), Path.cwd())) if receipt_files else "RECEIPT"
    fingerprint = deployment.admin_fingerprint_b64u
    say.step(_("Anyone can check a receipt offline, e.g. [bold]{command} verify {receipt} --admin-fingerprint "
               "{fingerprint}[/] (the administrator's fingerprint pins the log's key)",
               command=escape(command()), receipt=escape(receipt), fingerprint=escape(fingerprint)))
    say.step(_("Everything the demo wrote is in {root}; no file there holds a record or an identifier in clear "
               "(wallets and keys are sealed under their passphrases, listed in --json output)", root=root))
    return {
        "quorum": quorum,
        "released_after": released_after,
        "decrypted": decrypted,
        "data_dir": str(root),
        "wallets": wallets,
        "receipts": receipt_files,
        "passphrases": {"admin": ADMIN_PASSPHRASE, "counselor": COUNSELOR_PASSPHRASE,
                        "reporter": "demo reporter N passphrase"},
    }


def _opened(entry: dict[str, Any], number: int) -> str:
    """One opened entry as the counselor reads it: whose it is and how to reach them, whom it names,
    what it says (the reporter's number in the story, found by their contact)."""
    who = next((_("Reporter {number}", number=n) for n, p in enumerate(REPORTERS, start=1)
                if p["contact"] == entry["contact"]), _("Entry {number}", number=number))
    return (_("[bold]{who}[/] (contact: {contact}) named {names}:", who=who, contact=escape(entry["contact"]),
              names=escape(", ".join(entry["identifiers"])))
            + "\n" + escape(entry["record"]))


def _id(text: str) -> bytes:
    from consilience.protocol.encoding import b64u_decode

    return b64u_decode(text, length=16)
