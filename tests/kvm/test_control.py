#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""kvm tier: skyvm's control socket against a running test guest."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import skytest  # noqa: E402


class VMCase(unittest.TestCase):
    """A skyvm with a control socket, started per test (no tests of its own)."""

    cmdline = "fill=4 noexit"

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="skytest-")
        self.sock = os.path.join(self.tmp.name, "control.sock")
        self.serial = os.path.join(self.tmp.name, "serial.log")
        self.vm = self.spawn(self.sock, self.serial)
        self.ctl = skytest.Control(self.sock)

    def spawn(self, sock, serial, cpus="1", cmdline=None, extra=()):
        return subprocess.Popen(
            [skytest.SKYVM, "--kernel", skytest.GUEST, "--mem", "128M", "--cpus", cpus,
             "--cmdline", cmdline or self.cmdline, "--serial", "file:" + serial,
             "--control", sock, "--name", "ctl-test"] + list(extra),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def tearDown(self):
        self.ctl.close()
        if self.vm.poll() is None:
            self.vm.kill()
        self.vm.communicate(timeout=30)
        self.tmp.cleanup()

    def wait_serial(self, text, path=None, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(path or self.serial, errors="replace") as f:
                if text in f.read():
                    return
            time.sleep(0.05)
        self.fail(f"{text!r} never appeared on the serial port")



class ControlSocket(VMCase):
    def test_status_pause_resume_stop(self):
        st = self.ctl.call("status", id=1)
        self.assertTrue(st["ok"], st)
        self.assertEqual(st["id"], 1)
        self.assertEqual(st["result"]["name"], "ctl-test")
        self.assertEqual(st["result"]["state"], "running")
        self.assertEqual(st["result"]["vcpus"], 1)
        self.assertEqual(st["result"]["memory_bytes"], 128 << 20)

        r = self.ctl.call("pause", id="p")
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["id"], "p")
        self.assertEqual(r["result"]["state"], "paused")
        r = self.ctl.call("pause")
        self.assertFalse(r["ok"])
        self.assertIn("already paused", r["error"])
        r = self.ctl.call("resume")
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["result"]["state"], "running")

        self.wait_serial("checksum:")
        r = self.ctl.call("stop", id=9)
        self.assertTrue(r["ok"], r)
        self.assertEqual(self.vm.wait(timeout=30), 0)

    def test_console_receives_a_socket(self):
        r = self.ctl.call("console")
        self.assertTrue(r["ok"], r)
        self.assertEqual(len(self.ctl.fds), 1)
        con = socket.socket(fileno=os.dup(self.ctl.fds[0]))
        st = os.fstat(con.fileno())
        import stat
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        con.close()

    def test_sigterm_stops_cleanly(self):
        self.assertEqual(self.ctl.call("status")["result"]["state"], "running")
        self.vm.terminate()
        self.assertEqual(self.vm.wait(timeout=30), 0)
        self.assertFalse(os.path.exists(self.sock))

    def test_garbage_and_oversized_lines(self):
        bad = [b"not json\n", b"[1,2,3]\n", b"{\"cmd\": 5}\n", b"{\"cmd\":\"reboot\",\"id\":4}\n",
               b"\x00\xff\xfe\n", b"{\"id\": [1]}\n", b"{" * 100 + b"\n"]
        for line in bad:
            self.ctl.send_raw(line)
            r = self.ctl.recv_line()
            self.assertFalse(r["ok"], line)
            self.assertTrue(r["error"], line)
        # The id survives into an error reply when it is usable.
        self.ctl.send_raw(b"{\"cmd\":\"reboot\",\"id\":4}\n")
        r = self.ctl.recv_line()
        self.assertEqual(r.get("id"), 4)
        self.assertIn("unknown command", r["error"])
        # 1 MiB without a newline, then a newline: one error, then normal service.
        self.ctl.send_raw(b"x" * (1 << 20) + b"\n")
        r = self.ctl.recv_line()
        self.assertFalse(r["ok"])
        self.assertIn("too long", r["error"])
        st = self.ctl.call("status")
        self.assertTrue(st["ok"])
        self.assertEqual(st["result"]["state"], "running")
        self.assertIsNone(self.vm.poll())

    def test_many_clients_and_abrupt_disconnects(self):
        socks = []
        for _ in range(40):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.sock)
            try:
                s.sendall(b"{\"cmd\":\"sta")  # a half line, then vanish
            except (BrokenPipeError, ConnectionResetError):
                pass  # past the 16-client limit skyvm answers and hangs up
            socks.append(s)
        # Clients past the limit are told why before skyvm hangs up.
        s = socks[-1]
        s.settimeout(10)
        try:
            refusal = s.recv(4096)
        except ConnectionResetError:
            refusal = b""
        if refusal:
            self.assertIn(b"too many control clients", refusal)
        for s in socks:
            s.close()
        st = self.ctl.call("status")
        self.assertTrue(st["ok"])
        self.assertIsNone(self.vm.poll())

    def test_second_vm_unaffected(self):
        sock2 = os.path.join(self.tmp.name, "vm2.sock")
        serial2 = os.path.join(self.tmp.name, "vm2.log")
        vm2 = self.spawn(sock2, serial2, cpus="2")
        try:
            ctl2 = skytest.Control(sock2)
            self.ctl.send_raw(b"garbage\n" * 100)
            self.ctl.call("stop")
            self.assertEqual(self.vm.wait(timeout=30), 0)
            st = ctl2.call("status")
            self.assertEqual(st["result"]["state"], "running")
            self.wait_serial("checksum:", path=serial2)
            ctl2.call("stop")
            self.assertEqual(vm2.wait(timeout=30), 0)
            ctl2.close()
        finally:
            if vm2.poll() is None:
                vm2.kill()
            vm2.communicate(timeout=30)


class Console(VMCase):
    cmdline = "fill=4 echo"

    def read_until(self, con, text, timeout=60):
        buf = b""
        con.settimeout(timeout)
        while text.encode() not in buf:
            chunk = con.recv(4096)
            if not chunk:
                self.fail(f"console closed before {text!r}; got {buf!r}")
            buf += chunk
        return buf

    def test_console_round_trip(self):
        r = self.ctl.call("console")
        self.assertTrue(r["ok"], r)
        con = socket.socket(fileno=os.dup(self.ctl.fds[-1]))
        self.wait_serial("echo: ready")
        con.sendall(b"over the console\n")
        self.read_until(con, "echo: over the console")
        con.sendall(b"poweroff\n")
        self.assertEqual(self.vm.wait(timeout=60), 0)
        con.close()


class Reboot(VMCase):
    cmdline = "fill=4 reboot"

    def test_reset_reboots_in_place(self):
        deadline = time.monotonic() + 60
        boots = 0
        while time.monotonic() < deadline and boots < 3:
            st = self.ctl.call("status")
            self.assertTrue(st["ok"], st)
            boots = st["result"]["boots"]
            time.sleep(0.05)
        self.assertGreaterEqual(boots, 3)
        # The same process and control socket serve every boot.
        self.ctl.call("stop")
        self.assertEqual(self.vm.wait(timeout=30), 0)


if __name__ == "__main__":
    skytest.require_kvm()
    unittest.main(verbosity=2)
