#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Boot benchmark: skyvm vs QEMU microvm on the same test guest, same run.

Prints, over N runs (default 20), the median wall time from exec to the
guest's first instruction (its first act is a byte to debug port 0xe9, which
both VMMs forward to a pipe) and to its banner on the serial port, and the
VMM's memory overhead (RSS minus guest RAM, which both keep in a memfd:
VmRSS - RssShmem, sampled while the guest idles after its workload).  Never
fails on time; exits non-zero only if a VMM could not boot the guest at all.
"""

import argparse
import os
import select
import statistics
import subprocess
import sys
import time

BANNER = b"Skylight test guest"


def wait_for(fd, pred, buf, deadline):
    """Read fd into buf until pred(buf); returns the monotonic time it held, or None."""
    while not pred(buf):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return None
        buf.extend(chunk)
    return time.monotonic_ns()


def one_boot(argv, dbg_w, timeout=60.0):
    """Start argv; return (first_instruction_ms, banner_ms, proc) and leave it running."""
    dbg_r = dbg_w[0]
    t0 = time.monotonic_ns()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, pass_fds=(dbg_w[1],))
    deadline = time.monotonic() + timeout
    dbg = bytearray()
    out = bytearray()
    t_first = wait_for(dbg_r, lambda b: len(b) > 0, dbg, deadline)
    t_banner = wait_for(proc.stdout.fileno(), lambda b: BANNER in b, out, deadline)
    if t_first is None or t_banner is None:
        proc.kill()
        proc.wait()
        return None
    return (t_first - t0) / 1e6, (t_banner - t0) / 1e6, proc, out


def rss_overhead_kib(pid):
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssShmem", "RssAnon", "RssFile"):
                vals[k] = int(v.split()[0])
    return vals["VmRSS"] - vals["RssShmem"], vals


def finish(proc, out, deadline_s=60.0):
    """Wait for the guest's checksum line, then for the VMM to exit."""
    wait_for(proc.stdout.fileno(), lambda b: b"checksum:" in b, out, time.monotonic() + deadline_s)
    try:
        proc.wait(timeout=deadline_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def boot_with_pipe(make_argv, cmdline):
    """one_boot() with a fresh debug-console pipe; returns (result or None, read end)."""
    r, w = os.pipe()
    try:
        res = one_boot(make_argv(w, cmdline), (r, w))
    finally:
        os.close(w)
    return res, r


def measure(name, make_argv, runs):
    firsts, banners, overheads = [], [], []
    for i in range(runs):
        res, r = boot_with_pipe(make_argv, "fill=16")
        if res is None:
            os.close(r)
            print(f"{name}: run {i + 1} did not boot", file=sys.stderr)
            return None
        first, banner, proc, out = res
        finish(proc, out)
        os.close(r)
        firsts.append(first)
        banners.append(banner)
    # Memory: the guest fills 16 MiB, then idles at CPL3 (noexit).
    for i in range(3):
        res, r = boot_with_pipe(make_argv, "fill=16 noexit")
        if res is None:
            os.close(r)
            return None
        _, _, proc, out = res
        wait_for(proc.stdout.fileno(), lambda b: b"checksum:" in b, out, time.monotonic() + 60)
        time.sleep(0.2)
        ov, _ = rss_overhead_kib(proc.pid)
        overheads.append(ov)
        proc.kill()
        proc.wait()
        os.close(r)
    return {
        "first": statistics.median(firsts),
        "banner": statistics.median(banners),
        "banner_p90": sorted(banners)[int(0.9 * (len(banners) - 1))],
        "overhead_kib": statistics.median(overheads),
        "runs": runs,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="meson build directory")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--mem", default="256M")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    args = ap.parse_args()

    skyvm = os.path.join(args.build, "skyvm", "skyvm")
    guest = os.path.join(args.build, "tests", "guest", "skylight-test-guest.elf")
    mem_mib = int(args.mem.rstrip("M"))

    def skyvm_argv(dbg_fd, cmdline):
        return [skyvm, "--kernel", guest, "--mem", args.mem, "--cpus", "1", "--no-reboot",
                "--cmdline", cmdline, "--debugcon", f"/proc/self/fd/{dbg_fd}"]

    def qemu_argv(dbg_fd, cmdline):
        return [args.qemu, "-M", "microvm,accel=kvm", "-cpu", "host", "-m", f"{mem_mib}M",
                "-object", f"memory-backend-memfd,id=ram,size={mem_mib}M",
                "-machine", "memory-backend=ram", "-smp", "1",
                "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
                "-serial", "stdio", "-kernel", guest, "-append", cmdline,
                "-chardev", f"file,id=dbg,path=/proc/self/fd/{dbg_fd}",
                "-device", "isa-debugcon,iobase=0xe9,chardev=dbg"]

    print(f"boot benchmark: test guest, {args.mem} RAM, 1 vCPU, fill=16 MiB, {args.runs} runs each")
    sky = measure("skyvm", skyvm_argv, args.runs)
    qemu = measure("qemu-microvm", qemu_argv, args.runs)
    rows = [("skyvm", sky), ("qemu microvm", qemu)]
    print(f"{'vmm':<14}{'exec->first insn':>18}{'exec->banner':>15}{'banner p90':>12}{'VMM RSS overhead':>19}")
    for name, r in rows:
        if r is None:
            print(f"{name:<14}{'did not boot':>18}")
            continue
        print(f"{name:<14}{r['first']:>15.2f} ms{r['banner']:>12.2f} ms{r['banner_p90']:>9.2f} ms"
              f"{r['overhead_kib'] / 1024:>15.2f} MiB")
    if sky and qemu:
        print(f"ratio skyvm/qemu: first instruction {sky['first'] / qemu['first']:.2f}, "
              f"banner {sky['banner'] / qemu['banner']:.2f}, "
              f"memory overhead {sky['overhead_kib'] / qemu['overhead_kib']:.3f}")
    print("targets: first instruction <= 10 ms median; overhead <= 8 MiB; banner faster than QEMU")
    return 0 if sky else 1


if __name__ == "__main__":
    sys.exit(main())
