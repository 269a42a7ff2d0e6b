#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Regenerate the seed corpora tests/fuzz/corpus/{soh,sohr,health}/ from the SoH vectors here:
# every vector, the wrapped/bare twin, truncations and simple mutations, and the nap entries of
# doc/formats.md. Run once from the source root; the binary files are committed.
import glob, os, struct

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, '..', '..', '..'))
corpus = os.path.join(root, 'tests', 'fuzz', 'corpus')


def load(path):
    text = ''.join(l for l in open(path) if not l.startswith('#'))
    return bytes.fromhex(''.join(text.split()))


def soh(body, inner_type=1):
    return struct.pack('>HHIHH', 7, len(body) + 8, 311, inner_type, len(body)) + body


def wrap(b):
    return struct.pack('>HHIHH', 7, len(b) + 8, 311, 1, len(b)) + b


def write(kind, name, data):
    d = os.path.join(corpus, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


NAP_SHA = bytes.fromhex(
    '00020004007ed901' '00070058007ed901' '01000101' '020003533031'
    '030008000000000000002a'
    '040020000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'
    '0500080000000069248100' '06000100' '07000a4453412d353637382d31'
    '000c000801dc5d5b86d84600')
NAP_SHV = bytes.fromhex('00020004007ed901' '0007001b007ed901' '10000101' '11000102' '12000102'
                        '030008000000000000002b' '0004000400000001')
SSOH = bytes.fromhex('0002000400013700' '0007001f00000137' '0301'
                     '06a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7')
SUB = bytes.fromhex('0007001e00000137a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7')

for path in sorted(glob.glob(os.path.join(here, '*.hex'))):
    name = os.path.basename(path)[:-4]
    b = load(path)
    for kind in ('soh', 'sohr'):
        write(kind, name, b)
    write('soh', name + '.half', b[:len(b) // 2])
    write('soh', name + '.cut1', b[:-1])
    if len(b) > 12:
        m = bytearray(b)
        m[3] ^= 1
        write('soh', name + '.len', bytes(m))
        m = bytearray(b)
        m[-5] ^= 0x80
        write('soh', name + '.bit', bytes(m))
        if b[:2] == b'\x00\x07' and b[12:14] == b'\x00\x07' and b[8:10] == b'\x00\x01':
            write('soh', name + '.bare', b[12:])
        elif b[:2] == b'\x00\x07':
            write('soh', name + '.wrapped', wrap(b))

write('soh', 'nap-sha', soh(SUB + b'\x01\x00' + SSOH + NAP_SHA, 2))
write('soh', 'nap-sha-only', soh(NAP_SHA))
write('sohr', 'nap-shv', soh(SUB + b'\x00\x00' + SSOH + NAP_SHV, 2))
write('sohr', 'nap-shv-wrapped', wrap(soh(SUB + b'\x00\x00' + SSOH + NAP_SHV, 2)))
write('sohr', 'empty', b'')

# Health harness input: items length, items, tail TLVs.
items = NAP_SHA[16:16 + 0x58 - 4]
write('health', 'sha', bytes([len(items)]) + items + NAP_SHA[16 + 0x58 - 4:])
write('health', 'sha-no-tail', bytes([len(items)]) + items)
shv_items = NAP_SHV[16:16 + 0x1b - 4]
write('health', 'shv', bytes([len(shv_items)]) + shv_items + NAP_SHV[16 + 0x1b - 4:])
write('health', 'sha-failure', bytes([len(items)]) + items + bytes.fromhex('000e000102000d000480070005'))
write('health', 'sha-cut-item', bytes([len(items) - 1]) + items[:-1])
write('health', 'empty', b'\x00')
