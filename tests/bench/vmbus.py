#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""VMBus benchmark: the test guest's vmbus=bench figures against skyvm --vmbus-echo.

Each run boots the test guest with `vmbus=bench` and the echo device, waits
for its `bench: done` line (tests/guest/README.md, "Benchmark mode"), reads
the host-side cost of the HvPostMessage and HvSignalEvent exits from the
control socket's `vmbus` stats (docs/control.md), and stops the VM.  Prints
the medians over --runs: the guest's figures (TSC-timed in the guest), the
host's time per exit, and their ratios to a plain exit round trip (`inb`
from port 0x80, answered in skyvm's userspace) measured in the same run.

Figures only, never a verdict on time: the machine may be shared and noisy.
Exits 0 unless the guest failed (77, skipped, where /dev/kvm is unusable).
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kvm"))
import skytest  # noqa: E402

# bench: NAME key=value key=value ...
BENCH_LINE = re.compile(r"^bench: (\S+)((?: \w+=[0-9.]+)+)\s*$", re.M)
FAILURE = re.compile(r"vmbus: FAILED: .*|guest: exception .*|poweroff failed")
# (figure, key in its line, label)
GUEST_FIGURES = (
    ("pio-exit", "ns", "pio exit round trip (inb 0x80)"),
    ("signal-event", "ns", "HvSignalEvent, as the guest sees it"),
    ("message-roundtrip", "ns", "message round trip (GPADL create/teardown)"),
    ("echo-roundtrip", "ns", "echo round trip, 64-byte packet"),
)


class GuestFailed(Exception):
    pass


def parse_bench(serial):
    """{figure: {key: number}} from the guest's bench: lines."""
    out = {}
    for name, rest in BENCH_LINE.findall(serial):
        kv = {}
        for item in rest.split():
            k, _, v = item.partition("=")
            kv[k] = float(v) if "." in v else int(v)
        out[name] = kv
    return out


def one_run(skyvm, guest, tmp, index, timeout):
    """Boot, wait for bench: done, read the stats, stop.  Returns (bench, stats)."""
    sock = os.path.join(tmp, f"run{index}.sock")
    serial_path = os.path.join(tmp, f"run{index}.serial")
    log_path = os.path.join(tmp, f"run{index}.log")
    argv = [skyvm, "--kernel", guest, "--mem", "128M", "--cpus", "1",
            "--cmdline", "vmbus=bench", "--vmbus-echo", "--control", sock,
            "--serial", "file:" + serial_path, "--name", f"vmbus-bench-{index}"]

    def serial():
        try:
            with open(serial_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    ctl = None
    try:
        deadline = time.monotonic() + timeout
        while True:
            out = serial()
            bad = FAILURE.search(out)
            if bad:
                raise GuestFailed(bad.group(0))
            if "bench: done" in out:
                break
            if proc.poll() is not None:
                raise GuestFailed(f"skyvm exited with status {proc.returncode} before bench: done")
            if time.monotonic() > deadline:
                raise GuestFailed(f"no bench: done within {timeout} s")
            time.sleep(0.1)
        ctl = skytest.Control(sock)
        reply = ctl.call("vmbus")
        if not reply.get("ok"):
            raise GuestFailed(f"control: vmbus failed: {reply}")
        stats = reply["result"]["stats"]
        ctl.call("stop")
        return parse_bench(out), stats
    except GuestFailed as e:
        tail = "\n".join(serial().splitlines()[-25:])
        with open(log_path, errors="replace") as f:
            log_tail = "\n".join(f.read().splitlines()[-10:])
        raise GuestFailed(f"{e}\n--- serial (tail) ---\n{tail}\n--- skyvm log (tail) ---\n{log_tail}")
    finally:
        if ctl:
            ctl.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def per_call(stats, what):
    calls = stats.get(f"{what}_calls", 0)
    return stats[f"{what}_ns"] / calls if calls else None


def summarize(bench, stats):
    """One run's figures and ratios, as {row key: value}."""
    row = {}
    for name, key, _ in GUEST_FIGURES:
        if name not in bench or key not in bench[name]:
            raise GuestFailed(f"the guest printed no bench: {name} line")
        row[name] = bench[name][key]
    tp = bench.get("ring-throughput")
    if not tp or "MBps" not in tp:
        raise GuestFailed("the guest printed no bench: ring-throughput line")
    # Exact from bytes and ns where given (the guest rounds MBps).
    if tp.get("bytes") and tp.get("ns"):
        row["ring-throughput"] = tp["bytes"] * 1000.0 / tp["ns"]
    else:
        row["ring-throughput"] = tp["MBps"]
    row["throughput-packet"] = tp.get("packet")
    row["throughput-bytes"] = tp.get("bytes")
    if "cpl0-insn" in bench:
        row["cpl0-insn"] = bench["cpl0-insn"]["ps"] / 1000.0
    row["host-post"] = per_call(stats, "post_message")
    row["host-signal"] = per_call(stats, "signal_event")
    row["host-post-calls"] = stats.get("post_message_calls")
    row["host-signal-calls"] = stats.get("signal_event_calls")
    pio = row["pio-exit"] or None
    for k in ("signal-event", "message-roundtrip", "echo-roundtrip", "host-post", "host-signal"):
        row[k + "/pio"] = row[k] / pio if pio and row[k] is not None else None
    return row


def median_of(rows, key):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return (statistics.median(vals), min(vals), max(vals)) if vals else None


def fmt_ns(v):
    if v >= 100000:
        return f"{v / 1000:.0f} us"
    if v >= 1000:
        return f"{v / 1000:.2f} us"
    return f"{v:.0f} ns"


def fmt_mbps(v):
    return f"{v:.1f} MB/s" if v >= 10 else f"{v:.3f} MB/s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="meson build directory")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="seconds to wait for one run's bench: done")
    args = ap.parse_args()

    why = skytest.kvm_unusable()
    if why:
        print(f"SKIP: the VMBus benchmark needs a usable /dev/kvm ({why})")
        return skytest.SKIP
    skyvm = os.path.join(args.build, "skyvm", "skyvm")
    guest = os.path.join(args.build, "tests", "guest", "skylight-test-guest.elf")
    for path in (skyvm, guest):
        if not os.path.exists(path):
            print(f"vmbus benchmark: {path} not built", file=sys.stderr)
            return 1

    print(f"vmbus benchmark: test guest vmbus=bench, skyvm --vmbus-echo, 128M RAM, 1 vCPU, "
          f"{args.runs} runs")
    rows = []
    with tempfile.TemporaryDirectory(prefix="skybench-vmbus-") as tmp:
        # Every run uses the same binaries, even if the build changes meanwhile.
        skyvm = shutil.copy2(skyvm, os.path.join(tmp, "skyvm"))
        guest = shutil.copy2(guest, os.path.join(tmp, "guest.elf"))
        for i in range(args.runs):
            try:
                bench, stats = one_run(skyvm, guest, tmp, i + 1, args.timeout)
                row = summarize(bench, stats)
            except GuestFailed as e:
                print(f"vmbus benchmark: run {i + 1}: {e}", file=sys.stderr)
                return 1
            rows.append(row)
            print(f"run {i + 1}: pio {fmt_ns(row['pio-exit'])}, signal {fmt_ns(row['signal-event'])}, "
                  f"message {fmt_ns(row['message-roundtrip'])}, echo {fmt_ns(row['echo-roundtrip'])}, "
                  f"{fmt_mbps(row['ring-throughput'])}, host post {fmt_ns(row['host-post'] or 0)}, "
                  f"host signal {fmt_ns(row['host-signal'] or 0)}", flush=True)

    def line(label, key, fmt):
        m = median_of(rows, key)
        if m is None:
            print(f"  {label:<46}{'n/a':>12}")
            return
        med, lo, hi = m
        print(f"  {label:<46}{fmt(med):>12}{fmt(lo):>12}{fmt(hi):>12}")

    def ratio(v):
        return f"{v:.2f}x"

    print(f"\nmedians over {len(rows)} runs{'':<22}{'median':>12}{'min':>12}{'max':>12}")
    print("guest side (TSC in the guest):")
    for name, _, label in GUEST_FIGURES:
        line(label, name, fmt_ns)
    packet = rows[0].get("throughput-packet")
    line(f"ring throughput, {packet}-byte packets echoed", "ring-throughput",
         fmt_mbps)
    print("host side (skyvm, per hypercall exit):")
    line("HvPostMessage handling", "host-post", fmt_ns)
    line("HvSignalEvent handling", "host-signal", fmt_ns)
    print("ratios to the pio exit of the same run:")
    line("signal-event / pio-exit", "signal-event/pio", ratio)
    line("message-roundtrip / pio-exit", "message-roundtrip/pio", ratio)
    line("echo-roundtrip / pio-exit", "echo-roundtrip/pio", ratio)
    line("host HvPostMessage per exit / pio-exit", "host-post/pio", ratio)
    line("host HvSignalEvent per exit / pio-exit", "host-signal/pio", ratio)
    if any("cpl0-insn" in r for r in rows):
        print("context:")
        line("one CPL0 instruction in the guest", "cpl0-insn", fmt_ns)
        insn = median_of(rows, "cpl0-insn")[0]
        if insn >= 50:
            print("  (the guest kernel is emulated here: its figures are mostly instruction "
                  "emulation; the host-side costs are the VMM's own)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
