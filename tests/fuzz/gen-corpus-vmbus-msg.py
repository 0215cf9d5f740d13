#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the seed corpus of fuzz-vmbus-msg.c (its header comment has the
record layout) into corpus/vmbus-msg/: guest sessions as Linux 6.1's
hv_vmbus runs them (drivers/hv/connection.c, channel.c, channel_mgmt.c),
plus the protocol errors the engine must survive.  Run from anywhere.  Any
found-* files there are not made here: libFuzzer found them, each adding
coverage the seeds below do not reach."""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus', 'vmbus-msg')

V5_3, V5_2, V4_0, V6_0 = 0x50003, 0x50002, 0x40000, 0x60000
WIN7, WS2008 = 0x10001, 0x0000d
PAGE = 4096

(OFFER, RESCIND, REQUESTOFFERS, ALLOFFERS, OPEN, OPEN_RESULT, CLOSE, GPADL_HEADER,
 GPADL_BODY, GPADL_CREATED, GPADL_TEARDOWN, GPADL_TORNDOWN, RELID_RELEASED,
 INITIATE_CONTACT, VERSION_RESPONSE, UNLOAD, UNLOAD_RESPONSE) = range(1, 18)
TL_CONNECT, MODIFY = 21, 22

MODE_ECHO, MODE_REMOVE_PACKET, MODE_REMOVE_CLOSE = 1, 2, 4
MODE_REFUSE, MODE_SEND_OPEN, MODE_SMALL, MODE_REMOVE_OPEN, MODE_GPADL = 8, 16, 32, 64, 128


def hdr(t):
    return struct.pack('<II', t, 0)


def m(body, conn=4):
    """A message record (op 0: connection 4, op 1: connection 1)."""
    assert len(body) <= 240
    return bytes([0 if conn == 4 else 1, len(body)]) + body


def contact(version, vp=0, sint=2, conn=None):
    if conn is None:
        conn = 4 if version >= 0x50000 else 1
    if version >= 0x50000:
        union = struct.pack('<BB6x', sint, 0)
    else:
        union = struct.pack('<Q', 0x3000)
    return m(hdr(INITIATE_CONTACT) + struct.pack('<II', version, vp) + union +
             struct.pack('<QQ', 0x1000, 0x2000), conn)


def simple(t):
    return m(hdr(t))


def gpadl(relid, handle, pfns, byte_count=None, rangecount=1, buflen=None):
    """GPADL_HEADER and GPADL_BODYs as create_gpadl_header() splits them."""
    n = len(pfns)
    if byte_count is None:
        byte_count = n * PAGE
    if buflen is None:
        buflen = (8 + 8 * n) & 0xffff
    first = pfns[:26]
    out = m(hdr(GPADL_HEADER) + struct.pack('<IIHHII', relid, handle, buflen, rangecount,
                                            byte_count, 0) +
            b''.join(struct.pack('<Q', p) for p in first))
    rest = pfns[26:]
    while rest:
        chunk, rest = rest[:28], rest[28:]
        out += m(hdr(GPADL_BODY) + struct.pack('<II', 0, handle) +
                 b''.join(struct.pack('<Q', p) for p in chunk))
    return out


def open_chan(relid, handle, vp=0, split=4, openid=None):
    return m(hdr(OPEN) + struct.pack('<IIIII', relid, relid if openid is None else openid,
                                     handle, vp, split) + bytes(120))


def relid_msg(t, relid):
    return m(hdr(t) + struct.pack('<I', relid))


def teardown(relid, handle):
    return m(hdr(GPADL_TEARDOWN) + struct.pack('<II', relid, handle))


def modify(relid, vp):
    return m(hdr(MODIFY) + struct.pack('<II', relid, vp))


def poke(gpa, data):
    """Guest RAM writes, 255 bytes at most each."""
    out = b''
    while data:
        chunk, data = data[:255], data[255:]
        out += bytes([3]) + struct.pack('<HHB', gpa // PAGE, gpa % PAGE, len(chunk)) + chunk
        gpa += len(chunk)
    return out


def signal(relid):
    return bytes([2, relid])


def send(dev, length):
    return bytes([4, dev]) + struct.pack('<H', length)


def remove(dev):
    return bytes([5, dev])


def add(dev, mode):
    return bytes([6, dev, mode])


def reset():
    return bytes([7])


def packet(payload, tid=1, type_=6, old_w=0):
    """A packet as hv_ringbuffer_write() lays it out."""
    padded = payload + b'\0' * (-len(payload) % 8)
    desc = struct.pack('<HHHHQ', type_, 2, (16 + len(padded)) // 8, 1, tid)
    return desc + padded + struct.pack('<Q', old_w << 32)


def ring_packets(hdr_pfn, pkts):
    """Guest writes pkts into the outbound ring whose header is at hdr_pfn,
    then its write_index."""
    data = b''.join(pkts)
    return poke((hdr_pfn + 1) * PAGE, data) + poke(hdr_pfn * PAGE, struct.pack('<I', len(data)))


def session(version=V5_2):
    return contact(version) + simple(REQUESTOFFERS)


RING = 16  # the ring GPADL: 8 pages from pfn 16, split 4 + 4


def opened(relid=1, handle=0xe1e10, vp=1, version=V5_2):
    return (session(version) + gpadl(relid, handle, list(range(RING, RING + 8))) +
            open_chan(relid, handle, vp))


def seeds():
    s = {}
    s['handshake-5.2'] = session()
    s['handshake-5.3-vp1-sint5'] = contact(V5_3, vp=1, sint=5) + simple(REQUESTOFFERS)
    s['handshake-4.0-conn1'] = contact(V4_0, conn=1) + m(hdr(REQUESTOFFERS), 1)
    # vmbus_connect(): newest first, down the list.
    s['negotiate-down'] = b''.join(contact(v) for v in (V6_0, V5_3, V5_2, WIN7, WS2008))
    s['contact-bad-vp'] = contact(V5_2, vp=7) + contact(V5_2, sint=16) + simple(REQUESTOFFERS)

    # The whole life of a channel: GPADL, open, a packet each way,
    # close, teardown, unload.
    s['channel-life'] = (opened() + ring_packets(RING, [packet(b'ping', 7)]) + signal(1) +
                         send(0, 100) + relid_msg(CLOSE, 1) + teardown(1, 0xe1e10) +
                         simple(UNLOAD))
    # Packets past the device's limit, several per signal, echoed.
    s['channel-packets'] = (session() + gpadl(2, 5, list(range(RING, RING + 8))) +
                            open_chan(2, 5) +
                            ring_packets(RING, [packet(b'a' * 100, 1), packet(b'b' * 40, 2),
                                                packet(b'', 3, type_=11)]) +
                            signal(2) + signal(1) + signal(0xff))
    s['gpadl-100-pages'] = (session() + gpadl(1, 0xe1e10, list(range(100, 200))) +
                            teardown(1, 0xe1e10) + teardown(1, 0xe1e10))
    s['gpadl-errors'] = (session() +
                         gpadl(1, 1, [100, 5000, 102]) +          # not RAM
                         gpadl(1, 2, list(range(100, 130)) + [1 << 60]) +
                         gpadl(1, 3, [100]) + gpadl(2, 3, [100]) +  # duplicate
                         m(hdr(GPADL_BODY) + struct.pack('<IIQ', 0, 99, 100)) +
                         gpadl(1, 4, [100, 101], rangecount=2) +
                         gpadl(1, 5, [100], byte_count=3 * PAGE) +
                         gpadl(9, 6, [100]) +
                         gpadl(1, 7, [100] * 26, byte_count=27 * PAGE, buflen=8 + 8 * 27) +
                         m(hdr(GPADL_BODY) + struct.pack('<II', 0, 7) + bytes(16)))
    s['open-errors'] = (session() + gpadl(1, 9, list(range(RING, RING + 8))) +
                        open_chan(1, 9, split=1) + open_chan(1, 9, split=7) +
                        open_chan(1, 9, vp=5) + open_chan(1, 8) + open_chan(5, 9) +
                        open_chan(1, 9) + open_chan(1, 9) + teardown(1, 9) +
                        relid_msg(CLOSE, 1) + relid_msg(CLOSE, 1))
    # Device 0 is removed and replaced by one with the same GUIDs: its
    # offer waits for RELID_RELEASED.
    s['rescind'] = (opened() + remove(0) + add(0, MODE_ECHO) + relid_msg(CLOSE, 1) +
                    teardown(1, 0xe1e10) +
                    add(2, 0) + relid_msg(RELID_RELEASED, 1) + add(3, MODE_ECHO) +
                    relid_msg(RELID_RELEASED, 1) + relid_msg(RELID_RELEASED, 2))
    s['remove-in-callbacks'] = (add(2, MODE_REMOVE_PACKET) + add(3, MODE_REMOVE_CLOSE) +
                                session() + gpadl(3, 1, list(range(RING, RING + 8))) +
                                open_chan(3, 1) + ring_packets(RING, [packet(b'x')]) +
                                signal(3) + gpadl(4, 2, list(range(40, 48))) +
                                open_chan(4, 2) + simple(UNLOAD) + session())
    s['device-modes'] = (add(2, MODE_REFUSE) + add(3, MODE_SEND_OPEN | MODE_SMALL) +
                         session() + gpadl(3, 1, list(range(RING, RING + 8))) +
                         open_chan(3, 1) + gpadl(4, 2, list(range(40, 48))) +
                         open_chan(4, 2) + send(3, 30000) + send(3, 1000) +
                         remove(2) + add(2, MODE_REMOVE_OPEN) + gpadl(5, 3, [50, 51, 52, 53]) +
                         open_chan(5, 3, split=2))
    # The guest waits for room in its outbound ring (pending_send_sz, with
    # feat_pending_send_sz): the drain that frees it signals the guest.
    # Then a packet larger than any buffer, skipped.
    s['guest-pending-send'] = (opened() + poke(RING * PAGE + 12, struct.pack('<I', 2000)) +
                               poke(RING * PAGE + 64, b'\1') +
                               ring_packets(RING, [packet(b'z' * 900, i) for i in range(12)]) +
                               signal(1) +
                               poke((RING + 1) * PAGE + 11136,
                                    struct.pack('<HHHHQ', 6, 2, (16 + 9000) // 8, 0, 5)) +
                               poke(RING * PAGE, struct.pack("<I", (11136 + 16 + 9000 + 8) %
                                                             (3 * PAGE))) +
                               signal(1))
    # The guest breaks its rings: bad indices, a huge len8.
    s['broken-ring'] = (opened() + poke(RING * PAGE, struct.pack('<I', 13)) + signal(1) +
                        relid_msg(CLOSE, 1) + poke(RING * PAGE, bytes(4)) +
                        open_chan(1, 0xe1e10) +
                        poke((RING + 4) * PAGE + 4, struct.pack('<I', 12)) + send(0, 8) +
                        send(0, 8) + simple(REQUESTOFFERS) + relid_msg(CLOSE, 1) +
                        poke((RING + 4) * PAGE + 4, bytes(4)) + open_chan(1, 0xe1e10) +
                        poke((RING + 1) * PAGE, struct.pack('<HHHH', 6, 2, 0xffff, 0)) +
                        poke(RING * PAGE, struct.pack('<I', 64)) + signal(1))
    # A device reading and writing GPADLs its packets name.
    s['gpadl-access'] = (add(2, MODE_GPADL) + session() +
                         gpadl(3, 0xe1e10, list(range(RING, RING + 8))) +
                         gpadl(3, 0x99, list(range(60, 64))) + open_chan(3, 0xe1e10) +
                         ring_packets(RING, [
                             packet(struct.pack('<IIHH', 0x99, 100, 8000, 0), 1),
                             packet(struct.pack('<IIHH', 0x99, 4 * PAGE - 8, 8, 1), 2),
                             packet(struct.pack('<IIHH', 0x99, 4 * PAGE - 8, 9, 1), 3),
                             packet(struct.pack('<IIHH', 0x98, 0, 1, 0), 4),
                             packet(struct.pack('<IIHH', 0xe1e10, 0, 16, 0), 5)]) +
                         signal(3) + teardown(3, 0x99) + teardown(3, 0xe1e10) +
                         teardown(3, 0xe1e10))
    # A full host->guest ring, then the guest reads and signals.
    s['blocked-send'] = (session() + gpadl(1, 3, list(range(RING, RING + 4))) +
                         open_chan(1, 3, split=2) + poke((RING + 2) * PAGE + 64, b'\1') +
                         send(0, 1000) + send(0, 1000) + send(0, 1000) + send(0, 1000) +
                         poke((RING + 2) * PAGE + 4, struct.pack('<I', 3072)) + signal(1))
    s['modifychannel'] = (opened(version=V5_3) + modify(1, 1) + modify(1, 9) + modify(3, 0) +
                          relid_msg(CLOSE, 1) + modify(1, 0))
    s['unload-reconnect'] = (opened() + simple(UNLOAD) + simple(UNLOAD) + simple(REQUESTOFFERS) +
                             session() + gpadl(1, 0xe1e10, [RING]) + reset() + session())
    s['tl-connect'] = session() + m(hdr(TL_CONNECT) + bytes(range(32)))
    # Every guest->host type, one byte short; then unknown types.
    short = b''
    for t, n in ((OPEN, 148), (CLOSE, 12), (GPADL_HEADER, 28), (GPADL_BODY, 16),
                 (GPADL_TEARDOWN, 16), (RELID_RELEASED, 12), (INITIATE_CONTACT, 40),
                 (TL_CONNECT, 40), (MODIFY, 16)):
        short += m((hdr(t) + struct.pack('<II', 1, 2) + bytes(240))[:n - 1])
    s['short-messages'] = session() + short + b''.join(
        m(hdr(t)) for t in (0, OFFER, ALLOFFERS, OPEN_RESULT, VERSION_RESPONSE, 23, 24, 99))
    s['wrong-state'] = (simple(REQUESTOFFERS) + open_chan(1, 1) + gpadl(1, 1, [RING]) +
                        relid_msg(CLOSE, 1) + modify(1, 0) + signal(1) + contact(V5_2) +
                        open_chan(1, 1) + relid_msg(CLOSE, 9) + relid_msg(RELID_RELEASED, 9) +
                        signal(9) + simple(UNLOAD) + gpadl(1, 1, [RING]) + contact(V5_3) +
                        modify(1, 0) + simple(REQUESTOFFERS) + modify(1, 0) +
                        gpadl(1, 2, [RING, RING + 1], byte_count=PAGE, buflen=16))
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
