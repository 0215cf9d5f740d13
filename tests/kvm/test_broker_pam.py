#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""kvm tier: skybroker --embedded --pam skytest --pam-confdir DIR, without root.

The test brings its own PAM service in a temporary directory (Linux-PAM's
pam_start_confdir, brokertest.pam_service): pam_exec hands the password to a
small checker script, which accepts fixed user/password pairs and notes each call;
pam_permit does the account step.  Over the REST API: a PAM user's first
login adds it (role user, source pam), a wrong PAM password is 401 and the
checker saw it, the local users demo and admin log in as before and never
reach PAM, an admin makes a PAM user with a role of its own, enrollment is
off, and after 5 failures the right password gets 429.  Through the RDP
front door (clients/rdpbench --first-frame, TLS): the PAM user logs on and
lands on its desktop, redirected to the host's skyrdp.
"""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import skytest  # noqa: E402
import test_broker as tb  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
import brokertest  # noqa: E402

RDPBENCH = os.environ.get("RDPBENCH", "")
HERE = os.path.dirname(os.path.abspath(__file__))


def lsan_env(env, supp):
    """env with a LeakSanitizer suppression file (sanitizer builds only
    read it); whole stacks so the suppressed frames are recognised."""
    env = dict(env)
    env["LSAN_OPTIONS"] = ":".join(filter(None, [env.get("LSAN_OPTIONS"),
                                                  f"suppressions={os.path.join(HERE, supp)}"]))
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                  "fast_unwind_on_malloc=0"]))
    return env


# skybroker (and everything it starts) inherits this.
os.environ.update(lsan_env(os.environ, "lsan-external.supp"))
PAM_PASSWORD = "pam secret 1"
CAROL_PASSWORD = "carols pam pw"

def pam_exec_installed():
    for d in ("/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security",
              "/lib/aarch64-linux-gnu/security", "/usr/lib/aarch64-linux-gnu/security",
              "/lib/security", "/usr/lib/security", "/lib64/security", "/usr/lib64/security"):
        if os.path.exists(os.path.join(d, "pam_exec.so")):
            return True
    return False


class PamTest(unittest.TestCase):
    def setUp(self):
        self.tmpdir = tempfile.TemporaryDirectory(prefix="skytest-broker-pam-")
        self.tmp = self.tmpdir.name
        self.state = os.path.join(self.tmp, "state")
        self.confdir, self.calls = brokertest.pam_service(
            self.tmp, {"pamuser": PAM_PASSWORD, "carol": CAROL_PASSWORD, "demo": PAM_PASSWORD})
        self.b = None

    def tearDown(self):
        if self.b:
            self.b.stop()
            if self._outcome.result.failures or self._outcome.result.errors:
                sys.stderr.write(self.b.log()[-6000:])
        self.tmpdir.cleanup()

    def pam_calls(self):
        with open(self.calls) as f:
            return [line.split() for line in f]

    def login(self, name, password):
        return self.b.call("POST", "/api/v1/login", {"name": name, "password": password})

    def test_pam(self):
        b = self.b = tb.Broker(self.tmp, self.state, 1,
                               ["--pam", "skytest", "--pam-confdir", self.confdir])
        self.assertIn("PAM users' passwords go to PAM service skytest", b.log())

        # A name the broker does not know, which PAM accepts: a new user.
        s, obj, _ = self.login("pamuser", PAM_PASSWORD)
        self.assertEqual(s, 200, obj)
        self.assertEqual((obj["user"]["name"], obj["user"]["role"], obj["user"]["source"]),
                         ("pamuser", "user", "pam"))
        self.assertEqual(self.pam_calls(), [["pamuser", "127.0.0.1", "skytest"]])
        pam_token = obj["token"]
        self.assertEqual(b.ok("GET", "/api/v1/me", pam_token)["source"], "pam")
        # It logs in again through PAM, the same user.
        s, obj, _ = self.login("pamuser", PAM_PASSWORD)
        self.assertEqual(s, 200, obj)
        self.assertEqual(len(self.pam_calls()), 2)

        # Local users: their own passwords, never PAM's (the checker would
        # take demo with PAM_PASSWORD).
        demo = b.login("demo")
        admin = b.login("admin")
        users = {u["name"]: u for u in b.ok("GET", "/api/v1/users", admin)}
        self.assertEqual(users["demo"]["source"], "local")
        self.assertEqual(users["pamuser"]["source"], "pam")
        self.assertEqual(users["pamuser"]["role"], "user")
        self.assertEqual(len(self.pam_calls()), 2)

        # Admins make PAM users (no password), with the role they choose.
        s, obj, _ = b.call("POST", "/api/v1/users", {"name": "carol", "role": "delegated_admin",
                                                     "source": "pam"}, admin)
        self.assertEqual((s, obj["source"]), (201, "pam"), obj)
        s, obj, _ = b.call("POST", "/api/v1/users", {"name": "carl", "role": "user",
                                                     "source": "pam", "password": "x" * 10},
                           admin)
        self.assertEqual(s, 400, obj)
        s, obj, _ = self.login("carol", CAROL_PASSWORD)
        self.assertEqual((s, obj["user"]["role"]), (200, "delegated_admin"), obj)
        # Her password is PAM's.
        s, obj, _ = b.call("PATCH", "/api/v1/users/carol", {"password": "a new password"},
                           obj["token"])
        self.assertEqual(s, 409, obj)

        # No enrolling while PAM is on.
        s, obj, _ = b.call("POST", "/api/v1/enroll", {"name": "newbie",
                                                      "password": "newbie password"})
        self.assertEqual(s, 403, obj)

        # The RDP front door: the same login, then the desktop.
        if RDPBENCH and os.access(RDPBENCH, os.X_OK):
            tb.wait_for("the DESKTOP line", lambda: b.line(r"^DESKTOP (.*)$"), 180)
            r = b.ok("POST", "/api/v1/desktops", admin,
                     {"pool": "demo", "name": "pam-desktop", "owner": "pamuser",
                      "memory_mb": 128, "cpus": 1})
            tb.wait_for("pam-desktop Running",
                        lambda: b.state_of(pam_token, "pam-desktop") == "Running", 180)
            n = len(self.pam_calls())
            p = subprocess.run([RDPBENCH, "--first-frame", "--seconds", "60",
                                f"/v:127.0.0.1:{b.rdp}", "/u:pamuser", f"/p:{PAM_PASSWORD}",
                                "/cert:ignore", "/sec:tls", "/size:1024x768",
                                "/log-level:ERROR"],
                               capture_output=True, text=True, timeout=120,
                               env=lsan_env(os.environ, "lsan-rdpbench.supp"))
            self.assertEqual(p.returncode, 0, p.stderr[-2000:])
            self.assertIn("first_frame_ms", p.stdout)
            self.assertRegex(b.log(), r"RDP: pamuser goes to desktop pam-desktop on host1")
            self.assertEqual(self.pam_calls()[n:], [["pamuser", "127.0.0.1", "skytest"]])
            del r
        else:
            sys.stderr.write("note: RDPBENCH not built; the front door part is left out\n")

        # Rate limits count PAM failures as any: 5 wrong, then 429 even for
        # the right password, and PAM is not asked then.
        for i in range(5):
            s, obj, _ = self.login("pamuser", f"wrong {i}")
            self.assertEqual(s, 401, obj)
        n = len(self.pam_calls())
        s, obj, hdrs = self.login("pamuser", PAM_PASSWORD)
        self.assertEqual(s, 429, obj)
        self.assertGreater(int(hdrs["Retry-After"]), 0)
        self.assertEqual(len(self.pam_calls()), n)
        # Sessions made before stay good.
        self.assertEqual(b.ok("GET", "/api/v1/me", demo)["name"], "demo")

    def test_options(self):
        """--pam's mistakes are caught before anything starts."""
        for args, want in ((["--pam-confdir", self.confdir], "needs --pam"),
                           (["--pam", "../etc/x"], "service name"),
                           (["--pam", "skytest", "--enroll"], "do not go together"),
                           (["--pam", "skytest", "--pam-confdir", self.calls],
                            "not a directory")):
            p = subprocess.run([tb.SKYBROKER, "--state-dir", self.state] + args,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 64, (args, p.stderr))  # EX_USAGE
            self.assertIn(want, p.stderr)
        # A service PAM cannot load: refused at start, before any state.
        p = subprocess.run([tb.SKYBROKER, "--state-dir", self.state, "--pam", "nosuch",
                            "--pam-confdir", self.confdir],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 78, p.stderr)  # EX_CONFIG
        self.assertIn("PAM service nosuch cannot be loaded", p.stderr)
        self.assertFalse(os.path.exists(self.state))


if __name__ == "__main__":
    skytest.require_kvm()
    for var, path in (("SKYBROKER", tb.SKYBROKER), ("SKYHOSTD", tb.SKYHOSTD),
                      ("SKYRDP", tb.SKYRDP), ("SKYGUEST", skytest.GUEST),
                      ("SKYVM", skytest.SKYVM)):
        if not os.path.exists(path):
            print(f"SKIP: {var}={path} does not exist (run from meson test)")
            sys.exit(skytest.SKIP)
    if not pam_exec_installed():
        print("SKIP: needs pam_exec.so (libpam-modules)")
        sys.exit(skytest.SKIP)
    p = subprocess.run([tb.SKYBROKER, "--pam", "x", "--pam-confdir", "/nonexistent"],
                       capture_output=True, text=True, timeout=30)
    if "built without PAM" in p.stderr or "no pam_start_confdir" in p.stderr:
        print(f"SKIP: {p.stderr.strip()}")
        sys.exit(skytest.SKIP)
    unittest.main()
