#!/usr/bin/env bash
# Create .venv (if missing) and install Consilience into it, with test extras when asked.
# libsodium comes from the system (Debian: libsodium23); pysodium loads it at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Consilience needs Python 3.11 or newer" >&2; exit 1
fi
if ! ldconfig -p 2>/dev/null | grep -q libsodium; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq libsodium23 >/dev/null
    else
        echo "libsodium is missing: install it (Debian/Ubuntu: apt-get install libsodium23)" >&2; exit 1
    fi
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
extras="${1:-}"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras:+[$extras]}"
.venv/bin/python -c "import consilience, pysodium" 
