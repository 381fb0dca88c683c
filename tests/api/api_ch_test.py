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


# Bodies that pass CH's own parsing (its required fields), so the answer is the operation's and
# not the 400 both VMMs give a body missing a required field.
BODIES = {
    "/vm.resize-disk": {"id": "disk0", "desired_size": 1 << 20},
    "/vm.resize-zone": {"id": "zone0", "desired_ram": 1 << 30},
    "/vm.add-net": {"tap": "tap0"},
    # Fields CH's structs require that its document does not mark as required.
    "/vm.remove-device": {"id": "dev0"},
    "/vm.snapshot": {"destination_url": "file:///nonexistent/snap"},
    "/vm.coredump": {"destination_url": "file:///nonexistent/core"},
    "/vm.restore": {"source_url": "file:///nonexistent/snap"},
    "/vm.receive-migration": {"receiver_url": "unix:/nonexistent/mig.sock"},
    "/vm.send-migration": {"destination_url": "unix:/nonexistent/mig.sock"},
    "/vm.add-fs": {"tag": "fs0", "socket": "/nonexistent/fs.sock"},
    "/vm.add-pmem": {"file": "/nonexistent/pmem.img"},
    "/vm.add-device": {"path": "/nonexistent/device"},
    "/vm.add-user-device": {"socket": "/nonexistent/user.sock"},
    "/vm.add-vsock": {"cid": 3, "socket": "/nonexistent/vsock.sock"},
    "/vm.add-vdpa": {"path": "/nonexistent/vdpa"},
}
FILLERS = {"string": "x0", "integer": 1 << 20, "boolean": False, "array": [], "object": {}}


def valid_body(doc, path, op):
    """The body sent to path: a known one, else the schema's required fields with plain values
    (a path of the paths named in BODIES, or an operation without a body: None)."""
    if "requestBody" not in op:
        return None
    if path in BODIES:
        return BODIES[path]
    sch = op["requestBody"]["content"]["application/json"]["schema"]
    while "$ref" in sch:
        sch = doc["components"]["schemas"][sch["$ref"].split("/")[-1]]
    props = sch.get("properties", {})
    return {k: FILLERS.get(props.get(k, {}).get("type"), "x0") for k in sch.get("required", [])}


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
            # vm.restore and vm.receive-migration are how a VM comes to be without vm.create:
            # without one they do their work (the api cases restore and migrate VMs).
            if path in ("/vm.create", "/vmm.shutdown", "/vm.restore", "/vm.receive-migration"):
                continue
            served = "/vm.nmi" if path == "/vmm.nmi" else path  # CH's router quirk
            for method, op in ops.items():
                allowed = {int(k) for k in op["responses"]}
                want = impl_no_vm.get(path, allowed - {200, 204})
                body = valid_body(doc, path, op)
                st, out = call(v.sock, method.upper(), served[1:], body)
                assert st in want, f"{path}: {st} {out!r}, expected one of {want}"
                if st == 200:
                    sch = op["responses"][200 if 200 in op["responses"] else "200"]
                    schema.check(json.loads(out), sch["content"]["application/json"]["schema"])
                print(f"ok {method.upper()} {path}: {st}")
        assert call(v.sock, "PUT", "vmm.nmi")[0] == 404, "/vmm.nmi is not routed (quirk)"
        # A real file for the hot-added pmem (CH answers 500 for one it cannot open, cellvm
        # 400, as its own document says).
        pmem = os.path.join(v.dir, "pmem.img")
        with open(pmem, "wb") as f:
            f.truncate(2 << 20)
        BODIES["/vm.add-pmem"] = {"file": pmem}
        impl_running = {  # CH's own answers where its document lists fewer
            "/vm.snapshot": {500},  # "Trying to snapshot while VM is running"
        }
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
                body = valid_body(doc, path, op)
                st, out = call(v.sock, method.upper(), served[1:], body)
                allowed |= impl_running.get(path, set())
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
