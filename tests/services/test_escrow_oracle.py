"""No matching oracle (property (e) of protocol v2, attack 5 of the review), as a reporter would probe for one.

The probe: name person X and watch everything the server shows you — status codes, statuses in the
receipt, list and detail, the receipt's checkpoint size and index, the public log's growth, error
codes, and whether you may still edit or withdraw. Run it twice, once where someone else had
already named X (so the probe's entry is in fact released) and once where nobody had, and compare.
The two runs must be indistinguishable; each run also checks that the release really happened
where it should, so the comparison is not vacuous.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from consilience.clients import receipts
from consilience.protocol.encoding import b64u_decode
from consilience.tlog import checkpoint as cp

from .harness import API, Escrow, build


def checkpoint_size(escrow: Escrow) -> int:
    return cp.parse_signed_checkpoint(escrow.client.get(f"{API}/log/checkpoint").text)[0].size


def receipt_view(escrow: Escrow, answer: dict[str, Any], entry_id: str, kind: str) -> tuple[int, int]:
    result = receipts.check(answer["receipt"], escrow.deployment, b64u_decode(entry_id), kind=kind)
    return result.index, result.tree_size


def probe(tmp_path: Path, *, someone_named_x_first: bool) -> tuple[list[object], str]:
    escrow = build(tmp_path / ("named" if someone_named_x_first else "not-named"))
    seen: list[object] = []
    with escrow.client:
        x = os.urandom(32)
        other = escrow.reporter()
        escrow.submit(other, escrow.submission(tags=[x if someone_named_x_first else os.urandom(32)], quorum=2))
        escrow.run_pass()  # the timer fires between the two reporters' visits
        me = escrow.reporter()
        mine = escrow.submission(tags=[x], quorum=2)
        entry_id = mine["entry_id"]
        before = checkpoint_size(escrow)

        answer = escrow.submit(me, mine)
        seen += [answer.status_code, answer.json()["status"], receipt_view(escrow, answer.json(), entry_id, "entry"),
                 checkpoint_size(escrow) - before]
        escrow.run_pass()
        seen.append(checkpoint_size(escrow) - before)
        stored = escrow.stored_status(entry_id)  # the truth, which the reporter must not see

        listed = escrow.client.get(f"{API}/entries", headers=me.headers).json()
        detail = escrow.client.get(f"{API}/entries/{entry_id}", headers=me.headers).json()
        fresh = escrow.client.get(f"{API}/entries/{entry_id}/receipt", headers=me.headers).json()
        seen += [[e["status"] for e in listed], detail["status"], fresh["status"],
                 receipt_view(escrow, fresh, entry_id, "entry")]
        retry = escrow.submit(me, mine)
        seen += [retry.status_code, retry.json()["status"], receipt_view(escrow, retry.json(), entry_id, "entry")]
        second = escrow.submit(me, escrow.submission(tags=[x]))
        seen += [second.status_code, second.json()["error"]]

        edit = escrow.submission(tags=[x], quorum=3, entry_id=b64u_decode(entry_id))
        edited = escrow.client.put(f"{API}/entries/{entry_id}", json=edit, headers=me.headers)
        seen += [edited.status_code, edited.json()["status"], receipt_view(escrow, edited.json(), entry_id, "entry")]
        escrow.run_pass()
        withdrawn = escrow.client.delete(f"{API}/entries/{entry_id}", headers=me.headers)
        seen += [withdrawn.status_code, withdrawn.json()["status"],
                 receipt_view(escrow, withdrawn.json(), entry_id, "withdrawal")]
        again = escrow.client.put(f"{API}/entries/{entry_id}", json=edit, headers=me.headers)
        seen += [again.status_code, again.json()["error"], checkpoint_size(escrow) - before]
    escrow.db.dispose()
    return seen, stored


def test_a_reporter_cannot_tell_whether_someone_else_named_the_same_person(tmp_path: Path) -> None:
    named, released = probe(tmp_path, someone_named_x_first=True)
    not_named, escrowed = probe(tmp_path, someone_named_x_first=False)
    assert (released, escrowed) == ("released", "escrowed")  # the runs really differ on the server
    assert named == not_named
    assert "released" not in repr(named)
