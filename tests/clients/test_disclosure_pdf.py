"""A disclosure's PDF (PROTOCOL.md §14.3), checked by rendering it: pdftoppm must draw non-blank pages, and the
record's text (in a Unicode font) and its key numbers must be on them; the disclosure travels inside it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from consilience.clients import disclosure_pdf
from consilience.errors import InvalidInput
from consilience.protocol import disclosure

ROOT = Path(__file__).resolve().parents[2]
VALID = json.loads((ROOT / "tests" / "vectors" / "disclosure_interop.json").read_text())["valid"]

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")


def _ink(png: Path) -> int:
    """How many bytes of the rendered page are not white, read from a PPM (no image library needed)."""
    data = png.read_bytes()
    # P6 header: magic, width, height, maxval, each on its own token
    parts = data.split(b"\n", 3)
    pixels = parts[3]
    return sum(1 for b in pixels if b < 200)


def test_the_pdf_renders_with_the_record_and_its_numbers(tmp_path: Path) -> None:
    check = disclosure.verify(VALID)
    out = disclosure_pdf.render(check, VALID, tmp_path / "d.pdf", server="https://escrow.example.org")
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(out), str(tmp_path / "page")], check=True, timeout=60)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages and all(p.stat().st_size > 1000 for p in pages)
    subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "1", str(out), str(tmp_path / "raw")], check=True,
                   timeout=60)
    assert _ink(next(tmp_path.glob("raw*.ppm"))) > 2000, "the first page is blank"
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True,
                              text=True, timeout=60).stdout
        for expected in ("Zoë", "Leaf index", str(check.leaf_index), check.admin_fingerprint,
                         "witness.example/w1", "note.txt", check.attachments[0].sha256,
                         "https://escrow.example.org/verify.html", "verify-disclosure"):
            assert expected in text, expected
    if shutil.which("pdfdetach"):
        subprocess.run(["pdfdetach", "-saveall", "-o", str(tmp_path), str(out)], check=True, timeout=60)
        assert json.loads((tmp_path / disclosure_pdf.ATTACHMENT_NAME).read_text()) == VALID


def test_without_a_unicode_font_it_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="fonts-dejavu-core"):
        disclosure_pdf.render(disclosure.verify(VALID), VALID, tmp_path / "d.pdf", font_dirs=(tmp_path,))
    assert not (tmp_path / "d.pdf").exists()
