/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Build a complete client SoH (header, mode sub-header, SSoH, optional MS-WSH entry, nap entry)
 * from a short description, for every branch the validator can take. Used by the unit tests,
 * napbench and the integration tests; not used on the request path. Handles no untrusted input.
 */
#ifndef NAP_SAMPLE_H
#define NAP_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nap_sample_spec {
	const char *machine_name;  /* sent with a trailing NUL like wpa_supplicant; NULL = "nap-client" */
	const char *site;          /* nap site code; NULL = "S01" */
	uint64_t revision;         /* HSR revision the agent evaluated against */
	const uint8_t *digest;     /* 32 bytes, or NULL = all zeros */
	bool compliant;            /* the agent's own verdict */
	int64_t generation_time;   /* Unix seconds: SoH-Generation-Time (and correlation id time) */
	int64_t eval_time;         /* Unix seconds of the evaluation */
	uint8_t failure_category;  /* NAP_FAILURE_*; NONE = the agent evaluated fine */
	uint32_t error_code;       /* sent in Error-Codes with a failure category */
	const char **missing;      /* missing update ids */
	size_t n_missing;
	bool with_wsh;             /* add a WSHA entry like PROTOCOLS.md V3 (SoH > 247 bytes) */
	bool malformed_nap_entry;  /* well framed nap entry whose digest item has the wrong length */
	bool omit_nap_entry;       /* no nap entry at all */
	bool wrapped;              /* add the 12-byte PEAP-style wrapper */
	const uint8_t *correlation_id; /* 24 bytes, or NULL = derived from machine name + time */
	/* MS-Machine-Inventory as a Linux agent fills it: kernel major.minor.patch. */
	uint32_t os_major, os_minor, os_build;
	uint16_t sp_major, sp_minor;
	uint16_t processor_arch;   /* NAP_ARCH_*; product type is always client */
};

/* Derive the correlation id the builder uses when spec->correlation_id is NULL. */
void nap_sample_correlation_id(const char *machine_name, int64_t generation_time,
			       uint8_t out[24]);
/* Build the SoH; *out is malloc'ed (free()). Returns 0 or a negative errno. */
int nap_sample_soh_build(const struct nap_sample_spec *spec, uint8_t **out, size_t *out_len);

#endif
