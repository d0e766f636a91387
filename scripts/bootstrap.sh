#!/usr/bin/env bash
# Create .venv (if missing) and install Consilience into it, with test extras when asked;
# then build the web app when Node.js and npm are present (the CLI works without it).
# libsodium comes from the system (Debian: libsodium23); pysodium loads it at run time.
# Everything this script and the tools it runs print goes to stderr: stdout is left to the command
# that follows it (./scripts/demo --json prints one JSON object there).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Consilience needs Python 3.11 or newer" >&2; exit 1
fi
if ! ldconfig -p 2>/dev/null | grep -q libsodium; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq >&2 && apt-get install -y -qq libsodium23 >&2
    else
        echo "libsodium is missing: install it (Debian/Ubuntu: apt-get install libsodium23)" >&2; exit 1
    fi
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv >&2
extras="${1:-}"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras:+[$extras]}" >&2
.venv/bin/python -c "import consilience, pysodium" >&2
# The editable install imports src/ in place: its bytecode is compiled here, once, so each command and
# server process does not compile every module again (it would where PYTHONDONTWRITEBYTECODE is set).
.venv/bin/python -m compileall -q src/consilience >&2
if command -v node >/dev/null && command -v npm >/dev/null; then
    echo "Building the web app (npm ci + esbuild, see scripts/build-web)..." >&2
    bash scripts/build-web >&2
elif [ "${CI:-}" = true ]; then
    echo "Node.js and npm are needed in CI to build and test the web app (Debian: apt-get install nodejs npm)" >&2
    exit 1
else
    echo "Node.js/npm not found: skipping the web app build. The CLI works without it; to get the web app," >&2
    echo "install Node.js 20 and npm (Debian: apt-get install nodejs npm), then run ./scripts/build-web" >&2
fi
