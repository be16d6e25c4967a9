/*  The zone manager (main thread). For each zone: load from the source, decide the serial,
 *  sign, store the difference in the journal, publish with one pointer swap, notify the
 *  secondaries; keep keys rolling and signatures fresh on a timer. What outlives a
 *  configuration reload (versions, keys, timers) lives in a zone_rt. */
#include "server/zonemgr.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/pkt.h"
#include "dns/rrtype.h"
#include "dnssec/sign.h"
#include "keys/keyset.h"
#include "server/zoneconf.h"
#include "xfr/journal.h"
#include "xfr/notify.h"
#include "zones/diff.h"

#define MAX_JOURNALS 16

struct zone_rt {
	uint8_t apex[DNAME_MAX];
	uint16_t port;
	struct zone_rt *next;
	zone_entry_t *e; /* the entry of the published state (changes on reload) */
	/* What the next source version is compared with: for an unsigned zone, the source's
	 * last version (the published one); for a signed zone, the published version without
	 * its DNSSEC records (ref_signed), so that no unsigned copy is kept beside it. */
	zone_t *unsigned_;
	bool ref_signed;
	uint32_t src_serial; /* the serial the source wrote */
	bool have_src;
	xfr_journal_t *journal; /* borrowed; NULL when nobody may transfer the zone */
	bool journal_synced;    /* the journal's newest contents are the published version */
	keyset_t keys;
	bool keys_loaded;
	struct event *timer;
	int64_t next_resign;
	int64_t next_key;
	bool claimed;
};

static struct {
	struct event_base *base;
	xfr_notify_t *notify;
	struct {
		char dir[512];
		xfr_journal_t *j;
	} journals[MAX_JOURNALS];
	int njournals;
	struct zone_rt *rts;
	size_t max_records; /* limits { zone_records } */
	struct event *trim; /* gives freed memory back once updates pause */
} mgr;

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
	zone_builder_set_limit(b, mgr.max_records);
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

void zonemgr_set_max_records(size_t max)
{
	mgr.max_records = max;
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

/* ---- serials ---- */

static bool serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

static uint32_t next_serial(enum serial_policy p, uint32_t src, bool have, uint32_t last)
{
	time_t now = time(NULL);
	struct tm tm;
	uint32_t inc = last + 1;
	uint32_t date;

	gmtime_r(&now, &tm);
	date = (uint32_t)((tm.tm_year + 1900) * 1000000 + (tm.tm_mon + 1) * 10000 +
			  tm.tm_mday * 100);
	switch (p) {
	case SERIAL_KEEP:
		return src;
	case SERIAL_INCREMENT:
		return have ? inc : src;
	case SERIAL_UNIXTIME:
		return !have || serial_gt((uint32_t)now, last) ? (uint32_t)now : inc;
	case SERIAL_DATESERIAL:
		return !have || serial_gt(date, last) ? date : inc;
	case SERIAL_AUTO:
	default:
		return !have || serial_gt(src, last) ? src : inc;
	}
}

/* ---- memory ---- */

static void on_trim(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	malloc_trim(0);
}

/*
 * Building and signing a version leaves freed memory the size of a zone or two in malloc's
 * arenas. Give it back once updates pause (2 s without one), so that the resident size
 * reflects what is served; meanwhile a burst of updates reuses it instead of faulting fresh
 * pages in for every version.
 */
static void trim_later(void)
{
	static const struct timeval pause = { 2, 0 };
	if (mgr.trim == NULL && mgr.base != NULL) {
		mgr.trim = evtimer_new(mgr.base, on_trim, NULL);
	}
	if (mgr.trim != NULL) {
		evtimer_add(mgr.trim, &pause);
	} else {
		malloc_trim(0);
	}
}

/* ---- journal and notify ---- */

static xfr_journal_t *journal_for(const char *dir)
{
	for (int i = 0; i < mgr.njournals; i++) {
		if (strcmp(mgr.journals[i].dir, dir) == 0) {
			return mgr.journals[i].j;
		}
	}
	if (mgr.njournals == MAX_JOURNALS) {
		return NULL;
	}
	xfr_journal_t *j = NULL;
	if (xfr_journal_open(&j, dir, XFR_JOURNAL_WRITE, NULL) != E_OK) {
		return NULL;
	}
	snprintf(mgr.journals[mgr.njournals].dir, sizeof(mgr.journals[0].dir), "%s", dir);
	mgr.journals[mgr.njournals++].j = j;
	return j;
}

static void notify_done(void *ud, const uint8_t *apex, uint32_t serial, const struct sockaddr *addr,
			int rcode)
{
	char name[DNAME_STR_MAX], host[INET6_ADDRSTRLEN] = "?";
	(void)ud;
	dname_to_str(name, sizeof(name), apex);
	if (addr->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, host,
			  sizeof(host));
	} else if (addr->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, host,
			  sizeof(host));
	}
	if (rcode == RCODE_NOERROR) {
		log_info("notify", "%s serial %u: %s acknowledged", name, serial, host);
	} else if (rcode != -ECANCELED) {
		log_warn("notify", "%s serial %u: %s %s", name, serial, host,
			 rcode == -ETIMEDOUT ? "did not answer" : "refused");
	}
}

static void notify(const zone_entry_t *e, const zone_t *z)
{
	const zc_transfer_t *t = e->transfer;
	xfr_notify_target_t targets[ZC_MAX_TARGETS];
	if (t == NULL || t->nto == 0 || mgr.notify == NULL) {
		return;
	}
	for (int i = 0; i < t->nto; i++) {
		targets[i] = t->to[i];
		targets[i].key = t->nkeys > 0 ? t->keys[0] : NULL;
	}
	xfr_notify_zone(mgr.notify, z, targets, (size_t)t->nto);
}

/* Swap in \a v (taking its reference); the previous version is dropped once no reader
 * can see it. The journal gets the difference first: what is published is never lost. */
static int publish(struct zone_rt *rt, zone_t *v)
{
	zone_entry_t *e = rt->e;
	zone_t *prev = e->zone;
	bool snapshot = false;

	if (rt->journal != NULL) {
		if (prev != NULL && rt->journal_synced && serial_gt(v->serial, prev->serial)) {
			zone_changeset_t cs;
			int ret = zone_diff(prev, v, &cs);
			if (ret == E_OK) {
				if (e->zb != NULL) {
					xfr_journal_set_limits(rt->journal, &e->zb->journal);
				}
				ret = xfr_journal_store(rt->journal, rt->apex, &cs);
				zone_changeset_clear(&cs);
			}
			if (ret != E_OK) {
				snprintf(e->error, sizeof(e->error), "journal: %s", err_str(ret));
				log_err("zone",
					"%s: serial %u not published, the journal failed: %s",
					e->conf->apex_str, v->serial, err_str(ret));
				zone_free(v);
				return ret;
			}
		} else {
			snapshot = true;
		}
	}
	rcu_assign_pointer(e->zone, v);
	if (prev != NULL) {
		synchronize_rcu();
		zone_free(prev);
	}
	if (snapshot) {
		/* The first version (or one the journal cannot follow): keep it whole, after
		 * it is served — there is no older version to lose. */
		rt->journal_synced = xfr_journal_snapshot(rt->journal, v) == E_OK;
	}
	notify(e, v);
	trim_later();
	return E_OK;
}

/* ---- signing ---- */

static int load_keys(struct zone_rt *rt, const zc_dnssec_t *dc)
{
	char err[512] = "";
	int ret = E_OK;
	if (rt->keys_loaded) {
		return E_OK;
	}
	if (dc->nkey_files > 0) {
		for (int i = 0; i < dc->nkey_files && ret == E_OK; i++) {
			dnssec_key_t *k = NULL;
			ret = key_read(&k, dc->key_files[i], err, sizeof(err));
			if (ret == E_OK && k->timing.publish == 0 && k->timing.activate == 0) {
				/* "key file" keys without timing (CoreDNS's, pdnsutil's) are
				 * published and active, as BIND and CoreDNS take them. */
				k->timing.publish = k->timing.activate = 1;
				k->timing.sync_publish = key_is_ksk(k) ? 1 : 0;
			}
			if (ret == E_OK && rt->keys.n < KEYSET_MAX) {
				rt->keys.keys[rt->keys.n++] = k;
			} else if (ret == E_OK) {
				key_free(k);
			}
		}
	} else {
		if (mkdir(dc->keys_dir, 0700) != 0 && errno != EEXIST) {
			char parent[600];
			snprintf(parent, sizeof(parent), "%s", dc->keys_dir);
			char *slash = strrchr(parent, '/');
			if (slash != NULL) {
				*slash = '\0';
				mkdir(parent, 0750);
			}
			mkdir(dc->keys_dir, 0700);
		}
		ret = keyset_load(&rt->keys, dc->keys_dir, rt->apex, err, sizeof(err));
	}
	if (ret != E_OK) {
		log_err("dnssec", "%s: keys: %s", rt->e->conf->apex_str,
			err[0] ? err : err_str(ret));
		keyset_clear(&rt->keys);
		return ret;
	}
	rt->keys_loaded = true;
	return E_OK;
}

static void schedule(struct zone_rt *rt, int64_t now);

/* Does a parent name server publish the DS of \a k? */
static bool parent_has_ds(const struct zone_rt *rt, const zc_dnssec_t *dc, const dnssec_key_t *k)
{
	uint8_t ds[KEY_DS_MAX], q[512], r[4096];
	size_t dslen;
	if (key_ds_rdata(k, 2, ds, &dslen) != E_OK) {
		return false;
	}
	for (int i = 0; i < dc->nparents; i++) {
		dns_request_t req = { .id = (uint16_t)random(),
				      .qtype = RR_DS,
				      .qclass = CLASS_IN };
		dns_writer_t w;
		req.qname_len = (uint8_t)dname_copy_lower(req.qname, rt->apex);
		if (dns_writer_begin(&w, q, sizeof(q), &req) != E_OK) {
			continue;
		}
		/* The writer makes responses (QR set); a parent drops a "query" with QR set, so
		 * the DS was never seen and a KSK rollover never finished. */
		dns_writer_flags(&w, 0, DNS_FLAG_QR);
		size_t qlen = dns_writer_finish(&w);
		const struct sockaddr *sa = (const struct sockaddr *)&dc->parents[i].addr;
		int fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			continue;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n = -1;
		if (sendto(fd, q, qlen, 0, sa, dc->parents[i].addrlen) == (ssize_t)qlen &&
		    poll(&pfd, 1, 1000) == 1) {
			n = recv(fd, r, sizeof(r), 0);
		}
		close(fd);
		if (n < DNS_HDR_LEN || dns_u16(r) != req.id) {
			continue;
		}
		/* Walk the answer section for a DS RDATA equal to ours. */
		size_t pos = DNS_HDR_LEN;
		uint8_t name[DNAME_MAX];
		if (dname_unpack(r, (size_t)n, &pos, name) < 0 || pos + 4 > (size_t)n) {
			continue;
		}
		pos += 4;
		for (uint16_t a = 0; a < dns_u16(r + 6); a++) {
			if (dname_unpack(r, (size_t)n, &pos, name) < 0 || pos + 10 > (size_t)n) {
				break;
			}
			uint16_t type = dns_u16(r + pos), rdlen = dns_u16(r + pos + 8);
			pos += 10;
			if (pos + rdlen > (size_t)n) {
				break;
			}
			if (type == RR_DS && rdlen == dslen && memcmp(r + pos, ds, dslen) == 0) {
				return true;
			}
			pos += rdlen;
		}
	}
	return false;
}

/* Move the keys to \a now; true when what is published or signs changed. */
static bool step_keys(struct zone_rt *rt, const zc_dnssec_t *dc, const zone_t *u, int64_t now)
{
	if (dc->nkey_files > 0) {
		rt->next_key = 0; /* fixed keys: no rollover */
		return false;
	}
	key_policy_t p = dc->policy;
	const zone_rrset_t *soa = zone_node_rrset(u->apex, RR_SOA);
	if (!dc->dnskey_ttl_set && soa != NULL) {
		p.dnskey_ttl = soa->ttl;
	}
	p.max_zone_ttl = zone_max_ttl(u);
	const dnssec_key_t *wait = keyset_ds_wait(&rt->keys, now);
	bool ds_seen = wait != NULL && parent_has_ds(rt, dc, wait);
	int64_t next = 0;
	int ret = keyset_step(&rt->keys, &p, rt->apex, dc->keys_dir, now, ds_seen, &next);
	rt->next_key = next;
	if (ret < 0) {
		log_err("dnssec", "%s: key rollover step failed: %s", rt->e->conf->apex_str,
			err_str(ret));
		return false;
	}
	if (ds_seen) {
		log_info("dnssec", "%s: the parent publishes the DS of key %u",
			 rt->e->conf->apex_str, wait->tag);
	}
	return ret > 0;
}

/* The published signed version without its DNSSEC records, serial \a serial: the input
 * for re-signing it (timers); NULL when it cannot be made. */
static zone_t *strip_signed(const zone_t *z, uint32_t serial)
{
	zone_builder_t *b = NULL;
	zone_t *u = NULL;
	if (zone_builder_new(&b, z->apex_name) != E_OK) {
		return NULL;
	}
	zone_builder_set_serial(b, serial);
	if (zone_builder_add_zone(b, z, true) != E_OK) {
		zone_builder_free(b);
		return NULL;
	}
	return zone_builder_finish(b, &u) == E_OK ? u : NULL;
}

/* Sign \a u (the serial already set) against the published version. */
static int sign(struct zone_rt *rt, const zc_dnssec_t *dc, zone_t *u, zone_t **out)
{
	int64_t now = (int64_t)time(NULL);
	dnssec_sign_stats_t stats = { 0 };
	int ret = load_keys(rt, dc);
	if (ret != E_OK) {
		return ret;
	}
	step_keys(rt, dc, u, now);
	ret = dnssec_sign_zone(u, rt->e->zone, &rt->keys, &dc->sign, now, out, &rt->next_resign,
			       &stats);
	if (ret != E_OK) {
		log_err("dnssec", "%s: signing failed: %s", rt->e->conf->apex_str, err_str(ret));
		return ret;
	}
	__atomic_add_fetch(&rt->e->signatures, stats.signatures_made, __ATOMIC_RELAXED);
	log_info("dnssec", "%s: serial %u signed: %llu signatures made, %llu kept, %.3f s",
		 rt->e->conf->apex_str, u->serial, (unsigned long long)stats.signatures_made,
		 (unsigned long long)stats.signatures_reused, stats.seconds);
	schedule(rt, now);
	return E_OK;
}

/* ---- one update ---- */

static const zc_dnssec_t *dnssec_of(const zone_entry_t *e)
{
	return e->signed_zone ? zoneconf_dnssec(e->zb, e->conf->apex) : NULL;
}

/*
 * A signed version restored from the journal, the source's data the same: sign \a u at the
 * served serial (which loads the keys and sets the timers); when that changes nothing, keep
 * serving the restored version, no new serial. \return true when done (\a u taken), false
 * when a new version is needed.
 */
static bool adopt_restored(struct zone_rt *rt, const zc_dnssec_t *dc, zone_t *u, uint32_t src)
{
	zone_entry_t *e = rt->e;
	zone_t *v = NULL;
	zone_changeset_t cs;
	bool same = false;

	zone_set_serial(u, e->zone->serial);
	if (sign(rt, dc, u, &v) != E_OK) {
		return false;
	}
	if (zone_diff(e->zone, v, &cs) == E_OK) {
		same = zone_changeset_empty(&cs);
		zone_changeset_clear(&cs);
	}
	zone_free(v);
	if (!same) {
		return false;
	}
	zone_free(rt->unsigned_);
	rt->unsigned_ = NULL;
	rt->ref_signed = true;
	zone_free(u);
	rt->src_serial = src;
	rt->have_src = true;
	log_info("zone", "%s: serving serial %u (signed, as restored)", e->conf->apex_str,
		 e->zone->serial);
	return true;
}

/*
 * A new source version \a u arrived (its serial is the source's). Publish it unless nothing
 * changed. Takes the reference to \a u.
 */
static int update(struct zone_rt *rt, zone_t *u)
{
	zone_entry_t *e = rt->e;
	const zc_dnssec_t *dc = dnssec_of(e);
	uint32_t src = u->serial;
	zone_t *v = NULL;
	int ret;

	const zone_t *ref = rt->unsigned_ != NULL ? rt->unsigned_ : rt->ref_signed ? e->zone : NULL;
	if (ref != NULL) {
		bool same = zone_same_data(ref, u, ref != rt->unsigned_) &&
			    (!rt->have_src || src == rt->src_serial);
		/* Unchanged data must still be (un)signed when what is served does not match
		 * the configuration: a signed version restored from the journal at start (no
		 * keys loaded, no timer: its signatures were never refreshed and rollovers
		 * stopped), or dnssec added or removed by a reload. */
		bool resign = (dc != NULL) != rt->keys_loaded;
		if (same && !resign) {
			zone_free(u);
			return E_OK;
		}
		if (same && dc != NULL && e->zone != NULL && adopt_restored(rt, dc, u, src)) {
			return E_OK;
		}
	}
	enum serial_policy policy = e->zb != NULL ? e->zb->serial : SERIAL_AUTO;
	bool have = e->zone != NULL;
	uint32_t serial = next_serial(policy, src, have, have ? e->zone->serial : 0);
	if (have && !serial_gt(serial, e->zone->serial)) {
		log_warn("zone",
			 "%s: serial %u does not move past %u (serial keep): secondaries "
			 "will not follow",
			 e->conf->apex_str, serial, e->zone->serial);
	}
	zone_set_serial(u, serial);
	if (dc != NULL) {
		ret = sign(rt, dc, u, &v);
		if (ret != E_OK) {
			snprintf(e->error, sizeof(e->error), "dnssec: %s", err_str(ret));
			zone_free(u);
			return ret;
		}
	} else {
		v = zone_ref(u);
	}
	ret = publish(rt, v);
	if (ret != E_OK) {
		zone_free(u);
		return ret;
	}
	zone_free(rt->unsigned_);
	rt->unsigned_ = dc == NULL ? u : NULL; /* unsigned: u is what is published */
	rt->ref_signed = dc != NULL;
	if (dc != NULL) {
		zone_free(u); /* given back with the rest by publish()'s trim_later() */
	}
	rt->src_serial = src;
	rt->have_src = true;
	if (dc == NULL && rt->keys_loaded) {
		/* dnssec removed: forget the keys, so adding it back signs again. */
		keyset_clear(&rt->keys);
		rt->keys_loaded = false;
		rt->next_key = rt->next_resign = 0;
	}
	log_info("zone", "%s: serving serial %u%s", e->conf->apex_str, serial,
		 dc != NULL ? " (signed)" : "");
	return E_OK;
}

/* Load the zone from its source and update. */
static int reload_zone(struct zone_rt *rt)
{
	zone_entry_t *e = rt->e;
	struct diag_ctx d = { .first = e->error, .first_len = sizeof(e->error) };
	struct timespec t0, t1;
	zone_t *u = NULL;

	e->error[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int ret = load(e->conf, e->src, &u, &d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ret != E_OK) {
		__atomic_add_fetch(&e->source_errors, 1, __ATOMIC_RELAXED);
		if (e->error[0] == '\0') {
			snprintf(e->error, sizeof(e->error), "%s", err_str(ret));
		}
		log_err("zone", "%s: not loaded: %s%s", e->conf->apex_str, err_str(ret),
			e->zone != NULL ? "; the last good version stays" : "");
		return ret;
	}
	log_info("zone", "%s: loaded serial %u, %u records, %u names, in %.3f s", e->conf->apex_str,
		 u->serial, u->nrecords, u->nnodes,
		 (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return update(rt, u);
}

static void on_changed(void *ud)
{
	reload_zone(ud);
}

/* Keys to roll or signatures to refresh: sign again with the next serial. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct zone_rt *rt = arg;
	zone_entry_t *e = rt->e;
	const zc_dnssec_t *dc = dnssec_of(e);
	int64_t now = (int64_t)time(NULL);
	zone_t *v = NULL;
	(void)fd;
	(void)what;
	if (dc == NULL || !rt->ref_signed || e->zone == NULL) {
		return;
	}
	bool keys_changed = rt->next_key != 0 && rt->next_key <= now;
	bool resign = rt->next_resign != 0 && rt->next_resign <= now;
	zone_t *u = strip_signed(e->zone, e->zone->serial);
	if (u == NULL) {
		log_err("dnssec", "%s: cannot re-sign: out of memory", e->conf->apex_str);
		schedule(rt, now);
		return;
	}
	if (keys_changed && !step_keys(rt, dc, u, now) && !resign) {
		zone_free(u);
		schedule(rt, now);
		return;
	}
	enum serial_policy policy = e->zb != NULL ? e->zb->serial : SERIAL_AUTO;
	uint32_t serial = next_serial(policy == SERIAL_KEEP ? SERIAL_INCREMENT : policy,
				      e->zone->serial, true, e->zone->serial);
	zone_set_serial(u, serial);
	if (sign(rt, dc, u, &v) == E_OK && publish(rt, v) == E_OK) {
		log_info("dnssec", "%s: re-signed as serial %u (%s)", e->conf->apex_str, serial,
			 keys_changed ? "key rollover" : "signatures refreshed");
	}
	zone_free(u);
}

static void schedule(struct zone_rt *rt, int64_t now)
{
	int64_t when = 0;
	if (rt->next_resign > 0) {
		when = rt->next_resign;
	}
	if (rt->next_key > 0 && (when == 0 || rt->next_key < when)) {
		when = rt->next_key;
	}
	if (rt->timer == NULL && mgr.base != NULL) {
		rt->timer = event_new(mgr.base, -1, 0, on_timer, rt);
	}
	if (rt->timer == NULL || when == 0) {
		return;
	}
	struct timeval tv = { .tv_sec = when > now ? (time_t)(when - now) : 0, .tv_usec = 0 };
	event_add(rt->timer, &tv);
}

/* ---- zones across reloads ---- */

static struct zone_rt *rt_claim(zone_entry_t *e, uint16_t port)
{
	for (struct zone_rt *rt = mgr.rts; rt != NULL; rt = rt->next) {
		if (!rt->claimed && rt->port == port && dname_equal(rt->apex, e->conf->apex)) {
			rt->claimed = true;
			return rt;
		}
	}
	struct zone_rt *rt = calloc(1, sizeof(*rt));
	if (rt == NULL) {
		return NULL;
	}
	dname_copy_lower(rt->apex, e->conf->apex);
	rt->port = port;
	rt->claimed = true;
	rt->next = mgr.rts;
	mgr.rts = rt;
	return rt;
}

static void rt_free(struct zone_rt *rt)
{
	if (rt->timer != NULL) {
		event_free(rt->timer);
	}
	keyset_clear(&rt->keys);
	zone_free(rt->unsigned_);
	free(rt);
}

/* A restart: the journal's newest version is served at once and is what the source's
 * version is compared with. */
static void restore(struct zone_rt *rt)
{
	zone_entry_t *e = rt->e;
	zone_builder_t *b = NULL;
	zone_t *z = NULL;
	uint32_t serial = 0;
	if (zone_builder_new(&b, rt->apex) != E_OK) {
		return;
	}
	if (xfr_journal_contents(rt->journal, b, &serial) != E_OK) {
		zone_builder_free(b);
		return;
	}
	if (zone_builder_finish(b, &z) != E_OK) {
		return;
	}
	e->zone = z;
	rt->journal_synced = true;
	/* What the source is compared with: the data without its DNSSEC records. Signing
	 * switched on while signetd was down: the restored version is not signed, so the
	 * source's version must be published (signed) even when its data is the same. */
	rt->unsigned_ = e->signed_zone ? NULL : zone_ref(z);
	rt->ref_signed = e->signed_zone && zone_node_rrset(z->apex, RR_DNSKEY) != NULL;
	log_info("zone", "%s: serial %u restored from the journal", e->conf->apex_str, serial);
}

int zonemgr_start(server_state_t *st, const server_state_t *old, struct event_base *base)
{
	int failed = 0;
	(void)old;
	mgr.base = base;
	mgr.max_records = st->conf->limits.zone_records;
	if (mgr.notify == NULL && base != NULL) {
		xfr_notify_new(&mgr.notify, base, notify_done, NULL);
	}
	for (struct zone_rt *rt = mgr.rts; rt != NULL; rt = rt->next) {
		rt->claimed = false;
	}
	for (int i = 0; i < st->nzones; i++) {
		zone_entry_t *e = &st->zones[i];
		struct diag_ctx d = { .first = e->error, .first_len = sizeof(e->error) };
		struct zone_rt *rt = rt_claim(e, st->conf->views[e->conf->view].port);
		e->state = st;
		e->rt = rt;
		if (rt == NULL) {
			failed++;
			continue;
		}
		bool fresh = rt->e == NULL;
		if (!fresh) {
			/* Carried over a reload: the same version, keys and timers. */
			e->zone = rt->e->zone != NULL ? zone_ref(rt->e->zone) : NULL;
			e->signatures = rt->e->signatures;
			e->xfr_out[0] = rt->e->xfr_out[0];
			e->xfr_out[1] = rt->e->xfr_out[1];
			/* Signing switched on or off by the reload: the version is made again
			 * even when the source's data did not change. */
			if (rt->e->signed_zone != e->signed_zone) {
				zone_free(rt->unsigned_);
				rt->unsigned_ = NULL;
				rt->ref_signed = false;
			}
		}
		rt->e = e;
		rt->journal =
			e->transfer != NULL && e->zb != NULL ? journal_for(e->zb->storage) : NULL;
		if (fresh && rt->journal != NULL) {
			restore(rt);
		}
		if (open_source(e->conf, &e->src, &d) != E_OK) {
			e->src = NULL;
			failed++;
			continue;
		}
		if (reload_zone(rt) != E_OK) {
			failed++;
		}
		if (e->src->ops->watch != NULL && base != NULL &&
		    e->src->ops->watch(e->src, base, on_changed, rt) != E_OK) {
			log_err("zone", "%s: cannot watch its source for changes",
				e->conf->apex_str);
		}
	}
	/* Zones no longer configured. */
	for (struct zone_rt **p = &mgr.rts; *p != NULL;) {
		struct zone_rt *rt = *p;
		if (!rt->claimed) {
			*p = rt->next;
			rt_free(rt);
		} else {
			p = &rt->next;
		}
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

void zonemgr_shutdown(void)
{
	while (mgr.rts != NULL) {
		struct zone_rt *rt = mgr.rts;
		mgr.rts = rt->next;
		rt_free(rt);
	}
	xfr_notify_free(mgr.notify);
	mgr.notify = NULL;
	if (mgr.trim != NULL) {
		event_free(mgr.trim);
		mgr.trim = NULL;
	}
	for (int i = 0; i < mgr.njournals; i++) {
		xfr_journal_close(mgr.journals[i].j);
	}
	mgr.njournals = 0;
}
