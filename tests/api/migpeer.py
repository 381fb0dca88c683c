"""A migration destination that misbehaves on purpose (issue 18): it speaks cellvm's migration
stream (ipc/mig_stream.h: 24-byte header "CVMG", version 1, cmd, status, length; each request
answered by one reply) well enough to take a real source through Start, Config, Memory and
State, then fails the way `mode` says:

  drop-memory     closes the connection at the first Memory message
  refuse-complete answers Complete with an error (a destination that did not resume)
  drop-complete   closes the connection on Complete without answering (the source cannot know
                  whether the destination resumed)

Runs in a thread; `seen` lists the commands received, `error` what went wrong on this side."""
import os
import socket
import struct
import threading

MAGIC, VERSION, HDR = 0x474D5643, 1, 24
START, CONFIG, MEMORY, STATE, COMPLETE, ABANDON = 1, 2, 3, 4, 5, 6
REPLY, OK, ERROR = 0x80, 0, 1
NAMES = {START: "start", CONFIG: "config", MEMORY: "memory", STATE: "state",
         COMPLETE: "complete", ABANDON: "abandon"}
MODES = ("drop-memory", "refuse-complete", "drop-complete")


def _read(c, n):
    out = bytearray()
    while len(out) < n:
        b = c.recv(min(n - len(out), 1 << 20))
        if not b:
            raise EOFError(f"the source closed after {len(out)} of {n} bytes")
        out += b
    return bytes(out)


def _skip(c, n):
    while n:
        b = c.recv(min(n, 1 << 20))
        if not b:
            raise EOFError("the source closed inside a payload")
        n -= len(b)


def _reply(c, ok, why=b""):
    c.sendall(struct.pack("<IHHHHIQ", MAGIC, VERSION, REPLY, OK if ok else ERROR, 0, 0,
                          len(why)) + why)


class Peer:
    def __init__(self, path, mode):
        assert mode in MODES, mode
        self.path, self.mode, self.seen, self.error = path, mode, [], None
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(path)
        self.lsock.listen(1)
        self.lsock.settimeout(60)
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def _serve(self):
        try:
            c, _ = self.lsock.accept()
            c.settimeout(60)
            with c:
                self._session(c)
        except (OSError, EOFError, AssertionError) as e:
            self.error = str(e)
        finally:
            self.lsock.close()
            os.unlink(self.path)

    def _session(self, c):
        for _ in range(100000):  # bounded: a 64 MiB payload VM sends a few dozen messages
            magic, ver, cmd, _st, _r1, _r2, n = struct.unpack("<IHHHHIQ", _read(c, HDR))
            assert magic == MAGIC and ver == VERSION, (magic, ver)
            self.seen.append(NAMES.get(cmd, str(cmd)))
            if cmd == MEMORY and self.mode == "drop-memory":
                return
            if cmd == COMPLETE and self.mode == "drop-complete":
                return
            _skip(c, n)
            if cmd == ABANDON:
                return
            if cmd == COMPLETE:
                _reply(c, False, b"refused on purpose (test peer)")
                return
            _reply(c, True)

    def join(self, limit=30):
        self.t.join(limit)
        return not self.t.is_alive()
