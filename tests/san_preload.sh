# san_preload.sh — sourced by the test scripts that load the library into
# another program (python_test.sh, readme_test.sh).
#
# san_preload LIB prints what a sanitizer build's LIB needs loaded first
# (nothing for a plain build): gcc links libasan/libubsan into the .so (ldd
# shows them); clang leaves the symbols undefined for the executable to
# provide, so its runtime is preloaded.  Fails, printing the runtime's
# name, when that clang runtime is not found.
san_preload() {
    _sp_lib=$1 _sp_pre=
    for _sp_rt in asan ubsan; do
        _sp_need=$(ldd "$_sp_lib" 2>/dev/null | awk -v r="lib$_sp_rt" 'index($1, r) == 1 { print $3; exit }')
        [ -n "$_sp_need" ] && _sp_pre="$_sp_pre${_sp_pre:+ }$_sp_need"
    done
    if [ -z "$_sp_pre" ] && nm -D --undefined-only "$_sp_lib" 2>/dev/null | grep -q ' __\(asan\|ubsan\)_'; then
        if nm -D --undefined-only "$_sp_lib" | grep -q ' __asan_'; then _sp_name=libclang_rt.asan-x86_64.so
        else _sp_name=libclang_rt.ubsan_standalone-x86_64.so; fi
        _sp_pre=$(clang -print-file-name=$_sp_name 2>/dev/null)
        if [ ! -f "$_sp_pre" ]; then
            echo "$_sp_name"
            return 1
        fi
    fi
    echo "$_sp_pre"
}
