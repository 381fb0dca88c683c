"""Helpers shared by the REST API tests: HTTP over the API's unix socket (with fds in
SCM_RIGHTS and raw bytes), a small OpenAPI schema checker, and a cellvm --api-socket process."""
import array
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

SKIP = 77


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def request(sock, method, path, body=None, headers=None):
    """One request on a fresh connection; (status, response headers, body bytes)."""
    c = UnixHTTP(sock)
    data = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    hdrs.update(headers or {})
    c.request(method, "/api/v1/" + path, body=data, headers=hdrs)
    r = c.getresponse()
    out = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, out


def call(sock, method, path, body=None):
    st, _, out = request(sock, method, path, body)
    return st, out


def put_fds(sock, path, body, fds):
    """PUT with a JSON body and fds in SCM_RIGHTS, as Kata sends vm.add-net; (status, body)."""
    data = json.dumps(body).encode()
    req = (f"PUT /api/v1/{path} HTTP/1.1\r\nHost: localhost\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    s.sendmsg([req + data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    r = http.client.HTTPResponse(s)
    r.begin()
    out = r.read()
    s.close()
    return r.status, out


def raw(sock, payload, fds=(), shut=False, timeout=10):
    """Sends raw bytes (fds in SCM_RIGHTS with the first chunk); returns the status or None."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    if fds:
        s.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        s.sendall(payload)
    if shut:
        s.shutdown(socket.SHUT_WR)
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        pass
    s.close()
    try:
        return int(buf.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


class Schema:
    def __init__(self, doc):
        self.doc = doc
        self.schemas = doc["components"]["schemas"]

    def resolve(self, s):
        while "$ref" in s:
            s = self.schemas[s["$ref"].split("/")[-1]]
        return s

    def check(self, value, s, where="$"):
        s = self.resolve(s)
        if value is None and s.get("nullable"):
            return
        t = s.get("type")
        if isinstance(t, str) and t.startswith("enum"):  # v51.0's malformed image_type
            t = "string"
        if t == "object" or "properties" in s:
            assert isinstance(value, dict), f"{where}: expected object, got {value!r}"
            for k in s.get("required", []):
                assert k in value, f"{where}: required '{k}' missing"
            props = s.get("properties", {})
            extra = s.get("additionalProperties")
            for k, v in value.items():
                if k in props:
                    self.check(v, props[k], f"{where}.{k}")
                elif isinstance(extra, dict):
                    self.check(v, extra, f"{where}.{k}")
                else:
                    raise AssertionError(f"{where}: '{k}' is not in the schema")
        elif t == "array":
            assert isinstance(value, list), f"{where}: expected array"
            for i, v in enumerate(value):
                self.check(v, s["items"], f"{where}[{i}]")
        elif t == "string":
            assert isinstance(value, str), f"{where}: expected string"
            if "enum" in s:
                assert value in s["enum"], f"{where}: {value!r} not in {s['enum']}"
        elif t == "integer":
            assert isinstance(value, int) and not isinstance(value, bool), f"{where}: integer"
            if "minimum" in s:
                assert value >= s["minimum"], f"{where}: below minimum"
            if "maximum" in s:
                assert value <= s["maximum"], f"{where}: above maximum"
        elif t == "boolean":
            assert isinstance(value, bool), f"{where}: expected boolean"


class Vmm:
    def __init__(self, args, extra=(), pass_fds=()):
        self.dir = tempfile.mkdtemp(prefix="cellvm-api-")
        lx = os.path.join(self.dir, "lx")
        os.mkdir(lx)
        for exe in (args.core, args.api, args.blockd, args.netd, args.vsockd,
                    getattr(args, "rngd", None), getattr(args, "balloond", None)):
            if exe:
                os.symlink(exe, os.path.join(lx, os.path.basename(exe)))
        self.sock = os.path.join(self.dir, "api.sock")
        env = dict(os.environ, CELLVM_LIBEXEC_DIR=lx)
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.p = subprocess.Popen([args.cellvm, "--api-socket", "path=" + self.sock, *extra],
                                  env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                  pass_fds=pass_fds)

    def wait_up(self, period=0.01, limit=10.0):
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            try:
                if call(self.sock, "GET", "vmm.ping")[0] == 200:
                    return time.monotonic() - t0
            except OSError:
                pass
            assert self.p.poll() is None, "cellvm exited: " + self.logtext()
            time.sleep(period)
        raise AssertionError("API did not come up: " + self.logtext())

    def logtext(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.p.poll() is None:
            try:
                call(self.sock, "PUT", "vmm.shutdown")
            except OSError:
                pass
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        # The log stays readable through its open file; the directory (socket, symlinks, log,
        # images) goes, so runs leave nothing in /tmp.
        shutil.rmtree(self.dir, ignore_errors=True)


def vm_config(args, **over):
    cfg = {
        "payload": {"kernel": os.path.join(args.payloads, "idle.elf")},
        "cpus": {"boot_vcpus": 1, "max_vcpus": 1},
        "memory": {"size": 64 << 20},
        "serial": {"mode": "Null"},
        "console": {"mode": "Off"},
    }
    cfg.update(over)
    return cfg


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def load_yaml(path):
    """The parsed YAML file, or None when python3-yaml is missing (the caller skips)."""
    try:
        import yaml
    except ImportError:
        return None
    with open(path) as f:
        return yaml.safe_load(f)
