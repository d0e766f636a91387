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
from consilience.i18n import N_, _

if TYPE_CHECKING:
    from consilience.clients.handover import Progress
    from consilience.clients.readers import Readers

#: Said when a record was read by nobody: the same words whether or not a match exists.
NOBODY = N_("No counselor has read record {record} so far. If others name the same person, a counselor will read it "
          "and reach out to you; each reading will then be listed here.")


def _render_readers(found: Readers) -> None:
    from consilience.clients.readers import LOGGED, NOT_VERIFIED

    if not found.readings:
        console.print(_(NOBODY, record=found.record_id), markup=False)
        return
    table = Table(_("counselor"), _("read at"), _("transparency log"))
    for r in found.readings:
        name = untrusted(r.counselor) if r.counselor is not None else \
            _("a counselor no longer in this deployment (key {key_id})", key_id=r.key_id)
        log = {LOGGED: _("checked: the log has it"),
               NOT_VERIFIED: _("NOT VERIFIED: {problem}", problem=r.problem)}.get(r.log, _(r.log))
        table.add_row(name, when(r.opened_at), log)
    console.print(table)
    if any(r.log == NOT_VERIFIED for r in found.readings):
        console.print(_("[red]A reading's receipt did not verify against this deployment's log.[/] The server may "
                        "be showing something that was never logged; tell the administrator."))
    kept = [r.receipt for r in found.readings if r.receipt]
    if kept:
        console.print(_("The receipts were kept beside your wallet; check one any time with 'consilience verify "
                        "{kept}'.", kept=escape(kept[-1])))


@reporter.app.command("readers",
                      help=_("Who read a record: each counselor who opened it and when, checked against the "
                             "transparency log."))
@handled
def reporter_readers(record_id: str = typer.Argument(..., help=_("The record, as 'consilience reporter list' shows "
                                                                 "it.")),
                     wallet: Path = reporter.WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import readers

    found = readers.readers(reporter._session(wallet, passphrase_env), record_id)
    emit(found, as_json, lambda: _render_readers(found))


@counselor.app.command("handover",
                       help=_("Seal again, for another counselor, every envelope and message key addressed to you that "
                              "they lack.\n\nUse it before you leave or when a counselor is added, so that nothing "
                              "waits on your key alone. You read nothing new doing it, and they get only what the "
                              "deployment already entitles them to."))
@handled
def counselor_handover(to: str = typer.Option(..., "--to", help=_("The counselor to hand over to: their name as "
                                                                  "the deployment lists it, or their key id.")),
                       key: Path = counselor.KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import handover

    keys = counselor._keys(counselor._key_path(key), passphrase_env)
    show = not as_json and on_terminal()

    def progress(done: Progress) -> None:
        if show:
            err_console.print(_("  sealed again so far: {envelopes} envelope(s), {wraps} message or note key(s)",
                                envelopes=done.envelopes, wraps=done.wraps), highlight=False)

    result = handover.hand_over(keys, to, progress=progress)

    def render() -> None:
        who = escape(result.to)
        if not result.envelopes and not result.wraps:
            console.print(_("{who} already holds everything addressed to you; nothing needed sealing again.", who=who))
        else:
            console.print(_("Handed over to {who}: {envelopes} entry envelope(s) and {wraps} message or note "
                            "key(s) sealed again for them.", who=who, envelopes=result.envelopes, wraps=result.wraps))
        if result.unreadable:
            console.print(_("{unreadable} item(s) addressed to you did not open with your key (not what an honest "
                            "app sends); they were left as they are.", unreadable=result.unreadable))

    emit(result, as_json, render)
