"""The exception tree drawn in consilience/errors.py names every exception class of the package, under its parent."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import consilience.errors

PACKAGE = Path(consilience.errors.__file__).resolve().parent
BUILTIN = {"BaseException", "Exception", "ValueError", "RuntimeError", "KeyError", "TypeError", "OSError"}


def exception_classes() -> dict[str, list[str]]:
    """class name -> its base names, for every class of the package that derives from an exception."""
    classes: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ClassDef):
                classes[node.name] = [b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")
                                      for b in node.bases]
    found: dict[str, list[str]] = {}
    while True:
        more = {name: bases for name, bases in classes.items()
                if name not in found and any(b in BUILTIN or b in found for b in bases)}
        if not more:
            return found
        found.update(more)


def drawn_tree() -> dict[str, str]:
    """class name -> parent, read from the docstring's drawing (indentation gives the parent)."""
    doc = consilience.errors.__doc__ or ""
    drawing = doc[doc.index("    Exception\n"):doc.index("\n\n", doc.index("    Exception\n"))]
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in drawing.splitlines():
        match = re.match(r"^([\s│├└─]*)(\w+)", line)
        assert match, line
        depth, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


def test_every_exception_class_is_drawn_under_its_parent() -> None:
    classes, tree = exception_classes(), drawn_tree()
    assert {"ConsilienceError", "ApiError", "KeyServerUnavailable", "Refusal"} <= set(classes)
    assert set(classes) == set(tree), "errors.py's tree is out of date"
    for name, bases in classes.items():
        assert tree[name] in bases, f"{name} is drawn under {tree[name]}, but derives from {bases}"
    assert tree["Refusal"] == "Exception"  # an HTTP answer, not a ConsilienceError


def test_every_drawn_class_is_explained() -> None:
    doc = consilience.errors.__doc__ or ""
    for name in drawn_tree():
        if name not in {"NotFound", "Conflict", "InviteRefused"}:  # explained with StorageError
            assert f"``{name}``" in doc, name
