# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared helpers for the kvm-tier tests: paths, KVM probing, running skyvm."""

import fcntl
import json
import os
import socket
import subprocess
import sys
import time

SKIP = 77  # meson's exit code for a skipped test

SKYVM = os.environ.get("SKYVM", "skyvm")
GUEST = os.environ.get("SKYGUEST", "")
GUEST_CHECKSUM = os.environ.get("SKYGUEST_CHECKSUM", "")

KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01


def kvm_unusable():
    """Why /dev/kvm can't run a VM here, or None if it can."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"/dev/kvm: {e.strerror}"
    try:
        if fcntl.ioctl(fd, KVM_GET_API_VERSION, 0) != 12:
            return "/dev/kvm: unsupported API version"
        vm = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
        os.close(vm)
    except OSError as e:
        return f"/dev/kvm: cannot create a VM: {e.strerror}"
    finally:
        os.close(fd)
    return None


def require_kvm():
    why = kvm_unusable()
    if why:
        print(f"SKIP: kvm tier needs a usable /dev/kvm ({why})")
        sys.exit(SKIP)


def expected_checksum_line(mib):
    """The "checksum: ..." line the guest must print for fill=mib (tests/guest/checksum.h)."""
    out = subprocess.run([GUEST_CHECKSUM, str(mib)], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def run_skyvm(args, timeout=120, **kw):
    """Run skyvm to completion; returns CompletedProcess with text output."""
    return subprocess.run([SKYVM] + args, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


class Control:
    """A client of skyvm's control socket."""

    def __init__(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.fds = []

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv_line(self):
        while b"\n" not in self.buf:
            msg, anc, _flags, _addr = self.sock.recvmsg(65536, socket.CMSG_SPACE(8 * 4))
            for level, typ, data in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    n = len(data) // 4
                    self.fds.extend(int.from_bytes(data[i * 4:i * 4 + 4], "little") for i in range(n))
            if not msg:
                raise EOFError("control socket closed")
            self.buf += msg
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, cmd, **kw):
        req = {"cmd": cmd}
        req.update(kw)
        self.send_raw(json.dumps(req).encode() + b"\n")
        return self.recv_line()

    def close(self):
        self.sock.close()
        for fd in self.fds:
            os.close(fd)
