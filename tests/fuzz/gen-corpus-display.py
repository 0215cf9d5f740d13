#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the seed corpus of fuzz-display.c into corpus/display/: viewer
messages of the display socket (docs/display.md), one line each without
its newline, valid ones and broken variants.  Run from anywhere."""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus', 'display')


def j(obj):
    return json.dumps(obj, separators=(',', ':')).encode()


SEEDS = {
    # Valid messages.
    'key-down': j({'type': 'key', 'scancode': 30, 'down': True}),
    'key-up-e0': j({'type': 'key', 'scancode': 83, 'down': False, 'e0': True, 'e1': False}),
    'key-e1': j({'type': 'key', 'scancode': 29, 'down': True, 'e1': True}),
    'mouse': j({'type': 'mouse', 'x': 16384, 'y': 32767, 'buttons': 1, 'wheel': -1}),
    'mouse-min': j({'type': 'mouse', 'x': 0, 'y': 0}),
    'resolution': j({'type': 'resolution', 'width': 1920, 'height': 1080}),
    'resolution-max': j({'type': 'resolution', 'width': 7680, 'height': 4320}),
    'ping-int': j({'type': 'ping', 'id': 7}),
    'ping-str': j({'type': 'ping', 'id': 'skyctl-4242'}),
    'ping-none': j({'type': 'ping'}),
    'extra-fields': j({'type': 'ping', 'id': 1, 'x': [1, {'y': None}]}),
    'crlf': j({'type': 'ping', 'id': 1}) + b'\r',
    # Bad types and ranges.
    'no-type': j({'scancode': 30}),
    'type-int': j({'type': 5}),
    'type-unknown': j({'type': 'hello'}),
    'key-zero': j({'type': 'key', 'scancode': 0, 'down': True}),
    'key-break-code': j({'type': 'key', 'scancode': 0x9e, 'down': False}),
    'key-str': j({'type': 'key', 'scancode': '30', 'down': True}),
    'key-float': b'{"type":"key","scancode":30.0,"down":true}',
    'key-both': j({'type': 'key', 'scancode': 29, 'down': True, 'e0': True, 'e1': True}),
    'key-null-down': j({'type': 'key', 'scancode': 29, 'down': None}),
    'mouse-neg': j({'type': 'mouse', 'x': -1, 'y': 0}),
    'mouse-big': b'{"type":"mouse","x":18446744073709551616,"y":0}',
    'mouse-u64': b'{"type":"mouse","x":18446744073709551615,"y":0}',
    'mouse-buttons': j({'type': 'mouse', 'x': 0, 'y': 0, 'buttons': 8}),
    'mouse-wheel': j({'type': 'mouse', 'x': 0, 'y': 0, 'wheel': -128}),
    'resolution-zero': j({'type': 'resolution', 'width': 0, 'height': 600}),
    'resolution-huge': j({'type': 'resolution', 'width': 4294967296, 'height': 600}),
    'ping-float': j({'type': 'ping', 'id': 1.5}),
    'ping-array': j({'type': 'ping', 'id': [1]}),
    'ping-long': j({'type': 'ping', 'id': 'x' * 129}),
    'ping-nul': b'{"type":"ping","id":"a\\u0000b"}',
    # Not objects, not JSON.
    'array': b'[{"type":"ping"}]',
    'string': b'"ping"',
    'null': b'null',
    'empty': b'',
    'truncated': b'{"type":"key","scancode":3',
    'trailing': j({'type': 'ping'}) + b'{}',
    'dup-key': b'{"type":"ping","type":"key","scancode":1,"down":true}',
    'embedded-nul': b'{"type":"ping"}\x00',
    'bad-utf8': b'{"type":"ping","id":"\xff"}',
    'deep': b'{"type":"ping","x":' + b'[' * 20 + b']' * 20 + b'}',
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
