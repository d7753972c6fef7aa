#!/usr/bin/env bash
# Install what the tests need (Python packages in .venv; Chromium and its driver from Debian for the browser
# test) and run every test. Extra arguments go to pytest:  bash test.sh -k video
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
exec .venv/bin/python -m pytest "$@"
