#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""linux-guest tier (opt-in: meson test --suite linux-guest).

Boots Debian's unmodified kernel (tests/linux/mkimage.py) in skyvm with its
busybox initramfs and reports how far it got, how long it took and which
instructions skyvm completed for the KVM.  Passes when the kernel reaches
user space: /init's marker on a host where guest system calls work, or the
kernel's own "Run /init as init process" line on a software-only KVM whose
fast system-call path cannot serve a stock kernel (docs/software-kvm.md).
Skips with the reason when /dev/kvm is unusable or the image can't be built.
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "kvm"))
import skytest  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
import linuxguest  # noqa: E402

TIMEOUT = linuxguest.TIMEOUT


def status(sock):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sock)
    s.sendall(b'{"cmd":"status"}\n')
    buf = b""
    while b"\n" not in buf:
        buf += s.recv(65536)
    s.close()
    return json.loads(buf)["result"]


def main():
    # Boot needs no user space: it runs on a software-only KVM too.
    image = linuxguest.image(require_user_space=False)
    with tempfile.TemporaryDirectory(prefix="skylinux-") as tmp:
        sock = os.path.join(tmp, "ctl.sock")
        serial = os.path.join(tmp, "serial.log")
        t0 = time.monotonic()
        vm = subprocess.Popen([skytest.SKYVM, "--kernel", os.path.join(image, "vmlinux"),
                               "--initrd", os.path.join(image, "initramfs.cpio"),
                               "--mem", "512M", "--cmdline", "console=ttyS0", "--no-reboot",
                               "--serial", "file:" + serial, "--control", sock],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        reached, t_reached, last = None, None, {}
        while time.monotonic() - t0 < TIMEOUT and vm.poll() is None:
            time.sleep(2)
            try:
                last = status(sock)
            except OSError:
                pass
            text = open(serial, errors="replace").read() if os.path.exists(serial) else ""
            if "SKYLIGHT-LINUX-DONE" in text:
                reached, t_reached = "init", time.monotonic() - t0
                break
            if "Run /init as init process" in text and reached is None:
                reached, t_reached = "kernel", time.monotonic() - t0
                # Give /init a while to print its marker.
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and vm.poll() is None:
                    time.sleep(2)
                    if "SKYLIGHT-LINUX-INIT" in open(serial, errors="replace").read():
                        reached = "init"
                        break
                break
        if vm.poll() is None:
            try:
                last = status(sock)
            except OSError:
                pass
            vm.terminate()
        _, err = vm.communicate(timeout=60)
        text = open(serial, errors="replace").read()
    comp = last.get("completions", {})
    print(f"linux-guest: reached {reached or 'nothing'}"
          + (f" in {t_reached:.0f} s" if t_reached else "")
          + f"; completions {comp.get('total')} taking {comp.get('time_ns', 0) / 1e6:.0f} ms:"
          + f" {comp.get('by_mnemonic')}")
    print("\n".join(text.splitlines()[-15:]))
    print(err[-2000:])
    if reached is None:
        print("FAIL: the kernel did not reach user space")
        return 1
    m = re.search(r"SKYLIGHT-LINUX-INIT uptime=(\S+)", text)
    if m:
        print(f"linux-guest: /init ran at guest uptime {m.group(1)} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
