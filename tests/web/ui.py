"""What people do in the web app, as Playwright steps shared by the browser tests.

The steps find controls the way people and assistive technology do (roles, labels, visible
text), so a page that loses a label or a heading fails here as well as in axe.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from .browser import screenshot

SLOW = 180_000  # ms: Argon2id (64 MiB, t=3, p=4) in JavaScript on a busy machine

# A 1 KiB "photo"; only its bytes matter.
PHOTO = bytes(range(256)) * 4

REPORTERS: list[dict[str, Any]] = [
    {
        "contact": "Signal: ana.reporter.7731",
        "passphrase": "maple river lantern quietly 1",
        "record": "He cornered me in the stairwell after the team dinner and would not let me pass.",
        "details": {"what": "Cornered in the stairwell", "when": "12 March 2024, about 23:00",
                    "where": "Hotel Bellevue, Leeds", "witnesses": "Priya saw me right after"},
        # (kind label, what they type, region or None)
        "names": [("Email address", "Sam.Doe@Gmail.com", None), ("Phone number", "+44 20 7946 0958", None)],
        "names_typed": ["Sam.Doe@Gmail.com", "+44 20 7946 0958"],
    },
    {
        "contact": "email bo.reporter.4418@example.org",
        "passphrase": "copper kettle harbour singing 2",
        "record": "Messages late at night for months, then he showed up outside my flat.",
        "details": {"what": "Repeated messages, then came to my home", "when": "autumn 2023"},
        "names": [("Email address", "samdoe+work@gmail.com", None)],
        "names_typed": ["samdoe+work@gmail.com"],
    },
    {
        "contact": "phone 0161 496 0733 after 6pm",
        "passphrase": "violet tramway pebble morning 3",
        "record": "At the conference he grabbed my wrist and said nobody would believe me.",
        "details": {"what": "Grabbed my wrist at the conference", "where": "Manchester Central"},
        "names": [("Email address", "SAM.DOE@googlemail.com", None), ("Phone number", "020 7946 0958", "GB")],
        "names_typed": ["SAM.DOE@googlemail.com", "020 7946 0958"],
        "attachment": PHOTO,
    },
]


# --- the page's language ---------------------------------------------------------------------------

LOCALES = Path(__file__).resolve().parents[2] / "web" / "src" / "app" / "locales"
#: The areas whose keys a page uses, most specific first (a label may mean different things on two pages).
_PAGE_AREAS = {"counselor": ("counselor", "common", "app"), "safety": ("safety", "common", "app"),
               "verify": ("verify", "common", "app"), "reporter": ("reporter", "common", "app")}


@functools.cache
def catalogs() -> dict[str, dict[str, str]]:
    """{lang: {key: message}} of the web app's catalogs, read as the build reads them."""
    out: dict[str, dict[str, str]] = {}
    for folder in sorted(p for p in LOCALES.iterdir() if p.is_dir()):
        messages: dict[str, str] = {}
        for file in sorted(folder.glob("*.json")):
            messages.update(json.loads(file.read_text(encoding="utf-8")))
        out[folder.name] = messages
    return out


def _plain(message: str) -> str:
    """An argument-free ICU message as it is shown: a doubled apostrophe is one."""
    return message.replace("''", "'")


def _whole(text: str) -> str:
    return text


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?。؟])\s", text, maxsplit=1)[0].rstrip(".。")


def _without_parenthesis(text: str) -> str:
    return re.sub(r"\s*\([^()]*\)$", "", text)


def say(page: Page, english: str, *, area: str | None = None) -> str:
    """``english`` as the page shows it in its current language (<html lang>), looked up through the en catalog.

    The steps below are written in English; through this they work in every shipped language, so the
    quorum flow runs in Spanish and Arabic with the same steps. Only argument-free messages can be said
    this way; a text not in the catalogs is returned as it is on an English page and fails elsewhere.
    """
    lang = page.evaluate("document.documentElement.lang") or "en"
    if lang == "en":
        return english
    en, target = catalogs()["en"], catalogs().get(lang, {})
    if area is None:
        path = page.evaluate("location.pathname")
        area = next((a for a in _PAGE_AREAS if a in path), "reporter")
    keys = [k for k, v in en.items() if _plain(v) == english]
    cut = _whole
    if not keys:  # the start of a longer message: its first sentence, or all but a closing "(...)"
        keys = [k for k, v in en.items() if _plain(v).startswith(english)]
        rest = {_plain(en[k])[len(english):] for k in keys}
        if rest and all(r.startswith(". ") for r in rest):
            cut = _first_sentence
        elif rest and all(re.fullmatch(r" \([^()]*\)", r) for r in rest):
            cut = _without_parenthesis
        else:
            keys = []
    for prefix in _PAGE_AREAS[area]:
        found = {cut(_plain(target[k])) for k in keys if k.startswith(f"{prefix}.") and k in target}
        if len(found) == 1:
            return found.pop()
        if found:
            raise AssertionError(f"{english!r} has {len(found)} translations in {lang} ({prefix}.*): {sorted(found)}")
    raise AssertionError(f"{english!r} is not in the {lang} catalogs (web/src/app/locales)")


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    page.locator("h1").first.wait_for()


def wait_for_heading(page: Page, name: str, timeout: float = SLOW) -> None:
    """Wait for the h1 `name`; if the page shows an error instead, fail with its text."""
    heading = page.get_by_role("heading", name=name, level=1)
    alert = page.locator("#alert")
    heading.or_(alert.filter(has_text=re.compile("."))).first.wait_for(timeout=timeout)
    if not heading.is_visible():
        raise AssertionError(f"expected the page {name!r}, the page says: {alert.inner_text()}")


def join(page: Page, invite: str, contact: str, passphrase: str, *, shoot: bool = False) -> None:
    page.get_by_role("link", name=say(page, "I have an invite")).click()
    page.get_by_label(say(page, "Invite"), exact=True).fill(invite)
    page.get_by_label(say(page, "How a counselor can reach you")).fill(contact)
    page.get_by_label(say(page, "Choose a passphrase")).fill(passphrase)
    page.get_by_label(say(page, "Type the passphrase again")).fill(passphrase)
    if shoot:
        screenshot(page, "reporter-join")
    page.get_by_role("button", name=say(page, "Create my wallet")).click()
    wait_for_heading(page, say(page, "Your records"))


def write_record(page: Page, who: dict[str, Any], *, shoot: bool = False) -> None:
    page.get_by_role("navigation").get_by_role("link", name=say(page, "Write a record")).click()
    page.get_by_role("heading", name=say(page, "Write a record"), level=1).wait_for()
    d = who["details"]
    labels = {"what": "What happened", "when": "When", "where": "Where",
              "witnesses": "Who else saw it or knows about it"}
    for key, label in labels.items():
        if key in d:
            page.get_by_label(say(page, label), exact=True).fill(d[key])
    page.get_by_label(say(page, "Anything else")).fill(who["record"])
    if "attachment" in who:
        page.get_by_label(say(page, "Attach files (optional)")).set_input_files(
            files=[{"name": "photo.png", "mimeType": "image/png", "buffer": who["attachment"]}])
    if shoot:
        screenshot(page, "reporter-write")
    page.get_by_role("button", name=say(page, "Save privately")).click()
    expect(page.locator("#note")).to_contain_text(say(page, "Saved privately in your wallet"), timeout=60_000)


def escrow(page: Page, names: list[tuple[str, str, str | None]], *, shoot: bool = False) -> None:
    fill_escrow(page, names, shoot=shoot)
    page.get_by_role("button", name=say(page, "Put in escrow")).click()
    note, alert = page.locator("#note"), page.locator("#alert")
    escrowed = note.filter(has_text=say(page, "Your record is in escrow"))
    escrowed.or_(alert.filter(has_text=re.compile("."))).first.wait_for(timeout=SLOW)
    assert not alert.inner_text(), f"escrow failed: {alert.inner_text()}"


def fill_escrow(page: Page, names: list[tuple[str, str, str | None]], *, shoot: bool = False) -> None:
    """From a private record's page: open "Put in escrow…" and name the person (not sent yet)."""
    page.get_by_role("link", name=say(page, "Put in escrow…")).click()
    page.get_by_role("heading", name=say(page, "Put this record in escrow"), level=1).wait_for()
    for n, (kind, typed, region) in enumerate(names):
        if n > 0:
            page.get_by_role("button", name=say(page, "Add another way to identify them")).click()
        row = page.locator(".ident-row").nth(n)
        row.get_by_label(say(page, "Kind")).select_option(label=say(page, kind))
        if region:
            row.get_by_label(say(page, "Country of the number")).select_option(region)
        row.get_by_label(say(page, "Their address, number or profile")).fill(typed)
        expect(row.get_by_text(re.compile("^" + re.escape(say(page, "We will match on:")) + " "))).to_be_visible()
    expect(page.get_by_role("heading", name=say(page, "We will match on"))).to_be_visible()
    expect(page.locator("#e-quorum")).to_have_value(re.compile(r"\d"), timeout=30_000)
    if shoot:
        screenshot(page, "reporter-escrow")


def wait_for_backup(page: Page) -> None:
    """Until no backup upload is queued or under way (the backup card is aria-busy meanwhile, PROTOCOL.md §14.1):
    a test that counts the requests an action sends must not count the backup that follows an earlier save."""
    expect(page.locator("#recovery-box")).not_to_have_attribute("aria-busy", "true", timeout=SLOW)


def expect_status(page: Page, status: str) -> None:
    expect(page.locator("#record-body .badge").first).to_have_text(status)


def unlock_counselor(page: Page, key_file: Path, passphrase: str) -> None:
    page.get_by_label(say(page, "Key file")).set_input_files(str(key_file))
    page.get_by_label(say(page, "Passphrase")).fill(passphrase)
    page.get_by_role("button", name=say(page, "Unlock")).click()
    wait_for_heading(page, say(page, "Cases"))



def wait_for_match(dep: Any, count: int = 1, timeout: float = 60.0) -> None:
    """Wait until the counselor sees ``count`` matches: protocol v2's escrow server detects releases in a
    background pass on a timer with a random delay, not in the submitter's request."""
    import time

    deadline = time.monotonic() + timeout
    while matches_count(dep) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"no match after {timeout:.0f} s (the escrow server's release pass)")
        time.sleep(0.5)


def matches_count(dep: Any) -> int:
    """How many matches the counselor sees now (through the Python SDK)."""
    from consilience.clients import counselor

    keys = counselor.load(dep.counselor_key, dep.counselor_passphrase)
    return len(counselor.list_matches(keys))


def log_vkey(dep: Any) -> str:
    """The log's verifier key from the administrator-signed deployment document."""
    from consilience.clients.escrow_client import EscrowClient
    from consilience.protocol.encoding import b64u_decode

    with EscrowClient(dep.url) as client:
        return client.deployment(b64u_decode(dep.admin_fingerprint, length=16)).log_vkey


# --- steps for the first-run tests (tests/web/test_first_run.py) ----------------------------------

def unlock_reporter(page: Page, passphrase: str) -> None:
    """On the first screen of a browser that keeps a wallet: type the passphrase, press Unlock
    (waits for nothing: the caller waits for the records or for the error)."""
    box = page.locator("#unlock-form")
    box.get_by_label(say(page, "Passphrase")).fill(passphrase)
    box.get_by_role("button", name=say(page, "Unlock")).click()


def wait_for_alert(page: Page, timeout: float = SLOW) -> str:
    """Wait for the error notice (#alert) to say something; return its text."""
    alert = page.locator("#alert")
    alert.filter(has_text=re.compile(".")).wait_for(timeout=timeout)
    return alert.inner_text()


def expect_in_view_and_focused(page: Page, selector: str) -> None:
    """What a person sees and where the keyboard is: the element is inside the window (not above
    or below the part on screen) and has the focus (it, or something inside it, is activeElement)."""
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    viewport = page.viewport_size
    assert viewport is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (
        f"{selector} is outside the window: top {box['y']:.0f}, bottom {box['y'] + box['height']:.0f}, "
        f"window height {viewport['height']}")
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], f"{selector} is cut off sideways: {box}"
    focused = page.evaluate("""(sel) => {
        const m = document.querySelector(sel), a = document.activeElement;
        return {inside: Boolean(m && a && m.contains(a)), active: a ? (a.id || a.tagName) : null};
    }""", selector)
    assert focused["inside"], f"the focus is on {focused['active']!r}, not on {selector}"


def submit_escrow_expecting_error(page: Page) -> str:
    """Press "Put in escrow" on a filled form; wait for the error (fails if it went in escrow)."""
    page.get_by_role("button", name="Put in escrow").click()
    alert, note = page.locator("#alert"), page.locator("#note")
    alert.filter(has_text=re.compile(".")).or_(note.filter(has_text="in escrow")).first.wait_for(timeout=SLOW)
    assert alert.inner_text(), "expected an error, the page says: " + note.inner_text()
    return alert.inner_text()


def download(page: Page, link: Any, folder: Path) -> Path:
    """Click a download link; the file as the browser saved it, under its suggested name in FOLDER."""
    with page.expect_download() as info:
        link.click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def export_wallet(page: Page, path: Path, passphrase: str) -> Any:
    """Export the browser's wallet with the button; open it with the Python SDK (a Wallet)."""
    from consilience.clients import wallet

    page.get_by_role("navigation").get_by_role("link", name="Your records").click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Export wallet file").click()
    info.value.save_as(path)
    return wallet.load(path, passphrase)


def withdraw(page: Page) -> None:
    """On an escrowed record's page: Withdraw…, Yes; waits for the confirmation."""
    page.get_by_role("button", name="Withdraw…").click()
    page.get_by_role("button", name="Yes, withdraw it").click()
    expect(page.locator("#note")).to_contain_text("The record was withdrawn", timeout=60_000)


# --- English left on a page in another language ----------------------------------------------------

def english_messages(lang: str) -> set[str]:
    """Every argument-free English message of the catalogs that ``lang`` says differently."""
    en, target = catalogs()["en"], catalogs()[lang]
    return {_plain(v) for k, v in en.items() if "{" not in v and len(v) > 3 and _plain(target.get(k, v)) != _plain(v)}


def english_left(page: Page, lang: str, *, typed: tuple[str, ...] = ()) -> list[str]:
    """The lines of the page's visible text that are, or hold, an English message of the catalogs
    (a line holding something the person typed, ``typed``, is theirs and not checked)."""
    english = english_messages(lang)
    long_ones = [e for e in english if len(e.split()) >= 3]
    found = []
    for line in page.locator("body").inner_text().splitlines():
        line = line.strip()
        if not line or any(t in line for t in typed):
            continue
        if line in english or any(e in line for e in long_ones):
            found.append(line)
    return found
