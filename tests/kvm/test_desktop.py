#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""kvm tier: the virtual GPU end to end.  The test guest's `desktop` mode
drives synthetic video, keyboard and mouse (tests/guest/kernel/desktop.c);
skyctl reads the screen and types through the display socket.

A golden image (tests/kvm/golden/desktop-1024x768.png) pins what the guest
draws, with the clock masked; SKYLIGHT_UPDATE_GOLDEN=1 rewrites it.
"""

import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

sys.path.insert(0, os.path.dirname(__file__))
import skytest  # noqa: E402

SKYCTL = os.environ.get("SKYCTL", "skyctl")
GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "desktop-1024x768.png")


def png_read(path):
    """(width, height, rows of RGB bytes) of an 8-bit RGB, non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype != 2 or interlace:
                raise ValueError(f"{path}: expected 8-bit RGB, non-interlaced")
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    raw, bpp, stride = zlib.decompress(idat), 3, w * 3
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ft, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, rows


def masked(rows, boxes):
    out = [bytearray(r) for r in rows]
    for (x, y, w, h) in boxes:
        for yy in range(y, min(y + h, len(out))):
            out[yy][x * 3:(x + w) * 3] = bytes(3 * w)
    return out


class Desktop(unittest.TestCase):
    cmdline = "desktop"

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="skytest-desk-")
        self.run_dir = self.tmp.name
        self.serial = os.path.join(self.tmp.name, "serial.log")
        self.env = dict(os.environ, SKYLIGHT_RUN_DIR=self.run_dir)
        self.vm = subprocess.Popen(
            [skytest.SKYVM, "--kernel", skytest.GUEST, "--mem", "128M", "--name", "desk",
             "--run-dir", self.run_dir, "--cmdline", self.cmdline, "--serial", "file:" + self.serial],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def tearDown(self):
        if self.vm.poll() is None:
            self.vm.kill()
        _, self.err = self.vm.communicate(timeout=30)
        self.tmp.cleanup()

    def output(self):
        try:
            with open(self.serial, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""  # skyvm has not created it yet

    def wait_serial(self, pattern, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.output()
            m = re.search(pattern, out)
            if m:
                return m
            if "FAIL" in out or self.vm.poll() is not None:
                break
            time.sleep(0.1)
        self.fail(f"{pattern!r} never appeared; serial:\n{self.output()[-3000:]}")

    def skyctl(self, *args, check=True):
        p = subprocess.run([SKYCTL, "vm"] + list(args), capture_output=True, text=True,
                           timeout=60, env=self.env)
        if check:
            self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def screenshot(self, name):
        path = os.path.join(self.tmp.name, name)
        self.skyctl("screenshot", "desk", path)
        return png_read(path)

    def test_desktop(self):
        self.wait_serial(r"desktop: ready")
        clock = tuple(int(v) for v in self.wait_serial(
            r"desktop: clock at (\d+),(\d+) (\d+)x(\d+)").groups())

        # The desktop as drawn, clock masked, against the golden image.
        w, h, rows = self.screenshot("first.png")
        self.assertEqual((w, h), (1024, 768))
        if os.environ.get("SKYLIGHT_UPDATE_GOLDEN") == "1":
            os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
            import shutil
            shutil.copy(os.path.join(self.tmp.name, "first.png"), GOLDEN)
        gw, gh, grows = png_read(GOLDEN)
        self.assertEqual((gw, gh), (w, h))
        got, want = masked(rows, [clock]), masked(grows, [clock])
        diff = sum(1 for y in range(h) if got[y] != want[y])
        self.assertEqual(diff, 0, f"{diff} rows differ from {GOLDEN}")

        # Typed text reaches the guest and shows in the next screenshot.
        self.skyctl("type", "desk", "Hello")
        self.wait_serial(r"desktop: key 'o'")
        self.assertIn("desktop: key 'H'", self.output())
        _, _, rows2 = self.screenshot("typed.png")
        changed = [y for y in range(h) if masked(rows2, [clock])[y] != got[y]]
        self.assertTrue(changed, "typing changed nothing on screen")

        # The pointer follows the mouse.
        self.skyctl("mouse", "desk", "300", "200", "left")
        m = self.wait_serial(r"desktop: pointer (\d+),(\d+)")
        x, y = int(m.group(1)), int(m.group(2))
        self.assertLessEqual(abs(x - 300), 1)
        self.assertLessEqual(abs(y - 200), 1)

        # A resolution change reaches the guest and the display socket.
        self.skyctl("resolution", "desk", "1920x1080")
        self.wait_serial(r"desktop: mode 1920x1080")
        deadline = time.monotonic() + 30
        while True:
            w, h, _ = self.screenshot("big.png")
            if (w, h) == (1920, 1080) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual((w, h), (1920, 1080))
        before = self.output().count("desktop: mode 1024x768")
        self.skyctl("resolution", "desk", "1024x768")
        deadline = time.monotonic() + 60
        while self.output().count("desktop: mode 1024x768") == before:
            self.assertLess(time.monotonic(), deadline, "the guest never went back to 1024x768")
            time.sleep(0.1)

        # Control side: the devices are on the bus and the VM stops cleanly.
        st = subprocess.run([SKYCTL, "vm", "vmbus", "desk", "--json"], capture_output=True,
                            text=True, env=self.env, timeout=30)
        self.assertEqual(st.returncode, 0, st.stderr)
        for dev in ("synthvid", "keyboard", "mouse"):
            self.assertRegex(st.stdout, f'"device":\\s*"{dev}"')
        self.skyctl("stop", "desk")
        self.assertEqual(self.vm.wait(timeout=30), 0)


class HostileDesktop(Desktop):
    """desktop=hostile: bad VRAM locations, absurd modes and strides, rectangles
    outside the surface, truncated and unknown messages, garbage to the
    keyboard and mouse — then the desktop must still come up as usual."""

    cmdline = "desktop=hostile"

    def test_desktop(self):
        self.wait_serial(r"desktop: hostile done")
        self.wait_serial(r"desktop: ready")
        clock = tuple(int(v) for v in self.wait_serial(
            r"desktop: clock at (\d+),(\d+) (\d+)x(\d+)").groups())
        self.assertNotIn("was acknowledged", self.output())
        st = subprocess.run([SKYCTL, "vm", "status", "desk", "--json"], capture_output=True,
                            text=True, env=self.env, timeout=30)
        self.assertEqual(st.returncode, 0, st.stderr)
        video = json.loads(st.stdout)["video"]
        self.assertGreaterEqual(video["bad_messages"], 13, video)
        self.assertGreater(video["input"]["bad_messages"], 0, video)
        self.assertEqual((video["width"], video["height"]), (1024, 768))
        # The screen is the ordinary desktop.
        w, h, rows = self.screenshot("after.png")
        gw, gh, grows = png_read(GOLDEN)
        self.assertEqual((w, h), (gw, gh))
        self.assertEqual(masked(rows, [clock]), masked(grows, [clock]))
        self.skyctl("stop", "desk")
        self.assertEqual(self.vm.wait(timeout=30), 0)
        self.assertIn("situation update refused", self.err if hasattr(self, "err") else
                      self.vm.stderr.read())


if __name__ == "__main__":
    skytest.require_kvm()
    unittest.main(verbosity=2)
