# SPDX-License-Identifier: GPL-3.0-or-later
"""The embedded default (skybroker --embedded) for tests and benchmarks:
Broker starts it on free ports in a temporary state directory and reads the
logins it prints; API speaks its REST API over HTTPS, verified against the
cluster CA.  Used by tests/e2e/test_broker.py, tests/kvm/test_skyctl_broker.py
and tests/bench/broker.py."""

import json
import os
import re
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import rdptest
from rdptest import wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
SKYBROKER = os.environ.get("SKYBROKER", "")
SKYHOSTD = os.environ.get("SKYHOSTD", "")
HOST_ADDR = "127.0.0.2"


# pam_exec with expose_authtok writes the password, NUL-terminated, to the
# checker's stdin; PAM_USER, PAM_RHOST and PAM_SERVICE are in its
# environment.  Exit 0 accepts.
PAM_CHECKER = """#!{python}
import os, sys
pw = sys.stdin.buffer.read().rstrip(b"\\0").decode("utf-8", "replace")
user = os.environ.get("PAM_USER", "")
with open({calls!r}, "a") as f:
    f.write(f"{{user}} {{os.environ.get('PAM_RHOST', '')}} {{os.environ.get('PAM_SERVICE', '')}}\\n")
sys.exit(0 if {accounts!r}.get(user) == pw else 1)
"""


def pam_service(tmp, accounts):
    """A PAM service "skytest" in tmp/pam.d, no root needed (Linux-PAM's
    pam_start_confdir): pam_exec hands the password to a checker that
    accepts accounts (name -> password) and appends "USER RHOST SERVICE" to
    tmp/calls for every call; pam_permit does the account step.  Returns
    (the folder for --pam-confdir, the calls file)."""
    confdir = os.path.join(tmp, "pam.d")
    calls = os.path.join(tmp, "calls")
    checker = os.path.join(tmp, "pam-checker")
    os.makedirs(confdir)
    with open(checker, "w") as f:
        f.write(PAM_CHECKER.format(python=sys.executable, calls=calls, accounts=accounts))
    os.chmod(checker, 0o700)
    open(calls, "w").close()
    # Module names only: PAM finds them where the system keeps them.
    with open(os.path.join(confdir, "skytest"), "w") as f:
        f.write(f"auth required pam_exec.so expose_authtok quiet {checker}\n"
                "account required pam_permit.so\n")
    return confdir, calls


class Broker:
    """skybroker --embedded in a temporary state directory, on free ports."""

    def __init__(self, tmp, heartbeat=1, fast_hash=True, extra=(), lsan_supp="lsan-frontdoor.supp"):
        """extra: more skybroker options; lsan_supp: the LeakSanitizer
        suppressions for a sanitizer build, relative to tests/e2e."""
        self.tmp = tmp
        self.state = os.path.join(tmp, "state")
        ports = set()
        while len(ports) < 4:
            ports.add(rdptest.free_port())
        self.web_port, self.cluster_port, self.rdp_port, self.host_api_port = sorted(ports)
        self.proc = rdptest.spawn(
            [SKYBROKER, "--embedded", "--state-dir", self.state,
             "--listen", f"127.0.0.1:{self.web_port}",
             "--cluster-listen", f"127.0.0.1:{self.cluster_port}",
             "--rdp-listen", f"127.0.0.1:{self.rdp_port}",
             "--host-listen", f"{HOST_ADDR}:{self.host_api_port}",
             "--heartbeat-interval", str(heartbeat),
             "--skyhostd", SKYHOSTD, "--skyvm", rdptest.SKYVM, "--skyrdp", rdptest.SKYRDP,
             "--guest", rdptest.GUEST, *extra],
            os.path.join(tmp, "skybroker.log"),
            env=self.env(fast_hash, lsan_supp))
        m = wait_for("skybroker's READY line", self._ready, 120, interval=0.2)
        self.url = f"https://127.0.0.1:{self.web_port}"
        self.ca = os.path.join(self.state, "pki", "ca.crt")
        self.ssl = ssl.create_default_context(cafile=self.ca)
        self.logins = dict(re.findall(r"login: (\S+) password: (\S+)", self.log()))
        assert "admin" in self.logins and "demo" in self.logins, self.log()[-3000:]
        self.ready = m

    @staticmethod
    def env(fast_hash, lsan_supp="lsan-frontdoor.supp"):
        """For a sanitizer build: FreeRDP 2.11 leaks a few KiB per TLS
        connection of the front door (lsan-frontdoor.supp); with --pam, Linux-PAM
        leaks inside itself too (../kvm/lsan-external.supp has both)."""
        supp = os.path.join(HERE, lsan_supp)
        env = dict(os.environ, SKYLIGHT_LOG="info")
        if fast_hash:
            env["SKYLIGHT_SCRYPT_N"] = "1024"
        env["LSAN_OPTIONS"] = ":".join(filter(None, [env.get("LSAN_OPTIONS"),
                                                      f"suppressions={supp}"]))
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                      "fast_unwind_on_malloc=0"]))
        return env

    def stop(self):
        """SIGTERM: the broker stops its host agent and exits 0 (under a
        sanitizer, with no report)."""
        return rdptest.kill(self.proc, grace=60)

    def log(self):
        return rdptest.read_log(self.proc)

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"skybroker exited ({self.proc.returncode}):\n"
                                 f"{self.log()[-4000:]}")
        return re.search(r"^READY .*$", self.log(), re.M)

    def hostd_pids(self):
        p = subprocess.run(["pgrep", "-f", f"skyhostd.*{self.state}"], capture_output=True,
                           text=True)
        return [int(x) for x in p.stdout.split()]


class API:
    """The REST API over HTTPS, verified against the cluster CA."""

    def __init__(self, broker):
        self.b = broker
        self.token = None
        self.cookie = None
        self.csrf = None

    def call(self, method, path, body=None, raw=None, headers=None, bearer=True):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        h = {"Accept": "application/json"}
        if data is not None:
            h["Content-Type"] = "application/json"
        if bearer and self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(headers or {})
        req = urllib.request.Request(self.b.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, context=self.b.ssl, timeout=60) as r:
                status, text, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, text, hdrs = e.code, e.read(), e.headers
        try:
            obj = json.loads(text) if text else None
        except ValueError:
            obj = None
        return status, obj, hdrs, text

    def login(self, name, password):
        s, obj, hdrs, _ = self.call("POST", "/api/v1/login", {"name": name, "password": password})
        assert s == 200, (s, obj)
        self.token = obj["token"]
        self.csrf = obj.get("csrf")
        self.cookie = hdrs.get("Set-Cookie")
        return obj

    def ok(self, method, path, body=None):
        s, obj, _, _ = self.call(method, path, body)
        assert 200 <= s < 300, (method, path, s, obj)
        return obj

    def desktop(self, name):
        return self.ok("GET", f"/api/v1/desktops/{name}")
