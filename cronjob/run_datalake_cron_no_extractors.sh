#!/usr/bin/env bash
# Cleaners only (no platform is contacted): reprocess what is already in landing.
# Works from any working directory; extra arguments go to the runner.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/run_datalake_cron.sh" --skip-extractors "$@"
