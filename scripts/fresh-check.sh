#!/usr/bin/env bash
# What a new machine sees: clone the repository's committed HEAD into an empty
# directory and run the README's `make test` there, with its own new .tools
# and .venv built from uv.lock. Nothing of this checkout's environments is
# reused (uv's download cache is, as it would be on any machine that ran it).
# Usage: scripts/fresh-check.sh [REPOSITORY]   (default: this checkout)
set -euo pipefail
repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lbtoolkit-fresh.XXXXXX")
trap 'rm -rf "$work"' EXIT

git clone --quiet --no-local "$repo" "$work/lbtoolkit"
cd "$work/lbtoolkit"
echo "fresh-check: $(git log -1 --format='%h %s') in $work/lbtoolkit" >&2
# The caller's virtualenv and make variables must not leak into the clone's run.
env -u VIRTUAL_ENV -u UV_PROJECT_ENVIRONMENT -u MAKEFLAGS -u MFLAGS -u PYTEST_ADDOPTS \
  make test
