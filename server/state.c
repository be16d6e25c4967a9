#include "server/state.h"

#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "dns/err.h"
#include "dns/rrtype.h"

server_state_t *server_state;

int state_new(server_state_t **out, conf_t *conf)
{
	server_state_t *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		conf_free(conf);
		return -ENOMEM;
	}
	st->conf = conf;
	st->nzones = conf->nzones;
	st->nbuckets = 16;
	while (st->nbuckets < (uint32_t)conf->nzones * 2) {
		st->nbuckets <<= 1;
	}
	st->zones = calloc((size_t)conf->nzones + 1, sizeof(zone_entry_t));
	st->view_buckets = calloc((size_t)conf->nviews + 1, sizeof(zone_entry_t **));
	if (st->zones == NULL || st->view_buckets == NULL) {
		state_free(st);
		return -ENOMEM;
	}
	for (int v = 0; v < conf->nviews; v++) {
		st->view_buckets[v] = calloc(st->nbuckets, sizeof(zone_entry_t *));
		if (st->view_buckets[v] == NULL) {
			state_free(st);
			return -ENOMEM;
		}
	}
	for (int i = 0; i < conf->nzones; i++) {
		zone_entry_t *e = &st->zones[i];
		e->conf = &conf->zones[i];
		e->zb = conf->zones[i].zb;
		e->transfer = conf->zones[i].transfer;
		e->signed_zone = conf->zones[i].dnssec != NULL;
		uint32_t h = dname_hash(e->conf->apex) & (st->nbuckets - 1);
		e->hnext = st->view_buckets[e->conf->view][h];
		st->view_buckets[e->conf->view][h] = e;
	}
	*out = st;
	return E_OK;
}

void state_free(server_state_t *st)
{
	if (st == NULL) {
		return;
	}
	for (int i = 0; st->zones != NULL && i < st->nzones; i++) {
		zone_free(st->zones[i].zone);
	}
	for (int v = 0; st->view_buckets != NULL && v < st->conf->nviews; v++) {
		free(st->view_buckets[v]);
	}
	free(st->view_buckets);
	free(st->zones);
	conf_free(st->conf);
	free(st);
}

static const zone_entry_t *find_exact(const server_state_t *st, int view, const uint8_t *name)
{
	size_t len = dname_len(name);
	const zone_entry_t *e = st->view_buckets[view][dname_hash(name) & (st->nbuckets - 1)];
	for (; e != NULL; e = e->hnext) {
		if (memcmp(e->conf->apex, name, len) == 0) {
			return e;
		}
	}
	return NULL;
}

const zone_entry_t *state_find_zone(const server_state_t *st, int view, const uint8_t *qname_lc,
				    uint16_t qtype)
{
	const uint8_t *name = qname_lc;
	/* DS lives on the parent side of a cut: start one label up when possible. */
	if (qtype == RR_DS && name[0] != 0) {
		const zone_entry_t *e = find_exact(st, view, name);
		if (e != NULL) {
			const uint8_t *p = name + 1 + name[0];
			for (;; p += 1 + p[0]) {
				const zone_entry_t *parent = find_exact(st, view, p);
				if (parent != NULL) {
					return parent;
				}
				if (p[0] == 0) {
					break;
				}
			}
			return e;
		}
	}
	for (;; name += 1 + name[0]) {
		const zone_entry_t *e = find_exact(st, view, name);
		if (e != NULL) {
			return e;
		}
		if (name[0] == 0) {
			return NULL;
		}
	}
}
