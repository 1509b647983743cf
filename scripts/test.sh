#!/usr/bin/env bash
# Install everything the tests need (a .venv with the project and its test extras, and Chromium
# for the browser tests), then run the whole test suite. Extra arguments go to pytest.
# Coverage of src/ and cronjob/ (the scripts the tests start as processes included) is measured
# into .coverage-data/, reported after pytest and enforced ([tool.coverage.*] in pyproject.toml);
# NO_COVERAGE=1 skips it. The exit code is pytest's, or coverage's if pytest passed.
# `--soak` (first argument) runs the reliability suite's long mode (DATALAKE_SOAK=1: more kills,
# more generated inputs, longer fault bursts); see README "Tests".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "${1:-}" = "--soak" ]; then
  shift
  export DATALAKE_SOAK=1
fi
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
if [ -z "${CHROMIUM_EXECUTABLE:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium >/dev/null
  else
    .venv/bin/python -m playwright install chromium
  fi
fi
if [ -n "${NO_COVERAGE:-}" ] && [ "${NO_COVERAGE}" != 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
export COVERAGE_FILE="$PWD/.coverage-data/coverage"  # absolute: subprocesses run in other dirs
rm -rf .coverage-data
status=0
.venv/bin/python -m coverage run -m pytest "$@" || status=$?
coverage_status=0
if .venv/bin/python -m coverage combine -q; then
  .venv/bin/python -m coverage report --sort=cover --skip-covered || coverage_status=$?
else
  coverage_status=1
fi
[ "$status" != 0 ] || status=$coverage_status
exit "$status"
