#!/bin/bash
# What `meson install` adds besides binaries (dist/): the systemd units pass
# `systemd-analyze verify` with their ExecStart= pointing at this build's binaries, and every
# man page renders with groff -man and `man -l` without a warning.
# usage: dist_test.sh units SRCDIR CELLVM CELLVM-REMOTE CELLVM-BLOCKD CELLVM-NETD CELLVM-VSOCKD
#        dist_test.sh man SRCDIR
# Skips (77) when systemd-analyze or groff is not installed.
set -uo pipefail
SKIP=77
case=${1:?case}
src=${2:?source dir}
fail=0

units() {
    command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze missing (Debian package systemd)"; exit $SKIP; }
    local bin u out
    tmp=$(mktemp -d /tmp/cellvm-units-XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
    bin=$tmp/bin
    mkdir -p "$bin" "$tmp/etc/cellvm" "$tmp/units"
    for exe in "$@"; do
        [ -x "$exe" ] || { echo "FAIL: $exe is not built"; exit 1; }
        ln -s "$exe" "$bin/$(basename "$exe")"
    done
    for u in "$src"/dist/systemd/*.service.in; do
        sed -e "s|@BINDIR@|$bin|g" -e "s|@SYSCONFDIR@|$tmp/etc|g" "$u" \
            > "$tmp/units/$(basename "$u" .in)"
    done
    for u in "$tmp"/units/*@.service; do
        inst=${u%@.service}@test.service
        # Cheap sanity first: every ExecStart binary is one of ours and exists.
        grep -q "^ExecStart=$bin/cellvm" "$u" || { echo "FAIL: $(basename "$u"): ExecStart"; fail=1; }
        # The unit directory is searched for the template behind the instance name.
        if ! out=$(SYSTEMD_UNIT_PATH="$tmp/units:" systemd-analyze verify --man=no \
                   "$inst" 2>&1); then
            echo "FAIL: $(basename "$u"):"; echo "$out"; fail=1; continue
        fi
        # verify also reports problems without failing; any line naming our unit is one.
        if grep -F "$(basename "$u")" <<<"$out" | grep -v 'Unit configuration has' ; then
            echo "FAIL: $(basename "$u"): warnings above"; fail=1; continue
        fi
        echo "ok $(basename "$u")"
    done
}

man_pages() {
    command -v groff >/dev/null || { echo "SKIP: groff missing (Debian package groff-base)"; exit $SKIP; }
    local f n=0 out
    for f in "$src"/dist/man/*.[18]; do
        out=$(groff -man -Tutf8 -ww -z "$f" 2>&1)
        if command -v man >/dev/null; then
            out+=$(MANWIDTH=80 man --warnings -l -E UTF-8 "$f" 2>&1 >/dev/null)
        fi
        if [ -n "$out" ]; then
            echo "FAIL: $(basename "$f"):"; echo "$out"; fail=1
        else
            echo "ok $(basename "$f")"
        fi
        n=$((n + 1))
    done
    # One page per installed binary.
    for b in cellvm.1 cellvm-remote.1 cellvm-api.8 cellvm-blockd.8 cellvm-netd.8 cellvm-vsockd.8; do
        [ -f "$src/dist/man/$b" ] || { echo "FAIL: $b missing"; fail=1; }
    done
    echo "$n pages checked"
}

case $case in
units) shift 2; units "$@" ;;
man) man_pages ;;
*) echo "unknown case $case"; exit 2 ;;
esac
exit $fail
