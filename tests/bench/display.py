#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Display benchmark: the test guest's animation (`desktop=anim`) at
1920x1080, watched through skyvm's display socket.

Prints, per run and as medians: damage events per second and damaged
megapixels per second reaching a viewer, and damage-to-viewer latency (from
skyvm receiving the guest's SYNTHVID_DIRT, the `t` stamp in each damage
message, to the viewer reading it; both CLOCK_MONOTONIC on this host), beside
the peer measured in the same run: a ping/pong round trip on the same socket.
Never fails on time; exits non-zero only if the guest could not run.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "kvm"))
import skytest  # noqa: E402


class Viewer(skytest.Control):
    """A display-socket client: the control socket's line and fd handling."""

    def line(self, timeout=10):
        """The next message and when it was read (CLOCK_MONOTONIC ns)."""
        self.sock.settimeout(timeout)
        return self.recv_line(), time.monotonic_ns()

    def send(self, obj):
        self.send_raw(json.dumps(obj).encode() + b"\n")


def one_run(skyvm, guest, seconds, tmp):
    serial = os.path.join(tmp, "serial.log")
    vm = subprocess.Popen([skyvm, "--kernel", guest, "--mem", "128M", "--name", "bench",
                           "--run-dir", tmp, "--resolution", "1920x1080",
                           "--cmdline", "desktop=anim", "--serial", "file:" + serial],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    try:
        v = Viewer(os.path.join(tmp, "bench.display"), timeout=60)
        hello, _ = v.line()
        assert hello["type"] == "hello", hello
        # Wait for the animation to run at 1920x1080.
        deadline = time.monotonic() + 120
        mode = None
        while time.monotonic() < deadline:
            msg, _ = v.line(timeout=120)
            if msg["type"] == "mode" and msg.get("valid", True) and msg.get("width") == 1920:
                mode = msg
            if mode and msg["type"] == "damage":
                break
            if vm.poll() is not None:
                break
        if not mode:
            with open(serial, errors="replace") as f:
                raise RuntimeError("the animation never started:\n" + f.read()[-2000:])
        # Peer: ping round trips on the same socket, interleaved with damage.
        rtts = []
        for i in range(50):
            t0 = time.monotonic_ns()
            v.send({"type": "ping", "id": i})
            while True:
                msg, t1 = v.line()
                if msg["type"] == "pong" and msg.get("id") == i:
                    rtts.append((t1 - t0) / 1e3)
                    break
        # Damage as a viewer sees it.
        lat, events, pixels = [], 0, 0
        end = time.monotonic() + seconds
        t_start = time.monotonic()
        while time.monotonic() < end:
            msg, t = v.line()
            if msg["type"] != "damage":
                continue
            events += 1
            pixels += sum(r[2] * r[3] for r in msg["rects"])
            lat.append((t - msg["t"]) / 1e3)
        took = time.monotonic() - t_start
        v.close()
        with open(serial, errors="replace") as f:
            frames = [line for line in f.read().splitlines() if line.startswith("desktop: frame")]
        return {
            "events_per_s": events / took,
            "mpixels_per_s": pixels / took / 1e6,
            "lat_p50_us": statistics.median(lat),
            "lat_p90_us": sorted(lat)[int(len(lat) * 0.9)],
            "ping_p50_us": statistics.median(rtts),
            "guest_frames_logged": len(frames),
        }
    finally:
        vm.terminate()
        vm.communicate(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="meson build directory")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    why = skytest.kvm_unusable()
    if why:
        print(f"SKIP: the display benchmark needs a usable /dev/kvm ({why})")
        return skytest.SKIP
    results = []
    with tempfile.TemporaryDirectory(prefix="skybench-disp-") as tmp:
        # Private copies: a rebuild during the run must not pull them away.
        skyvm = shutil.copy(os.path.join(args.build, "skyvm", "skyvm"), tmp)
        guest = shutil.copy(os.path.join(args.build, "tests", "guest",
                                         "skylight-test-guest.elf"), tmp)
        print(f"display benchmark: test guest desktop=anim, 1920x1080, {args.runs} runs of "
              f"{args.seconds:g} s, one viewer on the display socket")
        for i in range(args.runs):
            try:
                r = one_run(skyvm, guest, args.seconds, tmp)
            except Exception as e:  # noqa: BLE001 - report and fail
                print(f"FAIL: run {i + 1}: {e}")
                return 1
            results.append(r)
            print(f"run {i + 1}: {r['events_per_s']:.1f} damage events/s, "
                  f"{r['mpixels_per_s']:.2f} Mpixel/s, latency p50 {r['lat_p50_us']:.0f} us "
                  f"p90 {r['lat_p90_us']:.0f} us, ping {r['ping_p50_us']:.0f} us")

    def med(k):
        return statistics.median(r[k] for r in results)

    print(f"\n{'medians over %d runs' % len(results):<44}{'median':>12}")
    print(f"  damage events per second at 1920x1080       {med('events_per_s'):>12.1f}")
    print(f"  damaged megapixels per second               {med('mpixels_per_s'):>12.2f}")
    print(f"  damage-to-viewer latency p50 (us)           {med('lat_p50_us'):>12.0f}")
    print(f"  damage-to-viewer latency p90 (us)           {med('lat_p90_us'):>12.0f}")
    print(f"  peer: ping/pong round trip p50 (us)         {med('ping_p50_us'):>12.0f}")
    print(f"  latency p50 / ping round trip               {med('lat_p50_us') / med('ping_p50_us'):>11.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
