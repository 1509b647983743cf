#!/usr/bin/env bash
# Nightly BEDROT Data Lake run for cron. Works from any working directory.
# Extra arguments go to the runner: run_datalake_cron.sh --service metaads
# Settings: DATALAKE_ROOT (default: this repository), DATALAKE_PYTHON (default: the
# repository's .venv if present, else python3 on PATH). The runner's exit code is returned.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
export DATALAKE_ROOT="${DATALAKE_ROOT:-$repo}"
python="${DATALAKE_PYTHON:-}"
if [ -z "$python" ]; then
  if [ -x "$repo/.venv/bin/python" ]; then python="$repo/.venv/bin/python"; else python="$(command -v python3 || command -v python)"; fi
fi
exec "$python" "$here/run_datalake.py" "$@"
