"""deploy/: the systemd units, their environment files and the nginx configuration agree with the code.

Every unit parses and carries the hardening docs/production.md promises; every ExecStart runs a real
``consilience`` command with options that command accepts; every CONSILIENCE_* variable the
environment examples set is one the code reads, and every ${VAR} a unit uses is set in the file it
reads; the nginx upstreams proxy to the ports the units listen on. ``systemd-analyze verify`` and
``nginx -t`` check the files as the programs themselves read them: .ci/run installs both (Debian's
systemd and nginx-light); elsewhere those two tests skip with the reason, and under CI=true they fail.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from consilience.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
ENV = DEPLOY / "env"
NGINX = DEPLOY / "nginx" / "consilience.conf"
INSTALLED = "/opt/consilience/venv/bin/consilience"


def _missing(program: str, package: str) -> None:
    """Skip locally; fail under CI=true, where every test must run (.ci/run installs ``package``)."""
    reason = f"{program} is not installed (Debian: apt-get install {package})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: every test must run)", pytrace=False)
    pytest.skip(reason)
#: where each unit's EnvironmentFile= is installed from (docs/production.md's install steps)
ENV_FILES = {"/etc/consilience/escrow.env": ENV / "escrow.env",
             "/etc/consilience/keyserver-%i.env": ENV / "keyserver.env"}
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
             "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "Restart": "on-failure", "Type": "exec",
             "CapabilityBoundingSet": ""}


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """systemd's INI dialect: sections, KEY=VALUE lines (a key may repeat), # and ; comments."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        assert not line.endswith("\\"), f"{path.name}:{number}: keep each setting on one line"
        if line.startswith("["):
            assert line.endswith("]"), f"{path.name}:{number}: bad section header {line!r}"
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}:{number}: a setting before any section"
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key.strip()), f"{path.name}:{number}: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f"{path.name}: {line!r}"
            values[key] = value
    return values


def services() -> list[Path]:
    found = sorted(UNITS.glob("*.service"))
    assert {p.name for p in found} == {"consilience-escrow@.service", "consilience-integrator.service",
                                       "consilience-keyserver@.service"}
    return found


def command_options(argv: list[str]) -> tuple[Any, set[str]]:
    """The command ``consilience ARGV…`` names (typer's click command), and the options it accepts."""
    command: Any = typer.main.get_command(app)
    for word in argv:
        if not hasattr(command, "get_command") or word.startswith("-"):
            break
        found = command.get_command(command.context_class(command), word)
        assert found is not None, f"consilience has no command {' '.join(argv[:argv.index(word) + 1])!r}"
        command = found
    options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    return command, options


def test_units_parse_and_are_hardened() -> None:
    for path in services():
        unit = parse_unit(path)
        assert set(unit) == {"Unit", "Service", "Install"}, path.name
        service = unit["Service"]
        for key, value in HARDENING.items():
            assert service.get(key) == [value], f"{path.name}: {key}={value}"
        assert service["User"][0].startswith("consilience") and service["User"] == service["Group"]
        state = service["StateDirectory"][0]
        assert service["ReadWritePaths"] == [f"/var/lib/{state}"], path.name
        assert len(service["EnvironmentFile"]) == 1 and service["EnvironmentFile"][0] in ENV_FILES, path.name
    target = parse_unit(UNITS / "consilience.target")
    assert sorted(target["Unit"]["Wants"][0].split()) == sorted(
        [*(f"consilience-escrow@{p}.service" for p in escrow_ports()), "consilience-integrator.service"])


def test_every_exec_start_is_a_real_command() -> None:
    for path in services():
        service = parse_unit(path)["Service"]
        argv = shlex.split(service["ExecStart"][0])
        assert argv[0] == INSTALLED, path.name
        command, options = command_options(argv[1:])
        given = [word for word in argv[1:] if word.startswith("-")]
        assert given, path.name
        unknown = [word for word in given if word.split("=", 1)[0] not in options]
        assert not unknown, f"{path.name}: 'consilience {argv[1]}' accepts no {unknown} (it has {sorted(options)})"
        used = set(re.findall(r"\$\{([A-Z0-9_]+)\}", service["ExecStart"][0]))
        defined = env_file(ENV_FILES[service["EnvironmentFile"][0]])
        assert used <= set(defined), f"{path.name} uses {sorted(used - set(defined))}, unset in its environment file"


def test_environment_examples_name_only_variables_the_code_reads() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "src" / "consilience").rglob("*.py"))
    read = set(re.findall(r"CONSILIENCE_[A-Z0-9_]*[A-Z0-9]", source))
    for path in sorted(ENV.glob("*.env")):
        named = set(re.findall(r"CONSILIENCE_[A-Z0-9_]*[A-Z0-9]", path.read_text()))
        assert named, path.name
        assert named <= read, f"{path.name} sets {sorted(named - read)}, which no code reads"


def escrow_ports() -> list[int]:
    return [int(p) for p in re.findall(r"server 127\.0\.0\.1:(\d+);", _upstream("consilience_escrow"))]


def _upstream(name: str) -> str:
    found = re.search(r"upstream " + re.escape(name) + r" \{(.*?)\}", NGINX.read_text(), re.S)
    assert found, f"no upstream {name} in {NGINX.name}"
    return found.group(1)


def test_nginx_proxies_to_the_ports_the_units_listen_on() -> None:
    ports = escrow_ports()
    assert len(ports) >= 2 and len(set(ports)) == len(ports)
    keyserver = [int(p) for p in re.findall(r"server 127\.0\.0\.1:(\d+);", _upstream("consilience_keyserver_ks1"))]
    assert keyserver == [int(env_file(ENV / "keyserver.env")["KEYSERVER_PORT"])]
    assert not set(keyserver) & set(ports)
    escrow_unit = parse_unit(UNITS / "consilience-escrow@.service")["Service"]["ExecStart"][0]
    for words in ("--port %i", "--host 127.0.0.1", "--trusted-proxy 127.0.0.1"):
        assert words in escrow_unit
    # the key server's CORS origin is the escrow server's public address, which nginx serves
    origin = env_file(ENV / "keyserver.env")["WEB_ORIGIN"]
    assert re.search(r"server_name " + re.escape(origin.removeprefix("https://")) + ";", NGINX.read_text())


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    """Where systemd-analyze is installed: the units as systemd itself reads them, instances included."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        _missing("systemd-analyze", "systemd")
    beside = Path(sys.executable).with_name("consilience")  # the script of the environment running the tests
    consilience = str(beside) if beside.is_file() else shutil.which("consilience") or "consilience"
    for path in UNITS.iterdir():
        (tmp_path / path.name).write_text(path.read_text().replace(INSTALLED, consilience))
    names = ["consilience-integrator.service", "consilience.target", "consilience-keyserver@ks1.service",
             *(f"consilience-escrow@{p}.service" for p in escrow_ports())]
    for name in names:
        template = re.sub(r"@[^.]+\.", "@.", name)
        if template != name:
            shutil.copyfile(tmp_path / template, tmp_path / name)
    proc = subprocess.run([analyze, "verify", "--man=no", *(f"./{n}" for n in names)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


def test_nginx_accepts_its_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where nginx is installed: ``nginx -t`` on the configuration, with throwaway certificates."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        _missing("nginx", "nginx-light")
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    from tls_certs import PrivateCA  # type: ignore[import-not-found]  # tests/, put on the path above

    ca = PrivateCA.make(tmp_path)
    text = NGINX.read_text()
    for name in set(re.findall(r"/etc/letsencrypt/live/([^/]+)/fullchain\.pem", text)):
        made = ca.issue(name, (name,))
        text = text.replace(f"/etc/letsencrypt/live/{name}/fullchain.pem", str(made.cert))
        text = text.replace(f"/etc/letsencrypt/live/{name}/privkey.pem", str(made.key))
    assert "/etc/letsencrypt" not in text
    (tmp_path / "site.conf").write_text(text)
    (tmp_path / "nginx.conf").write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
                                         f"events {{}}\nhttp {{ include {tmp_path}/site.conf; }}\n")
    proc = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("variable", ["CONSILIENCE_DATABASE_URL"])
def test_the_admin_tools_read_the_database_url_the_units_pass(variable: str) -> None:
    """The units pass the escrow database's URL to serve; the admin commands read the same variable."""
    from consilience.operator import deployment

    assert deployment.DATABASE_URL_ENV == variable
    assert variable in env_file(ENV / "escrow.env")
