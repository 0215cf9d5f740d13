#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the linux-guest image: Debian's current kernel, unmodified, and a
busybox initramfs.

  mkimage.py OUTDIR

Fetches linux-image-amd64's kernel package and busybox-static with
`apt-get download` (cached in OUTDIR/debs), extracts the uncompressed
vmlinux from vmlinuz (a bzImage's decompressor crawls on a software-only
KVM: docs/software-kvm.md), and writes OUTDIR/vmlinux,
OUTDIR/initramfs.cpio and OUTDIR/version.  The initramfs /init mounts
/proc and /sys, prints SKYLIGHT-LINUX-INIT with the uptime, tries to load
the Hyper-V modules it carries, lists /sys/bus/vmbus/devices, prints
SKYLIGHT-LINUX-DONE and powers off.
"""

import glob
import gzip
import lzma
import os
import shutil
import stat
import subprocess
import sys

# Modules the init loads, with what they depend on (from modules.dep), in
# dependency order: the VMBus core, the integration services, and the
# video, keyboard and mouse drivers for skyvm's synthetic devices.
MODULES = ["hv_vmbus", "hv_utils", "hyperv_drm", "hyperv_keyboard", "hid_hyperv"]

INIT = r"""#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "SKYLIGHT-LINUX-INIT uptime=$(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r)"
for m in $(cat /modules.list); do
	if insmod "/$m" 2>/tmp/err; then echo "module $m: loaded"; else echo "module $m: $(cat /tmp/err)"; fi
done
sleep 1
echo "vmbus devices: $(ls /sys/bus/vmbus/devices 2>/dev/null | tr '\n' ' ')"
echo "framebuffer: $(cat /sys/class/graphics/fb0/name /sys/class/graphics/fb0/virtual_size 2>/dev/null | tr '\n' ' ')"
# Lines typed on the first virtual terminal (hyperv_keyboard) come back on
# the serial port, for test_linux_desktop.py.
if [ -e /dev/tty1 ]; then (while read -r l; do echo "tty1: $l"; done </dev/tty1) & fi
echo "SKYLIGHT-LINUX-DONE uptime=$(cut -d' ' -f1 /proc/uptime)"
# skylight.hold=1: stay up so the host can look at the bus (test_linux_vmbus.py).
if grep -q skylight.hold=1 /proc/cmdline; then while :; do sleep 60; done; fi
poweroff -f
"""


def run(*argv, **kw):
    return subprocess.run(argv, check=True, **kw)


def download(debs):
    os.makedirs(debs, exist_ok=True)
    dep = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], check=True,
                         capture_output=True, text=True).stdout
    kpkg = next(line.split()[1] for line in dep.splitlines() if "Depends:" in line)
    for pkg in (kpkg, "busybox-static"):
        if not glob.glob(os.path.join(debs, glob.escape(pkg) + "_*.deb")):
            run("apt-get", "download", pkg, cwd=debs)
    return kpkg


def extract_vmlinux(vmlinuz):
    """The ELF vmlinux inside a bzImage: find the compressed payload by magic."""
    data = open(vmlinuz, "rb").read()
    for magic, fn in ((b"\xfd7zXZ\x00", lambda b: lzma.LZMADecompressor().decompress(b)),
                      (b"\x1f\x8b\x08", lambda b: gzip.GzipFile(fileobj=__import__("io").BytesIO(b)).read()),
                      (b"\x28\xb5\x2f\xfd", None)):
        i = data.find(magic)
        if i < 0:
            continue
        if fn is None:
            out = subprocess.run(["zstd", "-dc"], input=data[i:], capture_output=True).stdout
        else:
            try:
                out = fn(data[i:])
            except (lzma.LZMAError, OSError, EOFError):
                continue
        if out[:4] == b"\x7fELF":
            return out
    raise SystemExit(f"mkimage: no ELF vmlinux found inside {vmlinuz}")


def modinfo_depends(path):
    """The depends= list in a module's .modinfo ELF section (what depmod
    reads; Debian's packages ship no modules.dep, postinst builds it)."""
    import struct
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return []
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    sections = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_off = sections[shstrndx][4]
    for name, _type, _flags, _addr, off, size in sections:
        sname = data[names_off + name:data.index(b"\0", names_off + name)]
        if sname == b".modinfo":
            for field in data[off:off + size].split(b"\0"):
                if field.startswith(b"depends="):
                    return [d for d in field[8:].decode().split(",") if d]
    return []


def module_order(moddir, wanted):
    """Paths (relative to moddir) of the wanted modules and everything they
    depend on, each after what it needs."""
    by_name = {}
    for dirpath, _, files in os.walk(os.path.join(moddir, "kernel")):
        for f in files:
            if f.endswith(".ko"):
                by_name[f[:-3].replace("-", "_")] = os.path.relpath(os.path.join(dirpath, f), moddir)
    order = []

    def add(name):
        path = by_name.get(name.replace("-", "_"))
        if not path or path in order:
            return
        for d in modinfo_depends(os.path.join(moddir, path)):
            add(d)
        order.append(path)

    for name in wanted:
        add(name)
    return order


def cpio_newc(entries):
    """A newc cpio archive from (name, mode, data or symlink target) entries."""
    out = bytearray()
    ino = 1
    for name, mode, data in entries + [("TRAILER!!!", 0, b"")]:
        if isinstance(data, str):
            data = data.encode()
        namez = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(namez), 0))
        out += hdr.encode() + namez
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
        ino += 1
    return bytes(out)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    outdir = os.path.abspath(sys.argv[1])
    debs = os.path.join(outdir, "debs")
    kpkg = download(debs)
    root = os.path.join(outdir, "root")
    shutil.rmtree(root, ignore_errors=True)
    for deb in glob.glob(os.path.join(debs, "*.deb")):
        run("dpkg-deb", "-x", deb, root)

    vmlinuz = sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))[-1]
    version = os.path.basename(vmlinuz)[len("vmlinuz-"):]
    with open(os.path.join(outdir, "vmlinux"), "wb") as f:
        f.write(extract_vmlinux(vmlinuz))

    d = stat.S_IFDIR | 0o755
    entries = [("bin", d, b""), ("proc", d, b""), ("sys", d, b""), ("dev", d, b""),
               ("tmp", d, b""), ("lib", d, b""), ("lib/modules", d, b"")]
    entries.append(("init", stat.S_IFREG | 0o755, INIT))
    entries.append(("bin/busybox", stat.S_IFREG | 0o755,
                    open(os.path.join(root, "bin", "busybox"), "rb").read()))
    for applet in ("sh", "mount", "cat", "cut", "echo", "ls", "tr", "uname", "insmod",
                   "poweroff", "sleep", "dmesg", "grep"):
        entries.append((f"bin/{applet}", stat.S_IFLNK | 0o777, "busybox"))
    moddir = os.path.join(root, "lib", "modules", version)
    have = []
    for m in module_order(moddir, MODULES):
        name = "lib/modules/" + os.path.basename(m)
        entries.append((name, stat.S_IFREG | 0o644, open(os.path.join(moddir, m), "rb").read()))
        have.append(name)
    entries.append(("modules.list", stat.S_IFREG | 0o644, "\n".join(have) + "\n"))
    with open(os.path.join(outdir, "initramfs.cpio"), "wb") as f:
        f.write(cpio_newc(entries))
    with open(os.path.join(outdir, "version"), "w") as f:
        f.write(f"{kpkg} {version}\n")
    shutil.rmtree(root)
    print(f"mkimage: {outdir}/vmlinux ({version}) and initramfs.cpio ({len(have)} modules)")


if __name__ == "__main__":
    main()
