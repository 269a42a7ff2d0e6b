#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napsited's admin web listener ([web]) end to end: a SQLite store with known data (policies
# through napctl; status messages, client_last, status_daily and agent states written with the
# sqlite3 CLI, to hold exactly the data the checks need), then
#   - the JSON API with curl, every number checked against sqlite3 queries of the same database;
#   - bad parameters (range, syntax, unknown, repeated), methods and paths: 400/405/404 with a
#     JSON error, counted in the metrics;
#   - the dashboard in headless Chromium (--dump-dom): the rendered numbers against the database,
#     a hostile machine name rendered as text, no URL to anything but this server (and Chromium
#     cannot resolve any name but 127.0.0.1); screenshots kept as artifacts;
#   - a reload adding a token (401 without it, bearer and basic accepted), one with HTTPS, one
#     whose allow list leaves loopback out (the connection is refused).
# Chromium missing is a failure, not a skip: CI installs it (scripts/install-deps).
. "$(dirname "$0")/lib.sh"

: "${NAPSITED:=$_nap_build/daemons/napsited/napsited}"
command -v chromium >/dev/null 2>&1 || fail "chromium is not installed (scripts/install-deps)"
need curl sqlite3 openssl "$NAPSITED" "$NAPCTL"

# Artifacts (screenshots) go next to meson's logs, so CI keeps them.
BUILD=$(cd "$(dirname "$NAPSITED")/../.." && pwd)
ART=${WEB_ARTIFACTS:-$BUILD/meson-logs/web-dashboard}
mkdir -p "$ART"

PORT=$(free_port)
MPORT=$(free_port)
URL=http://127.0.0.1:$PORT
DB=$T/site.db
mkdir -p "$T/state"
"$NAPCTL" key generate --private "$T/site.key" --public "$T/site.pub" >/dev/null

write_conf() { # extra [web] lines
	cat >"$T/napsited.conf" <<EOF
[site]
code = S01
key = $T/site.key
state_dir = $T/state
pidfile = $T/napsited.pid
metrics = 127.0.0.1:$MPORT
poll_interval = 1s

[store]
uri = sqlite:$DB

[web]
listen = 127.0.0.1:$PORT
threads = 2
$*
EOF
}
write_conf
ctl() { "$NAPCTL" -c "$T/napsited.conf" "$@"; }
ctl policy add deb-openssl --package openssl --min-version 3.0.15-1 --scheme dpkg \
	--severity critical >/dev/null 2>&1 || fail "napctl policy add deb-openssl"
ctl policy add deb-curl --package curl --min-version 7.88.1-10 --scheme dpkg \
	--severity important >/dev/null 2>&1 || fail "napctl policy add deb-curl"

# ---- known data --------------------------------------------------------------------------
# 40 machines pc01..pc40 and one with a hostile name, 1-5 verdicts each over the last 10 days.
# The last verdict: i%4==0 noncompliant (out_of_date, restricted), 1 compliant, 2 compliant by
# exemption, 3 compliant. i%7==0: last verdict 1-3 h ago and no agent (silent); the others
# within the last 20 minutes. i%3==0 has an agent state, missing deb-openssl when i%4==0 and
# also deb-curl when i%8==0. No time is near the silence threshold (30 min).
NOW=$(date +%s)
EVIL="evil<img_src=x_onerror=alert(1)>&\"'"
"$PYTHON" - "$NOW" "$EVIL" >"$T/data.sql" <<'EOF'
import sys
now = int(sys.argv[1]); evil = sys.argv[2]
q = lambda s: "'" + s.replace("'", "''") + "'"
rows, agents = [], []
machines = ["pc%02d" % i for i in range(1, 41)] + [evil]
for i, m in enumerate(machines, 1):
    n = 1 + i % 5
    last = now - (3600 + 97 * i if i % 7 == 0 else 60 * (i % 19) + 7)
    for j in range(n):
        t = last - j * (86400 * 2 + 3607 * i) if j else last
        if j == 0:
            res, br, ex, act = [("noncompliant", "out_of_date", None, "restricted"),
                                ("compliant", "matches", None, "full"),
                                ("compliant", "exempt", "EX1", "full"),
                                ("compliant", "matches", None, "full")][i % 4]
        else:
            res, br, ex, act = (("noncompliant", "out_of_date", None, "restricted")
                                if (i + j) % 3 == 0 else ("compliant", "matches", None, "full"))
        mid = "0123456789abcdef-%d" % (i * 10 + j)
        rows.append("(%s,%d,%d,'0123456789abcdef','nas%d','wired',%s,'S01',%s,%s,%s,%s,%s,1,%s)" % (
            q(mid), t, now, i % 3, q(m), q(["dhcp", "vpn", "hra"][i % 3]), q(res), q(br),
            "NULL" if ex is None else q(ex), q(act), q("corr-%d" % i)))
    if i % 3 == 0 and i % 7 != 0:
        miss = (["deb-openssl"] if i % 4 == 0 else []) + (["deb-curl"] if i % 8 == 0 else [])
        agents.append("(%s,%d,%d,1,'',%d,%d,%s,NULL)" % (
            q(m), 3 if miss else 1, 0 if miss else 1, now - 200, now - 100, q(" ".join(miss))))
print("BEGIN;")
print("INSERT INTO status_messages (id,time,received,napvd,nas,client,machine,site,enforcement,"
      "result,branch,exemption,action,hsr_revision,correlation_id) VALUES\n" + ",\n".join(rows) + ";")
print("INSERT INTO agent_state (client,state,compliant,hsr_revision,hsr_digest,evaluated,"
      "received,missing,detail) VALUES\n" + ",\n".join(agents) + ";")
print("COMMIT;")
EOF
sqlite3 "$DB" <"$T/data.sql" || fail "loading the data"
# client_last as the ingester keeps it: the latest verdict per machine, first seen, count.
sqlite3 "$DB" "INSERT INTO client_last (machine,id,time,first_seen,napvd,nas,client,site,
	enforcement,result,branch,exemption,action,hsr_revision,messages)
	SELECT m.machine, m.id, m.time, f.first, m.napvd, m.nas, m.client, m.site, m.enforcement,
	m.result, m.branch, m.exemption, m.action, m.hsr_revision, f.n FROM status_messages m
	JOIN (SELECT machine, min(time) AS first, max(time) AS last, count(*) AS n
	FROM status_messages GROUP BY machine) f ON f.machine = m.machine AND f.last = m.time" ||
	fail "filling client_last"
# status_daily as the ingester keeps it: per day and machine the count and the last verdict
# (the history checks below count from status_messages, so they check the rollup too).
sqlite3 "$DB" "INSERT INTO status_daily (day, machine, v, messages) SELECT time / 86400,
	machine, max(time * 2 + (result <> 'compliant')), count(*) FROM status_messages
	GROUP BY 1, 2" || fail "filling status_daily"
sq() { sqlite3 "$DB" "$@"; }
SILENT_SQL="SELECT count(*) FROM client_last c LEFT JOIN agent_state a ON a.client = c.machine
	WHERE max(c.time, coalesce(a.received, 0)) < $NOW - 1800"
log "data: $(sq 'SELECT count(*) FROM status_messages') messages, \
$(sq 'SELECT count(*) FROM client_last') clients, $(sq 'SELECT count(*) FROM agent_state') agents"

"$NAPSITED" -d -f "$T/napsited.conf" >>"$T/napsited.log" 2>&1 &
NAPSITED_PID=$!
_nap_pids+=("$NAPSITED_PID")

# code PATH [curl args...]: the HTTP status (000 when none); body in $T/body.
code() {
	local p=$1
	shift
	curl -sS -o "$T/body" -w '%{http_code}' --max-time 10 "$@" "$URL$p" 2>"$T/curl.err" || true
}
for ((i = 0; i < 100; i++)); do
	_nap_dead "$NAPSITED_PID" && fail "napsited exited during startup"
	[[ $(code /api/v1/compliance) == 200 ]] && break
	sleep 0.1
done
j() { jget "$T/body" "$1"; }

# ---- the API against the database ---------------------------------------------------------
assert_eq "compliance" 200 "$(code /api/v1/compliance)"
assert_eq "content type" "application/json" \
	"$(curl -s -o /dev/null -w '%{content_type}' "$URL/api/v1/compliance")"
assert_eq "clients" "$(sq 'SELECT count(*) FROM client_last')" "$(j 'j["clients"]')"
assert_eq "compliant" "$(sq "SELECT count(*) FROM client_last WHERE result = 'compliant'")" \
	"$(j 'j["compliant"]')"
assert_eq "noncompliant" "$(sq "SELECT count(*) FROM client_last WHERE result <> 'compliant'")" \
	"$(j 'j["noncompliant"]')"
assert_eq "exempt" "$(sq "SELECT count(*) FROM client_last WHERE branch = 'exempt'")" \
	"$(j 'j["exempt"]')"
assert_eq "messages" "$(sq 'SELECT count(*) FROM status_messages')" "$(j 'j["messages"]')"
assert_eq "silent" "$(sq "$SILENT_SQL")" "$(j 'j["silent"]')"
assert_eq "by_result" \
	"$(sq "SELECT group_concat(result || '=' || n, ',') FROM (SELECT result, count(*) AS n
		FROM client_last GROUP BY result ORDER BY result)")" \
	"$(j '",".join("%s=%d" % kv for kv in sorted(j["by_result"].items()))')"
assert_eq "by_enforcement" \
	"$(sq "SELECT group_concat(enforcement || '=' || n, ',') FROM (SELECT enforcement,
		count(*) AS n FROM client_last GROUP BY enforcement ORDER BY enforcement)")" \
	"$(j '",".join("%s=%d" % kv for kv in sorted(j["by_enforcement"].items()))')"
assert_eq "agents" "$(sq 'SELECT count(*) FROM agent_state')" "$(j 'j["agents"]["total"]')"
assert_eq "agents restricted" "$(sq 'SELECT count(*) FROM agent_state WHERE state = 3')" \
	"$(j 'j["agents"]["restricted"]')"

assert_eq "clients?result=noncompliant" 200 \
	"$(code '/api/v1/clients?result=noncompliant&limit=5')"
NC=$(sq "SELECT count(*) FROM client_last WHERE result <> 'compliant'")
assert_eq "noncompliant total" "$NC" "$(j 'j["total"]')"
assert_eq "first page" \
	"$(sq "SELECT group_concat(machine, ' ') FROM (SELECT machine FROM client_last
		WHERE result <> 'compliant' ORDER BY machine LIMIT 5)")" \
	"$(j '" ".join(c["machine"] for c in j["clients"])')"
code '/api/v1/clients?result=noncompliant&limit=5&offset=5' >/dev/null
assert_eq "second page" \
	"$(sq "SELECT group_concat(machine, ' ') FROM (SELECT machine FROM client_last
		WHERE result <> 'compliant' ORDER BY machine LIMIT 5 OFFSET 5)")" \
	"$(j '" ".join(c["machine"] for c in j["clients"])')"
code '/api/v1/clients?prefix=pc1' >/dev/null
assert_eq "prefix pc1" "$(sq "SELECT count(*) FROM client_last WHERE machine LIKE 'pc1%'")" \
	"$(j 'j["total"]')"
code '/api/v1/clients?silent=true&limit=500' >/dev/null
assert_eq "silent=true" "$(sq "$SILENT_SQL")" "$(j 'j["total"]')"
assert_eq "silent flags" "$(sq "$SILENT_SQL")" "$(j 'sum(1 for c in j["clients"] if c["silent"])')"
code '/api/v1/clients?result=exempt&action=full' >/dev/null
assert_eq "exempt" "$(sq "SELECT count(*) FROM client_last WHERE branch = 'exempt'")" \
	"$(j 'j["total"]')"
assert_eq "exemption id" "EX1" "$(j 'j["clients"][0]["exemption"]')"

assert_eq "explain pc24" 200 "$(code /api/v1/clients/pc24)"
assert_eq "pc24 result" "$(sq "SELECT result FROM client_last WHERE machine = 'pc24'")" \
	"$(j 'j["result"]')"
assert_eq "pc24 branch" "out_of_date" "$(j 'j["branch"]')"
assert_eq "pc24 verdicts" "$(sq "SELECT count(*) FROM status_messages WHERE machine = 'pc24'")" \
	"$(j 'j["messages"]')"
assert_eq "pc24 missing" "deb-curl deb-openssl" "$(j '" ".join(sorted(m["id"] for m in j["missing"]))')"
assert_match "pc24 fixes" 'openssl' "$(j '" | ".join(j["fixes"])')"
assert_eq "pc24 recent" "$(sq "SELECT group_concat(id, ' ') FROM (SELECT id FROM status_messages
		WHERE machine = 'pc24' ORDER BY time DESC, id DESC LIMIT 10)")" \
	"$(j '" ".join(m["id"] for m in j["recent"])')"
assert_eq "unknown client" 404 "$(code /api/v1/clients/nosuchpc)"
assert_eq "404 is JSON" "no such client" "$(j 'j["error"]')"

assert_eq "policies" 200 "$(code /api/v1/policies)"
for p in deb-openssl deb-curl; do
	assert_eq "$p missing" \
		"$(sq "SELECT count(*) FROM agent_state WHERE ' ' || missing || ' ' LIKE '% $p %'")" \
		"$(j "[x[\"missing\"] for x in j[\"policies\"] if x[\"id\"] == \"$p\"][0]")"
done
assert_eq "policy deb-openssl" 200 "$(code /api/v1/policies/deb-openssl)"
assert_eq "policy kind" "policy" "$(j 'j["kind"]')"
assert_eq "policy requirement" "openssl>=3.0.15-1" \
	"$(j '"%s>=%s" % (j["requirements"][0]["package"], j["requirements"][0]["min_version"])')"
assert_eq "policy clients" \
	"$(sq "SELECT group_concat(client, ' ') FROM (SELECT client FROM agent_state
		WHERE ' ' || missing || ' ' LIKE '% deb-openssl %' ORDER BY client)")" \
	"$(j '" ".join(c["machine"] for c in j["missing"]["clients"])')"
assert_eq "unknown policy" 404 "$(code /api/v1/policies/no-such-policy)"

FROM=$((NOW - 10 * 86400))
assert_eq "history" 200 "$(code "/api/v1/history?from=$FROM&to=$((NOW + 1))&step=day")"
assert_eq "history messages" \
	"$(sq "SELECT count(*) FROM status_messages WHERE time >= $FROM / 86400 * 86400")" \
	"$(j 'sum(p["messages"] for p in j["points"])')"
# compliant / noncompliant per bucket: each machine's last verdict within the day (of two in
# the same second, the noncompliant one).
LASTPER="WITH b AS (SELECT result, ROW_NUMBER() OVER (PARTITION BY machine, time / 86400
	ORDER BY time DESC, result <> 'compliant' DESC) AS rn FROM status_messages WHERE time >= $FROM / 86400 * 86400)
	SELECT sum(result = 'compliant') || ' ' || sum(result <> 'compliant') FROM b WHERE rn = 1"
assert_eq "history compliant/noncompliant" "$(sq "$LASTPER")" \
	"$(j '"%d %d" % (sum(p["compliant"] for p in j["points"]), sum(p["noncompliant"] for p in j["points"]))')"
assert_eq "history ISO dates" 200 "$(code '/api/v1/history?from=2026-01-01&to=2026-01-03T00:00:00Z&step=hour')"
assert_eq "hourly buckets" 48 "$(j 'len(j["points"])')"

assert_eq "feed" 200 "$(code '/api/v1/feed?limit=7&machine=pc10')"
assert_eq "feed pc10" "$(sq "SELECT group_concat(id, ' ') FROM (SELECT id FROM status_messages
		WHERE machine = 'pc10' ORDER BY time DESC, id DESC LIMIT 7)")" \
	"$(j '" ".join(m["id"] for m in j["messages"])')"
code '/api/v1/feed?limit=20&offset=3' >/dev/null
assert_eq "feed page" "$(sq "SELECT group_concat(id, ' ') FROM (SELECT id FROM status_messages
		ORDER BY time DESC, id DESC LIMIT 20 OFFSET 3)")" \
	"$(j '" ".join(m["id"] for m in j["messages"])')"

# ---- bad input ---------------------------------------------------------------------------
bad() { # PATH: 400 with a JSON error
	assert_eq "bad: $1" 400 "$(code "$1")"
	assert_match "bad: $1 says why" '.' "$(j 'j["error"]')"
}
bad '/api/v1/clients?limit=0'
bad '/api/v1/clients?limit=5001'
bad '/api/v1/clients?limit=abc'
bad '/api/v1/clients?limit=1e3'
bad '/api/v1/clients?offset=-1'
bad '/api/v1/clients?result=sometimes'
bad '/api/v1/clients?silent=maybe'
bad '/api/v1/clients?sort=random'
bad '/api/v1/clients?action=allow'
bad '/api/v1/clients?prefix=a%20b'
bad '/api/v1/clients?limit=5&limit=6'
bad '/api/v1/clients?colour=red'
bad "/api/v1/clients?prefix=$(printf 'x%.0s' {1..600})"
bad '/api/v1/history?step=week'
bad '/api/v1/history?from=yesterday'
bad "/api/v1/history?from=$NOW&to=$((NOW - 10))"
bad '/api/v1/history?from=0&to=99999999999&step=hour'
bad '/api/v1/feed?machine=a%0Ab'
bad "/api/v1/feed?limit=5'%20OR%201=1"
bad '/api/v1/clients/a%20b'
bad '/api/v1/policies/bad%20id'
bad '/api/v1/compliance?x=1'
assert_eq "POST" 405 "$(code /api/v1/compliance -X POST --data x=1)"
assert_eq "DELETE" 405 "$(code /clients -X DELETE)"
assert_eq "unknown path" 404 "$(code /api/v2/compliance)"
assert_eq "trailing slash" 404 "$(code /clients/)"
assert_eq "HTML 400" 400 "$(code '/clients?limit=x')"
assert_match "HTML error page" 'limit: want an integer' "$(cat "$T/body")"
assert_eq "HEAD" 200 "$(code / -I)"
assert_alive "$NAPSITED_PID" napsited
M=$(curl -s "http://127.0.0.1:$MPORT/metrics")
assert_ge "bad requests counted" 26 "$(awk '$1 == "napsited_web_bad_requests_total" {print $2}' <<<"$M")"

# ---- the dashboard in Chromium -----------------------------------------------------------
# No network but this server: every name fails to resolve except 127.0.0.1.
CHROME=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update --disable-sync
	--disable-default-apps --no-default-browser-check --user-data-dir="$T/chrome"
	'--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1')
dom() { # PATH NAME: the DOM after rendering into $T/NAME.html
	timeout 60 "${CHROME[@]}" --dump-dom "$URL$1" >"$T/$2.html" 2>>"$T/chrome.log" ||
		fail "chromium --dump-dom $1"
	[[ -s $T/$2.html ]] || fail "chromium rendered nothing for $1"
}
shot() { # PATH NAME WIDTH,HEIGHT
	timeout 60 "${CHROME[@]}" --hide-scrollbars --window-size="$3" \
		--screenshot="$ART/$2.png" "$URL$1" >>"$T/chrome.log" 2>&1 || fail "chromium --screenshot $1"
	[[ -s $ART/$2.png ]] || fail "no screenshot of $1"
	log "screenshot: $ART/$2.png"
}
# text NAME ID: the text of the element with that id.
text() {
	"$PYTHON" - "$T/$1.html" "$2" <<'EOF'
import sys, html.parser
class P(html.parser.HTMLParser):
    def __init__(s):
        super().__init__(); s.depth = 0; s.out = []
    def handle_starttag(s, tag, attrs):
        if s.depth: s.depth += 1
        elif dict(attrs).get("id") == sys.argv[2]: s.depth = 1
    def handle_endtag(s, tag):
        if s.depth: s.depth -= 1
    def handle_data(s, d):
        if s.depth: s.out.append(d)
p = P(); p.feed(open(sys.argv[1]).read()); print("".join(p.out).strip())
EOF
}
# attrs NAME TAG ATTR: every value of ATTR on TAG elements, space separated.
attrs() {
	"$PYTHON" - "$T/$1.html" "$2" "$3" <<'EOF'
import sys, html.parser
out = []
class P(html.parser.HTMLParser):
    def handle_starttag(s, tag, a):
        a = dict(a)
        if tag == sys.argv[2] and sys.argv[3] in a: out.append(a[sys.argv[3]])
P().feed(open(sys.argv[1]).read()); print(" ".join(out))
EOF
}

dom / overview
assert_eq "page clients" "$(sq 'SELECT count(*) FROM client_last')" "$(text overview clients)"
assert_eq "page compliant" "$(sq "SELECT count(*) FROM client_last WHERE result = 'compliant'")" \
	"$(text overview compliant)"
assert_eq "page noncompliant" "$NC" "$(text overview noncompliant)"
assert_eq "page silent" "$(sq "$SILENT_SQL")" "$(text overview silent)"
assert_eq "page messages" "$(sq 'SELECT count(*) FROM status_messages')" "$(text overview messages)"
assert_eq "page by result" \
	"$(sq "SELECT group_concat(result, ' ') FROM (SELECT DISTINCT result FROM client_last ORDER BY result)")" \
	"$(attrs overview tr data-key | tr ' ' '\n' | grep -E '^(non)?compliant$' | tr '\n' ' ' | sed 's/ $//')"
# The chart (default: 14 days by day) against the same per-day query.
FROM14=$(((NOW / 86400 - 13) * 86400))
LAST14="WITH b AS (SELECT result, ROW_NUMBER() OVER (PARTITION BY machine, time / 86400
	ORDER BY time DESC, id DESC) AS rn FROM status_messages WHERE time >= $FROM14)
	SELECT sum(result = 'compliant') || ' ' || sum(result <> 'compliant') FROM b WHERE rn = 1"
assert_eq "chart totals" "$(sq "$LAST14")" \
	"$(attrs overview svg data-compliant) $(attrs overview svg data-noncompliant)"
assert_eq "chart buckets" 14 "$(attrs overview svg data-buckets)"
assert_ge "chart bars drawn" 5 "$(grep -o '<rect class="c"' "$T/overview.html" | wc -l)"
assert_match "silent clients listed" "pc07" "$(text overview silent-clients)"

dom '/clients?result=noncompliant&limit=500' clients
assert_eq "page noncompliant total" "$NC" "$(text clients total)"
assert_eq "page noncompliant rows" \
	"$(sq "SELECT group_concat(machine, ' ') FROM (SELECT machine FROM client_last
		WHERE result <> 'compliant' ORDER BY machine)")" \
	"$(attrs clients tr data-machine)"
dom /clients/pc24 client
assert_eq "page pc24 result" "noncompliant" "$(text client result)"
assert_match "page pc24 fixes" "openssl" "$(text client fixes)"
assert_eq "page pc24 verdicts" "$(sq "SELECT count(*) FROM status_messages WHERE machine = 'pc24'")" \
	"$(text client messages)"
dom /policies policies
assert_eq "page policies" \
	"$(for p in deb-curl deb-openssl; do sq "SELECT '$p=' || count(*) FROM agent_state
		WHERE ' ' || missing || ' ' LIKE '% $p %'"; done | tr '\n' ' ' | sed 's/ $//')" \
	"$("$PYTHON" - "$T/policies.html" <<'EOF'
import sys, html.parser
out = []
class P(html.parser.HTMLParser):
    def handle_starttag(s, tag, a):
        a = dict(a)
        if tag == "tr" and "data-id" in a: out.append("%s=%s" % (a["data-id"], a["data-missing"]))
P().feed(open(sys.argv[1]).read()); print(" ".join(sorted(out)))
EOF
)"
dom /policies/deb-openssl policy
assert_eq "page policy count" \
	"$(sq "SELECT count(*) FROM agent_state WHERE ' ' || missing || ' ' LIKE '% deb-openssl %'")" \
	"$(text policy missing-count)"
dom '/feed?limit=15' feed
assert_eq "page feed" "$(sq "SELECT group_concat(id, ' ') FROM (SELECT id FROM status_messages
		ORDER BY time DESC, id DESC LIMIT 15)")" "$(attrs feed tr data-id)"

# The hostile name: text on the pages, never markup.
EVIL_URL=$("$PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$EVIL")
dom "/clients/$EVIL_URL" evil
assert_eq "hostile name as text" "Client $EVIL" "$("$PYTHON" - "$T/evil.html" <<'EOF'
import sys, html.parser
class P(html.parser.HTMLParser):
    inh = False; out = ""
    def handle_starttag(s, tag, a): s.inh = tag == "h1"
    def handle_endtag(s, tag): s.inh = False
    def handle_data(s, d):
        if s.inh: s.out += d
p = P(); p.feed(open(sys.argv[1]).read()); print(p.out)
EOF
)"
for f in overview clients client policies policy feed evil; do
	if grep -qiE '<img|<script' "$T/$f.html"; then
		fail "$f: markup from the data in the DOM"
	fi
done
log "ok: no markup from the data in any page"

# Nothing on any page points anywhere but this server.
for p in / /clients /clients/pc24 /policies /policies/deb-openssl /feed; do
	curl -s "$URL$p" >"$T/raw.html"
	ext=$(grep -oiE '(src|href|action|xlink:href)="[^"]*"' "$T/raw.html" |
		grep -viE '="(/|\?|#)' || true)
	[[ -z $ext ]] || fail "$p links outside the server: $ext"
	grep -qiE 'url\(|@import|<script|<link' "$T/raw.html" && fail "$p loads a resource"
done
log "ok: no external URL, stylesheet link, import or script in any page"
assert_match "pages reload themselves (default refresh = 60s)" '<meta http-equiv="refresh" content="60">' \
	"$(curl -s "$URL/clients")"
curl -s "$URL/clients?sort=nope" >"$T/err.html"
assert_match "a bad parameter gets the error page" 'id="error"' "$(cat "$T/err.html")"
assert_eq "an error page has no refresh" 0 "$(grep -c 'http-equiv="refresh"' "$T/err.html" || true)"
assert_eq "the API has no refresh" 0 "$(curl -s "$URL/api/v1/compliance" | grep -c refresh || true)"
assert_match "CSP" "default-src 'none'" \
	"$(curl -sI "$URL/" | tr -d '\r' | grep -i '^content-security-policy:')"

# Each Chromium start costs seconds on a loaded machine: two screenshots, the rest as DOM above.
shot / overview 1280,1500
shot /clients/pc24 client-pc24 1100,1000

# ---- reloads: token, HTTPS, allow --------------------------------------------------------
reload() {
	local before
	before=$(curl -s "http://127.0.0.1:$MPORT/metrics" |
		awk '$1 ~ /napsited_reloads_total\{result="ok"\}/ {print $2}')
	kill -HUP "$NAPSITED_PID"
	for ((i = 0; i < 50; i++)); do
		[[ $(curl -s "http://127.0.0.1:$MPORT/metrics" |
			awk '$1 ~ /napsited_reloads_total\{result="ok"\}/ {print $2}') != "$before" ]] &&
			return 0
		sleep 0.1
	done
	fail "the reload did not happen"
}
printf 's3cret-token\n' >"$T/token"
chmod 600 "$T/token"
write_conf "token_file = $T/token
refresh = 0"
reload
assert_eq "refresh = 0: no reload tag" 0 \
	"$(curl -s -u admin:s3cret-token "$URL/" | grep -c 'http-equiv="refresh"' || true)"
assert_eq "no token" 401 "$(code /api/v1/compliance)"
assert_match "401 asks for basic" 'Basic realm="nap"' "$(curl -sI "$URL/" | tr -d '\r')"
assert_eq "wrong token" 401 "$(code /api/v1/compliance -H 'Authorization: Bearer nope')"
assert_eq "bearer" 200 "$(code /api/v1/compliance -H 'Authorization: Bearer s3cret-token')"
assert_eq "basic" 200 "$(code / -u admin:s3cret-token)"
assert_eq "basic, wrong password" 401 "$(code / -u admin:s3cret-tokem)"
chmod 644 "$T/token"
write_conf "token_file = $T/token"
kill -HUP "$NAPSITED_PID"
sleep 0.5
assert_eq "token file readable by others: reload refused, the listener runs on" 200 \
	"$(code /api/v1/compliance -H 'Authorization: Bearer s3cret-token')"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$T/ca.key" -out "$T/ca.pem" -subj "/CN=test web CA" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/web.key" \
	-out "$T/web.csr" -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/web.ext"
openssl x509 -req -in "$T/web.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
	-extfile "$T/web.ext" -out "$T/web.pem" 2>/dev/null
write_conf "cert = $T/web.pem
key = $T/web.key"
reload
URL=https://127.0.0.1:$PORT
assert_eq "HTTPS" 200 "$(code /api/v1/compliance --cacert "$T/ca.pem")"
assert_eq "HTTPS numbers" "$(sq 'SELECT count(*) FROM client_last')" "$(j 'j["clients"]')"
assert_eq "plain HTTP to the HTTPS port fails" 000 \
	"$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/" || true)"

write_conf "allow = 192.0.2.0/24 2001:db8::/32"
reload
URL=http://127.0.0.1:$PORT
assert_eq "loopback not allowed" 000 "$(code /api/v1/compliance)"
M=$(curl -s "http://127.0.0.1:$MPORT/metrics")
assert_ge "refusals counted" 1 "$(awk '$1 == "napsited_web_denied_total" {print $2}' <<<"$M")"
write_conf
reload
assert_eq "back to loopback" 200 "$(code /api/v1/compliance)"
assert_alive "$NAPSITED_PID" napsited
stop_pid "$NAPSITED_PID"
assert_eq "napsited exit status" 0 "$STOP_STATUS"
log "PASS (screenshots in $ART)"
