#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""linux-guest tier (opt-in): Linux's own hv_vmbus and hv_utils against
skyvm's VMBus host.

Boots Debian's unmodified kernel with the busybox initramfs from
mkimage.py, whose /init loads hv_vmbus and hv_utils and lists
/sys/bus/vmbus/devices.  Passes when the integration-service channels show
up there and skyvm reports them open with heartbeats flowing.

On a software-only KVM (PVM: guest kernel code runs in KVM's instruction
emulator and guest system calls do not reach the guest kernel) a stock
kernel cannot get to /init, so the test skips with that reason
(docs/software-kvm.md); SKYLIGHT_LINUX_FORCE=1 tries anyway.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "kvm"))
import skytest  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
from linuxguest import TIMEOUT  # noqa: E402
import linuxguest  # noqa: E402

IC_CLASSES = {
    "57164f39-9115-4e78-ab55-382f3bd5422d": "heartbeat",
    "0e0b6031-5213-4934-818b-38d90ced39db": "shutdown",
    "9527e630-d0ae-497b-adce-e80ab0175caf": "timesync",
    "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6": "kvp",
}


def call(sock, cmd):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sock)
    s.sendall(json.dumps({"cmd": cmd}).encode() + b"\n")
    buf = b""
    while b"\n" not in buf:
        buf += s.recv(65536)
    s.close()
    return json.loads(buf).get("result", {})


def main():
    image = linuxguest.image()
    with tempfile.TemporaryDirectory(prefix="skylinux-") as tmp:
        sock = os.path.join(tmp, "ctl.sock")
        serial = os.path.join(tmp, "serial.log")
        # noexit keeps the guest up after /init so we can look at the bus.
        vm = subprocess.Popen([skytest.SKYVM, "--kernel", os.path.join(image, "vmlinux"),
                               "--initrd", os.path.join(image, "initramfs.cpio"),
                               "--mem", "512M", "--cmdline", "console=ttyS0 skylight.hold=1",
                               "--no-reboot", "--serial", "file:" + serial, "--control", sock],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        text, bus, ic = "", {}, {}
        while time.monotonic() - t0 < TIMEOUT and vm.poll() is None:
            time.sleep(2)
            text = open(serial, errors="replace").read() if os.path.exists(serial) else ""
            if "vmbus devices:" in text:
                try:
                    bus, ic = call(sock, "vmbus"), call(sock, "ic")
                except OSError:
                    pass
                break
        if vm.poll() is None:
            vm.terminate()
        _, err = vm.communicate(timeout=60)
        text = open(serial, errors="replace").read()
    print("\n".join(line for line in text.splitlines()
                    if "hv_" in line or "vmbus" in line.lower() or "SKYLIGHT" in line))
    devices = next((line.split(":", 1)[1].split() for line in text.splitlines()
                    if line.startswith("vmbus devices:")), None)
    if devices is None:
        print(f"FAIL: /init never listed /sys/bus/vmbus/devices\n{err[-2000:]}")
        return 1
    opened = {IC_CLASSES.get(c["class"]) for c in bus.get("channels", []) if c.get("open")}
    print(f"linux-guest: VMBus {bus.get('version')}, devices {devices}, open {sorted(filter(None, opened))}")
    missing = set(IC_CLASSES.values()) - opened
    if len(devices) < len(IC_CLASSES) or missing:
        print(f"FAIL: integration services not bound by hv_utils: {sorted(missing)}")
        return 1
    print(f"linux-guest: heartbeat sequence {ic.get('heartbeat', {}).get('sequence')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
