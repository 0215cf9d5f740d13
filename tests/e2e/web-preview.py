#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The broker's pages in a real browser, for a visual check and a smoke test
of /static/app.js.

web-render (tests/unit/broker-web/web_render.c) renders the pages from the
sample JSON below; a local HTTP server serves them with the broker's
"Content-Security-Policy: default-src 'self'" and fakes the few API calls the
script makes.  Headless chromium takes screenshots of every page at 1280 and
390 px wide into OUTDIR/*.png.  With python3-selenium (Debian's, in
/usr/bin/python3) it also drives the script: login, the cost figure, the
properties panel, actions with their CSRF header, delete's confirm, the
maintenance switch, polling while a job runs, and fails on any console
error (a CSP violation is one).

    web-preview.py [--render BUILD/tests/unit/broker-web/web-render] [--out DIR]

Exits 77 (skip) without chromium or web-render.
"""

import argparse
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

CSRF = "csrf-7f3a"
SAMPLE = {
    "viewer": {"name": "alice", "role": "admin", "csrf": CSRF},
    "pools": [
        {"name": "win11", "description": "Windows 11 office desktop, 4 GiB, 2 CPUs",
         "kind": "personal", "template": "win11-base", "memory_mb": 4096, "cpus": 2,
         "max_desktops": 20, "expiry_days": 30, "cost_per_gb_day": 0.5,
         "cost_per_cpu_day": 1.25, "desktops": 3, "cost_per_day": 4.5},
        {"name": "lab", "description": "Teaching lab (pooled, reset at logoff)",
         "kind": "pooled", "template": "ubuntu-24.04", "memory_mb": 2048, "cpus": 1,
         "max_desktops": 50, "expiry_days": 0, "cost_per_gb_day": 0.25,
         "cost_per_cpu_day": 0.75, "desktops": 0, "cost_per_day": 1.25},
    ],
    "desktops": [
        {"name": "alice-desk", "description": "My office desktop", "pool": "win11",
         "owner": "alice", "admins": ["bob", "carol"], "state": "Running", "host": "node1",
         "vm": "d-alice-desk", "memory_mb": 6144, "cpus": 4, "created": "2026-01-02T03:04:05Z",
         "expires": "2026-11-26T17:00:00Z", "cost_per_day": 8, "job": None},
        {"name": "build-box", "description": "", "pool": "lab", "owner": "alice", "admins": [],
         "state": "Provisioning", "host": "node2", "vm": None, "memory_mb": 2048, "cpus": 1,
         "created": "2026-01-03T00:00:00Z", "expires": None, "cost_per_day": 1.25, "job": 17},
        {"name": "old", "description": "Ünïcødé 桌面 <script>alert(1)</script>",
         "pool": "lab",
         "owner": "alice", "admins": [], "state": "Off", "host": None, "memory_mb": 1536,
         "cpus": 1, "created": "2025-06-01T00:00:00Z", "expires": "2026-06-01T00:00:00Z",
         "cost_per_day": 1.125, "job": None},
        {"name": "stuck", "pool": "win11", "owner": "alice", "state": "HostNotResponding",
         "host": "node3", "memory_mb": 4096, "cpus": 2, "cost_per_day": 4.5, "job": None},
    ],
    "hosts": [
        {"name": "node1", "api_url": "https://node1:8443", "rdp_address": "10.0.0.1:3389",
         "health": "ok", "maintenance": False, "cpus": 32, "mem_total_mb": 262144,
         "mem_free_mb": 98304, "desktops": 12, "last_heartbeat": "2026-03-01T10:00:05Z"},
        {"name": "node2", "api_url": "https://node2:8443", "rdp_address": "10.0.0.2:3389",
         "health": "ok", "maintenance": True, "cpus": 32, "mem_total_mb": 262144,
         "mem_free_mb": 20000, "desktops": 30, "last_heartbeat": "2026-03-01T10:00:04Z"},
        {"name": "node3", "api_url": "https://node3:8443", "rdp_address": "10.0.0.3:3389",
         "health": "not_responding", "maintenance": False, "cpus": 16, "mem_total_mb": 131072,
         "mem_free_mb": 131072, "desktops": 1, "last_heartbeat": "2026-03-01T09:51:00Z"},
    ],
    "users": [
        {"name": "alice", "role": "admin", "email": "alice@example.org",
         "created": "2025-12-01T00:00:00Z"},
        {"name": "bob", "role": "delegated_admin", "email": "bob@example.org",
         "created": "2026-01-01T00:00:00Z"},
        {"name": "carol", "role": "user", "email": None, "created": "2026-01-05T00:00:00Z"},
    ],
    "jobs": [
        {"id": 17, "kind": "provision", "desktop": "build-box", "host": "node2",
         "user": "alice", "state": "running", "progress": 40, "message": "copying the disk",
         "created": "2026-01-03T00:00:00Z", "finished": None},
        {"id": 16, "kind": "stop", "desktop": "old", "host": "node1", "user": "alice",
         "state": "succeeded", "progress": 100, "message": "stopped",
         "created": "2026-01-02T00:00:00Z", "finished": "2026-01-02T00:00:31Z"},
        {"id": 15, "kind": "start", "desktop": "stuck", "host": "node3", "user": "alice",
         "state": "failed", "progress": 10, "message": "host did not answer",
         "created": "2026-01-01T00:00:00Z", "finished": "2026-01-01T00:01:00Z"},
    ],
}
SAMPLE["all_desktops"] = SAMPLE["desktops"] + [
    {"name": "bobs-lab", "pool": "lab", "owner": "bob", "state": "Migrating", "host": "node1",
     "memory_mb": 2048, "cpus": 1, "cost_per_day": 1.25, "job": None,
     "expires": "2026-02-01T00:00:00Z"},
    {"name": "gone", "pool": "lab", "owner": "carol", "state": "Expired", "host": None,
     "memory_mb": 2048, "cpus": 1, "cost_per_day": 1.25, "job": None},
]

PAGES = {
    "/": "login.html", "/login-error": "login-error.html", "/enroll": "enroll.html",
    "/desktops": "desktops.html", "/desktops-empty": "desktops-empty.html",
    "/admin": "admin.html", "/admin-empty": "admin-empty.html", "/error": "error.html",
}
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".svg": "image/svg+xml"}


class Fake:
    """What the fake API saw, and the job that advances as it is polled."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []
        self.progress = 40
        self.settled = False

    def desktops(self, all_):
        with self.lock:
            ds = json.loads(json.dumps(SAMPLE["all_desktops" if all_ else "desktops"]))
            if self.settled:
                for d in ds:
                    if d["name"] == "build-box":
                        d["state"], d["job"] = "Running", None
            return ds

    def jobs(self):
        with self.lock:
            js = json.loads(json.dumps(SAMPLE["jobs"]))
            self.progress = min(100, self.progress + 20)
            js[0]["progress"] = self.progress
            if self.progress >= 100:
                js[0]["state"] = "succeeded"
                self.settled = True
            return js


def make_handler(root, fake):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send(self, status, body, ctype="application/json", headers=()):
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", "default-src 'self'")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path, _, query = self.path.partition("?")
            if path in PAGES:
                with open(os.path.join(root, PAGES[path]), "rb") as f:
                    return self.send(200, f.read(), "text/html; charset=utf-8")
            if path.startswith("/static/"):
                name = os.path.basename(path)
                p = os.path.join(root, "static", name)
                if os.path.isfile(p) and path == "/static/" + name:
                    with open(p, "rb") as f:
                        return self.send(200, f.read(), TYPES[os.path.splitext(name)[1]])
            if path == "/api/v1/desktops":
                return self.send(200, fake.desktops("all=1" in query))
            if path == "/api/v1/jobs":
                return self.send(200, fake.jobs())
            if path.startswith("/api/v1/desktops/") and path.endswith("/rdp"):
                return self.send(200, "full address:s:broker:3389\r\n", "application/x-rdp",
                                 [("Content-Disposition", 'attachment; filename="d.rdp"')])
            self.send(404, {"error": "no such thing: " + path})

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return "<not json>"

        def any_write(self):
            body = self.body()
            with fake.lock:
                fake.calls.append((self.command, self.path, self.headers.get("X-CSRF-Token"),
                                   body))
            if self.path == "/api/v1/login":
                if (body or {}).get("name") == "bad":
                    return self.send(401, {"error": "Wrong name or password."})
                return self.send(200, {"user": {"name": body.get("name")}, "token": "t",
                                       "csrf": CSRF})
            if self.path in ("/api/v1/enroll",):
                return self.send(201, {"name": (body or {}).get("name"), "role": "user"})
            if self.headers.get("X-CSRF-Token") != CSRF:
                return self.send(403, {"error": "CSRF token missing or wrong"})
            if self.path == "/api/v1/logout":
                return self.send(204, b"")
            if self.path.startswith("/api/v1/desktops/stuck"):
                return self.send(409, {"error": "desktop stuck is HostNotResponding"})
            return self.send(202, {"id": 99})

        do_POST = do_PUT = do_PATCH = do_DELETE = any_write

    return Handler


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def cli_screenshots(browser, base, out):
    for path, page in PAGES.items():
        stem = os.path.splitext(page)[0]
        for w, h in ((1280, 1800), (390, 3200)):
            png = os.path.join(out, "%s-%d.png" % (stem, w))
            subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu",
                            "--hide-scrollbars", "--window-size=%d,%d" % (w, h),
                            "--screenshot=" + png, base + path],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            print("wrote", png)


class Browser:
    def __init__(self, browser):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        opts = webdriver.ChromeOptions()
        opts.binary_location = browser
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        drv = shutil.which("chromedriver")
        self.d = webdriver.Chrome(service=Service(drv) if drv else Service(), options=opts)
        self.failures = []

    def width(self, w, h=900):
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": w, "height": h, "deviceScaleFactor": 1, "mobile": w < 600})

    def shot(self, png, w):
        self.width(w)
        time.sleep(0.2)
        h = self.d.execute_script("return document.documentElement.scrollHeight")
        self.width(w, min(max(h, 600), 6000))
        time.sleep(0.2)
        self.d.save_screenshot(png)
        sw = self.d.execute_script("return document.documentElement.scrollWidth")
        if sw > w + 1:
            self.fail("%s: page is %d px wide at %d px (horizontal scroll)" % (png, sw, w))
        print("wrote", png)

    def console(self, what):
        for e in self.d.get_log("browser"):
            # The API errors the smoke test provokes on purpose are logged
            # as failed loads; CSP violations and script errors are not.
            if "Failed to load resource: the server responded with a status of 4" in \
                    e["message"]:
                continue
            if e["level"] in ("SEVERE", "ERROR"):
                self.fail("%s: console: %s" % (what, e["message"]))

    def fail(self, msg):
        print("FAIL:", msg)
        self.failures.append(msg)

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)


def smoke(b, base, fake):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
    d = b.d
    css = lambda sel: d.find_element(By.CSS_SELECTOR, sel)  # noqa: E731

    def called(method, path):
        with fake.lock:
            return any(c[0] == method and c[1] == path for c in fake.calls)

    def reloaded(el):
        WebDriverWait(d, 20).until(EC.staleness_of(el))
        WebDriverWait(d, 10).until(
            lambda _: d.execute_script("return document.readyState") == "complete")

    def wait(cond, t=10, what=""):
        try:
            WebDriverWait(d, t).until(lambda _: cond())
        except Exception:
            raise AssertionError("timed out: %s (at %s)" % (what, d.current_url)) from None

    # login: an error inline, then success goes to /desktops
    d.get(base + "/")
    css("#name").send_keys("bad")
    css("#password").send_keys("whatever1")
    css("#login-submit").click()
    wait(lambda: css("#error").text == "Wrong name or password.", what="login error shown")
    css("#name").clear()
    css("#name").send_keys("alice")
    css("#login-submit").click()
    wait(lambda: d.current_url.endswith("/desktops"), what="login -> /desktops")
    b.console("login")

    # enroll: mismatched passwords are refused in the page
    d.get(base + "/enroll")
    css("#name").send_keys("newbie")
    css("#password").send_keys("password-1")
    css("#password2").send_keys("password-2")
    css("#enroll-submit").click()
    time.sleep(0.3)
    b.check(d.current_url.endswith("/enroll"), "enroll went on with mismatched passwords")
    css("#password2").clear()
    css("#password2").send_keys("password-1")
    css("#enroll-submit").click()
    wait(lambda: d.current_url.endswith("/desktops"), what="enroll -> /desktops")
    b.check(any(c[1] == "/api/v1/enroll" for c in fake.calls), "no POST /enroll")

    # the request form's cost figure follows memory/CPUs and the pool
    d.get(base + "/desktops")
    b.check(css("#cost").text == "4.50", "initial cost %r" % css("#cost").text)
    css("#memory").clear()
    css("#memory").send_keys("8192")
    b.check(css("#cost").text == "6.50", "cost after 8 GiB: %r" % css("#cost").text)
    Select(css("#pool")).select_by_value("lab")
    b.check(css("#memory").get_attribute("value") == "2048", "pool defaults not applied")
    b.check(css("#cost").text == "1.25", "cost for lab: %r" % css("#cost").text)
    b.check("Teaching lab" in css("#pool-info").text, "pool description not shown")

    # properties panel
    btn = css('tr[data-desktop="alice-desk"] button[data-action="properties"]')
    panel = css("#" + btn.get_attribute("aria-controls"))
    b.check(not panel.is_displayed(), "properties shown before the click")
    btn.click()
    b.check(panel.is_displayed() and btn.get_attribute("aria-expanded") == "true",
            "properties panel did not open")
    b.check("bob, carol" in panel.text, "delegated admins not in the panel")

    # an action carries the CSRF token; an API error shows inline
    fake.calls.clear()
    old = css('tr[data-desktop="alice-desk"] button[data-action="stop"]')
    old.click()
    wait(lambda: called("POST", "/api/v1/desktops/alice-desk/stop"), what="stop")
    call = [c for c in fake.calls if c[1].endswith("/stop")][0]
    b.check(call[0] == "POST" and call[2] == CSRF, "stop call %r" % (call,))
    reloaded(old)
    css('tr[data-desktop="stuck"] button[data-action="delete"]').click()
    alert = d.switch_to.alert
    b.check("stuck" in alert.text, "confirm text %r" % alert.text)
    alert.accept()
    wait(lambda: "HostNotResponding" in css("#error").text, what="409 shown inline")

    # polling: the job's progress moves in place, then the page reloads
    # once the desktop is Running and its job gone
    d.get(base + "/desktops")
    with fake.lock:
        fake.settled, fake.progress = False, 40
    prog = css('progress[data-job-progress="17"]')
    wait(lambda: float(prog.get_attribute("value") or 0) >= 60, what="job progress in place")
    reloaded(prog)
    b.check(fake.settled, "reloaded before the job finished")
    b.console("desktops")

    # admin: maintenance switch, user form validation, pool edit
    fake.calls.clear()
    fake.settled = True
    d.get(base + "/admin")
    old = css('tr[data-host="node1"] button[data-action="maintenance"]')
    old.click()
    wait(lambda: called("POST", "/api/v1/hosts/node1/maintenance"), what="maintenance")
    call = [c for c in fake.calls if c[1].endswith("/maintenance")][0]
    b.check(call[3] == {"on": True}, "maintenance body %r" % (call[3],))
    reloaded(old)
    css('tr[data-pool="lab"] button[data-action="edit-pool"]').click()
    b.check(css("#pool-name").get_attribute("value") == "lab", "edit did not fill the form")
    b.check(css("#pool-memory").get_attribute("value") == "2048", "edit memory")
    css("#pool-submit").click()
    wait(lambda: called("PATCH", "/api/v1/pools/lab"), what="pool edit")
    b.console("admin")

    # logout
    css("#logout").click()
    wait(lambda: d.current_url.rstrip("/") == base, what="logout -> /")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--render", default=os.environ.get("WEB_RENDER") or os.path.join(
        here, "..", "..", "build", "tests", "unit", "broker-web", "web-render"))
    ap.add_argument("--out", default=None, help="where the pages and PNGs go")
    ap.add_argument("--no-smoke", action="store_true", help="screenshots only")
    args = ap.parse_args()

    browser = chromium()
    if not browser:
        print("SKIP: no chromium")
        return 77
    if not os.access(args.render, os.X_OK):
        print("SKIP: no web-render at %s (--render)" % args.render)
        return 77
    out = args.out or tempfile.mkdtemp(prefix="skylight-web-")
    os.makedirs(out, exist_ok=True)
    sample = os.path.join(out, "sample.json")
    with open(sample, "w") as f:
        json.dump(SAMPLE, f, ensure_ascii=False, indent=1)
    subprocess.run([args.render, sample, out], check=True)

    fake = Fake()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(out, fake))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % srv.server_address[1]

    try:
        b = Browser(browser)
    except Exception as e:  # no selenium or no chromedriver
        print("no selenium (%s): screenshots with the chromium CLI only" % e)
        cli_screenshots(browser, base, out)
        srv.shutdown()
        return 0
    try:
        for path, page in PAGES.items():
            b.d.get(base + path)
            for w in (1280, 390):
                b.shot(os.path.join(out, "%s-%d.png" % (os.path.splitext(page)[0], w)), w)
            b.console(path)
        b.width(1280)
        if not args.no_smoke:
            smoke(b, base, fake)
    except Exception as e:
        b.fail("%s: %s" % (type(e).__name__, e))
    finally:
        b.d.quit()
        srv.shutdown()
    print("pages and screenshots in", out)
    if b.failures:
        print("%d failure(s)" % len(b.failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
