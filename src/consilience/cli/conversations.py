"""After a match: `consilience reporter messages|reply|reveal|introductions|accept|decline|group` and
`consilience counselor message|conversation|introduce|group` (PROTOCOL.md §13).

Every message is sealed and opened on this device (``consilience.clients.conversations``); what someone else
wrote (messages, names, contacts, file names, the reasons a message was refused) is printed through
``untrusted``. The commands are added to the existing ``reporter`` and ``counselor`` groups.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from consilience.cli import counselor as counselor_cli
from consilience.cli import reporter as reporter_cli
from consilience.cli.common import JSON, PASS_ENV, handled
from consilience.cli.output import console, emit, heading, labelled, untrusted, visible, when
from consilience.errors import InvalidInput
from consilience.i18n import N_, _, _n

if TYPE_CHECKING:
    from consilience.clients.conversations import (
        ConversationList,
        ConversationView,
        GroupView,
        IntroductionList,
        MatchConversations,
        Message,
        Proposed,
        Sent,
    )

#: Asked before a reporter's contact is sent (unless --yes).
REVEAL_QUESTION = N_("The counselors will see this. Send it?")

TEXT = typer.Option(None, "--text", help=_("The message (visible in your shell history: prefer --file)."))
FILE = typer.Option(None, "--file", help=_("Read the message from this file (plain text)."))
ATTACH = typer.Option([], "--attach", help=_("Attach a file (repeat for more); a message holds about 3 MiB of files."))
SAVE = typer.Option(None, "--save-attachments", help=_("Save the messages' attached files in this folder."))


def _message_text(text: str | None, file: Path | None, attachments: bool) -> str:
    if text is not None and file is not None:
        raise InvalidInput(_("Give the message with --text or with --file, not both."))
    if file is not None:
        return reporter_cli._read_text_file(file)
    if text is None and not attachments:
        raise InvalidInput(_("Give the message with --text or --file (or attach a file with --attach)."))
    return text or ""


def _who(x: Message) -> Text:
    if x.author == "you":
        return Text(_("you"), style="bold")
    if x.author == "reporter":
        return Text(_("the reporter"), style="bold")
    label = _("counselor ") if x.author == "counselor" else ""
    return Text.assemble((label, "bold"), untrusted(x.name, style="bold"))


def _render_message(x: Message) -> None:
    console.print(Text.assemble(_who(x), f"  {when(x.sent_at)}"))
    if x.type == "reveal":
        console.print(labelled(_("Contact revealed"), x.contact or ""))
    elif x.type == "introduction":
        from consilience.clients.conversations import introduction_hex

        console.print(Text(_("Proposes an introduction ({introduction_hex}):",
                             introduction_hex=introduction_hex(x.introduction or '')), style="italic"))
    elif x.type == "roster":
        console.print(labelled(_("In the group"), ", ".join(x.members)))
    if x.text:
        console.print(untrusted(x.text, multiline=True))
    for a in x.attachments:
        where = f" → {a.saved_to}" if a.saved_to is not None else ""
        console.print(labelled(_("Attached"), _("{name} ({type}, {size} bytes){where}",
                                             name=a.name, type=a.type, size=a.size, where=where)))


def _render_view(view: ConversationView, title: str) -> None:
    heading(title)
    if view.kind == "group":
        console.print(labelled(_("Members"), ", ".join(view.members)) if view.members
                      else Text(_("The counselor has not confirmed the group's members yet.")))
    if not view.messages and not view.refused:
        console.print(_("No messages yet."))
    for x in view.messages:
        _render_message(x)
        console.print("")
    if view.not_for_you:
        n = view.not_for_you
        console.print(_n("{n} earlier message was not sealed to your key (written before you could read them).",
                         "{n} earlier messages were not sealed to your key (written before you could read them).", n))
    for r in view.refused:
        console.print(Text.assemble((_("Message {seq} refused and not shown:", seq=r.seq), "bold red"), " ",
                                    untrusted(r.reason), _(". The server may have changed or added it; tell the "
                                                           "administrator.")))


def _saved(view: ConversationView, folder: Path | None) -> ConversationView:
    if folder is None:
        return view
    from dataclasses import replace

    from consilience.clients.conversations import save_attachments

    paths = iter(save_attachments(view, folder))
    messages = tuple(replace(x, attachments=tuple(replace(a, saved_to=next(paths)) for a in x.attachments))
                     for x in view.messages)
    return replace(view, messages=messages)


# -- reporter ----------------------------------------------------------------------


def _render_list(listed: ConversationList) -> None:
    from rich.table import Table

    from consilience.clients.conversations import introduction_hex

    if not listed.conversations:
        console.print(_("No messages. If others name the same person you did, a counselor will write to you here."))
        return
    table = Table(_("about"), _("messages"), _("new"), _("last"))
    for c in listed.conversations:
        about = _("record {record}", record=c.record_id) if c.record_id else (
            _("group {intro}", intro=introduction_hex(c.introduction_id)) if c.introduction_id
            else _("a record no longer here"))
        table.add_row(about, str(c.messages), str(c.new) if c.new else "", when(c.updated_at))
    console.print(table)
    console.print(_("Read one with 'consilience reporter messages RECORD' (a group: 'consilience reporter group "
                    "INTRO')."))


@reporter_cli.app.command("messages", help=_("Messages from counselors about your records (sealed to you; opened on "
                                             "this device)."))
@handled
def reporter_messages(record_id: str = typer.Argument(None, metavar="[RECORD]",
                                                      help=_("The record whose messages to read; leave out to list "
                                                             "your conversations.")),
                      save_attachments: Path = SAVE, wallet: Path = reporter_cli.WALLET,
                      passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import conversations

    session = reporter_cli._session(wallet, passphrase_env)
    if record_id is None:
        listed = conversations.conversations(session)
        emit(listed, as_json, lambda: _render_list(listed))
        return
    view = _saved(conversations.read(session, record_id), save_attachments)
    emit(view, as_json, lambda: _reporter_view(view, record_id))


def _reporter_view(view: ConversationView, record_id: str) -> None:
    _render_view(view, _("Messages about record {record}", record=record_id))
    if view.messages:
        console.print(_("Answer with 'consilience reporter reply {record_id} --text …'. You do not have to say who "
                        "you are; if you want to, 'consilience reporter reveal {record_id}' sends your contact.",
                        record_id=record_id))


def _render_sent(sent: Sent, what: str) -> None:
    console.print(_("{what} Sealed on this device; the server keeps only ciphertext.", what=what))


@reporter_cli.app.command("reply",
                          help=_("Answer the counselors about a record. It does not say who you are unless you "
                                 "write it."))
@handled
def reporter_reply(record_id: str = typer.Argument(..., metavar="RECORD", help=_("The record you are writing about.")),
                   text: str = TEXT, file: Path = FILE, attach: list[Path] = ATTACH,
                   wallet: Path = reporter_cli.WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import conversations

    attachments = reporter_cli._read_attachments(list(attach))
    body = _message_text(text, file, bool(attachments))
    sent = conversations.reply(reporter_cli._session(wallet, passphrase_env), record_id, body, attachments)
    emit(sent, as_json, lambda: _render_sent(sent, _("Sent to the counselors.")))


@reporter_cli.app.command("reveal", help=_("Tell the counselors how to reach you, when you choose to."))
@handled
def reporter_reveal(record_id: str = typer.Argument(..., metavar="RECORD", help=_("The record you are writing about.")),
                    contact: str = typer.Option(None, "--contact", help=_("How the counselors may reach you "
                                                                          "(default: the contact you registered "
                                                                          "with).")),
                    yes: bool = typer.Option(False, "--yes", help=_("Send without asking first.")),
                    wallet: Path = reporter_cli.WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import conversations

    session = reporter_cli._session(wallet, passphrase_env)
    given = (contact if contact is not None else session.wallet.contact).strip()
    if not given:
        raise InvalidInput(_("This wallet holds no contact. Give the one to send with --contact; nothing was sent."))
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInput(_("Sending your contact needs a yes: run this on a terminal to be asked, or add "
                                 "--yes. Nothing was sent."))
        console.print(labelled(_("Contact"), given))
        if not typer.confirm(_(REVEAL_QUESTION), default=False):
            raise InvalidInput(_("Not sent. Your contact stays on this device."))
    sent = conversations.reveal(session, record_id, given)
    emit(sent, as_json, lambda: _render_sent(sent, _("Your contact was sent to the counselors.")))


def _render_introductions(listed: IntroductionList) -> None:
    from consilience.clients.conversations import introduction_hex

    if not listed.introductions:
        console.print(_("No introductions."))
        return
    for i in listed.introductions:
        state = {"accepted": N_("you accepted"), "declined": N_("you declined (only this device knows)"),
                 "open": N_("waiting for your answer")}[i.state]
        heading(_("introduction {introduction_hex} — {state}",
                  introduction_hex=introduction_hex(i.introduction_id), state=_(state)))
        console.print(Text.assemble((_("from counselor "), "bold"), untrusted(i.counselor, style="bold"),
                                    _(" about record {record}, {sent_at}",
                                      record=i.record_id or "?", sent_at=when(i.sent_at))))
        console.print(untrusted(i.text, multiline=True))
    console.print(_("Answer with 'consilience reporter accept INTRO --name NAME' (the others see only that name) "
                    "or 'consilience reporter decline INTRO' (nothing is sent: nobody learns you said no)."))


@reporter_cli.app.command("introductions",
                          help=_("Introductions counselors proposed to you: to meet others who named the same person."))
@handled
def reporter_introductions(wallet: Path = reporter_cli.WALLET, passphrase_env: str = PASS_ENV,
                           as_json: bool = JSON) -> None:
    from consilience.clients import conversations

    listed = conversations.introductions(reporter_cli._session(wallet, passphrase_env))
    emit(listed, as_json, lambda: _render_introductions(listed))


INTRO = typer.Argument(..., metavar="INTRO", help=_("The introduction, as 'reporter introductions' shows it (the "
                                                    "first 6 characters are enough)."))


@reporter_cli.app.command("accept", help=_("Join an introduction's group under a name you choose."))
@handled
def reporter_accept(introduction: str = INTRO,
                    name: str = typer.Option(..., "--name", help=_("The name the others in the group see (1 to 64 "
                                                                   "characters; it need not be your real name).")),
                    wallet: Path = reporter_cli.WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import conversations

    done = conversations.accept(reporter_cli._session(wallet, passphrase_env), introduction, name)
    emit(done, as_json, lambda: console.print(
        _("Accepted. Once the counselor confirms the group, you can read and write there: 'consilience reporter "
          "group {introduction_hex}'.", introduction_hex=conversations.introduction_hex(done.introduction_id))))


@reporter_cli.app.command("decline",
                          help=_("Say no to an introduction. Nothing is sent: nobody learns that you said no."))
@handled
def reporter_decline(introduction: str = INTRO, wallet: Path = reporter_cli.WALLET, passphrase_env: str = PASS_ENV,
                     as_json: bool = JSON) -> None:
    from consilience.clients import conversations

    done = conversations.decline(reporter_cli._session(wallet, passphrase_env), introduction)
    emit(done, as_json, lambda: console.print(
        _("Declined. Only this device knows: nothing was sent, so the counselors, the others and the server cannot "
          "tell it from not having answered. You can still accept later.")))


@reporter_cli.app.command("group", help=_("Read (and write to) the group of an introduction you accepted."))
@handled
def reporter_group(introduction: str = INTRO,
                   send: str = typer.Option(None, "--send", help=_("Write this to the group first.")),
                   wallet: Path = reporter_cli.WALLET, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import conversations

    view = conversations.group(reporter_cli._session(wallet, passphrase_env), introduction, send)
    title = _("group {intro}", intro=conversations.introduction_hex(view.introduction_id or ""))
    emit(view, as_json, lambda: _render_view(view, title))


# -- counselor ---------------------------------------------------------------------


MATCH = typer.Argument(..., metavar="MATCH", help=_("The match, as 'counselor matches' shows it (the first 6 "
                                                    "characters are enough)."))


@counselor_cli.app.command("message", help=_("Write to the reporter of a released entry, sealed to them and to the "
                                             "deployment's counselors."))
@handled
def counselor_message(match_id: str = MATCH,
                      entry: str = typer.Argument(..., metavar="ENTRY",
                                                  help=_("The released entry whose reporter to write to, as "
                                                         "'counselor open' shows it (its first characters are "
                                                         "enough).")),
                      text: str = TEXT, file: Path = FILE, attach: list[Path] = ATTACH,
                      key: Path = counselor_cli.KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import conversations, counselor

    attachments = reporter_cli._read_attachments(list(attach))
    body = _message_text(text, file, bool(attachments))
    keys = counselor_cli._keys(counselor_cli._key_path(key), passphrase_env)
    sent = conversations.message(keys, counselor.resolve_match_id(keys, match_id), entry, body, attachments)
    emit(sent, as_json, lambda: _render_sent(sent, _("Sent to the reporter.")))


def _render_match(found: MatchConversations) -> None:
    from consilience.clients.counselor import match_hex

    if not found.conversations:
        console.print(_("Nobody has written to the reporters of match {match_hex} yet. 'consilience counselor "
                        "message MATCH ENTRY --text …' writes the first message.",
                        match_hex=match_hex(found.match_id)))
    for view in found.conversations:
        _render_view(view, _("entry {entry}", entry=visible(view.entry_id or "")))
        if view.contact is not None:
            console.print(labelled(_("The reporter's contact"), view.contact))


@counselor_cli.app.command("conversation", help=_("Read your conversations with the reporters of a match (every "
                                                  "message's signer checked)."))
@handled
def counselor_conversation(match_id: str = MATCH,
                           entry: str = typer.Argument(None, metavar="[ENTRY]",
                                                       help=_("Only the conversation with this entry's reporter.")),
                           save_attachments: Path = SAVE, key: Path = counselor_cli.KEY,
                           passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from dataclasses import replace

    from consilience.clients import conversations, counselor

    keys = counselor_cli._keys(counselor_cli._key_path(key), passphrase_env)
    found = conversations.conversation(keys, counselor.resolve_match_id(keys, match_id), entry)
    if save_attachments is not None:
        found = replace(found, conversations=tuple(_saved(v, save_attachments / (v.entry_id or v.conversation_id))
                                                   for v in found.conversations))
    emit(found, as_json, lambda: _render_match(found))


@counselor_cli.app.command("introduce", help=_("Propose to the reporters of a match to meet in a group; each answers "
                                               "privately."))
@handled
def counselor_introduce(match_id: str = MATCH,
                        text: str = typer.Option(None, "--text", help=_("What to tell each reporter (a calm "
                                                                        "default explains the choice).")),
                        key: Path = counselor_cli.KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import conversations, counselor

    keys = counselor_cli._keys(counselor_cli._key_path(key), passphrase_env)
    done = conversations.introduce(keys, counselor.resolve_match_id(keys, match_id), text)
    emit(done, as_json, lambda: _render_proposed(done))


def _render_proposed(done: Proposed) -> None:
    from consilience.clients.conversations import introduction_hex

    hex_id = introduction_hex(done.introduction_id)
    console.print(_("Introduction {hex_id} proposed to {count} reporters, each in their own conversation. "
                    "'consilience counselor group {hex_id}' shows who accepted and lets them see each other.",
                    hex_id=hex_id, count=len(done.invited)))
    if done.skipped:
        console.print(_("Not invited ({count}): entries whose conversation has no message of yours yet.",
                        count=len(done.skipped)))


def _render_group(found: GroupView) -> None:
    from consilience.clients.conversations import introduction_hex

    console.print(_("Introduction {introduction_hex}: {count} of {invited} accepted so far. Nobody, you included, "
                    "can tell a no from no answer yet.", introduction_hex=introduction_hex(found.introduction_id),
                    count=len(found.accepted), invited=found.invited))
    if found.roster_posted:
        console.print(_("The group list was updated: the members now see each other's names."))
    for bad in found.refused_cards:
        console.print(Text.assemble((_("Acceptance not listed:"), "bold red"), " ", untrusted(bad)))
    _render_view(found.group, _("group {intro}", intro=introduction_hex(found.introduction_id)))


@counselor_cli.app.command("group", help=_("An introduction's group: checks new acceptances and lists them for the "
                                           "members, then reads (and writes)."))
@handled
def counselor_group(introduction: str = typer.Argument(..., metavar="INTRO",
                                                       help=_("The introduction, as 'counselor introduce' printed "
                                                              "it.")),
                    send: str = typer.Option(None, "--send", help=_("Write this to the group.")),
                    key: Path = counselor_cli.KEY, passphrase_env: str = PASS_ENV, as_json: bool = JSON) -> None:
    from consilience.clients import conversations

    keys = counselor_cli._keys(counselor_cli._key_path(key), passphrase_env)
    found = conversations.group_counselor(keys, introduction, send)
    emit(found, as_json, lambda: _render_group(found))
