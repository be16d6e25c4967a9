/*  Helpers shared by the dnssec/ unit tests: zones from text, keys, an independent RRSIG
 *  check, the zone written as text, the external verifiers. Include after <cmocka.h>. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dns/err.h"
#include "dns/pkt.h"
#include "dns/rrtext.h"
#include "dns/rrtype.h"
#include "dnssec/proof.h"
#include "dnssec/sign.h"
#include "keys/keyset.h"
#include "zones/builder.h"

static inline void t_name(uint8_t *out, const char *s)
{
	assert_true(dname_from_str(out, s, NULL) > 0);
	dname_lower(out);
}

/*! A zone built from presentation-format lines. */
static inline zone_t *t_build(const char *apex_str, const char *const *lines, size_t n)
{
	static dns_rr_t rr;
	uint8_t apex[DNAME_MAX];
	zone_builder_t *b = NULL;
	zone_t *z = NULL;
	char err[256];

	t_name(apex, apex_str);
	assert_int_equal(zone_builder_new(&b, apex), E_OK);
	for (size_t i = 0; i < n; i++) {
		int ret = dns_rr_from_text(&rr, lines[i], apex, 3600, NULL, err, sizeof(err));
		if (ret != E_OK) {
			fprintf(stderr, "%s: %s\n", lines[i], err);
		}
		assert_int_equal(ret, E_OK);
		assert_int_equal(
			zone_builder_add(b, rr.owner, rr.type, rr.ttl, rr.rdata, rr.rdlen, "test"),
			E_OK);
	}
	assert_int_equal(zone_builder_finish(b, &z), E_OK);
	return z;
}

/*! A key of \a apex, published and active since a day before \a now; KSKs/CSKs also in
 *  their sync-publish period (CDS/CDNSKEY). */
static inline dnssec_key_t *t_key(const char *apex_str, uint8_t alg, uint16_t flags, int64_t now)
{
	uint8_t apex[DNAME_MAX];
	dnssec_key_t *k = NULL;
	t_name(apex, apex_str);
	assert_int_equal(key_generate(&k, apex, alg, alg == KEY_ALG_RSASHA256 ? 2048 : 0, flags),
			 E_OK);
	k->timing.created = now - 86400;
	k->timing.publish = now - 86400;
	k->timing.activate = now - 86400;
	if (flags & KEY_FLAG_SEP) {
		k->timing.sync_publish = now - 86400;
	}
	return k;
}

static inline void t_keyset_clear(keyset_t *ks)
{
	for (int i = 0; i < ks->n; i++) {
		key_free(ks->keys[i]);
	}
	ks->n = 0;
}

static inline zone_t *t_sign(const zone_t *in, const zone_t *prev, const keyset_t *ks,
			     const dnssec_conf_t *conf, int64_t now, dnssec_sign_stats_t *st)
{
	zone_t *out = NULL;
	int64_t next = 0;
	dnssec_sign_stats_t local;
	int ret = dnssec_sign_zone(in, prev, ks, conf, now, &out, &next, st ? st : &local);
	if (ret != E_OK) {
		fprintf(stderr, "dnssec_sign_zone: %s\n", err_str(ret));
	}
	assert_int_equal(ret, E_OK);
	assert_non_null(out);
	assert_true(next > now);
	return out;
}

/* --- an independent check of every RRSIG (RFC 4034 §3.1.8.1, §6.2) ------------------ */

struct t_rr {
	uint8_t rd[1024];
	uint16_t len;
};

static inline int t_rr_cmp(const void *x, const void *y)
{
	const struct t_rr *a = x, *b = y;
	int r = memcmp(a->rd, b->rd, a->len < b->len ? a->len : b->len);
	return r != 0 ? r : (a->len > b->len) - (a->len < b->len);
}

static inline void t_lower_names(uint8_t *rd, size_t pos, int names)
{
	for (int i = 0; i < names; i++) {
		while (rd[pos] != 0) {
			for (uint8_t k = 1; k <= rd[pos]; k++) {
				rd[pos + k] = dname_lower_octet(rd[pos + k]);
			}
			pos += 1u + rd[pos];
		}
		pos++;
	}
}

/* Only the types the test zones hold. */
static inline void t_canon(uint16_t type, uint8_t *rd)
{
	switch (type) {
	case RR_NS:
	case RR_CNAME:
	case RR_PTR:
	case RR_DNAME:
		t_lower_names(rd, 0, 1);
		break;
	case RR_SOA:
		t_lower_names(rd, 0, 2);
		break;
	case RR_MX:
		t_lower_names(rd, 2, 1);
		break;
	case RR_SRV:
		t_lower_names(rd, 6, 1);
		break;
	default:
		break;
	}
}

static inline const dnssec_key_t *t_find_key(const keyset_t *ks, uint8_t alg, uint16_t tag)
{
	for (int i = 0; i < ks->n; i++) {
		uint8_t rd[1100];
		size_t len = key_dnskey_rdata(ks->keys[i], rd);
		if (ks->keys[i]->algorithm == alg && key_tag(rd, len) == tag) {
			return ks->keys[i];
		}
	}
	return NULL;
}

/*! Verify every RRSIG over \a rs at \a node with key_verify; \return how many. */
static inline int t_verify_rrset(const zone_t *z, const zone_node_t *node, const zone_rrset_t *rs,
				 const keyset_t *ks)
{
	static struct t_rr rrs[64];
	static uint8_t data[65536];
	uint32_t pos = 0, spos = 0;
	uint16_t rdlen, slen;
	const uint8_t *rd, *sig;
	int n = 0, verified = 0;

	while ((rd = zone_rrset_next(rs, &pos, &rdlen)) != NULL) {
		assert_true(n < 64 && rdlen <= sizeof(rrs[0].rd));
		memcpy(rrs[n].rd, rd, rdlen);
		rrs[n].len = rdlen;
		t_canon(rs->type, rrs[n].rd);
		n++;
	}
	qsort(rrs, (size_t)n, sizeof(rrs[0]), t_rr_cmp);
	while ((sig = zone_rrset_next(rs->sigs, &spos, &slen)) != NULL) {
		size_t signer = dname_len(sig + 18);
		size_t prefix = 18 + signer, len = prefix;
		int labels = node->labels - (dname_is_wildcard(node->owner) ? 1 : 0);
		assert_int_equal(dns_u16(sig), rs->type);
		assert_int_equal(sig[3], labels);
		assert_int_equal(dns_u32(sig + 4), rs->ttl);
		assert_true(dname_equal(sig + 18, z->apex_name));
		memcpy(data, sig, prefix);
		for (int i = 0; i < n; i++) {
			memcpy(data + len, node->owner, node->owner_len);
			len += node->owner_len;
			dns_put16(data + len, rs->type);
			dns_put16(data + len + 2, CLASS_IN);
			dns_put32(data + len + 4, rs->ttl);
			dns_put16(data + len + 8, rrs[i].len);
			memcpy(data + len + 10, rrs[i].rd, rrs[i].len);
			len += 10u + rrs[i].len;
		}
		const dnssec_key_t *k = t_find_key(ks, sig[2], dns_u16(sig + 16));
		assert_non_null(k);
		assert_int_equal(key_verify(k, data, len, sig + prefix, slen - prefix), E_OK);
		verified++;
	}
	return verified;
}

/*! Every RRSIG of the zone verified; \return how many. */
static inline int t_verify_zone(const zone_t *z, const keyset_t *ks)
{
	int total = 0;
	for (int pass = 0; pass < 2; pass++) {
		uint32_t n = pass == 0 ? z->nnodes : z->nnsec3;
		for (uint32_t k = 0; k < n; k++) {
			const zone_node_t *node = pass == 0 ? z->nodes[k] : z->nsec3[k];
			for (uint16_t i = 0; i < node->nrrsets; i++) {
				const zone_rrset_t *rs = &node->rrsets[i];
				if (rs->type != RR_RRSIG && rs->sigs != NULL) {
					total += t_verify_rrset(z, node, rs, ks);
				}
			}
		}
	}
	return total;
}

/* --- the zone as text and the external verifiers ------------------------------------- */

static inline void t_write_rrset(FILE *f, const uint8_t *owner, const zone_rrset_t *rs,
				 int *corrupt)
{
	static char line[70000];
	static uint8_t copy[65536];
	uint32_t pos = 0;
	uint16_t rdlen;
	const uint8_t *rd;
	while ((rd = zone_rrset_next(rs, &pos, &rdlen)) != NULL) {
		if (rs->type == RR_RRSIG && corrupt != NULL && (*corrupt)-- == 0) {
			memcpy(copy, rd, rdlen);
			copy[rdlen - 1] ^= 0x01; /* one bit of the signature */
			rd = copy;
		}
		assert_int_equal(
			dns_rr_to_text(line, sizeof(line), owner, rs->type, rs->ttl, rd, rdlen),
			E_OK);
		fprintf(f, "%s\n", line);
	}
}

/*! Write \a z as a master file; with \a corrupt >= 0, flip a bit in that RRSIG (counted in
 *  writing order). RRSIGs are written per covered RRset, with its TTL. */
static inline void t_write_zone(const zone_t *z, const char *path, int corrupt)
{
	FILE *f = fopen(path, "w");
	int left = corrupt;
	assert_non_null(f);
	for (int pass = 0; pass < 2; pass++) {
		uint32_t n = pass == 0 ? z->nnodes : z->nnsec3;
		for (uint32_t k = 0; k < n; k++) {
			const zone_node_t *node = pass == 0 ? z->nodes[k] : z->nsec3[k];
			for (uint16_t i = 0; i < node->nrrsets; i++) {
				const zone_rrset_t *rs = &node->rrsets[i];
				if (rs->type == RR_RRSIG) {
					continue;
				}
				t_write_rrset(f, node->owner, rs, NULL);
				if (rs->sigs != NULL) {
					t_write_rrset(f, node->owner, rs->sigs,
						      corrupt >= 0 ? &left : NULL);
				}
			}
		}
	}
	assert_int_equal(fclose(f), 0);
}

/*! Run a shell command, its output kept in \a log; \return its exit status. */
static inline int t_run(const char *cmd, const char *log)
{
	char full[2048];
	snprintf(full, sizeof(full), "%s >%s 2>&1", cmd, log);
	int st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline void t_dump(const char *log)
{
	char buf[4096];
	FILE *f = fopen(log, "r");
	if (f == NULL) {
		return;
	}
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "%s\n", buf);
}

/*! ldns-verify-zone and dnssec-verify on \a z; \a expect_ok: both must accept it, or else
 *  both must reject it. */
static inline void t_external_verify(const zone_t *z, const char *apex, int corrupt, bool expect_ok)
{
	char dir[] = "/tmp/signet-dnssec-XXXXXX";
	char path[256], log[256], cmd[768];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/zone", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	t_write_zone(z, path, corrupt);

	snprintf(cmd, sizeof(cmd), "ldns-verify-zone %s", path);
	int ldns = t_run(cmd, log);
	if ((ldns == 0) != expect_ok) {
		fprintf(stderr, "ldns-verify-zone exit %d:\n", ldns);
		t_dump(log);
	}
	/* Only 257 keys (CSKs): tell dnssec-verify that they sign everything. */
	const zone_rrset_t *dnskey = zone_node_rrset(z->apex, RR_DNSKEY);
	bool zsk = false;
	uint32_t pos = 0;
	uint16_t rdlen;
	const uint8_t *rd;
	while ((rd = zone_rrset_next(dnskey, &pos, &rdlen)) != NULL) {
		zsk = zsk || !(dns_u16(rd) & KEY_FLAG_SEP);
	}
	snprintf(cmd, sizeof(cmd), "dnssec-verify -q %s-o %s %s", zsk ? "" : "-z ", apex, path);
	int bind = t_run(cmd, log);
	if ((bind == 0) != expect_ok) {
		fprintf(stderr, "dnssec-verify exit %d:\n", bind);
		t_dump(log);
	}
	if (expect_ok) {
		assert_int_equal(ldns, 0);
		assert_int_equal(bind, 0);
	} else {
		assert_int_not_equal(ldns, 0);
		assert_int_not_equal(bind, 0);
	}
	if (getenv("SIGNET_TEST_KEEP") != NULL) {
		fprintf(stderr, "kept %s\n", dir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}
