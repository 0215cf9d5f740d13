#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""skyctl user add|passwd|del|list against a temporary store: exit codes,
the store's mode, the default path, and the password prompt on a terminal
(asked twice, not echoed)."""

import json
import os
import pty
import select
import signal
import stat
import subprocess
import tempfile
import time
import unittest

SKYCTL = os.environ.get("SKYCTL", "skyctl")


class User(unittest.TestCase):
    def setUp(self):
        self.tmpdir = tempfile.TemporaryDirectory(prefix="skytest-user-")
        self.addCleanup(self.tmpdir.cleanup)
        self.store = os.path.join(self.tmpdir.name, "users.db")

    def skyctl(self, *args, input=None, env=None, store=True):
        argv = [SKYCTL, "user"] + list(args) + (["--users", self.store] if store else [])
        return subprocess.run(argv, input=input, capture_output=True, text=True, timeout=60,
                              env=env)

    def users(self):
        p = self.skyctl("list", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        return {u["name"]: u for u in json.loads(p.stdout)}

    def test_cycle(self):
        self.assertEqual(self.users(), {})  # no store yet: no users
        p = self.skyctl("add", "alice", "--password-stdin", input="pw one\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(self.store).st_mode), 0o600)
        p = self.skyctl("add", "bob", "--no-nla", "--password-stdin", input="x\r\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        u = self.users()
        self.assertEqual(sorted(u), ["alice", "bob"])
        self.assertTrue(u["alice"]["nla"])
        self.assertFalse(u["bob"]["nla"])
        self.assertLess(abs(u["alice"]["created"] - time.time()), 60)

        p = self.skyctl("add", "ALICE", "--password-stdin", input="pw\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn("exists", p.stderr)
        p = self.skyctl("passwd", "alice", "--no-nla", "--password-stdin", input="pw two\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(self.users()["alice"]["nla"])
        p = self.skyctl("passwd", "carol", "--password-stdin", input="pw\n")
        self.assertEqual(p.returncode, 1)
        p = self.skyctl("del", "bob")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.skyctl("del", "bob")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(sorted(self.users()), ["alice"])
        p = self.skyctl("list")
        self.assertRegex(p.stdout, r"(?m)^NAME\s+NLA\s+CREATED\n^alice\s+no\s+\d{4}-")

    def test_refused(self):
        for name in ("", "-x", "a b", "x' OR '1'='1", "a;b", "a" * 65, "\u00e9"):
            p = self.skyctl("add", name, "--password-stdin", input="pw\n")
            self.assertEqual(p.returncode, 64, (name, p.stderr))
        for pw, code in (("", 66), ("\n", 65), ("x" * 257 + "\n", 65)):
            p = self.skyctl("add", "eve", "--password-stdin", input=pw)
            self.assertEqual(p.returncode, code, (pw, p.stderr))
        p = subprocess.run([SKYCTL, "user", "add", "eve", "--users", self.store,
                            "--password-stdin"], input=b"a\xff\n", capture_output=True,
                           timeout=60)
        self.assertEqual(p.returncode, 65, p.stderr)
        # Not a terminal and no --password-stdin.
        p = self.skyctl("add", "eve", input="pw\npw\n")
        self.assertEqual(p.returncode, 64)
        self.assertIn("--password-stdin", p.stderr)
        for args in (["bogus"], [], ["add"], ["list", "x"], ["del", "x", "--no-nla"]):
            self.assertEqual(self.skyctl(*args).returncode, 64, args)
        self.assertEqual(self.users(), {})
        with open(self.store, "w") as f:
            f.write("not a database\n" * 100)
        p = self.skyctl("list")
        self.assertEqual(p.returncode, 66)
        self.assertIn("not a user store", p.stderr)

    def test_default_path(self):
        state = os.path.join(self.tmpdir.name, "state", "sky")
        env = dict(os.environ, SKYLIGHT_STATE_DIR=state)
        p = self.skyctl("add", "alice", "--password-stdin", input="pw\n", env=env, store=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(state).st_mode), 0o700)
        self.assertTrue(os.path.exists(os.path.join(state, "users.db")))
        env = dict(os.environ, SKYLIGHT_STATE_DIR="",
                   XDG_STATE_HOME=os.path.join(self.tmpdir.name, "xdg"))
        p = self.skyctl("add", "bob", "--password-stdin", input="pw\n", env=env, store=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.tmpdir.name, "xdg", "skylight",
                                                    "users.db")))

    def prompt(self, *answers):
        """Run user add carol on a pseudo-terminal; (exit status, what it showed)."""
        pid, fd = pty.fork()
        if pid == 0:
            os.execvp(SKYCTL, [SKYCTL, "user", "add", "carol", "--users", self.store])
        shown = b""
        deadline = time.monotonic() + 30

        def read():
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                raise OSError("timed out")
            chunk = os.read(fd, 1024)
            if not chunk:
                raise OSError("end of output")
            return chunk
        try:
            for a in answers:
                while not shown.rstrip().endswith(b":"):
                    shown += read()
                os.write(fd, a.encode() + b"\n")
                shown += b"|"
            while True:
                shown += read()
        except OSError:
            pass  # EIO: the child closed the terminal
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")

    def test_terminal(self):
        rc, shown = self.prompt("one", "two")
        self.assertEqual(rc, 1, shown)
        self.assertIn("do not match", shown)
        rc, shown = self.prompt("sekrit", "sekrit")
        self.assertEqual(rc, 0, shown)
        self.assertIn("Password for carol:", shown)
        self.assertIn("Again:", shown)
        self.assertNotIn("sekrit", shown)
        self.assertIn("carol", self.users())


if __name__ == "__main__":
    unittest.main(verbosity=2)
