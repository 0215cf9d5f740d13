#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the seed corpus of fuzz-synthvid.c (its header comment has the
input layout) into corpus/synthvid/: guest sessions as Linux 6.1's
hyperv_drm and hyperv_fb run them (drivers/gpu/drm/hyperv/
hyperv_drm_proto.c, drivers/video/fbdev/hyperv_fb.c), plus the hostile
messages the device must survive.  Run from anywhere.  Any found-* files
there are not made here: libFuzzer found them."""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus', 'synthvid')

(VERSION_REQUEST, VERSION_RESPONSE, VRAM_LOCATION, VRAM_LOCATION_ACK, SITUATION_UPDATE,
 SITUATION_UPDATE_ACK, POINTER_POSITION, POINTER_SHAPE, FEATURE_CHANGE, DIRT) = range(1, 11)
RESOLUTION_REQUEST, RESOLUTION_RESPONSE = 13, 14

WIN7, WIN8, WIN10 = 3 | 0 << 16, 3 | 2 << 16, 3 | 5 << 16
MMIO = 0xe0000000
VRAM = 4 << 20
CURSOR_COMPLETE = 0xff

NEGOTIATE, PLACE = 1, 2  # flags byte


def msg(mtype, body):
    """Op 1: a message with proper headers."""
    return bytes([1, mtype]) + struct.pack('<H', len(body)) + body


def raw(payload):
    """Op 0: a raw packet payload."""
    return bytes([0]) + struct.pack('<H', len(payload)) + payload


def headers(mtype, body, pipe_type=1, pipe_size=None, vid_size=None):
    if vid_size is None:
        vid_size = 8 + len(body)
    if pipe_size is None:
        pipe_size = vid_size
    return struct.pack('<IIII', pipe_type, pipe_size, mtype, vid_size) + body


def not_inband(mtype, body):
    return bytes([5, mtype]) + struct.pack('<H', len(body)) + body


def request_resolution(w, h):
    return bytes([2]) + struct.pack('<HH', w, h)


PAUSE = bytes([3])
REOPEN = bytes([4])


def version(v):
    return msg(VERSION_REQUEST, struct.pack('<I', v))


def vram(gpa, ctx=None, specified=1):
    return msg(VRAM_LOCATION, struct.pack('<QBQ', gpa if ctx is None else ctx, specified, gpa))


def output(active=1, offset=0, depth=32, w=1024, h=768, pitch=None):
    if pitch is None:
        pitch = w * 4
    return struct.pack('<BIBIII', active, offset, depth, w, h, pitch)


def situation(count=1, outputs=None, ctx=0, **kw):
    if outputs is None:
        outputs = [output(**kw)]
    return msg(SITUATION_UPDATE, struct.pack('<QB', ctx, count) + b''.join(outputs))


def position(x=0, y=0, visible=1, out=0):
    return msg(POINTER_POSITION, struct.pack('<BBii', visible, out, x, y))


def shape(part, w, h, data, hot=(0, 0), argb=1):
    return msg(POINTER_SHAPE, struct.pack('<BBIIII', part, argb, w, h, *hot) + data)


def hide_pointer():
    """hyperv_hide_hw_ptr()"""
    return position() + shape(CURSOR_COMPLETE, 1, 1, bytes([0, 1, 1, 1]))


def dirt(rects, count=None, out=0):
    if count is None:
        count = len(rects)
    return msg(DIRT, struct.pack('<BB', out, count) +
               b''.join(struct.pack('<iiii', *r) for r in rects))


def resolutions(maximum=64):
    return msg(RESOLUTION_REQUEST, bytes([maximum]))


def drm_probe(w=1024, h=768):
    """hyperv_vmbus_probe(): version, resolutions, VRAM, then the first
    modeset (hide pointer, situation) and a full-screen dirt."""
    return (version(WIN10) + resolutions() + vram(MMIO + 0x100000) + hide_pointer() +
            situation(w=w, h=h) + dirt([(0, 0, w, h)]))


def seeds():
    s = {}
    s['empty-negotiated'] = bytes([NEGOTIATE])
    s['placed'] = bytes([NEGOTIATE | PLACE])
    s['hyperv-drm'] = bytes([0]) + drm_probe() + dirt([(10, 10, 200, 40)]) + dirt(
        [(0, 700, 1024, 768)])
    # hyperv_fb on an older host: WIN10 refused is not possible here, so
    # WIN8 straight away, no resolution list; situation after VRAM.
    s['hyperv-fb-win8'] = (bytes([0]) + version(WIN8) + vram(MMIO) + hide_pointer() +
                           situation(w=1152, h=864) + dirt([(0, 0, 1152, 864)]))
    s['win7-refused'] = bytes([0]) + version(WIN7) + version(WIN8) + situation()
    s['before-negotiation'] = bytes([0]) + vram(MMIO) + situation() + dirt([(0, 0, 1, 1)])
    s['resume'] = bytes([0]) + drm_probe() + REOPEN + version(WIN10) + vram(MMIO + 0x100000)
    s['request-resolution'] = (bytes([0]) + drm_probe() + request_resolution(1280, 720) +
                               situation(w=1280, h=720) + request_resolution(1000, 600) +
                               resolutions() + request_resolution(0, 0) +
                               request_resolution(8000, 8000))
    s['vram-outside'] = (bytes([NEGOTIATE]) + vram(MMIO - 0x1000) + vram(MMIO + 0x10000000) +
                         vram(MMIO + 0x10000000 - VRAM + 0x1000) + vram(MMIO + 0x100) +
                         vram(0xfffffffffffff000) + vram(0, specified=0) +
                         vram(MMIO + 0x10000000 - VRAM))
    s['situation-bad'] = (bytes([NEGOTIATE | PLACE]) + situation(depth=16) + situation(w=0) +
                          situation(h=0) + situation(pitch=1) + situation(w=7681, h=1) +
                          situation(w=1920, h=1080) + situation(offset=VRAM) +
                          situation(pitch=0xffffffff) + situation(count=0) +
                          situation(active=0) + situation(count=3, outputs=[output()] * 3) +
                          msg(SITUATION_UPDATE, bytes(26)))
    s['dirt-clip'] = bytes([NEGOTIATE | PLACE]) + dirt([
        (-5, -5, 10, 10), (1000, 700, 2000, 2000), (5, 5, 5, 6), (7, 7, 3, 3),
        (-2**31, -2**31, 2**31 - 1, 2**31 - 1), (1024, 0, 1025, 1)])
    s['dirt-count-lies'] = (bytes([NEGOTIATE | PLACE]) + dirt([(0, 0, 5, 5)], count=255) +
                            dirt([(0, 0, 5, 5)] * 3, count=1) + dirt([], count=0) +
                            dirt([(0, 0, 5, 5)], out=1) +
                            msg(DIRT, struct.pack('<BB', 0, 2) + bytes(20)))
    s['dirt-many'] = bytes([NEGOTIATE | PLACE]) + dirt(
        [(i, i, i + 3, i + 4) for i in range(255)])
    s['dirt-no-mode'] = bytes([NEGOTIATE]) + dirt([(0, 0, 100, 100)])
    px96 = bytes((i * 7) & 0xff for i in range(96 * 96 * 4))
    s['cursor-parts'] = (bytes([NEGOTIATE]) + shape(0, 96, 96, px96[:0x3000], hot=(5, 6)) +
                         shape(1, 96, 96, px96[0x3000:0x6000]) + shape(2, 96, 96, px96[0x6000:]))
    s['cursor-bad'] = (bytes([NEGOTIATE]) + shape(CURSOR_COMPLETE, 129, 1, bytes(516)) +
                       shape(CURSOR_COMPLETE, 2, 2, bytes(15)) + shape(3, 2, 2, bytes(16)) +
                       shape(0, 4, 4, bytes(16)) + shape(1, 8, 4, bytes(16)) +
                       shape(CURSOR_COMPLETE, 32, 32, bytes(256), argb=0) +
                       shape(CURSOR_COMPLETE, 0xffffffff, 0xffffffff, bytes(4)) +
                       shape(CURSOR_COMPLETE, 4, 4, bytes(64), hot=(100, 0xffffffff)) +
                       position(-100, 99999) + position(out=2))
    s['headers-bad'] = (bytes([NEGOTIATE]) + raw(headers(DIRT, bytes(18), pipe_type=0)) +
                        raw(headers(DIRT, bytes(18), pipe_size=0x10000)) +
                        raw(headers(DIRT, bytes(18), vid_size=27)) +
                        raw(headers(DIRT, bytes(18), vid_size=7)) +
                        raw(headers(VRAM_LOCATION, bytes(16))) + raw(bytes(8)) + raw(b'') +
                        msg(0, b'') + msg(11, bytes(8)) + msg(VERSION_RESPONSE, bytes(6)) +
                        msg(FEATURE_CHANGE, bytes(4)) + msg(RESOLUTION_RESPONSE, bytes(200)) +
                        not_inband(DIRT, struct.pack('<BB', 0, 1) + bytes(16)))
    # Too big for the device (over 0x4000): skipped by the bus.
    s['oversize'] = bytes([NEGOTIATE | PLACE]) + raw(headers(DIRT, bytes(0x4000)))
    # The guest stops reading: replies wait, then flow.
    s['ring-full'] = (bytes([0]) + PAUSE + version(WIN10) +
                      b''.join(resolutions() for _ in range(80)) + vram(MMIO) + PAUSE +
                      resolutions())
    s['renegotiate'] = (bytes([NEGOTIATE | PLACE]) + version(0x12345678) + dirt([(0, 0, 1, 1)]) +
                        version(WIN10) + situation() + REOPEN + dirt([(0, 0, 1, 1)]))
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
