"""Disclosures (PROTOCOL.md §14.3): `reporter disclose` and `verify-disclosure`.

``reporter disclose RECORD --out FILE`` writes a file that lets anyone check, without trusting the
operator, that this exact record was in the log by a time and has not changed since; ``--pdf`` adds
a readable copy with the file inside it. ``verify-disclosure FILE`` checks one offline: exit 0 only
if every check passes, 1 with the field and the reason otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from consilience.cli import reporter
from consilience.cli.common import JSON, PASS_ENV, handled
from consilience.cli.output import console, emit, heading, labelled, untrusted, when
from consilience.errors import InvalidInput

if TYPE_CHECKING:
    from consilience.protocol.disclosure import DisclosureCheck

#: What the reporter is told before the file is written: it shows everything the record holds.
WHAT_IT_SHOWS = ("A disclosure shows everything this record holds: its text, its details and attachments, who it "
                 "names and the contact you gave, as you typed them. Give it only to people you choose.")
DOES_NOT_SHOW = ("What it does not show: who wrote the record, or that what it says is true. Compare the "
                 "administrator fingerprint with the one the deployment publishes.")


@reporter.app.command("disclose")
@handled
def disclose(record: str = typer.Argument(..., metavar="RECORD", help="The record, as 'reporter list' shows it."),
             out: Path = typer.Option(..., "--out", help="Where to write the disclosure (.json)."),
             pdf: Path = typer.Option(None, "--pdf", help="Also write a PDF to read and print, with the "
                                                          "disclosure inside it."),
             wallet: Path = reporter.WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    """Export proof of what this record says and when it was in the log, for anyone to check."""
    from consilience.clients import disclosure, disclosure_pdf

    if pdf is not None:
        disclosure_pdf.find_font()  # before anything is fetched: say what to install first
    session = reporter._session(wallet, passphrase_env)
    made = disclosure.export(session, record, out)
    session.save()
    if pdf is not None:
        disclosure_pdf.render(made.check, disclosure.read(out), pdf, server=session.wallet.server)

    def render() -> None:
        console.print(WHAT_IT_SHOWS, markup=False)
        console.print(f"Wrote {out}" + (f" and {pdf}" if pdf else "") + ". It checks on this device.")
        _render_times(made.check)
        if not made.witnessed:
            console.print("No witness has cosigned the log yet, so for now the time rests on the log's word alone. "
                          "Export it again later to add a witness.")

    emit({**made.to_json(), "pdf": None if pdf is None else str(pdf)}, as_json, render)


@handled
def verify_disclosure(
        file: Path = typer.Argument(..., metavar="FILE", help="A disclosure (.json)."),
        pdf: Path = typer.Option(None, "--pdf", help="Also write it as a PDF to read and print."),
        admin_fingerprint: str = typer.Option(None, "--admin-fingerprint",
                                              help="Require this administrator (the fingerprint the deployment "
                                                   "publishes)."),
        as_json: bool = JSON) -> None:
    """Check a disclosure offline: exit 0 only if every check passes."""
    from consilience.clients import disclosure as client
    from consilience.clients import disclosure_pdf, receipts
    from consilience.protocol import disclosure

    if not file.is_file():
        raise InvalidInput(f"There is no file {file}. Check the name and where it was saved.")
    doc = client.read(file)
    fingerprint = None if admin_fingerprint is None else receipts.parse_fingerprint(admin_fingerprint)
    try:
        check = disclosure.verify(doc, admin_fingerprint=fingerprint)
    except disclosure.DisclosureRefused as exc:
        raise disclosure.DisclosureRefused(exc.field, f"{exc.reason}. This disclosure does not check, so what it "
                                           "says cannot be relied on; nothing else was checked.") from None
    if pdf is not None:
        disclosure_pdf.render(check, doc, pdf)
    emit({**check.to_json(), "pdf": None if pdf is None else str(pdf)}, as_json,
         lambda: _render_check(check, fingerprint is not None, pdf))


def _render_times(check: DisclosureCheck) -> None:
    console.print(f"In the log by {when(check.logged_at)} (the log's clock), leaf {check.leaf_index}.")
    for w in check.witnesses:
        console.print(untrusted(f"Seen by witness {w.name} by {when(w.at)}."))


def _render_check(check: DisclosureCheck, pinned: bool, pdf: Path | None) -> None:
    heading("This disclosure checks.")
    console.print(labelled("Record", check.record, multiline=True))
    for key in ("what", "when", "where", "witnesses"):
        if key in check.details:
            console.print(labelled(key.capitalize(), check.details[key], multiline=True))
    console.print(labelled("Names", ", ".join(check.identifiers)))
    console.print(labelled("Contact", check.contact))
    for a in check.attachments:
        console.print(untrusted(f"Attachment {a.name} ({a.type}, {a.size} bytes), SHA-256 {a.sha256}"))
    _render_times(check)
    if not check.witnesses:
        console.print("No witness cosigned the checkpoint it carries: the time rests on the log's word alone.")
    for line in check.checks:
        console.print(untrusted(f"- {line}"))
    console.print(f"Administrator fingerprint: {check.admin_fingerprint}"
                  + (" (the one you gave)." if pinned else "."))
    console.print(DOES_NOT_SHOW, markup=False)
    if pdf is not None:
        console.print(f"Wrote {pdf}.")
