"""Both servers run on uvicorn's C parser and event loop (``serving.SPEED_OPTIONS``).

uvicorn falls back to its pure-Python ones without a word when these are missing (its "auto"), so
a broken install would only show as a slower server; naming them makes it fail at start instead,
and this test fails where they are not installed.
"""

from __future__ import annotations

import sys

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from consilience.services import serving


async def _app(scope: object, receive: object, send: object) -> None:  # never called: nothing is served
    raise AssertionError("not served")


def test_httptools_parser_and_uvloop_event_loop() -> None:
    config = uvicorn.Config(_app, log_config=None, **serving.SPEED_OPTIONS)
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
    if sys.platform == "win32":
        pytest.skip("uvloop has no Windows build")
    import uvloop

    assert config.get_loop_factory() is uvloop.new_event_loop
