#include "server/zonemgr.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "dns/err.h"
#include "dns/log.h"
#include "zones/zonefile.h"

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

static int load(const conf_zone_t *zc, zone_t **out, struct diag_ctx *d)
{
	zone_builder_t *b = NULL;
	int ret = zone_builder_new(&b, zc->apex);
	if (ret != E_OK) {
		return ret;
	}
	zone_builder_set_diag(b, diag_fwd, d);
	ret = zonefile_load(b, zc->path);
	if (ret != E_OK) {
		if (ret < 0 && ret > E_DOMAIN_BASE) {
			diag_fwd(d, LOG_ERR, zc->path, strerror(-ret));
		}
		zone_builder_free(b);
		return ret;
	}
	return zone_builder_finish(b, out);
}

int zonemgr_load(const conf_zone_t *zc, zone_t **out, zone_diag_fn diag, void *ud)
{
	struct diag_ctx d = { .fn = diag, .ud = ud };
	return load(zc, out, &d);
}

static bool file_changed(const zone_entry_t *e, const struct stat *sb)
{
	return sb->st_mtim.tv_sec != e->mtime.tv_sec || sb->st_mtim.tv_nsec != e->mtime.tv_nsec ||
	       sb->st_size != e->size || sb->st_ino != e->ino;
}

static void remember(zone_entry_t *e, const struct stat *sb)
{
	e->mtime = sb->st_mtim;
	e->size = sb->st_size;
	e->ino = sb->st_ino;
}

/* Load the entry's zone; on success the new version is returned, on failure NULL. */
static zone_t *load_entry(zone_entry_t *e)
{
	struct diag_ctx d = { .first = e->error, .first_len = sizeof(e->error) };
	struct stat sb;
	zone_t *z = NULL;
	e->error[0] = '\0';
	if (stat(e->conf->path, &sb) != 0) {
		snprintf(e->error, sizeof(e->error), "%s: %s", e->conf->path, strerror(errno));
		log_err("zone", "%s: cannot load: %s", e->conf->apex_str, e->error);
		return NULL;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int ret = load(e->conf, &z, &d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Remember the file even when it failed: a broken file is not retried until it changes. */
	remember(e, &sb);
	if (ret != E_OK) {
		if (e->error[0] == '\0') {
			snprintf(e->error, sizeof(e->error), "%s", err_str(ret));
		}
		log_err("zone", "%s: not loaded from %s: %s", e->conf->apex_str, e->conf->path,
			err_str(ret));
		return NULL;
	}
	log_info("zone", "%s: loaded serial %u, %u records, %u names, in %.3f s", e->conf->apex_str,
		 z->serial, z->nrecords, z->nnodes,
		 (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return z;
}

static const zone_entry_t *old_entry(const server_state_t *old, const conf_zone_t *zc,
				     uint16_t port)
{
	for (int i = 0; old != NULL && i < old->nzones; i++) {
		const conf_zone_t *oc = old->zones[i].conf;
		if (dname_equal(oc->apex, zc->apex) && strcmp(oc->path, zc->path) == 0 &&
		    old->conf->views[oc->view].port == port) {
			return &old->zones[i];
		}
	}
	return NULL;
}

int zonemgr_load_all(server_state_t *st, const server_state_t *old)
{
	int failed = 0;
	for (int i = 0; i < st->nzones; i++) {
		zone_entry_t *e = &st->zones[i];
		const zone_entry_t *o =
			old_entry(old, e->conf, st->conf->views[e->conf->view].port);
		struct stat sb;
		if (o != NULL && o->zone != NULL && stat(e->conf->path, &sb) == 0 &&
		    !file_changed(o, &sb)) {
			e->zone = o->zone;
			remember(e, &sb);
			continue;
		}
		zone_t *z = load_entry(e);
		if (z == NULL) {
			failed++;
			if (o != NULL && o->zone != NULL) {
				log_warn("zone", "%s: keeps serving serial %u", e->conf->apex_str,
					 o->zone->serial);
				e->zone = o->zone;
			}
			continue;
		}
		e->zone = z;
	}
	return failed;
}

void zonemgr_tick(server_state_t *st)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint64_t now_ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
	for (int i = 0; i < st->nzones; i++) {
		zone_entry_t *e = &st->zones[i];
		struct stat sb;
		if (e->conf->reload_ms == 0 || now_ms < e->next_check_ms) {
			continue;
		}
		e->next_check_ms = now_ms + e->conf->reload_ms;
		if (stat(e->conf->path, &sb) != 0 || !file_changed(e, &sb)) {
			continue;
		}
		zone_t *z = load_entry(e);
		if (z == NULL) {
			if (e->zone != NULL) {
				log_warn("zone", "%s: keeps serving serial %u", e->conf->apex_str,
					 e->zone->serial);
			}
			continue;
		}
		zone_t *old = rcu_xchg_pointer(&e->zone, z);
		synchronize_rcu();
		zone_free(old);
	}
}
