"""Corroboration statements (PROTOCOL.md §14.4): `counselor corroborate`, `reporter consent`,
`verify-corroboration`.

``counselor corroborate MATCH --out FILE`` asks the reporters of a match the counselors talk to whether
their records may be included, and once at least two consented assembles the statement, checks it on
this device and writes it. ``reporter consent`` lists the requests for this wallet's records in plain
words and consents to one. ``verify-corroboration FILE`` checks a statement offline: exit 0 only if
every check passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from consilience.cli import counselor, reporter
from consilience.cli.common import JSON, PASS_ENV, handled
from consilience.cli.output import console, emit, heading, when
from consilience.errors import InvalidInput
from consilience.i18n import N_, _
from consilience.protocol.encoding import b64u_decode, b64u_encode

if TYPE_CHECKING:
    from consilience.clients.corroboration import Assembled, RequestList
    from consilience.protocol.corroboration import CorroborationCheck

#: What a reporter is told before consenting: what a statement shows, and that it holds no text.
WHAT_IT_SHOWS = N_(
    "A counselor is preparing a corroboration statement: a file that lets anyone check that several people, each "
    "with their own account, put a record naming the same person in escrow before any of them could know of the "
    "others. If you consent, it will include your record's sealed form (encrypted, no text: nobody can read it "
    "from the statement), when it was logged, and your signature. It shows that your account is one of them; "
    "someone who guesses the person's name and can use an account here could test that guess against it. "
    "You decide: not answering is fine, and nobody is told.")
#: What ``verify-corroboration`` says a valid statement does not show.
DOES_NOT_SHOW = N_(
    "What it does not show: what anyone wrote (there is no text in it, unless a reporter attached their own "
    "disclosure), or that each account's holder wrote the record they signed for (two accounts working together "
    "could share one). Compare the administrator fingerprint with the one the deployment publishes.")


def _short(value: bytes | str) -> str:
    raw = value if isinstance(value, bytes) else value.encode()
    return raw.hex()[:8] if isinstance(value, bytes) else value[:8]


# -- the counselor ----------------------------------------------------------------------


@counselor.app.command("corroborate",
                       help=_("Ask a match's reporters for a corroboration statement, or write it once at least two "
                              "consented."))
@handled
def corroborate(match: str = typer.Argument(..., metavar="MATCH_ID", show_default=False,
                                            help=_("The match, as 'counselor matches' shows it.")),
                out: Path = typer.Option(..., "--out", help=_("Where to write the statement (a new file).")),
                new: bool = typer.Option(False, "--new", help=_("Ask again, as a new statement (e.g. after writing "
                                                                "to more reporters).")),
                key: Path = counselor.KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import corroboration
    from consilience.clients.counselor import resolve_match_id

    if out.exists():
        raise InvalidInput(_("{out} exists; choose another file name (nothing was asked or written)", out=out))
    keys = counselor._keys(counselor._key_path(key), passphrase_env)
    match_id = resolve_match_id(keys, match)
    asked = corroboration.requests(keys, match_id)
    if new or not asked:
        summary = corroboration.ask(keys, match_id)
        emit({"asked": summary.asked, "consented": 0, "statement_id": summary.statement_id, "written": None},
             as_json, lambda: console.print(
                 _("Asked {asked} reporters whether their records may be included. They are told something is "
                   "waiting, and answer in their own time. Run this command again to write the statement once at "
                   "least 2 have consented.", asked=summary.asked)))
        return
    latest = asked[-1]
    if latest.consented < 2:
        emit({"asked": latest.asked, "consented": latest.consented, "statement_id": latest.statement_id,
              "written": None}, as_json, lambda: console.print(
                  _("{consented} of {asked} reporters have consented so far; a statement needs at least 2. Nothing "
                    "was written. Run this again later.", consented=latest.consented, asked=latest.asked)))
        return
    made = corroboration.assemble(keys, match_id, b64u_decode(latest.statement_id, length=16))
    path = corroboration.write(out, made)
    emit({**made.to_json(), "written": str(path)}, as_json, lambda: _render_assembled(made, path))


def _render_assembled(made: Assembled, path: Path) -> None:
    console.print(_("{k} of {asked} reporters consented; the statement checks and is written to {path}.",
                    k=made.check.k, asked=made.asked, path=escape(str(path))))
    if made.changed:
        console.print(_("{changed} consented but changed or withdrew their record since, so it is left out.",
                        changed=made.changed))
    silent = made.asked - made.consented
    if silent:
        console.print(_("{silent} have not answered (or chose not to); they are not in it.", silent=silent))


# -- the reporter -----------------------------------------------------------------------


@reporter.app.command("consent", help=_("List counselors' requests to include your records in a corroboration "
                                        "statement; consent to one."))
@handled
def consent(request_id: str = typer.Argument(None, metavar="[REQUEST_ID]", show_default=False,
                                             help=_("The request to consent to, as listed (8 characters).")),
            yes: bool = typer.Option(False, "--yes", help=_("Consent without asking to confirm.")),
            wallet: Path = reporter.WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import corroboration

    session = reporter._session(wallet, passphrase_env)
    listed = corroboration.pending(session)
    if request_id is None:
        emit(listed, as_json, lambda: _render_requests(listed))
        return
    chosen = corroboration.find(listed, request_id)
    if chosen.request.consented_at is not None:
        emit({**chosen.to_json(), "consented": True}, as_json,
             lambda: console.print(_("You already consented to this request. Nothing more to do.")))
        return
    if chosen.problem:
        raise InvalidInput(_("This request was not signed: {problem}. Nothing was sent.", problem=chosen.problem))
    if not yes:
        if as_json:
            raise InvalidInput(_("add --yes to consent with --json (nothing was sent)"))
        console.print(_(WHAT_IT_SHOWS), markup=False)
        record = chosen.record.record_id if chosen.record else "?"
        if not typer.confirm(_("Include record {record} in this statement?", record=record), default=False):
            console.print(_("Not included. Nothing was sent."))
            return
    given = corroboration.give_consent(session, chosen)
    emit({**chosen.to_json(), "consented": True, "consented_at": given.model_dump(mode="json")["consented_at"]},
         as_json, lambda: console.print(_("Thank you. Your consent was sent; the counselor can now include this "
                                          "record's sealed form in the statement.")))


def _render_requests(listed: RequestList) -> None:
    if not listed.requests:
        console.print(_("No counselor has asked to include your records in a corroboration statement."))
        return
    console.print(_(WHAT_IT_SHOWS), markup=False)
    table = Table(_("request"), _("record"), _("asked"), _("answer"))
    for r in listed.requests:
        answer = _("consented") if r.request.consented_at else (
            _("cannot be signed: {problem}", problem=r.problem) if r.problem else _("waiting for you"))
        table.add_row(r.short_id, r.record.record_id if r.record else "-", when(r.request.asked_at), answer)
    console.print(table)
    console.print(_("To consent: consilience reporter consent REQUEST"))


# -- anyone -----------------------------------------------------------------------------


@handled
def verify_corroboration(
        statement: Path = typer.Argument(..., metavar="FILE", help=_("A corroboration statement (.json).")),
        disclosure: list[Path] = typer.Option([], "--disclosure",
                                              help=_("A reporter's own disclosure of one of its records, to check "
                                                     "with it (may be given several times).")),
        admin_fingerprint: str = typer.Option(None, "--admin-fingerprint",
                                              help=_("Require this administrator (the fingerprint the deployment "
                                                     "publishes).")),
        as_json: bool = JSON) -> None:
    from consilience.clients import receipts
    from consilience.protocol import corroboration as co

    doc = _read_json(statement, _("a corroboration statement"))
    extra = [_read_json(p, _("a disclosure")) for p in disclosure]
    if extra:
        if not isinstance(doc, dict) or not isinstance(doc.get("disclosures"), list):
            raise InvalidInput(_("{statement} is not a corroboration statement (it has no list of disclosures)",
                                 statement=statement))
        doc = {**doc, "disclosures": [*doc["disclosures"], *extra]}
    fingerprint = None if admin_fingerprint is None else receipts.parse_fingerprint(admin_fingerprint)
    check = co.verify(doc, expected_fingerprint=fingerprint)
    emit(check, as_json, lambda: _render_check(check))


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidInput(_("{path} could not be read as {what} ({exc})", path=path, what=what, exc=exc)) from None


def _render_check(check: CorroborationCheck) -> None:
    heading(_("This corroboration statement checks"))
    console.print(
        _("k = {k}: {k} distinct accounts, each certified by the administrator {fingerprint} (deployment document "
          "serial {serial}), each signed that their record, naming the same person (tag {tag}…), was in "
          "the log before the match was released.", k=check.k, fingerprint=b64u_encode(check.admin_fingerprint),
          serial=check.deployment.serial, tag=b64u_encode(check.tag)[:11]), markup=False)
    table = Table(_("record"), _("in the log by"), _("log leaf"), _("account"), _("disclosure"))
    for e in check.entries:
        table.add_row(_short(e.entry_id), when(e.logged_at), str(e.leaf_index), _short(e.account_key),
                      _("attached, checks") if e.disclosed else "-")
    console.print(table)
    console.print(_("The match was released at {release_at} (log leaf {release_index}, {released} records "
                    "released), after every record above.", release_at=when(check.release_at),
                    release_index=check.release_index, released=check.released), markup=False)
    console.print(_("All of it is in the log {origin} at size {tree_size}.",
                    origin=check.origin, tree_size=check.tree_size), markup=False)
    if check.witnesses:
        for w in check.witnesses:
            console.print(_("Seen by witness {name} by {when_seconds}.",
                            name=w.name, when_seconds=when_seconds(w.timestamp)), markup=False)
    else:
        console.print(_("No witness is listed in this deployment: the order of the log rests on the log's own "
                        "signature."), markup=False)
    console.print(_(DOES_NOT_SHOW), markup=False)


def when_seconds(timestamp: int) -> str:
    from datetime import UTC, datetime

    return when(datetime.fromtimestamp(timestamp, UTC))
