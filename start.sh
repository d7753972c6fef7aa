#!/usr/bin/env bash
# Start Screen Time in the browser on the bundled demo project; installs what it needs the first time.
#   bash start.sh                 # then open http://localhost:8501
#   PORT=8600 bash start.sh
cd "$(dirname "$0")"
REQS=requirements.txt source scripts/setup.sh
exec .venv/bin/python -m streamlit run app.py --server.port "${PORT:-8501}" "$@"
