"""The order the suite's files are handed to pytest-xdist's workers: the longest first.

``scripts/test`` runs ``--dist loadfile``: each file goes whole to the next worker that is nearly idle, in
collection order. A file that starts real processes (a deployment, Chromium, the benchmarks) runs for
tens of seconds to minutes; collected last, as the alphabet would have it, one worker ends the run alone
on it while the other has long finished. Handing out the long files first and the many quick ones after
keeps both workers busy to the end. Files keep their tests together and in order, so module fixtures
start once, as before.
"""

from __future__ import annotations

import pytest

#: Longest first: the benchmarks' smoke run (every benchmark, a few minutes), then the files that start
#: processes (browser and end-to-end tests, crash tests), then everything else.
_FIRST = ("tests/test_benchmarks_smoke.py",)
_PROCESS_DIRS = ("tests/web/", "tests/e2e/", "tests/faults/")


def _weight(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    if path in _FIRST:
        return 0
    if path.startswith(_PROCESS_DIRS) or item.get_closest_marker("e2e") or item.get_closest_marker("web"):
        return 1
    return 2


@pytest.hookimpl(trylast=True)  # after tests/web/conftest.py has marked its browser tests
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    by_file: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        by_file[path] = min(by_file.get(path, 2), _weight(item))
    # stable, and by file: each file's tests stay together and in their order
    items.sort(key=lambda item: by_file[item.nodeid.split("::", 1)[0]])
