"""`consilience reporter readers` and `consilience counselor handover` (PROTOCOL.md §13.6).

``reporter readers RECORD``: each counselor opening of the record's entry, checked against the
transparency log, with the counselor's name from the signed deployment document. ``counselor
handover --to NAME``: re-seal for another counselor every envelope and message key addressed to you
that they lack, so a counselor who leaves or loses their key strands nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from consilience.cli import counselor, reporter
from consilience.cli.common import JSON, PASS_ENV, handled
from consilience.cli.output import console, emit, err_console, on_terminal, untrusted, when

if TYPE_CHECKING:
    from consilience.clients.handover import Progress
    from consilience.clients.readers import Readers

#: Said when a record was read by nobody: the same words whether or not a match exists.
NOBODY = ("No counselor has read record {record} so far. If others name the same person, a counselor will read it "
          "and reach out to you; each reading will then be listed here.")


def _render_readers(found: Readers) -> None:
    from consilience.clients.readers import LOGGED, NOT_VERIFIED

    if not found.readings:
        console.print(NOBODY.format(record=found.record_id), markup=False)
        return
    table = Table("counselor", "read at", "transparency log")
    for r in found.readings:
        name = untrusted(r.counselor) if r.counselor is not None else \
            f"a counselor no longer in this deployment (key {r.key_id})"
        log = {LOGGED: "checked: the log has it", NOT_VERIFIED: f"NOT VERIFIED: {r.problem}"}.get(r.log, r.log)
        table.add_row(name, when(r.opened_at), log)
    console.print(table)
    if any(r.log == NOT_VERIFIED for r in found.readings):
        console.print("[red]A reading's receipt did not verify against this deployment's log.[/] The server may "
                      "be showing something that was never logged; tell the administrator.")
    kept = [r.receipt for r in found.readings if r.receipt]
    if kept:
        console.print(f"The receipts were kept beside your wallet; check one any time with 'consilience verify "
                      f"{escape(kept[-1])}'.")


@reporter.app.command("readers")
@handled
def reporter_readers(record_id: str = typer.Argument(..., help="The record, as 'consilience reporter list' "
                                                                "shows it."),
                     wallet: Path = reporter.WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Who read a record: each counselor who opened it and when, checked against the transparency log."""
    from consilience.clients import readers

    found = readers.readers(reporter._session(wallet, passphrase_env), record_id)
    emit(found, as_json, lambda: _render_readers(found))


@counselor.app.command("handover")
@handled
def counselor_handover(to: str = typer.Option(..., "--to", help="The counselor to hand over to: their name as the "
                                                             "deployment lists it, or their key id."),
                       key: Path = counselor.KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Seal again, for another counselor, every envelope and message key addressed to you that they lack.

    Use it before you leave or when a counselor is added, so that nothing waits on your key alone. You
    read nothing new doing it, and they get only what the deployment already entitles them to.
    """
    from consilience.clients import handover

    keys = counselor._keys(counselor._key_path(key), passphrase_env)
    show = not as_json and on_terminal()

    def progress(done: Progress) -> None:
        if show:
            err_console.print(f"  sealed again so far: {done.envelopes} envelope(s), {done.wraps} message or note "
                              "key(s)", highlight=False)

    result = handover.hand_over(keys, to, progress=progress)

    def render() -> None:
        who = escape(result.to)
        if not result.envelopes and not result.wraps:
            console.print(f"{who} already holds everything addressed to you; nothing needed sealing again.")
        else:
            console.print(f"Handed over to {who}: {result.envelopes} entry envelope(s) and {result.wraps} message "
                          "or note key(s) sealed again for them.")
        if result.unreadable:
            console.print(f"{result.unreadable} item(s) addressed to you did not open with your key (not what an "
                          "honest app sends); they were left as they are.")

    emit(result, as_json, render)
