#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""skyctl against the embedded broker: login, users, pools, hosts, desktops
(request with a progress bar, stop, start, the .rdp file), jobs, --json, and
cluster init/issue; errors give the broker's message and a non-zero exit.
Skips (77) without a usable /dev/kvm."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import brokertest as tb  # noqa: E402
import rdptest  # noqa: E402

SKYCTL = os.environ["SKYCTL"]


class SkyctlBroker(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = rdptest.skytest.kvm_unusable()
        if why:
            print(f"SKIP: needs a usable /dev/kvm ({why})")
            sys.exit(77)
        cls.tmp = rdptest.temp_dir()
        cls.broker = tb.Broker(cls.tmp)
        cls.env = dict(os.environ, SKYLIGHT_BROKER=cls.broker.url, SKYLIGHT_CA=cls.broker.ca,
                       XDG_CONFIG_HOME=os.path.join(cls.tmp, "config"))
        cls.env.pop("SKYLIGHT_USER", None)
        cls.env.pop("SKYLIGHT_PASSWORD", None)

    @classmethod
    def tearDownClass(cls):
        rdptest.kill_all()
        rdptest.remove_dir(cls.tmp)

    def skyctl(self, *args, ok=True, stdin=None, env=None):
        p = subprocess.run([SKYCTL] + list(args), capture_output=True, text=True, timeout=300,
                           input=stdin, env=env or self.env)
        if ok and p.returncode:
            self.fail(f"skyctl {' '.join(args)} exited {p.returncode}: {p.stderr}")
        return p

    def login(self, user="admin"):
        self.skyctl("login", "--user", user, "--password-stdin",
                    stdin=self.broker.logins[user] + "\n")

    def test_1_not_logged_in(self):
        p = self.skyctl("desktops", "list", ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("skyctl login", p.stderr)

    def test_2_wrong_password(self):
        p = self.skyctl("login", "--user", "admin", "--password-stdin", ok=False,
                        stdin="not-it\n")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("HTTP 401", p.stderr)

    def test_3_admin_flow(self):
        self.login()
        p = self.skyctl("hosts", "list")
        self.assertRegex(p.stdout, r"host1 +ok")
        hosts = json.loads(self.skyctl("hosts", "list", "--json").stdout)
        self.assertEqual([h["name"] for h in hosts], ["host1"])

        self.skyctl("pools", "add", "office", "--template", "desktop", "--memory", "128",
                    "--cpus", "1", "--max", "3", "--cost-gb", "1.5", "--cost-cpu", "0.5",
                    "--description", "Office <desks> & 'more'")
        pools = {p["name"]: p for p in json.loads(self.skyctl("pools", "list", "--json").stdout)}
        self.assertEqual(pools["office"]["description"], "Office <desks> & 'more'")
        self.assertEqual(pools["office"]["max_per_user"], 0)
        # A quota per user, set and lifted (0 is a value).
        for quota in (2, 0):
            self.skyctl("pools", "set", "office", "--max-per-user", str(quota))
            pools = {p["name"]: p
                     for p in json.loads(self.skyctl("pools", "list", "--json").stdout)}
            self.assertEqual(pools["office"]["max_per_user"], quota)
        self.assertRegex(self.skyctl("pools", "list").stdout, r"PER-USER")
        self.assertAlmostEqual(pools["office"]["cost_per_day"], 128 / 1024 * 1.5 + 0.5)
        p = self.skyctl("pools", "add", "office", "--template", "desktop", "--memory", "128",
                        "--cpus", "1", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("HTTP 409", p.stderr)
        p = self.skyctl("pools", "add", "bad name", "--template", "desktop", ok=False)
        self.assertIn("HTTP 400", p.stderr)

        self.skyctl("users", "add", "erin", "--role", "user", "--email", "erin@example.org",
                    "--password-stdin", stdin="erin-password-1\n")
        users = json.loads(self.skyctl("users", "list", "--json").stdout)
        self.assertIn("erin", [u["name"] for u in users])

        # A request follows its job to the end; without a terminal the
        # progress comes as lines on stderr.
        p = self.skyctl("desktops", "request", "erin-1", "--pool", "office",
                        "--description", "erin's", "--timeout", "240")
        self.assertRegex(p.stderr, r"provision job \d+ \[#+\] 100% succeeded")
        desks = {d["name"]: d for d in json.loads(self.skyctl("desktops", "list", "--all",
                                                              "--json").stdout)}
        self.assertEqual(desks["erin-1"]["state"], "Running")
        self.skyctl("desktops", "stop", "erin-1", "--timeout", "120")
        self.assertEqual(json.loads(self.skyctl("desktops", "show", "erin-1", "--json")
                                    .stdout)["state"], "Off")
        self.skyctl("desktops", "start", "erin-1", "--timeout", "120")
        jobs = json.loads(self.skyctl("jobs", "list", "--json").stdout)
        kinds = [j["kind"] for j in jobs if j["desktop"] == "erin-1"]
        self.assertEqual(sorted(kinds), ["provision", "start", "stop"])
        self.assertTrue(all(j["state"] == "succeeded" for j in jobs if j["desktop"] == "erin-1"))
        p = self.skyctl("jobs", "list")
        self.assertRegex(p.stdout, r"ID +KIND +DESKTOP")
        p = self.skyctl("desktops", "delete", "erin-1", "--no-wait")
        self.assertRegex(p.stdout, r"job \d+")

        self.skyctl("hosts", "maintenance", "host1", "on")
        self.assertTrue(json.loads(self.skyctl("hosts", "list", "--json").stdout)[0]
                        ["maintenance"])
        p = self.skyctl("desktops", "request", "erin-2", "--pool", "office", ok=False)
        self.assertIn("HTTP 503", p.stderr)
        self.skyctl("hosts", "maintenance", "host1", "off")

    def test_4_user_rdp_file(self):
        self.login("demo")
        p = self.skyctl("desktops", "rdp", "demo-desktop", "-o", "-")
        self.assertIn("username:s:demo", p.stdout)
        p = self.skyctl("users", "list", ok=False)
        self.assertIn("HTTP 403", p.stderr)
        self.skyctl("logout")
        p = self.skyctl("desktops", "list", ok=False)
        self.assertNotEqual(p.returncode, 0)

    def test_5_cluster(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        pki = os.path.join(d, "pki")
        self.skyctl("cluster", "init", "--dir", pki, "--name", "test")
        p = self.skyctl("cluster", "init", "--dir", pki, ok=False)
        self.assertEqual(p.returncode, 1)
        self.skyctl("cluster", "issue", "host9", "--dir", pki, "--san", "127.0.0.9",
                    "--san", "host9.example.org")
        v = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(pki, "ca.crt"),
                            os.path.join(pki, "host9.crt")], capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stderr)
        self.assertEqual(os.stat(os.path.join(pki, "host9.key")).st_mode & 0o777, 0o600)


if __name__ == "__main__":
    unittest.main()
