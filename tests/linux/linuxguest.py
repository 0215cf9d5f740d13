# SPDX-License-Identifier: GPL-3.0-or-later
"""What the linux-guest tests share: the reason a host cannot run a stock
kernel, and the image (built by mkimage.py on first use)."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "kvm"))
import skytest  # noqa: E402

TIMEOUT = int(os.environ.get("SKYLIGHT_LINUX_TIMEOUT", "2400"))


def software_kvm():
    """Why this host's KVM cannot run a stock kernel to user space, or None."""
    if os.path.isdir("/sys/module/kvm_pvm"):
        return ("this machine's KVM is PVM, a software-only backend: guest kernel code runs in "
                "KVM's instruction emulator (~1 us per instruction) and guest system calls never "
                "reach the guest kernel, so a stock Debian kernel cannot get to /init and load "
                "hv_vmbus here (docs/software-kvm.md); run on a host with VT-x/AMD-V KVM, or set "
                "SKYLIGHT_LINUX_FORCE=1 to try")
    return None


def image(require_user_space=True):
    """The image directory, or exits 77 with the reason it cannot be had:
    no usable /dev/kvm, a software-only KVM (when the test needs user
    space), or an image that cannot be built."""
    skytest.require_kvm()
    why = software_kvm() if require_user_space else None
    if why and not os.environ.get("SKYLIGHT_LINUX_FORCE"):
        print(f"SKIP: {why}")
        sys.exit(skytest.SKIP)
    path = os.environ.get("SKYLIGHT_LINUX_IMAGE") or os.path.join(
        os.environ.get("MESON_BUILD_ROOT", "/tmp"), "linux-guest-image")
    if not os.path.exists(os.path.join(path, "initramfs.cpio")):
        p = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "mkimage.py"),
                            path], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"SKIP: cannot build the linux-guest image: {p.stderr.strip()[-300:]}")
            sys.exit(skytest.SKIP)
    return path
