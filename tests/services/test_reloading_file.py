"""services.config.ReloadingFile: a changed file is in force for every reader once any reader has seen it change.

The escrow server's deployment document is one (DeploymentStore): the administrator adds a counselor, and the
counselor's login that follows must get the new document even while another thread (the release pass, a request)
is still reading and checking it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from consilience.services.config import ReloadingFile


class SlowText(ReloadingFile[str]):
    """Loads the file's text; a load after the first waits until ``proceed`` is set (a slow signature check)."""

    def __init__(self, path: Path) -> None:
        self.loading = threading.Event()
        self.proceed = threading.Event()
        self.loads = 0
        super().__init__(path)

    def load(self, path: Path) -> str:
        self.loads += 1
        if self.loads > 1:
            self.loading.set()
            assert self.proceed.wait(10)
        return path.read_text()


def replace_file(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_a_reader_during_anothers_reload_gets_the_new_value(tmp_path: Path) -> None:
    path = tmp_path / "document.json"
    path.write_text("serial 1")
    store = SlowText(path)
    replace_file(path, "serial 2, with one more counselor")

    first: list[str] = []
    reloading = threading.Thread(target=lambda: first.append(store.current()))
    reloading.start()
    assert store.loading.wait(10)  # the first reader is reading the new file
    second: list[str] = []
    reader = threading.Thread(target=lambda: second.append(store.current()))
    reader.start()
    reader.join(0.2)
    store.proceed.set()
    reloading.join(10)
    reader.join(10)
    assert first == second == ["serial 2, with one more counselor"]
    assert store.loads == 2  # read once for both
    assert store.current() == "serial 2, with one more counselor"
