#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# lib/smb (include/nap/smb.h) against a real smbd (SMB3 minimum, signing mandatory):
# put/get/list/unlink/rename/mkdir -p, the temporary name of a put never listed as a file of
# its own, clear errors for a wrong password, a refused connection, a missing file or share, a
# credentials file others may read; on the wire, the client offers SMB3 dialects only and sets
# "signing required" in its NEGOTIATE, and the file contents never cross in clear text
# (encryption requested); a server that offers SMB 2.1 at most is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"

: "${NAP_SMB_TOOL:=$_nap_build/tests/integration/nap_smb_tool}"
need "$NAP_SMB_TOOL"
start_smbd SMB inbox
U=smb://127.0.0.1:$SMB_PORT/inbox
tool() { "$NAP_SMB_TOOL" "$SMB_CRED" "$@"; }

# put + get round trip, binary-safe, and the file is where smbd's share directory is
head -c 300000 /dev/urandom >"$T/blob"
tool put "$U/a.bin" "$T/blob" || fail "put a.bin"
cmp "$T/blob" "$T/SMB/share/inbox/a.bin" || fail "a.bin on the share differs from what was put"
tool get "$U/a.bin" >"$T/blob.back" || fail "get a.bin"
cmp "$T/blob" "$T/blob.back" || fail "get returned other bytes"
log "ok: put/get of 300000 bytes, identical on the share and back"
[[ -z $(find "$T/SMB/share/inbox" -maxdepth 1 -name ".a.bin.*.tmp") ]] || fail "the temporary name was left behind"

# get with a limit below the size: refused
rc=0
out=$(tool get "$U/a.bin" 1000 2>&1 >/dev/null) || rc=$?
assert_eq "get over the limit exits" 1 "$rc"
assert_match "get over the limit says so" "more than the 1000 allowed" "$out"

# mkdir -p, put below it, list shows files only
tool mkdir "$U/deep/er/dir" || fail "mkdir -p"
tool mkdir "$U/deep/er/dir" || fail "mkdir -p of an existing directory"
[[ -d $T/SMB/share/inbox/deep/er/dir ]] || fail "deep/er/dir not created"
echo one | tool put "$U/deep/er/dir/one.jsonl" - || fail "put one.jsonl"
echo two | tool put "$U/deep/er/dir/two.jsonl" - || fail "put two.jsonl"
tool mkdir "$U/deep/er/dir/sub" || fail "mkdir sub"
list=$(tool list "$U/deep/er/dir" | sort | tr '\n' ' ')
assert_eq "list (files only)" "one.jsonl two.jsonl " "$list"

# put over an existing file replaces it
echo replaced | tool put "$U/deep/er/dir/one.jsonl" - || fail "put over one.jsonl"
assert_eq "replaced content" replaced "$(tool get "$U/deep/er/dir/one.jsonl")"

# rename (atomic for readers: the target is there with the whole content, the source gone)
tool rename "$U/deep/er/dir/two.jsonl" "$U/deep/er/dir/three.jsonl" || fail "rename"
[[ ! -e $T/SMB/share/inbox/deep/er/dir/two.jsonl ]] || fail "rename left the source"
assert_eq "renamed content" two "$(cat "$T/SMB/share/inbox/deep/er/dir/three.jsonl")"

# unlink; unlink of a missing file is an error that says so
tool unlink "$U/deep/er/dir/three.jsonl" || fail "unlink"
[[ ! -e $T/SMB/share/inbox/deep/er/dir/three.jsonl ]] || fail "unlink left the file"
rc=0
out=$(tool unlink "$U/deep/er/dir/three.jsonl" 2>&1) || rc=$?
assert_eq "unlink of a missing file exits" 1 "$rc"
assert_match "missing file message" "no such file" "$out"
rc=0
out=$(tool get "$U/nothere.jsonl" 2>&1) || rc=$?
assert_match "get of a missing file" "no such file" "$out"
rc=0
out=$(tool list "smb://127.0.0.1:$SMB_PORT/noshare" 2>&1) || rc=$?
assert_eq "unknown share exits" 1 "$rc"
assert_match "unknown share message" "no such file, directory or share" "$out"

# a reader polling during many puts never sees a partial file under the final name
head -c 200000 /dev/zero | tr '\0' x >"$T/big"
(
	for i in 1 2 3 4 5 6; do
		tool put "$U/race.txt" "$T/big" || exit 1
	done
	touch "$T/race.done"
) &
writer=$!
bad=0 seen=0
f=$T/SMB/share/inbox/race.txt
while [[ ! -e $T/race.done ]] && ! _nap_dead "$writer"; do
	n=$(stat -c %s "$f" 2>/dev/null) || n=
	if [[ -n $n ]]; then
		seen=$((seen + 1))
		((n == 200000)) || bad=$((bad + 1))
	fi
	sleep 0.01
done
wait "$writer" || fail "the puts of race.txt failed"
log "race.txt polled $seen times while being replaced"
assert_eq "partial race.txt seen by a reader" 0 "$bad"

# two writers of one file at once (napsited's SHV pusher and `napctl shv push`): every put
# succeeds, the file is whole and one of theirs, no temporary file stays behind
head -c 150000 /dev/zero | tr '\0' a >"$T/w1"
head -c 170000 /dev/zero | tr '\0' b >"$T/w2"
for w in 1 2; do
	(
		for i in 1 2 3 4 5 6 7 8; do
			tool put "$U/shared.conf" "$T/w$w" 2>>"$T/writer$w.err" || exit 1
		done
	) &
	eval "writer$w=\$!"
done
rc1=0 rc2=0
wait "$writer1" || rc1=$?
wait "$writer2" || rc2=$?
[[ $rc1 == 0 && $rc2 == 0 ]] || fail "concurrent puts failed: $(cat "$T"/writer*.err)"
cmp -s "$T/SMB/share/inbox/shared.conf" "$T/w1" || cmp -s "$T/SMB/share/inbox/shared.conf" "$T/w2" ||
	fail "shared.conf is neither writer's file"
assert_eq "temporary files left by concurrent puts" 0 \
	"$(find "$T/SMB/share/inbox" -maxdepth 1 -name '.*.tmp' | wc -l)"

# wrong password: a clear logon failure, no anonymous fallback
printf 'username = napt\npassword = wrong\n' >"$T/bad.cred"
chmod 600 "$T/bad.cred"
rc=0
out=$("$NAP_SMB_TOOL" "$T/bad.cred" list "$U" 2>&1) || rc=$?
assert_eq "wrong password exits" 1 "$rc"
assert_match "wrong password message" "logon failure" "$out"
# a guest/anonymous login is not attempted either: an empty password is refused locally
printf 'username = napt\n' >"$T/nopw.cred"
chmod 600 "$T/nopw.cred"
rc=0
out=$("$NAP_SMB_TOOL" "$T/nopw.cred" list "$U" 2>&1) || rc=$?
assert_match "credentials without a password" "no password" "$out"

# a credentials file others may read is refused
cp "$SMB_CRED" "$T/open.cred"
chmod 644 "$T/open.cred"
rc=0
out=$("$NAP_SMB_TOOL" "$T/open.cred" list "$U" 2>&1) || rc=$?
assert_eq "world-readable credentials exit" 1 "$rc"
assert_match "world-readable credentials message" "mode 0644 .*refusing" "$out"

# nothing listening: connection refused
dead=$(free_port tcp)
rc=0
out=$(tool list "smb://127.0.0.1:$dead/inbox" 2>&1) || rc=$?
assert_eq "refused connection exits" 1 "$rc"
assert_match "refused connection message" "connection refused" "$out"

# On the wire: capture one session and check the client's NEGOTIATE and that the payload
# never shows in clear text.
if command -v tcpdump >/dev/null 2>&1; then
	tcpdump -i lo --immediate-mode -U -w "$T/smb.pcap" "tcp port $SMB_PORT" \
		>"$T/tcpdump.log" 2>&1 &
	tdpid=$!
	_nap_pids+=("$tdpid")
	for ((i = 0; i < 50; i++)); do
		grep -q "listening on" "$T/tcpdump.log" && break
		sleep 0.1
	done
	echo "PLAINTEXT-MARKER-$RANDOM$RANDOM" >"$T/marker"
	tool put "$U/marker.txt" "$T/marker" || fail "put marker"
	# the session is over when the client closed it: wait for its FIN in the capture
	for ((i = 0; i < 50; i++)); do
		(($(stat -c %s "$T/smb.pcap" 2>/dev/null || echo 0) > 4000)) && break
		sleep 0.1
	done
	sleep 0.3
	stop_pid "$tdpid" INT
	"$PYTHON" - "$T/smb.pcap" "$(cat "$T/marker")" <<'PY' || fail "wire check failed"
import struct, sys
data = open(sys.argv[1], 'rb').read()
marker = sys.argv[2].encode()
magic = struct.unpack('<I', data[:4])[0]
assert magic in (0xa1b2c3d4, 0xa1b23c4d), 'not a pcap file'
linktype = struct.unpack('<I', data[20:24])[0]
off = 24
payload = b''
while off + 16 <= len(data):
    incl = struct.unpack('<I', data[off + 8:off + 12])[0]
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if linktype == 1:
        pkt = pkt[14:]
    elif linktype == 113:
        pkt = pkt[16:]
    elif linktype == 276:
        pkt = pkt[20:]
    if not pkt or pkt[0] >> 4 != 4:
        continue
    ihl = (pkt[0] & 15) * 4
    if pkt[9] != 6:
        continue
    tcp = pkt[ihl:]
    doff = (tcp[12] >> 4) * 4
    payload += tcp[doff:]
if marker in payload:
    sys.exit('the file content crossed the wire in clear text')
i = payload.find(b'\xfeSMB')
found = False
while i >= 0:
    hdr = payload[i:i + 64]
    if len(hdr) == 64 and struct.unpack('<H', hdr[12:14])[0] == 0 and \
            not (struct.unpack('<I', hdr[16:20])[0] & 1):
        body = payload[i + 64:]
        count, secmode = struct.unpack('<HH', body[2:6])
        dialects = [struct.unpack('<H', body[36 + 2 * k:38 + 2 * k])[0] for k in range(count)]
        print('negotiate: security mode 0x%x dialects %s' % (secmode, [hex(d) for d in dialects]))
        if not secmode & 2:
            sys.exit('client NEGOTIATE without SIGNING_REQUIRED')
        if not dialects or any(d < 0x300 for d in dialects):
            sys.exit('client offers dialects below SMB 3.0: %s' % dialects)
        found = True
        break
    i = payload.find(b'\xfeSMB', i + 4)
if not found:
    sys.exit('no SMB2 NEGOTIATE request in the capture')
if b'\xfdSMB' not in payload:
    sys.exit('no SMB3 transform (encrypted) message in the capture')
print('ok')
PY
	log "ok: SMB3-only NEGOTIATE with signing required, payload encrypted"
else
	log "tcpdump not installed: wire check skipped"
fi

stop_smbd SMB

# A server that speaks SMB 2.1 at most is refused (no downgrade below SMB3).
start_smbd OLD inbox
stop_smbd OLD
sed -i 's/server min protocol = SMB3/server min protocol = SMB2_02\n  server max protocol = SMB2_10/;s/server signing = mandatory/server signing = auto/' \
	"$T/OLD/smb.conf"
start_smbd OLD
rc=0
out=$("$NAP_SMB_TOOL" "$OLD_CRED" list "smb://127.0.0.1:$OLD_PORT/inbox" 2>&1) || rc=$?
assert_eq "SMB2-only server exits" 1 "$rc"
assert_match "SMB2-only server message" "not supported by the server|connection lost" "$out"
# while smbclient at SMB2 gets in (the server itself works)
if command -v smbclient >/dev/null 2>&1; then
	smbclient "//127.0.0.1/inbox" -p "$OLD_PORT" -A "$OLD_CRED" -m SMB2 -c ls >/dev/null 2>&1 ||
		fail "smbclient -m SMB2 cannot use the SMB2-only server"
fi
stop_smbd OLD
log "all ok"
