#!/usr/bin/env python3
"""digest.py TESTLOG_JSON: a short account of each failed test, printed after the meson run.

CI shows only the tail of its output, and meson's error logs of an early failure scroll out of
it; this puts each failed test's name, result, time and the lines its harness said about the
failure (run-nested.sh, lib.sh, l1-init.sh, the agent's FAIL markers) at the very end.
"""
import json
import re
import sys

KEEP = re.compile(r"(run-nested: |lib: (L2 |NESTED|sentinel|starting)|l1-init: |CELLVM-AGENT: FAIL|"
                  r"CELLVM-L1: EXIT|FAIL|Kernel panic|soft lockup|triple fault)")
PASSING = {"OK", "SKIP", "EXPECTEDFAIL"}
LINES = 30


def main(path):
    failed = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                t = json.loads(line)
            except ValueError:
                continue
            if t.get("result") not in PASSING:
                failed.append(t)
    if not failed:
        return 0
    print(f"\n==== digest: {len(failed)} failed test(s) ====")
    for t in failed:
        print(f"\n--- {t['name']}: {t['result']} after {t['duration']:.0f} s "
              f"(exit {t.get('returncode')})")
        text = (t.get("stdout") or "") + "\n" + (t.get("stderr") or "")
        lines = [l.strip("\r")[:300] for l in text.splitlines() if KEEP.search(l)]
        for l in lines[-LINES:]:
            print("  " + l)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
