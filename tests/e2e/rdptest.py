# SPDX-License-Identifier: GPL-3.0-or-later
"""The e2e tier's harness: skyvm with the test guest's desktop, skyctl's user
store, skyrdp, and a real RDP client (xfreerdp) on a virtual X server (Xvfb)
driven by xdotool.  The client's picture is read from Xvfb's framebuffer
file (-fbdir: an XWD image) and compared with the guest's own framebuffer
(skyctl vm screenshot).

Every process goes in its own process group and is killed with it: at the
test's cleanup, at exit, on SIGTERM/SIGINT (meson's timeout), and, through
PR_SET_PDEATHSIG, when this process dies without a word.
"""

import atexit
import ctypes
import operator
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kvm"))
import skytest  # noqa: E402
from test_desktop import png_read  # noqa: E402

SKIP = skytest.SKIP
SKYVM = skytest.SKYVM
GUEST = skytest.GUEST
SKYCTL = os.environ.get("SKYCTL", "skyctl")
SKYRDP = os.environ.get("SKYRDP", "")
TOOLS = ("Xvfb", "xfreerdp", "xdotool")

# X screen: room for the client's window to grow (dynamic resolution).
SCREEN_W, SCREEN_H = 1600, 1200

# --- processes --------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_live = []
_dirs = []


def _child_setup():
    # PR_SET_PDEATHSIG: the child dies with us even after a SIGKILL.
    _libc.prctl(1, signal.SIGKILL, 0, 0, 0)


def spawn(argv, log, env=None, pass_fds=()):
    """Start argv in a new process group, output to the file log."""
    with open(log, "ab") as f:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                             env=env, pass_fds=pass_fds, start_new_session=True,
                             preexec_fn=_child_setup)
    p.log = log
    _live.append(p)
    return p


def kill(p, sig=signal.SIGTERM, grace=5):
    """End p and everything in its process group (skyrdp's forked sessions)."""
    if p not in _live:
        return p.returncode
    for s in (sig, signal.SIGKILL):
        try:
            os.killpg(p.pid, s)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    # The leader may be gone while a child lingers in the group.
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _live.remove(p)
    return p.returncode


def kill_all():
    for p in list(reversed(_live)):
        kill(p, grace=2)


def temp_dir():
    """A folder for one test's files, removed even when a signal ends us."""
    d = tempfile.mkdtemp(prefix="skytest-e2e-")
    _dirs.append(d)
    return d


def remove_dir(d):
    shutil.rmtree(d, ignore_errors=True)
    if d in _dirs:
        _dirs.remove(d)


def _on_signal(sig, frame):
    kill_all()
    for d in list(_dirs):
        remove_dir(d)
    os._exit(128 + sig)


atexit.register(kill_all)
for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_s, _on_signal)


def group_members(pgid):
    """The pids in process group pgid (skyrdp and its session workers)."""
    pids = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces.
        fields = stat[stat.rfind(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.add(int(d))
    return pids


SANITIZER = re.compile(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:")


def read_log(p):
    try:
        with open(p.log, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_for(what, cond, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        r = cond()
        if r:
            return r
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def skip_reason():
    """Why the e2e tier cannot run here, or None."""
    why = skytest.kvm_unusable()
    if why:
        return f"needs a usable /dev/kvm ({why})"
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        return f"needs {', '.join(missing)} (apt-get install xvfb freerdp2-x11 xdotool)"
    if not SKYRDP or not os.access(SKYRDP, os.X_OK):
        return "skyrdp is not built"
    return None


def require():
    why = skip_reason()
    if why:
        print(f"SKIP: e2e tier {why}")
        sys.exit(SKIP)


def free_port(addr="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def listening(port):
    """Whether something listens on 127.0.0.1:port (without connecting to it)."""
    want = f"0100007F:{port:04X}"
    any_ = f"00000000:{port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] in (want, any_) and fields[3] == "0A":
                return True
    return False

# --- artifacts of a failed test --------------------------------------------

KEEP = os.environ.get("SKYLIGHT_E2E_KEEP") == "1"


class Artifacts:
    """For unittest.TestCase subclasses whose files are in self.tmp: set
    self.failures_seen = self.failed() in setUp and call keep_artifacts()
    (e.g. as a cleanup) before the folder goes.  A test that failed, or any
    test with SKYLIGHT_E2E_KEEP=1, leaves its files (minus sockets, X
    framebuffers, databases and keys) in $SKYLIGHT_E2E_ARTIFACTS/TEST."""

    def failed(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if not result:
            return 0
        return len(result.failures) + len(result.errors)

    def keep_artifacts(self):
        dest = os.environ.get("SKYLIGHT_E2E_ARTIFACTS")
        if not dest or (self.failed() == getattr(self, "failures_seen", 0) and not KEEP):
            return
        dest = os.path.join(dest, self.id().split(".", 1)[1])
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(self.tmp, dest, ignore=shutil.ignore_patterns("*.sock", "*.display",
                                                                      "Xvfb_screen*", "*.db*",
                                                                      "*key.pem", "*.key",
                                                                      "chromium-profile"),
                        ignore_dangling_symlinks=True)
        print(f"artifacts in {dest}", file=sys.stderr)


# --- Xvfb and its framebuffer ---------------------------------------------


class Xvfb:
    def __init__(self, tmp):
        self.fbdir = os.path.join(tmp, "xvfb")
        os.mkdir(self.fbdir)
        r, w = os.pipe()
        try:
            # -displayfd: Xvfb picks a free display and says which when ready.
            self.proc = spawn(["Xvfb", "-displayfd", str(w), "-screen", "0",
                               f"{SCREEN_W}x{SCREEN_H}x24", "-fbdir", self.fbdir, "-nolisten",
                               "tcp", "-noreset"], os.path.join(tmp, "xvfb.log"), pass_fds=(w,))
            os.close(w)
            w = -1
            num = b""
            deadline = time.monotonic() + 30
            while not num.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([r], [], [], left)[0]:
                    raise AssertionError(f"Xvfb did not start:\n{read_log(self.proc)}")
                chunk = os.read(r, 16)
                if not chunk:
                    raise AssertionError(f"Xvfb exited:\n{read_log(self.proc)}")
                num += chunk
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)
        self.display = f":{int(num)}"
        self.env = dict(os.environ, DISPLAY=self.display)
        self.env.pop("WAYLAND_DISPLAY", None)
        self.xwd = os.path.join(self.fbdir, "Xvfb_screen0")

    def xdotool(self, *args, check=True):
        p = subprocess.run(["xdotool"] + [str(a) for a in args], capture_output=True, text=True,
                           env=self.env, timeout=30)
        if check and p.returncode:
            raise AssertionError(f"xdotool {' '.join(map(str, args))}: {p.stderr.strip()}")
        return p

    def capture(self, x, y, w, h):
        """Rows of RGB bytes of the screen's rectangle x,y wxh (XWD, ZPixmap, 32 bpp)."""
        with open(self.xwd, "rb") as f:
            data = f.read()
        (hsize, version, fmt, _depth, width, height, _xoff, byte_order, _unit, _bit_order,
         _pad, bpp, bpl, _vclass, rmask, gmask, bmask, _bits, _entries,
         ncolors) = struct.unpack(">20I", data[:80])
        if version != 7 or fmt != 2 or bpp != 32:
            raise AssertionError(f"XWD: version {version}, format {fmt}, {bpp} bpp: expected "
                                 "7, ZPixmap, 32")
        if x < 0 or y < 0 or x + w > width or y + h > height:
            raise AssertionError(f"{w}x{h}+{x}+{y} is not on the {width}x{height} screen")

        def index(mask):
            shift = (mask & -mask).bit_length() - 1
            return shift // 8 if byte_order == 0 else 3 - shift // 8

        ri, gi, bi = index(rmask), index(gmask), index(bmask)
        base = hsize + 12 * ncolors
        rows = []
        for yy in range(y, y + h):
            seg = data[base + yy * bpl + 4 * x:base + yy * bpl + 4 * (x + w)]
            rgb = bytearray(3 * w)
            rgb[0::3] = seg[ri::4]
            rgb[1::3] = seg[gi::4]
            rgb[2::3] = seg[bi::4]
            rows.append(bytes(rgb))
        return rows

# --- pictures ---------------------------------------------------------------


def compare(want, got, masks=(), block=16, tile_max=24):
    """(mean absolute difference per channel, fraction of block x block tiles
    whose mean difference is over tile_max, the worst tile's mean and its
    x,y), outside the masked boxes (x, y, w, h).  The mean alone would miss
    a stale word or a 1-pixel shift; a 16x16 tile does not (measured: a
    faithful H.264 picture's worst tile is about 10, a missing "hello" or a
    shift about 40)."""
    h, w = len(want), len(want[0]) // 3
    if (len(got), len(got[0]) // 3) != (h, w):
        raise AssertionError(f"sizes differ: {w}x{h} against {len(got[0]) // 3}x{len(got)}")
    keep = []
    for yy in range(h):
        cols = [(0, w)]
        for (mx, my, mw, mh) in masks:
            if my <= yy < my + mh:
                nxt = []
                for (a, b) in cols:
                    if b <= mx or a >= mx + mw:
                        nxt.append((a, b))
                        continue
                    if a < mx:
                        nxt.append((a, mx))
                    if b > mx + mw:
                        nxt.append((mx + mw, b))
                cols = nxt
        keep.append(cols)
    chan = [0, 0, 0]
    count = 0
    bw, bh = (w + block - 1) // block, (h + block - 1) // block
    tile_sum = [0] * (bw * bh)
    tile_n = [0] * (bw * bh)
    for yy in range(h):
        ra, rb = want[yy], got[yy]
        trow = (yy // block) * bw
        for (a, b) in keep[yy]:
            # Split at tile edges so each piece adds to one tile.
            x0 = a
            while x0 < b:
                x1 = min(b, (x0 // block + 1) * block)
                sa, sb = ra[3 * x0:3 * x1], rb[3 * x0:3 * x1]
                d = list(map(abs, map(operator.sub, sa, sb)))
                s0, s1, s2 = sum(d[0::3]), sum(d[1::3]), sum(d[2::3])
                chan[0] += s0
                chan[1] += s1
                chan[2] += s2
                tile_sum[trow + x0 // block] += s0 + s1 + s2
                tile_n[trow + x0 // block] += 3 * (x1 - x0)
                count += x1 - x0
                x0 = x1
    mean = tuple(c / max(count, 1) for c in chan)
    bad, worst, where = 0, 0.0, (0, 0)
    tiles = 0
    for i, (s, n) in enumerate(zip(tile_sum, tile_n)):
        if not n:
            continue
        tiles += 1
        m = s / n
        if m > tile_max:
            bad += 1
        if m > worst:
            worst, where = m, ((i % bw) * block, (i // bw) * block)
    return mean, bad / max(tiles, 1), worst, where


def close_enough(stats, mean_max=8.0, bad_max=0.0):
    mean, bad, _, _ = stats
    return max(mean) < mean_max and bad <= bad_max


def describe(stats):
    mean, bad, worst, where = stats
    return (f"mean difference R {mean[0]:.2f} G {mean[1]:.2f} B {mean[2]:.2f}, "
            f"{bad * 100:.1f}% of tiles off, worst tile {worst:.1f} at {where[0]},{where[1]}")


def grow(box, by):
    x, y, w, h = box
    return (x - by, y - by, w + 2 * by, h + 2 * by)


def png_write(path, rows):
    """An 8-bit RGB PNG of rows (for looking at a failure)."""
    import zlib

    h, w = len(rows), len(rows[0]) // 3

    def chunk(typ, body):
        c = struct.pack(">I", len(body)) + typ + body
        return c + struct.pack(">I", zlib.crc32(typ + body) & 0xffffffff)

    raw = b"".join(b"\0" + r for r in rows)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 3)) + chunk(b"IEND", b""))

# --- the VM -----------------------------------------------------------------


class Guest:
    def __init__(self, tmp, name="vm1", cmdline="desktop"):
        self.name = name
        self.run_dir = os.path.join(tmp, "run")
        os.mkdir(self.run_dir, 0o700)
        self.serial = os.path.join(tmp, "serial.log")
        self.env = dict(os.environ, SKYLIGHT_RUN_DIR=self.run_dir)
        self.tmp = tmp
        self.proc = spawn([SKYVM, "--kernel", GUEST, "--mem", "128M", "--name", name,
                           "--run-dir", self.run_dir, "--cmdline", cmdline,
                           "--serial", "file:" + self.serial], os.path.join(tmp, "skyvm.log"))
        self.shots = 0

    def output(self):
        try:
            with open(self.serial, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_serial(self, pattern, timeout=60, start=0):
        """The match of pattern in the serial output after offset start."""
        def seen():
            m = re.compile(pattern).search(self.output(), start)
            if not m and self.proc.poll() is not None:
                raise AssertionError(f"skyvm exited ({self.proc.returncode}) before {pattern!r}:"
                                     f"\n{self.output()[-2000:]}\n{read_log(self.proc)[-2000:]}")
            return m
        try:
            return wait_for(repr(pattern), seen, timeout)
        except AssertionError as e:
            raise AssertionError(f"{e}; serial:\n{self.output()[-3000:]}") from None

    def boot(self):
        self.wait_serial(r"desktop: ready")
        m = self.wait_serial(r"desktop: clock at (\d+),(\d+) (\d+)x(\d+)")
        self.clock = tuple(int(v) for v in m.groups())

    def skyctl(self, *args):
        p = subprocess.run([SKYCTL, "vm"] + [str(a) for a in args], capture_output=True,
                           text=True, timeout=60, env=self.env)
        if p.returncode:
            raise AssertionError(f"skyctl vm {' '.join(map(str, args))}: {p.stderr.strip()}")
        return p

    def screenshot(self):
        self.shots += 1
        path = os.path.join(self.tmp, f"guest-{self.shots}.png")
        self.skyctl("screenshot", self.name, path)
        w, h, rows = png_read(path)
        return w, h, rows

# --- skyrdp and the client --------------------------------------------------


def add_user(store, name, password, *extra):
    p = subprocess.run([SKYCTL, "user", "add", name, "--users", store, "--password-stdin"]
                       + list(extra), input=password + "\n", capture_output=True, text=True,
                       timeout=60)
    if p.returncode:
        raise AssertionError(f"skyctl user add {name}: {p.stderr.strip()}")


class SkyRDP:
    def __init__(self, tmp, guest, store, *extra):
        self.port = free_port()
        self.state = os.path.join(tmp, "rdp-state")
        os.makedirs(self.state, exist_ok=True)
        self.proc = spawn([SKYRDP, "--listen", f"127.0.0.1:{self.port}", "--run-dir",
                           guest.run_dir, "--vm", guest.name, "--users", store, "--state-dir",
                           self.state, "--max-sessions", "4"] + list(extra),
                          os.path.join(tmp, "skyrdp.log"))

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"skyrdp exited ({self.proc.returncode}):\n"
                                     f"{read_log(self.proc)[-3000:]}")
            return listening(self.port)
        wait_for(f"skyrdp to listen on port {self.port}", up, 60)

    def log(self):
        return read_log(self.proc)


class Client:
    """One xfreerdp; args are its options after /v: /u: /p:."""

    count = 0

    def __init__(self, x, tmp, port, user, password, *args):
        Client.count += 1
        self.x = x
        self.proc = spawn(["xfreerdp", f"/v:127.0.0.1:{port}", f"/u:{user}", f"/p:{password}",
                           "/cert:ignore", "/log-level:INFO"] + list(args),
                          os.path.join(tmp, f"xfreerdp-{Client.count}.log"), env=x.env)
        self.wid = None

    def log(self):
        return read_log(self.proc)

    def window(self, timeout=60):
        """The client's window: (id, x, y, width, height)."""
        def find():
            if self.proc.poll() is not None:
                raise AssertionError(f"xfreerdp exited ({self.proc.returncode}):\n"
                                     f"{self.log()[-3000:]}")
            # By _NET_WM_PID, else by class (one client at a time).
            p = self.x.xdotool("search", "--onlyvisible", "--pid", self.proc.pid, check=False)
            if not p.stdout.split():
                p = self.x.xdotool("search", "--onlyvisible", "--class", "xfreerdp", check=False)
            best = None
            for wid in p.stdout.split():
                g = self.geometry(wid)
                if g and (not best or g[3] * g[4] > best[3] * best[4]):
                    best = g
            return best if best and best[3] > 1 and best[4] > 1 else None
        g = wait_for("the xfreerdp window", find, timeout, interval=0.25)
        self.wid = g[0]
        return g

    def geometry(self, wid=None):
        p = self.x.xdotool("getwindowgeometry", "--shell", wid or self.wid, check=False)
        v = dict(line.split("=", 1) for line in p.stdout.split() if "=" in line)
        try:
            return (v["WINDOW"], int(v["X"]), int(v["Y"]), int(v["WIDTH"]), int(v["HEIGHT"]))
        except (KeyError, ValueError):
            return None

    def capture(self):
        _, x, y, w, h = self.geometry()
        return self.x.capture(x, y, w, h)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            kill(self.proc)
