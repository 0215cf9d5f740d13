#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""kvm tier: skybroker --embedded, the one-machine default, end to end without
a browser or an RDP client (tests/e2e/test_broker.py has those).

The broker makes its CA, starts skyhostd (host1 on 127.0.0.2) and requests
demo's desktop; we wait for its READY, HOST and DESKTOP lines, then use the
REST API over HTTPS (verified against the CA): the desktop runs, the .rdp
file points at the front door, stop and start go through jobs, a SIGKILLed
skyhostd makes host1 not_responding and the desktop HostNotResponding until
the broker has restarted it, SIGTERM stops everything, a second run on the
same state finds its users and desktop again, and a database from a newer
schema is refused.
"""

import json
import os
import re
import signal
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import skytest  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from rdptest import free_port, wait_for  # noqa: E402

SKYBROKER = os.environ.get("SKYBROKER", "skybroker")
SKYHOSTD = os.environ.get("SKYHOSTD", "skyhostd")
SKYRDP = os.environ.get("SKYRDP", "skyrdp")
HOST_ADDR = "127.0.0.2"


def children(ppid, comm):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if stat[stat.index("(") + 1:stat.rindex(")")] == comm and int(fields[1]) == ppid:
            out.append(int(d))
    return out


class Broker:
    """skybroker --embedded on free ports; extra: more options (test_broker_pam.py)."""

    def __init__(self, tmp, state, run, extra=()):
        self.tmp, self.state = tmp, state
        self.web, self.cluster = free_port(), free_port()
        self.rdp, self.host_api = free_port(), free_port(HOST_ADDR)
        self.logpath = os.path.join(tmp, f"skybroker-{run}.log")
        self.logf = open(self.logpath, "w")
        self.proc = subprocess.Popen(
            [SKYBROKER, "--embedded", "--state-dir", state,
             "--listen", f"127.0.0.1:{self.web}",
             "--cluster-listen", f"127.0.0.1:{self.cluster}",
             "--rdp-listen", f"127.0.0.1:{self.rdp}",
             "--host-listen", f"{HOST_ADDR}:{self.host_api}",
             "--heartbeat-interval", "1",
             "--skyhostd", SKYHOSTD, "--skyvm", skytest.SKYVM, "--skyrdp", SKYRDP,
             "--guest", skytest.GUEST] + list(extra),
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT,
            env=dict(os.environ, SKYLIGHT_SCRYPT_N="1024", SKYLIGHT_LOG="info"))
        m = wait_for("the READY line", lambda: self.line(r"^READY (.*)$"), 60)
        self.ready = dict(kv.split("=", 1) for kv in m.group(1).split())
        self.url = self.ready["url"].rstrip("/")
        self.ssl = ssl.create_default_context(cafile=self.ready["ca"])
        self.logins = dict(re.findall(r"login: (\S+) password: (\S+)", self.log()))

    def log(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def line(self, pattern):
        if self.proc.poll() is not None:
            raise AssertionError(f"skybroker exited ({self.proc.returncode}):\n"
                                 f"{self.log()[-4000:]}")
        return re.search(pattern, self.log(), re.M)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode

    def call(self, method, path, body=None, token=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        h = {"Accept": "application/json"}
        if data is not None:
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, context=self.ssl, timeout=30) as r:
                status, text, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, text, hdrs = e.code, e.read(), e.headers
        ctype = hdrs.get("Content-Type", "")
        obj = json.loads(text) if text and ctype.startswith("application/json") else text
        return status, obj, hdrs

    def login(self, name):
        s, obj, _ = self.call("POST", "/api/v1/login",
                              {"name": name, "password": self.logins[name]})
        assert s == 200, (s, obj)
        return obj["token"]

    def ok(self, method, path, token, body=None):
        s, obj, _ = self.call(method, path, body, token)
        assert 200 <= s < 300, (method, path, s, obj)
        return obj

    def state_of(self, token, name="demo-desktop"):
        return self.ok("GET", f"/api/v1/desktops/{name}", token)["state"]

    def host(self, token, name="host1"):
        for h in self.ok("GET", "/api/v1/hosts", token):
            if h["name"] == name:
                return h
        return None


class EmbeddedTest(unittest.TestCase):
    def setUp(self):
        self.tmpdir = tempfile.TemporaryDirectory(prefix="skytest-broker-")
        self.tmp = self.tmpdir.name
        self.state = os.path.join(self.tmp, "state")
        self.b = None

    def tearDown(self):
        if self.b:
            self.b.stop()
            if self._outcome.result.failures or self._outcome.result.errors:
                sys.stderr.write(self.b.log()[-6000:])
        self.tmpdir.cleanup()

    def wait_job(self, token, job):
        return wait_for(f"job {job['id']} to end", lambda: (lambda j: j if j["state"] in (
            "succeeded", "failed") else None)(self.b.ok("GET", f"/api/v1/jobs/{job['id']}",
                                                        token)), 120)

    def test_embedded(self):
        b = self.b = Broker(self.tmp, self.state, 1)
        self.assertEqual(set(b.logins), {"demo", "admin"})
        self.assertEqual(b.ready["rdp"], f"127.0.0.1:{b.rdp}")
        self.assertEqual(os.stat(os.path.join(self.state, "broker.db")).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.join(self.state, "logins")).st_mode & 0o777, 0o600)
        wait_for("the HOST line", lambda: b.line(r"^HOST name=host1 "), 60)
        m = wait_for("the DESKTOP line", lambda: b.line(r"^DESKTOP (.*)$"), 180)
        self.assertIn("state=Running", m.group(1), b.log()[-3000:])

        demo = b.login("demo")
        admin = b.login("admin")
        d = b.ok("GET", "/api/v1/desktops/demo-desktop", demo)
        self.assertEqual((d["state"], d["host"], d["owner"], d["pool"]),
                         ("Running", "host1", "demo", "demo"))
        self.assertEqual(d["cost_per_day"], 0.625)
        # The .rdp file points at the front door and names the user.
        s, text, hdrs = b.call("GET", "/api/v1/desktops/demo-desktop/rdp", token=demo)
        self.assertEqual(s, 200)
        self.assertEqual(hdrs["Content-Type"], "application/x-rdp")
        self.assertIn(f"full address:s:127.0.0.1:{b.rdp}", text.decode())
        self.assertIn("username:s:demo", text.decode())
        # The login page, with its security headers.
        s, text, hdrs = b.call("GET", "/")
        self.assertEqual(s, 200)
        self.assertIn("default-src 'self'", hdrs["Content-Security-Policy"])
        self.assertEqual(hdrs["X-Frame-Options"], "DENY")
        # Hosts are the admin's.
        self.assertEqual(b.call("GET", "/api/v1/hosts", token=demo)[0], 403)
        self.assertEqual(b.host(admin)["health"], "ok")

        # Stop and start go through jobs and the host.
        job = b.ok("POST", "/api/v1/desktops/demo-desktop/stop", demo)
        self.assertEqual(self.wait_job(demo, job)["state"], "succeeded")
        self.assertEqual(b.state_of(demo), "Off")
        job = b.ok("POST", "/api/v1/desktops/demo-desktop/start", demo)
        self.assertEqual(self.wait_job(demo, job)["state"], "succeeded")
        self.assertEqual(b.state_of(demo), "Running")

        # A desktop of one's own, and one no host can take.
        r = b.ok("POST", "/api/v1/desktops", demo, {"pool": "demo", "name": "second",
                                                    "memory_mb": 128, "cpus": 1})
        self.assertEqual(self.wait_job(demo, r["job"])["state"], "succeeded")
        self.assertEqual(b.state_of(demo, "second"), "Running")
        s, obj, _ = b.call("POST", "/api/v1/desktops", {"pool": "demo", "name": "huge",
                                                        "memory_mb": 1 << 20}, admin)
        self.assertEqual(s, 503, obj)
        job = b.ok("DELETE", "/api/v1/desktops/second", demo)
        self.assertEqual(self.wait_job(demo, job)["state"], "succeeded")
        self.assertEqual(b.call("GET", "/api/v1/desktops/second", token=demo)[0], 404)

        # skyhostd dies: host1 not responding within 3 intervals (+ the
        # monitor's second), its desktop too; the broker restarts it.
        pids = children(b.proc.pid, "skyhostd")
        self.assertEqual(len(pids), 1)
        os.kill(pids[0], signal.SIGKILL)
        wait_for("host1 not_responding",
                 lambda: b.host(admin)["health"] == "not_responding", 15, 0.25)
        self.assertEqual(b.state_of(demo), "HostNotResponding")
        wait_for("host1 back", lambda: b.host(admin)["health"] == "ok", 60)
        wait_for("the desktop running again", lambda: b.state_of(demo) == "Running", 120)
        self.assertRegex(b.log(), r"skyhostd \(pid \d+\) died of signal 9")

        # SIGTERM: skyhostd and its desktop stop, then the broker.
        hostd = children(b.proc.pid, "skyhostd")
        self.assertEqual(b.stop(), 0)
        for pid in hostd:
            self.assertFalse(os.path.exists(f"/proc/{pid}/stat") and
                             open(f"/proc/{pid}/stat").read().split()[2] != "Z")

        # Again on the same state: the same logins, the desktop back.
        logins = b.logins
        b = self.b = Broker(self.tmp, self.state, 2)
        self.assertEqual(b.logins, logins)
        demo = b.login("demo")
        wait_for("the desktop running after the restart",
                 lambda: b.state_of(demo) == "Running", 180)

    def test_newer_database_refused(self):
        os.makedirs(self.state)
        db = sqlite3.connect(os.path.join(self.state, "broker.db"))
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (99)")
        db.commit()
        db.close()
        p = subprocess.run([SKYBROKER, "--embedded", "--state-dir", self.state,
                            "--listen", "127.0.0.1:0", "--cluster-listen", "127.0.0.1:0",
                            "--rdp-listen", "none", "--skyhostd", SKYHOSTD],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 65, p.stderr)  # EX_DATAERR
        self.assertRegex(p.stderr, r"schema version 99, newer than this skybroker")


if __name__ == "__main__":
    skytest.require_kvm()
    for var, path in (("SKYBROKER", SKYBROKER), ("SKYHOSTD", SKYHOSTD), ("SKYRDP", SKYRDP),
                      ("SKYGUEST", skytest.GUEST), ("SKYVM", skytest.SKYVM)):
        if not os.path.exists(path):
            print(f"SKIP: {var}={path} does not exist (run from meson test)")
            sys.exit(skytest.SKIP)
    unittest.main()
