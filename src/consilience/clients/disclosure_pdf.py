"""A disclosure as a PDF, for people who use no software (PROTOCOL.md §14.3).

The PDF is a reading of a disclosure that verified: the record as written, the attachments with
their SHA-256, what was checked in plain words, the numbers a technical reader can check by hand,
and how to check it again. It proves nothing by itself (anyone can make a PDF), so the disclosure
itself travels inside it as a file attachment: whoever doubts the page runs the check on that file.
Records are written in every language, so the text is set in a Unicode TrueType font (DejaVu Sans,
from the system), never in a PDF core font that knows only Latin-1.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from consilience.errors import InvalidInput
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
    raise InvalidInput("No Unicode font was found to write the PDF with (DejaVu Sans, looked for in "
                       + ", ".join(str(d) for d in dirs) + "). Install it (on Debian or Ubuntu: apt install "
                       "fonts-dejavu-core) and try again; the disclosure file itself is not affected.")


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%d %B %Y, %H:%M:%S UTC")


def render(check: DisclosureCheck, doc: dict[str, Any], out: Path, *, server: str | None = None,
           font_dirs: Sequence[Path] = FONT_DIRS) -> Path:
    """Write ``check`` (the result of verifying ``doc``) as a PDF with ``doc`` attached."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    regular, bold = find_font(font_dirs)
    pdf = FPDF(format="A4")
    pdf.set_title("Disclosure of a record")
    pdf.set_creator("Consilience")
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()

    def heading(text: str) -> None:
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 13)
        pdf.multi_cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("DejaVu", "", 10)

    def para(text: str, size: int = 10) -> None:
        pdf.set_font("DejaVu", "", size)
        pdf.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def row(label: str, value: str) -> None:
        pdf.set_font("DejaVu", "B", 9)
        pdf.multi_cell(0, 5, label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("DejaVu", "", 9)
        pdf.multi_cell(0, 5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.set_font("DejaVu", "B", 17)
    pdf.multi_cell(0, 9, "Disclosure of a record", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    para(f"This record was in the log by {_when(check.logged_at)}, by the log's own clock."
         + ("" if not check.witnesses else " Independent witnesses had seen it by "
            + "; ".join(f"{w.name}: {_when(w.at)}" for w in check.witnesses) + ".")
         + " It has not changed since.", 11)

    heading("The record, as written")
    para(check.record or "(no text)")
    for key, label in (("what", "What happened"), ("when", "When"), ("where", "Where"), ("witnesses", "Witnesses")):
        if key in check.details:
            row(label, check.details[key])
    row("Written at (the reporter's device)", check.written_at)
    row("Who it names, as typed", ", ".join(check.identifiers) or "(none)")
    row("How to reach the reporter, as typed", check.contact or "(none)")

    heading("Attachments")
    if not check.attachments:
        para("None.")
    for a in check.attachments:
        row(f"{a.name} ({a.type}, {a.size} bytes)", f"SHA-256 {a.sha256}")

    heading("What was checked")
    for n, line in enumerate(check.checks, 1):
        para(f"{n}. {line}")
    if not check.witnesses:
        para("No witness had cosigned the log when this was made, so the time above rests on the log "
             "operator's word alone. A newer disclosure, made once a witness has cosigned, adds that.")
    para("What this does not show: who wrote the record, or that what it says is true. It shows that this exact "
         "text existed, sealed, by that time, and has not been changed.")

    heading("The numbers")
    row("Entry", check.entry_id)
    row("Leaf index", str(check.leaf_index))
    row("Log", check.origin)
    row("Receipt's tree size", str(check.receipt_size))
    row("Newer checkpoint's tree size", "none" if check.checkpoint_size is None else str(check.checkpoint_size))
    row("Logged at", f"{check.logged_at.isoformat()} ({int(check.logged_at.timestamp() * 1000)} ms)")
    for w in check.witnesses:
        row(f"Witness {w.name}", f"cosigned at {w.at.isoformat()} ({w.time})")
    row("Administrator fingerprint", check.admin_fingerprint)
    row("Deployment", f"{check.deployment_id}, document serial {check.deployment_serial}")
    row("Content hash (of the ciphertexts)", check.content_hash)
    row("Disclosure made at", check.made_at)

    heading("How to check it again")
    para(f"This PDF carries the disclosure itself as an attached file ({ATTACHMENT_NAME}). Save it, then either run")
    para(f"    consilience verify-disclosure {ATTACHMENT_NAME} --admin-fingerprint {check.admin_fingerprint}", 9)
    page = f"{server.rstrip('/')}/verify.html" if server else "the deployment's /verify.html page"
    para(f"or open {page} and give it the file; the page checks it in your browser, offline. First compare the "
         "administrator fingerprint above with the one the deployment publishes: anyone can make a disclosure "
         "under an administrator of their own.")

    data = json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8")
    pdf.embed_file(bytes=data, basename=ATTACHMENT_NAME, desc="The disclosure this PDF shows (consilience-"
                   "disclosure/v1)", modification_date=datetime.now(UTC))
    out = Path(out)
    pdf.output(str(out))
    return out
