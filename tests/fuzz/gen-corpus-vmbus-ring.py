#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the seed corpus of fuzz-vmbus-ring.c (its header comment has the
input layout) into corpus/vmbus-ring/.  Run from anywhere.  The found-*
files there are not made here: libFuzzer found them, each adding coverage
(edges) the seeds below do not reach."""

import os
import struct

PAGE = 4096
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus', 'vmbus-ring')


def packet(payload, type_=6, flags=0, tid=1, old_w=0, offset8=2, len8=None):
    """A packet as Linux's hv_ringbuffer_write() lays it out."""
    padded = payload + b'\0' * (-len(payload) % 8)
    if len8 is None:
        len8 = (16 + len(padded)) // 8
    desc = struct.pack('<HHHHQ', type_, offset8, len8, flags, tid)
    return desc + padded + struct.pack('<Q', old_w << 32)


def ring(pages, at, pkts):
    """Data pages with pkts written from byte at, wrapping; returns
    (data, write_index)."""
    size = pages * PAGE
    data = bytearray(size)
    w = at
    for p in pkts:
        for b in p:
            data[w] = b
            w = (w + 1) % size
    return bytes(data), w


def seed(name, rpages=1, wpages=1, flags=0, max8=0,
         rhdr=(0, 0, 0, 0, 1), whdr=(0, 0, 0, 0), pokes=(0, 0, 0, 0),
         writes=((16, 6), (0, 11), (100, 6), (4000, 6)), rdata=b'', wdata=b''):
    b = struct.pack('<BBBB', rpages - 1, wpages - 1, flags, max8)
    b += struct.pack('<5I', *rhdr) + struct.pack('<4I', *whdr)
    b += struct.pack('<4I', *pokes)
    for ln, ty in writes:
        b += struct.pack('<HH', ln, ty)
    assert len(b) == 72
    if wdata:
        rdata = rdata + b'\0' * (rpages * PAGE - len(rdata))
    b += rdata + wdata
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(b)


def main():
    os.makedirs(OUT, exist_ok=True)

    # Three valid packets from 0, read back.
    pkts = [packet(b'hello', tid=1), packet(b'x' * 100, tid=2, old_w=32),
            packet(b'', type_=11, tid=3, old_w=32 + 8 * 15)]
    data, w = ring(1, 0, pkts)
    seed('valid', rhdr=(w, 0, 0, 0, 1), rdata=data[:w + 8],
         writes=((16, 6), (0, 11), (65535, 6), (4096 - 32, 6)))

    # A packet straddling the end of a two-page ring, and one after it.
    size = 2 * PAGE
    pkts = [packet(bytes(range(200)), tid=7, old_w=size - 16),
            packet(b'after wrap', tid=8)]
    data, w = ring(2, size - 16, pkts)
    seed('wrapped', rpages=2, rhdr=(w, size - 16, 1, 0, 1), rdata=data)

    # Ring full to its last 8 bytes, a writer blocked on 1024 bytes: the
    # drain crosses pending_send_sz.  The host->guest ring is full too.
    size = 3 * PAGE
    n = (size - 8) // 1024
    pkts = [packet(b'\xaa' * 1000, tid=i) for i in range(n)]
    pkts.append(packet(b'\xbb' * (size - 8 - n * 1024 - 24), tid=n))
    data, w = ring(3, 512, pkts)
    assert w == 504
    seed('full-pending', rpages=3, wpages=2, rhdr=(w, 512, 0, 1024, 1),
         whdr=(2 * PAGE - 64, 2 * PAGE - 40, 0, 0), rdata=data)

    # Packets larger than a 64-byte buffer are skipped, the rest read.
    pkts = [packet(b'\x11' * 48), packet(b'\x22' * 49), packet(b'\x33' * 8)]
    data, w = ring(1, 0, pkts)
    seed('emsgsize', max8=8, rhdr=(w, 0, 0, 0, 1), rdata=data[:w])

    # Corrupt indices: an unaligned write_index; the write ring's
    # read_index beyond its end.
    data, w = ring(1, 0, [packet(b'abc')])
    seed('bad-index', rhdr=(12, 0, 0, 0, 1), whdr=(0, 0x10000, 0, 0), rdata=data[:w])

    # Impossible descriptors: offset8 < 2, then len8 past what was published.
    data, w = ring(1, 0, [packet(b'abcdefgh', offset8=1)])
    seed('bad-offset8', rhdr=(w, 0, 0, 0, 1), rdata=data[:w])
    data, w = ring(1, 0, [packet(b'abcdefgh', len8=0xffff)])
    seed('bad-len8', rhdr=(w, 0, 0, 0, 1), rdata=data[:w])

    # The guest rewrites indices and a descriptor between our reads.
    pkts = [packet(b'%d' % i * 20, tid=i) for i in range(6)]
    data, w = ring(1, 0, pkts)
    # After read 2 skip a packet (read_index), after read 3 grow the next
    # descriptor's len8 past the data.
    seed('pokes', rhdr=(w, 0, 0, 0, 1), pokes=(0, 144 | 2, 0x00ff0003, 0), rdata=data[:w])
    # After read 1 pull write_index back to a packet boundary, after
    # read 2 make it unaligned.
    seed('pokes-index', rhdr=(w, 0, 0, 0, 1), pokes=(192 | 1, 196 | 1, 0, 0), rdata=data[:w])

    # GPA-direct style packet (offset8 > 2), host writes into a masked,
    # non-empty ring on non-adjacent pages.
    pkts = [packet(struct.pack('<IIQ', 0, 1, 0x1234) + b'payload', type_=9,
                   offset8=4, tid=5)]
    data, w = ring(1, 0, pkts)
    seed('gpa-direct', wpages=4, rhdr=(w, 0, 0, 0, 1), whdr=(PAGE - 8, PAGE - 8, 1, 0),
         writes=((5000, 6), (300, 7), (0, 11), (8000, 6)), rdata=data[:w])

    # A PFN outside guest RAM: the read ring is refused.
    seed('bad-pfn', flags=1, rhdr=(0, 0, 0, 0, 1))


if __name__ == '__main__':
    main()
