#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""RDP benchmark: skyrdp serving the test guest's animation (`desktop=anim`)
against freerdp-shadow-cli serving the same cells on an Xvfb display
(tests/bench/anim-x11.c), both watched by the same headless client
(clients/rdpbench: /gfx:AVC420) in the same run.

Prints per server: distinct frames per second reaching the client, dropped
frame numbers, frame latency median and p95 (the sender's CLOCK_REALTIME
stamp in the picture against the client's, same host), Mbit/s received, and
CPU: the client's, the server's session (skyrdp: the worker process forked
for the connection; shadow: the whole server, which is one process), and
the source's (skyvm; the X server plus anim-x11), then the ratios
skyrdp/shadow.  With --sessions, N clients at once against skyrdp.
The animation runs at 30 frames per second; skyrdp's default --fps 30
paces against it (see docs/rdp.md, "Benchmark"), --skyrdp-opt=--fps=60
shows the source's own rate.  Never fails on time; exits 77 when /dev/kvm,
Xvfb or freerdp-shadow-cli is missing, non-zero only when a server or
client could not run.
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import rdptest  # noqa: E402
from rdptest import spawn, kill, wait_for, free_port, listening, read_log  # noqa: E402

USER, PASSWORD = "bench", "bench-pass-1"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid):
    """utime + stime of pid in seconds (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid):
    out = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat[stat.rfind(")") + 2:].split()[1]) == pid:
            out.add(int(d))
    return out


def run_clients(rdpbench, port, size, seconds, n, tmp, tag, watch=()):
    """n rdpbench clients at once; watch: pids whose CPU is taken over the run,
    or a callable giving them once the clients are connected.  Returns the
    clients' JSON and {pid: cpu seconds} over the measuring window."""
    procs = []
    warm = 3.0
    for i in range(n):
        log = os.path.join(tmp, f"{tag}-client{i}.log")
        res = os.path.join(tmp, f"{tag}-client{i}.json")
        with open(res, "wb") as out, open(log, "wb") as err:
            p = subprocess.Popen([rdpbench, "--seconds", str(seconds), "--warmup", str(warm),
                                  f"/v:127.0.0.1:{port}", f"/u:{USER}", f"/p:{PASSWORD}",
                                  "/cert:ignore", "/gfx:AVC420", f"/size:{size}", "-sound",
                                  "-clipboard", "/log-level:ERROR"],
                                 stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                 env=dict(os.environ, HOME=tmp),
                                 preexec_fn=rdptest._child_setup)
        p.out = res
        p.log = log
        procs.append(p)
    time.sleep(warm)
    pids = watch() if callable(watch) else list(watch)
    before = {pid: cpu_of(pid) for pid in pids}
    t0 = time.monotonic()
    time.sleep(seconds)
    after = {pid: cpu_of(pid) for pid in pids}
    dt = time.monotonic() - t0
    results = []
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        with open(p.out) as f:
            text = f.read().strip()
        try:
            results.append(json.loads(text.splitlines()[-1]))
        except (ValueError, IndexError):
            raise AssertionError(f"rdpbench ({tag}) gave no figures (exit {p.returncode}):\n"
                                 f"{read_log(p)[-2000:]}") from None
    return results, {pid: (after[pid] - before[pid]) / dt for pid in pids}


def skyrdp_run(args, tmp, sessions):
    content = "desktop=" + args.content
    guest = rdptest.Guest(tmp, name="bench", cmdline=content)
    # Guest() has no resolution option: restart skyvm with one.
    kill(guest.proc)
    guest.proc = spawn([rdptest.SKYVM, "--kernel", rdptest.GUEST, "--mem", "128M", "--name",
                        guest.name, "--run-dir", guest.run_dir, "--resolution", args.size,
                        "--cmdline", content, "--serial", "file:" + guest.serial],
                       os.path.join(tmp, "skyvm.log"))
    guest.wait_serial(r"desktop: ready")
    store = os.path.join(tmp, "users.db")
    rdptest.add_user(store, USER, PASSWORD)
    srv = rdptest.SkyRDP(tmp, guest, store, "--max-sessions", "16", *args.skyrdp_opt)
    out = []
    for n in sessions:
        def watch():
            workers = wait_for("skyrdp's session workers",
                               lambda: children(srv.proc.pid) if len(children(srv.proc.pid)) >= n
                               else None, 30)
            return [guest.proc.pid, srv.proc.pid] + sorted(workers)
        res, cpu = run_clients(args.rdpbench, srv.port, args.size, args.seconds, n, tmp,
                               f"skyrdp{n}", watch)
        workers = [pid for pid in cpu if pid not in (guest.proc.pid, srv.proc.pid)]
        out.append({"n": n, "clients": res, "skyvm_cpu": cpu[guest.proc.pid],
                    "listener_cpu": cpu[srv.proc.pid],
                    "worker_cpu": [cpu[p] for p in workers]})
        # Let the workers of this round go before the next.
        time.sleep(1)
    kill(srv.proc)
    kill(guest.proc)
    return out


def shadow_run(args, tmp):
    x = rdptest.Xvfb.__new__(rdptest.Xvfb)
    # Xvfb at exactly the benchmark's size (rdptest.Xvfb has a fixed one).
    w, h = args.size.split("x")
    saved = rdptest.SCREEN_W, rdptest.SCREEN_H
    rdptest.SCREEN_W, rdptest.SCREEN_H = int(w), int(h)
    try:
        x.__init__(tmp)
    finally:
        rdptest.SCREEN_W, rdptest.SCREEN_H = saved
    anim = spawn([args.anim], os.path.join(tmp, "anim-x11.log"), env=x.env)
    port = free_port()
    home = os.path.join(tmp, "shadow-home")
    os.makedirs(home, exist_ok=True)
    srv = spawn(["freerdp-shadow-cli", f"/port:{port}", "/bind-address:127.0.0.1", "-auth",
                 "-may-interact"], os.path.join(tmp, "shadow.log"),
                env=dict(x.env, HOME=home))

    def up():
        if srv.poll() is not None:
            raise AssertionError(f"freerdp-shadow-cli exited:\n{read_log(srv)[-2000:]}")
        return listening(port)
    wait_for(f"freerdp-shadow-cli to listen on port {port}", up, 30)
    if anim.poll() is not None:
        raise AssertionError(f"anim-x11 exited:\n{read_log(anim)}")
    res, cpu = run_clients(args.rdpbench, port, args.size, args.seconds, 1, tmp, "shadow",
                           [srv.pid, x.proc.pid, anim.pid])
    out = {"clients": res, "server_cpu": cpu[srv.pid], "xvfb_cpu": cpu[x.proc.pid],
           "anim_cpu": cpu[anim.pid]}
    kill(srv)
    kill(anim)
    kill(x.proc)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="meson build directory")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--content", choices=("anim", "office"), default="anim",
                    help="the test guest's animation: full motion (anim) or office (the "
                         "desktop with a line typed at 30 characters a second); the shadow "
                         "peer always shows the full-motion one")
    ap.add_argument("--sessions", default="",
                    help="comma-separated client counts against skyrdp (e.g. 1,2,4,8): "
                    "stops at the first whose median fps is under --min-fps")
    ap.add_argument("--min-fps", type=float, default=28.5,
                    help="the rate a session must keep (default 28.5: 95%% of the "
                    "animation's 30)")
    ap.add_argument("--skyrdp-opt", action="append", default=[],
                    help="an option for skyrdp (repeat; e.g. --skyrdp-opt=--fps=60)")
    args = ap.parse_args()
    b = args.build
    rdptest.SKYVM = os.path.join(b, "skyvm", "skyvm")
    rdptest.GUEST = os.path.join(b, "tests", "guest", "skylight-test-guest.elf")
    rdptest.SKYCTL = os.path.join(b, "clients", "skyctl")
    rdptest.SKYRDP = os.path.join(b, "rdp", "skyrdp")
    args.rdpbench = os.path.join(b, "clients", "rdpbench")
    args.anim = os.path.join(b, "tests", "anim-x11")

    why = rdptest.skytest.kvm_unusable()
    if why:
        print(f"SKIP: the rdp benchmark needs a usable /dev/kvm ({why})")
        return rdptest.SKIP
    for tool, pkg in (("Xvfb", "xvfb"), ("freerdp-shadow-cli", "freerdp2-shadow-x11")):
        if not shutil.which(tool):
            print(f"SKIP: the rdp benchmark needs {tool} (apt-get install {pkg})")
            return rdptest.SKIP
    for path, what in ((rdptest.SKYRDP, "skyrdp"), (args.rdpbench, "rdpbench"),
                       (args.anim, "anim-x11 (libx11-dev)")):
        if not os.access(path, os.X_OK):
            print(f"SKIP: the rdp benchmark needs {what}, which is not built")
            return rdptest.SKIP

    sessions = [int(v) for v in args.sessions.split(",") if v] or [1]
    if sessions[0] != 1:
        sessions.insert(0, 1)
    print(f"rdp benchmark: {args.size}, /gfx:AVC420, {args.seconds:g} s per measurement "
          "(after 3 s of warm-up), client rdpbench on this host")
    tmp = tempfile.mkdtemp(prefix="skybench-rdp-")
    try:
        # Private copies: a rebuild during the run must not pull them away.
        for attr in ("SKYVM", "GUEST", "SKYRDP"):
            setattr(rdptest, attr, shutil.copy(getattr(rdptest, attr), tmp))
        args.rdpbench = shutil.copy(args.rdpbench, tmp)
        args.anim = shutil.copy(args.anim, tmp)
        # Sessions: one count at a time on one skyrdp, stopping under 30 fps.
        sky = []
        for n in sessions:
            sub = os.path.join(tmp, f"skyrdp-{n}")
            os.mkdir(sub)
            r = skyrdp_run(args, sub, [n])[0]
            sky.append(r)
            fps = statistics.median(c["fps"] for c in r["clients"])
            if fps < args.min_fps:
                break
        shadow = shadow_run(args, tmp)
    except AssertionError as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        rdptest.kill_all()
        if not os.environ.get("SKYBENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"(files kept in {tmp})")

    s1 = sky[0]
    c = s1["clients"][0]
    d = shadow["clients"][0]
    rows = [
        ("frames per second at the client", c["fps"], d["fps"], "{:.1f}"),
        ("dropped frame numbers", c["dropped"], d["dropped"], "{:.0f}"),
        ("latency median (ms)", c["latency_ms_median"], d["latency_ms_median"], "{:.1f}"),
        ("latency p95 (ms)", c["latency_ms_p95"], d["latency_ms_p95"], "{:.1f}"),
        ("Mbit/s received", c["mbit_s"], d["mbit_s"], "{:.2f}"),
        ("server CPU per session (%)", 100 * s1["worker_cpu"][0], 100 * shadow["server_cpu"],
         "{:.1f}"),
        ("source CPU (%): skyvm / Xvfb+anim-x11", 100 * s1["skyvm_cpu"],
         100 * (shadow["xvfb_cpu"] + shadow["anim_cpu"]), "{:.1f}"),
        ("client CPU (%)", c["cpu_pct"], d["cpu_pct"], "{:.1f}"),
        ("unclear samples (cells not black/white)", c["unclear"], d["unclear"], "{:.0f}"),
        ("frame-number resyncs (misreads)", c["resyncs"], d["resyncs"], "{:.0f}"),
    ]
    print(f"\n{'':<40}{'skyrdp':>10}{'shadow':>10}{'ratio':>9}")
    for name, a, bb, fmt in rows:
        ratio = f"{a / bb:8.2f}x" if bb else "       -"
        print(f"  {name:<38}{fmt.format(a):>10}{fmt.format(bb):>10}{ratio}")
    print(f"  (skyrdp listener CPU {100 * s1['listener_cpu']:.1f}%; "
          f"shadow: Xvfb {100 * shadow['xvfb_cpu']:.1f}%, anim-x11 "
          f"{100 * shadow['anim_cpu']:.1f}%)")
    if len(sessions) > 1:
        print(f"\nconcurrent sessions against skyrdp ({args.size})")
        print(f"  {'N':>3}{'fps median':>12}{'fps min':>9}{'lat p50 ms':>12}"
              f"{'Mbit/s sum':>12}{'worker CPU % each':>20}{'skyvm CPU %':>13}")
        for r in sky:
            fps = [cl["fps"] for cl in r["clients"]]
            lat = statistics.median(cl["latency_ms_median"] for cl in r["clients"])
            mbit = sum(cl["mbit_s"] for cl in r["clients"])
            wc = statistics.median(r["worker_cpu"]) * 100 if r["worker_cpu"] else 0
            print(f"  {r['n']:>3}{statistics.median(fps):>12.1f}{min(fps):>9.1f}{lat:>12.1f}"
                  f"{mbit:>12.2f}{wc:>20.1f}{100 * r['skyvm_cpu']:>13.1f}")
    print("\nJSON " + json.dumps({"size": args.size, "skyrdp": sky, "shadow": shadow}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
