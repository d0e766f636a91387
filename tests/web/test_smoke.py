"""The built web app loads in Chromium under its CSP and talks to nobody but the deployment."""

from __future__ import annotations

from .browser import Tab


def test_reporter_and_counselor_pages_load_clean(open_tab) -> None:  # type: ignore[no-untyped-def]
    for path in ("/", "/counselor/"):
        tab: Tab = open_tab(path)
        tab.page.wait_for_load_state("networkidle")
        response = tab.page.request.get(path)
        assert response.status == 200, f"{path}: {response.status}"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert tab.page.title(), f"{path} has no title"
        assert any(u.endswith(".js") for u in tab.requests), f"{path} loaded no script: {tab.requests}"
        tab.assert_clean()


def test_the_csp_really_blocks_inline_script_and_other_origins(open_tab) -> None:  # type: ignore[no-untyped-def]
    """The harness sees violations: an inline script and a third-party fetch are refused and recorded."""
    tab: Tab = open_tab("/")
    tab.page.wait_for_load_state("networkidle")
    tab.page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.__inlineRan = true';
        document.head.append(s);
        return fetch('http://127.0.0.2:9/x').catch(() => null);
    }""")
    tab.page.wait_for_timeout(200)
    assert tab.page.evaluate("() => window.__inlineRan === true") is False
    assert len(tab.csp_violations()) >= 2, tab.console
    assert tab.foreign_requests() == []  # the CSP stopped the fetch before it left the page
