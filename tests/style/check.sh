#!/bin/bash
# Style gate (suite `style`): side-effecting syscalls only in wrapper files, no file over 800
# lines, no formatting drift against .clang-format. Prints every finding, fails on any.
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 1

product_dirs=(core device-procs devspec blockd netd vsockd vfiod ipc proto sandbox)
fail=0
report() { echo "style: $*"; fail=1; }

# Wrapper files are where KVM ioctls, mmap and prctl may appear, so each sandbox profile can be
# read against the few files that need it.
is_wrapper() { case "$1" in *kvm_ioctl*.c|*_sys.c) return 0;; *) return 1;; esac; }

mapfile -t product_c < <(git ls-files -co --exclude-standard -- "${product_dirs[@]/%//*.c}" 2>/dev/null | sort -u)
for f in "${product_c[@]}"; do
    [ -f "$f" ] || continue
    is_wrapper "$f" && continue
    # Strip comments and strings crudely; then look for the calls.
    hits=$(sed -e 's://.*$::' "$f" | grep -nE '\b(mmap|mmap64|mremap|prctl)[[:space:]]*\(|ioctl[[:space:]]*\([^;]*KVM_' || true)
    [ -n "$hits" ] && report "$f: side-effecting syscall outside a wrapper file (*_sys.c, *kvm_ioctl*.c):"$'\n'"$hits"
done

mapfile -t all_src < <(git ls-files -co --exclude-standard -- '*.c' '*.h' 2>/dev/null | grep -v '^build' | sort -u)
for f in "${all_src[@]}"; do
    [ -f "$f" ] || continue
    n=$(wc -l < "$f")
    [ "$n" -gt 800 ] && report "$f: $n lines (limit 800): split it"
done

if command -v clang-format >/dev/null; then
    for f in "${all_src[@]}"; do
        [ -f "$f" ] || continue
        case "$f" in tests/payloads/*|*.pb-c.*) continue;; esac
        if ! out=$(clang-format --dry-run -Werror --style=file "$f" 2>&1); then
            report "$f: formatting drift (run clang-format -i $f):"$'\n'"$(echo "$out" | head -n 6)"
        fi
    done
else
    report "clang-format is missing (apt-get install clang-format)"
fi

if [ "$fail" -eq 0 ]; then
    echo "style: ${#product_c[@]} product C files and ${#all_src[@]} sources checked, no findings"
fi
exit "$fail"
