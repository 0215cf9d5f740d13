#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the seed corpus of fuzz-routing-token.c into corpus/routing-token/:
routing tokens as the front door gets them from FreeRDP, desktop names, and
X.224 Connection Requests as xfreerdp 2.11 and mstsc send them
(MS-RDPBCGR 2.2.1.1: TPKT, X.224 CR, cookie or token up to CRLF,
RDP_NEG_REQ, RDP_NEG_CORRELATION_INFO), with broken variants.  Run from
anywhere."""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus', 'routing-token')

TLS, NLA, RDSTLS, NLA_EX = 1, 2, 4, 8


def neg_req(protocols, flags=0):
    return struct.pack('<BBHI', 1, flags, 8, protocols)


def x224(body, li=None, code=0xe0, version=3):
    """TPKT + X.224 Connection Request carrying body."""
    length = 4 + 7 + len(body)
    if li is None:
        li = length - 5
    return (struct.pack('>BBH', version, 0, length) + bytes([li, code]) + b'\0\0\0\0\0'
            + body)


SEEDS = {
    'token-office': b'Cookie: msts=office',
    'token-crlf': b'Cookie: msts=desk-1.a_b\r\n',
    'token-empty': b'Cookie: msts=',
    'token-slash': b'Cookie: msts=of/fice',
    'token-dot-first': b'Cookie: msts=.office',
    'token-load-balancer': b'Cookie: msts=3640205228.15629.0000',
    'token-64': b'Cookie: msts=' + b'd' * 64,
    'token-65': b'Cookie: msts=' + b'd' * 65,
    'token-cr-only': b'Cookie: msts=office\r',
    'token-lower': b'cookie: msts=office',
    'token-mstshash': b'Cookie: mstshash=alice',
    'name-office': b'office',
    'name-newline': b'office\r\nusername:s:mallory',
    'x224-xfreerdp': x224(b'Cookie: mstshash=alice\r\n' + neg_req(TLS | NLA)),
    'x224-token': x224(b'Cookie: msts=office\r\n' + neg_req(TLS)),
    'x224-nla-only': x224(b'Cookie: mstshash=alice\r\n' + neg_req(NLA | NLA_EX)),
    'x224-no-cookie': x224(neg_req(TLS | NLA | NLA_EX)),
    'x224-rdp-only': x224(b'Cookie: mstshash=alice\r\n'),
    'x224-correlation': x224(b'Cookie: mstshash=bob\r\n' + neg_req(TLS | NLA, flags=8)
                             + struct.pack('<BBH', 6, 0, 36) + bytes(range(32))),
    'x224-no-crlf': x224(b'Cookie: mstshash=alice' + neg_req(TLS)),
    'x224-other-cookie': x224(b'Cookie: other=1\r\n' + neg_req(TLS)),
    'x224-bad-li': x224(b'Cookie: msts=office\r\n' + neg_req(TLS), li=3),
    'x224-bad-code': x224(neg_req(TLS), code=0xd0),
    'x224-bad-version': x224(neg_req(TLS), version=2),
    'x224-binary-cookie': x224(b'Cookie: mstshash=al\x01ce\r\n' + neg_req(TLS)),
    'x224-long-cookie': x224(b'Cookie: mstshash=' + b'u' * 200 + b'\r\n' + neg_req(TLS)),
    'x224-trailing': x224(neg_req(TLS) + b'xyz'),
    'x224-truncated': x224(b'Cookie: mstshash=alice\r\n' + neg_req(TLS))[:20],
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
