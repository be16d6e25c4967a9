#include "server/zonemgr.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "dns/err.h"
#include "dns/log.h"

struct diag_ctx {
	zone_diag_fn fn;
	void *ud;
	char *first; /* the first error, for the entry's status */
	size_t first_len;
};

static void diag_fwd(void *ud, int level, const char *where, const char *msg)
{
	struct diag_ctx *d = ud;
	if (level <= LOG_ERR && d->first != NULL && d->first[0] == '\0') {
		snprintf(d->first, d->first_len, "%s%s%s", where ? where : "", where ? ": " : "",
			 msg);
	}
	if (d->fn != NULL) {
		d->fn(d->ud, level, where, msg);
	} else if (where != NULL) {
		log_msg((enum log_level)level, "zone", "%s: %s", where, msg);
	} else {
		log_msg((enum log_level)level, "zone", "%s", msg);
	}
}

static int load(const conf_zone_t *zc, zone_source_t *src, zone_t **out, struct diag_ctx *d)
{
	zone_builder_t *b = NULL;
	int ret = zone_builder_new(&b, zc->apex);
	if (ret != E_OK) {
		return ret;
	}
	zone_builder_set_diag(b, diag_fwd, d);
	ret = src->ops->load(src, b);
	if (ret != E_OK) {
		zone_builder_free(b);
		return ret;
	}
	return zone_builder_finish(b, out);
}

static int open_source(const conf_zone_t *zc, zone_source_t **src, struct diag_ctx *d)
{
	char err[512] = "";
	int ret = zc->source->open(src, &zc->sconf, err, sizeof(err));
	if (ret != E_OK) {
		diag_fwd(d, LOG_ERR, zc->where, err[0] ? err : err_str(ret));
	}
	return ret;
}

int zonemgr_load(const conf_zone_t *zc, zone_t **out, zone_diag_fn diag, void *ud)
{
	struct diag_ctx d = { .fn = diag, .ud = ud };
	zone_source_t *src = NULL;
	int ret = open_source(zc, &src, &d);
	if (ret == E_OK) {
		ret = load(zc, src, out, &d);
		src->ops->close(src);
	}
	return ret;
}

/* Load the entry's zone from its source; the new version, or NULL when it failed. */
static zone_t *load_entry(zone_entry_t *e)
{
	struct diag_ctx d = { .first = e->error, .first_len = sizeof(e->error) };
	struct timespec t0, t1;
	zone_t *z = NULL;

	e->error[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int ret = load(e->conf, e->src, &z, &d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ret != E_OK) {
		if (e->error[0] == '\0') {
			snprintf(e->error, sizeof(e->error), "%s", err_str(ret));
		}
		log_err("zone", "%s: not loaded: %s", e->conf->apex_str, err_str(ret));
		return NULL;
	}
	log_info("zone", "%s: loaded serial %u, %u records, %u names, in %.3f s", e->conf->apex_str,
		 z->serial, z->nrecords, z->nnodes,
		 (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return z;
}

/* The source says the zone changed: load it again and publish the new version. */
static void on_changed(void *ud)
{
	zone_entry_t *e = ud;
	zone_t *z = load_entry(e);
	if (z == NULL) {
		if (e->zone != NULL) {
			log_warn("zone", "%s: keeps serving serial %u", e->conf->apex_str,
				 e->zone->serial);
		}
		return;
	}
	zone_t *old = rcu_xchg_pointer(&e->zone, z);
	synchronize_rcu();
	zone_free(old);
}

static const zone_entry_t *old_entry(const server_state_t *old, const server_state_t *st,
				     const conf_zone_t *zc)
{
	uint16_t port = st->conf->views[zc->view].port;
	for (int i = 0; old != NULL && i < old->nzones; i++) {
		const conf_zone_t *oc = old->zones[i].conf;
		if (dname_equal(oc->apex, zc->apex) && old->conf->views[oc->view].port == port) {
			return &old->zones[i];
		}
	}
	return NULL;
}

int zonemgr_start(server_state_t *st, const server_state_t *old, struct event_base *base)
{
	int failed = 0;
	for (int i = 0; i < st->nzones; i++) {
		zone_entry_t *e = &st->zones[i];
		const zone_entry_t *o = old_entry(old, st, e->conf);
		struct diag_ctx d = { .first = e->error, .first_len = sizeof(e->error) };
		zone_t *z = NULL;

		e->state = st;
		if (open_source(e->conf, &e->src, &d) == E_OK) {
			z = load_entry(e);
			if (e->src->ops->watch != NULL && base != NULL &&
			    e->src->ops->watch(e->src, base, on_changed, e) != E_OK) {
				log_err("zone", "%s: cannot watch its source for changes",
					e->conf->apex_str);
			}
		} else {
			e->src = NULL;
		}
		if (z == NULL) {
			failed++;
			if (o != NULL && o->zone != NULL) {
				log_warn("zone", "%s: keeps serving serial %u", e->conf->apex_str,
					 o->zone->serial);
				z = o->zone;
			}
		}
		e->zone = z;
	}
	return failed;
}

void zonemgr_stop(server_state_t *st)
{
	for (int i = 0; st != NULL && i < st->nzones; i++) {
		if (st->zones[i].src != NULL) {
			st->zones[i].src->ops->close(st->zones[i].src);
			st->zones[i].src = NULL;
		}
	}
}
