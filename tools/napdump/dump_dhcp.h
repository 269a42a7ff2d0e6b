/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Decoded views of DHCPv4 packets, with the MS-DHCPN NAP sub-options of option 43 and the SoH or
 * SoHR they carry, as JSON trees for napdump. Handles untrusted input (through libnap's DHCP and
 * SoH decoders).
 */
#ifndef NAP_TOOLS_DUMP_DHCP_H
#define NAP_TOOLS_DUMP_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "nap/error.h"

/*
 * Decode a DHCP packet and describe it: header, options (RFC 3396 instances concatenated), the
 * NAP sub-options and an SoH (BOOTREQUEST) or SoHR (BOOTREPLY) carried in NAP-SoH. Returns a
 * negative errno with err filled when the packet itself is malformed. Otherwise 0 with *out set;
 * *problem is set (err filled, offset in the packet) when the NAP sub-options or the nested SoH
 * are malformed: the description then carries "nap_error" or "soh_error".
 */
int dump_dhcp(const uint8_t *p, size_t len, json_t **out, bool *problem, struct nap_err *err);

#endif
