"""No text a person reads is written into the web app's pages or scripts outside the catalogs.

The markup keeps its English (the browser shows it before the scripts run, and web/test/i18n.test.js
checks it equals the en catalog), but every text node with words in it must sit in an element marked
``data-i18n`` (or be a part of a ``data-i18n-parts`` sentence), and every attribute a person or a screen
reader meets (aria-label, title, placeholder, alt) must be listed in its element's ``data-i18n-attr``.
In the scripts, a string literal holding prose (two words or more of letters) is a sentence someone
forgot to put in a catalog; the few that must stay English are listed below with the reason.
No browser is needed: this reads the sources.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "web" / "src" / "app"
PAGES = sorted(APP.glob("*.html"))
SCRIPTS = sorted([*APP.glob("*.js"), *(APP / "lib").glob("*.js")])

#: Attributes that are read aloud or shown.
READ_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt", "aria-description")
#: Elements whose text is not prose to translate: code and commands, and what is not shown.
VERBATIM = {"code", "kbd", "samp", "script", "style", "template"}
#: Words that are the same in every language (the project's name).
NAMES = {"Consilience"}

#: (script, literal) pairs that stay English, and why. None: the SDK's own English sentences are said by their
#: code (web/src/sdk/errors.js; catalog keys app.sdk.<code>), never recognised by their text.
ALLOWED: set[tuple[str, str]] = set()


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, translated: the element or an ancestor is marked)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        marked = bool({"data-i18n", "data-i18n-parts", "data-i18n-part"} & a.keys()) or tag in VERBATIM
        listed = {pair.split(":", 1)[0].strip() for pair in (a.get("data-i18n-attr") or "").split(";") if pair}
        for name in READ_ATTRIBUTES:
            value = a.get(name)
            if value and re.search(r"[A-Za-z]{2,}", value) and value not in NAMES and name not in listed:
                self.found.append(f"<{tag} {name}={value!r}> (line {self.getpos()[0]}): not in data-i18n-attr")
        inherited = bool(self.stack) and self.stack[-1][1]
        if tag not in ("br", "img", "input", "meta", "link", "hr", "source", "wbr"):
            self.stack.append((tag, marked or inherited))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if not re.search(r"[A-Za-z]{2,}", text) or text in NAMES:
            return
        if not (self.stack and self.stack[-1][1]):
            where = self.stack[-1][0] if self.stack else "document"
            self.found.append(f"<{where}> {text!r} (line {self.getpos()[0]}): no data-i18n")


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_text_of_the_markup_is_in_the_catalogs(page: Path) -> None:
    scan = _Scan()
    head, _sep, body = page.read_text(encoding="utf-8").partition("<body")
    scan.feed("<body" + body)
    title = re.search(r"<title\b([^>]*)>([^<]*)</title>", head)
    if title and re.search(r"[A-Za-z]{2,}", title.group(2)) and "data-i18n" not in title.group(1):
        scan.found.append(f"<title> {title.group(2)!r}: no data-i18n")
    assert not scan.found, f"{page.name}: text outside the catalogs:\n" + "\n".join(scan.found)


_LITERAL = re.compile(r"""(?<![\w$])('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`)""", re.DOTALL)
_PROSE = re.compile(r"[A-Za-z]{2,}[,.;:!?]?\s+[A-Za-z]{2,}")
#: Literals that look like words but are code: selectors, CSS, attribute lists, MIME types, keys.
_CODE = re.compile(r"[\w.\-#:\[\]=>*(),\"'^$|/+~ ]+")


def _prose_literals(source: str) -> list[tuple[int, str]]:
    """(line, literal) for each string literal with prose in it, comments left out."""
    source = re.sub(r"/\*[\s\S]*?\*/", lambda m: "\n" * m.group(0).count("\n"), source)
    out = []
    for number, line in enumerate(source.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("//"):
            continue
        literals = list(_LITERAL.finditer(line))
        comment = next((m.start() for m in re.finditer("//", line)
                        if not any(x.start() < m.start() < x.end() for x in literals)), len(line))
        for match in literals:
            if match.start() > comment:
                break
            value = match.group(1)[1:-1]
            words = re.sub(r"\$\{[^}]*\}", "", value)
            if _PROSE.search(words) and (not _CODE.fullmatch(words) or re.search(r"\b[A-Z][a-z]+ [a-z]{2,}", words)):
                out.append((number, value))
    return out


@pytest.mark.parametrize("script", SCRIPTS, ids=[str(p.relative_to(APP)) for p in SCRIPTS])
def test_no_sentence_is_written_into_a_script(script: Path) -> None:
    rel = str(script.relative_to(APP))
    found = [f"{rel}:{line}: {value!r}" for line, value in _prose_literals(script.read_text(encoding="utf-8"))
             if (rel, value) not in ALLOWED]
    assert not found, ("sentences outside the catalogs (put them in web/src/app/locales and use t()):\n"
                       + "\n".join(found))


def test_the_scan_finds_what_it_looks_for() -> None:
    """The checks above cannot pass by finding nothing: an unmarked sentence and attribute are caught."""
    scan = _Scan()
    scan.feed('<body><p>Write down what happened</p><button aria-label="Close this">x</button>'
              '<p data-i18n="k">Marked text</p><code>consilience serve</code></body>')
    assert len(scan.found) == 2, scan.found
    assert _prose_literals("el('p', {}, 'Your record is saved.');\nconst sel = '#view-case .badge';") == [
        (1, "Your record is saved.")]
    assert all((rel, value) in {(str(p.relative_to(APP)), v) for p in SCRIPTS for _n, v in
                                _prose_literals(p.read_text(encoding="utf-8"))} for rel, value in ALLOWED), (
        "an allowed literal is no longer in its script: take it off ALLOWED")
