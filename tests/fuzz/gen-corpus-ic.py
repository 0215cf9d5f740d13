#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the seed corpus of fuzz-ic.c (its header comment has the input
layout) into corpus/ic/: guest answers as Linux's hv_utils writes them
(drivers/hv/hv_util.c, hv_kvp.c: the host's request rewritten in place),
and broken variants of them.  Run from anywhere."""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus', 'ic')

NEGOTIATE, HEARTBEAT, KVP, SHUTDOWN, TIMESYNC = 0, 1, 2, 3, 4
TRANSACTION, REQUEST, RESPONSE = 1, 2, 4
S_OK, E_FAIL, S_CONT = 0, 0x80004005, 0x80070103
POOL_GUEST, POOL_AUTO = 1, 2
REG_SZ, REG_DWORD, REG_QWORD = 1, 4, 11


def ver(major, minor):
    return struct.pack('<HH', major, minor)


def answer(msgtype, body, status=S_OK, msgsize=None, pipe_flags=1,
           pipe_size=None, flags=TRANSACTION | RESPONSE, fw=(3, 0), msg=(3, 0)):
    """Pipe header, icmsg_hdr and body of a guest answer."""
    if msgsize is None:
        msgsize = len(body)
    if pipe_size is None:
        pipe_size = 20 + len(body)
    hdr = ver(*fw) + struct.pack('<H', msgtype) + ver(*msg)
    hdr += struct.pack('<HIBB2x', msgsize, status, 0, flags)
    return struct.pack('<II', pipe_flags, pipe_size) + hdr + body


def params(pool=POOL_AUTO, ts=2, index=0, seq=0):
    return struct.pack('<BBxxIQ', pool, ts, index, seq)


def negotiate_answer(fw, msg, offered, count=1):
    """vmbus_prep_negotiate_resp(): both counts 1 (or 0), the choice in
    the first two slots, icmsgsize 16, the rest of the request kept."""
    body = struct.pack('<HHI', count, count, 0) + ver(*fw) + ver(*msg)
    body += b''.join(ver(*v) for v in offered[2:])
    return answer(NEGOTIATE, body, msgsize=16, fw=(0, 0), msg=(0, 0))


def utf16(s):
    return s.encode('utf-16-le') + b'\0\0'


def kvp_answer(pool, index, key, value, status=S_OK, vtype=REG_SZ,
               key_size=None, value_size=None, op=3):
    k = key if isinstance(key, bytes) else utf16(key)
    v = value if isinstance(value, bytes) else utf16(value)
    body = struct.pack('<BBHI', op, pool, 0, index)
    body += struct.pack('<III', vtype, len(k) if key_size is None else key_size,
                        len(v) if value_size is None else value_size)
    body += k.ljust(512, b'\0')[:512] + v.ljust(2048, b'\0')[:2048]
    return answer(KVP, body, status=status, msg=(4, 0))


def seed(name, data):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    offered = [(3, 0), (1, 0), (3, 2), (3, 1), (3, 0), (1, 0)]

    # Version negotiation, as each service's guest driver answers.
    seed('negotiate-heartbeat', params() + negotiate_answer((3, 0), (3, 0), offered[:4]))
    seed('negotiate-shutdown', params() + negotiate_answer((3, 0), (3, 2), offered))
    seed('negotiate-timesync', params() + negotiate_answer((3, 0), (4, 0), offered[:5]))
    seed('negotiate-kvp', params() + negotiate_answer((3, 0), (4, 0), offered[:5]))
    seed('negotiate-none', params() + negotiate_answer((3, 0), (0, 0), offered, count=0))
    seed('negotiate-foreign', params() + negotiate_answer((3, 0), (7, 7), offered))

    # Heartbeat: sequence + 1.
    hb = struct.pack('<Q', 42) + b'\0' * 32
    seed('heartbeat', params(seq=41) + answer(HEARTBEAT, hb))
    seed('heartbeat-short', params(seq=41) + answer(HEARTBEAT, hb[:8]))
    seed('heartbeat-wrong-seq', params(seq=7) + answer(HEARTBEAT, hb))
    seed('heartbeat-fail', params(seq=41) + answer(HEARTBEAT, hb, status=E_FAIL))

    # Shutdown: the request echoed with a status.
    sd = struct.pack('<III', 0x80000000, 0, 0) + utf16('Bye').ljust(2048, b'\0')
    seed('shutdown-ok', params() + answer(SHUTDOWN, sd, msg=(3, 2)))
    seed('shutdown-refused', params() + answer(SHUTDOWN, sd, status=E_FAIL, msg=(3, 2)))

    # Time sync v4 (ictimesync_ref_data) and v3 (ictimesync_data).
    t = 116444736000000000 + 17000000000000000
    seed('timesync-v4', params(ts=2) + answer(
        TIMESYNC, struct.pack('<QQB5x', t, 12345, 1), msg=(4, 0)))
    seed('timesync-v3', params(ts=1) + answer(
        TIMESYNC, struct.pack('<QQQB', t, 0, 0, 2), msg=(3, 0)))

    # KVP enumeration.
    seed('kvp-fqdn', params(POOL_AUTO, index=0) + kvp_answer(
        POOL_AUTO, 0, 'FullyQualifiedDomainName', 'guest.example'))
    seed('kvp-unicode', params(POOL_AUTO, index=5) + kvp_answer(
        POOL_AUTO, 5, 'OSName', 'Gr\u00fc\u00dfe \U0001F600 \u20ac'))
    seed('kvp-guest-pool', params(POOL_GUEST, index=1) + kvp_answer(
        POOL_GUEST, 1, 'empty', ''))
    seed('kvp-end', params(POOL_AUTO, index=10) + kvp_answer(
        POOL_AUTO, 10, b'', b'', status=S_CONT, key_size=0, value_size=0))
    seed('kvp-no-daemon', params(POOL_AUTO) + kvp_answer(
        POOL_AUTO, 0, b'', b'', status=E_FAIL, key_size=0, value_size=0))
    seed('kvp-dword', params(POOL_GUEST) + kvp_answer(
        POOL_GUEST, 0, 'n', struct.pack('<I', 7), vtype=REG_DWORD))
    seed('kvp-qword', params(POOL_GUEST) + kvp_answer(
        POOL_GUEST, 0, 'n', struct.pack('<Q', 2**64 - 1), vtype=REG_QWORD))
    seed('kvp-full-key', params(POOL_AUTO) + kvp_answer(
        POOL_AUTO, 0, 'k' * 255, 'v' * 1023))
    seed('kvp-lone-surrogate', params(POOL_AUTO) + kvp_answer(
        POOL_AUTO, 0, struct.pack('<HH', 0xd800, 0), 'x'))
    seed('kvp-no-nul', params(POOL_AUTO) + kvp_answer(
        POOL_AUTO, 0, 'abc', 'x', key_size=6))
    seed('kvp-odd-size', params(POOL_AUTO) + kvp_answer(
        POOL_AUTO, 0, 'abc', 'x', key_size=7))
    seed('kvp-huge-size', params(POOL_AUTO) + kvp_answer(
        POOL_AUTO, 0, 'abc', 'x', value_size=0xfffffffe))
    seed('kvp-wrong-index', params(POOL_AUTO, index=3) + kvp_answer(
        POOL_AUTO, 4, 'a', 'b'))
    seed('kvp-truncated', params(POOL_AUTO) + kvp_answer(
        POOL_AUTO, 0, 'a', 'b')[:600])

    # Broken headers.
    good = answer(HEARTBEAT, hb)
    seed('hdr-short', params(seq=41) + good[:27])
    seed('hdr-pipe-flags', params(seq=41) + answer(HEARTBEAT, hb, pipe_flags=2))
    seed('hdr-pipe-size', params(seq=41) + answer(HEARTBEAT, hb, pipe_size=0xffffffff))
    seed('hdr-msgsize', params(seq=41) + answer(HEARTBEAT, hb, msgsize=0xffff))
    seed('hdr-request', params(seq=41) + answer(HEARTBEAT, hb, flags=TRANSACTION | REQUEST))
    seed('empty', params())


if __name__ == '__main__':
    main()
