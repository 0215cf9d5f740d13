#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""kvm tier: the VMBus host and the integration services against the test
guest's VMBus client (tests/guest/kernel/vmbus*.c), and its hostile mode."""

import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import skytest  # noqa: E402

SKYCTL = os.environ.get("SKYCTL", "skyctl")
IC_NAMES = ("heartbeat", "shutdown", "timesync", "kvp")


class VM:
    """One skyvm with a control socket and its serial output in a file."""

    def __init__(self, tmp, name, cmdline, cpus="1"):
        self.sock = os.path.join(tmp, name + ".sock")
        self.serial = os.path.join(tmp, name + ".serial")
        self.name = name
        self.proc = subprocess.Popen(
            [skytest.SKYVM, "--kernel", skytest.GUEST, "--mem", "128M", "--cpus", cpus,
             "--cmdline", cmdline, "--serial", "file:" + self.serial, "--control", self.sock,
             "--name", name],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.ctl = skytest.Control(self.sock)

    def output(self):
        with open(self.serial, errors="replace") as f:
            return f.read()

    def wait_serial(self, text, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.output()
            if text in out:
                return out
            if "FAIL" in out or self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: {text!r} never appeared; serial:\n{self.output()}")

    def call(self, cmd, **kw):
        r = self.ctl.call(cmd, **kw)
        if not r.get("ok"):
            raise AssertionError(f"{self.name}: {cmd} failed: {r}")
        return r["result"]

    def skyctl(self, *args):
        return subprocess.run([SKYCTL, "-s", self.sock] + list(args), capture_output=True,
                              text=True, timeout=30)

    def finish(self, timeout=30):
        self.ctl.close()
        if self.proc.poll() is None:
            self.proc.kill()
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err


def wait_for(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class VMBusTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="skytest-vmbus-")
        self.vms = []

    def tearDown(self):
        for vm in self.vms:
            vm.finish()
        self.tmp.cleanup()

    def start(self, name, cmdline, cpus="1"):
        vm = VM(self.tmp.name, name, cmdline, cpus)
        self.vms.append(vm)
        return vm

    def test_handshake_heartbeat_kvp_shutdown(self):
        vm = self.start("guest", "vmbus")
        vm.wait_serial("vmbus: ready")
        bus = vm.call("vmbus")
        self.assertEqual(bus["version"], "5.2")
        self.assertEqual(bus["state"], "offered")
        self.assertEqual(bus["guest_errors"], 0)
        opened = {c["device"] for c in bus["channels"] if c["open"]}
        self.assertTrue({"heartbeat", "shutdown", "timesync", "kvp"} <= opened, bus)

        # The heartbeat sequence advances (one request a second).
        first = wait_for(lambda: vm.call("ic")["heartbeat"]["sequence"], 30, "a heartbeat")
        wait_for(lambda: vm.call("ic")["heartbeat"]["sequence"] > first, 30,
                 "the heartbeat sequence to advance")
        ic = vm.call("ic")
        for name in IC_NAMES:
            self.assertTrue(ic[name]["negotiated"], (name, ic))
            self.assertEqual(ic[name]["errors"], 0, (name, ic))
        self.assertGreaterEqual(ic["timesync"]["samples"], 1)

        # KVP: what the guest reports as its intrinsic items.
        kvp = wait_for(lambda: vm.call("ic")["kvp_pairs"].get("auto", {})
                       .get("FullyQualifiedDomainName"), 60, "KVP pairs")
        self.assertEqual(kvp, "skylight-test-guest")
        pairs = vm.call("ic")["kvp_pairs"]["auto"]
        self.assertEqual(pairs.get("NetworkAddressIPv4"), "192.0.2.10")

        # skyctl shows the same.
        r = vm.skyctl("kvp")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("auto\tFullyQualifiedDomainName\tskylight-test-guest", r.stdout)
        r = vm.skyctl("ic")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"heartbeat\s+true")

        # Graceful shutdown: the guest answers, powers off, skyvm exits 0.
        t0 = time.monotonic()
        r = vm.skyctl("shutdown", "--reason", "kvm-tier test", "--timeout", "60")
        self.assertEqual(r.returncode, 0, r.stderr)
        status = vm.proc.wait(timeout=60)
        took = time.monotonic() - t0
        out, err = vm.proc.communicate()
        self.assertEqual(status, 0, err)
        self.assertIn("vmbus: shutdown requested", vm.output())
        self.assertIn("accepted the shutdown request", err)
        print(f"graceful shutdown took {took:.2f} s")

    def test_shutdown_refused_without_ic(self):
        # A guest without a VMBus client never opens the shutdown channel.
        vm = self.start("plain", "fill=4 noexit")
        vm.wait_serial("checksum:")
        r = vm.ctl.call("shutdown")
        self.assertFalse(r["ok"])
        self.assertIn("not connected", r["error"])
        r = vm.skyctl("shutdown")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not connected", r.stderr)

    def test_hostile_guest(self):
        good = self.start("good", "vmbus")
        bad = self.start("hostile", "vmbus=hostile")
        good.wait_serial("vmbus: ready")
        out = bad.wait_serial("vmbus: hostile done", timeout=300)
        # skyvm is alive and its control path answers.
        self.assertIsNone(bad.proc.poll())
        bus = bad.call("vmbus")
        self.assertGreater(bus["guest_errors"], 0, bus)
        self.assertGreater(bus["stats"]["failed_hypercalls"], 0, bus)
        self.assertIsNotNone(bad.call("status"))
        out = bad.wait_serial("vmbus: hostile survived", timeout=120)
        self.assertNotIn("FAIL", out)
        # The other VM is unharmed: its heartbeat keeps advancing.
        seq = good.call("ic")["heartbeat"]["sequence"]
        wait_for(lambda: good.call("ic")["heartbeat"]["sequence"] > seq, 30,
                 "the good VM's heartbeat")
        self.assertEqual(good.call("vmbus")["guest_errors"], 0)
        # Both stop cleanly.
        for vm in (bad, good):
            r = vm.ctl.call("stop")
            self.assertTrue(r["ok"], r)
            self.assertEqual(vm.proc.wait(timeout=30), 0)


if __name__ == "__main__":
    skytest.require_kvm()
    unittest.main(verbosity=2)
