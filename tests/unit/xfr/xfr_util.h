/* Helpers shared by the tests of zones/diff.c and xfr/: zones from text, and RR lists in a
 * comparable text form ("owner TYPE ttl hex-rdata"). Include after cmocka.h. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/err.h"
#include "dns/pkt.h"
#include "dns/rrtext.h"
#include "dns/rrtype.h"
#include "zones/builder.h"
#include "zones/diff.h"

/* A zone from presentation-format lines (absolute owners or relative to \a apex). */
static inline zone_t *zu_build(const char *apex, const char *const *lines, size_t n)
{
	static dns_rr_t rr;
	uint8_t a[DNAME_MAX];
	zone_builder_t *b = NULL;
	zone_t *z = NULL;
	char err[256];

	assert_true(dname_from_str(a, apex, NULL) > 0);
	assert_int_equal(zone_builder_new(&b, a), E_OK);
	for (size_t i = 0; i < n; i++) {
		if (lines[i] == NULL) {
			continue;
		}
		if (dns_rr_from_text(&rr, lines[i], a, 3600, NULL, err, sizeof(err)) != E_OK) {
			fail_msg("%s: %s", lines[i], err);
		}
		assert_int_equal(
			zone_builder_add(b, rr.owner, rr.type, rr.ttl, rr.rdata, rr.rdlen, "test"),
			E_OK);
	}
	assert_int_equal(zone_builder_finish(b, &z), E_OK);
	return z;
}

typedef struct rrlist {
	char **s;
	size_t n, cap;
} rrlist_t;

/* Append \a s (taken over). */
static inline void rl_push(rrlist_t *l, char *s)
{
	assert_non_null(s);
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->s = realloc(l->s, l->cap * sizeof(char *));
		assert_non_null(l->s);
	}
	l->s[l->n++] = s;
}

static inline void rl_add(rrlist_t *l, const uint8_t *owner, uint16_t type, uint32_t ttl,
			  const uint8_t *rd, uint16_t rdlen)
{
	char name[DNAME_STR_MAX];
	char *s = malloc(DNAME_STR_MAX + 64 + 2 * (size_t)rdlen);
	int n;

	assert_non_null(s);
	assert_true(dname_to_str(name, sizeof(name), owner) > 0);
	for (char *p = name; *p; p++) {
		if (*p >= 'A' && *p <= 'Z') {
			*p = (char)(*p + 32);
		}
	}
	n = sprintf(s, "%s %u %u ", name, type, ttl);
	for (uint16_t i = 0; i < rdlen; i++) {
		n += sprintf(s + n, "%02x", rd[i]);
	}
	rl_push(l, s);
}

/* Every RR of \a z as sent (RRSIG TTL: the covered RRset's), the SOA when \a soa. */
static inline void rl_zone(rrlist_t *l, const zone_t *z, bool soa)
{
	for (uint32_t k = 0; k < z->nnodes + z->nnsec3; k++) {
		const zone_node_t *node = k < z->nnodes ? z->nodes[k] : z->nsec3[k - z->nnodes];

		for (uint16_t i = 0; i < node->nrrsets; i++) {
			const zone_rrset_t *rs = &node->rrsets[i];
			uint32_t pos = 0;
			uint16_t rdlen;
			const uint8_t *rd;

			if (rs->type == RR_SOA && !soa) {
				continue;
			}
			while ((rd = zone_rrset_next(rs, &pos, &rdlen)) != NULL) {
				uint32_t ttl = rs->ttl;

				if (rs->type == RR_RRSIG) {
					const zone_rrset_t *c = zone_node_rrset(node, dns_u16(rd));

					if (c != NULL && c->type != RR_RRSIG && c->sigs != NULL) {
						ttl = c->ttl;
					}
				}
				rl_add(l, node->owner, rs->type, ttl, rd, rdlen);
			}
		}
	}
}

/* The packed RRs of a changeset side. */
static inline void rl_packed(rrlist_t *l, const uint8_t *p, size_t len, uint32_t n)
{
	size_t pos = 0;
	uint32_t count = 0;

	while (pos < len) {
		size_t olen = dname_len(p + pos);
		const uint8_t *f = p + pos + olen;

		assert_int_equal(dns_u16(f + 2), CLASS_IN);
		rl_add(l, p + pos, dns_u16(f), dns_u32(f + 4), f + 10, dns_u16(f + 8));
		pos += olen + 10 + dns_u16(f + 8);
		count++;
	}
	assert_int_equal(pos, len);
	assert_int_equal(count, n);
}

static int rl_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline void rl_sort(rrlist_t *l)
{
	if (l->n > 0) {
		qsort(l->s, l->n, sizeof(char *), rl_cmp);
	}
}

static inline void rl_free(rrlist_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->s[i]);
	}
	free(l->s);
	memset(l, 0, sizeof(*l));
}

static inline void rl_assert_equal(rrlist_t *a, rrlist_t *b)
{
	rl_sort(a);
	rl_sort(b);
	for (size_t i = 0; i < a->n && i < b->n; i++) {
		if (strcmp(a->s[i], b->s[i]) != 0) {
			fail_msg("RR lists differ at %zu: %s | %s", i, a->s[i], b->s[i]);
		}
	}
	assert_int_equal(a->n, b->n);
}

static inline bool rl_has(const rrlist_t *l, const char *prefix)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strncmp(l->s[i], prefix, strlen(prefix)) == 0) {
			return true;
		}
	}
	return false;
}

/* \a from minus removed plus added must be \a to (the SOA aside): removed RRs must exist. */
static inline void rl_assert_applies(const zone_t *from, const zone_changeset_t *cs,
				     const zone_t *to)
{
	rrlist_t f = { 0 }, t = { 0 }, r = { 0 }, a = { 0 };
	size_t i = 0, j = 0, k = 0;

	rl_zone(&f, from, false);
	rl_zone(&t, to, false);
	rl_packed(&r, cs->removed, cs->removed_len, cs->nremoved);
	rl_packed(&a, cs->added, cs->added_len, cs->nadded);
	rl_sort(&f);
	rl_sort(&r);
	/* f - r, in place */
	for (i = 0; i < f.n; i++) {
		if (j < r.n && strcmp(f.s[i], r.s[j]) == 0) {
			free(f.s[i]);
			j++;
			continue;
		}
		f.s[k++] = f.s[i];
	}
	if (j != r.n) {
		fail_msg("removed RR not in the old version: %s", r.s[j]);
	}
	f.n = k;
	for (i = 0; i < a.n; i++) {
		rl_push(&f, strdup(a.s[i]));
	}
	rl_assert_equal(&f, &t);
	rl_free(&f);
	rl_free(&t);
	rl_free(&r);
	rl_free(&a);
}
