#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""e2e tier: the broker's RDP front door (broker/frontdoor.c, run by
frontdoor-harness with fake broker ops) in front of skyrdp --tokens, in
front of skyvm with the test guest's desktop, and a real xfreerdp.

The front door listens on 127.0.0.1:P and skyrdp on 127.0.0.2:P (a Server
Redirection PDU carries no port: the client keeps its own).  A client
logging on at the front door as alice/password1 is sent to 127.0.0.2 with
a one-time token as its password, which the harness puts into skyrdp's
token directory as skyhostd would; the client must show the guest's
screen.  The token is good once; wrong passwords, rate limits, NLA-only
clients, expired tokens and unknown desktops are refused; the .rdp file
frontdoor_rdp_file writes works with xfreerdp (its loadbalanceinfo reaches
the front door as a routing token naming the desktop); a redirected
client's dropped connection comes back through its auto-reconnect cookie.

Run one test: python3 test_frontdoor.py FrontDoor.test_redirect_nla.
Skips (exit 77) without a usable /dev/kvm, Xvfb, xfreerdp, xdotool, a built
skyrdp or frontdoor-harness.  SKYLIGHT_E2E_ARTIFACTS=DIR keeps the logs and
pictures of a failed test.
"""

import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rdptest  # noqa: E402
from rdptest import Guest, Xvfb  # noqa: E402

HARNESS = os.environ.get("FRONTDOOR_HARNESS", "")
W, H = 1024, 768
FRONT = "127.0.0.1"
HOST = "127.0.0.2"
VM = "desk1"
DESKTOP = "office"


def listening_on(addr, port):
    """Whether something listens on addr:port (IPv4), from /proc/net/tcp."""
    a = "".join(f"{int(b):02X}" for b in reversed(addr.split(".")))
    want = f"{a}:{port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == want and fields[3] == "0A":
                return True
    return False


class FrontDoor(rdptest.Artifacts, unittest.TestCase):
    def setUp(self):
        self.tmp = rdptest.temp_dir()
        self.addCleanup(rdptest.remove_dir, self.tmp)
        self.addCleanup(rdptest.kill_all)
        self.addCleanup(self.keep_artifacts)
        self.failures_seen = self.failed()
        self.x = Xvfb(self.tmp)
        self.x.xdotool("mousemove", rdptest.SCREEN_W - 1, rdptest.SCREEN_H - 1)
        self.guest = Guest(self.tmp, name=VM)
        self.tokens = os.path.join(self.tmp, "tokens")
        self.token_file = os.path.join(self.tmp, "issued-tokens.txt")
        self.clients = []
        self.nclients = 0
        self.guest.boot()
        self.start_skyrdp()
        self.start_harness()

    # --- the servers ---------------------------------------------------------

    def start_skyrdp(self):
        # One port free on both addresses.
        for _ in range(20):
            self.port = rdptest.free_port()
            if not listening_on(HOST, self.port):
                break
        self.state = os.path.join(self.tmp, "rdp-state")
        os.makedirs(self.state)
        # No user store (yet): one-time token logons only, and no --vm.
        self.store = os.path.join(self.tmp, "users.db")
        self.rdp = rdptest.spawn([rdptest.SKYRDP, "--listen", f"{HOST}:{self.port}",
                                  "--run-dir", self.guest.run_dir, "--tokens", self.tokens,
                                  "--users", self.store,
                                  "--state-dir", self.state, "--max-sessions", "4"],
                                 os.path.join(self.tmp, "skyrdp.log"))

        def up():
            if self.rdp.poll() is not None:
                raise AssertionError(f"skyrdp exited ({self.rdp.returncode}):\n"
                                     f"{rdptest.read_log(self.rdp)[-3000:]}")
            return listening_on(HOST, self.port)
        rdptest.wait_for(f"skyrdp to listen on {HOST}:{self.port}", up, 60)

    def start_harness(self, *extra):
        # The front door uses skyrdp's certificate (made on its first run).
        self.fd = rdptest.spawn([HARNESS, "--listen", f"{FRONT}:{self.port}",
                                 "--cert", os.path.join(self.state, "rdp-cert.pem"),
                                 "--key", os.path.join(self.state, "rdp-key.pem"),
                                 "--tokens", self.tokens, "--rdp-address", HOST, "--vm", VM,
                                 "--desktop", DESKTOP, "--token-file", self.token_file]
                                + list(extra), os.path.join(self.tmp, "frontdoor.log"),
                                env=self.harness_env())

        def up():
            if self.fd.poll() is not None:
                raise AssertionError(f"frontdoor-harness exited ({self.fd.returncode}):\n"
                                     f"{self.fd_log()[-3000:]}")
            return "ready" in self.fd_log() and listening_on(FRONT, self.port)
        rdptest.wait_for(f"the front door to listen on {FRONT}:{self.port}", up, 30)

    @staticmethod
    def harness_env():
        """For a sanitizer build: FreeRDP's own leak per TLS connection is
        known (lsan-frontdoor.supp); whole stacks, so it is recognised."""
        supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan-frontdoor.supp")
        env = dict(os.environ)
        env["LSAN_OPTIONS"] = ":".join(filter(None, [env.get("LSAN_OPTIONS"),
                                                      f"suppressions={supp}"]))
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                      "fast_unwind_on_malloc=0"]))
        return env

    def stop_harness(self):
        os.kill(self.fd.pid, signal.SIGTERM)
        rc = rdptest.kill(self.fd, grace=30)
        self.assertEqual(rc, 0, f"frontdoor-harness on SIGTERM:\n{self.fd_log()[-3000:]}")
        self.assertIn("stopped", self.fd_log())

    def fd_log(self):
        return rdptest.read_log(self.fd)

    def rdp_log(self):
        return rdptest.read_log(self.rdp)

    def issued(self):
        try:
            with open(self.token_file) as f:
                return f.read().split()
        except FileNotFoundError:
            return []

    # --- clients --------------------------------------------------------------

    def client(self, *args, rdp_file=None):
        """xfreerdp with args (the server and credentials among them), or
        with a .rdp file (xfreerdp wants it first) and args."""
        self.nclients += 1
        c = rdptest.Client.__new__(rdptest.Client)
        c.x = self.x
        c.wid = None
        c.proc = rdptest.spawn(["xfreerdp"] + ([rdp_file] if rdp_file else [])
                               + ["/cert:ignore", "/log-level:INFO"] + list(args),
                               os.path.join(self.tmp, f"xfreerdp-{self.nclients}.log"),
                               env=self.x.env)
        self.clients.append(c)
        return c

    def front(self, user="alice", password="password1", *args):
        return self.client(f"/v:{FRONT}:{self.port}", f"/u:{user}", f"/p:{password}",
                           f"/size:{W}x{H}", "/gfx:AVC420", *args)

    def refused(self, c, what):
        rc = c.wait_exit(60)
        self.assertNotEqual(rc, 0, f"{what}: xfreerdp exited 0:\n{c.log()[-2000:]}")
        self.assert_up()

    def assert_up(self):
        self.assertIsNone(self.rdp.poll(), f"skyrdp exited:\n{self.rdp_log()[-3000:]}")
        self.assertIsNone(self.fd.poll(), f"the front door exited:\n{self.fd_log()[-3000:]}")

    def wait_desktop(self, client, size=None, timeout=90, crop=False):
        """Wait until the client's window shows the guest's screen at size;
        with crop, the top left of a larger guest screen in whatever size
        the window has."""
        client.window()
        masks = [rdptest.grow(self.guest.clock, 8)]
        deadline = time.monotonic() + timeout
        want, taken, stats, geo, gw, gh = None, 0, None, None, 0, 0
        while True:
            if client.proc.poll() is not None:
                self.fail(f"xfreerdp exited ({client.proc.returncode}):\n{client.log()[-3000:]}"
                          f"\nfront door:\n{self.fd_log()[-2000:]}"
                          f"\nskyrdp:\n{self.rdp_log()[-3000:]}")
            if want is None or time.monotonic() - taken > 5:
                gw, gh, want = self.guest.screenshot()
                taken = time.monotonic()
            geo = client.geometry()
            if crop and geo and geo[3] <= gw and geo[4] <= gh:
                cw, ch = geo[3], geo[4]
                got = client.capture()
                stats = rdptest.compare([r[:3 * cw] for r in want[:ch]], got, masks)
                if rdptest.close_enough(stats):
                    return stats
            elif geo and (geo[3], geo[4]) == size == (gw, gh):
                got = client.capture()
                stats = rdptest.compare(want, got, masks)
                if rdptest.close_enough(stats):
                    return stats
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.fail(f"the client never showed the guest's screen: window {geo}, guest {gw}x{gh}"
                  + (f", {rdptest.describe(stats)}" if stats else "")
                  + f"\nxfreerdp:\n{client.log()[-2000:]}\nfront door:\n{self.fd_log()[-2000:]}"
                  f"\nskyrdp:\n{self.rdp_log()[-3000:]}")

    def finish(self):
        """Clients gone, skyrdp's sessions end, both servers stop cleanly,
        no token in any log, no sanitizer report."""
        for c in self.clients:
            rdptest.kill(c.proc)
        self.assert_up()
        listener = self.rdp.pid
        rdptest.wait_for("skyrdp's sessions to end after their clients left",
                         lambda: rdptest.group_members(listener) <= {listener}, 30)
        self.stop_harness()
        os.kill(listener, signal.SIGTERM)
        rc = rdptest.kill(self.rdp, grace=30)
        self.assertEqual(rc, 0, f"skyrdp on SIGTERM:\n{self.rdp_log()[-3000:]}")
        logs = [("skyrdp", self.rdp_log()), ("front door", self.fd_log()),
                ("skyvm", rdptest.read_log(self.guest.proc))]
        logs += [(f"xfreerdp {i}", c.log()) for i, c in enumerate(self.clients)]
        for name, log in logs:
            m = rdptest.SANITIZER.search(log)
            self.assertIsNone(m, f"{name}:\n{log[m.start() - 200 if m else 0:][:4000]}")
            for t in self.issued():
                self.assertNotIn(t, log, f"a one-time token in {name}'s log")

    def sent(self, user="alice"):
        return (f"{user} sent to desktop {DESKTOP}: VM {VM} on host host1 ({HOST})"
                in self.fd_log())

    # --- tests -----------------------------------------------------------------

    # xfreerdp's defaults: TLS at the front door (it offers NLA and TLS, the
    # front door takes TLS), NLA with the token at skyrdp.  The token is
    # good once.
    def test_redirect_nla(self):
        c = self.front()
        self.wait_desktop(c, (W, H))
        self.assertTrue(self.sent(), self.fd_log())
        self.assertIn(f"alice authenticated by one-time token for VM {VM} (NLA)", self.rdp_log())
        tokens = self.issued()
        self.assertEqual(len(tokens), 1, tokens)
        self.assertEqual(os.listdir(self.tokens), [], "the token was not taken")
        # The same token again, straight to the host: refused, TLS or NLA.
        for sec in ("/sec:tls", "/sec:nla"):
            d = self.client(f"/v:{HOST}:{self.port}", "/u:alice", f"/p:{tokens[0]}", sec,
                            f"/size:{W}x{H}")
            self.refused(d, f"the used token again ({sec})")
        self.assertRegex(self.rdp_log(), r"wrong user name or password for alice \(no one-time "
                         r"token for them")
        # (NLA with the used token goes through while its session lives,
        # for that session's reconnect cookie only.)
        self.assertIn("NLA logon refused for alice: their one-time token was used already",
                      self.rdp_log())
        self.finish()

    # A client that offers TLS only: the token goes in its Client Info PDU.
    def test_redirect_tls(self):
        c = self.front("alice", "password1", "/sec:tls")
        self.wait_desktop(c, (W, H))
        self.assertTrue(self.sent(), self.fd_log())
        self.assertRegex(self.rdp_log(),
                         rf"alice authenticated by one-time token for VM {VM}\n")
        self.assertEqual(len(self.issued()), 1)
        self.finish()

    # The .rdp file: its loadbalanceinfo must reach the front door as a
    # routing token naming the desktop, and xfreerdp must land on it.
    def test_rdp_file(self):
        def rdp_file(desktop):
            p = subprocess.run([HARNESS, "--rdp-file", f"{FRONT}:{self.port}", "alice", desktop],
                               capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            path = os.path.join(self.tmp, f"{desktop}.rdp")
            with open(path, "wb") as f:
                f.write(p.stdout)
            return p.stdout.decode(), path

        text, path = rdp_file(DESKTOP)
        lines = text.split("\r\n")
        for want in (f"full address:s:{FRONT}:{self.port}", "username:s:alice",
                     f"loadbalanceinfo:s:Cookie: msts={DESKTOP}", "enablecredsspsupport:i:0"):
            self.assertIn(want, lines)
        self.assertTrue(text.endswith("\r\n"))

        # A desktop alice does not have: the broker says so, no token.
        _, other = rdp_file("other")
        c = self.client("/p:password1", rdp_file=other)
        self.refused(c, "a .rdp file for a desktop alice does not have")
        self.assertIn("routing token for desktop other", self.fd_log())
        self.assertIn("resolve: user=alice hint=other", self.fd_log())
        self.assertIn("alice not sent to other: they have no such desktop", self.fd_log())
        self.assertEqual(self.issued(), [])

        # The file's own settings (full screen, no CredSSP) and the
        # password.  Full screen asks the guest for Xvfb's size; without a
        # window manager to make it so, the window keeps the size it was
        # made with and shows the top left of the desktop.
        c = self.client("/p:password1", rdp_file=path)
        stats = self.wait_desktop(c, crop=True)
        self.guest.wait_serial(rf"desktop: mode {rdptest.SCREEN_W}x{rdptest.SCREEN_H}")
        print(f"with the .rdp file: {rdptest.describe(stats)}")
        self.assertIn(f"routing token for desktop {DESKTOP}", self.fd_log())
        self.assertIn(f"resolve: user=alice hint={DESKTOP}", self.fd_log())
        self.assertTrue(self.sent(), self.fd_log())
        # CredSSP off: the token came over TLS.
        self.assertRegex(self.rdp_log(),
                         rf"alice authenticated by one-time token for VM {VM}\n")
        self.finish()

    def test_refusals(self):
        # A wrong password, a rate-limited user, a client that offers only
        # NLA: refused at the front door, no token issued.
        c = self.front("alice", "wrong password")
        self.refused(c, "a wrong password")
        self.assertRegex(self.fd_log(), rf"wrong user name or password for alice from "
                         rf"{re.escape(FRONT)}:\d+")
        c = self.front("limited", "password1")
        self.refused(c, "a rate-limited user")
        self.assertIn("logon of limited refused: too many failed logons (rate-limited)",
                      self.fd_log())
        c = self.front("alice", "password1", "/sec:nla")
        self.refused(c, "an NLA-only client")
        # FreeRDP set to NLA only still offers TLS, and hangs up when the
        # front door picks it.
        rdptest.wait_for("the front door to see the client go",
                         lambda: "it asked for NLA, which the front door cannot do"
                         in self.fd_log(), 10)
        self.assertEqual(self.issued(), [])
        self.assertNotIn("sent to desktop", self.fd_log())

        # A token that expired before the client came: skyrdp refuses it.
        self.stop_harness()
        self.start_harness("--token-ttl", "1", "--issue-delay", "2")
        c = self.front("alice", "password1", "/sec:tls")
        self.refused(c, "an expired token")
        self.assertTrue(self.sent(), self.fd_log())
        self.assertIn("alice: their one-time token had expired", self.rdp_log())
        self.assertEqual(len(self.issued()), 1)

        # A user of the store, straight to the host: right password, but
        # no token and no --vm, so no VM to show.
        rdptest.add_user(self.store, "bob", "bob's password")
        c = self.client(f"/v:{HOST}:{self.port}", "/u:bob", "/p:bob's password", "/sec:tls",
                        f"/size:{W}x{H}")
        self.refused(c, "a logon without a token or --vm")
        self.assertIn("connection refused: no VM for this logon (bob: no one-time token, no --vm)",
                      self.rdp_log())
        self.finish()

    # A redirected client's connection drops: it comes back to the host with
    # its auto-reconnect cookie, and NLA with its (used) token is good for
    # that cookie only.
    def test_auto_reconnect(self):
        c = self.front("alice", "password1", "+auto-reconnect")
        self.wait_desktop(c, (W, H))
        listener = self.rdp.pid
        workers = rdptest.group_members(listener) - {listener}
        self.assertEqual(len(workers), 1, workers)
        os.kill(workers.pop(), signal.SIGKILL)
        rdptest.wait_for("the client to reconnect", lambda: "reconnected with an auto-reconnect "
                         "cookie" in self.rdp_log(), 60)
        self.assertIsNone(c.proc.poll(), "xfreerdp gave up instead of reconnecting")
        self.wait_desktop(c, (W, H))
        self.assertEqual(len(re.findall(rf"alice connected to VM {VM} \(NLA", self.rdp_log())), 2,
                         self.rdp_log())
        self.assertEqual(len(self.issued()), 1, "the reconnect went through the front door")
        self.finish()


def skip_reason():
    why = rdptest.skip_reason()
    if why:
        return why
    if not HARNESS or not os.access(HARNESS, os.X_OK):
        return "frontdoor-harness is not built"
    return None


if __name__ == "__main__":
    why = skip_reason()
    if why:
        print(f"SKIP: e2e front door test {why}")
        sys.exit(rdptest.SKIP)
    unittest.main(verbosity=2)
