"""A deployment on loopback with a released match of three reporters, for the messaging tests (PROTOCOL.md §13).

Everything runs as a person runs it: ``admin init``, three key servers and the escrow server as
processes, the key servers' key generation published, a counselor who made a key and logged in,
three reporters who registered (the first without a contact, the others with one), wrote a record and named the
same person at quorum 2. The escrow server's release pass runs every half second.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli_process import cli, ok, person
from consilience.local import launcher

RELEASE_INTERVAL = 0.5
#: The person all three reporters name.
NAMED = "sam.doe@example.com"
#: Reporter 1 registers without a contact: counselors can write to them all the same.
CONTACTS = ["", "ana@example.org", "+44 7700 900123"]


@dataclass
class Actor:
    home: Path
    passphrase: str

    @property
    def env(self) -> dict[str, str]:
        return person(self.home, self.passphrase)

    def run(self, *args: str) -> dict[str, Any]:
        """The command's --json document; the test fails, showing both outputs, unless it succeeded."""
        result: dict[str, Any] = json.loads(ok(self.env, *args, "--json"))
        return result

    def text(self, *args: str) -> str:
        """What the command prints for a person; the test fails unless it succeeded."""
        return ok(self.env, *args)

    def refused(self, *args: str) -> str:
        """The command's error output; the test fails unless it failed."""
        proc = cli(self.env, *args)
        assert proc.returncode != 0, f"{args} should have failed: {proc.stdout}"
        return proc.stderr

    @property
    def wallet(self) -> Path:
        return self.home / "wallet.sealed"

    @property
    def key(self) -> Path:
        return self.home / "counselor.key"


@dataclass
class World:
    root: Path
    data: Path
    server: str
    operator: Actor
    counselor: Actor
    reporters: list[Actor]
    #: each reporter's record id (in their wallet) and entry id (on the server), in the order of ``reporters``
    records: list[str] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    match_id: str = ""
    services: list[launcher.Service] = field(default_factory=list)


def wait_for_match(counselor: Actor, released: int, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        found = [x for x in counselor.run("counselor", "matches")["matches"] if x["released"] >= released]
        if found:
            return str(found[0]["match_id"])
        assert time.monotonic() < deadline, "no match was released"
        time.sleep(RELEASE_INTERVAL)


@contextmanager
def deployment(root: Path, *, max_quorum: int = 3, escrow_env: dict[str, str] | None = None
               ) -> Iterator[tuple[Path, str, Actor, list[launcher.Service]]]:
    """(data folder, escrow server URL, the operator, the services) of a running deployment on loopback:
    ``admin init`` at quorum 2 with three key servers (threshold 2), every service a process, the key
    generation published, the release pass every half second. ``escrow_env`` is added to the escrow
    server's environment.

    The quorum range stops at ``max_quorum`` (3 unless a test needs more): the key generation deals
    every level of the range, and at the default range of 2..10 it is most of a world's set-up time.
    """
    data = root / "deploy"
    escrow_port, *ks_ports = launcher.free_ports(4)
    operator = Actor(root / "operator", "operator passphrase")
    operator.run("admin", "init", "--data-dir", str(data), "--quorum", "2", "--max-quorum", str(max_quorum),
                 "--keyservers", "3", "--threshold", "2",
                 "--port", str(escrow_port), "--keyserver-ports", ",".join(map(str, ks_ports)))
    pace = launcher.local_keygen()  # rounds of a second: every key server is a process here, started together
    services = [launcher.keyserver_service(data, i + 1, p, keygen=pace) for i, p in enumerate(ks_ports)]
    services.append(launcher.escrow_service(data, escrow_port))
    env = {"CONSILIENCE_RELEASE_INTERVAL": str(RELEASE_INTERVAL)}
    try:
        for s in services:  # every process starts at once; then each is waited for
            s.spawn(env={**env, **(escrow_env or {})} if s is services[-1] else env)
        for s in services:
            s.wait_healthy()
        operator.run("admin", "publish-keys", "--data-dir", str(data))
        yield data, services[-1].url, operator, services
    finally:
        for s in services:
            s.stop()


def add_counselor(root: Path, data: Path, server: str, operator: Actor, name: str) -> tuple[Actor, str]:
    """keygen, ``admin counselor add``, login: the counselor (home folder named after their first name) and
    their key id."""
    counselor = Actor(root / name.split()[0].lower(), f"{name} passphrase")
    keygen = counselor.run("counselor", "keygen", "--name", name)
    added = operator.run("admin", "counselor", "add", keygen["public_key_file"], "--data-dir", str(data))
    counselor.run("counselor", "login", "--server", server, "--credential", added["credential"])
    return counselor, str(keygen["key_id"])


@contextmanager
def released_match(root: Path) -> Iterator[World]:
    with deployment(root) as (data, server, operator, services):
        counselor = Actor(root / "counselor", "counselor passphrase")
        keygen = counselor.run("counselor", "keygen", "--name", "Robin Counselor")
        added = operator.run("admin", "counselor", "add", keygen["public_key_file"], "--data-dir", str(data))
        counselor.run("counselor", "login", "--server", server, "--credential", added["credential"])
        invites = operator.run("admin", "invite", "--data-dir", str(data), "--count", "3")["invites"]
        reporters = [Actor(root / f"reporter{i + 1}", f"reporter {i + 1} passphrase") for i in range(3)]
        world = World(root, data, server, operator, counselor, reporters, services=services)
        for actor, invite, contact in zip(reporters, invites, CONTACTS, strict=True):
            actor.run("reporter", "register", "--server", server, "--invite", invite,
                      *(["--contact", contact] if contact else []))
            record = actor.run("reporter", "write", "--text", f"What {actor.home.name} remembers.")["record_id"]
            escrowed = actor.run("reporter", "escrow", record, "--name", NAMED)
            world.records.append(record)
            world.entries.append(escrowed["escrow"]["entry_id"])
        world.match_id = wait_for_match(counselor, 3)
        yield world
