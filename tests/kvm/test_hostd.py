#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""kvm tier: skyhostd, the host agent, with the test guest's desktop.

A cluster CA and certificates come from tests/unit/cluster/pki-tool (the
same cluster/pki.c as skyctl's); a fake broker (python's HTTPS server,
client certificates required) records the heartbeats.  Over the host API,
as the broker: templates, create a VM, start it, see it running with its
display socket, SIGKILL its skyvm (crashed, restarted), stop skyhostd with
SIGTERM and start it again (the VM comes back), stop the VM (guest
shutdown), tokens, delete; skyrdp listens and is restarted when it dies.
Other clients are refused.
"""

import http.client
import http.server
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import skytest  # noqa: E402

SKYHOSTD = os.environ.get("SKYHOSTD", "skyhostd")
PKI_TOOL = os.environ.get("PKI_TOOL", "pki-tool")
SKYRDP = os.environ.get("SKYRDP", "skyrdp")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(ppid, comm):
    """Pids of ppid's children named comm."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if name == comm and int(fields[1]) == ppid:
            out.append(int(d))
    return out


def tcp_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class FakeBroker(http.server.ThreadingHTTPServer):
    """The broker's cluster API: records heartbeats and their client CN."""

    def __init__(self, ctx):
        super().__init__(("127.0.0.1", 0), BrokerHandler)
        self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.beats = []
        self.lock = threading.Lock()

    def last(self):
        with self.lock:
            return self.beats[-1] if self.beats else None


class BrokerHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if self.path != "/cluster/v1/heartbeat":
            self.send_error(404)
            return
        cert = self.connection.getpeercert()
        cn = dict(x[0] for x in cert["subject"]).get("commonName")
        with self.server.lock:
            self.server.beats.append((cn, json.loads(body), time.monotonic()))
        reply = json.dumps({"interval_s": 1}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


class HostAgent(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="skytest-hostd-")
        d = self.tmp.name
        self.p = lambda *a: os.path.join(d, *a)
        pki = self.p("ca")
        subprocess.run([PKI_TOOL, "ca", pki, "test"], check=True)
        for cn, sans in (("host1", ["127.0.0.1"]), ("broker", ["127.0.0.1"]),
                         ("mallory", [])):
            subprocess.run([PKI_TOOL, "issue", pki, cn, self.p(cn + ".crt"),
                            self.p(cn + ".key")] + sans, check=True)
        self.ca = self.p("ca", "ca.crt")

        bctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        bctx.load_cert_chain(self.p("broker.crt"), self.p("broker.key"))
        bctx.load_verify_locations(self.ca)
        bctx.verify_mode = ssl.CERT_REQUIRED
        self.broker = FakeBroker(bctx)
        threading.Thread(target=self.broker.serve_forever, daemon=True).start()

        os.mkdir(self.p("templates"))
        with open(self.p("templates", "desk.json"), "w") as f:
            json.dump({"name": "desk", "description": "the test guest's desktop",
                       "kernel": skytest.GUEST, "cmdline": "desktop", "memory_mb": 128,
                       "cpus": 1, "resolution": "1024x768"}, f)
        with open(self.p("templates", "broken.json"), "w") as f:
            f.write('{"name": "broken", "kernel": 5}')
        self.rdp_port = free_port()
        self.run_dir = self.p("run")
        self.state = self.p("state")
        self.log = open(self.p("skyhostd.log"), "w+")
        self.hostd = None
        self.start_hostd()

    def tearDown(self):
        if self.hostd and self.hostd.poll() is None:
            self.hostd.kill()
            self.hostd.wait(timeout=30)
        self.broker.shutdown()
        self.broker.server_close()
        if os.environ.get("HOSTD_TEST_SHOW_LOG"):  # for debugging: skyhostd's whole log
            print(self.hostd_log())
        self.log.close()
        self.tmp.cleanup()

    def hostd_log(self):
        self.log.flush()
        with open(self.p("skyhostd.log"), errors="replace") as f:
            return f.read()

    def start_hostd(self):
        port = self.broker.server_address[1]
        self.beats_before = len(self.broker.beats)
        self.hostd = subprocess.Popen(
            [SKYHOSTD, "--name", "host1", "--listen", "127.0.0.1:0",
             "--broker", f"https://127.0.0.1:{port}/", "--ca", self.ca,
             "--cert", self.p("host1.crt"), "--key", self.p("host1.key"),
             "--state-dir", self.state, "--run-dir", self.run_dir,
             "--templates", self.p("templates"), "--skyvm", skytest.SKYVM,
             "--rdp-listen", f"127.0.0.1:{self.rdp_port}", "--skyrdp", SKYRDP,
             "--heartbeat", "1", "--stop-timeout", "20", "--mem-total", "4096"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        # The first heartbeat says where the API is.
        beat = self.wait(lambda: len(self.broker.beats) > self.beats_before
                         and self.broker.last(), 20, "no heartbeat")
        cn, report, _ = beat
        self.assertEqual(cn, "host1")
        self.assertEqual(report["name"], "host1")
        self.assertTrue(report["api_url"].startswith("https://127.0.0.1:"), report)
        self.api_port = int(report["api_url"].rsplit(":", 1)[1])
        self.assertEqual(report["rdp_address"], f"127.0.0.1:{self.rdp_port}")
        return report

    def wait(self, cond, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = cond()
            if v:
                return v
            if self.hostd.poll() is not None:
                break
            time.sleep(0.1)
        self.fail(f"{what}; skyhostd log:\n{self.hostd_log()[-4000:]}")

    def call(self, method, path, body=None, who="broker", raw=None):
        ctx = ssl.create_default_context(cafile=self.ca)
        if who:
            ctx.load_cert_chain(self.p(who + ".crt"), self.p(who + ".key"))
        conn = http.client.HTTPSConnection("127.0.0.1", self.api_port, context=ctx, timeout=30)
        headers = {}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read()
        conn.close()
        try:
            return resp.status, json.loads(text) if text else None
        except ValueError:
            return resp.status, text

    def vm_state(self, name="vm1"):
        status, vm = self.call("GET", f"/v1/vms/{name}")
        self.assertEqual(status, 200, vm)
        return vm

    def wait_state(self, state, timeout=60, **want):
        def ok():
            vm = self.vm_state()
            return vm if vm["state"] == state and all(vm[k] == v for k, v in want.items()) \
                else None
        return self.wait(ok, timeout, f"vm1 never {state} {want} (last {self.vm_state()})")

    def test_host_agent(self):
        # Only the broker's certificate gets in.
        self.assertEqual(self.call("GET", "/v1/host", who="mallory")[0], 403)
        self.assertEqual(self.call("GET", "/v1/host", who="host1")[0], 403)
        self.assertEqual(self.call("GET", "/v1/host", who=None)[0], 403)

        status, templates = self.call("GET", "/v1/templates")
        self.assertEqual(status, 200)
        self.assertEqual([t["name"] for t in templates], ["desk"])  # broken.json skipped
        self.assertEqual(templates[0]["memory_mb"], 128)

        # Create: off; twice is a conflict; bad bodies name their field.
        status, vm = self.call("PUT", "/v1/vms/vm1", {"template": "desk", "memory_mb": 128})
        self.assertEqual(status, 201, vm)
        self.assertEqual((vm["state"], vm["pid"], vm["cpus"]), ("off", None, 1))
        self.assertEqual(self.call("PUT", "/v1/vms/vm1", {"template": "desk"})[0], 409)
        status, err = self.call("PUT", "/v1/vms/vm2", {"template": "desk", "cpus": "2"})
        self.assertEqual(status, 400)
        self.assertIn("cpus", err["error"])
        status, err = self.call("PUT", "/v1/vms/vm2", {"template": "nope"})
        self.assertEqual(status, 400)
        self.assertEqual(self.call("PUT", "/v1/vms/vm2", raw=b"{")[0], 400)
        self.assertEqual(self.call("GET", "/v1/vms/vm2")[0], 404)
        self.assertEqual(self.call("GET", "/v1/vms/-x")[0], 404)
        with open(os.path.join(self.state, "vms", "vm1.json")) as f:
            self.assertEqual(json.load(f)["desired"], "off")

        # Start: starting, then running once skyvm's control socket answers.
        status, vm = self.call("POST", "/v1/vms/vm1/start")
        self.assertEqual(status, 202, vm)
        vm = self.wait_state("running")
        first_pid = vm["pid"]
        self.assertTrue(os.path.exists(os.path.join(self.run_dir, "vm1.display")))
        self.assertEqual(vm["restarts"], 0)
        beat = self.wait(lambda: (b := self.broker.last()) and b[1]["vms"]
                         and b[1]["vms"][0]["state"] == "running" and b, 10,
                         "no heartbeat with vm1 running")
        self.assertEqual(beat[1]["mem_free_mb"], 4096 - 128)
        self.assertEqual(beat[1]["mem_total_mb"], 4096)

        # Logon tokens for skyrdp go to the store; unknown VMs are refused.
        token = {"user": "alice", "vm": "vm1", "token": "T0ken-for-the-test-0123456789",
                 "expires": int(time.time()) + 60}
        self.assertEqual(self.call("POST", "/v1/tokens", token)[0], 204)
        self.assertTrue(os.listdir(os.path.join(self.state, "tokens")))
        self.assertEqual(self.call("POST", "/v1/tokens", dict(token, vm="vm9"))[0], 404)
        self.assertEqual(self.call("POST", "/v1/tokens", dict(token, expires=5))[0], 400)

        # A crash: restarted after its back-off, counted.
        os.kill(first_pid, signal.SIGKILL)
        vm = self.wait_state("running", restarts=1)
        self.assertNotEqual(vm["pid"], first_pid)
        self.assertEqual(vm["last_exit"], "killed by signal 9")
        self.assertIn("crashed", self.hostd_log())

        # skyrdp listens, and comes back when it dies.
        self.wait(lambda: tcp_open(self.rdp_port), 20, "skyrdp never listened")
        rdp = children(self.hostd.pid, "skyrdp")
        self.assertEqual(len(rdp), 1)
        os.kill(rdp[0], signal.SIGKILL)
        self.wait(lambda: (c := children(self.hostd.pid, "skyrdp")) and c != rdp, 20,
                  "skyrdp was not restarted")
        self.wait(lambda: tcp_open(self.rdp_port), 20, "the new skyrdp never listened")
        self.assertIn("skyrdp: killed by signal 9; restarting it", self.hostd_log())
        rdp = children(self.hostd.pid, "skyrdp")

        # SIGTERM stops the VM, skyrdp and skyhostd; the next skyhostd starts
        # the VM again.
        pid = vm["pid"]
        self.hostd.send_signal(signal.SIGTERM)
        self.assertEqual(self.hostd.wait(timeout=60), 0, self.hostd_log()[-3000:])
        for gone in [pid] + rdp:
            with self.assertRaises(ProcessLookupError):
                os.kill(gone, 0)
        self.start_hostd()
        vm = self.wait_state("running")
        self.assertNotEqual(vm["pid"], pid)

        # Stop: a guest shutdown once the guest has its shutdown service
        # (before that, skyhostd stops the VM outright); off, exit status 0,
        # and it stays off.
        ctl = skytest.Control(os.path.join(self.run_dir, "vm1.sock"))
        try:
            self.wait(lambda: ctl.call("ic")["result"]["shutdown"]["negotiated"], 30,
                      "the guest never opened its shutdown service")
        finally:
            ctl.close()
        status, vm = self.call("POST", "/v1/vms/vm1/stop")
        self.assertEqual(status, 202)
        self.assertIn(vm["state"], ("stopping", "off"))
        vm = self.wait_state("off", timeout=40)
        self.assertEqual(vm["last_exit"], "exit status 0")
        self.assertIn("guest asked to shut down", self.hostd_log())
        with open(os.path.join(self.state, "vms", "vm1.json")) as f:
            self.assertEqual(json.load(f)["desired"], "off")

        # Start again (twice is fine), restart: a new skyvm.
        self.assertEqual(self.call("POST", "/v1/vms/vm1/start")[0], 202)
        self.assertEqual(self.call("POST", "/v1/vms/vm1/start")[0], 202)
        pid = self.wait_state("running")["pid"]
        self.assertEqual(self.call("POST", "/v1/vms/vm1/restart")[0], 202)
        vm = self.wait(lambda: (v := self.vm_state())["state"] == "running"
                       and v["pid"] != pid and v, 60, "vm1 did not restart")
        self.assertEqual(len(children(self.hostd.pid, "skyvm")), 1)

        # Wrong methods and media types.
        self.assertEqual(self.call("PATCH", "/v1/vms/vm1", {})[0], 405)
        self.assertEqual(self.call("GET", "/v1/vms/vm1/start")[0], 405)
        conn_status = self.call("PUT", "/v1/vms/vm3", raw=None)[0]
        self.assertEqual(conn_status, 415)
        self.assertEqual(self.call("GET", "/v1/nothing")[0], 404)

        # Delete while running: stopped and gone, record and all.
        self.assertEqual(self.call("DELETE", "/v1/vms/vm1")[0], 204)
        self.assertFalse(os.path.exists(os.path.join(self.state, "vms", "vm1.json")))
        self.wait(lambda: self.call("GET", "/v1/vms/vm1")[0] == 404, 40, "vm1 not deleted")
        with self.assertRaises(ProcessLookupError):
            os.kill(vm["pid"], 0)
        self.assertFalse(os.path.exists(os.path.join(self.run_dir, "vm1.sock")))
        self.assertEqual(self.call("POST", "/v1/vms/vm1/start")[0], 404)

        self.hostd.send_signal(signal.SIGTERM)
        self.assertEqual(self.hostd.wait(timeout=30), 0)


if __name__ == "__main__":
    skytest.require_kvm()
    for var, path in (("SKYHOSTD", SKYHOSTD), ("PKI_TOOL", PKI_TOOL), ("SKYRDP", SKYRDP),
                      ("SKYGUEST", skytest.GUEST)):
        if not os.path.exists(path):
            print(f"SKIP: {var}={path} does not exist (run from meson test)")
            sys.exit(skytest.SKIP)
    unittest.main()
