"""The package's layers point one way (README, "Layout"), checked from the source's imports.

    crypto ← tlog ← protocol ← storage / clients / datadir ← services / operator ← local ← cli

A package may import packages of lower layers only; packages that share a layer do not import
each other (clients never reach storage or services; services and operator stay apart). The
top-level modules (``errors``, ``files``, the package's own ``__init__``) and ``web`` (the built
app's files) sit beneath every layer; ``cli`` is the outermost, since its commands start local
deployments and services. Every import counts, including those inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "consilience"

#: Layer of each top-level name under ``consilience``; lower numbers are lower layers.
LAYERS: dict[str, int] = {
    "errors": 0, "files": 0, "i18n": 0, "web": 0,
    "crypto": 1,
    "tlog": 2,
    "protocol": 3,
    "storage": 4, "clients": 4, "datadir": 4,
    "services": 5, "operator": 5,
    "local": 6,
    "cli": 7, "__main__": 8,
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every ``consilience`` import in PATH."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            # ``from consilience import files`` names the module ``consilience.files``.
            if name == "consilience":
                found += [(node.lineno, f"consilience.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, name))
    return [(line, name) for line, name in found if name.split(".")[0] == "consilience"]


def _top(module: str) -> str:
    """The top-level package or module of MODULE; ``__init__`` for names the package root defines."""
    parts = module.split(".")
    if len(parts) > 1 and ((PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").is_file()):
        return parts[1]
    return "__init__"


def violations() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "__init__.py":
            continue
        own = rel.parts[0].removesuffix(".py")
        if own not in LAYERS:
            problems.append(f"{rel}: package {own!r} has no layer; add it to LAYERS and README's Layout")
            continue
        for line, name in _imports(path):
            other = _top(name)
            if other == own or other == "__init__":
                continue
            if other not in LAYERS:
                problems.append(f"{rel}:{line}: imports {name}, whose package has no layer")
            elif LAYERS[other] > LAYERS[own]:
                problems.append(f"{rel}:{line}: {own} (layer {LAYERS[own]}) imports {name} from a higher "
                                f"layer ({other}, layer {LAYERS[other]})")
            elif LAYERS[other] == LAYERS[own] and LAYERS[own] > 0:
                problems.append(f"{rel}:{line}: {own} imports {name} from {other}, which shares its layer")
    return problems


def test_layers_point_one_way() -> None:
    problems = violations()
    assert not problems, "layering violations:\n" + "\n".join(problems)


@pytest.mark.parametrize(("source", "expected"), [
    ("from consilience.services.escrow import app\n", "imports consilience.services.escrow from a higher layer"),
    ("from consilience.storage import models\n", "shares its layer"),
    ("def f():\n    import consilience.cli.app\n", "imports consilience.cli.app from a higher layer"),
])
def test_check_catches_a_wrong_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str,
                                      expected: str) -> None:
    """The check itself can fail: a client module that imports upward or sideways is named."""
    fake = tmp_path / "consilience"
    for package in ("clients", "services", "storage", "cli"):
        (fake / package).mkdir(parents=True)
        (fake / package / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "clients" / "bad.py").write_text(source)
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", fake)
    problems = violations()
    assert len(problems) == 1 and "clients/bad.py" in problems[0] and expected in problems[0], problems
