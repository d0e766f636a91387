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
from consilience.i18n import N_, _

if TYPE_CHECKING:
    from consilience.protocol.disclosure import DisclosureCheck

#: What the reporter is told before the file is written: it shows everything the record holds.
WHAT_IT_SHOWS = N_("A disclosure shows everything this record holds: its text, its details and attachments, who it "
                 "names and the contact you gave, as you typed them. Give it only to people you choose.")
DOES_NOT_SHOW = N_("What it does not show: who wrote the record, or that what it says is true. Compare the "
                 "administrator fingerprint with the one the deployment publishes.")


@reporter.app.command("disclose",
                      help=_("Export proof of what this record says and when it was in the log, for anyone to check."))
@handled
def disclose(record: str = typer.Argument(..., metavar="RECORD", help=_("The record, as 'reporter list' shows it.")),
             out: Path = typer.Option(..., "--out", help=_("Where to write the disclosure (.json).")),
             pdf: Path = typer.Option(None, "--pdf", help=_("Also write a PDF to read and print, with the "
                                                            "disclosure inside it.")),
             wallet: Path = reporter.WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import disclosure, disclosure_pdf

    if pdf is not None:
        disclosure_pdf.find_font()  # before anything is fetched: say what to install first
    session = reporter._session(wallet, passphrase_env)
    made = disclosure.export(session, record, out)
    session.save()
    if pdf is not None:
        disclosure_pdf.render(made.check, disclosure.read(out), pdf, server=session.wallet.server)

    def render() -> None:
        console.print(_(WHAT_IT_SHOWS), markup=False)
        console.print(_("Wrote {out}", out=out) + (_(" and {pdf}", pdf=pdf) if pdf else "") + _(". It checks on "
                                                                                                "this device."))
        _render_times(made.check)
        if not made.witnessed:
            console.print(_("No witness has cosigned the log yet, so for now the time rests on the log's word "
                            "alone. Export it again later to add a witness."))

    emit({**made.to_json(), "pdf": None if pdf is None else str(pdf)}, as_json, render)


@handled
def verify_disclosure(
        file: Path = typer.Argument(..., metavar="FILE", help=_("A disclosure (.json).")),
        pdf: Path = typer.Option(None, "--pdf", help=_("Also write it as a PDF to read and print.")),
        admin_fingerprint: str = typer.Option(None, "--admin-fingerprint",
                                              help=_("Require this administrator (the fingerprint the deployment "
                                                     "publishes).")),
        as_json: bool = JSON) -> None:
    from consilience.clients import disclosure as client
    from consilience.clients import disclosure_pdf, receipts
    from consilience.protocol import disclosure

    if not file.is_file():
        raise InvalidInput(_("There is no file {file}. Check the name and where it was saved.", file=file))
    doc = client.read(file)
    fingerprint = None if admin_fingerprint is None else receipts.parse_fingerprint(admin_fingerprint)
    try:
        check = disclosure.verify(doc, admin_fingerprint=fingerprint)
    except disclosure.DisclosureRefused as exc:
        raise disclosure.DisclosureRefused(exc.field, _("{reason}. This disclosure does not check, so what it says "
                                                        "cannot be relied on; nothing else was checked.",
                                                        reason=exc.reason)) from None
    if pdf is not None:
        disclosure_pdf.render(check, doc, pdf)
    emit({**check.to_json(), "pdf": None if pdf is None else str(pdf)}, as_json,
         lambda: _render_check(check, fingerprint is not None, pdf))


def _render_times(check: DisclosureCheck) -> None:
    console.print(_("In the log by {logged_at} (the log's clock), leaf {leaf_index}.",
                    logged_at=when(check.logged_at), leaf_index=check.leaf_index))
    for w in check.witnesses:
        console.print(untrusted(_("Seen by witness {name} by {at}.", name=w.name, at=when(w.at))))


def _render_check(check: DisclosureCheck, pinned: bool, pdf: Path | None) -> None:
    heading(_("This disclosure checks."))
    console.print(labelled(_("Record"), check.record, multiline=True))
    for key in ("what", "when", "where", "witnesses"):
        if key in check.details:
            console.print(labelled(key.capitalize(), check.details[key], multiline=True))
    console.print(labelled(_("Names"), ", ".join(check.identifiers)))
    console.print(labelled(_("Contact"), check.contact))
    for a in check.attachments:
        console.print(untrusted(_("Attachment {name} ({type}, {size} bytes), SHA-256 {sha256}",
                                  name=a.name, type=a.type, size=a.size, sha256=a.sha256)))
    _render_times(check)
    if not check.witnesses:
        console.print(_("No witness cosigned the checkpoint it carries: the time rests on the log's word alone."))
    for line in check.checks:
        console.print(untrusted(f"- {line}"))
    console.print(_("Administrator fingerprint: {admin_fingerprint}", admin_fingerprint=check.admin_fingerprint)
                  + (_(" (the one you gave).") if pinned else "."))
    console.print(_(DOES_NOT_SHOW), markup=False)
    if pdf is not None:
        console.print(_("Wrote {pdf}.", pdf=pdf))
