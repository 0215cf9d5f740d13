#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""linux-guest tier (opt-in): Linux's hyperv_drm and hyperv_keyboard on
skyvm's synthetic video and keyboard.

Boots the mkimage.py image with console=tty0 as well, so fbcon draws the
kernel log on hyperv_drm's framebuffer; a skyctl screenshot must then hold
text (many pixels that are not the background), and a line typed with
`skyctl vm type` on tty1 must come back on the serial port (the image's
/init echoes tty1 there).  Skips on a software-only KVM with the reason
(linuxguest.software_kvm()).
"""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "kvm"))
sys.path.insert(0, os.path.dirname(__file__))
import skytest  # noqa: E402
import linuxguest  # noqa: E402
from test_desktop import png_read  # noqa: E402  (tests/kvm)

SKYCTL = os.environ.get("SKYCTL", "skyctl")
TIMEOUT = linuxguest.TIMEOUT


def main():
    image = linuxguest.image()
    with tempfile.TemporaryDirectory(prefix="skylinux-desk-") as tmp:
        env = dict(os.environ, SKYLIGHT_RUN_DIR=tmp)
        serial = os.path.join(tmp, "serial.log")
        vm = subprocess.Popen([skytest.SKYVM, "--kernel", os.path.join(image, "vmlinux"),
                               "--initrd", os.path.join(image, "initramfs.cpio"), "--mem", "512M",
                               "--cmdline", "console=tty0 console=ttyS0 skylight.hold=1",
                               "--no-reboot", "--serial", "file:" + serial, "--run-dir", tmp,
                               "--name", "linux"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)

        def text():
            return open(serial, errors="replace").read() if os.path.exists(serial) else ""

        t0, ok = time.monotonic(), False
        try:
            while time.monotonic() - t0 < TIMEOUT and vm.poll() is None:
                if "SKYLIGHT-LINUX-DONE" in text():
                    ok = True
                    break
                time.sleep(2)
            if not ok:
                print(f"FAIL: /init never finished\n{text()[-3000:]}")
                return 1
            shot = os.path.join(tmp, "fb.png")
            p = subprocess.run([SKYCTL, "vm", "screenshot", "linux", shot], env=env,
                               capture_output=True, text=True, timeout=60)
            if p.returncode != 0:
                print(f"FAIL: no screenshot: {p.stderr}")
                return 1
            w, h, rows = png_read(shot)
            bg = rows[h - 1][:3]
            lit = sum(1 for r in rows for x in range(0, w * 3, 3) if r[x:x + 3] != bg)
            print(f"linux-guest: hyperv_drm framebuffer {w}x{h}, {lit} non-background pixels")
            if lit < 1000:
                print("FAIL: no fbcon text on the framebuffer")
                return 1
            subprocess.run([SKYCTL, "vm", "type", "linux", "skylight typed\n"], env=env,
                           check=True, timeout=60)
            deadline = time.monotonic() + 60
            while "tty1: skylight typed" not in text():
                if time.monotonic() > deadline:
                    print(f"FAIL: typed text never reached tty1\n{text()[-2000:]}")
                    return 1
                time.sleep(1)
            print("linux-guest: hyperv_keyboard delivered typed text to tty1")
            return 0
        finally:
            if vm.poll() is None:
                vm.terminate()
            vm.communicate(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
