"""The registry of identifier platforms: what is derived from it, and the vectors' copy of it.

These live apart from test_identifiers.py because every string literal in
that file is an input of the interop corpus (tests/vectors/sections/protocol.py),
so a new test there would change the vectors.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from consilience.errors import InvalidInput
from consilience.protocol import identifiers
from consilience.protocol.identifiers import KINDS, PHONE_EXAMPLE, PLATFORMS, PLATFORMS_BY_KIND, Platform, normalise

ROOT = Path(__file__).resolve().parents[2]
PROFILES = [p for p in PLATFORMS if p.kind not in ("email", "phone")]


def _kind(p: Platform) -> str:
    return p.kind


def test_kinds_and_lookup_follow_the_registry() -> None:
    assert KINDS == tuple(p.kind for p in PLATFORMS)
    assert list(PLATFORMS_BY_KIND) == list(KINDS)
    assert all(PLATFORMS_BY_KIND[p.kind] is p for p in PLATFORMS)
    assert PHONE_EXAMPLE == PLATFORMS_BY_KIND["phone"].example
    with pytest.raises(TypeError):
        PLATFORMS_BY_KIND["x"] = PLATFORMS[0]  # type: ignore[index]
    assert sorted(p.menu_position for p in PLATFORMS) == list(range(1, len(PLATFORMS) + 1))


def test_a_name_claimed_by_two_platforms_is_refused_at_import() -> None:
    with pytest.raises(ValueError, match="belongs to both"):
        identifiers._index(PLATFORMS[:2], lambda p: ("same.example",))


@pytest.mark.parametrize("platform", PLATFORMS, ids=_kind)
def test_examples_and_aliases_are_read_as_their_kind(platform: Platform) -> None:
    # Refusals offer the example as the shape to copy, so it must be recognised as
    # the platform's (its "name" may still be too short for Facebook or Telegram).
    assert identifiers._detect(platform.example, platform.example) == platform.kind
    for alias in platform.aliases:
        assert identifiers._split_prefix(f"{alias.upper()}: {platform.example}") == (platform.kind, platform.example)


@pytest.mark.parametrize("platform", PROFILES, ids=_kind)
def test_hosts_are_detected_and_shorteners_refused(platform: Platform) -> None:
    for host in platform.hosts:
        for link in (f"https://{host}/", f"https://www.{host}/", f"m.{host}/"):
            with pytest.raises(InvalidInput, match=re.escape(f" on {platform.label}; open the person's profile")):
                normalise(link)
    for host in platform.short_hosts:
        with pytest.raises(InvalidInput, match="is a shortened link"):
            normalise(f"https://{host}/abc")
    if platform.country_subdomains:
        host = platform.hosts[0]
        assert normalise(platform.example.replace(f"//{host}/", f"//uk.{host}/")).kind == platform.kind


def _builder() -> Any:
    path = ROOT / "tests" / "vectors" / "sections" / "protocol.py"
    spec = importlib.util.spec_from_file_location("interop_sections_protocol_registry", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_the_vectors_hold_the_registry() -> None:
    # web/test/protocol.test.js compares the browser's registry with this copy
    section = json.loads((ROOT / "tests" / "vectors" / "interop.json").read_text())["protocol"]["identifiers"]
    assert section["platforms"] == _builder().platform_data(), "run: python tests/vectors/make_interop.py"
    assert [p["kind"] for p in section["platforms"]] == section["kinds"]
    assert {"hosts", "aliases", "example", "label", "reserved"} <= set(section["platforms"][0])
