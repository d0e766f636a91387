"""The escrow server without its database: a prompt 503, then recovery with nothing lost.

PROTOCOL.md §9: a database that cannot be reached is answered 503
``{"error": "unavailable", …}`` with Retry-After, never 500, and never a
request that hangs. Three ways to lose it:

* PostgreSQL shut down (connections cut and refused), then started again,
  while a reporter keeps submitting;
* PostgreSQL that accepts connections but never answers (its postmaster
  stopped with SIGSTOP, the server's pooled sessions terminated);
* SQLite locked by another process (``BEGIN EXCLUSIVE``) for longer than
  the busy timeout, with several writers queued behind it.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

import pg_cluster
from consilience.protocol import accounts
from consilience.storage import database

from . import (
    HTTP_TIMEOUT,
    Site,
    b64,
    check_store,
    local_cluster,
    make_site,
    register,
    same_content,
    sqlite_checks,
    start_all,
    start_with_busy_timeout,
    submission,
    wait_healthy,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

#: How long an answer may take when the database is gone (no connection to wait for).
PROMPT = 5.0


@pytest.fixture(scope="module")
def postgres() -> Iterator[pg_cluster.LocalCluster]:
    yield from local_cluster()


def _call(url: str, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None,
          params: dict[str, Any] | None = None) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = httpx.request(method, url + path, json=json, headers=headers, params=params, timeout=HTTP_TIMEOUT)
    return answer, time.monotonic() - started


def _assert_unavailable(answer: httpx.Response, what: str) -> None:
    assert answer.status_code == 503, f"{what}: {answer.status_code} {answer.text}"
    body = answer.json()
    assert body["error"] == "unavailable" and body["detail"], f"{what}: {body}"
    assert int(answer.headers["Retry-After"]) > 0, what


def registration(seed: bytes, deployment_id: bytes) -> dict[str, str]:
    return {"account_key": b64(accounts.account_key(seed)),
            "proof": b64(accounts.registration_proof(seed, deployment_id))}


def _probes(headers: dict[str, str], stored_id: str, new_payload: dict[str, Any],
            deployment_id: bytes) -> list[tuple[str, str, dict[str, Any]]]:
    """One request per kind of endpoint that needs the database."""
    return [
        ("POST", "/v2/entries", {"json": new_payload, "headers": headers}),
        ("GET", "/v2/entries", {"headers": headers}),
        ("GET", f"/v2/entries/{stored_id}", {"headers": headers}),
        ("GET", f"/v2/entries/{stored_id}/receipt", {"headers": headers}),
        ("POST", "/v2/register", {"json": registration(os.urandom(32), deployment_id)}),
        ("GET", "/v2/board/1", {}),
        ("GET", "/v2/log/checkpoint", {}),
        ("GET", "/v2/log/consistency", {"params": {"old": 1, "new": 2}}),
        ("GET", "/healthz", {}),
    ]


class Writer(threading.Thread):
    """A reporter submitting steadily (bounded) while the database comes and goes."""

    def __init__(self, site: Site, headers: dict[str, str], rng: random.Random, limit: int = 400) -> None:
        super().__init__(daemon=True)
        self.site, self.headers, self.rng, self.limit = site, headers, rng, limit
        self.results: list[tuple[dict[str, Any], int, dict[str, Any]]] = []
        self.halt = threading.Event()
        #: set once a submission was refused with 503: the writer has met the outage
        self.refused = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.site.url, headers=self.headers, timeout=HTTP_TIMEOUT) as http:
            for _ in range(self.limit):
                if self.halt.is_set():
                    return
                payload = submission(self.site, self.rng)
                try:
                    answer = http.post("/v2/entries", json=payload)
                except httpx.HTTPError as exc:  # the server itself stays up: this is a failure
                    self.results.append((payload, 0, {"error": repr(exc)}))
                    return
                self.results.append((payload, answer.status_code, answer.json()))
                if answer.status_code == 503:
                    self.refused.set()
                time.sleep(0.02)


def test_postgres_shut_down_and_back(postgres: pg_cluster.LocalCluster, tmp_path: Path) -> None:
    site = make_site(tmp_path / "deploy", database_url=pg_cluster.fresh_database(postgres.url))
    rng = random.Random()
    try:
        start_all([site.escrow])
        reporter, steady = register(site, 2)
        before = [submission(site, rng) for _ in range(3)]
        for payload in before:
            assert _call(site.url, "POST", "/v2/entries", json=payload, headers=reporter)[0].status_code == 201
        writer = Writer(site, steady, random.Random())
        writer.start()
        time.sleep(0.3)

        postgres.stop()
        try:
            refused = submission(site, rng)
            probes = _probes(reporter, before[0]["entry_id"], refused, site.deployment.deployment_id)
            for method, path, kwargs in probes:
                answer, elapsed = _call(site.url, method, path, **kwargs)
                _assert_unavailable(answer, f"{method} {path}")
                assert elapsed < PROMPT, f"{method} {path} took {elapsed:.1f}s"
            assert _call(site.url, "GET", "/v2/deployment")[0].status_code == 200  # a file, no database
            # the database stays down until the writer met the outage: on a busy machine its requests (each
            # waiting a moment for the log's integrator) can be few, and a fixed pause could miss it
            assert writer.refused.wait(30), "the steady writer was never refused while PostgreSQL was down"
        finally:
            postgres.start()
        wait_healthy(site.url, 20)
        time.sleep(0.3)
        writer.halt.set()
        writer.join(HTTP_TIMEOUT + 5)
        assert not writer.is_alive()

        statuses = [status for _, status, _ in writer.results]
        assert set(statuses) <= {201, 503}, [(s, a) for _, s, a in writer.results if s not in (201, 503)][:3]
        assert 503 in statuses and statuses[-1] == 201, statuses  # it saw the outage and the recovery
        for _, status, answer in writer.results:
            if status == 503:
                assert answer["error"] == "unavailable"

        # Nothing acknowledged is lost; what was refused is sent again and accepted once.
        with httpx.Client(base_url=site.url, timeout=HTTP_TIMEOUT) as http:
            for payload in before:
                got = http.get(f"/v2/entries/{payload['entry_id']}", headers=reporter)
                assert got.status_code == 200 and same_content(got.json(), payload)
            assert http.get(f"/v2/entries/{refused['entry_id']}", headers=reporter).status_code == 404
            assert http.post("/v2/entries", json=refused, headers=reporter).status_code == 201
            for payload, status, _ in writer.results:
                again = http.post("/v2/entries", json=payload, headers=steady)
                # A 503 on COMMIT leaves the outcome unknown to the server too; a retry settles it.
                assert again.status_code in ((200,) if status == 201 else (200, 201)), again.text
        expected = {p["entry_id"]: p for p in [*before, refused, *(p for p, _, _ in writer.results)]}
        check_store(site, expected)
    finally:
        site.stop()


def test_postgres_not_answering_is_a_bounded_503(postgres: pg_cluster.LocalCluster, tmp_path: Path) -> None:
    import psycopg

    url = pg_cluster.fresh_database(postgres.url)
    name = url.rsplit("/", 1)[1]
    site = make_site(tmp_path / "deploy", database_url=url)
    rng = random.Random()
    try:
        start_all([site.escrow])
        (reporter,) = register(site, 1)
        first = submission(site, rng)
        assert _call(site.url, "POST", "/v2/entries", json=first, headers=reporter)[0].status_code == 201
        waiting = submission(site, rng)
        bound = database.POSTGRES_CONNECT_TIMEOUT_S + PROMPT
        with psycopg.connect(postgres.url.replace("+psycopg", ""), autocommit=True) as admin_session:
            postgres.freeze()
            try:
                # The server's sessions end; a new one reaches a postmaster that never answers.
                admin_session.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
                with ThreadPoolExecutor(2) as pool:
                    post = pool.submit(_call, site.url, "POST", "/v2/entries", json=waiting, headers=reporter)
                    get = pool.submit(_call, site.url, "GET", f"/v2/entries/{first['entry_id']}", headers=reporter)
                    for what, future in (("POST", post), ("GET", get)):
                        try:
                            answer, elapsed = future.result(timeout=HTTP_TIMEOUT + 5)
                        except httpx.TimeoutException:
                            pytest.fail(f"{what} hung for {HTTP_TIMEOUT}s on a database that does not answer")
                        _assert_unavailable(answer, what)
                        assert elapsed < bound, f"{what} took {elapsed:.1f}s"
            finally:
                postgres.thaw()
        wait_healthy(site.url, 20)
        with httpx.Client(base_url=site.url, headers=reporter, timeout=HTTP_TIMEOUT) as http:
            assert http.get(f"/v2/entries/{waiting['entry_id']}").status_code == 404
            assert http.post("/v2/entries", json=waiting).status_code == 201
            assert http.post("/v2/entries", json=first).status_code == 200
        check_store(site, {p["entry_id"]: p for p in (first, waiting)})
    finally:
        site.stop()


BUSY_MS = 1000  # the server's SQLite busy timeout in this test (30 s in production)
HOLD = 6.0  # seconds the other process holds the database: longer than any bounded wait below
WRITERS = 6


def test_sqlite_locked_by_another_process(tmp_path: Path) -> None:
    site = make_site(tmp_path / "deploy")
    rng = random.Random()
    assert site.sqlite_path is not None
    try:
        start_with_busy_timeout(site.escrow, BUSY_MS)
        reporters = register(site, WRITERS)
        acked = {}
        for headers in reporters[:2]:
            payload = submission(site, rng)
            assert _call(site.url, "POST", "/v2/entries", json=payload, headers=headers)[0].status_code == 201
            acked[payload["entry_id"]] = payload
        queued = [(h, submission(site, rng)) for h in reporters]

        holder = sqlite3.connect(site.sqlite_path, timeout=5, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            locked_at = time.monotonic()
            with ThreadPoolExecutor(WRITERS + 2) as pool:
                posts = [pool.submit(_call, site.url, "POST", "/v2/entries", json=p, headers=h) for h, p in queued]
                reads = [pool.submit(_call, site.url, "GET", "/v2/entries", headers=reporters[0]),
                         pool.submit(_call, site.url, "GET", "/v2/log/checkpoint")]
                for future in reads:  # WAL: readers are not blocked by the writer lock: they are answered while it
                    # is still held (it is released only after both answers), where a blocked one would be refused
                    answer, elapsed = future.result(timeout=HTTP_TIMEOUT)
                    assert answer.status_code == 200, (answer.status_code, elapsed)
                time.sleep(max(0.0, HOLD - (time.monotonic() - locked_at)))
                holder.rollback()
                answers = [f.result(timeout=HTTP_TIMEOUT) for f in posts]
        finally:
            holder.close()

        # Each writer got an answer within lock wait + busy timeout, not its place in a queue of them.
        # (a queue of six would answer at 6 s and after, once the lock is released; a busy machine adds a second)
        bound = 2 * BUSY_MS / 1000 + 2.0
        slow = [round(elapsed, 1) for _, elapsed in answers if elapsed > bound]
        assert not slow, f"writers queued behind a locked database answered after {slow}s (bound {bound}s)"
        refused = [p for (_, p), (answer, _) in zip(queued, answers, strict=False) if answer.status_code == 503]
        assert refused, "no write was refused although the database was locked throughout"
        for (_, payload), (answer, _) in zip(queued, answers, strict=False):
            if answer.status_code == 503:
                _assert_unavailable(answer, "POST /v1/entries")
            else:
                assert answer.status_code == 201, answer.text
                acked[payload["entry_id"]] = payload

        with httpx.Client(base_url=site.url, timeout=HTTP_TIMEOUT) as http:
            for headers, payload in queued:
                if payload in refused:
                    assert http.get(f"/v2/entries/{payload['entry_id']}", headers=headers).status_code == 404
                    assert http.post("/v2/entries", json=payload, headers=headers).status_code == 201
                    acked[payload["entry_id"]] = payload
        check_store(site, acked)
        sqlite_checks(site.sqlite_path)
    finally:
        site.stop()
