#!/bin/sh
# install_test.sh — `make install` as a C user meets it: installs into a
# temporary DESTDIR (PREFIX /opt/latefuse), then
#   - checks the files: the shared library with its SONAME
#     liblatefuse.so.MAJOR and the two symlinks, the static library, the
#     header, the tool, the man page (formats without warnings, has every
#     command) and latefuse.pc;
#   - builds a small C program with `pkg-config --cflags --libs latefuse`
#     and runs it against the installed shared library;
#   - builds it again with `pkg-config --static --libs` against the static
#     library and checks the program needs no liblatefuse.so;
#   - `make uninstall` removes every installed file.
# LF_BUILD names the build folder (default build).  Last line:
# "install: N passed, N failed".
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LF_BUILD:-build}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { if eval "$2"; then ok; else bad "$1"; fi; }
T=$(mktemp -d "${TMPDIR:-/tmp}/latefuse_install.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
D=$T/dest P=/opt/latefuse
CC=${CC:-cc}
# Sanitizer builds link their runtime; a plain program cannot use them.
case $BUILD in *san*|*fuzz*)
    echo "install_test: $BUILD is a sanitizer build; the install test runs on plain builds"
    echo "install: 0 passed, 0 failed"; exit 0 ;;
esac

if ! make -s -C "$ROOT" install BUILD="$BUILD" DESTDIR="$D" PREFIX="$P" >"$T/log" 2>&1; then
    cat "$T/log"; echo "install: 0 passed, 1 failed"; exit 1
fi
version=$(sed -n 's/^#define LF_VERSION "\(.*\)"/\1/p' "$ROOT/include/latefuse.h")
major=${version%%.*}
L=$D$P/lib
check "liblatefuse.so.$version installed" "[ -f '$L/liblatefuse.so.$version' ] && [ ! -L '$L/liblatefuse.so.$version' ]"
check "liblatefuse.so.$major -> liblatefuse.so.$version" "[ \"\$(readlink '$L/liblatefuse.so.$major')\" = liblatefuse.so.$version ]"
check "liblatefuse.so -> liblatefuse.so.$major" "[ \"\$(readlink '$L/liblatefuse.so')\" = liblatefuse.so.$major ]"
soname=$(readelf -d "$L/liblatefuse.so.$version" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
check "SONAME is liblatefuse.so.$major (got '$soname')" "[ '$soname' = liblatefuse.so.$major ]"
check "static library" "[ -f '$L/liblatefuse.a' ]"
check "header" "cmp -s '$ROOT/include/latefuse.h' '$D$P/include/latefuse.h'"
check "tool runs" "'$D$P/bin/latefuse' --version | grep -qx 'latefuse $version'"
man1=$D$P/share/man/man1/latefuse.1
if [ -f "$man1" ]; then
    ok
    warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$man1" 2>&1 >"$T/man.txt")
    check "man page formats without warnings: $warn" "[ -z \"\$warn\" ] && [ -s '$T/man.txt' ]"
    for c in $("$D$P/bin/latefuse" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' | grep -v '^latefuse$'); do
        first=$("$D$P/bin/latefuse" "$c" --help | head -n 1 | sed 's/  */ /g')
        check "man page has '$first'" "sed 's/  */ /g' '$T/man.txt' | grep -qF -- '$first'"
    done
else
    bad "man page not installed"
fi

pc=$L/pkgconfig/latefuse.pc
check "latefuse.pc" "[ -f '$pc' ]"
export PKG_CONFIG_PATH="$L/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D"
check "pkg-config --modversion" "[ \"\$(pkg-config --modversion latefuse)\" = '$version' ]"
cat >"$T/prog.c" <<'C'
/* Fuses two models' outputs with the mean rule through the installed library. */
#include <latefuse.h>
#include <stdio.h>
int main(void) {
    const float a[] = {0.9f, 0.1f, 0.2f, 0.8f, 0.6f, 0.4f, 0.3f, 0.7f};
    const float b[] = {0.7f, 0.3f, 0.4f, 0.6f, 0.2f, 0.8f, 0.1f, 0.9f};
    const float *p[] = {a, b};
    const char *names[] = {"image", "text"};
    const int y[] = {0, 1, 0, 1};
    float out[8];
    lf_fusion *f = NULL;
    lf_fusion_options opt = lf_fusion_defaults();
    opt.method = LF_FUSE_MEAN;
    opt.importance = 0;
    if (lf_fusion_create(&f) != LF_OK) return 1;
    if (lf_fusion_fit(f, p, names, 2, 4, 2, y, &opt) != LF_OK ||
        lf_fusion_predict(f, p, 4, out) != LF_OK) {
        fprintf(stderr, "%s\n", lf_fusion_error(f));
        lf_fusion_free(f);
        return 1;
    }
    printf("%s %.2f %.2f\n", LF_VERSION, out[0], out[5]);
    lf_fusion_free(f);
    return 0;
}
C
want="$version 0.80 0.60"
if $CC -std=c11 -o "$T/prog" "$T/prog.c" $(pkg-config --cflags --libs latefuse) 2>"$T/cc.log"; then
    ok
    got=$(LD_LIBRARY_PATH="$L" "$T/prog" 2>&1)
    check "shared-linked program prints '$want' (got '$got')" "[ \"\$got\" = '$want' ]"
    check "it uses the installed liblatefuse.so.$major" \
        "LD_LIBRARY_PATH='$L' ldd '$T/prog' | grep -q '$L/liblatefuse.so.$major'"
else
    cat "$T/cc.log"; bad "build with pkg-config --cflags --libs"
fi
# Static: the archive by name, then what `pkg-config --static` adds.
static_libs=$(pkg-config --static --libs latefuse | sed 's/-llatefuse//')
if $CC -std=c11 -o "$T/prog_static" "$T/prog.c" $(pkg-config --cflags latefuse) \
       "$L/liblatefuse.a" $static_libs 2>"$T/cc.log"; then
    ok
    got=$("$T/prog_static" 2>&1)
    check "static program prints '$want' (got '$got')" "[ \"\$got\" = '$want' ]"
    check "static program needs no liblatefuse.so" "! ldd '$T/prog_static' | grep -q liblatefuse"
else
    cat "$T/cc.log"; bad "static build with pkg-config --static --libs"
fi
check "pkg-config --static names -lm and the OpenMP flag" \
    "pkg-config --static --libs latefuse | grep -q -- '-lm' && pkg-config --static --libs latefuse | grep -q -- 'openmp'"

make -s -C "$ROOT" uninstall BUILD="$BUILD" DESTDIR="$D" PREFIX="$P" >"$T/log" 2>&1
left=$(find "$D" -type f -o -type l)
check "make uninstall removes every file (left: $left)" "[ -z \"\$left\" ]"

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
