"""Two release passes at once on one PostgreSQL database never release twice (issue 15).

Several processes serving one escrow each run a release pass on their own timer; here two threads
do, each with its own application state (its own engine: what two processes have), over the same
queued tags, round after round while reporters keep naming the same person. Each pass's
transactions take ``exclusive(RELEASE_PASS_LOCK)``: whatever the interleaving, there is one match,
each count reported once, and it ends with every entry released.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from sqlalchemy import func, select

import pg_cluster
from consilience.services.escrow import releases
from consilience.services.escrow.app import create_app
from consilience.storage.models import Entry, Match
from consilience.storage.repository import MatchChange

from .harness import build


def test_two_concurrent_passes_never_release_twice(tmp_path: Path, postgres_admin_url: str) -> None:
    escrow = build(tmp_path / "data", database_url=pg_cluster.fresh_database(postgres_admin_url))
    other = create_app(escrow.settings, notifier=escrow.state.notifier, migrate=False, release_pass=False)
    states = [escrow.state, other.state.escrow]
    tag = os.urandom(32)
    changes: list[MatchChange] = []
    lock = threading.Lock()
    with escrow.client:
        reporters = [escrow.reporter() for _ in range(9)]
        for round_ in range(3):
            for reporter in reporters[3 * round_:3 * round_ + 3]:
                assert escrow.submit(reporter, escrow.submission(tags=[tag], quorum=2)).status_code == 201
            start = threading.Barrier(2)

            def one_pass(i: int, start: threading.Barrier = start) -> None:
                start.wait()
                result = releases.run_pass(states[i])
                with lock:
                    changes.extend(result.changes)

            threads = [threading.Thread(target=one_pass, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        with escrow.db.read() as session:
            matches = session.scalars(select(Match.match_id)).all()
            released = session.scalar(select(func.count()).select_from(Entry).where(Entry.status == "released"))
        assert len(matches) == 1 and released == 9
        assert sorted(c.released for c in changes) == [3, 6, 9]  # one release event per growth, none twice
        assert [c.created for c in changes].count(True) == 1
    other.state.escrow.db.dispose()
    escrow.db.dispose()
