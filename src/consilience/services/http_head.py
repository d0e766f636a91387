"""HEAD answered wherever GET is (RFC 9110 §9.3.2): the GET's status and headers, no body.

FastAPI routes answer only the methods they name, so ``HEAD /`` (what link checkers, uptime
monitors and ``curl -I`` send) would be 405 on every page and on ``/healthz``. This middleware
runs a HEAD request as the GET it stands for and drops the body on the way out; the headers,
Content-Length and ETag included, are exactly those of the GET, and a route without GET still
answers 405 as it does to GET.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def send_headers_only(message: Message) -> None:
            nonlocal finished
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body":
                if not finished and not message.get("more_body", False):
                    finished = True
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
