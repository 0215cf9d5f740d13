#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the seed corpus of fuzz-input.c (its header comment has the record
format) into corpus/input/: the guests' conversations as Linux's
hyperv-keyboard.c and hid-hyperv.c hold them, events from the host, and
broken messages.  Run from anywhere."""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus', 'input')

KBD, MOUSE = 0, 1
# Record ops.
PACKET, PACKET_TYPE, READ, KEY, MOVE, REOPEN, HANDSHAKE, PARSE = range(8)
COMP, GPA_DIRECT = 11, 9

# Keyboard messages (synth_kbd_msg_type).
KBD_REQUEST, KBD_RESPONSE, KBD_EVENT, KBD_LED = 1, 2, 3, 4
# Mouse messages (synthhid_msg_type) in a pipe_prt_msg.
HID_REQUEST, HID_RESPONSE, HID_INFO, HID_ACK, HID_REPORT = range(5)
PIPE_DATA = 1


def packet(dev, payload):
    assert len(payload) < 256
    return bytes([PACKET, dev, len(payload)]) + payload


def packet_type(dev, type_, payload):
    return bytes([PACKET_TYPE, dev, type_, len(payload)]) + payload


def read(dev):
    return bytes([READ, dev])


def key(code, down=True, e0=False, e1=False):
    return bytes([KEY, code, down | e0 << 1 | e1 << 2])


def move(x, y, buttons=0, wheel=0):
    return bytes([MOVE]) + struct.pack('<HHBb', x, y, buttons, wheel)


def reopen(dev):
    return bytes([REOPEN, dev])


def handshake(dev):
    return bytes([HANDSHAKE, dev])


def parse(data):
    return bytes([PARSE, len(data)]) + data


def kbd_request(version=0x00010000):
    return struct.pack('<II', KBD_REQUEST, version)


def kbd_led(flags, unit=0):
    return struct.pack('<IHH', KBD_LED, unit, flags)


def pipe(body, pipe_type=PIPE_DATA, size=None):
    return struct.pack('<II', pipe_type, len(body) if size is None else size) + body


def hid_request(version=0x00020000):
    # mousevsc_connect_to_vsp(): header.size = sizeof(unsigned int)
    return pipe(struct.pack('<III', HID_REQUEST, 4, version))


def hid_ack():
    # mousevsc_on_receive_device_info(): header.size = 1
    return pipe(struct.pack('<IIB', HID_ACK, 1, 0))


def seed(name, data):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)

    # Linux's keyboard: request 1.0, read the response, get keys.
    seed('kbd-linux', packet(KBD, kbd_request()) + read(KBD) +
         key(0x1e) + key(0x1e, False) + key(0x48, True, e0=True) +
         key(0x1d, True, e1=True) + key(0x45) + read(KBD))
    seed('kbd-led', handshake(KBD) + packet(KBD, kbd_led(7)) + key(0x3a) + read(KBD))
    seed('kbd-wrong-version', packet(KBD, kbd_request(0x00020000)) + read(KBD) +
         key(0x1e) + read(KBD))
    seed('kbd-keys-before', key(0x1e) + handshake(KBD) + key(0x1f) + read(KBD))
    seed('kbd-twice', handshake(KBD) + key(2) + packet(KBD, kbd_request()) + key(3) +
         read(KBD) + key(4) + read(KBD))
    seed('kbd-fill', handshake(KBD) + key(0x10) * 200 + packet(KBD, kbd_request()) +
         key(0x11) * 5 + read(KBD) + read(KBD) + key(0x12) + read(KBD))
    seed('kbd-reopen', handshake(KBD) + key(5) + reopen(KBD) + key(6) + handshake(KBD) +
         key(7) + read(KBD))
    seed('kbd-bad', packet(KBD, struct.pack('<I', 99)) +
         packet(KBD, struct.pack('<IHHI', KBD_EVENT, 0x1e, 0, 0)) +
         packet(KBD, struct.pack('<II', KBD_RESPONSE, 1)) + packet(KBD, b'\x01') +
         packet(KBD, b'') + packet_type(KBD, COMP, kbd_request()) + read(KBD) +
         handshake(KBD) + key(1))

    # Linux's mouse: request 2.0, response and device info, ack, reports.
    seed('mouse-linux', packet(MOUSE, hid_request()) + read(MOUSE) +
         packet(MOUSE, hid_ack()) + move(0, 0) + move(32767, 32767, 7, -1) +
         move(65535, 40000, 0xff, -128) + read(MOUSE))
    seed('mouse-handshake', handshake(MOUSE) + move(100, 200, 1, 1) + read(MOUSE))
    seed('mouse-no-ack', packet(MOUSE, hid_request()) + read(MOUSE) + move(1, 1) +
         read(MOUSE))
    seed('mouse-ack-early', packet(MOUSE, hid_ack()) + packet(MOUSE, hid_request()) +
         packet(MOUSE, hid_ack()) + move(3, 3) + read(MOUSE))
    seed('mouse-wrong-version', packet(MOUSE, hid_request(0x00010000)) + read(MOUSE) +
         packet(MOUSE, hid_ack()) + move(1, 2))
    seed('mouse-fill', handshake(MOUSE) + move(9, 9) * 120 + packet(MOUSE, hid_request()) +
         read(MOUSE) + read(MOUSE) + packet(MOUSE, hid_ack()) + move(8, 8) + read(MOUSE))
    seed('mouse-reopen', handshake(MOUSE) + move(1, 1) + reopen(MOUSE) + move(2, 2) +
         handshake(MOUSE) + move(3, 3) + read(MOUSE))
    body = struct.pack('<III', HID_REQUEST, 4, 0x00020000)
    seed('mouse-bad', packet(MOUSE, pipe(body, pipe_type=0)) +
         packet(MOUSE, pipe(body, size=0xffffffff)) + packet(MOUSE, pipe(body, size=17)) +
         packet(MOUSE, pipe(body, size=11)) + packet(MOUSE, pipe(body[:4])) +
         packet(MOUSE, pipe(struct.pack('<III', HID_REPORT, 4, 0))) +
         packet(MOUSE, pipe(struct.pack('<III', HID_INFO, 4, 0))) +
         packet(MOUSE, pipe(struct.pack('<IIB', HID_ACK, 1, 0), size=8)) +
         packet(MOUSE, b'\x01\x00\x00') +
         packet_type(MOUSE, GPA_DIRECT, hid_request()) + read(MOUSE) + handshake(MOUSE))

    # Both at once, and the parsers alone.
    seed('both', handshake(KBD) + handshake(MOUSE) + key(0x1c) + move(5, 5) + key(0x1c, False) +
         read(KBD) + read(MOUSE) + reopen(KBD) + key(0x1c) + move(6, 6) + read(MOUSE))
    seed('parse', parse(kbd_request()) + parse(kbd_led(2)) + parse(hid_request()) +
         parse(hid_ack()) + parse(b'') + parse(pipe(b'', size=0xfffffff0)))
    seed('empty', b'')


if __name__ == '__main__':
    main()
