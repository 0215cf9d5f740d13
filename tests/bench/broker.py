#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Broker benchmark: the embedded default (skybroker --embedded) measured the
way users meet it.

- REST API requests per second, with C concurrent keep-alive HTTPS clients
  for S seconds each: POST /api/v1/login (scrypt at its real cost, N=2^15)
  and GET /api/v1/desktops?all=1 (session check + SQLite).  Peers in the
  same run: GET /static/app.css on the same server (the HTTP/TLS stack's
  ceiling), and scrypt itself in this process with the broker's
  parameters (the ceiling for logins: cores / hash time).
- RDP logon to first picture (clients/rdpbench --first-frame), N times
  each, alternating: through the broker's front door (TLS logon, the
  desktop found, a one-time token handed to the host, Server Redirection,
  a second TLS logon at the host) against straight to a skyrdp on the
  same host showing the same VM (one TLS logon).

Prints figures and ratios; never fails on time.  Exits 77 where /dev/kvm
or the binaries are missing.
"""

import argparse
import hashlib
import http.client
import json
import os
import ssl
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import brokertest as tb  # noqa: E402
import rdptest  # noqa: E402


def hammer(broker, method, path, body, headers, seconds, conc):
    """Requests per second and latency percentiles of method path from
    conc threads, each on its own keep-alive connection."""
    ctx = ssl.create_default_context(cafile=broker.ca)
    stop = time.monotonic() + seconds
    lat, errors = [], [0]
    lock = threading.Lock()

    def worker():
        c = http.client.HTTPSConnection("127.0.0.1", broker.web_port, context=ctx, timeout=30)
        mine, bad = [], 0
        data = json.dumps(body).encode() if body is not None else None
        while time.monotonic() < stop:
            t0 = time.monotonic()
            try:
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                r.read()
                if r.status >= 300:
                    bad += 1
            except (OSError, http.client.HTTPException):
                bad += 1
                c.close()
                c = http.client.HTTPSConnection("127.0.0.1", broker.web_port, context=ctx,
                                                timeout=30)
                continue
            mine.append(time.monotonic() - t0)
        c.close()
        with lock:
            lat.extend(mine)
            errors[0] += bad
    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dur = time.monotonic() - t0
    lat.sort()
    pct = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000) if lat else (lambda q: -1)
    return {"rps": len(lat) / dur, "n": len(lat), "errors": errors[0],
            "p50_ms": pct(0.5), "p95_ms": pct(0.95)}


def scrypt_ceiling(seconds=3):
    """Hashes per second of scrypt N=2^15 r=8 p=1 on one core, here."""
    n, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        hashlib.scrypt(b"correct horse", salt=os.urandom(16), n=1 << 15, r=8, p=1,
                       maxmem=64 << 20, dklen=32)
        n += 1
    return n / (time.monotonic() - t0)


def first_frame(rdpbench, addr, port, user, password):
    p = subprocess.run([rdpbench, "--first-frame", "--seconds", "60", f"/v:{addr}:{port}",
                        f"/u:{user}", f"/p:{password}", "/cert:ignore", "/sec:tls",
                        "/size:1024x768", "/log-level:ERROR"],
                       capture_output=True, text=True, timeout=120)
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"rdpbench failed ({p.returncode}): {p.stderr[-1500:]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--connects", type=int, default=5)
    args = ap.parse_args()
    b = args.build
    tb.SKYBROKER = os.path.join(b, "broker", "skybroker")
    tb.SKYHOSTD = os.path.join(b, "host", "skyhostd")
    rdptest.SKYVM = os.path.join(b, "skyvm", "skyvm")
    rdptest.SKYRDP = os.path.join(b, "rdp", "skyrdp")
    rdptest.SKYCTL = os.path.join(b, "clients", "skyctl")
    rdptest.GUEST = os.path.join(b, "tests", "guest", "skylight-test-guest.elf")
    rdpbench = os.path.join(b, "clients", "rdpbench")
    why = rdptest.skytest.kvm_unusable()
    if why:
        print(f"SKIP: needs a usable /dev/kvm ({why})")
        return 77
    for p in (tb.SKYBROKER, tb.SKYHOSTD, rdptest.SKYRDP, rdpbench):
        if not os.access(p, os.X_OK):
            print(f"SKIP: {p} is not built")
            return 77

    tmp = rdptest.temp_dir()
    try:
        broker = tb.Broker(tmp, heartbeat=2, fast_hash=False)
        api = tb.API(broker)
        demo_pw = broker.logins["demo"]
        api.login("demo", demo_pw)
        rdptest.wait_for("demo-desktop Running", lambda: api.desktop("demo-desktop")["state"] ==
                    "Running", 180, interval=0.5)
        auth = {"Authorization": "Bearer " + api.token, "Accept": "application/json"}
        c = args.concurrency
        print(f"REST API, {c} concurrent HTTPS keep-alive clients, {args.seconds:g} s each "
              f"(2 cores shared by clients and server)")
        static = hammer(broker, "GET", "/static/app.css", None, {}, args.seconds, c)
        listing = hammer(broker, "GET", "/api/v1/desktops?all=1", None, auth, args.seconds, c)
        login = hammer(broker, "POST", "/api/v1/login", {"name": "demo", "password": demo_pw},
                       {"Content-Type": "application/json"}, args.seconds, c)
        ceiling = scrypt_ceiling()
        cores = os.cpu_count() or 1
        for name, r in (("GET /static/app.css (peer)", static),
                        ("GET /api/v1/desktops", listing), ("POST /api/v1/login", login)):
            print(f"  {name:30} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:6.1f} ms  "
                  f"p95 {r['p95_ms']:6.1f} ms  errors {r['errors']}")
        print(f"  listing / static: {listing['rps'] / max(static['rps'], 1e-9):.2f}x")
        print(f"  scrypt N=2^15 here: {ceiling:.1f} hashes/s per core, so at most "
              f"{ceiling * cores:.1f} logins/s on {cores} cores; logins reach "
              f"{login['rps'] / max(ceiling * cores, 1e-9):.2f}x of that")

        # A second skyrdp on the same host, straight onto the same VM.
        store = os.path.join(tmp, "direct-users.db")
        rdptest.add_user(store, "demo", demo_pw)
        d = api.desktop("demo-desktop")
        direct_addr, port = "127.0.0.3", broker.rdp_port
        direct = rdptest.spawn([rdptest.SKYRDP, "--listen", f"{direct_addr}:{port}", "--run-dir",
                                os.path.join(broker.state, "run"), "--vm", d.get("vm") or
                                d["name"], "--users", store, "--state-dir",
                                os.path.join(tmp, "direct-rdp"), "--auth", "tls"],
                               os.path.join(tmp, "direct-skyrdp.log"))
        time.sleep(1.5)
        if direct.poll() is not None:
            raise RuntimeError("the direct skyrdp exited:\n" + rdptest.read_log(direct)[-2000:])
        via, straight = [], []
        for _ in range(args.connects):
            via.append(first_frame(rdpbench, "127.0.0.1", port, "demo", demo_pw))
            straight.append(first_frame(rdpbench, direct_addr, port, "demo", demo_pw))
        med = lambda runs, k: statistics.median(r[k] for r in runs)  # noqa: E731
        print(f"\nRDP logon to first picture, {args.connects} connects each, medians "
              f"(1024x768, TLS):")
        print(f"  through the broker (redirected): logon {med(via, 'connect_ms'):7.1f} ms, "
              f"first picture {med(via, 'first_frame_ms'):7.1f} ms")
        print(f"  straight to the host's skyrdp:   logon {med(straight, 'connect_ms'):7.1f} ms, "
              f"first picture {med(straight, 'first_frame_ms'):7.1f} ms")
        print(f"  broker / direct: {med(via, 'first_frame_ms') / med(straight, 'first_frame_ms'):.2f}x"
              f" (+{med(via, 'first_frame_ms') - med(straight, 'first_frame_ms'):.0f} ms)")
    finally:
        rdptest.kill_all()
        rdptest.remove_dir(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
