"""A disclosure as a PDF, for people who use no software (PROTOCOL.md §14.3).

The PDF is a reading of a disclosure that verified: the record as written, the attachments with
their SHA-256, what was checked in plain words, the numbers a technical reader can check by hand,
and how to check it again. It proves nothing by itself (anyone can make a PDF), so the disclosure
itself travels inside it as a file attachment: whoever doubts the page runs the check on that file.
Records are written in every language, so the text is set in a Unicode TrueType font (DejaVu Sans,
from the system, which covers Latin, Greek, Cyrillic, Hebrew and Arabic), never in a PDF core font that
knows only Latin-1. The page speaks the reader's language (``i18n``): a survivor hands it to someone
who reads it in theirs. Arabic letters join and run right to left only through a shaping engine
(HarfBuzz, the ``uharfbuzz`` dependency); where it is missing, a right-to-left page is written in
English rather than as disconnected letters in the wrong order.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from consilience.errors import InvalidInput
from consilience.i18n import _, _n, direction, format_datetime, format_number, locale, using
from consilience.protocol.disclosure import DisclosureCheck

#: Where Debian's fonts-dejavu-core (and most Linux systems) put DejaVu Sans.
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
             Path("/usr/share/fonts/TTF"), Path("/usr/local/share/fonts"), Path("/Library/Fonts"))
ATTACHMENT_NAME = "disclosure.json"


def find_font(dirs: Sequence[Path] = FONT_DIRS) -> tuple[Path, Path]:
    """DejaVu Sans and its bold face; a clear error naming the package when there is none."""
    for folder in dirs:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file():
            return regular, bold if bold.is_file() else regular
    raise InvalidInput(_("No Unicode font was found to write the PDF with (DejaVu Sans, looked for in {folders}). "
                         "Install it (on Debian or Ubuntu: apt install fonts-dejavu-core) and try again; the "
                         "disclosure file itself is not affected.", folders=", ".join(str(d) for d in dirs)))


def can_shape() -> bool:
    """Whether fpdf2's text shaping (HarfBuzz through ``uharfbuzz``) is available: Arabic needs it."""
    return importlib.util.find_spec("uharfbuzz") is not None


@contextlib.contextmanager
def _page_language() -> Iterator[None]:
    """The active language, unless it is written right to left and nothing here can shape it: then English."""
    if direction() == "rtl" and not can_shape():
        with using("en"):
            yield
    else:
        yield


def _when(value: datetime) -> str:
    """A moment in UTC, its month named in the reader's language (the pattern is CLDR's, translated)."""
    # Translators: a CLDR date pattern (dd day, MMMM month name, y year, HH:mm:ss time); quote literal text.
    pattern = _("dd MMMM y, HH:mm:ss 'UTC'")
    return format_datetime(value.astimezone(UTC), pattern)


def render(check: DisclosureCheck, doc: dict[str, Any], out: Path, *, server: str | None = None,
           font_dirs: Sequence[Path] = FONT_DIRS) -> Path:
    """Write ``check`` (the result of verifying ``doc``) as a PDF with ``doc`` attached, in the reader's language."""
    with _page_language():
        return _render(check, doc, out, server=server, font_dirs=font_dirs)


def _render(check: DisclosureCheck, doc: dict[str, Any], out: Path, *, server: str | None,
            font_dirs: Sequence[Path]) -> Path:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    regular, bold = find_font(font_dirs)
    pdf = FPDF(format="A4")
    title = _("Disclosure of a record")
    pdf.set_title(title)
    pdf.set_lang(locale())
    pdf.set_creator("Consilience")
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    if can_shape():  # joins Arabic letters and orders right-to-left runs, in records as in the page's own words
        pdf.set_text_shaping(True)
    align = "R" if direction() == "rtl" else "L"
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()

    def heading(text: str) -> None:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 13)
        pdf.multi_cell(0, 7, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("DejaVu", "", 10)

    def para(text: str, size: int = 10, text_align: str | None = None) -> None:
        pdf.set_font("DejaVu", "", size)
        pdf.multi_cell(0, 5, text, align=text_align or align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def row(label: str, value: str) -> None:
        pdf.set_font("DejaVu", "B", 9)
        pdf.multi_cell(0, 5, label, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("DejaVu", "", 9)
        pdf.multi_cell(0, 5, value, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.set_font("DejaVu", "B", 17)
    pdf.multi_cell(0, 9, title, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    opening = _("This record was in the log by {when}, by the log's own clock.", when=_when(check.logged_at))
    if check.witnesses:
        opening += " " + _("Independent witnesses had seen it by {seen}.",
                           seen="; ".join(f"{w.name}: {_when(w.at)}" for w in check.witnesses))
    para(opening + " " + _("It has not changed since."), 11)

    heading(_("The record, as written"))
    para(check.record or _("(no text)"))
    labels = (("what", _("What happened")), ("when", _("When")), ("where", _("Where")),
              ("witnesses", _("Witnesses")))
    for key, label in labels:
        if key in check.details:
            row(label, check.details[key])
    row(_("Written at (the reporter's device)"), check.written_at)
    row(_("Who it names, as typed"), ", ".join(check.identifiers) or _("(none)"))
    row(_("How to reach the reporter, as typed"), check.contact or _("(none)"))

    heading(_("Attachments"))
    if not check.attachments:
        para(_("None."))
    for a in check.attachments:
        row(_n("{name} ({type}, {n} bytes)", "{name} ({type}, {n} bytes)", a.size, name=a.name, type=a.type),
            f"SHA-256 {a.sha256}")

    heading(_("What was checked"))
    for n, line in enumerate(check.checks, 1):
        para(_("{number}. {line}", number=format_number(n), line=line))
    if not check.witnesses:
        para(_("No witness had cosigned the log when this was made, so the time above rests on the log "
               "operator's word alone. A newer disclosure, made once a witness has cosigned, adds that."))
    para(_("What this does not show: who wrote the record, or that what it says is true. It shows that this exact "
           "text existed, sealed, by that time, and has not been changed."))

    # The numbers stay in ASCII digits: a technical reader compares them with the disclosure file by hand.
    heading(_("The numbers"))
    row(_("Entry"), check.entry_id)
    row(_("Leaf index"), str(check.leaf_index))
    row(_("Log"), check.origin)
    row(_("Receipt's tree size"), str(check.receipt_size))
    row(_("Newer checkpoint's tree size"),
        _("none") if check.checkpoint_size is None else str(check.checkpoint_size))
    row(_("Logged at"), _("{iso} ({ms} ms)", iso=check.logged_at.isoformat(),
                          ms=int(check.logged_at.timestamp() * 1000)))
    for w in check.witnesses:
        row(_("Witness {name}", name=w.name), _("cosigned at {iso} ({time})", iso=w.at.isoformat(), time=w.time))
    row(_("Administrator fingerprint"), check.admin_fingerprint)
    row(_("Deployment"), _("{deployment}, document serial {serial}", deployment=check.deployment_id,
                           serial=check.deployment_serial))
    row(_("Content hash (of the ciphertexts)"), check.content_hash)
    row(_("Disclosure made at"), check.made_at)

    heading(_("How to check it again"))
    para(_("This PDF carries the disclosure itself as an attached file ({file}). Save it, then either run",
           file=ATTACHMENT_NAME))
    para(f"    consilience verify-disclosure {ATTACHMENT_NAME} --admin-fingerprint {check.admin_fingerprint}", 9,
         text_align="L")
    page = f"{server.rstrip('/')}/verify.html" if server else _("the deployment's /verify.html page")
    para(_("or open {page} and give it the file; the page checks it in your browser, offline. First compare the "
           "administrator fingerprint above with the one the deployment publishes: anyone can make a disclosure "
           "under an administrator of their own.", page=page))

    data = json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8")
    pdf.embed_file(bytes=data, basename=ATTACHMENT_NAME, desc=_("The disclosure this PDF shows (consilience-"
                   "disclosure/v1)"), modification_date=datetime.now(UTC))
    out = Path(out)
    pdf.output(str(out))
    return out
