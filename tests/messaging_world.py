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

from cli_process import ok, person
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
        return json.loads(ok(self.env, *args, "--json"))

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
def released_match(root: Path) -> Iterator[World]:
    data = root / "deploy"
    escrow_port, *ks_ports = launcher.free_ports(4)
    operator = Actor(root / "operator", "operator passphrase")
    operator.run("admin", "init", "--data-dir", str(data), "--quorum", "2", "--keyservers", "3", "--threshold", "2",
                 "--port", str(escrow_port), "--keyserver-ports", ",".join(map(str, ks_ports)))
    services = [launcher.keyserver_service(data, i + 1, p) for i, p in enumerate(ks_ports)]
    services.append(launcher.escrow_service(data, escrow_port))
    try:
        for s in services:
            s.start(env={"CONSILIENCE_RELEASE_INTERVAL": str(RELEASE_INTERVAL)})
        operator.run("admin", "publish-keys", "--data-dir", str(data))
        server = services[-1].url
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
    finally:
        for s in services:
            s.stop()
