"""The first run as an operator meets it: README's two commands, the installed command reached the
way README says, the hints the program prints run as printed, admin commands and servers started
on a folder without a deployment, the servers' start lines, HEAD and the icon, the web origins.

Every command runs as a process with its output to a pipe (not a terminal), from a folder of the
test's own unless README says to run it from the repository, with a PATH that does not hold
.venv/bin: what a person has after ./scripts/demo.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from consilience.local import launcher
from consilience.local.command import command

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
CONSILIENCE = VENV_BIN / "consilience"
ICON = REPO / "web" / "src" / "app" / "assets" / "favicon.ico"
NO_DEPLOYMENT = ("No deployment in ./consilience-data. Create one with `{cmd} admin init`, "
                 "or pass --data-dir to the folder you used.")


@pytest.fixture(autouse=True)
def installed() -> None:
    if not CONSILIENCE.is_file():
        pytest.skip(f"{CONSILIENCE} is missing: run ./scripts/bootstrap.sh test")


def person_env(**extra: str) -> dict[str, str]:
    """The environment of someone who ran ./scripts/demo: .venv/bin is not on their PATH."""
    def venv(entry: str) -> bool:
        try:
            return os.path.samefile(entry, VENV_BIN)
        except OSError:
            return False

    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and not venv(p))
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONSILIENCE_PASSPHRASE", "COLUMNS")}
    return {**env, "PATH": path, **extra}


def run(args: list[str] | str, cwd: Path, *, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=person_env(**env), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, shell=isinstance(args, str),
                          executable="/bin/bash" if isinstance(args, str) else None)


def one_line(text: str) -> str:
    return " ".join(text.split())


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --- README's route to the installed command -------------------------------------------------------

def test_the_installed_command_is_reached_the_way_readme_says() -> None:
    direct = run([".venv/bin/consilience", "--help"], REPO)
    assert direct.returncode == 0 and "Usage" in direct.stdout, direct.stderr
    activated = run(". .venv/bin/activate && consilience --help", REPO)
    assert activated.returncode == 0 and "Usage" in activated.stdout, activated.stderr
    readme = (REPO / "README.md").read_text()
    two_commands = readme[readme.index("## Two commands"):readme.index("## Web app")]
    assert "`.venv/bin/consilience --help`" in two_commands and "`. .venv/bin/activate`" in two_commands


def test_hints_name_the_program_as_it_can_be_typed_from_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", person_env()["PATH"])
    assert command(str(CONSILIENCE), cwd=REPO) == ".venv/bin/consilience"
    assert command(str(CONSILIENCE), cwd=tmp_path) == str(CONSILIENCE)
    assert command(".venv/bin/consilience", cwd=REPO) == ".venv/bin/consilience"
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    assert command(str(CONSILIENCE), cwd=tmp_path) == "consilience"  # on PATH: the bare name


# --- ./scripts/demo ----------------------------------------------------------------------------------

def test_demo_json_is_one_json_object_through_a_pipe(tmp_path: Path) -> None:
    """README: `./scripts/demo --json`; the installer's lines (pip, npm, esbuild) go to stderr."""
    proc = run(f"set -o pipefail; ./scripts/demo --json --data-dir {shlex.quote(str(tmp_path / 'demo'))} "
               "| python3 -m json.tool", REPO, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    result = json.loads(proc.stdout)
    assert result["released_after"] == 3 and result["data_dir"] == str(tmp_path / "demo")


def test_the_demos_text_hints_run_as_printed_from_where_the_person_is(tmp_path: Path) -> None:
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    proc = run([str(REPO / "scripts" / "demo"), "--data-dir", "demo-data"], elsewhere, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    out = proc.stdout
    assert "\x1b[" not in out, "colour codes in a pipe"
    assert (elsewhere / "demo-data" / "escrow").is_dir(), "--data-dir is taken from where the person is"
    # who wrote what, and how to reach them
    assert "Reporter 2 (contact: +44 7700 900123, evenings) named dana.smith@example.com:" in out
    assert "Reporter 1 (contact: ana@example.org (text first)) named Dana.Smith@Example.com, " \
           "https://twitter.com/DanaSmith_:" in out

    [verify] = re.findall(r"Anyone can check a receipt offline, e\.g\. (.+?)(?: \(the administrator's fingerprint "
                          r"pins the log's key\))?$", out, re.MULTILINE)
    assert " verify " in verify and not verify.startswith("consilience ")
    checked = run(verify + " --json", elsewhere)
    assert checked.returncode == 0, verify + "\n" + checked.stderr
    assert json.loads(checked.stdout)["event"] == "entry"

    [keep] = re.findall(r"To try the same in a browser: (.+) demo --keep-running \(", out)
    again = run(f"{keep} demo --help", elsewhere)
    assert again.returncode == 0 and "--keep-running" in again.stdout, keep + "\n" + again.stderr


# --- admin init's next steps, the servers' start lines, HEAD, the icon, the web origins ---------------

def read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if sel.select(timeout=0.2):
                line = proc.stdout.readline()
                if line:
                    return line
            if proc.poll() is not None:
                break
    raise AssertionError(f"no ready line; exit {proc.poll()}; stderr: {proc.stderr.read() if proc.stderr else ''}")


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()


def start(started: list[subprocess.Popen[str]], words: list[str], cwd: Path, **env: str) -> tuple[
        subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen([*words, "--json"], cwd=cwd, env=person_env(**env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    started.append(proc)
    ready = json.loads(read_line(proc, time.monotonic() + 60))
    return proc, ready


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=15)
    return out, err


def test_admin_inits_next_steps_start_servers_that_say_where_they_listen(  # type: ignore[no-untyped-def]
        tmp_path: Path, started) -> None:
    escrow_port, *ks_ports = launcher.free_ports(4)
    init = run([str(CONSILIENCE), "admin", "init", "--data-dir", "deploy", "--port", str(escrow_port),
                "--keyserver-ports", ",".join(map(str, ks_ports))], tmp_path,
               CONSILIENCE_PASSPHRASE="operator passphrase")
    assert init.returncode == 0, init.stderr
    steps = [line.split("#")[0].strip() for line in init.stdout.splitlines() if line.startswith("  ")]
    assert steps[0] == f"{CONSILIENCE} serve --data-dir deploy --port {escrow_port}"
    assert steps[1:] == [f"{CONSILIENCE} keyserver --index {i} --data-dir deploy --port {p}"
                         for i, p in enumerate(ks_ports, start=1)]
    assert f"publish them with {CONSILIENCE} admin publish-keys --data-dir deploy" in one_line(init.stdout)

    # the default web origins: the escrow server by address and as localhost (point 8)
    escrow_url, localhost = f"http://127.0.0.1:{escrow_port}", f"http://localhost:{escrow_port}"
    for i in (1, 2, 3):
        doc = json.loads((tmp_path / "deploy" / f"keyserver-{i}" / "web-origins.json").read_text())
        assert doc["web_origins"] == [escrow_url, localhost]

    # admin init wrote no share: the key servers generate theirs once they run
    assert not list((tmp_path / "deploy").rglob("share.json"))
    # each key server, started as printed: one JSON line on stdout, one line in its log, no secrets. n and t
    # come from the deployment document, which the escrow server (not started yet) publishes: not known yet
    keyservers = [start(started, shlex.split(step), tmp_path) for step in steps[1:]]
    proc, ready = keyservers[0]
    assert ready == {"service": "keyserver", "index": 1, "key_servers": None, "threshold": None,
                     "url": f"http://127.0.0.1:{ks_ports[0]}", "pid": proc.pid,
                     "web_origins": [escrow_url, localhost]}
    preflight = httpx.options(f"{ready['url']}/v2/evaluate", timeout=10, headers={
        "Origin": localhost, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == localhost

    # the escrow server, as printed, serving a build with the icon
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<!doctype html><title>Reporter</title>")
    (static / "counselor.html").write_text("<!doctype html><title>Counselor</title>")
    (static / "manifest.json").write_text("{}")
    shutil.copy(ICON, static / "assets" / "favicon.ico")
    escrow, served = start(started, shlex.split(steps[0]), tmp_path, CONSILIENCE_WEB_STATIC=str(static))
    assert served == {"service": "escrow", "url": escrow_url, "pid": escrow.pid, "deployment_serial": 1,
                      "reporter_url": f"{escrow_url}/", "counselor_url": f"{escrow_url}/counselor/"}
    icon = httpx.get(f"{escrow_url}/favicon.ico", timeout=10)
    assert icon.status_code == 200 and icon.content == ICON.read_bytes()
    assert icon.headers["content-type"] == "image/x-icon" and icon.headers["cache-control"] == "no-cache"
    for path in ("/", "/favicon.ico", "/healthz"):
        got, head = httpx.get(escrow_url + path, timeout=10), httpx.head(escrow_url + path, timeout=10)
        assert head.status_code == got.status_code == 200 and head.content == b"", path
        assert head.headers["content-length"] == got.headers["content-length"], path

    _, escrow_log = stop(escrow)
    assert f"escrow server ready at {escrow_url} (deployment serial 1)" in escrow_log
    assert "cannot escrow" not in escrow_log  # its address is among the key servers' web origins
    for (proc, ready), port in zip(keyservers, ks_ports, strict=True):
        out, log = stop(proc)
        assert out == "", "stdout holds the one ready line only"
        lines = [line for line in log.splitlines() if line.strip()]
        assert lines[0].endswith(f"key server {ready['index']} ready at http://127.0.0.1:{port}; "
                                 f"browsers may call it from pages at {escrow_url}, {localhost}"), log
        # then the key generation, in sentences: it waits for the escrow server, which is started after it
        assert (f"key server {ready['index']} is waiting for the escrow server to publish the deployment document"
                in one_line(log)), log
        assert "Traceback" not in log and "HTTP Request" not in log
        folder = tmp_path / "deploy" / f"keyserver-{ready['index']}"
        secrets = [f.read_bytes().hex() for f in folder.glob("*.key")]
        for name in ("quorum-keys.json", "keygen-seed.json"):  # its shares and dealer seed, if it got that far
            if (folder / name).exists():
                doc = json.loads((folder / name).read_text())
                secrets += [str(doc[k]) for k in ("oprf_share", "abscissa_key", "seed") if k in doc]
                secrets += [v for level in dict(doc.get("shares", {})).values() for v in level]
        assert len(secrets) >= 2
        for secret in secrets:
            assert secret not in log


def test_serve_warns_when_the_key_servers_do_not_allow_its_address(tmp_path: Path, started) -> None:  # type: ignore[no-untyped-def]
    escrow_port, *ks_ports = launcher.free_ports(4)
    init = run([str(CONSILIENCE), "admin", "init", "--data-dir", "deploy", "--port", str(escrow_port),
                "--keyserver-ports", ",".join(map(str, ks_ports)), "--web-origin", "https://escrow.example.org"],
               tmp_path, CONSILIENCE_PASSPHRASE="operator passphrase")
    assert init.returncode == 0, init.stderr
    escrow, _ = start(started, [str(CONSILIENCE), "serve", "--data-dir", "deploy", "--port", str(escrow_port)],
                      tmp_path)
    _, log = stop(escrow)
    warning = one_line(log)
    assert "key server 1 lets browsers call it only from https://escrow.example.org" in warning
    assert f"the web app opened at http://127.0.0.1:{escrow_port}/ cannot escrow" in warning


# --- a folder without a deployment --------------------------------------------------------------------

ADMIN_COMMANDS = [["admin", "invite"], ["admin", "status"], ["admin", "refresh-keys"], ["admin", "publish-keys"],
                  ["admin", "restart-keygen"], ["admin", "key-servers", "--threshold", "2"],
                  ["admin", "counselor", "add", "counselor.key.pub.json"],
                  ["admin", "witness", "add", "witness.example.org/1+0123abcd+AAAA"]]


@pytest.mark.parametrize("args", ADMIN_COMMANDS, ids=lambda a: " ".join(a[:3]))
def test_admin_commands_without_a_deployment_say_what_to_do(tmp_path: Path, args: list[str]) -> None:
    proc = run([str(CONSILIENCE), *args], tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert one_line(proc.stderr) == "error: " + NO_DEPLOYMENT.format(cmd=CONSILIENCE)
    assert files_in(tmp_path) == [], "nothing is created"
    # the command it names works from here
    [named] = re.findall(r"`([^`]+)`", proc.stderr)
    assert run(f"{named} --help", tmp_path).returncode == 0

    as_json = run([str(CONSILIENCE), *args, "--json"], tmp_path)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["error"] == NO_DEPLOYMENT.format(cmd=CONSILIENCE)


def test_servers_without_a_deployment_leave_the_folder_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    for args in (["serve"], ["serve", "--json"], ["keyserver", "--index", "1"]):
        proc = run([str(CONSILIENCE), *args], tmp_path, timeout=60)
        assert proc.returncode == 1, (args, proc.stderr)
        assert "Traceback" not in proc.stdout + proc.stderr
        assert NO_DEPLOYMENT.format(cmd=CONSILIENCE) in one_line(proc.stderr)
        assert files_in(tmp_path) == ["deploy"], f"{args} left {files_in(tmp_path)}"
    proc = run([str(CONSILIENCE), "serve", "--data-dir", "deploy", "--json"], tmp_path, timeout=60)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error"].startswith("No deployment in ./deploy.")
    assert files_in(tmp_path) == ["deploy"]


def test_admin_status_reads_as_sentences_and_names_the_fingerprint(tmp_path: Path) -> None:
    """In a pipe: no Python lists or dicts, and the fingerprint a witness is asked for is shown."""
    init = run([str(CONSILIENCE), "admin", "init", "--data-dir", "deploy"], tmp_path,
               CONSILIENCE_PASSPHRASE="operator passphrase")
    assert init.returncode == 0, init.stderr
    invite = json.loads(run([str(CONSILIENCE), "admin", "invite", "--data-dir", "deploy", "--json"],
                            tmp_path, CONSILIENCE_PASSPHRASE="operator passphrase").stdout)["invites"][0]
    proc = run([str(CONSILIENCE), "admin", "status", "--data-dir", "deploy"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    for python_repr in ("['", "[]", "{'", "{}", "':"):
        assert python_repr not in text, text
    assert "quorum 2 (a reporter may ask for up to 10), 2 of 3 key servers needed" in text
    assert "Counselors: none yet" in text and "1 invites not used yet" in text
    assert "Entries: 0 in escrow, 0 released, 0 withdrawn; matches: 0" in text
    assert f"Administrator's fingerprint: {invite.split('.')[2]} " in text, "the invite's last part"
    assert "Quorum keys: not published yet" in text and "admin publish-keys" in text
    doc = json.loads(run([str(CONSILIENCE), "admin", "status", "--data-dir", "deploy", "--json"], tmp_path).stdout)
    assert doc["entries"] == {"escrowed": 0, "released": 0, "withdrawn": 0} and doc["counselors"] == []
    assert doc["admin_fingerprint"] == invite.split(".")[2]
