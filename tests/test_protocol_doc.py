"""PROTOCOL.md §10 lists every domain-separation label of the code, so none can be added undocumented.

The scan reads every module of ``src/consilience`` with :mod:`ast` (docstrings
are skipped) and collects:

* every string or bytes literal that starts with ``consilience-v`` followed by a
  digit (the versioned labels, HKDF salt, signing prefixes, DSTs, headers);
* every literal of the form ``consilience-<name>/v<N>`` (document and file formats);
* the value of every module-level string or bytes constant whose name ends in
  ``LABEL``, ``DST``, ``AAD``, ``INFO``, ``PURPOSE`` or ``SALT`` (labels without
  the ``consilience-`` prefix, such as ``"v2 quorum wrap key"`` or a
  passphrase-sealing purpose);
* the label argument of every call of ``consilience.crypto.kdf.derive``,
  resolved when it is a module-level constant; a label the scan cannot
  resolve fails the test, so that it is never silently skipped.

Each must appear as a code span (between backticks) in §10 of PROTOCOL.md,
written as the literal's characters with ``\\n`` for a newline and ``\\xNN`` for
any other byte outside printable ASCII; and every span there of the first two
forms must still be in the code, so that a removed label does not stay listed.

The trust table (§2) and the rest of PROTOCOL.md name tests as
``tests/<file>.py::<test>`` (or ``::<test>`` for another test of the file named
last); each named test must exist, so that a row cannot point at a test that
was renamed or removed.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "consilience"
DOCUMENT = ROOT / "PROTOCOL.md"

_VERSIONED = re.compile(r"^consilience-v\d")
_FORMAT = re.compile(r"^consilience-[a-z0-9-]+/v\d+$")
_CONSTANT_NAME = re.compile(r"(LABEL|DST|AAD|INFO|PURPOSE|SALT)$")
_KDF_MODULE = "consilience.crypto.kdf"


@dataclass(frozen=True)
class Found:
    label: str  # as PROTOCOL.md writes it
    where: str  # path:line


def render(value: str | bytes) -> str:
    """How the label table writes a literal: printable ASCII as is, ``\\n``, else ``\\xNN``."""
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\\n")
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch):02x}")
    return "".join(out)


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _module_constants(tree: ast.Module) -> dict[str, str | bytes]:
    constants: dict[str, str | bytes] = {}
    for node in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if (isinstance(target, ast.Name) and isinstance(value, ast.Constant)
                and isinstance(value.value, (str, bytes))):
            constants[target.id] = value.value
    return constants


def _kdf_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names bound to the kdf module, and names bound to its ``derive`` function."""
    modules, functions = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "consilience.crypto":
            modules |= {a.asname or a.name for a in node.names if a.name == "kdf"}
        elif isinstance(node, ast.ImportFrom) and node.module == _KDF_MODULE:
            functions |= {a.asname or a.name for a in node.names if a.name == "derive"}
        elif isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name == _KDF_MODULE and a.asname}
    return modules, functions


def _is_kdf_derive(call: ast.Call, modules: set[str], functions: set[str]) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "derive" and isinstance(func.value, ast.Name):
        return func.value.id in modules
    return isinstance(func, ast.Name) and func.id in functions


def scan(source: Path) -> tuple[list[Found], list[str]]:
    """The labels under ``source`` and the kdf.derive calls whose label could not be resolved."""
    found: list[Found] = []
    unresolved: list[str] = []
    for path in sorted(source.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(source.parent) if source.parent in path.parents else path
        docstrings = _docstrings(tree)
        constants = _module_constants(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and id(node) not in docstrings:
                text = node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value
                if _VERSIONED.match(text) or _FORMAT.match(text):
                    found.append(Found(render(node.value), f"{rel}:{node.lineno}"))
        for node in tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if (isinstance(target, ast.Name) and _CONSTANT_NAME.search(target.id)
                            and target.id in constants):
                        found.append(Found(render(constants[target.id]), f"{rel}:{node.lineno}"))
        modules, functions = _kdf_names(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not _is_kdf_derive(node, modules, functions):
                continue
            label = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "label"), None)
            where = f"{rel}:{node.lineno}"
            if isinstance(label, ast.Constant) and isinstance(label.value, str):
                found.append(Found(render(label.value), where))
            elif isinstance(label, ast.Name) and label.id in constants:
                found.append(Found(render(constants[label.id]), where))
            else:
                unresolved.append(where)
    return found, unresolved


def label_table(document: str) -> set[str]:
    """Every code span of §10 ("## 10." up to the next "## ")."""
    match = re.search(r"^## 10\. .*?(?=^## )", document, flags=re.MULTILINE | re.DOTALL)
    if match is None:
        raise AssertionError("PROTOCOL.md has no section 10 (the label table)")
    return set(re.findall(r"`([^`\n]+)`", match.group(0)))


def missing(found: list[Found], documented: set[str]) -> list[Found]:
    """The labels not documented, each place once, in the order found."""
    return list(dict.fromkeys(f for f in found if f.label not in documented))


def stale(found: list[Found], documented: set[str]) -> list[str]:
    """Documented labels of a form the scan recognises that the code does not have."""
    labels = {f.label for f in found}
    return sorted(d for d in documented if (_VERSIONED.match(d) or _FORMAT.match(d)) and d not in labels)


# -- the real tree -------------------------------------------------------------------------------


def test_every_label_in_the_code_is_in_the_label_table() -> None:
    found, unresolved = scan(SOURCE)
    assert not unresolved, ("kdf.derive calls whose label is neither a literal nor a module-level constant "
                            f"(make it one, so it can be checked against PROTOCOL.md §10): {unresolved}")
    absent = missing(found, label_table(DOCUMENT.read_text(encoding="utf-8")))
    assert not absent, "labels used in the code but missing from PROTOCOL.md §10:\n" + "\n".join(
        f"  `{f.label}`  ({f.where})" for f in absent)


def test_every_versioned_label_in_the_table_is_in_the_code() -> None:
    """The other way round, for the labels the scan recognises by their form: the table lists none the code
    no longer has (a removed label would otherwise stay documented)."""
    gone = stale(scan(SOURCE)[0], label_table(DOCUMENT.read_text(encoding="utf-8")))
    assert not gone, f"PROTOCOL.md §10 lists labels no longer in src/consilience: {gone}"


def test_the_scan_sees_every_kind_of_label() -> None:
    """The scan is not vacuous: one label of each kind it looks for is found where it is defined."""
    labels = {f.label for f in scan(SOURCE)[0]}
    for expected in ("consilience-v2 evaluate",  # a versioned bytes label
                     "consilience-v2 deployment\\n",  # rendered with its newline
                     "consilience-v2 entry content\\x01",  # rendered with a control byte
                     "consilience-deployment/v2",  # a format
                     "consilience keyshare dealing",  # a constant named *INFO without the prefix
                     "consilience reporter wallet",  # a PURPOSE
                     "v2 quorum wrap key",  # a kdf label held in a constant
                     "match tag"):  # a kdf label given as a literal
        assert expected in labels, expected


_TEST_REF = re.compile(r"^(tests/[\w/]+\.py)(?:::(\w+))?$")
_SAME_FILE_REF = re.compile(r"^::(\w+)$")


def cited_tests(document: str) -> list[tuple[str, str | None]]:
    """(file, test or None) for every code span naming a test file or test, in order of appearance."""
    cited: list[tuple[str, str | None]] = []
    current: str | None = None
    for span in re.findall(r"`([^`\n]+)`", document):
        if (m := _TEST_REF.match(span)) is not None:
            current = m.group(1)
            cited.append((current, m.group(2)))
        elif (m := _SAME_FILE_REF.match(span)) is not None:
            if current is None:
                raise AssertionError(f"`{span}` names a test before any test file is named")
            cited.append((current, m.group(1)))
    return cited


def absent_tests(root: Path, cited: list[tuple[str, str | None]]) -> list[str]:
    absent = []
    for file, test in cited:
        path = root / file
        if not path.is_file():
            absent.append(file)
        elif test is not None and not re.search(rf"^\s*(async\s+)?def {test}\(", path.read_text(encoding="utf-8"),
                                                flags=re.MULTILINE):
            absent.append(f"{file}::{test}")
    return absent


def test_every_test_the_document_names_exists() -> None:
    cited = cited_tests(DOCUMENT.read_text(encoding="utf-8"))
    assert len(cited) > 20  # the trust table names a test for nearly every row
    absent = absent_tests(ROOT, cited)
    assert not absent, "PROTOCOL.md names tests that do not exist:\n" + "\n".join(f"  {a}" for a in absent)


# -- the checker itself --------------------------------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    source = tmp_path / "src" / "consilience"
    for name, text in files.items():
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return source


_DOC = ("# x\n\n## 10. Labels\n\n| `consilience-v2 known` | a |\n| `known kdf label` | b |\n\n"
        "## 11. Next\n\n`consilience-v9 elsewhere`\n")


def test_a_made_up_label_fails_the_check(tmp_path: Path) -> None:
    source = _tree(tmp_path, {"protocol/new.py": ('NEW = b"consilience-v2 made-up label"\n'
                                                  'OLD = b"consilience-v2 known"\n')})
    found, unresolved = scan(source)
    assert not unresolved
    assert [f.label for f in missing(found, label_table(_DOC))] == ["consilience-v2 made-up label"]


def test_a_made_up_kdf_label_fails_the_check(tmp_path: Path) -> None:
    source = _tree(tmp_path, {"protocol/k.py": (
        "from consilience.crypto import kdf\n"
        "SECRET_KEY_NAME = 'made-up kdf label'\n"
        "def f(x):\n"
        "    kdf.derive(x, 'known kdf label', b'', 32)\n"
        "    return kdf.derive(x, SECRET_KEY_NAME, b'', 32)\n")})
    found, unresolved = scan(source)
    assert not unresolved
    assert [f.label for f in missing(found, label_table(_DOC))] == ["made-up kdf label"]


def test_a_documented_label_the_code_dropped_is_reported(tmp_path: Path) -> None:
    source = _tree(tmp_path, {"protocol/k.py": "from consilience.crypto import kdf\n"
                                                "def f(x):\n    return kdf.derive(x, 'known kdf label', b'', 32)\n"})
    # "known kdf label" has no recognisable form, so only the versioned one is reported
    assert stale(scan(source)[0], label_table(_DOC)) == ["consilience-v2 known"]


def test_a_label_documented_only_outside_section_10_fails(tmp_path: Path) -> None:
    source = _tree(tmp_path, {"a.py": 'X = "consilience-v9 elsewhere"\n'})
    assert [f.label for f in missing(scan(source)[0], label_table(_DOC))] == ["consilience-v9 elsewhere"]


def test_an_unresolvable_kdf_label_is_reported(tmp_path: Path) -> None:
    source = _tree(tmp_path, {"b.py": (
        "from consilience.crypto.kdf import derive\n"
        "def f(x, label):\n"
        "    return derive(x, label, b'', 32)\n")})
    assert scan(source)[1] == ["consilience/b.py:3"]


def test_docstrings_formats_and_other_strings(tmp_path: Path) -> None:
    source = _tree(tmp_path, {"c.py": (
        '"""Mentions consilience-v2 in prose, which is not a label."""\n'
        'FORMAT = "consilience-thing/v3"\n'
        'THREAD = "consilience-release-pass"\n'
        'MESSAGE = "run consilience admin init"\n'
        'ENVELOPE_INFO = b"consilience-v2 env\\x00"\n')})
    # the constant is found twice (a versioned literal, and a constant named *INFO): reported once
    assert [f.label for f in missing(scan(source)[0], set())] == ["consilience-thing/v3", "consilience-v2 env\\x00"]


@pytest.mark.parametrize(("value", "rendered"), [
    (b"consilience-v2 deployment\n", "consilience-v2 deployment\\n"),
    (b"consilience-v2 entry content\x01", "consilience-v2 entry content\\x01"),
    ("match tag", "match tag"),
])
def test_render(value: str | bytes, rendered: str) -> None:
    assert render(value) == rendered


def test_a_renamed_test_is_reported(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test_kept() -> None:\n    pass\n", encoding="utf-8")
    doc = "| a | `tests/test_x.py::test_kept`, `::test_renamed`; `tests/test_gone.py` |"
    assert cited_tests(doc) == [("tests/test_x.py", "test_kept"), ("tests/test_x.py", "test_renamed"),
                                ("tests/test_gone.py", None)]
    assert absent_tests(tmp_path, cited_tests(doc)) == ["tests/test_x.py::test_renamed", "tests/test_gone.py"]


def test_no_section_10_is_an_error() -> None:
    with pytest.raises(AssertionError, match="no section 10"):
        label_table("# x\n\n## 9. Limits\n")
