# Sourced by start.sh and test.sh: make the project's virtual environment (.venv), install the packages of
# $REQS into it, and the project itself (editable, so `import core` works from anywhere).
# Usage inside a script: REQS=requirements.txt source scripts/setup.sh
set -euo pipefail
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "Screen Time needs Python 3.10 or newer (found: $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtual environment in .venv ..."
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(cat "$REQS" requirements.txt pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installing the Python packages of $REQS (the first time takes a few minutes) ..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQS"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  touch "$stamp"
fi
