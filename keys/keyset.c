/*  Signet: the keys of one zone and their rollover state machine (see keyset.h for the
 *  timeline). Nothing here reads the clock: every time comes from the caller's \a now.
 */
#include "keys/keyset.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dns/err.h"
#include "dns/log.h"
#include "keys/internal.h"

#define FLAGS_ZSK    KEY_FLAG_ZONE
#define FLAGS_KSK    (KEY_FLAG_ZONE | KEY_FLAG_SEP)
#define GEN_ATTEMPTS 8 /* new keys whose tag collides are generated again */

enum { ST_PUBLISHED = 1, ST_ACTIVE = 2, ST_SYNC = 4 };

/* ---- timing predicates ---- */

static bool removed(const dnssec_key_t *k, int64_t now)
{
	return k->timing.remove != 0 && now >= k->timing.remove;
}

bool key_published(const dnssec_key_t *k, int64_t now)
{
	return k->timing.publish != 0 && k->timing.publish <= now && !removed(k, now);
}

bool key_active(const dnssec_key_t *k, int64_t now)
{
	return k->timing.activate != 0 && k->timing.activate <= now &&
	       (k->timing.inactive == 0 || now < k->timing.inactive) && !removed(k, now);
}

bool key_sync_published(const dnssec_key_t *k, int64_t now)
{
	return k->timing.sync_publish != 0 && k->timing.sync_publish <= now &&
	       (k->timing.sync_delete == 0 || now < k->timing.sync_delete) && key_published(k, now);
}

static unsigned key_state(const dnssec_key_t *k, int64_t now)
{
	return (key_published(k, now) ? ST_PUBLISHED : 0) | (key_active(k, now) ? ST_ACTIVE : 0) |
	       (key_sync_published(k, now) ? ST_SYNC : 0);
}

static bool any_active(const keyset_t *ks, bool sep, int64_t now)
{
	for (int i = 0; i < ks->n; i++) {
		if (key_is_ksk(ks->keys[i]) == sep && key_active(ks->keys[i], now)) {
			return true;
		}
	}
	return false;
}

bool keyset_signs_zone(const keyset_t *ks, const dnssec_key_t *k, int64_t now)
{
	return key_active(k, now) && (!key_is_ksk(k) || !any_active(ks, false, now));
}

bool keyset_signs_dnskey(const keyset_t *ks, const dnssec_key_t *k, int64_t now)
{
	return key_active(k, now) && (key_is_ksk(k) || !any_active(ks, true, now));
}

void key_policy_init(key_policy_t *p)
{
	memset(p, 0, sizeof(*p));
	p->algorithm = KEY_ALG_ECDSAP256SHA256;
	p->bits = 2048;
	p->dnskey_ttl = 3600;
	p->max_zone_ttl = 86400;
	p->propagation_delay = 3600;
	p->ds_ttl = 86400;
	p->signature_lifetime = 14 * 86400;
	p->signature_refresh = 7 * 86400;
}

/* ---- load ---- */

static int key_cmp_age(const dnssec_key_t *a, const dnssec_key_t *b)
{
	const int64_t ka[4] = { a->timing.created, a->timing.publish, a->timing.activate, a->tag };
	const int64_t kb[4] = { b->timing.created, b->timing.publish, b->timing.activate, b->tag };

	for (int i = 0; i < 4; i++) {
		if (ka[i] != kb[i]) {
			return ka[i] < kb[i] ? -1 : 1;
		}
	}
	return 0;
}

static int key_qsort_cmp(const void *a, const void *b)
{
	return key_cmp_age(*(dnssec_key_t *const *)a, *(dnssec_key_t *const *)b);
}

/* "K<zone>+AAA+TTTTT.key": the length of <zone>, or -1 when \a name is not a key file. */
static int key_file_zone_len(const char *name)
{
	static const char tail[] = "+000+00000.key";
	size_t len = strlen(name);
	size_t tl = sizeof(tail) - 1;

	if (len < 1 + tl + 1 || name[0] != 'K') {
		return -1;
	}
	for (size_t i = 0; i < tl; i++) {
		char c = name[len - tl + i];

		if (tail[i] == '0' ? (c < '0' || c > '9') : c != tail[i]) {
			return -1;
		}
	}
	return (int)(len - tl - 1);
}

int keyset_load(keyset_t *ks, const char *dir, const uint8_t *zone, char *err, size_t errlen)
{
	keyset_t tmp;
	char fname[DNAME_MAX * 3 + 2];
	char base[PATH_MAX];
	char scratch[64];
	DIR *d = NULL;
	struct dirent *de;
	int flen, ret = E_OK;

	if (err == NULL || errlen == 0) {
		err = scratch;
		errlen = sizeof(scratch);
	}
	err[0] = '\0';
	memset(&tmp, 0, sizeof(tmp));
	flen = keys_zone_filename(fname, sizeof(fname), zone);
	if (flen < 0) {
		return flen;
	}
	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT) {
			goto done;
		}
		ret = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return ret;
	}
	while ((de = readdir(d)) != NULL) {
		int zlen = key_file_zone_len(de->d_name);
		dnssec_key_t *k;

		if (zlen != flen || strncasecmp(de->d_name + 1, fname, (size_t)flen) != 0) {
			continue;
		}
		if (tmp.n == KEYSET_MAX) {
			snprintf(err, errlen, "%s: more than %d keys for the zone", dir,
				 KEYSET_MAX);
			ret = E_TRUNC;
			goto out;
		}
		if ((size_t)snprintf(base, sizeof(base), "%s/%s", dir, de->d_name) >=
		    sizeof(base)) {
			snprintf(err, errlen, "%s: path too long", dir);
			ret = -ENAMETOOLONG;
			goto out;
		}
		ret = key_read(&k, base, err, errlen);
		if (ret != E_OK) {
			goto out;
		}
		tmp.keys[tmp.n++] = k;
		if (!dname_equal(k->owner, zone)) {
			snprintf(err, errlen, "%s: the DNSKEY owner is not the zone", base);
			ret = E_MALFORMED;
			goto out;
		}
	}
done:
	qsort(tmp.keys, (size_t)tmp.n, sizeof(tmp.keys[0]), key_qsort_cmp);
	keyset_clear(ks);
	*ks = tmp;
	tmp.n = 0;
out:
	if (d != NULL) {
		closedir(d);
	}
	keyset_clear(&tmp);
	return ret;
}

void keyset_clear(keyset_t *ks)
{
	for (int i = 0; i < ks->n; i++) {
		key_free(ks->keys[i]);
		ks->keys[i] = NULL;
	}
	ks->n = 0;
	ks->last_step = 0;
}

/* ---- the state machine ---- */

/* One call of keyset_step. before[i] is the state of ks->keys[i] at the previous step. */
struct step {
	keyset_t *ks;
	const key_policy_t *p;
	const uint8_t *zone;
	const char *dir;
	int64_t now;
	unsigned before[KEYSET_MAX];
	bool changed; /* a key published/active/sync at the previous step was removed */
	char zname[DNAME_STR_MAX];
};

enum role { ROLE_ZSK, ROLE_KSK, ROLE_CSK };

static const char *role_name(enum role r)
{
	return r == ROLE_ZSK ? "ZSK" : r == ROLE_KSK ? "KSK" : "CSK";
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* In the rollover machinery: scheduled to sign (keys without Activate are left alone). */
static bool in_group(const dnssec_key_t *k, bool sep, int64_t now)
{
	return key_is_ksk(k) == sep && k->timing.activate != 0 && !removed(k, now);
}

/* Current: in the group and not retiring. */
static bool current(const dnssec_key_t *k, bool sep, int64_t now)
{
	return in_group(k, sep, now) && k->timing.inactive == 0;
}

static int count_current(const keyset_t *ks, bool sep, int64_t now, dnssec_key_t **newest)
{
	int n = 0;

	*newest = NULL;
	for (int i = 0; i < ks->n; i++) {
		dnssec_key_t *k = ks->keys[i];

		if (current(k, sep, now)) {
			n++;
			if (*newest == NULL || key_cmp_age(k, *newest) > 0) {
				*newest = k;
			}
		}
	}
	return n;
}

static enum role sep_role(const keyset_t *ks, int64_t now)
{
	dnssec_key_t *z;

	return count_current(ks, false, now, &z) > 0 ? ROLE_KSK : ROLE_CSK;
}

static uint32_t lifetime(const key_policy_t *p, enum role r)
{
	if (r == ROLE_ZSK) {
		return p->zsk_lifetime;
	}
	if (r == ROLE_KSK) {
		return p->ksk_lifetime;
	}
	if (p->zsk_lifetime == 0 || p->ksk_lifetime == 0) {
		return p->zsk_lifetime + p->ksk_lifetime;
	}
	return p->zsk_lifetime < p->ksk_lifetime ? p->zsk_lifetime : p->ksk_lifetime;
}

static int64_t ipub(const key_policy_t *p)
{
	return (int64_t)p->dnskey_ttl + p->propagation_delay;
}

/* How long a retired key's DNSKEY stays after it stops signing. */
static int64_t iret(const key_policy_t *p, enum role r)
{
	int64_t ttl = r == ROLE_ZSK   ? p->max_zone_ttl
		      : r == ROLE_KSK ? p->dnskey_ttl
				      : max64(p->dnskey_ttl, p->max_zone_ttl);

	return ttl + p->propagation_delay;
}

/* Set the timing of \a k and write it; on failure the old timing stays. */
static int timing_set(dnssec_key_t *k, const key_timing_t *t)
{
	key_timing_t old = k->timing;
	int ret;

	if (memcmp(&old, t, sizeof(*t)) == 0) {
		return E_OK;
	}
	k->timing = *t;
	ret = key_write_timing(k);
	if (ret != E_OK) {
		k->timing = old;
	}
	return ret;
}

/* Generate, write and add a key with timing \a t. */
static int key_create(struct step *st, uint8_t alg, unsigned bits, uint16_t flags,
		      const key_timing_t *t, enum role r)
{
	keyset_t *ks = st->ks;
	int ret = E_EXISTS;

	if (ks->n == KEYSET_MAX) {
		log_err("keys", "%s: %d keys already, cannot add another", st->zname, KEYSET_MAX);
		return E_TRUNC;
	}
	if (mkdir(st->dir, 0700) != 0 && errno != EEXIST) {
		ret = -errno;
		log_err("keys", "%s: cannot create %s: %s", st->zname, st->dir, strerror(errno));
		return ret;
	}
	for (int attempt = 0; attempt < GEN_ATTEMPTS; attempt++) {
		dnssec_key_t *k = NULL;
		bool clash = false;

		ret = key_generate(&k, st->zone, alg, bits, flags);
		if (ret != E_OK) {
			log_err("keys", "%s: cannot generate a %s key: %s", st->zname,
				key_algorithm_name(alg) ? key_algorithm_name(alg) : "?",
				err_str(ret));
			return ret;
		}
		for (int i = 0; i < ks->n; i++) {
			clash |= ks->keys[i]->tag == k->tag && ks->keys[i]->algorithm == alg;
		}
		k->timing = *t;
		ret = clash ? E_EXISTS : key_write(k, st->dir);
		if (ret == E_OK) {
			st->before[ks->n] = 0;
			ks->keys[ks->n++] = k;
			log_info("keys", "%s: new %s %u (%s, %u bits)", st->zname, role_name(r),
				 k->tag, key_algorithm_name(alg), k->bits);
			return E_OK;
		}
		key_free(k);
		if (ret != E_EXISTS) {
			return ret;
		}
	}
	return ret;
}

/* Move the files of ks->keys[i] to retired/ and drop it from the set. */
static int key_remove(struct step *st, int i)
{
	keyset_t *ks = st->ks;
	dnssec_key_t *k = ks->keys[i];
	char rdir[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
	const char *name;
	int ret = E_OK;

	if (k->path[0] != '\0') {
		static const char *const ext[] = { ".key", ".private" }; /* .key first: unlisted */

		name = strrchr(k->path, '/');
		name = name != NULL ? name + 1 : k->path;
		if ((size_t)snprintf(rdir, sizeof(rdir), "%s/%s", st->dir, KEYSET_RETIRED_DIR) >=
		    sizeof(rdir)) {
			ret = -ENAMETOOLONG;
			goto out;
		}
		if (mkdir(rdir, 0700) != 0 && errno != EEXIST) {
			ret = -errno;
			goto out;
		}
		for (int e = 0; e < 2; e++) {
			if ((size_t)snprintf(from, sizeof(from), "%s%s", k->path, ext[e]) >=
				    sizeof(from) ||
			    (size_t)snprintf(to, sizeof(to), "%s/%s%s", rdir, name, ext[e]) >=
				    sizeof(to)) {
				ret = -ENAMETOOLONG;
				goto out;
			}
			if (rename(from, to) != 0 && errno != ENOENT) {
				ret = -errno;
				goto out;
			}
		}
		ret = keys_fsync_dir(rdir);
		if (ret == E_OK) {
			ret = keys_fsync_dir(st->dir);
		}
		if (ret != E_OK) {
			goto out;
		}
	}
	log_info("keys", "%s: key %u removed (files in %s/)", st->zname, k->tag,
		 KEYSET_RETIRED_DIR);
	st->changed |= st->before[i] != 0;
	key_free(k);
	for (int j = i; j + 1 < ks->n; j++) {
		ks->keys[j] = ks->keys[j + 1];
		st->before[j] = st->before[j + 1];
	}
	ks->keys[--ks->n] = NULL;
out:
	if (ret != E_OK) {
		log_err("keys", "%s: cannot move key %u to %s/: %s", st->zname, k->tag,
			KEYSET_RETIRED_DIR, err_str(ret));
	}
	return ret;
}

static int remove_expired(struct step *st)
{
	for (int i = 0; i < st->ks->n;) {
		if (removed(st->ks->keys[i], st->now)) {
			int ret = key_remove(st, i);

			if (ret != E_OK) {
				return ret;
			}
		} else {
			i++;
		}
	}
	return E_OK;
}

/* Retiring keys without a removal time get one. */
static int schedule_removals(struct step *st)
{
	keyset_t *ks = st->ks;

	for (int i = 0; i < ks->n; i++) {
		dnssec_key_t *k = ks->keys[i];
		key_timing_t t = k->timing;
		enum role r = key_is_ksk(k) ? sep_role(ks, st->now) : ROLE_ZSK;
		int ret;

		if (t.activate == 0 || t.inactive == 0 || t.remove != 0) {
			continue;
		}
		t.remove = t.inactive + iret(st->p, r);
		ret = timing_set(k, &t);
		if (ret != E_OK) {
			return ret;
		}
	}
	return E_OK;
}

/* The algorithm and size for a new key when no predecessor dictates them. */
static void new_key_params(struct step *st, uint8_t *alg, unsigned *bits)
{
	const keyset_t *ks = st->ks;

	*alg = st->p->algorithm != 0 ? st->p->algorithm : KEY_ALG_ECDSAP256SHA256;
	*bits = st->p->bits;
	for (int i = 0; i < ks->n; i++) {
		if (current(ks->keys[i], key_is_ksk(ks->keys[i]), st->now)) {
			*alg = ks->keys[i]->algorithm;
			*bits = ks->keys[i]->bits;
			break;
		}
	}
}

/* First keys, a missing KSK/CSK or ZSK, or the ZSKs' retirement when split is turned off. */
static int ensure_keys(struct step *st)
{
	const key_policy_t *p = st->p;
	int64_t now = st->now;
	dnssec_key_t *sep, *zsk;
	int nsep = count_current(st->ks, true, now, &sep);
	int nzsk = count_current(st->ks, false, now, &zsk);
	key_timing_t t;
	uint8_t alg;
	unsigned bits;
	int ret = E_OK;

	new_key_params(st, &alg, &bits);
	if (nsep == 0) {
		/* The first key of a new zone is sync-published at once: there is no DS yet. */
		bool first = nzsk == 0;

		memset(&t, 0, sizeof(t));
		t.created = t.publish = t.activate = now;
		t.sync_publish = first ? now : now + ipub(p);
		ret = key_create(st, alg, bits, FLAGS_KSK, &t,
				 p->split || !first ? ROLE_KSK : ROLE_CSK);
		if (ret != E_OK) {
			return ret;
		}
		if (p->split && first) {
			memset(&t, 0, sizeof(t));
			t.created = t.publish = t.activate = now;
			return key_create(st, alg, bits, FLAGS_ZSK, &t, ROLE_ZSK);
		}
		return E_OK;
	}
	if (p->split && nzsk == 0) {
		/* CSK to KSK + ZSK: the ZSK signs once its DNSKEY is known; the CSK until then. */
		memset(&t, 0, sizeof(t));
		t.created = t.publish = now;
		t.activate = now + ipub(p);
		return key_create(st, alg, bits, FLAGS_ZSK, &t, ROLE_ZSK);
	}
	if (!p->split && nzsk > 0) {
		/* KSK + ZSK to CSK: the KSK signs everything once its DNSKEY is known. */
		int64_t when = max64(now, sep->timing.publish + ipub(p));

		for (int i = 0; i < st->ks->n && ret == E_OK; i++) {
			dnssec_key_t *k = st->ks->keys[i];

			if (!current(k, false, now)) {
				continue;
			}
			t = k->timing;
			t.inactive = when;
			t.remove = when + iret(p, ROLE_ZSK);
			ret = timing_set(k, &t);
			if (ret == E_OK) {
				log_info("keys", "%s: ZSK %u retires (single key now)", st->zname,
					 k->tag);
			}
		}
	}
	return ret;
}

static void warn_algorithm(struct step *st, const dnssec_key_t *k)
{
	if (st->p->algorithm != 0 && st->p->algorithm != k->algorithm) {
		log_warn("keys",
			 "%s: policy algorithm %u differs from key %u's %u; "
			 "algorithm rollover is not supported, the successor keeps %s",
			 st->zname, st->p->algorithm, k->tag, k->algorithm,
			 key_algorithm_name(k->algorithm));
	}
}

/* ZSK pre-publish rollover (RFC 7583 §3.3.1). */
static int zsk_step(struct step *st)
{
	const key_policy_t *p = st->p;
	int64_t now = st->now;
	keyset_t *ks = st->ks;
	dnssec_key_t *succ;
	int n = count_current(ks, false, now, &succ);
	uint32_t life = lifetime(p, ROLE_ZSK);
	key_timing_t t;
	int ret = E_OK;

	if (n == 1 && life > 0 && succ->timing.activate <= now &&
	    now >= succ->timing.activate + (int64_t)life) {
		warn_algorithm(st, succ);
		memset(&t, 0, sizeof(t));
		t.created = t.publish = now;
		t.activate = now + ipub(p);
		ret = key_create(st, succ->algorithm, succ->bits, FLAGS_ZSK, &t, ROLE_ZSK);
		if (ret != E_OK) {
			return ret;
		}
		log_info("keys", "%s: ZSK %u rollover started", st->zname, succ->tag);
		n = count_current(ks, false, now, &succ);
	}
	if (n < 2) {
		return E_OK;
	}
	/* The newest current ZSK replaces the others when it becomes active. */
	for (int i = 0; i < ks->n && ret == E_OK; i++) {
		dnssec_key_t *k = ks->keys[i];

		if (k == succ || !current(k, false, now)) {
			continue;
		}
		t = k->timing;
		t.inactive = max64(succ->timing.activate, now);
		t.remove = t.inactive + iret(p, ROLE_ZSK);
		ret = timing_set(k, &t);
	}
	return ret;
}

/* KSK double-KSK rollover (RFC 7583 §3.3.2); for a CSK, double signatures on everything. */
static int sep_step(struct step *st, bool ds_seen)
{
	const key_policy_t *p = st->p;
	int64_t now = st->now;
	keyset_t *ks = st->ks;
	enum role r = sep_role(ks, now);
	dnssec_key_t *succ;
	int n = count_current(ks, true, now, &succ);
	uint32_t life = lifetime(p, r);
	key_timing_t t;
	int ret = E_OK;

	if (n == 1 && life > 0 && succ->timing.activate <= now &&
	    now >= succ->timing.activate + (int64_t)life) {
		warn_algorithm(st, succ);
		memset(&t, 0, sizeof(t));
		t.created = t.publish = t.activate = now;
		t.sync_publish = now + ipub(p);
		ret = key_create(st, succ->algorithm, succ->bits, FLAGS_KSK, &t, r);
		if (ret == E_OK) {
			log_info("keys", "%s: %s %u rollover started; waiting for the new DS",
				 st->zname, role_name(r), succ->tag);
		}
		return ret;
	}
	if (n < 2) {
		return E_OK;
	}
	/* A rollover is under way: the newest current key replaces the others. */
	if (succ->timing.sync_publish == 0) {
		t = succ->timing;
		t.sync_publish = max64(now, succ->timing.publish + ipub(p));
		ret = timing_set(succ, &t);
		if (ret != E_OK) {
			return ret;
		}
	}
	if (!ds_seen || !key_sync_published(succ, now)) {
		return E_OK;
	}
	log_info("keys", "%s: DS of %s %u seen at the parent", st->zname, role_name(r), succ->tag);
	for (int i = 0; i < ks->n && ret == E_OK; i++) {
		dnssec_key_t *k = ks->keys[i];

		if (k == succ || !current(k, true, now)) {
			continue;
		}
		t = k->timing;
		t.inactive = now + p->ds_ttl + p->propagation_delay;
		if (t.sync_delete == 0 || t.sync_delete > t.inactive) {
			t.sync_delete = t.inactive;
		}
		t.remove = t.inactive + iret(p, r);
		ret = timing_set(k, &t);
	}
	return ret;
}

const dnssec_key_t *keyset_ds_wait(const keyset_t *ks, int64_t now)
{
	dnssec_key_t *succ;

	if (count_current(ks, true, now, &succ) < 2 || !key_sync_published(succ, now)) {
		return NULL;
	}
	return succ;
}

int64_t keyset_ds_check_interval(const key_policy_t *p)
{
	/* A fixed hour made a rollover with short timings (seconds) wait an hour for a DS
	 * that was there long before: the parent is asked as often as changes propagate. */
	int64_t i = p->propagation_delay;

	return i < 1 ? 1 : i > KEYSET_DS_CHECK_INTERVAL ? KEYSET_DS_CHECK_INTERVAL : i;
}

static void consider(int64_t *best, int64_t t, int64_t now)
{
	if (t > now && (*best == 0 || t < *best)) {
		*best = t;
	}
}

static int64_t next_event(const keyset_t *ks, const key_policy_t *p, int64_t now)
{
	int64_t best = 0;
	dnssec_key_t *k;

	for (int i = 0; i < ks->n; i++) {
		const key_timing_t *t = &ks->keys[i]->timing;

		consider(&best, t->publish, now);
		consider(&best, t->activate, now);
		consider(&best, t->inactive, now);
		consider(&best, t->remove, now);
		consider(&best, t->sync_publish, now);
		consider(&best, t->sync_delete, now);
	}
	if (count_current(ks, false, now, &k) == 1 && lifetime(p, ROLE_ZSK) > 0) {
		consider(&best, k->timing.activate + (int64_t)lifetime(p, ROLE_ZSK), now);
	}
	switch (count_current(ks, true, now, &k)) {
	case 0:
		break;
	case 1:
		if (lifetime(p, sep_role(ks, now)) > 0) {
			consider(&best,
				 k->timing.activate + (int64_t)lifetime(p, sep_role(ks, now)), now);
		}
		break;
	default:
		if (keyset_ds_wait(ks, now) != NULL) {
			consider(&best, now + keyset_ds_check_interval(p), now);
		}
	}
	return best;
}

int keyset_step(keyset_t *ks, const key_policy_t *p, const uint8_t *zone, const char *dir,
		int64_t now, bool ds_seen, int64_t *next)
{
	struct step st;
	int64_t prev = ks->last_step != 0 ? ks->last_step : now;
	bool changed;
	int ret;

	memset(&st, 0, sizeof(st));
	st.ks = ks;
	st.p = p;
	st.zone = zone;
	st.dir = dir;
	st.now = now;
	if (dname_to_str(st.zname, sizeof(st.zname), zone) < 0) {
		return E_MALFORMED;
	}
	for (int i = 0; i < ks->n; i++) {
		st.before[i] = key_state(ks->keys[i], prev);
	}
	ret = remove_expired(&st);
	if (ret == E_OK) {
		ret = ensure_keys(&st);
	}
	if (ret == E_OK) {
		ret = zsk_step(&st);
	}
	if (ret == E_OK) {
		ret = sep_step(&st, ds_seen);
	}
	if (ret == E_OK) {
		ret = schedule_removals(&st);
	}
	changed = st.changed;
	for (int i = 0; i < ks->n; i++) {
		changed |= key_state(ks->keys[i], now) != st.before[i];
	}
	if (next != NULL) {
		*next = next_event(ks, p, now);
	}
	if (ret != E_OK) {
		return ret;
	}
	ks->last_step = now;
	return changed ? 1 : 0;
}
