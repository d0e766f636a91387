"""Write tests/vectors/interop.json, the vectors shared by the Python and JS test suites.

    python tests/vectors/make_interop.py

Sections: "crypto" from sections/crypto.py, "protocol" from
sections/protocol.py (when present). Deterministic parts are recomputed by
tests/test_interop_vectors.py and tests/test_interop_protocol.py; randomized
parts are Python-made ciphertexts both suites must open. One thing is read
back from the file being replaced: the recorded run of the key servers' key
generation ("protocol"/"dkg", whose deals are HPKE-sealed and so random),
on which the protocol v2 deployment document, accounts and evaluation vectors
are built; without it (a new file, changed parameters) the key generation
runs anew and every value depending on it changes.

Protocol v2 entries and envelopes: tests/vectors/make_entry_v2.py.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "interop.json"


def _load(name: str):  # type: ignore[no-untyped-def]
    path = HERE / "sections" / f"{name}.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"interop_sections_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def build() -> dict:
    doc: dict = {"_source": "tests/vectors/make_interop.py; do not edit by hand"}
    crypto = _load("crypto")
    assert crypto is not None
    doc["crypto"] = crypto.build()
    protocol = _load("protocol")
    if protocol is not None:
        doc["protocol"] = protocol.build()
    return doc


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=1, ensure_ascii=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
