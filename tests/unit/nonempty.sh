#!/bin/bash
# nonempty.sh BUILD_ROOT: every unit test program (tests/unit/**/test-*) lists at least one test.
# Criterion finds a program's tests at run time in a section of its own, and a program whose
# tests were left out at link time (--gc-sections did that to all of them once) runs nothing and
# exits 0, so its meson test passes without testing anything.
set -uo pipefail
root=${1:?usage: nonempty.sh BUILD_ROOT}
n=0 bad=0
while IFS= read -r -d '' prog; do
	n=$((n + 1))
	# "suite: N tests" per suite, then the tests' names
	tests=$("$prog" --list 2>&1 | sed -n 's/^[^ ]*: \([0-9][0-9]*\) tests\{0,1\}$/\1/p' |
		awk '{ s += $1 } END { print s + 0 }')
	if [ "$tests" -eq 0 ]; then
		echo "FAIL: ${prog#"$root"/} lists no test"
		bad=$((bad + 1))
	fi
done < <(find "$root/tests/unit" -type f -name 'test-*' -perm -u+x -print0)
if [ "$n" -eq 0 ]; then
	echo "FAIL: no unit test program under $root/tests/unit"
	exit 1
fi
echo "$n unit test programs, $bad without tests"
[ "$bad" -eq 0 ]
