#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""e2e: the embedded default (skybroker --embedded: broker + skyhostd + skyrdp +
the test guest's desktop) driven the way people use it:

- Web: in headless Chromium (Selenium + Debian's chromedriver) a person
  enrolls, logs in, requests a desktop, sees it Running and downloads its
  .rdp file; an admin sees hosts, desktops and jobs in the console.
- RDP: xfreerdp opens that .rdp file, logs on at the broker's front door and
  lands on the desktop through a Server Redirection to the host's skyrdp
  (127.0.0.2, same port); the one-time token it carried is refused the
  second time.
- Health: a killed skyhostd turns its host not_responding and its desktops
  HostNotResponding within a bound, on the API and in the console.
- Bad input over HTTPS: malformed and oversized JSON, SQL metacharacters and
  HTML in text fields, a missing CSRF token, wrong passwords (rate limited)
  get clean 4xx answers and the database stays intact.

Skips (77) with a message where /dev/kvm, Xvfb, xfreerdp, chromium or
Selenium is missing.
"""

import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

# Debian's python3-selenium lives in /usr/bin/python3's path; meson may have
# started us with another interpreter.
try:
    import selenium  # noqa: F401
except ImportError:
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != \
            os.path.realpath("/usr/bin/python3") and not os.environ.get("SKYLIGHT_REEXEC"):
        os.environ["SKYLIGHT_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rdptest  # noqa: E402
import brokertest  # noqa: E402
from brokertest import API, Broker  # noqa: E402
from rdptest import wait_for  # noqa: E402

PASSWORD = "correct horse battery"


def skip_reason():
    why = rdptest.skip_reason()
    if why:
        return why
    for name, path in (("skybroker", brokertest.SKYBROKER), ("skyhostd", brokertest.SKYHOSTD)):
        if not path or not os.access(path, os.X_OK):
            return f"{name} is not built"
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        return "needs chromium and chromedriver (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401,F811
    except ImportError:
        return "needs Selenium (apt-get install python3-selenium)"
    return None


class Browser:
    def __init__(self, tmp, width=1280, height=900):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.downloads = os.path.join(tmp, "downloads")
        os.makedirs(self.downloads, exist_ok=True)
        o = webdriver.ChromeOptions()
        o.binary_location = shutil.which("chromium")
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--ignore-certificate-errors", f"--window-size={width},{height}",
                  f"--user-data-dir={os.path.join(tmp, 'chromium-profile')}"):
            o.add_argument(a)
        o.add_experimental_option("prefs", {"download.default_directory": self.downloads,
                                            "download.prompt_for_download": False})
        self.d = webdriver.Chrome(service=Service(shutil.which("chromedriver"),
                                                  log_output=os.path.join(tmp, "chromedriver.log")),
                                  options=o)
        self.d.execute_cdp_cmd("Page.setDownloadBehavior",
                               {"behavior": "allow", "downloadPath": self.downloads})
        self.d.implicitly_wait(0)
        self.tmp = tmp
        self.shots = 0

    def quit(self):
        self.d.quit()

    def css(self, sel, timeout=30):
        from selenium.webdriver.common.by import By
        return wait_for(f"the element {sel}",
                        lambda: (self.d.find_elements(By.CSS_SELECTOR, sel) or [None])[0],
                        timeout, interval=0.2)

    def attr(self, sel, name, timeout=30):
        """The attribute of the first element matching sel, read in one script
        call: the page re-renders its tables while it polls, so an element
        found by css() may be replaced before a second call reads it."""
        js = ("const e = document.querySelector(arguments[0]);"
              "return e ? e.getAttribute(arguments[1]) : null;")
        from selenium.common.exceptions import JavascriptException

        def read():
            try:
                return self.d.execute_script(js, sel, name)
            except JavascriptException:  # the page is reloading itself
                return None
        return wait_for(f"the element {sel}", read, timeout, interval=0.2)

    def click(self, sel, timeout=30):
        """Click the element matching sel, finding it again if the page
        replaced it between the lookup and the click."""
        from selenium.common.exceptions import StaleElementReferenceException

        def once():
            try:
                self.css(sel, timeout).click()
                return True
            except StaleElementReferenceException:
                return False
        wait_for(f"a click on {sel}", once, timeout, interval=0.2)

    def all(self, sel):
        from selenium.webdriver.common.by import By
        return self.d.find_elements(By.CSS_SELECTOR, sel)

    def type(self, sel, text):
        e = self.css(sel)
        e.clear()
        e.send_keys(text)

    def shot(self, name):
        self.shots += 1
        path = os.path.join(self.tmp, f"{self.shots:02d}-{name}.png")
        self.d.save_screenshot(path)
        return path

    def console_errors(self):
        try:
            return [e for e in self.d.get_log("browser") if e.get("level") == "SEVERE"]
        except Exception:
            return []


def moving(a, b, block=16):
    """Boxes (x, y, w, h) of the block x block tiles that differ between two
    pictures of the same size (rows of RGB bytes): what changes by itself."""
    boxes = []
    h, w = len(a), len(a[0]) // 3
    for ty in range(0, h, block):
        for tx in range(0, w, block):
            if any(a[y][3 * tx:3 * (tx + block)] != b[y][3 * tx:3 * (tx + block)]
                   for y in range(ty, min(h, ty + block))):
                boxes.append((tx, ty, block, block))
    return boxes


class BrokerTest(rdptest.Artifacts, unittest.TestCase):
    def setUp(self):
        why = skip_reason()
        if why:
            print(f"SKIP: {why}")
            sys.exit(rdptest.SKIP)
        self.tmp = rdptest.temp_dir()
        self.failures_seen = self.failed()
        if self._testMethodName == "test_console_pam_user":
            confdir, _ = brokertest.pam_service(self.tmp, self.PAM_ACCOUNTS)
            self.broker = Broker(self.tmp, extra=["--pam", "skytest", "--pam-confdir", confdir],
                                 lsan_supp="../kvm/lsan-external.supp")
        else:
            self.broker = Broker(self.tmp)
        self.browser = None
        self.x = None

    def tearDown(self):
        failed = self.failed() != self.failures_seen
        if self.browser:
            self.browser.quit()
        rc = self.broker.stop()
        broker_log = self.broker.log()
        rdptest.kill_all()
        self.keep_artifacts()
        rdptest.remove_dir(self.tmp)
        if rc != 0 and not failed:
            raise AssertionError(f"skybroker exited {rc} on SIGTERM:\n{broker_log[-3000:]}")

    def wait_state(self, api, name, state, timeout=120):
        return wait_for(f"desktop {name} to be {state}",
                        lambda: api.desktop(name)["state"] == state, timeout, interval=0.5)

    # --- web -------------------------------------------------------------------

    def enroll_and_request(self, user, desktop):
        """In Chromium: enroll, request a desktop, see it Running, download
        its .rdp file.  Returns the file's path."""
        self.browser = b = Browser(self.tmp)
        b.d.get(self.broker.url + "/")
        b.shot("login")
        b.css("a[href='/enroll']").click()
        b.type("form#enroll #name", user)
        b.type("form#enroll #email", f"{user}@example.org")
        b.type("form#enroll #password", PASSWORD)
        b.type("form#enroll #password2", PASSWORD)
        b.shot("enroll")
        b.css("#enroll-submit").click()
        wait_for("the desktops page", lambda: b.d.current_url.endswith("/desktops"), 30)
        b.css("form#request")
        from selenium.webdriver.support.ui import Select
        Select(b.css("select#pool")).select_by_value("demo")
        b.type("#desktop-name", desktop)
        b.type("#description", "<b>my</b> 'desk' & \"more\"; DROP TABLE desktops;--")
        cost = b.css("output#cost").text
        b.shot("request")
        b.css("#request-submit").click()
        row = f"tr[data-desktop='{desktop}']"
        b.css(row, timeout=30)
        wait_for(f"{desktop} Running in the page",
                 lambda: b.attr(row + " [data-state]", "data-state") == "Running"
                 or (b.d.refresh() and False), 180, interval=2)
        b.shot("running")
        self.assertTrue(cost, "the request form shows a cost per day")
        # The description is shown as text, never as markup.
        self.assertNotIn("<b>my</b>", b.d.execute_script(
            "return document.querySelector(arguments[0]).innerHTML;", row))
        b.click(row + " a[data-action='connect']")

        def downloaded():
            files = [f for f in os.listdir(b.downloads) if f.endswith(".rdp")]
            return os.path.join(b.downloads, files[0]) if files else None
        path = wait_for("the .rdp download", downloaded, 30, interval=0.2)
        self.assertEqual(b.console_errors(), [])
        return path

    def test_web_enroll_connect(self):
        """Enroll and request in the browser, then connect through the broker."""
        rdp_file = self.enroll_and_request("carol", "carol-desk")
        with open(rdp_file) as f:
            text = f.read()
        self.assertIn(f"full address:s:127.0.0.1:{self.broker.rdp_port}", text)
        self.assertIn("username:s:carol", text)
        self.assertNotIn(PASSWORD, text)

        api = API(self.broker)
        api.login("carol", PASSWORD)
        d = api.desktop("carol-desk")
        self.assertEqual(d["state"], "Running")
        self.assertEqual(d["owner"], "carol")

        # xfreerdp with the downloaded file lands on the desktop.
        self.x = rdptest.Xvfb(self.tmp)
        client = rdptest.spawn(["xfreerdp", rdp_file, f"/p:{PASSWORD}", "/cert:ignore",
                                "/log-level:INFO", "/size:1024x768"],
                               os.path.join(self.tmp, "xfreerdp.log"), env=self.x.env)
        self.assert_lands_on_desktop(client, d)

    def assert_lands_on_desktop(self, client, d):
        """The client was redirected to the desktop's host and shows its
        screen: the window's picture equals the top left of the guest's
        framebuffer (a full-screen .rdp makes the guest as big as the X
        screen), apart from what moves by itself (the guest's clock)."""
        run = os.path.join(self.broker.state, "run")
        vm = d.get("vm") or d["name"]
        env = dict(os.environ, SKYLIGHT_RUN_DIR=run)
        shots = [0]
        self.x.xdotool("mousemove", rdptest.SCREEN_W - 1, rdptest.SCREEN_H - 1)

        def guest():
            shots[0] += 1
            shot = os.path.join(self.tmp, f"guest-{shots[0]}.png")
            r = subprocess.run([rdptest.SKYCTL, "vm", "screenshot", vm, shot], env=env,
                               capture_output=True, text=True, timeout=30)
            return rdptest.png_read(shot) if r.returncode == 0 else None

        state = {"want": None, "taken": 0.0, "masks": []}

        def matches():
            if client.poll() is not None:
                raise AssertionError(f"xfreerdp exited ({client.returncode}):\n"
                                     f"{rdptest.read_log(client)[-3000:]}")
            if state["want"] is None or time.monotonic() - state["taken"] > 5:
                a = guest()
                time.sleep(1.1)
                b = guest()
                if not a or not b or a[:2] != b[:2]:
                    return None
                state["want"], state["taken"] = b, time.monotonic()
                state["masks"] = [rdptest.grow(m, 8) for m in moving(a[2], b[2])]
                # Where the X pointer is drawn.
                state["masks"].append((rdptest.SCREEN_W - 48, rdptest.SCREEN_H - 48, 48, 48))
            gw, gh, want = state["want"]
            p = self.x.xdotool("search", "--onlyvisible", "--class", "xfreerdp", check=False)
            best = None
            for wid in p.stdout.split():
                g = self.x.xdotool("getwindowgeometry", "--shell", wid, check=False)
                v = dict(line.split("=", 1) for line in g.stdout.split() if "=" in line)
                try:
                    geo = tuple(int(v[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
                except (KeyError, ValueError):
                    continue
                if not best or geo[2] * geo[3] > best[2] * best[3]:
                    best = geo
            if not best or best[2] < 640 or best[3] < 480:
                return None
            x, y, w, h = best
            cw, ch = min(w, gw), min(h, gh)
            got = self.x.capture(x, y, cw, ch)
            stats = rdptest.compare([r[:3 * cw] for r in want[:ch]], got, state["masks"])
            state["stats"] = stats
            return stats if rdptest.close_enough(stats) else None
        try:
            wait_for("the client's window to show the guest's desktop", matches, 120, interval=1)
        except AssertionError as e:
            st = state.get("stats")
            raise AssertionError(f"{e}: {rdptest.describe(st) if st else 'no picture'}") from None
        # It got there through the front door: the host's skyrdp took a
        # one-time token for this user and VM.
        self.assertRegex(self.host_log(),
                         rf"{d['owner']} authenticated by one-time token for VM {re.escape(vm)}")

    # --- RDP through the front door, token reuse ------------------------------

    def test_rdp_redirect_token_single_use(self):
        """The demo user connects to the broker address; the token is single-use."""
        api = API(self.broker)
        demo_pw = self.broker.logins["demo"]
        api.login("demo", demo_pw)
        self.wait_state(api, "demo-desktop", "Running", timeout=180)
        d = api.desktop("demo-desktop")
        self.x = rdptest.Xvfb(self.tmp)
        client = rdptest.spawn(["xfreerdp", f"/v:127.0.0.1:{self.broker.rdp_port}", "/u:demo",
                                f"/p:{demo_pw}", "/cert:ignore", "/log-level:INFO",
                                "/size:1024x768", "/sec:tls"],
                               os.path.join(self.tmp, "xfreerdp.log"), env=self.x.env)
        self.assert_lands_on_desktop(client, d)
        rdptest.kill(client)
        # A wrong password at the front door is refused cleanly.
        bad = rdptest.spawn(["xfreerdp", f"/v:127.0.0.1:{self.broker.rdp_port}", "/u:demo",
                             "/p:not-the-password", "/cert:ignore", "/sec:tls"],
                            os.path.join(self.tmp, "xfreerdp-bad.log"), env=self.x.env)
        self.assertNotEqual(bad.wait(timeout=60), 0)
        self.assertRegex(self.broker.log(), r"wrong user name or password for demo")

    def host_log(self):
        out = []
        for root, _, files in os.walk(self.tmp):
            for f in files:
                if f.endswith(".log") and ("skyrdp" in f or "hostd" in f or "host1" in f):
                    out.append(open(os.path.join(root, f), errors="replace").read())
        return "\n".join(out) + self.broker.log()

    # --- health --------------------------------------------------------------

    def test_dead_host(self):
        """A killed skyhostd: host not_responding, desktops HostNotResponding."""
        api = API(self.broker)
        api.login("admin", self.broker.logins["admin"])
        wait_for("host1 to report", lambda: any(h["name"] == "host1" and h["health"] == "ok"
                                                for h in api.ok("GET", "/api/v1/hosts")), 60)
        self.wait_state(api, "demo-desktop", "Running", timeout=180)
        self.browser = b = Browser(self.tmp)
        self.web_login(b, "admin", self.broker.logins["admin"])
        b.d.get(self.broker.url + "/admin")
        self.assertEqual(b.attr("tr[data-host='host1'] [data-health]", "data-health"), "ok")
        self.assertTrue(b.all("tr[data-job]"), "the console lists the provisioning job")
        b.shot("admin-ok")
        pids = self.broker.hostd_pids()
        self.assertTrue(pids, "skyhostd runs")
        killed = time.monotonic()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        # 3 missed 1 s heartbeats, plus the monitor's period and slack.
        bound = 10
        wait_for("host1 not_responding", lambda: any(
            h["name"] == "host1" and h["health"] == "not_responding"
            for h in api.ok("GET", "/api/v1/hosts")), bound, interval=0.25)
        took = time.monotonic() - killed
        self.assertEqual(api.desktop("demo-desktop")["state"], "HostNotResponding")
        b.d.get(self.broker.url + "/admin")
        self.assertEqual(b.attr("tr[data-host='host1'] [data-health]", "data-health"),
                         "not_responding")
        b.shot("admin-dead")
        print(f"host1 not_responding {took:.1f} s after skyhostd was killed")

    def web_login(self, b, name, password):
        b.d.get(self.broker.url + "/")
        b.type("form#login #name", name)
        b.type("form#login #password", password)
        b.css("#login-submit").click()
        wait_for("the logged-in page", lambda: "/desktops" in b.d.current_url or
                 "/admin" in b.d.current_url, 30)

    # --- the console's user form, a pooled pool in the request form ---------

    def test_console_user_pooled_request(self):
        """An admin creates a user in the console; that user asks a pooled
        pool for a desktop in the browser and gets one the broker named."""
        api = API(self.broker)
        api.login("admin", self.broker.logins["admin"])
        api.ok("POST", "/api/v1/pools", {"name": "lab", "template": "desktop", "kind": "pooled",
                                         "memory_mb": 128, "cpus": 1, "max_desktops": 2})
        self.browser = b = Browser(self.tmp)
        self.web_login(b, "admin", self.broker.logins["admin"])
        b.d.get(self.broker.url + "/admin")
        # Without --pam there is no sign-in choice: every user has a password.
        self.assertEqual(b.all("#user-source"), [])
        b.type("#user-name", "dave")
        b.type("#user-password", PASSWORD)
        from selenium.webdriver.support.ui import Select
        Select(b.css("#user-role")).select_by_value("user")
        b.click("#user-submit")
        wait_for("dave in the users table",
                 lambda: b.attr("tr[data-user='dave'] [data-source]", "data-source"), 30)
        self.assertEqual(b.attr("tr[data-user='dave'] [data-source]", "data-source"), "local")
        b.shot("console-user")
        self.assertEqual(b.console_errors(), [])
        b.click("#logout")
        wait_for("the login page", lambda: b.d.current_url.rstrip("/") == self.broker.url, 30)

        self.web_login(b, "dave", PASSWORD)
        b.d.get(self.broker.url + "/desktops")
        name = b.css("#desktop-name")
        self.assertTrue(name.is_displayed(), "the first pool (demo) is personal")
        Select(b.css("select#pool")).select_by_value("lab")
        wait_for("the name field hidden for a pooled pool", lambda: not name.is_displayed(), 10)
        b.shot("request-pooled")
        b.click("#request-submit")
        row = "tr[data-desktop^='lab-']"
        wait_for("the pooled desktop in the page", lambda: b.attr(row, "data-desktop"), 30)
        got = b.attr(row, "data-desktop")
        self.assertEqual(got, "lab-1")
        self.assertEqual(b.console_errors(), [])
        d = api.desktop("lab-1")
        self.assertEqual((d["pool"], d["owner"]), ("lab", "dave"))

    PAM_ACCOUNTS = {"erin": "erins pam password"}

    def test_console_pam_user(self):
        """With --pam, an admin adds a PAM user in the console (no password
        asked); that user then logs in to the web pages with PAM's password."""
        self.browser = b = Browser(self.tmp)
        self.web_login(b, "admin", self.broker.logins["admin"])
        b.d.get(self.broker.url + "/admin")
        from selenium.webdriver.support.ui import Select
        password = b.css("#user-password")
        self.assertTrue(password.is_displayed())
        b.type("#user-name", "erin")
        Select(b.css("#user-source")).select_by_value("pam")
        wait_for("the password field hidden for a PAM user",
                 lambda: not password.is_displayed(), 10)
        Select(b.css("#user-role")).select_by_value("delegated_admin")
        b.shot("console-pam-user")
        b.click("#user-submit")
        wait_for("erin in the users table",
                 lambda: b.attr("tr[data-user='erin'] [data-source]", "data-source"), 30)
        self.assertEqual(b.attr("tr[data-user='erin'] [data-source]", "data-source"), "pam")
        self.assertEqual(b.console_errors(), [])
        b.click("#logout")
        wait_for("the login page", lambda: b.d.current_url.rstrip("/") == self.broker.url, 30)

        self.web_login(b, "erin", self.PAM_ACCOUNTS["erin"])
        self.assertEqual(b.css("#viewer-role").text, "Delegated admin")
        api = API(self.broker)
        api.login("admin", self.broker.logins["admin"])
        u = api.ok("GET", "/api/v1/users/erin")
        self.assertEqual((u["source"], u["role"]), ("pam", "delegated_admin"))

    # --- bad input -----------------------------------------------------------

    def test_bad_input(self):
        api = API(self.broker)
        admin_pw = self.broker.logins["admin"]
        api.login("admin", admin_pw)
        before = self.snapshot(api)

        # Malformed, wrong-typed, non-object, oversized JSON; wrong type.
        for raw in (b"{", b"[]", b"\"x\"", b"{\"name\": 5}", b"\xff\xfe", b"{\"name\":\"a\"}x"):
            s, obj, _, _ = api.call("POST", "/api/v1/pools", raw=raw)
            self.assertEqual(s, 400, (raw, s, obj))
            self.assertIn("error", obj)
        # An oversized body is refused from its Content-Length, before it is
        # read: ask with the headers alone (sending 2 MiB into a connection
        # the server closes after answering races with its reset).
        c = http.client.HTTPSConnection("127.0.0.1", self.broker.web_port,
                                        context=self.broker.ssl, timeout=30)
        c.putrequest("POST", "/api/v1/pools")
        for k, v in (("Content-Type", "application/json"), ("Content-Length", str(2 << 20)),
                     ("Authorization", "Bearer " + api.token)):
            c.putheader(k, v)
        c.endheaders()
        r = c.getresponse()
        self.assertEqual(r.status, 413)
        c.close()
        s, _, _, _ = api.call("POST", "/api/v1/pools", raw=b"name=x",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(s, 415)

        # SQL metacharacters and HTML are data: refused as names, kept
        # verbatim as descriptions.
        evil = "x'); DROP TABLE users;-- <script>alert(1)</script> \" & ü"
        s, obj, _, _ = api.call("POST", "/api/v1/pools", {"name": evil, "template": "desktop",
                                                          "kind": "personal"})
        self.assertEqual(s, 400, obj)
        obj = api.ok("POST", "/api/v1/pools", {"name": "evil", "template": "desktop",
                                               "kind": "pooled", "description": evil,
                                               "memory_mb": 128, "cpus": 1})
        self.assertEqual(api.ok("GET", "/api/v1/pools/evil")["description"], evil)
        s, obj, _, _ = api.call("POST", "/api/v1/users", {"name": "mallory", "password": "pw' OR '1'='1",
                                                          "role": "user", "email": evil})
        self.assertIn(s, (201, 400), obj)

        # The admin console shows them escaped.
        self.browser = b = Browser(self.tmp)
        self.web_login(b, "admin", admin_pw)
        b.d.get(self.broker.url + "/admin")
        self.assertNotIn("<script>alert(1)</script>", b.d.page_source)
        self.assertEqual(b.console_errors(), [])

        # Cookie sessions need the CSRF token on unsafe methods.
        cookie = api.cookie.split(";")[0]
        s, obj, _, _ = api.call("POST", "/api/v1/pools", {"name": "nocsrf", "template": "desktop"},
                                headers={"Cookie": cookie}, bearer=False)
        self.assertEqual(s, 403, obj)
        s, obj, _, _ = api.call("POST", "/api/v1/pools", {"name": "csrf", "template": "desktop",
                                                          "kind": "pooled", "memory_mb": 128,
                                                          "cpus": 1},
                                headers={"Cookie": cookie, "X-CSRF-Token": api.csrf},
                                bearer=False)
        self.assertEqual(s, 201, obj)
        # Not logged in, and not an admin.
        s, _, _, _ = API(self.broker).call("GET", "/api/v1/users")
        self.assertEqual(s, 401)

        # Wrong passwords: 401, then 429 with Retry-After; the right one is
        # refused too while limited (no oracle), nothing else changes.
        anon = API(self.broker)
        codes = [anon.call("POST", "/api/v1/login", {"name": "demo", "password": f"wrong{i}"})[0]
                 for i in range(7)]
        self.assertEqual(codes[:5], [401] * 5, codes)
        self.assertEqual(codes[-1], 429, codes)
        s, _, hdrs, _ = anon.call("POST", "/api/v1/login",
                                  {"name": "demo", "password": self.broker.logins["demo"]})
        self.assertEqual(s, 429)
        self.assertTrue(hdrs.get("Retry-After"))

        # Nothing lost: everything that was there still is.
        after = self.snapshot(api)
        for kind, names in before.items():
            self.assertTrue(names <= after[kind], (kind, names - after[kind]))
        out = subprocess.run(["sqlite3", os.path.join(self.broker.state, "broker.db"),
                              "PRAGMA integrity_check;"], capture_output=True, text=True) \
            if shutil.which("sqlite3") else None
        if out:
            self.assertEqual(out.stdout.strip(), "ok", out.stderr)

    def snapshot(self, api):
        return {k: {o["name"] for o in api.ok("GET", f"/api/v1/{k}" + ("?all=1" if k == "desktops"
                                                                        else ""))}
                for k in ("users", "pools", "desktops", "hosts")}


if __name__ == "__main__":
    unittest.main()
