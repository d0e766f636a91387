"""The CLI as a person runs it: a process with its own home folder, output to a pipe, no terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def person(home: Path, passphrase: str | None = None) -> dict[str, str]:
    """The environment of someone whose files are in HOME; PASSPHRASE answers every passphrase prompt.

    They speak English (CONSILIENCE_LANGUAGE=en), whatever this machine's LANG: the tests read the CLI's
    English; tests/test_i18n.py runs it in the other languages."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "CONSILIENCE_PASSPHRASE")}
    env.update({"CONSILIENCE_HOME": str(home), "TZ": "UTC", "CONSILIENCE_LANGUAGE": "en"})
    if passphrase is not None:
        env["CONSILIENCE_PASSPHRASE"] = passphrase
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "consilience", *args], capture_output=True, text=True, env=env,
                          timeout=180, stdin=subprocess.DEVNULL, start_new_session=True)


def ok(env: dict[str, str], *args: str) -> str:
    """The command's standard output; the test fails, showing both outputs, unless it succeeded."""
    proc = cli(env, *args)
    assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout
