"""`consilience counselor cases|case|link|note|notes`: case work after a match (PROTOCOL.md §13.5).

A case is what counselors do about one person: who owns it, how far it got, which matches name that
person, and notes only the deployment's counselors can read (sealed and opened on this device). The
list puts what needs attention first and says in words why. Names, states and notes come from the
server or from colleagues: they are printed through ``untrusted``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from rich.text import Text

from consilience.cli.common import JSON, PASS_ENV, handled
from consilience.cli.counselor import KEY, _key_path, _keys, app
from consilience.cli.output import console, emit, heading, labelled, untrusted, visible, when
from consilience.errors import InvalidInput
from consilience.i18n import N_, _, _n
from consilience.protocol.encoding import b64u_encode

if TYPE_CHECKING:
    from consilience.clients.cases import CaseList, CaseResult, NoteAdded, NoteList
    from consilience.protocol.messages import Case

CASE_ARG = typer.Argument(..., metavar="CASE", show_default=False,
                          help=_("The case, as 'counselor cases' shows it: its 32 characters (0-9, a-f), or the "
                                 "first 6 or more when no other case starts the same way."))
STATE_WORDS = {"new": N_("new"), "reaching_out": N_("reaching out"), "in_contact": N_("in contact"),
               "closed": N_("closed")}
#: The most a note read from --file may be (the sealed note is bounded by the server too).
MAX_NOTE_BYTES = 1024 * 1024


def needs(case: Case, now: datetime | None = None) -> str:
    """Why a case is where it is in the list, in words."""
    now = now or datetime.now(UTC)
    reasons = []
    if case.overdue:
        waited = max(0, int((now - case.created_at).total_seconds() // 86400))
        reasons.append(_n("no one has reached out for {n} day", "no one has reached out for {n} days", waited))
    if case.owner is None and case.state != "closed":
        reasons.append(_("no one owns it"))
    if case.waiting_reply:
        reasons.append(_("a reporter wrote and waits for an answer"))
    return "; ".join(reasons)


def _matches_cell(case: Case) -> str:
    from consilience.clients.counselor import match_hex

    return ", ".join(_("{match} ({released} released)", match=match_hex(x.match_id)[:8], released=x.released)
                     for x in case.matches)


def _render_cases(found: CaseList) -> None:
    from consilience.clients.cases import case_hex

    if not found.cases:
        console.print(_("No cases yet: a case starts with a match."))
        return
    table = Table(_("case"), _("state"), _("owner"), _("matches"), _("needs attention"), _("since"))
    for c in found.cases:
        style = "bold red" if c.overdue else ""
        table.add_row(case_hex(c.case_id), _(STATE_WORDS[c.state]), untrusted(c.owner or _("no one")),
                      _matches_cell(c),
                      Text(needs(c), style=style), when(c.created_at))
    console.print(table)
    console.print(_("Most urgent first. Take one with 'consilience counselor case CASE --take' (its first 6 "
                    "characters are enough)."))


def _render_case(result: CaseResult) -> None:
    from consilience.clients.cases import case_hex
    from consilience.clients.counselor import match_hex

    c = result.case
    heading(_("case {case_hex}", case_hex=case_hex(c.case_id)))
    console.print(_("State: {state}", state=_(STATE_WORDS[c.state])), markup=False)
    console.print(labelled(_("Owner"), c.owner or _("no one")))
    for x in c.matches:
        console.print(_("Match {match_hex}: {released} released, since {created_at}",
                        match_hex=match_hex(x.match_id), released=x.released, created_at=when(x.created_at)),
                      markup=False)
    if c.reached_out_at is not None:
        console.print(_("Reached out: {reached_out_at}", reached_out_at=when(c.reached_out_at)), markup=False)
    reason = needs(c)
    if reason:
        console.print(Text(_("Needs attention: {reason}", reason=reason), style="bold red" if c.overdue else "bold"))


@app.command("cases",
             help=_("Every case, most urgent first: overdue, unowned, new, a reporter waiting, reaching out, in "
                    "contact, closed."))
@handled
def counselor_cases(key: Path = KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import cases

    found = cases.list_cases(_keys(_key_path(key), passphrase_env))
    emit(found, as_json, lambda: _render_cases(found))


@app.command("case", help=_("Show a case, or take it, give it to someone, or say how far it got."))
@handled
def counselor_case(case_id: str = CASE_ARG,
                   take: bool = typer.Option(False, "--take", help=_("Make it yours.")),
                   owner: str = typer.Option(None, "--owner", metavar="NAME|none",
                                             help=_("Give it to the counselor with this name, or to no one (none).")),
                   state: str = typer.Option(None, "--state", metavar="reaching_out|in_contact|closed|new",
                                             help=_("How far it got.")),
                   key: Path = KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import cases

    if state is not None and state not in cases.STATES:
        raise InvalidInput(_("--state is one of {states}, not {state}",
                             states=', '.join(cases.STATES), state=repr(visible(state))))
    keys = _keys(_key_path(key), passphrase_env)
    wanted = cases.resolve_case_id(keys, case_id)
    if not take and owner is None and state is None:
        found = [c for c in cases.list_cases(keys).cases if c.case_id == b64u_encode(wanted)]
        if not found:
            raise InvalidInput(_("There is no case {hex}. 'consilience counselor cases' lists them.",
                                 hex=wanted.hex()))
        result = cases.CaseResult(found[0])
    else:
        result = cases.update_case(keys, wanted, take=take, owner=owner, state=state)
    emit(result, as_json, lambda: _render_case(result))


@app.command("link",
             help=_("The match names this case's person too (by another email, handle...): its case joins this one."))
@handled
def counselor_link(case_id: str = CASE_ARG,
                   match_id: str = typer.Argument(..., metavar="MATCH", show_default=False,
                                                  help=_("A match that names the same person, as 'counselor "
                                                         "matches' shows it.")),
                   key: Path = KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import cases, counselor

    keys = _keys(_key_path(key), passphrase_env)
    result = cases.link(keys, cases.resolve_case_id(keys, case_id), counselor.resolve_match_id(keys, match_id))
    emit(result, as_json, lambda: _render_case(result))


def _note_text(text: str | None, file: Path | None) -> str:
    if (text is None) == (file is None):
        raise InvalidInput(_("give the note with --text or with --file (one of them)"))
    if file is not None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise InvalidInput(_("cannot read {file}: {error}", file=visible(str(file)),
                                   error=exc.strerror or exc)) from None
        if len(data) > MAX_NOTE_BYTES:
            raise InvalidInput(_("{file} is more than {count} KiB; a note is text",
                                 file=visible(str(file)), count=MAX_NOTE_BYTES // 1024))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(_("{file} is not UTF-8 text; a note is text", file=visible(str(file)))) from None
    assert text is not None
    if not text.strip():
        raise InvalidInput(_("the note is empty"))
    return text


@app.command("note", help=_("Add a note to a case, sealed here so only the deployment's counselors can read it."))
@handled
def counselor_note(case_id: str = CASE_ARG,
                   text: str = typer.Option(None, "--text", help=_("The note (visible in your shell history: "
                                                                   "prefer --file).")),
                   file: Path = typer.Option(None, "--file", help=_("Read the note from this file (UTF-8 text).")),
                   key: Path = KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import cases

    note = _note_text(text, file)
    keys = _keys(_key_path(key), passphrase_env)
    added = cases.add_note(keys, cases.resolve_case_id(keys, case_id), note)
    emit(added, as_json, lambda: _render_added(added))


def _render_added(added: NoteAdded) -> None:
    console.print(Text.assemble(_("Note added, readable by "), untrusted(", ".join(added.sealed_to)), "."))


@app.command("notes", help=_("A case's notes, opened on this device; each is checked to be signed by a counselor of "
                             "this deployment."))
@handled
def counselor_notes(case_id: str = CASE_ARG, key: Path = KEY, passphrase_env: str = PASS_ENV,
                    as_json: bool = JSON) -> None:
    from consilience.clients import cases

    keys = _keys(_key_path(key), passphrase_env)
    found = cases.read_notes(keys, cases.resolve_case_id(keys, case_id))
    emit(found, as_json, lambda: _render_notes(found))


def _render_notes(found: NoteList) -> None:
    from consilience.clients.cases import case_hex

    if not found.notes and not found.failed:
        console.print(_("No notes on case {case_hex} yet.", case_hex=case_hex(found.case_id)), markup=False)
    for n in found.notes:
        moved = _(" (written in case {case}, since linked)", case=case_hex(n.written_in)) if n.written_in else ""
        heading(Text.assemble(untrusted(n.author), f" — {when(n.written_at)}{moved}"))
        console.print(untrusted(n.text, multiline=True))
    for note_id, why in found.failed.items():
        console.print(Text.assemble((_("note {note_id} could not be read:", note_id=visible(note_id)), "yellow"), " ",
                                    untrusted(why)))
