#!/usr/bin/env python3
"""The controller as the README runs it from the build tree: `cellvm --api-socket S` with no
CELLVM_LIBEXEC_DIR, so it starts cellvm-api (and, for a VM, cellvm-core and the device daemons)
from its own folder. Every helper named on the command line must sit beside the controller;
vmm.ping answers and vmm.shutdown ends the process with 0.

usage: buildtree_test.py CELLVM HELPER...   (helpers: the built cellvm-api, cellvm-core, daemons)
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apilib import call  # noqa: E402


def main():
    cellvm, helpers = sys.argv[1], sys.argv[2:]
    here = os.path.dirname(cellvm)
    missing = [h for h in helpers
               if not os.access(os.path.join(here, os.path.basename(h)), os.X_OK)]
    assert not missing, f"not beside {cellvm}: " + ", ".join(map(os.path.basename, missing))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELLVM_")}
    tmp = tempfile.mkdtemp(prefix="cellvm-buildtree-")
    sock = os.path.join(tmp, "api.sock")
    log = open(os.path.join(tmp, "log"), "w+")
    p = subprocess.Popen([cellvm, "--api-socket", sock], env=env, stdout=log,
                         stderr=subprocess.STDOUT)

    def logtext():
        log.flush()
        log.seek(0)
        return log.read()

    try:
        t0 = time.monotonic()
        while True:
            assert p.poll() is None, f"cellvm exited with {p.returncode}: {logtext()}"
            try:
                st, body = call(sock, "GET", "vmm.ping")
                break
            except OSError:
                pass
            assert time.monotonic() - t0 < 10, "the API did not come up: " + logtext()
            time.sleep(0.02)
        assert st == 200 and b'"version"' in body, (st, body)
        st, body = call(sock, "PUT", "vmm.shutdown")
        assert st == 204, (st, body)
        rc = p.wait(10)
        assert rc == 0, f"cellvm exited with {rc}: {logtext()}"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"PASS: {os.path.basename(cellvm)} --api-socket from {here}, helpers beside it: "
          + ", ".join(sorted(os.path.basename(h) for h in helpers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
