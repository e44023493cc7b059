#!/bin/sh
# deps.sh — installs the Debian packages that the build and the tests need
# (`make deps`, `make test` when something is missing, and .ci/run), only
# those that are missing, without prompts.
#   gcc, make, libc6-dev    the build
#   pkg-config, libpng-dev, libjpeg62-turbo-dev   the image decoders
#                               (lf_image_*; the Makefile finds them with
#                               pkg-config and builds without them if absent)
#   clang, libclang-rt-14-dev   `make san CC=clang` and `make fuzz` (libFuzzer,
#                               ASan/UBSan runtimes)
#   python3-numpy, python3-torch, python3-pytest   golden files, benchmarks and
#                               the Python tests (/usr/bin/python3)
#   locales                     the locale sources test_csv and test_json
#                               build a comma-decimal locale from (localedef)
#   zlib1g-dev                  np.savez_compressed inputs (src/io/npz.c)
#   python3-h5py                Keras' .keras files (their model.weights.h5:
#                               python/latefuse/keras_file.py, test_keras_file.py)
#   python3-sklearn             the scikit-learn compatibility tests (and the
#                               benchmarks' peer)
#   python3-venv, python3-pip   the package's install into a virtual environment
#   chromium                    report_test.sh renders `latefuse report`'s
#                               page headless and checks the screenshot
#   openmpi-bin, libopenmpi-dev  the MPI build (`make MPI=1`: mpicc) and its
#                               tests under mpirun (tests/mpi_test.sh)
# `sh tests/deps.sh bench` adds what `make bench` needs: an
# optimised BLAS (OpenBLAS, OpenMP build) so that the PyTorch and numpy peers
# are measured at their best.
# `apt-get update` runs only when something is missing and the package
# lists are absent or an install without it fails.  Needs root (or sudo).
set -eu
PKGS="make gcc libc6-dev pkg-config libpng-dev libjpeg62-turbo-dev zlib1g-dev clang libclang-rt-14-dev libomp-14-dev python3-numpy python3-torch python3-pytest python3-h5py python3-setuptools python3-wheel python3-sklearn python3-venv python3-pip locales chromium openmpi-bin libopenmpi-dev"
[ "${1:-}" = bench ] && PKGS="$PKGS libopenblas0-openmp"

installed() { dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'; }

# `sh tests/deps.sh test` (the first thing `make test` does): a quick dpkg
# check of what the tests use; when something is missing it runs this
# script's install (as root, or with passwordless sudo) and says so, or
# else says what is missing and how to install it.  It never fails the
# build: the tests that need what is missing fail or are skipped (a skip
# is a failure under CI=true).
if [ "${1:-}" = test ]; then
    missing=""
    for p in make gcc libc6-dev pkg-config libpng-dev libjpeg62-turbo-dev zlib1g-dev python3-numpy python3-torch python3-pytest python3-h5py python3-sklearn python3-venv python3-pip locales chromium openmpi-bin libopenmpi-dev; do
        installed "$p" || missing="$missing $p"
    done
    [ -z "$missing" ] && exit 0
    if [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
        echo "make test: missing$missing: running make deps first"
        sh "$0" || echo "make test: make deps failed; the tests that need$missing will fail or be skipped"
    else
        echo "make test: missing$missing (not root: run 'make deps' as root to install them);" \
             "the tests that need them will be skipped"
    fi
    exit 0
fi

missing=""
for p in $PKGS; do installed "$p" || missing="$missing $p"; done
if [ -z "$missing" ]; then
    echo "deps: all present ($PKGS)"
    exit 0
fi
echo "deps: installing$missing"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "deps: missing$missing, and not root (no sudo): install them first" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
apt_install() { $SUDO apt-get install -y -q --no-install-recommends $missing; }
if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then $SUDO apt-get update -q; fi
if ! apt_install; then
    $SUDO apt-get update -q
    apt_install
fi
for p in $missing; do installed "$p" || { echo "deps: $p did not install" >&2; exit 1; }; done
echo "deps: done"
