#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""e2e tier: a real RDP client (xfreerdp on Xvfb) against skyrdp in front of
skyvm running the test guest's desktop.  What the client shows must match
the guest's framebuffer (H.264, RemoteFX and 16 bpp are lossy: a
tolerance, the clock masked; planar and 24 bpp interleaved RLE are
lossless: exactly), keys typed into the client reach the guest, a wrong password is refused, the client's window size
reaches the guest, NLA works, a client that dies does not take skyrdp with
it, and a client whose connection drops comes back with its auto-reconnect
cookie.  Each test ends with skyrdp's sessions gone with their clients, a
clean exit on SIGTERM and no sanitizer report.

Run one test: python3 test_rdp.py RDP.test_avc420.  Each skips (exit 77)
without a usable /dev/kvm, Xvfb, xfreerdp, xdotool or a built skyrdp.
SKYLIGHT_E2E_ARTIFACTS=DIR keeps the logs and pictures of a failed test
(of every test with SKYLIGHT_E2E_KEEP=1).
"""

import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdptest  # noqa: E402
from rdptest import Client, Guest, SkyRDP, Xvfb  # noqa: E402

PASSWORD = "correct horse battery staple"
W, H = 1024, 768
KEYS = "hello"
REFUSAL = (r"(?i)(refus|denied|wrong password|bad password|authentication fail|logon fail|"
           r"invalid password|unknown user|no such user)")


class RDP(rdptest.Artifacts, unittest.TestCase):
    skyrdp_args = ()
    sec = "/sec:tls"

    def setUp(self):
        self.tmp = rdptest.temp_dir()
        self.addCleanup(rdptest.remove_dir, self.tmp)
        # Cleanups run last-in first-out: the artifacts are saved before the
        # processes are killed, and those before the folder goes.
        self.addCleanup(rdptest.kill_all)
        self.addCleanup(self.keep_artifacts)
        self.x = Xvfb(self.tmp)
        # The X pointer (drawn into Xvfb's framebuffer) out of every window.
        self.x.xdotool("mousemove", rdptest.SCREEN_W - 1, rdptest.SCREEN_H - 1)
        self.guest = Guest(self.tmp)
        self.store = os.path.join(self.tmp, "users.db")
        rdptest.add_user(self.store, "alice", PASSWORD)
        self.guest.boot()
        self.rdp = SkyRDP(self.tmp, self.guest, self.store, *self.skyrdp_args)
        self.failures_seen = self.failed()
        self.shots = 0
        self.clients = []

    def connect(self, *args, user="alice", password=PASSWORD):
        c = Client(self.x, self.tmp, self.rdp.port, user, password, self.sec,
                   f"/size:{W}x{H}", *args)
        self.clients.append(c)
        return c

    def finish(self):
        """The end of every test: the clients go, skyrdp's sessions end on
        their own, skyrdp stops cleanly on SIGTERM, no sanitizer spoke."""
        for c in self.clients:
            rdptest.kill(c.proc)
        listener = self.rdp.proc.pid
        self.assert_up()
        try:
            rdptest.wait_for("skyrdp's sessions to end after their clients left",
                             lambda: rdptest.group_members(listener) <= {listener}, 30)
        except AssertionError as e:
            self.fail(f"{e}\n{self.rdp.log()[-3000:]}")
        os.kill(listener, signal.SIGTERM)
        rc = rdptest.kill(self.rdp.proc, grace=30)
        self.assertEqual(rc, 0, f"skyrdp on SIGTERM:\n{self.rdp.log()[-3000:]}")
        for name, log in (("skyrdp", self.rdp.log()), ("skyvm", rdptest.read_log(self.guest.proc))):
            m = rdptest.SANITIZER.search(log)
            self.assertIsNone(m, f"{name}:\n{log[m.start() - 200 if m else 0:][:4000]}")

    def wait_desktop(self, client, size=(W, H), timeout=90, exact=False):
        """Wait until the client's window shows the guest's screen (exact:
        every pixel outside the clock)."""
        _, _, _, w, h = client.window()
        masks = [rdptest.grow(self.guest.clock, 8)]
        deadline = time.monotonic() + timeout
        want, taken, stats = None, 0, None
        while True:
            if client.proc.poll() is not None:
                self.fail(f"xfreerdp exited ({client.proc.returncode}):\n{client.log()[-3000:]}"
                          f"\nskyrdp:\n{self.rdp.log()[-3000:]}")
            # The guest's picture is static but for the clock: a fresh one
            # now and then covers a mode change on the way.
            if want is None or time.monotonic() - taken > 10:
                gw, gh, want = self.guest.screenshot()
                taken = time.monotonic()
            geo = client.geometry()
            if geo and (geo[3], geo[4]) == size == (gw, gh):
                got = client.capture()
                stats = rdptest.compare(want, got, masks)
                if stats[2] == 0 if exact else rdptest.close_enough(stats):
                    if rdptest.KEEP:
                        self.shots += 1
                        rdptest.png_write(os.path.join(self.tmp, f"client-{self.shots}.png"),
                                          got)
                    return stats
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if stats:
            rdptest.png_write(os.path.join(self.tmp, "client.png"), got)
            rdptest.png_write(os.path.join(self.tmp, "guest.png"), want)
        self.fail(f"the client never showed the guest's {size[0]}x{size[1]} screen: "
                  f"window {geo}, guest {gw}x{gh}"
                  + (f", {rdptest.describe(stats)}" if stats else "")
                  + f"\nxfreerdp:\n{client.log()[-2000:]}\nskyrdp:\n{self.rdp.log()[-3000:]}")

    def assert_up(self):
        self.assertIsNone(self.rdp.proc.poll(), f"skyrdp exited:\n{self.rdp.log()[-3000:]}")

    # (a) H.264 through the graphics pipeline; the session's worker runs
    # under its seccomp filter (base/sandbox.h), the listener does not.
    def test_avc420(self):
        c = self.connect("/gfx:AVC420", "+auto-reconnect")
        stats = self.wait_desktop(c)
        print(f"AVC420: {rdptest.describe(stats)}")
        listener = self.rdp.proc.pid
        workers = rdptest.group_members(listener) - {listener}
        self.assertTrue(workers, "no session worker")
        mode, filters = self.seccomp(listener)
        if mode is None:
            print("this kernel has no seccomp: the workers' filter is not checked")
        for pid in workers if mode is not None else ():
            # One filter more than the listener (a container may have its own).
            w_mode, w_filters = self.seccomp(pid)
            self.assertEqual(w_mode, 2, f"worker {pid} has no seccomp filter")
            if filters is not None:
                self.assertEqual(w_filters, filters + 1, f"worker {pid}")
        self.finish()

    @staticmethod
    def seccomp(pid):
        """/proc/PID/status's Seccomp (0 none, 2 filters) and
        Seccomp_filters (Linux 5.9+); None where the line is missing."""
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
        return tuple(int(m.group(1)) if m else None
                     for m in (re.search(rf"^{k}:\s*(\d+)", text, re.M)
                               for k in ("Seccomp", "Seccomp_filters")))

    # (b) keys typed into the client reach the guest, and its new picture
    # reaches the client.
    def test_keys(self):
        c = self.connect("/gfx:AVC420", "+auto-reconnect")
        self.wait_desktop(c)
        self.type_keys(c)
        self.finish()

    def type_keys(self, c, size=(W, H), exact=False):
        """Type KEYS into client c; the guest sees them and the client
        shows the guest's new picture (frames still flow: the pacer gets
        its acknowledgements)."""
        _, _, before = self.guest.screenshot()
        start = len(self.guest.output())
        self.x.xdotool("windowfocus", "--sync", c.wid)
        self.x.xdotool("type", "--delay", "60", KEYS)
        self.guest.wait_serial("(?s)" + ".*".join(f"desktop: key '{k}'" for k in KEYS),
                               start=start)
        time.sleep(0.5)
        _, _, after = self.guest.screenshot()
        self.assertNotEqual(before, after, "the typed text did not change the guest's screen")
        self.wait_desktop(c, size=size, exact=exact)

    # (c) a wrong password (and an unknown user) is refused, skyrdp stays up
    # and says so, and the right password still works.
    def test_wrong_password(self):
        for user, pw in (("alice", "wrong password"), ("mallory", PASSWORD)):
            c = self.connect("/gfx:AVC420", user=user, password=pw)
            rc = c.wait_exit(60)
            self.assertNotEqual(rc, 0, f"xfreerdp as {user} with a wrong password exited 0:\n"
                                f"{c.log()[-2000:]}")
            self.assert_up()
        self.assertRegex(self.rdp.log(), REFUSAL)
        c = self.connect("/gfx:AVC420")
        self.wait_desktop(c)
        self.finish()

    # (d) the legacy path: RemoteFX surface bits, no graphics pipeline.
    # xfreerdp 2.11 has no "-gfx" (a dash is a slash for non-boolean
    # options: "-gfx" turns the pipeline on); any /network: keeps the
    # pipeline off, as it skips the auto-detect defaults (GFX, RemoteFX).
    def test_rfx(self):
        c = self.connect("/network:lan", "/rfx")
        stats = self.wait_desktop(c)
        self.assertIn("output: RemoteFX surface bits", self.rdp.log())
        print(f"RemoteFX: {rdptest.describe(stats)}")
        self.finish()

    # (d2) neither the pipeline nor RemoteFX: planar bitmap updates (32 bpp:
    # xfreerdp asks for 16 without /bpp once no codec is on).  A size that
    # is no multiple of 4 or 64 (edge tiles, padded widths), reached by a
    # deactivation-reactivation once the guest takes it.
    def test_planar_bitmaps(self):
        c = self.connect("/network:lan", "/bpp:32", "/size:1022x766")
        self.guest.wait_serial(r"desktop: mode 1022x766")
        stats = self.wait_desktop(c, size=(1022, 766), exact=True)
        self.assertIn("output: planar bitmap updates (client has neither GFX nor RemoteFX)",
                      self.rdp.log())
        self.type_keys(c, size=(1022, 766), exact=True)
        print(f"planar bitmap updates: {rdptest.describe(stats)}")
        self.finish()

    # (d2b) 16 and 24 bpp sessions without codecs (a bare `xfreerdp
    # /network:lan` asks for 16 bpp, mstsc's "High Color" too): interleaved
    # RLE bitmap updates.  16 bpp loses the low bits of each colour; 24 bpp
    # is exact (at a size with padded edge tiles).
    def test_interleaved_bitmaps(self):
        c = self.connect("/network:lan", "/bpp:16")
        stats = self.wait_desktop(c)
        self.assertIn("output: interleaved 16 bpp bitmap updates", self.rdp.log())
        self.type_keys(c)
        print(f"interleaved 16 bpp: {rdptest.describe(stats)}")
        rdptest.kill(c.proc)
        c = self.connect("/network:lan", "/bpp:24", "/size:1022x766")
        self.guest.wait_serial(r"desktop: mode 1022x766")
        stats = self.wait_desktop(c, size=(1022, 766), exact=True)
        self.assertIn("output: interleaved 24 bpp bitmap updates", self.rdp.log())
        print(f"interleaved 24 bpp: {rdptest.describe(stats)}")
        self.finish()

    # (d3) the pipeline without AVC, from a client that lists no RemoteFX
    # (bare /gfx): planar tiles in the pipeline; a new size through
    # ResetGraphics.
    def test_gfx_planar(self):
        # Lossless.test_gfx_planar: skyrdp --lossless.
        if "--lossless" not in self.skyrdp_args:
            self.skipTest("runs as Lossless.test_gfx_planar")
        c = self.connect("/gfx", "/size:1022x766")
        self.guest.wait_serial(r"desktop: mode 1022x766")
        stats = self.wait_desktop(c, size=(1022, 766), exact=True)
        self.assertIn("output: graphics pipeline, planar", self.rdp.log())
        self.type_keys(c, size=(1022, 766), exact=True)
        print(f"RDPGFX planar: {rdptest.describe(stats)}")
        self.finish()

    # (e) the client's window size reaches the guest.
    def test_resize(self):
        c = self.connect("/gfx:AVC420", "/dynamic-resolution")
        self.wait_desktop(c)
        start = len(self.guest.output())
        self.x.xdotool("windowsize", c.wid, 1280, 720)
        self.guest.wait_serial(r"desktop: mode 1280x720", start=start)
        self.wait_desktop(c, size=(1280, 720))
        self.finish()

    # (e2) AVC420 in bands (rdp/bands.c): at 1280x720 three surfaces of 240
    # rows.  Damage across a band boundary shows whole: the typed line's
    # 64x64 tiles (rows 192..256) and the guest's own pointer put across
    # row 240 on the wallpaper (its tip above, its white body below).
    def test_bands(self):
        c = self.connect("/gfx:AVC420", "/size:1280x720")
        self.guest.wait_serial(r"desktop: mode 1280x720")
        self.wait_desktop(c, size=(1280, 720))
        self.assertRegex(self.rdp.log(), r"AVC420 1280x720 in 3 bands of 240 rows")
        self.type_keys(c, size=(1280, 720))
        self.x.xdotool("mousemove", "--window", c.wid, 704, 232)
        # The X pointer out again: the client's capture must not show it.
        self.x.xdotool("mousemove", rdptest.SCREEN_W - 1, rdptest.SCREEN_H - 1)

        def pointer_drawn():
            _, _, rows = self.guest.screenshot()
            # The pointer's tip (black) at 704,232, its white inside at 705,242.
            return (rows[232][3 * 704:3 * 705] == b"\0\0\0" and
                    rows[242][3 * 705:3 * 706] == b"\xff\xff\xff")
        rdptest.wait_for("the guest to draw its pointer across row 240", pointer_drawn, 30)
        self.wait_desktop(c, size=(1280, 720))
        self.finish()

    # (g) a client killed mid-session: skyrdp stays up and the next one works.
    def test_client_killed(self):
        c = self.connect("/gfx:AVC420")
        self.wait_desktop(c)
        rdptest.kill(c.proc, signal.SIGKILL)
        self.assert_up()
        c = self.connect("/gfx:AVC420")
        self.wait_desktop(c)
        self.finish()

    # (g) auto-reconnect: the session's worker dies (a dropped connection
    # as the client sees it); the same client comes back with its cookie.
    def test_auto_reconnect(self):
        c = self.connect("/gfx:AVC420", "+auto-reconnect")
        self.wait_desktop(c)
        listener = self.rdp.proc.pid
        workers = rdptest.group_members(listener) - {listener}
        self.assertEqual(len(workers), 1, workers)
        os.kill(workers.pop(), signal.SIGKILL)
        rdptest.wait_for("the client to reconnect", lambda: "reconnected with an auto-reconnect "
                         "cookie" in self.rdp.log(), 60)
        self.assertIsNone(c.proc.poll(), "xfreerdp gave up instead of reconnecting")
        self.wait_desktop(c)
        self.finish()

# (f) NLA (CredSSP with NTLM against the store's NT hash).
class Lossless(RDP):
    """skyrdp --lossless: planar instead of RemoteFX in the pipeline."""
    skyrdp_args = ("--lossless",)


class NLA(RDP):
    skyrdp_args = ("--auth", "nla")
    sec = "/sec:nla"

    def test_nla(self):
        c = self.connect("/gfx:AVC420")
        self.wait_desktop(c)
        # A wrong password, and a user without an NT hash, get no session.
        rdptest.add_user(self.store, "bob", PASSWORD, "--no-nla")
        for user, pw in (("alice", "wrong password"), ("bob", PASSWORD)):
            c2 = self.connect("/gfx:AVC420", user=user, password=pw)
            self.assertNotEqual(c2.wait_exit(60), 0, f"NLA as {user} was let in:\n"
                                f"{c2.log()[-2000:]}")
            self.assert_up()
        self.finish()


# Only test_nla runs with --auth nla; the rest were run above.
for _name in [n for n in dir(RDP) if n.startswith("test_")]:
    setattr(NLA, _name, None)


if __name__ == "__main__":
    rdptest.require()
    unittest.main(verbosity=2)
