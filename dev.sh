#!/usr/bin/env bash
# The Workbench's one entry point for a newcomer and for CI.
#
#   ./dev.sh main   install what is needed, run the pocket lab on the project's sample data
#   ./dev.sh test   install what is needed, run the whole test suite
#   ./dev.sh env    only create/refresh the virtual environment (.venv)
#
# The environment is a plain venv in .venv, installed from the pinned requirements.lock with uv
# (uv itself comes from PyPI into the venv). Re-running is cheap: it only syncs what changed.
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(0 if sys.version_info[:2]==(3,11) else 1)' 2>/dev/null; then PY=$c; break; fi
  done
fi
[ -n "$PY" ] || { echo "dev.sh: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 2; }

ensure_env() {
  if [ ! -x .venv/bin/python ]; then
    echo "dev.sh: creating .venv with $($PY --version)"
    "$PY" -m venv .venv
  fi
  if [ ! -x .venv/bin/uv ]; then
    .venv/bin/python -m pip install --quiet "uv==0.13.9"
  fi
  local stamp=.venv/.lock-sha
  local want
  want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "dev.sh: installing pinned dependencies from requirements.lock"
    VIRTUAL_ENV=$PWD/.venv .venv/bin/uv pip sync --quiet requirements.lock
    VIRTUAL_ENV=$PWD/.venv .venv/bin/uv pip install --quiet --no-deps -e .
    .venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
    echo "$want" > "$stamp"
  fi
}

# Browser tests drive Debian's Chromium (never a downloaded browser build). Install it when it
# is missing and we may (root with apt-get); otherwise the browser tests say why they skip.
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "dev.sh: installing Debian's chromium for the browser tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "dev.sh: could not install chromium; browser tests will report it" >&2
  fi
}

cmd=${1:-help}
shift || true
case "$cmd" in
  env)
    ensure_env ;;
  main)
    ensure_env
    exec .venv/bin/workbench lab "$@" ;;
  test)
    ensure_env
    ensure_chromium
    exec .venv/bin/python -m pytest "$@" ;;
  *)
    sed -n '2,9p' "$0"; exit 2 ;;
esac
