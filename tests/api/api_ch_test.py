#!/usr/bin/env python3
"""cellvm against Cloud Hypervisor v51.0's published OpenAPI file (from ../shared, registered
only where that file exists): every path of CH's file answers a status the file lists (or, with
no VM, the error CH itself gives), and 200 bodies match CH's schemas. The project's own
document is checked against the server by api_doc_test.py in every clone.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apilib import SKIP, Schema, Vmm, call, kvm_usable, load_yaml, vm_config  # noqa: E402


def expect(v, method, path, want, body=None):
    st, out = call(v.sock, method, path, body)
    assert st in want, f"{method} {path}: {st} {out!r}, expected {want}"
    return out


def info(v, schema):
    st, body = call(v.sock, "GET", "vm.info")
    assert st == 200, (st, body)
    doc = json.loads(body)
    schema.check(doc, {"$ref": "#/components/schemas/VmInfo"})
    return doc


def case_openapi(args, doc, schema):
    v = Vmm(args)
    try:
        v.wait_up()
        impl_no_vm = {  # CH's answers without a VM
            "/vmm.ping": {200}, "/vm.info": {500}, "/vm.counters": {500}, "/vm.boot": {404},
            "/vm.pause": {404}, "/vm.resume": {404}, "/vm.shutdown": {404}, "/vm.reboot": {404},
            "/vm.power-button": {404}, "/vm.delete": {204}, "/vm.resize-disk": {500},
            "/vm.add-net": {500}, "/vmm.nmi": {404},
        }
        for path, ops in doc["paths"].items():
            if path in ("/vm.create", "/vmm.shutdown"):
                continue
            served = "/vm.nmi" if path == "/vmm.nmi" else path  # CH's router quirk
            for method, op in ops.items():
                allowed = {int(k) for k in op["responses"]}
                want = impl_no_vm.get(path, allowed - {200, 204})
                body = {} if "requestBody" in op else None
                if path == "/vm.resize-disk":
                    body = {"id": "disk0", "desired_size": 1 << 20}
                if path == "/vm.add-net":
                    body = {"tap": "tap0"}
                st, out = call(v.sock, method.upper(), served[1:], body)
                assert st in want, f"{path}: {st} {out!r}, expected one of {want}"
                if st == 200:
                    sch = op["responses"][200 if 200 in op["responses"] else "200"]
                    schema.check(json.loads(out), sch["content"]["application/json"]["schema"])
                print(f"ok {method.upper()} {path}: {st}")
        assert call(v.sock, "PUT", "vmm.nmi")[0] == 404, "/vmm.nmi is not routed (quirk)"
        expect(v, "PUT", "vm.create", {204}, vm_config(args))
        before = info(v, schema)
        assert before["state"] == "Created"
        expect(v, "PUT", "vm.boot", {204})
        assert info(v, schema)["state"] == "Running"
        for path, ops in doc["paths"].items():
            served = "/vm.nmi" if path == "/vmm.nmi" else path
            if path in ("/vm.create", "/vmm.shutdown", "/vm.boot", "/vm.delete", "/vm.shutdown",
                        "/vm.pause", "/vm.resume", "/vm.power-button"):
                continue
            for method, op in ops.items():
                allowed = {int(k) for k in op["responses"]}
                body = {} if "requestBody" in op else None
                if path == "/vm.resize-disk":
                    body = {"id": "disk0", "desired_size": 1 << 20}
                if path == "/vm.add-net":
                    body = {"tap": "tap0"}
                st, out = call(v.sock, method.upper(), served[1:], body)
                assert st in allowed, f"running {path}: {st} {out!r}, expected one of {allowed}"
                if path in ("/vmm.nmi", "/vm.reboot"):
                    assert st == 204, f"running {path}: {st} {out!r}"
                if st == 200:
                    sch = op["responses"][200 if 200 in op["responses"] else "200"]
                    schema.check(json.loads(out), sch["content"]["application/json"]["schema"])
                print(f"ok running {method.upper()} {path}: {st}")
        assert info(v, schema)["state"] == "Running"
    finally:
        v.stop()
    assert v.p.returncode == 0, v.p.returncode


def main():
    ap = argparse.ArgumentParser()
    for a in ("cellvm", "core", "api", "remote", "payloads", "openapi"):
        ap.add_argument("--" + a, required=True)
    for a in ("blockd", "netd", "vsockd", "rngd", "balloond"):
        ap.add_argument("--" + a)
    args = ap.parse_args()
    if not kvm_usable():
        print("SKIP: /dev/kvm is not usable")
        return SKIP
    doc = load_yaml(args.openapi)
    if doc is None:
        print("SKIP: python3-yaml is not installed")
        return SKIP
    case_openapi(args, doc, Schema(doc))
    print("PASS openapi-ch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
