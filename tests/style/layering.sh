#!/bin/bash
# Layering gate (suite `style`): the privileged controller's code stays in core/. Nothing outside
# core/ and tests/ (device daemons, their runtime, ipc/, proto/, sandbox/, devspec/, and any
# top-level folder added later) may include a header under core/, and no meson.build outside
# them may compile a file under core/ or link a library core/ declares. What both sides need
# lives in a shared top-level module (devspec/, ipc/, proto/). Prints every finding, fails on any.
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 1

fail=0
report() { echo "layering: $*"; fail=1; }

# Tracked and new files alike, so a violation fails before it is committed; find(1) outside git.
list() {
    if git rev-parse --git-dir >/dev/null 2>&1; then
        git ls-files -co --exclude-standard -- "$@"
    else
        local args=() p
        for p in "$@"; do args+=(-o -path "./$p"); done
        find . -type f \( "${args[@]:1}" \) | sed 's|^\./||'
    fi
}
outside() { grep -vE '^(core|tests|build[^/]*)/' | grep '/' | sort -u; }

mapfile -t srcs < <(list '*.c' '*.h' | outside)
for f in "${srcs[@]}"; do
    [ -f "$f" ] || continue
    hits=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]core/' "$f" || true)
    [ -n "$hits" ] && report "$f includes the controller's code (core/):"$'\n'"$hits"
done

# The libraries and dependencies core/ declares, e.g. cli_dep, cli_lib.
mapfile -t core_names < <(list '*meson.build' | grep -E '^core/' | while read -r m; do
    [ -f "$m" ] && grep -ohE '^[[:space:]]*[A-Za-z0-9_]+_(dep|lib)[[:space:]]*=[[:space:]]*(declare_dependency|static_library|shared_library|library)' "$m"
done | sed -E 's/^[[:space:]]*([A-Za-z0-9_]+).*/\1/' | sort -u)

mapfile -t builds < <(list '*meson.build' | outside)
for m in "${builds[@]}"; do
    [ -f "$m" ] || continue
    hits=$(grep -nE "['\"](\.\./)+core/" "$m" || true)
    [ -n "$hits" ] && report "$m compiles files under core/:"$'\n'"$hits"
    for n in "${core_names[@]}"; do
        hits=$(sed -e 's/#.*$//' "$m" | grep -nwF "$n" || true)
        [ -n "$hits" ] && report "$m links core/'s $n:"$'\n'"$hits"
    done
done

if [ "$fail" -eq 0 ]; then
    echo "layering: ${#srcs[@]} sources and ${#builds[@]} meson files outside core/ and tests/, no findings"
fi
exit "$fail"
