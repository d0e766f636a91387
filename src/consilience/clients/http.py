"""HTTP client construction shared by the SDK.

httpx builds a new SSL context (and loads the CA bundle) for every Client,
which costs tens of milliseconds, even for http:// URLs; the benchmarks
showed it dominating a submission's OPRF round. One verified default
context per process is built once and reused by every client.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def client(**kwargs: Any) -> httpx.Client:
    kwargs.setdefault("verify", ssl_context())
    return httpx.Client(**kwargs)
