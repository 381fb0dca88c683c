#!/usr/bin/env python3
"""The REST API end to end: cellvm --api-socket with its real cellvm-api and cellvm-core
processes, payload guests on /dev/kvm. Cases (one per run, named on the command line):

  lifecycle create/boot/pause/resume/power-button/counters/shutdown with vm.info before/after;
            vm.boot again after vm.shutdown (a fresh core), vm.delete of a running VM and
            vm.create again; after each stop only cellvm-api is left
  badinput  malformed JSON, wrong types, unknown fields, huge bodies, slow and half-closed
            clients, hundreds of connections, fds on requests that take none; vm.info after
  events    --event-monitor path= and fd=: create/boot/pause/resume/shutdown/delete through the
            API, the events in order in Cloud Hypervisor's shape (pretty JSON objects with
            timestamp {secs, nanos}, source, event, properties, separated by blank lines)
  disk      a raw disk behind a real cellvm-blockd: vm.counters has its row, vm.resize-disk
            grows the image (file size, blockd's log), refuses a shrink and an unknown id
  kata      Kata's sequence: vmm.ping every 10 ms until up, vm.create (kernel, cmdline,
            initramfs, cpus, memory, a readonly raw disk, serial, vsock), vm.info Created,
            vm.add-net with a TAP fd in SCM_RIGHTS (root only: a host TAP with a unique name),
            vm.boot, vm.info Running with the disk, net and vsock, vmm.shutdown, the process
            exits; a refused vm.add-net (fd count) closes the fds it came with; on the booted
            VM vm.add-net with a TAP fd hot-adds a NIC (200, PciDeviceInfo, the fd held);
            vm.shutdown ends every device process, removes the vsock socket and the TAP cellvm
            created, and vm.boot starts them all again; then Kata's hotplug: vm.add-disk with
            the body Kata's generated client sends (200, a bdf Kata's clhPciInfoToPath
            parses), vm.add-device of a sysfs path that does not exist (an error line, nothing
            added), vm.remove-device of the disk (204); with --virtiofsd (root) the VM has
            Kata's virtio-fs share (tag kataShared) from a real virtiofsd, started again for
            each boot as Kata does; then Kata's VM template: a second VMM boots the same
            configuration, vm.pause, vm.snapshot, vmm.shutdown, and a third vm.restore's it
            (Paused, with its virtiofsd), vm.resume, vmm.shutdown; every call Kata times out
            (1 s for pause, resume, snapshot and resize, 3 s for the process to exit) is timed
            and printed beside Kata's limit
  hotplug   PCI hotplug on a running VM whose guest (idle) never ejects: vm.add-disk answers
            200 with a PciDeviceInfo (both documents' schema, Kata's bdf shape), a new
            cellvm-blockd and a device-added event; a duplicate id, vm.remove-device of an
            unknown id, a second vm.remove-device while the eject is pending, and vm.add-net
            with an fd that is no TAP answer the errors the files give, leaving nothing behind
            (the fd closed, no cellvm-netd); vm.remove-device answers 204, and after the
            controller's eject bound (30 s) comes device-removal-timeout with the disk still in
            vm.info and its blockd still running; vm.remove-device then answers 204 again
  bootfail  (runs without /dev/kvm) vm.boot of a missing kernel, a file that is no kernel, a
            directory, a missing initramfs, a kernel the core cannot load: 500 with the reason,
            the VM Created again, no process of the VM left, the VMM still serving; vmm.shutdown
            leaves no socket file
  vfio      (runs without /dev/kvm) vm.create with devices (VFIO): vm.info shows them with the
            ids the VMM gives (_vfio0 when none is set); iommu, pci_segment, an unknown key and
            two devices with one id answer 400; vm.boot of a path that is no PCI device (or
            one without IOMMU group) answers 500 naming it before any process of the VM starts,
            and the VMM still serves; user_devices (vfio-user) likewise: ids _vfio_user0 when
            none is set, pci_segment refused, a socket nobody listens on fails vm.boot with 500
            (naming it when /dev/kvm is usable: it is connected after /dev/kvm is opened)
  landlockcfg (runs without /dev/kvm) vm.create with landlock_enable and landlock_rules:
            vm.info reports them; an access other than r/w/rw, a missing path or access and a
            path that does not exist answer 400 with the reason
  landlock  --landlock through vm.create: after vm.boot the controller is restricted (its
            log says so); vm.add-disk of an image outside the rules answers 500 saying that
            Landlock refused it, nothing started or kept; one inside a landlock_rules
            directory is hot-added (200, a new jailed cellvm-blockd, in its own user
            namespace); killing that blockd brings a replacement (respawn through the
            spawner), the VM still Running; vm.shutdown and vm.boot again (a new core and
            blockd, the kernel and /dev/kvm opened again); vmm.shutdown ends it (status 0)

  migpeer   vm.send-migration of the running payload VM to a destination that misbehaves
            (migpeer.py, speaking the migration stream): closing at the first Memory message
            and refusing Complete answer 500 and leave the VM Running; closing on Complete
            without an answer (did the destination resume?) answers 500 saying so and leaves
            the VM Paused, never running on both sides; vm.resume continues it

Bodies are checked against the project's own API description (--openapi, core/api/openapi.yaml);
api_doc_test.py checks that document against the server, api_ch_test.py compares with Cloud
Hypervisor's. Skips (77) without /dev/kvm (except bootfail and vfio) or python3-yaml.
"""
import argparse
import fcntl
import functools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apilib import SKIP, Schema, Vmm, call, kvm_usable, load_yaml, put_fds, raw, vm_config  # noqa: E402

def info(v, schema):
    st, body = call(v.sock, "GET", "vm.info")
    assert st == 200, (st, body)
    doc = json.loads(body)
    schema.check(doc, {"$ref": "#/components/schemas/VmInfo"})
    return doc


def expect(v, method, path, want, body=None):
    st, out = call(v.sock, method, path, body)
    assert st in want, f"{method} {path}: {st} {out!r}, expected {want}"
    return out


def case_lifecycle(args, doc, schema):
    v = Vmm(args, ["-v"])  # the core logs the NMI and the reboot at info level
    try:
        v.wait_up()
        expect(v, "PUT", "vm.pause", {404})
        expect(v, "PUT", "vm.create", {204}, vm_config(args))
        expect(v, "PUT", "vm.create", {500}, vm_config(args))
        cfg = info(v, schema)
        assert cfg["state"] == "Created" and cfg["config"]["cpus"]["boot_vcpus"] == 1
        assert cfg["config"]["memory"]["size"] == 64 << 20
        expect(v, "PUT", "vm.pause", {405})
        expect(v, "PUT", "vm.boot", {204})
        assert info(v, schema)["state"] == "Running"
        expect(v, "PUT", "vm.resume", {405})
        expect(v, "PUT", "vm.pause", {204})
        assert info(v, schema)["state"] == "Paused"
        expect(v, "PUT", "vm.pause", {405})
        expect(v, "PUT", "vm.power-button", {405})
        expect(v, "PUT", "vm.resume", {204})
        assert info(v, schema)["state"] == "Running"
        def logged(text, times=1):
            t0 = time.monotonic()
            while v.logtext().count(text) < times and time.monotonic() - t0 < 5:
                time.sleep(0.05)
            assert v.logtext().count(text) >= times, v.logtext()

        expect(v, "PUT", "vm.nmi", {204})
        logged("NMI injected on 1 vCPUs")  # a reboot queued with it would supersede it
        time.sleep(0.2)  # the idle payload has no NMI handler: it may reboot itself now
        reboots = v.logtext().count("guest reboot")
        expect(v, "PUT", "vm.reboot", {204})
        assert info(v, schema)["state"] == "Running"
        logged("guest reboot", reboots + 1)
        expect(v, "PUT", "vm.pause", {204})
        expect(v, "PUT", "vm.nmi", {405})
        expect(v, "PUT", "vm.reboot", {405})
        expect(v, "PUT", "vm.resume", {204})
        schema.check(json.loads(expect(v, "GET", "vm.counters", {200})),
                     {"$ref": "#/components/schemas/VmCounters"})
        expect(v, "PUT", "vm.power-button", {204})
        expect(v, "PUT", "vm.shutdown", {204})
        assert info(v, schema)["state"] == "Shutdown"
        assert children(v.p.pid) == ["cellvm-api"], children(v.p.pid)
        expect(v, "PUT", "vm.shutdown", {405})
        # Booted again from the same configuration: a fresh core, which runs and stops again.
        expect(v, "PUT", "vm.boot", {204})
        assert info(v, schema)["state"] == "Running"
        assert "cellvm-core" in children(v.p.pid), children(v.p.pid)
        expect(v, "PUT", "vm.pause", {204})
        expect(v, "PUT", "vm.resume", {204})
        expect(v, "PUT", "vm.shutdown", {204})
        assert children(v.p.pid) == ["cellvm-api"], children(v.p.pid)
        expect(v, "PUT", "vm.delete", {204})
        expect(v, "GET", "vm.info", {500})
        # vm.delete of a running VM, then vm.create and vm.boot in the same VMM.
        expect(v, "PUT", "vm.create", {204}, vm_config(args))
        expect(v, "PUT", "vm.boot", {204})
        expect(v, "PUT", "vm.delete", {204})
        expect(v, "GET", "vm.info", {500})
        assert children(v.p.pid) == ["cellvm-api"], children(v.p.pid)
        expect(v, "PUT", "vm.create", {204}, vm_config(args, cpus={"boot_vcpus": 2,
                                                                   "max_vcpus": 2}))
        expect(v, "PUT", "vm.boot", {204})
        assert info(v, schema)["config"]["cpus"]["boot_vcpus"] == 2
        expect(v, "PUT", "vm.delete", {204})
        r = subprocess.run([args.remote, "--api-socket", v.sock, "ping"], capture_output=True,
                           text=True, timeout=10)
        assert r.returncode == 0 and '"version"' in r.stdout, r
        # cellvm-remote's snapshot reaches the VMM, which has no VM to snapshot (404).
        r = subprocess.run([args.remote, "--api-socket", v.sock, "snapshot", "file:///tmp/x"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 1 and "vm.snapshot returned 404" in r.stderr, r
    finally:
        v.stop()
    assert v.p.returncode == 0, (v.p.returncode, v.logtext())


def case_badinput(args, doc, schema):
    v = Vmm(args)
    try:
        v.wait_up()
        # A kernel that is no kernel: refused with the reason, and the VMM goes on.
        bad = os.path.join(v.dir, "bad-kernel")
        with open(bad, "wb") as f:
            f.write(b"\x7fELF" + b"\0" * 60)  # passes the controller's check; the core refuses
        expect(v, "PUT", "vm.create", {204}, vm_config(args, payload={"kernel": bad}))
        out = expect(v, "PUT", "vm.boot", {500})
        assert b"kernel" in out, out
        assert info(v, schema)["state"] == "Created"
        expect(v, "PUT", "vm.delete", {204})
        expect(v, "PUT", "vm.create", {204}, vm_config(args))
        expect(v, "PUT", "vm.boot", {204})
        for body in (b"{", b"{\"payload\":", b"[1,2", b"\xff\xfe", b"{'a':1}", b"null", b"7",
                     b'{"cpus":{"boot_vcpus":"1"}}', b'{"memory":{"size":-1}}',
                     b'{"cpus":{"boot_vcpus":1.5}}', b'{"bogus":true}',
                     b'{"payload":{"kernel":"a\\u0000b"}}', b'{"disks":7}'):
            st, out = call(v.sock, "PUT", "vm.resize-disk", body)
            assert st == 400, (body, st, out)
        try:
            st, _ = call(v.sock, "PUT", "vm.resize-disk",
                         b'{"id":"d","desired_size":1}' + b" " * (300 << 10))
        except (BrokenPipeError, ConnectionResetError):
            st = 413  # refused before the body was all sent
        assert st in (400, 413), st
        assert call(v.sock, "PUT", "vm.resize-disk", b"")[0] == 400
        assert call(v.sock, "PUT", "vm.info")[0] == 400, "wrong method"
        assert call(v.sock, "GET", "nope")[0] == 404
        assert call(v.sock, "DELETE", "vm.info")[0] in (400, 405)
        # fds on a request that takes none: refused, and the fds closed.
        r, w = os.pipe()
        st = raw(v.sock, b"GET /api/v1/vm.info HTTP/1.1\r\nHost: x\r\n\r\n", fds=[r, w])
        assert st == 400, st
        os.close(r)
        os.close(w)
        # Garbage, a slow client and a half-closed one.
        assert raw(v.sock, b"\x00\x01\x02 garbage\r\n\r\n") in (400, None)
        slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        slow.connect(v.sock)
        slow.sendall(b"GET /api/v1/vm.in")
        assert call(v.sock, "GET", "vmm.ping")[0] == 200, "a slow client blocks nobody"
        st = raw(v.sock, b"GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n\r\n", shut=True)
        assert st == 200, f"half-closed client: {st}"
        # Hundreds of connections at once; each may be refused, none may break the server.
        conns = []
        for _ in range(300):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(v.sock)
                s.sendall(b"GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n")
            except OSError:
                pass
            conns.append(s)
        for s in conns:
            s.close()
        slow.close()
        time.sleep(0.2)
        assert info(v, schema)["state"] == "Running", "the VM still answers after the abuse"
        assert v.p.poll() is None
    finally:
        v.stop()
    assert v.p.returncode == 0, (v.p.returncode, v.logtext())


def parse_events(text):
    """Cloud Hypervisor's event file: pretty JSON objects, each followed by a blank line."""
    assert text.endswith("}\n\n"), f"events end with a blank line: {text[-40:]!r}"
    # Pretty JSON has no blank line inside an object (strings escape their newlines).
    events = [json.loads(chunk) for chunk in text[:-2].split("\n\n")]
    last = (0, 0)
    for e in events:
        assert set(e) == {"timestamp", "source", "event", "properties"}, e
        ts = e["timestamp"]
        assert set(ts) == {"secs", "nanos"} and all(isinstance(ts[k], int) for k in ts), e
        assert 0 <= ts["nanos"] < 1000000000
        assert (ts["secs"], ts["nanos"]) >= last, "timestamps never go back"
        last = (ts["secs"], ts["nanos"])
        assert e["properties"] is None or all(
            isinstance(k, str) and isinstance(v, str) for k, v in e["properties"].items()), e
    return events


def case_events(args, doc, schema):
    tmp = tempfile.mkdtemp(prefix="cellvm-events-")
    try:
        events_in(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def events_in(args, tmp):
    path = os.path.join(tmp, "events.json")
    with open(path, "w") as f:
        f.write("stale content the monitor truncates")
    v = Vmm(args, ["--event-monitor", "path=" + path])
    try:
        v.wait_up()
        expect(v, "PUT", "vm.create", {204}, vm_config(args))
        expect(v, "PUT", "vm.boot", {204})
        expect(v, "PUT", "vm.pause", {204})
        expect(v, "PUT", "vm.resume", {204})
        expect(v, "PUT", "vm.reboot", {204})
        expect(v, "PUT", "vm.shutdown", {204})
        expect(v, "PUT", "vm.delete", {204})
        expect(v, "PUT", "vmm.shutdown", {204})
        v.p.wait(10)
    finally:
        v.stop()
    assert v.p.returncode == 0, (v.p.returncode, v.logtext())
    with open(path) as f:
        events = parse_events(f.read())
    for e in events:
        print(f"{e['timestamp']['secs']}.{e['timestamp']['nanos']:09d} {e['source']} "
              f"{e['event']} {e['properties']}")
    seq = [(e["source"], e["event"]) for e in events if e["event"] != "child-exited"]
    want = [("vmm", "starting"), ("vm", "booting"), ("vm", "booted"), ("vm", "pausing"),
            ("vm", "paused"), ("vm", "resuming"), ("vm", "resumed"), ("vm", "rebooting"),
            ("vm", "rebooted"), ("vm", "shutdown"),
            ("vm", "deleted"), ("vmm", "shutdown")]
    assert seq == want, f"events {seq}, expected {want}"
    names = [(e["source"], e["event"], (e["properties"] or {}).get("role")) for e in events]
    core_gone = names.index(("vmm", "child-exited", "core"))
    assert names.index(("vm", "resumed", None)) < core_gone < names.index(("vm", "shutdown", None))
    died = events[core_gone]["properties"]
    assert set(died) == {"role", "id", "pid", "exit_code"} and died["exit_code"] == "0", died
    assert ("vmm", "child-exited", "api") in names, "the API process's exit is reported too"

    # fd=: a pipe the caller owns; the VMM writes to it and owns its copy.
    r, w = os.pipe()
    v = Vmm(args, ["--event-monitor", f"fd={w}"], pass_fds=(w,))
    os.close(w)
    try:
        v.wait_up()
        expect(v, "PUT", "vmm.shutdown", {204})
        v.p.wait(10)
    finally:
        v.stop()
    with os.fdopen(r) as f:
        events = parse_events(f.read())
    seq = [(e["source"], e["event"]) for e in events if e["event"] != "child-exited"]
    assert seq == [("vmm", "starting"), ("vmm", "shutdown")], seq
    assert v.p.returncode == 0, (v.p.returncode, v.logtext())


CH_BLOCK_COUNTERS = {"read_bytes", "write_bytes", "read_ops", "write_ops", "read_latency_min",
                     "read_latency_max", "read_latency_avg", "write_latency_min",
                     "write_latency_max", "write_latency_avg"}


def case_disk(args, doc, schema):
    if not args.blockd:
        print("SKIP: cellvm-blockd is not built")
        sys.exit(SKIP)
    v = Vmm(args)
    try:
        v.wait_up()
        img = os.path.join(v.dir, "disk.raw")
        with open(img, "wb") as f:
            f.truncate(1 << 20)
        expect(v, "PUT", "vm.create", {204}, vm_config(args, disks=[{"path": img, "id": "disk0"}]))
        expect(v, "PUT", "vm.resize-disk", {500}, {"id": "disk0", "desired_size": 2 << 20})
        expect(v, "PUT", "vm.boot", {204})
        ctr = json.loads(expect(v, "GET", "vm.counters", {200}))
        schema.check(ctr, {"$ref": "#/components/schemas/VmCounters"})
        assert set(ctr) == {"disk0"}, ctr
        # Cloud Hypervisor's block counters, exactly; the idle payload does no disk I/O, so
        # nothing counted and the latencies hold CH's "never measured" values.
        assert set(ctr["disk0"]) == CH_BLOCK_COUNTERS, ctr
        d0 = ctr["disk0"]
        assert all(d0[k] == 0 for k in ("read_bytes", "write_bytes", "read_ops", "write_ops")), d0
        for k in ("read", "write"):
            assert d0[f"{k}_latency_min"] == d0[f"{k}_latency_max"] == 2**64 - 1, d0
            assert d0[f"{k}_latency_avg"] == (2**64 - 1) // 10000, d0
        print("counters", ctr)
        t0 = time.monotonic()
        expect(v, "PUT", "vm.resize-disk", {204}, {"id": "disk0", "desired_size": 3 << 20})
        print(f"vm.resize-disk answered in {(time.monotonic() - t0) * 1000:.0f} ms")
        assert os.path.getsize(img) == 3 << 20, os.path.getsize(img)
        out = expect(v, "PUT", "vm.resize-disk", {500}, {"id": "disk0", "desired_size": 1 << 20})
        assert b"shrinking" in out, out
        assert os.path.getsize(img) == 3 << 20
        out = expect(v, "PUT", "vm.resize-disk", {500}, {"id": "nodisk", "desired_size": 4 << 20})
        assert b"no disk" in out, out
        out = expect(v, "PUT", "vm.resize-disk", {500, 400}, {"id": "disk0", "desired_size": 1000})
        assert os.path.getsize(img) == 3 << 20
        assert info(v, schema)["state"] == "Running"
        expect(v, "PUT", "vm.pause", {204})
        expect(v, "PUT", "vm.resize-disk", {204}, {"id": "disk0", "desired_size": 4 << 20})
        assert os.path.getsize(img) == 4 << 20
        expect(v, "PUT", "vm.resume", {204})
        assert json.loads(expect(v, "GET", "vm.counters", {200}))["disk0"] == d0, \
            "no guest I/O: the counters did not move across pause, resize and resume"
        assert "resized to 3145728 bytes" in v.logtext(), v.logtext()
        expect(v, "PUT", "vmm.shutdown", {204})
        v.p.wait(10)
    finally:
        v.stop()
    assert v.p.returncode == 0, (v.p.returncode, v.logtext())


TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR, IFF_MULTI_QUEUE = 0x0002, 0x1000, 0x4000, 0x0100


def open_tap(name):
    """A TAP queue fd as Kata opens it (multi-queue, vnet header); the TAP is not persistent,
    so it disappears from the host once every fd on it is closed."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    ifr = name.encode().ljust(16, b"\0") + \
        (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE).to_bytes(2, "little") + b"\0" * 22
    fcntl.ioctl(fd, TUNSETIFF, ifr)
    return fd


def tun_fds(pid):
    """How many fds process pid holds on /dev/net/tun."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/net/tun"
        except OSError:
            pass
    return n


def children(pid):
    """The command names of pid's child processes."""
    out = []
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except (OSError, ValueError):
            continue
        fields = st[st.rindex(")") + 2:].split()
        if fields[1] == str(pid):
            out.append(st[st.index("(") + 1:st.rindex(")")])
    return out


def wait_tun_fds(pid, want, limit=5.0):
    t0 = time.monotonic()
    while tun_fds(pid) != want and time.monotonic() - t0 < limit:
        time.sleep(0.02)
    return tun_fds(pid)


class Virtiofsd:
    """QEMU's C virtiofsd serving a directory of d on d/NAME.sock; it ends when the frontend it
    served goes (as Kata's virtiofsd does), so each boot gets a new one."""

    def __init__(self, exe, d, name):
        self.exe, self.share = exe, os.path.join(d, name)
        self.sock = self.share + ".sock"
        os.makedirs(self.share, exist_ok=True)
        self.log = open(self.share + ".log", "a+")
        self.p = None

    def start(self):
        self.stop()
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.p = subprocess.Popen([self.exe, "--socket-path=" + self.sock, "-o",
                                   "source=" + self.share, "-o", "cache=none", "-o",
                                   "sandbox=chroot"], stdin=subprocess.DEVNULL,
                                  stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            if os.path.exists(self.sock):
                return
            assert self.p.poll() is None, "virtiofsd exited: " + self.logtext()
            time.sleep(0.1)
        raise AssertionError("virtiofsd did not listen: " + self.logtext())

    def logtext(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p = None


# Kata's client timeouts (virtiocontainers/clh.go): what a slower answer would fail in Kata.
KATA_LIMIT = {"vm.pause": 1.0, "vm.resume": 1.0, "vm.snapshot": 1.0, "vm.resize": 1.0,
              "vm.restore": 1.0, "exit": 3.0}


def timed(v, path, body=None):
    """PUT path (204 expected); prints the time beside Kata's limit, returns it."""
    t0 = time.monotonic()
    expect(v, "PUT", path, {204}, body)
    dt = time.monotonic() - t0
    lim = KATA_LIMIT.get(path)
    print(f"{path}: 204 in {dt * 1000:.0f} ms" +
          (f" (Kata's client gives up after {lim:.0f} s{': SLOWER' if dt > lim else ''})"
           if lim else ""))
    return dt


def restore_net_fds(v, schema, snap, tap):
    """vm.restore with net_fds (issue 18): refusals first (400, no VM, every fd closed), then
    the restore that hands net0 a new TAP fd instead of config.json's stale one."""
    base = tun_fds(v.p.pid)
    src = "file://" + snap
    bad = [
        ({"source_url": src}, 1, b"without net_fds"),
        ({"source_url": src, "net_fds": [{"id": "nope", "num_fds": 1}]}, 1, b"no net"),
        ({"source_url": src, "net_fds": [{"id": "net0", "num_fds": 2}]}, 2, b"queue pairs"),
        ({"source_url": src, "net_fds": [{"id": "net0", "num_fds": 1}]}, 2, b"2 came"),
    ]
    for body, n, why in bad:
        fds = [open_tap(tap) for _ in range(n)]
        st, out = put_fds(v.sock, "vm.restore", body, fds)
        for fd in fds:
            os.close(fd)
        assert st == 400 and why in out, (body, st, out)
        assert wait_tun_fds(v.p.pid, base) == base, f"refused fds kept: {body}"
        assert call(v.sock, "GET", "vm.info")[0] != 200, "a refused restore left a VM"
        print(f"vm.restore {body.get('net_fds')} with {n} fds: {st} {out.decode().strip()}")
    st, out = call(v.sock, "PUT", "vm.restore",
                   {"source_url": src, "net_fds": [{"id": "net0", "num_fds": 1}]})
    assert st == 400 and b"0 came" in out, (st, out)
    print(f"vm.restore net_fds without fds: {st} {out.decode().strip()}")
    fd = open_tap(tap)
    links = set(os.listdir("/sys/class/net"))
    t0 = time.monotonic()
    st, out = put_fds(v.sock, "vm.restore",
                      {"source_url": src, "net_fds": [{"id": "net0", "num_fds": 1}]}, [fd])
    os.close(fd)
    assert st == 204, (st, out)
    # config.json's net0 names no TAP: without net_fds the restore would have made one.
    assert set(os.listdir("/sys/class/net")) == links, set(os.listdir("/sys/class/net")) ^ links
    print(f"vm.restore with net_fds: 204 in {(time.monotonic() - t0) * 1000:.0f} ms")
    assert info(v, schema)["state"] == "Paused"
    assert "cellvm-netd" in children(v.p.pid), children(v.p.pid)
    assert wait_tun_fds(v.p.pid, base + 1, limit=1.0) >= base + 1, "net_fds' TAP is not held"
    # Our TAP carries the net: its only other holder is the VMM (the fd above is closed).
    assert os.path.exists(f"/sys/class/net/{tap}"), "the TAP went with the refusals"


def kata_template(args, schema, cfg, fsd, tap=None):
    """Kata's VM template (factory): boot, pause, snapshot, end; a new VMM restores, resumes.
    With tap (root), the template has a TAP-fd net and the restore passes a new fd (net_fds)."""
    snap = tempfile.mkdtemp(prefix="cellvm-kata-snap-")
    v1 = Vmm(args)
    v2 = None
    tfd = None
    try:
        v1.wait_up()
        c = json.loads(json.dumps(cfg))
        c["vsock"]["socket"] = os.path.join(v1.dir, "tmpl.hvsock")
        expect(v1, "PUT", "vm.create", {204}, c)
        if tap:
            tfd = open_tap(tap)
            st, out = put_fds(v1.sock, "vm.add-net", {"num_queues": 2, "id": "net0"}, [tfd])
            assert st == 204, (st, out)
        if fsd:
            fsd.start()
        expect(v1, "PUT", "vm.boot", {204})
        timed(v1, "vm.pause")
        timed(v1, "vm.snapshot", {"destination_url": "file://" + snap})
        assert sorted(os.listdir(snap)) == ["config.json", "memory-ranges", "state.json"], \
            os.listdir(snap)
        t0 = time.monotonic()
        expect(v1, "PUT", "vmm.shutdown", {204})
        v1.p.wait(10)
        print(f"template VMM exited {(time.monotonic() - t0) * 1000:.0f} ms after vmm.shutdown")
        assert v1.p.returncode == 0, (v1.p.returncode, v1.logtext())
        if tfd is not None:
            os.close(tfd)  # the template's TAP goes; the restore gets a new one
            tfd = None
        v2 = Vmm(args)
        v2.wait_up()
        if fsd:
            fsd.start()
        if tap:
            restore_net_fds(v2, schema, snap, tap)
        else:
            timed(v2, "vm.restore", {"source_url": "file://" + snap, "prefault": False})
        assert info(v2, schema)["state"] == "Paused"
        timed(v2, "vm.resume")
        got = info(v2, schema)
        assert got["state"] == "Running", got
        if fsd:
            assert [f["tag"] for f in got["config"].get("fs") or []] == ["kataShared"], got
        if tap:
            assert [n["id"] for n in got["config"].get("net") or []] == ["net0"], got
        t0 = time.monotonic()
        expect(v2, "PUT", "vmm.shutdown", {204})
        v2.p.wait(10)
        dt = time.monotonic() - t0
        print(f"restored VMM exited {dt * 1000:.0f} ms after vmm.shutdown (Kata waits 3 s)")
        assert v2.p.returncode == 0, (v2.p.returncode, v2.logtext())
    finally:
        for v in (v1, v2):
            if v:
                v.stop()
        if tfd is not None:
            os.close(tfd)
        shutil.rmtree(snap, ignore_errors=True)


def case_kata(args, doc, schema):
    missing = [n for n in ("blockd", "netd", "vsockd", "rngd", "balloond") if not getattr(args, n)]
    if missing:
        print("SKIP: not built: " + ", ".join("cellvm-" + n for n in missing))
        sys.exit(SKIP)
    root = os.geteuid() == 0 and os.path.exists("/dev/net/tun")
    tap = f"cvk{os.getpid() % 1000000}"
    v = Vmm(args)
    taps = []
    fsd = None
    try:
        up = v.wait_up(period=0.01)
        print(f"vmm.ping answered after {up * 1000:.0f} ms")
        if args.virtiofsd and root:
            fsd = Virtiofsd(args.virtiofsd, v.dir, "kata-share")
        else:
            print("skipped virtio-fs: needs --virtiofsd and root (its chroot sandbox)")
        initrd = os.path.join(v.dir, "initrd")
        with open(initrd, "wb") as f:
            f.write(b"\0" * 4096)
        img = os.path.join(v.dir, "rootfs.raw")
        with open(img, "wb") as f:
            f.truncate(4 << 20)
        # Kata's CreateVM (virtcontainers/clh.go) as its generated client sends it: two PCI
        # segments, memory with hotplug_size (and the constructor's defaults), a balloon for
        # free page reporting (reclaim_guest_freed_memory), vCPUs up to max with its topology,
        # rng, console and serial off, the image as a read-only raw disk.
        cfg = vm_config(args, serial={"mode": "Off"})
        cfg["payload"].update(cmdline="console=ttyS0 quiet", initramfs=initrd)
        cfg["platform"] = {"num_pci_segments": 2}
        cfg["cpus"] = {"boot_vcpus": 1, "max_vcpus": 2,
                       "topology": {"threads_per_core": 1, "cores_per_die": 2,
                                    "dies_per_package": 1, "packages": 1}}
        cfg["memory"] = {"size": 128 << 20, "shared": True, "hugepages": False,
                         "mergeable": False, "hotplug_method": "Acpi", "prefault": False,
                         "thp": True, "hotplug_size": 256 << 20}
        cfg["balloon"] = {"size": 0, "deflate_on_oom": False, "free_page_reporting": True}
        cfg["console"] = {"mode": "Off", "iommu": False}
        cfg["disks"] = [{"path": img, "readonly": True, "image_type": "Raw", "id": "disk0"}]
        cfg["vsock"] = {"cid": 3, "socket": os.path.join(v.dir, "kata.hvsock"), "id": "vsock0"}
        cfg["rng"] = {"src": "/dev/urandom"}
        cfg["iommu"] = False
        cfg["pvpanic"] = False
        if fsd:  # Kata's shared directory: one request queue of 1024, its virtiofsd's socket
            cfg["fs"] = [{"tag": "kataShared", "socket": fsd.sock, "num_queues": 1,
                          "queue_size": 1024}]
        expect(v, "PUT", "vm.create", {204}, cfg)
        assert info(v, schema)["state"] == "Created"
        if root:
            base = tun_fds(v.p.pid)
            # Refused: 2 fds for num_queues 2 (one pair); both are closed again.
            bad = [open_tap(tap), open_tap(tap)]
            st, out = put_fds(v.sock, "vm.add-net", {"num_queues": 2, "id": "bad"}, bad)
            assert st == 500 and b"fd" in out, (st, out)
            print("vm.add-net with 2 fds for one queue pair:", st, out.decode().strip())
            for fd in bad:
                os.close(fd)
            assert wait_tun_fds(v.p.pid, base) == base, "refused TAP fds were not closed"
            taps = [open_tap(tap)]
            st, out = put_fds(v.sock, "vm.add-net",
                              {"mac": "52:54:00:c1:7e:01", "num_queues": 2, "id": "net0"}, taps)
            assert st == 204, (st, out)
            assert wait_tun_fds(v.p.pid, base + 1) == base + 1, "the TAP fd is not held"
            # Without fds the TAP is named (or generated) and opened at boot, as on the CLI.
            expect(v, "PUT", "vm.add-net", {204}, {"tap": tap + "b", "id": "net1"})
            nets = info(v, schema)["config"].get("net") or []
            assert [n.get("id") for n in nets] == ["net0", "net1"], nets
            assert nets[1]["tap"] == tap + "b", nets
            assert nets[0]["mac"] == "52:54:00:c1:7e:01", nets
        else:
            print("skipped vm.add-net with a TAP fd: creating a TAP needs root and /dev/net/tun")
        if fsd:
            fsd.start()
        expect(v, "PUT", "vm.boot", {204})
        doc_ = info(v, schema)
        assert doc_["state"] == "Running", doc_
        c = doc_["config"]
        assert [d["id"] for d in c.get("disks") or []] == ["disk0"], c
        assert c["disks"][0]["readonly"] is True, c
        assert c.get("vsock", {}).get("cid") == 3, c
        assert c.get("rng") == {"src": "/dev/urandom", "iommu": False}, c
        assert c["platform"]["num_pci_segments"] == 2, c
        assert c["memory"]["hotplug_size"] == 256 << 20, c
        assert c["balloon"]["free_page_reporting"] is True, c
        if fsd:
            assert [f["tag"] for f in c.get("fs") or []] == ["kataShared"], c
        kids = children(v.p.pid)
        for role in ("blockd", "vsockd", "rngd", "balloond") + (("netd",) if root else ()):
            assert "cellvm-" + role in kids, f"no cellvm-{role} among {kids}"
        print("device processes:", sorted(k for k in kids if k != "cellvm-core"))
        # vm.counters as Cloud Hypervisor's: disks and nets under its names, vsock and rng
        # without a row; no guest driver runs, so nothing moved.
        ctr = json.loads(expect(v, "GET", "vm.counters", {200}))
        schema.check(ctr, {"$ref": "#/components/schemas/VmCounters"})
        assert set(ctr) == ({"disk0", "net0", "net1"} if root else {"disk0"}), ctr
        assert set(ctr["disk0"]) == CH_BLOCK_COUNTERS, ctr
        for n in ("net0", "net1") if root else ():
            assert ctr[n] == dict.fromkeys(("rx_bytes", "rx_frames", "tx_bytes", "tx_frames"),
                                           0), ctr
        print("counters", ctr)
        if root:
            assert [n["id"] for n in c.get("net") or []] == ["net0", "net1"], c
            assert os.path.exists(f"/sys/class/net/{tap}")
            assert os.path.exists(f"/sys/class/net/{tap}b")
            # Booted: Kata hot-adds a NIC with its TAP fd (PCI hotplug): 200 with the PCI
            # address Kata parses, a new cellvm-netd, the fd held (hotplug checks the refusal
            # of an fd that is no TAP).
            held = tun_fds(v.p.pid)
            extra = open_tap(tap)
            st, out = put_fds(v.sock, "vm.add-net", {"id": "net2"}, [extra])
            os.close(extra)
            assert st == 200, (st, out)
            documented(args, doc, "vm.add-net", st)
            check_pci_info(args, schema, out, "net2")
            print("running vm.add-net:", st, out.decode().strip())
            # Held twice: the request's fd (the net's fd=[...]) and the device row's copy.
            assert wait_tun_fds(v.p.pid, held + 2) == held + 2, \
                f"the hot-added TAP fd: {tun_fds(v.p.pid)} held, {held} before"
            assert children(v.p.pid).count("cellvm-netd") == 3, children(v.p.pid)
        # vm.shutdown: every device process ends, the vsock socket file and the TAP cellvm
        # created go (the fd-given TAP stays: its fd is the caller's); vm.boot starts it all
        # again from the same configuration.
        hvsock = cfg["vsock"]["socket"]
        assert os.path.exists(hvsock)
        expect(v, "PUT", "vm.shutdown", {204})
        assert children(v.p.pid) == ["cellvm-api"], children(v.p.pid)
        assert not os.path.exists(hvsock), "the vsock socket file outlived vm.shutdown"
        if root:
            assert not os.path.exists(f"/sys/class/net/{tap}b"), "cellvm's TAP outlived it"
            assert os.path.exists(f"/sys/class/net/{tap}")
        if fsd:  # the first one ended with its frontend
            fsd.start()
        expect(v, "PUT", "vm.boot", {204})
        kids = children(v.p.pid)
        for role in ("blockd", "vsockd") + (("netd",) if root else ()):
            assert "cellvm-" + role in kids, f"booted again: no cellvm-{role} among {kids}"
        assert os.path.exists(hvsock)
        if root:
            assert os.path.exists(f"/sys/class/net/{tap}b")
        kata_hotplug(args, doc, v, schema)
        # Kata's ResizeVCPUs and ResizeMemory (128 MiB blocks): both answered 204 at once; the
        # configuration follows.
        timed(v, "vm.pause")
        timed(v, "vm.resume")
        timed(v, "vm.resize", {"desired_vcpus": 2})
        timed(v, "vm.resize", {"desired_ram": 256 << 20})
        c = info(v, schema)["config"]
        assert c["cpus"]["boot_vcpus"] == 2 and c["memory"]["size"] == 256 << 20, c
        print("vm.resize: 2 vCPUs, 256 MiB")
        t0 = time.monotonic()
        expect(v, "PUT", "vmm.shutdown", {204})
        v.p.wait(10)
        print(f"process exited {(time.monotonic() - t0) * 1000:.0f} ms after vmm.shutdown")
        assert not os.path.exists(hvsock) and not os.path.exists(v.sock)
        assert v.p.returncode == 0, (v.p.returncode, v.logtext())
        kata_template(args, schema, cfg, fsd, tap + "r" if root else None)
    finally:
        v.stop()
        if fsd:
            fsd.stop()
        for fd in taps:
            os.close(fd)
    assert v.p.returncode == 0, (v.p.returncode, v.logtext())
    if root:
        for name in (tap, tap + "b"):
            if os.path.exists(f"/sys/class/net/{name}"):
                subprocess.run(["ip", "link", "delete", name], check=False)
                raise AssertionError(f"TAP {name} left behind")


# Kata's clhPciInfoToPath (virtcontainers/clh.go): "0000:00:DD.0" split on ':' then '.'.
KATA_BDF = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]$")


def kata_pci_path(bdf):
    """The PCI path Kata derives from a hot-add answer's bdf, or an AssertionError as Kata's
    'Unexpected PCI address' error."""
    assert KATA_BDF.match(bdf), f"bdf {bdf!r} is not DDDD:BB:SS.F"
    tokens = bdf.split(":")
    assert len(tokens) == 3 and tokens[0] == "0000" and tokens[1] == "00", bdf
    tokens = tokens[2].split(".")
    assert len(tokens) == 2 and tokens[1] == "0" and len(tokens[0]) == 2, bdf
    return tokens[0]


# Deviations from both API documents that the hotplug checks see at present, reported and
# expected until fixed (as cellvm_case_bugs in tests/kvm/meson.build): a listed one that no
# longer shows fails the run, so its entry goes when the fix lands.
KNOWN_BUGS = set()


def documented(args, doc, path, st, bug=None):
    """Checks that st is a status both documents list for PUT path, unless bug (a KNOWN_BUGS
    entry) explains that it is not."""
    lists = [{int(k) for k in doc["paths"]["/" + path]["put"]["responses"]}]
    ch = ch_statuses(args, path)
    if ch is not None:
        lists.append(ch)
    ok = all(st in known for known in lists)
    if bug in KNOWN_BUGS:
        assert not ok, f"known bug {bug} no longer shows ({path}: {st}): drop it from KNOWN_BUGS"
        print(f"KNOWN BUG {bug}: {path} answered {st}; the documents list {lists}")
    else:
        assert ok, f"{path}: {st} is not among the documented statuses {lists}"


@functools.lru_cache(maxsize=None)
def ch_doc(path):
    return load_yaml(path)


def ch_statuses(args, path):
    """The statuses Cloud Hypervisor's file lists for PUT path, or None without the file."""
    if not args.ch_openapi:
        return None
    ch = ch_doc(args.ch_openapi)
    return {int(k) for k in ch["paths"]["/" + path]["put"]["responses"]}


def check_pci_info(args, schema, out, dev_id):
    """A hot add's 200 body: PciDeviceInfo of both documents, the id asked for, Kata's bdf."""
    body = json.loads(out)
    schema.check(body, {"$ref": "#/components/schemas/PciDeviceInfo"})
    if args.ch_openapi:
        Schema(ch_doc(args.ch_openapi)).check(body, {"$ref": "#/components/schemas/PciDeviceInfo"})
    assert set(body) == {"id", "bdf"} and body["id"] == dev_id, body
    slot = kata_pci_path(body["bdf"])
    assert 1 <= int(slot, 16) < 32, body
    return body


def kata_hotplug(args, doc, v, schema):
    """Kata's hotplug calls on the booted VM of case_kata (the idle payload never ejects)."""
    img = os.path.join(v.dir, "kata-hot.raw")
    with open(img, "wb") as f:
        f.truncate(4 << 20)
    # hotplugAddBlockDevice: NewDiskConfig()'s defaults, then path, readonly, vhost_user false,
    # num_queues (the vCPUs) and queue_size 1024, the drive's id.
    body = {"path": img, "readonly": False, "direct": False, "iommu": False, "num_queues": 1,
            "queue_size": 1024, "vhost_user": False, "id": "drive-kata-hot"}
    st, out = call(v.sock, "PUT", "vm.add-disk", body)
    assert st == 200, (st, out)
    documented(args, doc, "vm.add-disk", st)
    pci = check_pci_info(args, schema, out, "drive-kata-hot")
    print(f"kata vm.add-disk: 200 {out.decode().strip()} -> PCI path {kata_pci_path(pci['bdf'])}")
    assert "drive-kata-hot" in [d["id"] for d in info(v, schema)["config"]["disks"]]
    # hotplugAddDevice (VFIO): path, iommu, id. No VFIO device here: a sysfs path that does not
    # exist must be refused with an error line and add nothing.
    dev = {"path": "/sys/bus/pci/devices/0000:ff:1f.7/", "iommu": False, "id": "vfio-kata-hot"}
    before = children(v.p.pid)
    st, out = call(v.sock, "PUT", "vm.add-device", dev)
    print(f"kata vm.add-device of a missing path: {st} {out.decode().strip()}")
    assert st in {404, 500}, (st, out)
    documented(args, doc, "vm.add-device", st)
    assert out.endswith(b"\n") and out.count(b"\n") == 1 and b"0000:ff:1f.7" in out, out
    assert not any(d.get("id") == "vfio-kata-hot"
                   for d in info(v, schema)["config"].get("devices") or [])
    assert sorted(children(v.p.pid)) == sorted(before), (before, children(v.p.pid))
    # hotplugRemoveDevice: by the id the add answered.
    expect(v, "PUT", "vm.remove-device", {204}, {"id": pci["id"]})
    print("kata vm.remove-device: 204")


def descendants(pid):
    """Every process below pid."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except (OSError, ValueError):
            continue
        kids.setdefault(int(st[st.rindex(")") + 2:].split()[1]), []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


def fds_to(pid, st):
    """How many fds of process pid point at the file with stat result st (dev, ino)."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            s = os.stat(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        n += (s.st_dev, s.st_ino) == (st.st_dev, st.st_ino)
    return n


def wait_event(path, event, dev_id, limit):
    """Waits up to limit s for event about dev_id in the event file; the seconds it took."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        with open(path) as f:
            text = f.read()
        if text.endswith("}\n\n") and any(
                e["event"] == event and (e["properties"] or {}).get("id") == dev_id
                for e in parse_events(text)):
            return time.monotonic() - t0
        time.sleep(0.1)
    raise AssertionError(f"no {event} event for {dev_id} within {limit} s")


HOT_EJECT_S = 30  # HOT_EJECT_MS in core/controller/hotplug.c


def case_hotplug(args, doc, schema):
    if not args.blockd:
        print("SKIP: cellvm-blockd is not built")
        sys.exit(SKIP)
    tmp = tempfile.mkdtemp(prefix="cellvm-hotplug-")
    events = os.path.join(tmp, "events.json")
    v = Vmm(args, ["--event-monitor", "path=" + events])
    try:
        v.wait_up()
        img = os.path.join(v.dir, "hot.raw")
        with open(img, "wb") as f:
            f.truncate(1 << 20)
        expect(v, "PUT", "vm.create", {204}, vm_config(args))
        expect(v, "PUT", "vm.boot", {204})
        assert children(v.p.pid).count("cellvm-blockd") == 0
        t0 = time.monotonic()
        st, out = call(v.sock, "PUT", "vm.add-disk",
                       {"path": img, "id": "hot0", "image_type": "Raw"})
        assert st == 200, (st, out)
        documented(args, doc, "vm.add-disk", st)
        pci = check_pci_info(args, schema, out, "hot0")
        print(f"vm.add-disk: 200 {out.decode().strip()} in {(time.monotonic() - t0) * 1000:.0f} ms")
        assert children(v.p.pid).count("cellvm-blockd") == 1, children(v.p.pid)
        wait_event(events, "device-added", "hot0", 5)
        assert [d["id"] for d in info(v, schema)["config"]["disks"]] == ["hot0"]

        # A second disk gets another slot; a duplicate id is refused (CH's file: 500).
        img1 = os.path.join(v.dir, "hot1.raw")
        with open(img1, "wb") as f:
            f.truncate(1 << 20)
        st, out = call(v.sock, "PUT", "vm.add-disk", {"path": img1, "id": "hot1"})
        assert st == 200, (st, out)
        pci1 = check_pci_info(args, schema, out, "hot1")
        assert pci1["bdf"] != pci["bdf"], (pci, pci1)
        st, out = call(v.sock, "PUT", "vm.add-disk", {"path": img1, "id": "hot0"})
        print(f"vm.add-disk of a used id: {st} {out.decode().strip()}")
        assert st == 500 and b"hot0" in out and b"already used" in out, (st, out)
        documented(args, doc, "vm.add-disk", st)
        assert children(v.p.pid).count("cellvm-blockd") == 2, children(v.p.pid)
        assert [d["id"] for d in info(v, schema)["config"]["disks"]] == ["hot0", "hot1"]

        # vm.remove-device: an unknown id is 404 (both files); a known one 204.
        out = expect(v, "PUT", "vm.remove-device", {404}, {"id": "nosuch"})
        assert out == b"no device with id 'nosuch'\n", out
        documented(args, doc, "vm.remove-device", 404)
        expect(v, "PUT", "vm.remove-device", {204}, {"id": "hot0"})
        t_rm = time.monotonic()
        # Asked again while the guest has not ejected: the guest is asked again (Cloud
        # Hypervisor announces the removal again), 204, the pending removal kept.
        st, out = call(v.sock, "PUT", "vm.remove-device", {"id": "hot0"})
        print(f"vm.remove-device while the eject is pending: {st} {out.decode().strip()}")
        assert st == 204 and not out, (st, out)
        documented(args, doc, "vm.remove-device", st)

        # vm.add-net on the running VM with an fd that is no TAP (a pipe): refused, the fd
        # not kept anywhere, no cellvm-netd started, no net in the configuration.
        if args.netd:
            r, w = os.pipe()
            pst = os.fstat(r)
            st, out = put_fds(v.sock, "vm.add-net", {"id": "netx"}, [r])
            os.close(r)
            os.close(w)
            print(f"vm.add-net with a pipe fd: {st} {out.decode().strip()}")
            assert st in {400, 500} and b"not a TAP" in out, (st, out)
            documented(args, doc, "vm.add-net", st)
            t1 = time.monotonic()
            while fds_to(v.p.pid, pst) and time.monotonic() - t1 < 5:
                time.sleep(0.05)
            for pid in [v.p.pid] + descendants(v.p.pid):
                assert fds_to(pid, pst) == 0, f"process {pid} of the VMM kept the refused fd"
            assert "cellvm-netd" not in children(v.p.pid), children(v.p.pid)
            assert not info(v, schema)["config"].get("net"), "the refused net was kept"
        else:
            print("skipped vm.add-net: cellvm-netd is not built")

        # The idle guest never ejects: after the bound the removal is given up, the device
        # stays (configuration and process), and it can be asked for again.
        wait_event(events, "device-removal-timeout", "hot0", HOT_EJECT_S + 15)
        waited = time.monotonic() - t_rm
        print(f"device-removal-timeout {waited:.1f} s after vm.remove-device")
        assert waited >= HOT_EJECT_S - 1, waited
        assert [d["id"] for d in info(v, schema)["config"]["disks"]] == ["hot0", "hot1"]
        assert children(v.p.pid).count("cellvm-blockd") == 2, children(v.p.pid)
        with open(events) as f:
            assert not any(e["event"] == "device-removed" for e in parse_events(f.read()))
        assert "did not eject it within 30 s" in v.logtext(), v.logtext()
        expect(v, "PUT", "vm.remove-device", {204}, {"id": "hot0"})
        assert info(v, schema)["state"] == "Running"
        expect(v, "PUT", "vmm.shutdown", {204})
        v.p.wait(10)
    finally:
        v.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    assert v.p.returncode == 0, (v.p.returncode, v.logtext())


def case_bootfail(args, doc, schema):
    """Needs no /dev/kvm: the controller checks the payload before any process starts."""
    kvm = kvm_usable()
    v = Vmm(args)
    try:
        v.wait_up()

        def boot_fails(want, disk=False, **payload):
            cfg = vm_config(args, payload=payload)
            if disk and args.blockd:
                img = os.path.join(v.dir, "disk.raw")
                with open(img, "wb") as f:
                    f.truncate(1 << 20)
                cfg["disks"] = [{"path": img, "id": "disk0"}]
            expect(v, "PUT", "vm.create", {204}, cfg)
            out = expect(v, "PUT", "vm.boot", {500})
            print(f"vm.boot of {payload}: {out.decode().strip()}")
            assert want in out, out
            assert call(v.sock, "GET", "vmm.ping")[0] == 200, "the VMM still serves"
            assert info(v, schema)["state"] == "Created"
            assert children(v.p.pid) == ["cellvm-api"], children(v.p.pid)
            # The same answer again: nothing of the first attempt is left over.
            assert want in expect(v, "PUT", "vm.boot", {500})
            expect(v, "PUT", "vm.delete", {204})

        missing = os.path.join(v.dir, "missing")
        junk = os.path.join(v.dir, "junk")
        with open(junk, "wb") as f:
            f.write(b"no kernel here\n" * 64)
        elf_only = os.path.join(v.dir, "elf-header-only")
        with open(elf_only, "wb") as f:
            f.write(b"\x7fELF\x02\x01\x01" + b"\0" * 57)
        idle = os.path.join(args.payloads, "idle.elf")
        boot_fails(b"cannot open", kernel=missing)
        boot_fails(b"not a kernel", kernel=junk)
        boot_fails(b"not a regular file", kernel=v.dir)
        boot_fails(b"--initramfs: cannot open", kernel=idle, initramfs=missing)
        # Past the controller's check: the core's reason (or, here, /dev/kvm's), also with a
        # device process that the failed boot must stop again.
        boot_fails(b"kernel" if kvm else b"/dev/kvm", disk=True, kernel=elf_only)
        # The configuration fixed, the same VMM boots it (where /dev/kvm can).
        expect(v, "PUT", "vm.create", {204}, vm_config(args))
        expect(v, "PUT", "vm.boot", {204} if kvm else {500})
        assert v.p.poll() is None
        expect(v, "PUT", "vmm.shutdown", {204})
        v.p.wait(10)
        assert not os.path.exists(v.sock), "the API socket file outlived the VMM"
    finally:
        v.stop()
    assert v.p.returncode == 0, (v.p.returncode, v.logtext())


def case_vfio(args, doc, schema):
    """Needs no /dev/kvm: --device paths are checked with the payload, before /dev/kvm."""
    v = Vmm(args)
    try:
        v.wait_up()
        pci = "/sys/bus/pci/devices"
        # A PCI device of this host without an IOMMU group, if it has one (CI machines do).
        fns = sorted(os.listdir(pci)) if os.path.isdir(pci) else []
        no_group = [f for f in fns if not os.path.exists(os.path.join(pci, f, "iommu_group"))]
        cfg = vm_config(args)
        cfg["devices"] = [{"path": v.dir}, {"path": v.dir, "id": "gpu1", "iommu": False}]
        expect(v, "PUT", "vm.create", {204}, cfg)
        devs = info(v, schema)["config"]["devices"]
        assert [d["id"] for d in devs] == ["_vfio0", "gpu1"], devs
        assert all(d["path"] == v.dir and d["iommu"] is False and d["pci_segment"] == 0
                   for d in devs), devs
        out = expect(v, "PUT", "vm.boot", {500})
        print(f"vm.boot of a directory: {out.decode().strip()}")
        assert b"--device _vfio0" in out and b"is not a PCI device" in out, out
        assert call(v.sock, "GET", "vmm.ping")[0] == 200, "the VMM still serves"
        assert info(v, schema)["state"] == "Created"
        assert children(v.p.pid) == ["cellvm-api"], children(v.p.pid)
        expect(v, "PUT", "vm.delete", {204})
        if no_group:
            cfg["devices"] = [{"path": os.path.join(pci, no_group[0]), "id": "d0"}]
            expect(v, "PUT", "vm.create", {204}, cfg)
            out = expect(v, "PUT", "vm.boot", {500})
            print(f"vm.boot of {no_group[0]}: {out.decode().strip()}")
            assert b"--device d0" in out and b"has no IOMMU group" in out, out
            assert children(v.p.pid) == ["cellvm-api"], children(v.p.pid)
            expect(v, "PUT", "vm.delete", {204})
        for dev, want in (({"path": "/p", "iommu": True}, b"iommu"),
                          ({"path": "/p", "pci_segment": 1}, b"pci_segment"),
                          ({"path": "/p", "x_nv_gpudirect_clique": 0}, b"x_nv_gpudirect_clique"),
                          ({"path": "/p", "bdf": "x"}, b"bdf"),
                          ({"id": "d0"}, b"path")):
            cfg["devices"] = [dev]
            out = expect(v, "PUT", "vm.create", {400}, cfg)
            assert want in out, (dev, out)
        cfg["devices"] = [{"path": "/p", "id": "x"}, {"path": "/q", "id": "x"}]
        assert b"already used" in expect(v, "PUT", "vm.create", {400}, cfg)
        # user_devices: an external vfio-user server, connected at vm.boot.
        del cfg["devices"]
        nobody = os.path.join(v.dir, "nobody.sock")
        cfg["user_devices"] = [{"socket": nobody}, {"socket": nobody, "id": "u1"}]
        expect(v, "PUT", "vm.create", {204}, cfg)
        udevs = info(v, schema)["config"]["user_devices"]
        assert [d["id"] for d in udevs] == ["_vfio_user0", "u1"], udevs
        assert all(d["socket"] == nobody and d["pci_segment"] == 0 for d in udevs), udevs
        out = expect(v, "PUT", "vm.boot", {500})
        print(f"vm.boot of a socket nobody listens on: {out.decode().strip()}")
        # The socket is connected with the other devices, after /dev/kvm is opened.
        if kvm_usable():
            assert b"--user-device _vfio_user0" in out and b"cannot connect" in out, out
        assert call(v.sock, "GET", "vmm.ping")[0] == 200, "the VMM still serves"
        assert info(v, schema)["state"] == "Created"
        assert children(v.p.pid) == ["cellvm-api"], children(v.p.pid)
        expect(v, "PUT", "vm.delete", {204})
        for dev, want in (({"socket": "/s", "pci_segment": 1}, b"pci_segment"),
                          ({"socket": "/s", "path": "x"}, b"path"),
                          ({"id": "u0"}, b"socket")):
            cfg["user_devices"] = [dev]
            out = expect(v, "PUT", "vm.create", {400}, cfg)
            assert want in out, (dev, out)
        cfg["user_devices"] = [{"socket": "/s", "id": "x"}]
        cfg["disks"] = [{"path": "/d", "id": "x"}]
        assert b"already used" in expect(v, "PUT", "vm.create", {400}, cfg)
        expect(v, "PUT", "vmm.shutdown", {204})
        v.p.wait(10)
    finally:
        v.stop()
    assert v.p.returncode == 0, (v.p.returncode, v.logtext())


def case_coldadd(args, doc, schema):
    """Needs no /dev/kvm: devices added to and removed from a created VM's configuration, through
    the API and through cellvm-remote's commands; --platform through vm.create and vm.info."""
    v = Vmm(args)
    remote = [args.remote, "--api-socket", v.sock]

    def rc(*cmd, ok=True):
        r = subprocess.run(remote + list(cmd), capture_output=True, text=True, timeout=10)
        assert (r.returncode == 0) == ok, (cmd, r)
        return r

    def ids(kind):
        c = info(v, schema)["config"]
        got = c.get(kind)
        return [d["id"] for d in got] if isinstance(got, list) else got and got["id"]

    try:
        v.wait_up()
        # No VM: each endpoint's error status.
        for path, want, body in (("vm.add-disk", 500, {"path": "/d"}),
                                 ("vm.add-vsock", 500, {"cid": 3, "socket": "/v"}),
                                 ("vm.add-device", 404, {"path": "/p"}),
                                 ("vm.add-user-device", 404, {"socket": "/s"}),
                                 ("vm.add-fs", 500, {"tag": "t", "socket": "/s"}),
                                 ("vm.remove-device", 404, {"id": "x"})):
            out = expect(v, "PUT", path, {want}, body)
            assert out == b"the VM is not created\n", (path, out)
        cfg = vm_config(args, disks=[{"path": "/d0"}], platform={"num_pci_segments": 2},
                        fs=[{"tag": "c0", "socket": "/f0", "num_queues": 1, "queue_size": 1024}])
        expect(v, "PUT", "vm.create", {204}, cfg)
        doc_ = info(v, schema)
        fs0 = doc_["config"]["fs"][0]
        assert fs0["tag"] == "c0" and fs0["socket"] == "/f0" and "id" not in fs0, fs0
        # Unmodified: no id filled in before boot, as Cloud Hypervisor; the platform shown.
        assert doc_["config"]["disks"][0].get("id") is None, doc_
        assert doc_["config"]["platform"]["num_pci_segments"] == 2, doc_
        expect(v, "PUT", "vm.add-disk", {204}, {"path": "/d1", "id": "hd1", "pci_segment": 1})
        expect(v, "PUT", "vm.add-disk", {204}, {"path": "/d2"})
        assert ids("disks") == ["_disk0", "hd1", "_disk2"], ids("disks")
        out = expect(v, "PUT", "vm.add-disk", {500}, {"path": "/d3", "id": "hd1"})
        assert b"already used" in out, out
        out = expect(v, "PUT", "vm.add-disk", {500}, {"path": "/d3", "pci_segment": 2})
        assert b"Invalid PCI segment id: 2" in out, out
        expect(v, "PUT", "vm.add-disk", {400}, {"path": "/d3", "bogus": 1})
        expect(v, "PUT", "vm.add-vsock", {204}, {"cid": 3, "socket": os.path.join(v.dir, "v")})
        assert ids("vsock") == "_vsock0"
        out = expect(v, "PUT", "vm.add-vsock", {500}, {"cid": 4, "socket": "/v2"})
        assert b"already has a vsock" in out, out
        expect(v, "PUT", "vm.add-vsock", {500}, {"cid": 2, "socket": "/v2"})
        expect(v, "PUT", "vm.add-device", {204}, {"path": v.dir})
        expect(v, "PUT", "vm.add-device", {204}, {"path": v.dir, "id": "gpu1"})
        assert ids("devices") == ["_vfio0", "gpu1"], ids("devices")
        expect(v, "PUT", "vm.add-device", {404}, {"path": v.dir, "id": "hd1"})
        expect(v, "PUT", "vm.add-user-device", {204}, {"socket": "/u"})
        assert ids("user_devices") == ["_vfio_user0"], ids("user_devices")
        expect(v, "PUT", "vm.add-fs", {204}, {"tag": "c1", "socket": "/f1", "num_queues": 1,
                                              "queue_size": 512, "id": "share1"})
        assert ids("fs") == ["_fs0", "share1"], ids("fs")
        assert info(v, schema)["config"]["fs"][1]["queue_size"] == 512
        out = expect(v, "PUT", "vm.add-fs", {500}, {"tag": "c2", "socket": "/f2", "id": "hd1"})
        assert b"already used" in out, out
        out = expect(v, "PUT", "vm.add-fs", {500}, {"tag": "c2", "socket": "/f2",
                                                    "queue_size": 100})
        assert b"queue_size" in out, out
        for dev in ("hd1", "_vsock0", "gpu1", "_vfio_user0", "_fs0"):
            expect(v, "PUT", "vm.remove-device", {204}, {"id": dev})
        out = expect(v, "PUT", "vm.remove-device", {404}, {"id": "hd1"})
        assert b"no device with id 'hd1'" in out, out
        c = info(v, schema)["config"]
        assert ids("disks") == ["_disk0", "_disk2"] and "vsock" not in c, c
        assert ids("devices") == ["_vfio0"] and "user_devices" not in c, c
        assert ids("fs") == ["share1"], c
        # The SMBIOS keys: vm.info shows them as given.
        expect(v, "PUT", "vm.delete", {204})
        plat = {"num_pci_segments": 1, "serial_number": "SN-42, rack 3",
                "uuid": "urn:uuid:00112233-4455-6677-8899-AABBCCDDEEFF",
                "oem_strings": ["io.systemd.credential:a=b", "[x]"]}
        expect(v, "PUT", "vm.create", {204}, vm_config(args, platform=plat))
        got = info(v, schema)["config"]["platform"]
        assert all(got[k] == plat[k] for k in plat), got
        # An unknown --platform key, one cellvm lacks, a segment count out of range, a uuid
        # that says what is wrong with it, an empty SMBIOS string.
        for plat, want in (({"num_pci_segments": 0}, b"not in range of 1 to 96"),
                           ({"iommu_segments": [0]},
                            b"segment 0 holds the virtio-iommu itself"),
                           ({"num_pci_segments": 2, "iommu_segments": [1],
                             "iommu_address_width": 65}, b"should be between 12 and 64"),
                           ({"uuid": "00112233-4455-6677-8899-aabbccddeefg"},
                            b"found `g` at 36"),
                           ({"oem_strings": ["a", ""]}, b"SMBIOS strings cannot be empty"),
                           ({"nope": 1}, b"unknown field")):
            expect(v, "PUT", "vm.delete", {204})
            out = expect(v, "PUT", "vm.create", {400}, vm_config(args, platform=plat))
            assert want in out, (plat, out)
        # virtio-iommu (issue 20): an IOMMU segment and a disk on it behind the IOMMU; vm.info has
        # the segments, the default width and VmConfig.iommu. A disk there without iommu=on, and
        # VmConfig.iommu with nothing behind it, are refused.
        expect(v, "PUT", "vm.delete", {204})
        plat = {"num_pci_segments": 2, "iommu_segments": [1]}
        disk = {"path": "/i.img", "pci_segment": 1, "iommu": True}
        expect(v, "PUT", "vm.create", {204}, vm_config(args, platform=plat, disks=[disk]))
        c = info(v, schema)["config"]
        assert c["platform"]["iommu_segments"] == [1], c["platform"]
        assert c["platform"]["iommu_address_width"] == 64, c["platform"]
        assert c["iommu"] is True and c["disks"][0]["iommu"] is True, c
        expect(v, "PUT", "vm.delete", {204})
        out = expect(v, "PUT", "vm.create", {400},
                     vm_config(args, platform=plat, disks=[dict(disk, iommu=False)]))
        assert b"IOMMU PCI segment (1) but not placed behind IOMMU" in out, out
        out = expect(v, "PUT", "vm.create", {400}, vm_config(args, iommu=True))
        assert b"without a device behind the IOMMU" in out, out
        # cellvm-remote: the command-line syntax, sent as the endpoint's JSON body.
        expect(v, "PUT", "vm.create", {204}, vm_config(args))
        rc("add-disk", "path=/x.img,id=hd1,readonly=on")
        disk = info(v, schema)["config"]["disks"][0]
        assert disk["path"] == "/x.img" and disk["readonly"] is True and disk["id"] == "hd1", disk
        rc("add-vsock", "cid=5,socket=" + os.path.join(v.dir, "v.sock"))
        assert info(v, schema)["config"]["vsock"]["cid"] == 5
        rc("add-device", "path=" + v.dir + ",id=gpu2")
        rc("add-user-device", "socket=/u.sock,id=u2")
        rc("add-fs", "tag=t,socket=/s,id=fs9")
        fs = info(v, schema)["config"]["fs"][0]
        assert fs["tag"] == "t" and fs["socket"] == "/s" and fs["id"] == "fs9", fs
        assert fs["num_queues"] == 1 and fs["queue_size"] == 1024, fs
        r = rc("add-disk", "path=/y.img,id=hd1", ok=False)
        assert "vm.add-disk returned 500" in r.stderr and "already used" in r.stderr, r
        r = rc("add-disk", "path=/y.img,bogus=1", ok=False)
        assert "unknown" in r.stderr and "bogus" in r.stderr, r  # refused before sending
        r = rc("add-net", "tap=,id=n9,fd=[0,1]", ok=False)
        assert r.returncode == 1, r
        # vm.add-pmem (issue 20) before boot: a cold add (204), shown by vm.info, removed like
        # any device; --pmem's checks refuse a size that is no 2 MiB multiple and a used id.
        rc("add-pmem", "file=/p.img,size=2M,id=pm9")
        pm = info(v, schema)["config"]["pmem"]
        assert [(p["file"], p["size"], p["id"]) for p in pm] == [("/p.img", 2 << 20, "pm9")], pm
        r = rc("add-pmem", "file=/p,size=1M", ok=False)
        assert "vm.add-pmem returned 400" in r.stderr and "multiple of 2 MiB" in r.stderr, r
        r = rc("add-pmem", "file=/q.img,id=pm9", ok=False)
        assert "vm.add-pmem returned 400" in r.stderr and "already used" in r.stderr, r
        # vm.resize-zone (issue 17): a zone the VM does not have is refused (500), as in Cloud
        # Hypervisor.
        r = rc("resize-zone", "--id", "z", "--size", "1G", ok=False)
        assert "vm.resize-zone returned 500" in r.stderr and "no memory zone 'z'" in r.stderr, r
        # vm.resize before boot: the configuration's vCPUs change within max_vcpus (here 1).
        r = rc("resize", "--cpus", "2", ok=False)
        assert "vm.resize returned 500" in r.stderr and "max_vcpus (1)" in r.stderr, r
        rc("resize", "--cpus", "1")
        r = subprocess.run(remote + ["resize-zone", "--id", "z"], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 2, r
        for dev in ("hd1", "gpu2", "u2", "fs9", "pm9"):
            rc("remove-device", dev)
        r = rc("remove-device", "hd1", ok=False)
        assert "returned 404" in r.stderr, r
        c = info(v, schema)["config"]
        assert "disks" not in c and "devices" not in c and c["vsock"]["cid"] == 5, c
        assert "fs" not in c and "pmem" not in c, c
        # ACPI memory hotplug (issue 17): hotplug_size is accepted and shown; before boot
        # vm.resize's desired_ram is the configuration's memory size (Cloud Hypervisor's way).
        expect(v, "PUT", "vm.delete", {204})
        expect(v, "PUT", "vm.create", {204},
               vm_config(args, memory={"size": 64 << 20, "hotplug_size": 1 << 30}))
        mem = info(v, schema)["config"]["memory"]
        assert mem["hotplug_size"] == 1 << 30 and mem["hotplug_method"] == "Acpi", mem
        rc("resize", "--memory", "128M")
        doc_info = info(v, schema)
        assert doc_info["config"]["memory"]["size"] == 128 << 20, doc_info
        assert doc_info["memory_actual_size"] == 128 << 20, doc_info
        out = expect(v, "PUT", "vm.resize", {500}, {"desired_ram": 1000})
        assert b"desired_ram" in out, out
        expect(v, "PUT", "vm.delete", {204})
        zones = {"size": 0, "hotplug_size": 1 << 30,
                 "zones": [{"id": "z0", "size": 64 << 20}]}
        out = expect(v, "PUT", "vm.create", {400}, vm_config(args, memory=zones))
        assert b"hotplug_size" in out and b"--memory-zone" in out, out
        expect(v, "PUT", "vmm.shutdown", {204})
        v.p.wait(10)
    finally:
        v.stop()
    assert v.p.returncode == 0, (v.p.returncode, v.logtext())


def case_ratelimit(args, doc, schema):
    """Needs no /dev/kvm: rate limiters (issue 20) through vm.create, vm.info (checked against the
    document), vm.add-disk and vm.add-net on a created VM, and the refusals, one line each."""
    v = Vmm(args)
    bw = {"size": 4194304, "one_time_burst": 0, "refill_time": 1000}
    ops = {"size": 100, "one_time_burst": 10, "refill_time": 10}
    try:
        v.wait_up()
        out = expect(v, "PUT", "vm.create", {400},
                     vm_config(args, disks=[{"path": "/d0", "rate_limit_group": "nope"}]))
        assert b"rate_limit_group" in out and b"nope" in out, out
        out = expect(v, "PUT", "vm.create", {400},
                     vm_config(args, disks=[{"path": "/d0", "rate_limiter_config":
                                             {"ops": {"size": 0, "refill_time": 5}}}]))
        assert b"ops_size" in out and out.count(b"\n") == 1, out
        out = expect(v, "PUT", "vm.create", {400},
                     vm_config(args, rate_limit_groups=[{"id": "g0", "rate_limiter_config": {}}]))
        assert b"invalid rate-limiter group" in out, out
        cfg = vm_config(args,
                        rate_limit_groups=[{"id": "g0", "rate_limiter_config": {"bandwidth": bw}}],
                        disks=[{"path": "/d0", "rate_limit_group": "g0"},
                               {"path": "/d1", "rate_limiter_config": {"ops": ops}}],
                        net=[{"tap": "t0", "rate_limiter_config": {"bandwidth": bw, "ops": ops}}])
        expect(v, "PUT", "vm.create", {204}, cfg)
        c = info(v, schema)["config"]
        assert c["rate_limit_groups"] == [{"id": "g0", "rate_limiter_config": {"bandwidth": bw}}], c
        assert c["disks"][0]["rate_limit_group"] == "g0", c["disks"][0]
        assert "rate_limiter_config" not in c["disks"][0], c["disks"][0]
        assert c["disks"][1]["rate_limiter_config"] == {"ops": ops}, c["disks"][1]
        assert c["net"][0]["rate_limiter_config"] == {"bandwidth": bw, "ops": ops}, c["net"][0]
        expect(v, "PUT", "vm.add-disk", {204}, {"path": "/d2", "id": "hd2",
                                                "rate_limit_group": "g0"})
        expect(v, "PUT", "vm.add-disk", {204}, {"path": "/d3", "id": "hd3",
                                                "rate_limiter_config": {"bandwidth": bw}})
        expect(v, "PUT", "vm.add-net", {204}, {"tap": "t1", "id": "hn1",
                                               "rate_limiter_config": {"ops": ops}})
        c = info(v, schema)["config"]
        d = {x["id"]: x for x in c["disks"] if x.get("id")}
        assert d["hd2"]["rate_limit_group"] == "g0", d
        assert d["hd3"]["rate_limiter_config"] == {"bandwidth": bw}, d
        n = {x["id"]: x for x in c["net"] if x.get("id")}
        assert n["hn1"]["rate_limiter_config"] == {"ops": ops}, n
        out = expect(v, "PUT", "vm.add-disk", {500}, {"path": "/d4", "rate_limit_group": "g9"})
        assert b"g9" in out, out
        out = expect(v, "PUT", "vm.add-disk", {500},
                     {"path": "/d4", "rate_limit_group": "g0",
                      "rate_limiter_config": {"bandwidth": bw}})
        assert b"exclude each other" in out, out
        out = expect(v, "PUT", "vm.add-disk", {500},
                     {"path": "/d4", "rate_limiter_config": {"bandwidth": {"size": 1}}})
        assert b"size and refill_time are required" in out, out
        expect(v, "PUT", "vmm.shutdown", {204})
        v.p.wait(10)
    finally:
        v.stop()
    assert v.p.returncode == 0, (v.p.returncode, v.logtext())


def case_landlockcfg(args, doc, schema):
    """Needs no /dev/kvm: landlock_enable and landlock_rules through vm.create and vm.info."""
    v = Vmm(args)
    try:
        v.wait_up()
        for rules, want in (([{"path": v.dir, "access": "x"}], b"invalid access 'x'"),
                            ([{"path": v.dir, "access": "rwr"}], b"longer than two"),
                            ([{"access": "r"}], b"missing field `path`"),
                            ([{"path": v.dir}], b"missing field `access`"),
                            ([{"path": v.dir + "/nosuch", "access": "r"}], b"does not exist")):
            out = expect(v, "PUT", "vm.create", {400},
                         vm_config(args, landlock_enable=True, landlock_rules=rules))
            print(f"vm.create with landlock_rules {rules}: 400 {out.decode().strip()}")
            assert want in out and out.count(b"\n") == 1, out
        rules = [{"path": v.dir, "access": "rw"}, {"path": "/dev/null", "access": "r"}]
        expect(v, "PUT", "vm.create", {204},
               vm_config(args, landlock_enable=True, landlock_rules=rules))
        c = info(v, schema)["config"]
        assert c["landlock_enable"] is True, c
        assert c["landlock_rules"] == rules, c["landlock_rules"]
        expect(v, "PUT", "vm.delete", {204})
        expect(v, "PUT", "vm.create", {204}, vm_config(args))
        c = info(v, schema)["config"]
        assert c["landlock_enable"] is False and not c.get("landlock_rules"), c
        expect(v, "PUT", "vmm.shutdown", {204})
        v.p.wait(10)
    finally:
        v.stop()
    assert v.p.returncode == 0, (v.p.returncode, v.logtext())


def child_pids(pid, name):
    """The pids of pid's children whose command name is name."""
    out = []
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except (OSError, ValueError):
            continue
        fields = st[st.rindex(")") + 2:].split()
        if fields[1] == str(pid) and st[st.index("(") + 1:st.rindex(")")] == name:
            out.append(int(d))
    return out


def case_landlock(args, doc, schema):
    if not args.blockd:
        print("SKIP: cellvm-blockd is not built")
        sys.exit(SKIP)
    v = Vmm(args)
    try:
        v.wait_up()
        allowed = os.path.join(v.dir, "allowed")
        os.mkdir(allowed)
        inside = os.path.join(allowed, "in.raw")
        outside = os.path.join(v.dir, "out.raw")
        for img in (inside, outside):
            with open(img, "wb") as f:
                f.truncate(1 << 20)
        rules = [{"path": allowed, "access": "rw"}]
        expect(v, "PUT", "vm.create", {204},
               vm_config(args, landlock_enable=True, landlock_rules=rules))
        expect(v, "PUT", "vm.boot", {204})
        assert "--landlock: the VMM is restricted" in v.logtext(), v.logtext()
        print([ln for ln in v.logtext().splitlines() if "--landlock" in ln][0])
        c = info(v, schema)["config"]
        assert c["landlock_enable"] is True and c["landlock_rules"] == rules, c

        # Outside the rules: refused, and the answer says by whom; nothing started or kept.
        st, out = call(v.sock, "PUT", "vm.add-disk", {"path": outside, "id": "outside"})
        print(f"vm.add-disk outside the rules: {st} {out.decode().strip()}")
        assert st == 500 and b"refused by Landlock" in out and b"out.raw" in out, (st, out)
        documented(args, doc, "vm.add-disk", st)
        assert not child_pids(v.p.pid, "cellvm-blockd"), children(v.p.pid)
        assert not info(v, schema)["config"].get("disks"), "the refused disk was kept"

        # Inside a landlock_rules directory: hot-added by a jailed daemon from the spawner.
        st, out = call(v.sock, "PUT", "vm.add-disk", {"path": inside, "id": "inside"})
        print(f"vm.add-disk inside the rules: {st} {out.decode().strip()}")
        assert st == 200, (st, out)
        check_pci_info(args, schema, out, "inside")
        pids = child_pids(v.p.pid, "cellvm-blockd")
        assert len(pids) == 1, children(v.p.pid)
        own_ns = os.readlink("/proc/self/ns/user")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 5 and os.readlink(f"/proc/{pids[0]}/ns/pid") == \
                os.readlink("/proc/self/ns/pid"):
            time.sleep(0.05)
        assert os.readlink(f"/proc/{pids[0]}/ns/pid") != os.readlink("/proc/self/ns/pid")
        print(f"hot-added cellvm-blockd {pids[0]}: user ns "
              f"{'own' if os.readlink(f'/proc/{pids[0]}/ns/user') != own_ns else 'shared'}")

        # Respawn: the replacement comes from the spawner too, and is the VMM's child.
        time.sleep(0.5)
        os.kill(pids[0], 9)
        t0 = time.monotonic()
        new = []
        while time.monotonic() - t0 < 10:
            new = [p for p in child_pids(v.p.pid, "cellvm-blockd") if p != pids[0]]
            if new:
                break
            time.sleep(0.05)
        assert new, "no replacement blockd: " + v.logtext()
        print(f"killed cellvm-blockd {pids[0]}, replacement {new[0]} after "
              f"{(time.monotonic() - t0) * 1000:.0f} ms")
        assert "starting a replacement" in v.logtext(), v.logtext()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 10 and "replacement blockd process took over" not in \
                v.logtext():
            time.sleep(0.05)
        assert "replacement blockd process took over" in v.logtext(), v.logtext()
        assert info(v, schema)["state"] == "Running"

        # vm.shutdown and vm.boot again: the restricted VMM opens the kernel and /dev/kvm
        # again, and a fresh core and blockds come from the spawner.
        expect(v, "PUT", "vm.shutdown", {204})
        assert not child_pids(v.p.pid, "cellvm-blockd"), children(v.p.pid)
        expect(v, "PUT", "vm.boot", {204})
        assert info(v, schema)["state"] == "Running"
        assert len(child_pids(v.p.pid, "cellvm-core")) == 1, children(v.p.pid)
        assert len(child_pids(v.p.pid, "cellvm-blockd")) == 1, children(v.p.pid)
        print("vm.shutdown, vm.boot: Running again, core and blockd from the spawner")

        # vm.shutdown while a replacement starts: its Ready comes after the core is gone, which
        # once ended the whole VMM (no answer to vm.shutdown); the VM stops, the VMM serves on.
        pids = child_pids(v.p.pid, "cellvm-blockd")
        os.kill(pids[0], 9)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2 and \
                not [p for p in child_pids(v.p.pid, "cellvm-blockd") if p != pids[0]]:
            time.sleep(0.005)
        expect(v, "PUT", "vm.shutdown", {204})
        time.sleep(1)
        assert v.p.poll() is None, v.logtext()
        assert not child_pids(v.p.pid, "cellvm-blockd"), children(v.p.pid)
        expect(v, "PUT", "vm.boot", {204})
        assert info(v, schema)["state"] == "Running"
        print("vm.shutdown while a replacement started: answered, the VMM boots again")
        expect(v, "PUT", "vmm.shutdown", {204})
        v.p.wait(20)
    finally:
        v.stop()
    assert v.p.returncode == 0, (v.p.returncode, v.logtext())


def case_migpeer(args, doc, schema):
    from migpeer import Peer

    v = Vmm(args)
    try:
        v.wait_up()
        expect(v, "PUT", "vm.create", {204}, vm_config(args))
        expect(v, "PUT", "vm.boot", {204})
        for mode, state, says in (("drop-memory", "Running", "migration failed"),
                                  ("refuse-complete", "Running", "refused on purpose"),
                                  ("drop-complete", "Paused", "may be running the guest")):
            path = os.path.join(v.dir, mode + ".sock")
            peer = Peer(path, mode)
            st, out = call(v.sock, "PUT", "vm.send-migration",
                           {"destination_url": "unix:" + path})
            out = out.decode(errors="replace")
            assert st == 500 and says in out, f"{mode}: {st} {out!r}"
            assert peer.join(), f"{mode}: the test peer is still talking"
            assert peer.error is None, f"{mode}: {peer.error} after {peer.seen}"
            got = info(v, schema)["state"]
            assert got == state, f"{mode}: the VM is {got}, not {state} ({peer.seen}; {out})"
            print(f"{mode}: 500 after {','.join(peer.seen)}; VM {got}")
        expect(v, "PUT", "vm.resume", {204})
        assert info(v, schema)["state"] == "Running"
        assert v.p.poll() is None, v.logtext()
    finally:
        v.stop()


def main():
    ap = argparse.ArgumentParser()
    for a in ("cellvm", "core", "api", "remote", "payloads", "openapi"):
        ap.add_argument("--" + a, required=True)
    for a in ("blockd", "netd", "vsockd", "rngd", "balloond"):
        ap.add_argument("--" + a)
    ap.add_argument("--virtiofsd")  # QEMU's, for the kata case's virtio-fs share
    # Cloud Hypervisor's file (../shared), where present: hot-add answers are checked with it too.
    ap.add_argument("--ch-openapi")
    ap.add_argument("case", choices=["lifecycle", "badinput", "events", "disk", "kata",
                                     "hotplug", "bootfail", "vfio", "coldadd", "ratelimit",
                                     "landlockcfg", "landlock", "migpeer"])
    args = ap.parse_args()
    if not kvm_usable() and args.case not in ("bootfail", "vfio", "coldadd", "ratelimit",
                                              "landlockcfg"):
        print("SKIP: /dev/kvm is not usable")
        return SKIP
    doc = load_yaml(args.openapi)
    if doc is None:
        print("SKIP: python3-yaml is not installed")
        return SKIP
    globals()["case_" + args.case](args, doc, Schema(doc))
    print("PASS " + args.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
