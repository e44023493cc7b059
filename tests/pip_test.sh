#!/bin/sh
# pip_test.sh — the Python package installs as python/README.md says, into a
# fresh virtual environment, offline: `python3 -m venv --system-site-packages`
# then `pip install --no-index ./python` (no network, no extra flags).  The
# installed package must carry its own copy of the library and work from
# outside the source tree (a fit and a predict), and `pip uninstall`
# removes it.  A LATEFUSE_LIB that is not a file (a relative path: pip runs
# setup.py from the package folder) fails the install with a message.  LF_BUILD names the build folder (default build).  Last line:
# "pip: N passed, N failed[, K skipped]".
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LF_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PY=/usr/bin/python3
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
case $BUILD in *san*|*fuzz*)
    echo "pip_test: $BUILD is a sanitizer build; the install test runs on plain builds"
    echo "pip: 0 passed, 0 failed"; exit 0 ;;
esac
if ! "$PY" -c 'import venv, ensurepip, numpy' 2>/dev/null; then
    if [ "${CI:-}" = true ]; then echo "FAIL: python3-venv or numpy missing"; echo "pip: 0 passed, 1 failed"; exit 1; fi
    echo "SKIP: python3-venv, python3-pip or numpy missing (make deps)"
    echo "pip: 0 passed, 0 failed, 1 skipped"; exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/latefuse_pip.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cp -r "$ROOT/python" "$T/python"   # pip writes build files next to the sources
rm -rf "$T/python/build"
if "$PY" -m venv --system-site-packages "$T/venv" >"$T/log" 2>&1; then ok; else cat "$T/log"; bad "venv"; fi
if (cd "$T" && LATEFUSE_LIB="$BUILD/liblatefuse.so" PIP_NO_INDEX=1 venv/bin/pip install --no-index ./python) \
       >"$T/log" 2>&1; then ok; else tail -20 "$T/log"; bad "pip install --no-index ./python"; fi
# a LATEFUSE_LIB that is not a file (here relative to the caller's folder,
# while pip runs setup.py from the package's) fails the install, naming it,
# rather than bundling another library or none
rm -rf "$T/python/build"
if (cd "$T" && cp "$BUILD/liblatefuse.so" rel.so && LATEFUSE_LIB=rel.so PIP_NO_INDEX=1 \
        venv/bin/pip install --no-index ./python) >"$T/log" 2>&1; then
    bad "pip install with LATEFUSE_LIB=rel.so (relative) succeeded: $(grep -i 'latefuse:' "$T/log")"
elif grep -q "LATEFUSE_LIB is set to 'rel.so', which is not a file" "$T/log"; then ok
else tail -5 "$T/log"; bad "pip install with a LATEFUSE_LIB that is not a file: no message naming it"; fi
rm -rf "$T/python/build"
cd "$T" || exit 1
out=$(env -u LATEFUSE_LIB -u PYTHONPATH venv/bin/python - <<'PY' 2>&1
import os, numpy as np, latefuse as lf
from latefuse import _lib
p = lf.library_path
assert "venv" in p and p.endswith("liblatefuse.so"), p
rng = np.random.default_rng(0)
y = rng.integers(0, 3, 200)
X = rng.dirichlet(np.ones(3), (200, 2)).astype(np.float32)
X[np.arange(200), 0, y] += 1
X /= X.sum(2, keepdims=True)
f = lf.Fusion(method="mean").fit(X, y)
print("ok", f.method_, round(f.score(X, y), 3), os.path.basename(p))
PY
)
case $out in "ok mean "*" liblatefuse.so") ok ;; *) bad "the installed package: $out" ;; esac
# removed from the venv: importing it fails, or finds only a copy outside the
# venv (the system's, from `make python`, visible through --system-site-packages)
if venv/bin/pip uninstall -y latefuse >"$T/log" 2>&1 &&
    ! venv/bin/python -c 'import sys, latefuse; sys.exit(not latefuse.__file__.startswith(sys.prefix))' 2>/dev/null; then
    ok
else
    bad "pip uninstall: $(tail -3 "$T/log")"
fi
echo "pip: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
