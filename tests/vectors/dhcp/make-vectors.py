#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Writes the DHCP vectors of this directory: BOOTP header (RFC 2131 §2) + magic cookie + options
# spelled out byte by byte below, NAP sub-options per spec/PROTOCOLS.md §3.1 and V6, SoH/SoHR
# payloads from ../soh. Run from this directory; review the diff.
import struct

def soh(name):
    with open('../soh/%s.hex' % name) as f:
        return bytes.fromhex(''.join(l for l in f if not l.startswith('#')).replace('\n', '').replace(' ', ''))

COID = bytes(range(0x82))                      # 130-byte NAP-CoID 00..81 (as in V6)
CHADDR = bytes.fromhex('525400123456')

def header(op, xid=0x12345678, flags=0x8000, ciaddr='00000000', yiaddr='00000000',
           siaddr='00000000', giaddr='00000000', sname=b'', file=b''):
    h = struct.pack('>BBBBIHH', op, 1, 6, 0, xid, 0, flags)
    h += bytes.fromhex(ciaddr + yiaddr + siaddr + giaddr)
    h += CHADDR + bytes(10)
    h += sname.ljust(64, b'\0') + file.ljust(128, b'\0')
    assert len(h) == 236
    return h + bytes.fromhex('63825363')

def opt(code, value):
    out = b''
    while True:                                # RFC 3396: consecutive instances of <= 255
        out += bytes([code, min(len(value), 255)]) + value[:255]
        value = value[255:]
        if not value:
            return out

def sub(code, value):
    return opt(code, value)                   # same encoding inside option 43 (RFC 2132 §8.4)

def pad300(p):
    return p + bytes(max(0, 300 - len(p)))

def write(name, comment, data):
    with open(name + '.hex', 'w') as f:
        f.write('# ' + comment + '\n')
        for i in range(0, len(data), 32):
            f.write(data[i:i + 32].hex() + '\n')

vec = {}
# DISCOVER with the NAP probe: option 43 = 2b 86 de 82 <CoID> dc 00 (V6 "DISCOVER probe").
vec['discover-nap-probe'] = ('DHCPDISCOVER from a NAP client: NAP-CoID + NAP-SoH length 0 (spec V6, DHCPN 2.2.1.1)',
    pad300(header(1) + opt(53, b'\x01') + opt(61, b'\x01' + CHADDR) + opt(60, b'MSFT 5.0')
           + opt(43, sub(222, COID) + sub(220, b'')) + opt(55, bytes([1, 3, 6, 15, 43])) + b'\xff'))
# OFFER with the "NAP" marker and the CoID echoed (DHCPN 3.2.5.1).
vec['offer-nap-marker'] = ('DHCPOFFER from a NAP server: NAP-CoID echoed + NAP-SoH "NAP" (4e 41 50)',
    pad300(header(2, yiaddr='c0000232', siaddr='c0000201') + opt(53, b'\x02') + opt(54, bytes.fromhex('c0000201'))
           + opt(51, struct.pack('>I', 3600)) + opt(1, bytes.fromhex('ffffff00')) + opt(3, bytes.fromhex('c0000201'))
           + opt(43, sub(222, COID) + sub(220, b'NAP')) + b'\xff'))
# The FreeRADIUS rlm_soh reply: 43 = dc 03 50 41 4e ("PAN"), no CoID (vectors/decoded-dhcp-option43-probes.txt).
vec['ack-freeradius-pan'] = ('DHCPACK as FreeRADIUS 3.2.1 rlm_soh answers a probe: option 43 = dc 03 50 41 4e, no CoID',
    pad300(header(2, flags=0, ciaddr='7f000001') + opt(53, b'\x05') + opt(43, bytes.fromhex('dc0350414e')) + b'\xff'))
# REQUEST with option 43 exactly as probed against FreeRADIUS (case 4 of decoded-dhcp-option43-probes.txt).
fr43 = bytes.fromhex('de82' + COID.hex() + 'dd0400ffffffdf110120010db8000000000000000000000001'
    'dc430007003f000001370001003700070033000001370001002b00020004000137000007001f00000137031101000000060000000100001db1000100000009080000000001')
vec['request-nap-freeradius-case4'] = ('DHCPREQUEST: NAP-CoID + NAP-Mask + NAP-IPv6 + wrapped minimal SSoH, the option 43 FreeRADIUS decoded (decoded-dhcp-option43-probes.txt case 4)',
    pad300(header(1, flags=0, ciaddr='7f000001') + opt(53, b'\x03') + opt(43, fr43) + b'\xff'))
# REQUEST with a 302-byte SoH: two 220 sub-options (255 + 47), option 43 of 438 bytes split 255 + 183.
long_soh = soh('derived-v2-plus-v3')
assert len(long_soh) == 302
vec['request-nap-long-soh'] = ('DHCPREQUEST with the 302-byte SoH of derived-v2-plus-v3: 220 split 255+47, option 43 split 255+183 (RFC 3396)',
    pad300(header(1) + opt(53, b'\x03') + opt(50, bytes.fromhex('c0000232')) + opt(54, bytes.fromhex('c0000201'))
           + opt(61, b'\x01' + CHADDR) + opt(43, sub(222, COID) + sub(220, long_soh)) + opt(57, struct.pack('>H', 1500)) + b'\xff'))
# ACK, restricted: mask /32, real mask in NAP-Mask (LE), host route, SoHR, short lease (spec §3.3).
sohr = soh('derived-v4-sohr-entry-as-soh')
vec['ack-nap-restricted'] = ('DHCPACK, restricted: mask 255.255.255.255, NAP-Mask 255.255.255.0 (dd 04 00 ff ff ff), routes 121/249 to 192.0.2.10, SoHR of V4',
    pad300(header(2, yiaddr='c0000232') + opt(53, b'\x05') + opt(54, bytes.fromhex('c0000201')) + opt(51, struct.pack('>I', 300))
           + opt(1, bytes.fromhex('ffffffff')) + opt(121, bytes.fromhex('20c000020ac0000201')) + opt(249, bytes.fromhex('20c000020ac0000201'))
           + opt(43, sub(222, COID) + sub(220, sohr) + sub(221, bytes.fromhex('00ffffff'))) + b'\xff'))
# Option overload 3: host name "ab" in options, "cd" in file, "ef" in sname -> "abcdef" (RFC 3396 order).
vec['ack-overload'] = ('DHCPACK with option 52 = 3: Host-Name split over options ("ab"), file ("cd") and sname ("ef")',
    pad300(header(2, sname=bytes.fromhex('0c026566ff'), file=bytes.fromhex('0c026364ff')) + opt(52, b'\x03') + opt(53, b'\x05')
           + opt(12, b'ab') + b'\xff'))
# INFORM with the renew probe and the exemption user class (DHCPN 3.1.4.2; spec §3.2).
vec['inform-exempt'] = ('DHCPINFORM with NAP-SoH 01 00 probe, NAP-CoID and user class "MSFT Quarantine"',
    pad300(header(1, flags=0, ciaddr='c0000232') + opt(53, b'\x08') + opt(77, b'MSFT Quarantine')
           + opt(43, sub(222, COID) + sub(220, b'\x00')) + b'\xff'))
for k, (c, d) in vec.items():
    write(k, c, d)
