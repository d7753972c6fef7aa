#!/usr/bin/env bash
# Install what the tests need (Python packages and the project in .venv; Chromium and its driver from Debian
# for the browser test), check the code (ruff, mypy: pyproject.toml) and run every test.
# Extra arguments go to pytest:  bash test.sh -k video
cd "$(dirname "$0")"
REQS=requirements-dev.txt source scripts/setup.sh
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Chromium and ChromeDriver from Debian for the browser test ..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "Chromium is not installed and cannot be installed without root: the browser test will be skipped." >&2
  fi
fi
echo "Checking the code (ruff, mypy) ..."
.venv/bin/python -m ruff check .
.venv/bin/python -m mypy
exec .venv/bin/python -m pytest "$@"
