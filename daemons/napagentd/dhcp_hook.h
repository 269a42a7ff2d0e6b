/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DHCP enforcement, client side: put the agent's SoH where the system's DHCP client sends it
 * (option 43, [MS-DHCPN]) and read the SoHR back from the DHCPACK through a hook.
 *
 * Linux DHCP clients do not ask a NAP agent for an SoH; they send fixed option values from
 * their configuration. So the agent writes a configuration fragment holding the option-43
 * payload, and runs a renew command after every change so the next DHCPREQUEST carries it:
 *
 *   dhclient (isc-dhcp-client): `send vendor-encapsulated-options dc:82:...;` (plus
 *     `send vendor-class-identifier "MSFT 5.0";` and `request ... vendor-encapsulated-options`)
 *     in the fragment file; dhclient.conf pulls it in with `include "FRAGMENT";`, or the
 *     fragment is a complete dhclient.conf when `template` is set (dhclient -cf FRAGMENT).
 *   dhcpcd: `vendor ,dc:82:...` (the empty code makes dhcpcd send the bytes as they are) plus
 *     `vendorclassid MSFT 5.0` and `option vendor_encapsulated_options`; dhcpcd.conf has no
 *     include, so `template` (the rest of the dhcpcd.conf) is copied in front and dhcpcd runs
 *     with -f FRAGMENT.
 *
 * The payload is NAP-CoID (222, 130 bytes) followed by NAP-SoH (220) holding the SoH, split
 * over consecutive 220 sub-options of at most 255 bytes each (nap_dhcp_nap_encode). The
 * 130-byte CoID is derived from the SoH's 24-byte correlation id: those 24 bytes, then the
 * correlation id as 48 lowercase hex digits (so it reads in a packet dump), then zeros — the
 * same SoH always gives the same CoID, and napdhcpd echoes it.
 *
 * The whole payload is usually longer than 255 bytes. What the clients do with it (measured
 * with tcpdump in network namespaces against dnsmasq, tests/integration/test-agent-dhcp.sh):
 *
 *   isc-dhclient 4.4.3-P1 splits a value over 255 bytes into consecutive option-43 instances
 *   of 255 bytes (RFC 3396), in every message (DISCOVER, REQUEST, RELEASE alike), but only
 *   within its single options area (no overload into sname/file, messages up to about 1470
 *   bytes): a payload that does not fit is left out of the message silently (the REQUEST,
 *   which carries options 50 and 54 too, lost a 1192-byte payload that the DISCOVER still
 *   carried; 1172 bytes went in both). AGENT_DHCP_DHCLIENT_MAX keeps a margin below that.
 *   dhcpcd 9.4.1 refuses a `vendor` value over 255 bytes ("vendor: No buffer space
 *   available") and then sends no option 43 at all: with dhcpcd only SoHs of at most 253
 *   bytes travel (the CoID is left out to make room: it is optional, for logging).
 *
 * When the payload exceeds the client's limit, agent_dhcp_publish() writes the NAP probe
 * (CoID + empty 220) instead, so no stale SoH keeps travelling, and returns -EMSGSIZE: the
 * server then treats the client as NAP-incapable (restricted unless configured otherwise).
 *
 * The hooks (dist/dhclient/napagentd, dist/dhcpcd/60-napagentd) run, on BOUND/RENEW/REBIND/
 * REBOOT, `napagentd --sohr "$new_vendor_encapsulated_options"`: dhclient passes the option
 * as colon hex with single digits for small bytes ("dc:3:4e:41:50"), dhcpcd as plain hex
 * ("dc034e4150"). agent-core's --sohr calls agent_dhcp_sohr_from_arg() on its argument, which
 * accepts both forms of an option-43 value and also a bare SoHR in hex.
 *
 * Configuration, section [dhcp] of napagentd.conf (agent_dhcp_conf_set()):
 *
 *   client = none|dhclient|dhcpcd  default none (publish and renew do nothing, return 1)
 *   interface = NAME              the interface the client runs on (%i in renew_command)
 *   fragment = PATH               default /etc/dhcp/dhclient-napagentd.conf (dhclient),
 *                                 /etc/dhcpcd-napagentd.conf (dhcpcd)
 *   template = PATH               optional: its contents go first in the fragment
 *   vendor_class = TEXT           option 60 sent with the SoH, default "MSFT 5.0"; "" = none
 *   renew_command = ARGV          run by agent_dhcp_renew(); words split like remediate.h's
 *                                 commands, "%i" in a word becomes the interface. Default for
 *                                 dhcpcd "/usr/sbin/dhcpcd -n %i" (reload + rebind); for
 *                                 dhclient none (a restart is site-specific: e.g.
 *                                 "/bin/systemctl restart ifup@%i" or a script running
 *                                 dhclient -r then dhclient)
 *   renew_timeout = DURATION      default 30s
 */
#ifndef NAPAGENTD_DHCP_HOOK_H
#define NAPAGENTD_DHCP_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nap/dhcp.h"
#include "nap/soh.h"

#define AGENT_DHCP_PATH_MAX 1024
#define AGENT_DHCP_CMD_MAX  1024
/* Largest option-43 payload each client really sends (see above). */
#define AGENT_DHCP_DHCLIENT_MAX 1100
#define AGENT_DHCP_DHCPCD_MAX   255
/* The option-43 payload: CoID (2 + 130) + the SoH in 220 sub-options (2 per 255 bytes). */
#define AGENT_DHCP_PAYLOAD_MAX (2 + NAP_DHCP_COID_LEN + NAP_DHCP_NAP_SOH_MAX + \
				2 * (NAP_DHCP_NAP_SOH_MAX / 255 + 1))

enum agent_dhcp_client {
	AGENT_DHCP_NONE = 0,
	AGENT_DHCP_DHCLIENT,
	AGENT_DHCP_DHCPCD,
};

struct agent_dhcp_conf {
	enum agent_dhcp_client client;
	char interface[64];
	char fragment[AGENT_DHCP_PATH_MAX]; /* "" = the client's default */
	char template_path[AGENT_DHCP_PATH_MAX];
	char vendor_class[64];
	char renew_command[AGENT_DHCP_CMD_MAX]; /* "" = the client's default */
	int64_t renew_timeout;                  /* seconds */
};

/* Defaults: client none, vendor class "MSFT 5.0", renew timeout 30 s. */
void agent_dhcp_conf_init(struct agent_dhcp_conf *c);

/*
 * Apply one key of [dhcp]. Returns 0, 1 when key is not a [dhcp] key, -EINVAL with a message
 * in err (unknown client, relative path, value too long, bad duration, interface name with
 * characters outside [A-Za-z0-9._-], relative argv[0] or unbalanced quote in renew_command).
 */
int agent_dhcp_conf_set(struct agent_dhcp_conf *c, const char *key, const char *value,
			char *err, size_t len);

/* The fragment path in effect (the configured one or the client's default); NULL for none. */
const char *agent_dhcp_fragment_path(const struct agent_dhcp_conf *c);

/*
 * Write the fragment for the configured client atomically (temp file + fsync + rename, mode
 * 0644) with the option-43 payload for this SoH (the probe and -EMSGSIZE when it is longer than
 * the client can send, see above). corr is the SoH's correlation id
 * (NAP_CORRELATION_ID_LEN bytes; NULL: taken from the SoH itself, -EINVAL when it has none).
 * soh == NULL / len 0 writes the NAP probe instead (CoID + empty 220: "NAP-capable, no SoH
 * yet"). Returns 0 written, 1 unchanged (the file already held exactly these bytes: nothing to
 * renew), 2 client none (nothing written), or a negative errno with a message in err.
 */
int agent_dhcp_publish(const struct agent_dhcp_conf *c, const uint8_t *soh, size_t len,
		       const uint8_t *corr, char *err, size_t err_len);

/*
 * Run the renew command (bounded by renew_timeout; output logged at debug level). Returns 0,
 * 1 when there is no command for this client (nothing ran), or a negative errno with a message
 * in err (-ENOEXEC exec failed, -EIO non-zero exit, -ETIMEDOUT).
 */
int agent_dhcp_renew(const struct agent_dhcp_conf *c, char *err, size_t err_len);

/*
 * Lower level, for the tests and for agent-core's --sohr.
 *
 * agent_dhcp_coid(): the 130-byte NAP-CoID for a correlation id (see above).
 * agent_dhcp_payload(): the option-43 value (CoID + split NAP-SoH; soh NULL = probe; corr NULL
 *   = no CoID). Returns its length or a negative errno (-EMSGSIZE SoH too long).
 * agent_dhcp_render(): the fragment text for the client into out (NUL-terminated); returns
 *   its length or -ENOSPC / -EINVAL. tmpl (may be NULL) goes first.
 */
void agent_dhcp_coid(const uint8_t corr[NAP_CORRELATION_ID_LEN], uint8_t coid[NAP_DHCP_COID_LEN]);
long agent_dhcp_payload(const uint8_t *soh, size_t len, const uint8_t corr[NAP_CORRELATION_ID_LEN],
			uint8_t *out, size_t cap);
long agent_dhcp_render(enum agent_dhcp_client client, const char *vendor_class,
		       const char *tmpl, size_t tmpl_len, const uint8_t *payload, size_t plen,
		       char *out, size_t cap);

/*
 * What a DHCP hook handed over: arg is an option-43 value as dhclient prints it ("dc:3:4e:..."
 * colon-separated, 1 or 2 hex digits per byte), as dhcpcd prints it (plain hex) or a bare SoHR
 * in hex (first bytes 00 07). For an option-43 value the NAP sub-options are parsed
 * (nap_dhcp_nap_parse, several 220 concatenated) and the NAP-SoH data is the SoHR.
 * Returns 0 with the SoHR in out (*out_len bytes); 1 when the option holds no SoHR (only the
 * "NAP"/"PAN" marker or a probe: *out_len 0; nothing to act on); -EBADMSG (malformed hex or
 * sub-options) / -EMSGSIZE (too long) with a message in err. *marker is set when the server
 * said it is NAP-capable (may be NULL); mask (may be NULL, 4 bytes) receives NAP-Mask when
 * present, and *has_mask says so (may be NULL).
 */
int agent_dhcp_sohr_from_arg(const char *arg, uint8_t *out, size_t cap, size_t *out_len,
			     bool *marker, uint8_t mask[4], bool *has_mask, char *err,
			     size_t err_len);

const char *agent_dhcp_client_name(enum agent_dhcp_client c);

#endif
