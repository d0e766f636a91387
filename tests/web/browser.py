"""Helpers for the browser tests: requirements, a watched browser tab, axe-core, screenshots.

Everything runs against Debian's Chromium (/usr/bin/chromium) driven by Playwright for Python;
nothing is downloaded. Where a requirement is missing the tests skip with the reason, except
under CI=true, where they fail: CI must run them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
CHROMIUM = Path("/usr/bin/chromium")
#: As the machine notes say works here: no sandbox as root, and no background connections
#: (the network is closed; Chromium would keep trying Google's hosts).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "docs" / "screenshots"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail under CI=true, where every test must run."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the web tests must run)", pytrace=False)
    pytest.skip(reason)


def node() -> str:
    path = shutil.which("node")
    if path is None:
        unavailable("Node.js is not installed (Debian: apt-get install nodejs npm)")
    return path


def build_web(out: Path) -> Path:
    """``node web/build.mjs --out OUT`` with the sources as they are now; fails the test on a build error."""
    if not (WEB / "node_modules" / "esbuild").is_dir():
        unavailable("web/node_modules is missing: run ./scripts/build-web (npm ci --prefix web)")
    proc = subprocess.run([node(), str(WEB / "build.mjs"), "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.fail(f"the web build failed:\n{proc.stdout}{proc.stderr}", pytrace=False)
    return out


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


_CSP = re.compile(r"content security policy|refused to (load|execute|apply|connect|create|evaluate|frame)",
                  re.IGNORECASE)


@dataclass(frozen=True)
class Throttle:
    """A cheap phone on a slow network, through the DevTools protocol: the page's CPU slowed ``cpu_rate``×
    (Emulation.setCPUThrottlingRate) and every request of the page delayed by ``latency_ms`` with
    ``kbit_per_s`` each way (Network.emulateNetworkConditions). Chromium throttles pages only (a worker's
    DevTools session answers setCPUThrottlingRate with "Operation is only supported for pages, not
    workers"), so a Web Worker (the Argon2id worker) runs at full speed. Open the context with
    ``service_workers="block"`` so that every request of the page goes through the emulated network."""

    cpu_rate: float = 6.0
    latency_ms: float = 400.0
    kbit_per_s: float = 400.0

    def apply(self, context: BrowserContext, page: Page) -> None:
        cdp = context.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": self.cpu_rate})
        cdp.send("Network.enable")
        rate = self.kbit_per_s * 1000 / 8  # bytes per second
        cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": self.latency_ms,
                                                      "downloadThroughput": rate, "uploadThroughput": rate})


#: The profile of the issue's slow phone: 6x slower CPU, about 400 kbit/s and 400 ms round trip.
SLOW_PHONE = Throttle()


@dataclass
class Tab:
    """A page in its own browser context (its own storage: one person), with what it did recorded."""

    page: Page
    context: BrowserContext
    allowed_origins: set[str]
    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def watch(self) -> Tab:
        self.context.on("request", self._on_request)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        return self

    def _on_console(self, message: ConsoleMessage) -> None:
        self.console.append((message.type, message.text))

    def _on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def csp_violations(self) -> list[str]:
        return [text for _, text in self.console if _CSP.search(text)]

    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind == "error"]

    def foreign_requests(self) -> list[str]:
        """Requests to anything but the deployment's own servers (data: and blob: are local)."""
        return [url for url in self.requests
                if not url.startswith(("data:", "blob:")) and origin(url) not in self.allowed_origins]

    def assert_clean(self) -> None:
        """No CSP violation, no uncaught error, nothing requested from another origin."""
        assert self.csp_violations() == [], f"CSP violations: {self.csp_violations()}"
        assert self.page_errors == [], f"uncaught errors in the page: {self.page_errors}"
        assert self.foreign_requests() == [], f"requests left the deployment: {self.foreign_requests()}"


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical"),
                   options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run axe-core in the page; return its violations of the given impacts.

    The script goes in through page.evaluate (DevTools), which the page's CSP does not govern;
    a <script> tag would be refused, as it should be.
    """
    if not AXE.is_file():
        unavailable(f"{AXE.relative_to(REPO)} is missing: run npm ci --prefix web")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())
    violations: list[dict[str, Any]] = page.evaluate(
        "async (options) => (await axe.run(document, options)).violations",
        {"resultTypes": ["violations"], **(options or {})})
    return [v for v in violations if v.get("impact") in impacts]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """A readable summary for an assertion message."""
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n.get("target", []))) for n in v.get("nodes", [])][:5]
        lines.append(f"[{v.get('impact')}] {v.get('id')}: {v.get('help')} at {targets}")
    return "\n".join(lines)


def screenshot_folder() -> Path:
    """docs/screenshots with CONSILIENCE_UPDATE_SCREENSHOTS=1; else a temporary folder, so a test run
    leaves the working tree as it was."""
    if os.environ.get("CONSILIENCE_UPDATE_SCREENSHOTS") == "1":
        return SCREENSHOTS
    return Path(tempfile.gettempdir()) / "consilience-screenshots"


def screenshot(page: Page, name: str, *, full_page: bool = True, folder: Path | None = None) -> Path:
    """Save <folder>/<name>.png (name: letters, digits, '-' and '_'); folder: ``screenshot_folder()``."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ValueError(f"bad screenshot name {name!r}")
    folder = screenshot_folder() if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path
