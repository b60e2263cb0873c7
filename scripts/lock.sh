#!/usr/bin/env bash
# Recompiles the two lock files from pyproject.toml: every dependency pinned with its hashes, the
# build backend (maturin) included, resolved for Python 3.11 on every platform. Needs `uv`
# (`python3 -m pip install uv`). Run it after changing a dependency in pyproject.toml, commit the
# result, and let CI show that the suite passes on the new pins.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(mktemp)
trap 'rm -f "$build"' EXIT
python3 - "$build" <<'PY'
import sys, tomllib
reqs = tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]
open(sys.argv[1], "w").write("\n".join(reqs) + "\n")
PY
common=(--universal --python-version 3.11 --generate-hashes --quiet --no-header)
uv pip compile pyproject.toml "$build" "${common[@]}" -o requirements.lock
uv pip compile pyproject.toml "$build" --extra test "${common[@]}" -o requirements-test.lock
for f in requirements.lock requirements-test.lock; do
  sed -i "s#$build#pyproject.toml (build-system)#g" "$f"
  { echo "# Locked by scripts/lock.sh from pyproject.toml; install with"
    echo "#   python3 -m pip install -r $f"
    cat "$f"; } > "$f.tmp" && mv "$f.tmp" "$f"
done
