"""The clients speak the person's language: every request asks the servers for it, and what the clients
say themselves (an escrow server's refusal in words, a wait, a PDF) comes from the clients catalog,
with the English source unchanged."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from consilience.clients import disclosure_pdf, receipts
from consilience.clients.escrow_client import ApiError, EscrowClient, describe, wait_text
from consilience.errors import VerificationError
from consilience.i18n import _, using
from consilience.protocol import disclosure

ROOT = Path(__file__).resolve().parents[2]


def _client(seen: list[str]) -> EscrowClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Accept-Language", ""))
        return httpx.Response(503, json={"error": "unavailable", "detail": "busy"})

    return EscrowClient("https://escrow.example.org", transport=httpx.MockTransport(handle))


def test_every_request_asks_for_the_active_language() -> None:
    seen: list[str] = []
    client = _client(seen)
    for lang in ("en", "es", "ar"):
        with using(lang), pytest.raises(ApiError):
            client.published_deployment()  # one client, kept open across a change of language
    assert seen == ["en", "es", "ar"]


def test_a_refusal_is_said_in_the_language_and_english_is_the_source() -> None:
    english = describe(503, "unavailable", "busy", server="https://escrow.example.org")
    assert english == ("The escrow server at https://escrow.example.org is unavailable for the moment. Try again "
                       "in a few minutes; nothing was lost.")
    with using("es"):
        spanish = describe(503, "unavailable", "busy", server="https://escrow.example.org")
    with using("ar"):
        arabic = describe(503, "unavailable", "busy", server="https://escrow.example.org")
    assert spanish.startswith("El servidor de custodia en https://escrow.example.org no está disponible")
    assert "https://escrow.example.org" in arabic and "خادم الإيداع" in arabic


def test_waits_use_the_languages_plural_forms() -> None:
    assert [wait_text(s) for s in (None, 1, 30, 60, 300)] == [
        "a little while", "about 1 second", "about 30 seconds", "a minute", "5 minutes"]
    with using("ar"):
        assert wait_text(2) == "نحو ثانيتين"
        assert wait_text(120) == "دقيقتين"


def test_a_translated_refusal_by_another_administrator_is_still_recognised() -> None:
    message = "deployment signed by a different administrator than the one pinned"
    assert receipts.signed_by_another(VerificationError(message))
    with using("ar"):
        assert receipts.signed_by_another(VerificationError(_(message)))
    assert not receipts.signed_by_another(VerificationError("deployment document is not JSON"))


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
@pytest.mark.parametrize(("lang", "heading", "month"), [("es", "Divulgación de un registro", "marzo"),
                                                         ("en", "Disclosure of a record", "March")])
def test_the_disclosure_pdf_is_written_in_the_language(tmp_path: Path, lang: str, heading: str, month: str) -> None:
    valid = json.loads((ROOT / "tests" / "vectors" / "disclosure_interop.json").read_text())["valid"]
    with using(lang):
        out = disclosure_pdf.render(disclosure.verify(valid), valid, tmp_path / "d.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True, text=True,
                          timeout=60).stdout
    assert heading in text and month in text


@pytest.mark.skipif(not disclosure_pdf.can_shape(), reason="uharfbuzz is not installed")
def test_an_arabic_pdf_is_shaped(tmp_path: Path) -> None:
    valid = json.loads((ROOT / "tests" / "vectors" / "disclosure_interop.json").read_text())["valid"]
    with using("ar"):
        out = disclosure_pdf.render(disclosure.verify(valid), valid, tmp_path / "d.pdf")
    assert out.stat().st_size > 1000


@pytest.mark.skipif(shutil.which("pdftotext") is None or not disclosure_pdf.can_shape(),
                    reason="pdftotext (poppler-utils) or uharfbuzz is not installed")
@pytest.mark.parametrize(("tag", "arabic_indic"), [("ar-EG", True), ("ar", False)])
def test_the_pdf_writes_its_dates_in_the_readers_digits(tmp_path: Path, tag: str, arabic_indic: bool) -> None:
    """Egypt writes Arabic-Indic digits, plain Arabic (CLDR) Latin ones: the PDF's dates follow the region asked."""
    valid = json.loads((ROOT / "tests" / "vectors" / "disclosure_interop.json").read_text())["valid"]
    check = disclosure.verify(valid)
    with using(tag):
        out = disclosure_pdf.render(check, valid, tmp_path / "d.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True, text=True,
                          timeout=60).stdout
    year = str(check.logged_at.year)
    eastern = year.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert (eastern in text or eastern[::-1] in text) is arabic_indic
