#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""kvm tier: boot the test guest in skyvm and check what it prints and how skyvm exits."""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import skytest  # noqa: E402


class Boot(unittest.TestCase):
    def boot(self, *args, cmdline="", timeout=120):
        argv = ["--kernel", skytest.GUEST, "--no-reboot"] + list(args)
        if cmdline:
            argv += ["--cmdline", cmdline]
        return skytest.run_skyvm(argv, timeout=timeout)

    def assert_guest_ok(self, p, mib, cpus):
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        self.assertIn("Skylight test guest 1 (boot: linux)", out)
        # The e820 map skyvm passed, as the guest read it back.
        self.assertRegex(out, r"e820: \[mem 0x0000000000000000-0x000000000009fbff\] usable")
        self.assertRegex(out, r"e820: \[mem 0x000000000009fc00-0x00000000000fffff\] reserved")
        self.assertRegex(out, r"e820: \[mem 0x0000000000100000-0x[0-9a-f]{16}\] usable")
        self.assertIn(f"cpus: {cpus}", out)
        for k in range(1, cpus):
            self.assertIn(f"cpu {k}: online", out)
        self.assertIn(skytest.expected_checksum_line(mib), out.splitlines())

    def test_one_cpu(self):
        p = self.boot("--mem", "256M", "--cpus", "1", cmdline="fill=16")
        self.assert_guest_ok(p, 16, 1)

    def test_two_cpus(self):
        # The acceptance command: 256M, 2 vCPUs.
        p = self.boot("--mem", "256M", "--cpus", "2", cmdline="fill=16")
        self.assert_guest_ok(p, 16, 2)

    def test_default_fill(self):
        p = self.boot("--mem", "256M")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"checksum: 0x[0-9a-f]{16} \(16 MiB\)")

    def test_memory_above_4g(self):
        # 5 GiB: RAM continues above the 3-4 GiB MMIO hole.
        p = self.boot("--mem", "5G", cmdline="fill=8")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("e820: [mem 0x0000000100000000-0x000000017fffffff] usable", p.stdout)

    def test_cmdline_reaches_guest(self):
        p = self.boot(cmdline="fill=4 hello=world")
        self.assertIn("cmdline: fill=4 hello=world", p.stdout)

    def test_guest_exception_is_a_triple_fault(self):
        p = self.boot(cmdline="fault=gp")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("guest: exception 13", p.stdout)
        self.assertIn("triple fault", p.stderr)
        # Registers and the faulting instruction's bytes are reported.
        self.assertRegex(p.stderr, r"rax=[0-9a-f]{16}")
        self.assertRegex(p.stderr, r"code: ([0-9a-f]{2} ?)+")

    def test_serial_input_from_stdin(self):
        argv = [skytest.SKYVM, "--kernel", skytest.GUEST, "--no-reboot", "--cmdline", "fill=4 echo"]
        p = subprocess.run(argv, input="hello guest\npoweroff\n", capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("echo: hello guest", p.stdout.splitlines())

    def test_reset_with_no_reboot_exits(self):
        p = self.boot(cmdline="fill=4 reboot")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("reset", p.stderr)
        self.assertEqual(p.stdout.count("Skylight test guest 1"), 1)

    def test_refused_instructions_at_cpl0(self):
        # The guest runs popcnt, lock cmpxchg16b, int3, x87/SSE control, fxsave,
        # xsave/xrstor, stac/clac at CPL0 and checks their results.  On a
        # software-only KVM skyvm completes them (docs/software-kvm.md); on a
        # hardware KVM they simply run.  Either way every check must pass.
        p = self.boot(cmdline="fill=4 insn-test")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [l for l in p.stdout.splitlines() if l.startswith("insn: ")]
        self.assertNotIn("FAILED", "\n".join(lines))
        m = re.search(r"insn: (\d+) of (\d+) passed", p.stdout)
        self.assertIsNotNone(m, p.stdout)
        self.assertEqual(m.group(1), m.group(2))
        self.assertGreaterEqual(int(m.group(2)), 12)
        done = re.search(r"completed (\d+) instructions KVM refused.*?:(.*)", p.stderr)
        if done:
            names = {kv.split("=")[0] for kv in done.group(2).split()}
            known = {"popcnt", "cmpxchg16b", "int3", "fwait", "fninit", "fnstcw", "fxsave64",
                     "fxrstor64", "ldmxcsr", "stmxcsr", "xsave64", "xrstor64", "stac", "clac"}
            self.assertTrue(names <= known, names - known)

    def test_panic(self):
        p = self.boot(cmdline="panic")
        self.assertEqual(p.returncode, 2, p.stderr)


class BadInput(unittest.TestCase):
    def test_missing_kernel(self):
        p = skytest.run_skyvm(["--kernel", "/nonexistent/kernel"])
        self.assertEqual(p.returncode, 66)
        self.assertIn("cannot read kernel image", p.stderr)

    def test_corrupt_kernel(self):
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"skytest-corrupt-{os.getpid()}")
        with open(path, "wb") as f:
            f.write(os.urandom(8192))
        try:
            p = skytest.run_skyvm(["--kernel", path])
        finally:
            os.unlink(path)
        self.assertEqual(p.returncode, 65)
        self.assertIn("not a loadable kernel", p.stderr)

    def test_truncated_elf(self):
        with open(skytest.GUEST, "rb") as f:
            data = f.read()
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"skytest-trunc-{os.getpid()}")
        # Cut inside the first loadable segment (the ELF's debug info may
        # follow the segments and make up most of the file).
        phoff = int.from_bytes(data[0x20:0x28], "little")
        seg_off = int.from_bytes(data[phoff + 8:phoff + 16], "little")
        seg_filesz = int.from_bytes(data[phoff + 32:phoff + 40], "little")
        self.assertEqual(int.from_bytes(data[phoff:phoff + 4], "little"), 1)  # PT_LOAD
        with open(path, "wb") as f:
            f.write(data[:seg_off + seg_filesz // 2])
        try:
            p = skytest.run_skyvm(["--kernel", path])
        finally:
            os.unlink(path)
        self.assertEqual(p.returncode, 65, p.stderr)

    def test_kernel_larger_than_ram(self):
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"skytest-big-{os.getpid()}")
        with open(path, "wb") as f:
            f.truncate(32 << 20)
        try:
            p = skytest.run_skyvm(["--kernel", path, "--mem", "16M"])
        finally:
            os.unlink(path)
        self.assertEqual(p.returncode, 65)
        self.assertIn("larger than guest RAM", p.stderr)

    def test_absurd_memory(self):
        for mem in ["1P", "0", "abc", "4097", "-1M", "99999999999999999999G"]:
            p = skytest.run_skyvm(["--kernel", skytest.GUEST, "--mem", mem])
            self.assertEqual(p.returncode, 64, mem)
            self.assertIn("--mem", p.stderr)

    def test_bad_cpus(self):
        for cpus in ["0", "65", "many"]:
            p = skytest.run_skyvm(["--kernel", skytest.GUEST, "--cpus", cpus])
            self.assertEqual(p.returncode, 64, cpus)

    def test_unknown_option(self):
        p = skytest.run_skyvm(["--kernel", skytest.GUEST, "--frobnicate"])
        self.assertEqual(p.returncode, 64)
        self.assertIn("Usage:", p.stderr)


if __name__ == "__main__":
    skytest.require_kvm()
    unittest.main(verbosity=2)
