#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small DHCPv4 test client for the napdhcpd integration tests (not a product: a test tool).

Runs inside a client network namespace that has a static address, over plain UDP sockets:
  dora      one DISCOVER/OFFER/REQUEST/ACK exchange (direct with the broadcast flag, or as a
            relay agent bound to GIADDR:67), printed as JSON
  leases    N exchanges with distinct MACs, one "MAC IP" line per ACK, flushed at once
  bad       a battery of malformed, truncated, oversized and option-overload packets
  flood     DISCOVERs from many random MACs as fast as the socket takes them
Every command exits 0 when it did what it was asked (the test decides what the answers mean).
"""
import argparse
import json
import os
import random
import select
import socket
import struct
import sys
import time

COOKIE = b"\x63\x82\x53\x63"
SO_BINDTODEVICE = 25


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.replace("-", ":").split(":"))


def header(op=1, xid=0, flags=0, ciaddr="0.0.0.0", giaddr="0.0.0.0", chaddr=b"", hops=0,
           sname=b"", file=b""):
    return (struct.pack("!BBBBIHH", op, 1, 6, hops, xid, 0, flags)
            + socket.inet_aton(ciaddr) + bytes(4) + bytes(4) + socket.inet_aton(giaddr)
            + chaddr.ljust(16, b"\0") + sname.ljust(64, b"\0") + file.ljust(128, b"\0"))


def opt(code, value):
    """One option; values over 255 bytes become several instances (RFC 3396)."""
    if not value:
        return bytes([code, 0])
    out = b""
    while value:
        part, value = value[:255], value[255:]
        out += bytes([code, len(part)]) + part
    return out


def message(mtype, xid, mac, flags=0x8000, ciaddr="0.0.0.0", giaddr="0.0.0.0", extra=b"",
            hops=0):
    body = header(xid=xid, flags=flags, ciaddr=ciaddr, giaddr=giaddr, chaddr=mac, hops=hops)
    body += COOKIE + opt(53, bytes([mtype])) + opt(61, b"\x01" + mac) + extra + b"\xff"
    return body.ljust(300, b"\0")


def parse(data):
    """Decode a reply: header fields and options (concatenated per code)."""
    if len(data) < 240 or data[236:240] != COOKIE:
        return None
    r = {"op": data[0], "xid": struct.unpack("!I", data[4:8])[0],
         "yiaddr": socket.inet_ntoa(data[16:20]), "giaddr": socket.inet_ntoa(data[24:28]),
         "chaddr": ":".join("%02x" % b for b in data[28:34]), "options": {}}
    opts = {}
    i = 240
    while i < len(data):
        c = data[i]
        if c == 0:
            i += 1
            continue
        if c == 255 or i + 1 >= len(data):
            break
        n = data[i + 1]
        opts[c] = opts.get(c, b"") + data[i + 2:i + 2 + n]
        i += 2 + n
    r["options"] = {str(k): v.hex() for k, v in opts.items()}
    r["type"] = opts.get(53, b"\0")[0]
    return r


class Client:
    def __init__(self, a):
        self.a = a
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if a.iface:
            self.s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, a.iface.encode())
        if a.relay:
            self.s.bind((a.relay, 67))
            self.dest = (a.server, 67)
        else:
            self.s.bind(("0.0.0.0", 68))
            self.dest = (a.server or "255.255.255.255", 67)

    def send(self, pkt):
        self.s.sendto(pkt, self.dest)

    def wait(self, xid, want, timeout):
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                return None
            data, _ = self.s.recvfrom(8192)
            p = parse(data)
            if p and p["op"] == 2 and p["xid"] == xid and p["type"] in want:
                return p

    def extra(self):
        x = b""
        for o in self.a.opt or []:
            code, _, hexv = o.partition(":")
            x += opt(int(code), bytes.fromhex(hexv))
        return x

    def dora(self, mac, timeout):
        xid = random.getrandbits(32)
        giaddr = self.a.relay or "0.0.0.0"
        hops = 1 if self.a.relay else 0
        flags = 0 if self.a.relay else 0x8000
        x = self.extra()
        res = {"mac": ":".join("%02x" % b for b in mac)}
        for attempt in range(self.a.retries):
            self.send(message(1, xid, mac, flags, giaddr=giaddr, extra=x, hops=hops))
            offer = self.wait(xid, (2,), timeout)
            if offer:
                break
        else:
            res["error"] = "no offer"
            return res
        res["offer"] = offer
        sid = bytes.fromhex(offer["options"].get("54", ""))
        req = x + opt(50, socket.inet_aton(offer["yiaddr"])) + (opt(54, sid) if sid else b"")
        for attempt in range(self.a.retries):
            self.send(message(3, xid, mac, flags, giaddr=giaddr, extra=req, hops=hops))
            ack = self.wait(xid, (5, 6), timeout)
            if ack:
                break
        else:
            res["error"] = "no ack"
            return res
        res["ack"] = ack
        return res


def random_mac(prefix=b"\x02\x4e\x41"):
    return prefix + os.urandom(3)


def cmd_dora(a):
    c = Client(a)
    r = c.dora(mac_bytes(a.mac) if a.mac else random_mac(), a.timeout)
    print(json.dumps(r))
    return 0


def cmd_leases(a):
    c = Client(a)
    base = random.getrandbits(16)
    if a.macs:
        macs = [mac_bytes(l.split()[0]) for l in open(a.macs) if l.strip()]
    else:
        macs = [b"\x02\x4e\x42" + struct.pack("!I", (base << 8 | i) & 0xffffff)[1:]
                for i in range(a.count)]
    acked = 0
    for mac in macs:
        r = c.dora(mac, a.timeout)
        if "ack" in r and r["ack"]["type"] == 5:
            print(r["mac"], r["ack"]["yiaddr"], flush=True)
            acked += 1
            if a.kill_after and acked == a.kill_after:
                os.kill(a.kill_pid, 9)  # the server, right after this ACK
                print("# killed", a.kill_pid, flush=True)
        else:
            print(r["mac"], "-", r.get("error", "nak"), flush=True)
    return 0


def bad_packets(mac):
    """(name, bytes) of malformed requests; each must be dropped (or answered sanely)."""
    xid = 0x0bad0000
    good = message(1, xid, mac)
    hdr = header(xid=xid, flags=0x8000, chaddr=mac)
    base = hdr + COOKIE + opt(53, b"\x01") + opt(61, b"\x01" + mac)
    out = []
    out.append(("empty", b""))
    out.append(("one-byte", b"\x01"))
    for cut in (1, 27, 43, 235, 236, 239, 241, 243):
        out.append(("truncated-%d" % cut, good[:cut]))
    out.append(("bad-cookie", hdr + b"\xde\xad\xbe\xef" + opt(53, b"\x01") + b"\xff"))
    out.append(("bootreply-op", bytes([2]) + good[1:]))
    out.append(("hlen-17", good[:2] + bytes([17]) + good[3:]))
    out.append(("no-msg-type", hdr + COOKIE + opt(61, b"\x01" + mac) + b"\xff"))
    out.append(("msg-type-0", hdr + COOKIE + opt(53, b"\x00") + b"\xff"))
    out.append(("msg-type-99", hdr + COOKIE + opt(53, b"\x63") + b"\xff"))
    out.append(("msg-type-len-2", hdr + COOKIE + bytes([53, 2, 1, 1]) + b"\xff"))
    out.append(("option-overrun", base + bytes([12, 200]) + b"abc"))
    out.append(("option-no-length", base + bytes([12])))
    out.append(("no-end", base + opt(12, b"host")))
    out.append(("server-id-len-3", base + bytes([54, 3, 10, 99, 0])))
    out.append(("requested-ip-len-5", base + bytes([50, 5, 10, 99, 0, 1, 2]) + b"\xff"))
    # option overload: 52 pointing at file/sname holding garbage, loops, a second 52, overruns
    f_over = bytearray(128)
    f_over[0:3] = bytes([12, 200, 65])
    out.append(("overload-file-overrun",
                header(xid=xid, flags=0x8000, chaddr=mac, file=bytes(f_over)) + COOKIE
                + opt(53, b"\x01") + opt(52, b"\x01") + b"\xff"))
    f_52 = bytes([52, 1, 3]) + bytes([255])
    out.append(("overload-52-inside-file",
                header(xid=xid, flags=0x8000, chaddr=mac, file=f_52) + COOKIE
                + opt(53, b"\x01") + opt(52, b"\x01") + b"\xff"))
    out.append(("overload-value-7", base + opt(52, b"\x07") + b"\xff"))
    out.append(("overload-len-2", base + bytes([52, 2, 1, 1]) + b"\xff"))
    f_no_end = bytes([12, 126]) + b"A" * 126
    out.append(("overload-file-no-end",
                header(xid=xid, flags=0x8000, chaddr=mac, file=f_no_end) + COOKIE
                + opt(53, b"\x01") + opt(52, b"\x03") + b"\xff"))
    s_53 = bytes([53, 1, 3, 255])
    out.append(("overload-sname-second-msgtype",
                header(xid=xid, flags=0x8000, chaddr=mac, sname=s_53) + COOKIE
                + opt(53, b"\x01") + opt(52, b"\x02") + b"\xff"))
    # NAP sub-options: overrun, wrong CoID length, SoH that is garbage, huge 43
    out.append(("nap-suboption-overrun", base + opt(43, bytes([220, 50, 1, 2, 3])) + b"\xff"))
    out.append(("nap-coid-len-5", base + opt(43, bytes([222, 5]) + b"abcde") + b"\xff"))
    out.append(("nap-mask-len-3", base + opt(43, bytes([221, 3, 1, 2, 3])) + b"\xff"))
    out.append(("nap-garbage-soh-request",
                hdr + COOKIE + opt(53, b"\x03") + opt(61, b"\x01" + mac)
                + opt(43, bytes([220, 200]) + os.urandom(200)) + b"\xff"))
    # long options (RFC 3396): 43 split in many instances up to the datagram limit
    out.append(("long-43-split", base + opt(43, (bytes([220, 255]) + b"\x55" * 255) * 5) + b"\xff"))
    # 4095 bytes of option 12 instances, then a datagram over the codec's 4096-byte limit
    out.append(("many-instances", base + opt(12, b"h" * 3700) + b"\xff"))
    out.append(("oversized-8000", base + opt(12, b"h" * 7700) + b"\xff"))
    out.append(("all-pad", hdr + COOKIE + b"\0" * 1000))
    out.append(("253-distinct-options",
                base + b"".join(opt(c, b"x") for c in range(1, 255)
                                if c not in (52, 53, 61, 255)) + b"\xff"))
    out.append(("relay-hops-255", header(xid=xid, hops=255, giaddr="10.99.0.250", chaddr=mac)
                + COOKIE + opt(53, b"\x01") + b"\xff"))
    out.append(("zero-chaddr", header(xid=xid, flags=0x8000) + COOKIE + opt(53, b"\x01") + b"\xff"))
    for n in range(8):
        cut = random.randrange(248, len(good))
        junk = bytearray(good[:cut])
        for _ in range(4):
            junk[random.randrange(240, len(junk))] = random.randrange(256)
        out.append(("mutated-%d" % n, bytes(junk)))
    return out


def cmd_bad(a):
    c = Client(a)
    mac = mac_bytes(a.mac) if a.mac else random_mac()
    sent = 0
    names = []
    for rnd in range(a.rounds):
        for name, pkt in bad_packets(mac):
            try:
                c.send(pkt)
                sent += 1
                if rnd == 0:
                    names.append(name)
            except OSError as e:
                print("send %s: %s" % (name, e), file=sys.stderr)
            time.sleep(0.0005)
    print(json.dumps({"sent": sent, "kinds": names}))
    return 0


def cmd_flood(a):
    c = Client(a)
    start = time.monotonic()
    end = start + a.seconds
    sent = 0
    while time.monotonic() < end and (a.count == 0 or sent < a.count):
        if a.rate:
            ahead = start + sent / a.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        mac = random_mac(b"\x02\x4e\x46")
        try:
            c.send(message(1, random.getrandbits(32), mac))
            sent += 1
        except OSError:
            time.sleep(0.001)
    print(json.dumps({"sent": sent}))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["dora", "leases", "bad", "flood"])
    ap.add_argument("--iface")
    ap.add_argument("--server", default="")
    ap.add_argument("--relay", help="act as a relay agent: bind GIADDR:67")
    ap.add_argument("--mac")
    ap.add_argument("--opt", action="append", help="CODE:HEX, repeatable")
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--retries", type=int, default=3)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--kill-after", type=int, default=0,
                    help="leases: SIGKILL --kill-pid right after this many ACKs")
    ap.add_argument("--kill-pid", type=int, default=0)
    ap.add_argument("--macs", help="leases: one MAC per line (first column) instead of --count")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rate", type=float, default=0, help="flood: packets per second (0: no limit)")
    a = ap.parse_args()
    return {"dora": cmd_dora, "leases": cmd_leases, "bad": cmd_bad, "flood": cmd_flood}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
