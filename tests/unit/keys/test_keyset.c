/*  Unit tests: keys/keyset.c — loading a zone's keys, the timing predicates, and the
 *  rollover state machine driven step by step with a fake clock: first keys, a ZSK
 *  pre-publish rollover, a KSK double-KSK rollover, a CSK rollover, a crash in the middle
 *  of a rollover. After every step the keys are read again from disk and stepped at the
 *  same time: a restart must change nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/name.h"
#include "keys/keyset.h"

#define EX   ((const uint8_t *)"\7example")
#define DATA "tests/data/keys"
#define T0   1700000000LL
#define DAY  86400LL

/* The policy of every rollover test: Ipub = 3600 + 300, ZSK Iret = 86400 + 300. */
#define DNSKEY_TTL 3600
#define ZONE_TTL   86400
#define DPRP       300
#define DS_TTL     7200
#define IPUB       (DNSKEY_TTL + DPRP)
#define IRET_ZSK   (ZONE_TTL + DPRP)
#define IRET_KSK   (DNSKEY_TTL + DPRP)
#define DS_WAIT    (DS_TTL + DPRP)

static key_policy_t policy(bool split, uint32_t zsk_days, uint32_t ksk_days)
{
	key_policy_t p = {
		.algorithm = KEY_ALG_ECDSAP256SHA256,
		.split = split,
		.zsk_lifetime = zsk_days * (uint32_t)DAY,
		.ksk_lifetime = ksk_days * (uint32_t)DAY,
		.dnskey_ttl = DNSKEY_TTL,
		.max_zone_ttl = ZONE_TTL,
		.propagation_delay = DPRP,
		.ds_ttl = DS_TTL,
	};
	return p;
}

static void data_dir(char *buf, size_t len)
{
	const char *root = getenv("SIGNET_SRCDIR");

	if (root != NULL) {
		snprintf(buf, len, "%s/" DATA, root);
	} else if (access(DATA, F_OK) == 0) {
		snprintf(buf, len, DATA);
	} else {
		const char *slash = strrchr(__FILE__, '/');
		int dl = slash != NULL ? (int)(slash - __FILE__) : 1;

		snprintf(buf, len, "%.*s/../../data/keys", dl, slash != NULL ? __FILE__ : ".");
	}
}

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[1024];

	if (d == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			rm_tree(path);
		} else {
			unlink(path);
		}
	}
	closedir(d);
	rmdir(dir);
}

/* A fresh key folder (it does not exist yet: keyset_step creates it). */
static char *new_dir(void)
{
	char *dir = malloc(64);

	assert_non_null(dir);
	snprintf(dir, 64, "/tmp/signet-keyset-XXXXXX");
	assert_non_null(mkdtemp(dir));
	strcat(dir, "/keys");
	return dir;
}

static void free_dir(char *dir)
{
	*strrchr(dir, '/') = '\0';
	rm_tree(dir);
	free(dir);
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

enum which { PUBLISHED, ACTIVE, SYNC };

/* The tags of the keys in state \a w at \a now, sorted, as a string "123 456". */
static void tags_in(const keyset_t *ks, enum which w, int64_t now, char *out, size_t len)
{
	uint16_t tags[KEYSET_MAX];
	int n = 0;
	size_t off = 0;

	for (int i = 0; i < ks->n; i++) {
		const dnssec_key_t *k = ks->keys[i];
		bool in = w == PUBLISHED ? key_published(k, now)
			  : w == ACTIVE  ? key_active(k, now)
					 : key_sync_published(k, now);

		if (in) {
			tags[n++] = k->tag;
		}
	}
	qsort(tags, (size_t)n, sizeof(tags[0]), cmp_u16);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		off += (size_t)snprintf(out + off, len - off, "%s%u", i ? " " : "", tags[i]);
	}
}

/* Tags of keys given as pointers, sorted, in the same form. */
static void tags_of(char *out, size_t len, int n, ...)
{
	uint16_t tags[KEYSET_MAX];
	va_list ap;
	size_t off = 0;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		tags[i] = va_arg(ap, const dnssec_key_t *)->tag;
	}
	va_end(ap);
	qsort(tags, (size_t)n, sizeof(tags[0]), cmp_u16);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		off += (size_t)snprintf(out + off, len - off, "%s%u", i ? " " : "", tags[i]);
	}
}

#define ASSERT_SET(ks, w, now, ...)                                                               \
	do {                                                                                      \
		char got_[128], want_[128];                                                       \
		tags_in(ks, w, now, got_, sizeof(got_));                                          \
		tags_of(want_, sizeof(want_), __VA_ARGS__);                                       \
		if (strcmp(got_, want_) != 0) {                                                   \
			print_error("%s at %lld: got \"%s\" want \"%s\"\n", #w, (long long)(now), \
				    got_, want_);                                                 \
		}                                                                                 \
		assert_string_equal(got_, want_);                                                 \
	} while (0)

static const dnssec_key_t *find_tag(const keyset_t *ks, uint16_t tag)
{
	for (int i = 0; i < ks->n; i++) {
		if (ks->keys[i]->tag == tag) {
			return ks->keys[i];
		}
	}
	return NULL;
}

static bool file_exists(const char *dir, const dnssec_key_t *k, const char *sub, const char *ext)
{
	char path[1024];
	const char *name = strrchr(k->path, '/') + 1;

	snprintf(path, sizeof(path), "%s%s%s/%s%s", dir, sub[0] ? "/" : "", sub, name, ext);
	return access(path, F_OK) == 0;
}

/*
 * A restart at \a now: the keys read again from \a dir are those of \a ks with the same
 * timing; stepping them at \a now reports no change, schedules the same next event and
 * writes nothing new.
 */
static void assert_restart_same(const keyset_t *ks, const key_policy_t *p, const char *dir,
				int64_t now, int64_t next, bool ds_seen)
{
	keyset_t re;
	char err[256];
	int64_t re_next = -1;

	memset(&re, 0, sizeof(re));
	assert_int_equal(keyset_load(&re, dir, EX, err, sizeof(err)), E_OK);
	assert_int_equal(re.n, ks->n);
	for (int i = 0; i < ks->n; i++) {
		const dnssec_key_t *k = find_tag(&re, ks->keys[i]->tag);

		assert_non_null(k);
		assert_memory_equal(&k->timing, &ks->keys[i]->timing, sizeof(k->timing));
		assert_int_equal(k->flags, ks->keys[i]->flags);
	}
	assert_int_equal(keyset_step(&re, p, EX, dir, now, ds_seen, &re_next), 0);
	assert_int_equal(re_next, next);
	assert_int_equal(re.n, ks->n);
	for (int i = 0; i < ks->n; i++) {
		const dnssec_key_t *k = find_tag(&re, ks->keys[i]->tag);

		assert_non_null(k);
		assert_memory_equal(&k->timing, &ks->keys[i]->timing, sizeof(k->timing));
	}
	keyset_clear(&re);
}

/* One step: its result and next event, then the restart check. */
static void step(keyset_t *ks, const key_policy_t *p, const char *dir, int64_t now, bool ds_seen,
		 int want_ret, int64_t want_next)
{
	int64_t next = -1;
	int ret = keyset_step(ks, p, EX, dir, now, ds_seen, &next);

	if (ret != want_ret || next != want_next) {
		print_error("step at T0%+lld: ret %d (want %d), next T0%+lld (want T0%+lld)\n",
			    (long long)(now - T0), ret, want_ret, (long long)(next - T0),
			    (long long)(want_next - T0));
	}
	assert_int_equal(ret, want_ret);
	assert_int_equal(next, want_next);
	assert_restart_same(ks, p, dir, now, want_next, ds_seen);
}

/* ---- predicates ---- */

static void test_predicates(void **state)
{
	dnssec_key_t k;

	(void)state;
	memset(&k, 0, sizeof(k));
	k.flags = 257;
	/* Nothing set: nothing. */
	assert_false(key_published(&k, T0));
	assert_false(key_active(&k, T0));
	assert_false(key_sync_published(&k, T0));

	k.timing.publish = T0;
	k.timing.activate = T0 + 10;
	k.timing.sync_publish = T0 + 20;
	k.timing.inactive = T0 + 30;
	k.timing.sync_delete = T0 + 40;
	k.timing.remove = T0 + 50;
	assert_false(key_published(&k, T0 - 1));
	assert_true(key_published(&k, T0));
	assert_false(key_active(&k, T0 + 9));
	assert_true(key_active(&k, T0 + 10));
	assert_false(key_sync_published(&k, T0 + 19));
	assert_true(key_sync_published(&k, T0 + 20));
	assert_false(key_active(&k, T0 + 30));
	assert_true(key_sync_published(&k, T0 + 39));
	assert_false(key_sync_published(&k, T0 + 40));
	assert_true(key_published(&k, T0 + 49));
	assert_false(key_published(&k, T0 + 50));

	/* Removal ends everything, even without Inactive/SyncDelete. */
	k.timing.inactive = 0;
	k.timing.sync_delete = 0;
	assert_true(key_active(&k, T0 + 49));
	assert_true(key_sync_published(&k, T0 + 49));
	assert_false(key_active(&k, T0 + 50));
	assert_false(key_sync_published(&k, T0 + 50));

	/* Active without Publish is active (signs), but not published. */
	k.timing.publish = 0;
	assert_true(key_active(&k, T0 + 10));
	assert_false(key_published(&k, T0 + 10));
	assert_false(key_sync_published(&k, T0 + 20));
}

static void test_policy_init(void **state)
{
	key_policy_t p;

	(void)state;
	memset(&p, 0xff, sizeof(p));
	key_policy_init(&p);
	assert_int_equal(p.algorithm, KEY_ALG_ECDSAP256SHA256);
	assert_false(p.split);
	assert_int_equal(p.zsk_lifetime, 0);
	assert_int_equal(p.ksk_lifetime, 0);
	assert_int_equal(p.dnskey_ttl, 3600);
	assert_int_equal(p.propagation_delay, 3600);
	assert_int_equal(p.signature_lifetime, 14 * DAY);
}

/* ---- loading ---- */

static void test_load_fixtures(void **state)
{
	char dir[1024], err[256];
	keyset_t ks;

	(void)state;
	memset(&ks, 0, sizeof(ks));
	data_dir(dir, sizeof(dir));
	assert_int_equal(keyset_load(&ks, dir, EX, err, sizeof(err)), E_OK);
	assert_int_equal(ks.n, 4);
	/* Sorted by creation time: the oldest first. */
	assert_int_equal(ks.keys[0]->tag, 44160);
	for (int i = 0; i < ks.n; i++) {
		assert_true(dname_equal(ks.keys[i]->owner, EX));
	}
	assert_non_null(find_tag(&ks, 63422));
	assert_non_null(find_tag(&ks, 57830));
	assert_non_null(find_tag(&ks, 56781));

	/* The zone matches case-insensitively. */
	assert_int_equal(keyset_load(&ks, dir, (const uint8_t *)"\7EXAMPLE", err, sizeof(err)),
			 E_OK);
	assert_int_equal(ks.n, 4);

	/* BIND's escaped file name ("K0%2F25.example.com.+..."). */
	assert_int_equal(
		keyset_load(&ks, dir, (const uint8_t *)"\0040/25\7Example\3com", err, sizeof(err)),
		E_OK);
	assert_int_equal(ks.n, 1);
	assert_int_equal(ks.keys[0]->tag, 41342);

	/* Another zone, a missing folder: no keys. */
	assert_int_equal(keyset_load(&ks, dir, (const uint8_t *)"\4test", err, sizeof(err)), E_OK);
	assert_int_equal(ks.n, 0);
	assert_int_equal(keyset_load(&ks, "/nonexistent/keys", EX, err, sizeof(err)), E_OK);
	assert_int_equal(ks.n, 0);
	keyset_clear(&ks);
}

static void test_load_bad_key(void **state)
{
	char *dir = new_dir();
	char path[1024], err[256];
	keyset_t ks;
	key_policy_t p = policy(false, 0, 0);
	int64_t next;
	FILE *f;

	(void)state;
	memset(&ks, 0, sizeof(ks));
	assert_int_equal(keyset_step(&ks, &p, EX, dir, T0, false, &next), 1);
	assert_int_equal(ks.n, 1);
	/* A broken key file fails the load (no silent new keys) and leaves the set alone. */
	snprintf(path, sizeof(path), "%s/Kexample.+013+00001.key", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("example. IN DNSKEY 256 3 13 AAAA\n", f);
	fclose(f);
	assert_int_not_equal(keyset_load(&ks, dir, EX, err, sizeof(err)), E_OK);
	assert_non_null(strstr(err, "Kexample.+013+00001"));
	assert_int_equal(ks.n, 1);
	/* Temporary files and other zones' keys are not keys of this zone. */
	unlink(path);
	snprintf(path, sizeof(path), "%s/Kexample.+013+00001.key.tmpAbC123", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(keyset_load(&ks, dir, EX, err, sizeof(err)), E_OK);
	assert_int_equal(ks.n, 1);
	keyset_clear(&ks);
	free_dir(dir);
}

/* ---- first keys ---- */

static void test_first_csk(void **state)
{
	char *dir = new_dir();
	keyset_t ks;
	key_policy_t p = policy(false, 0, 0);
	const dnssec_key_t *c;
	struct stat st;
	char path[1024];

	(void)state;
	memset(&ks, 0, sizeof(ks));
	p.algorithm = 0; /* the default: ECDSAP256SHA256 */
	step(&ks, &p, dir, T0, false, 1, 0);
	assert_int_equal(ks.n, 1);
	c = ks.keys[0];
	assert_int_equal(c->flags, 257);
	assert_int_equal(c->algorithm, KEY_ALG_ECDSAP256SHA256);
	assert_int_equal(c->timing.created, T0);
	assert_int_equal(c->timing.publish, T0);
	assert_int_equal(c->timing.activate, T0);
	assert_int_equal(c->timing.sync_publish, T0);
	assert_int_equal(c->timing.inactive, 0);
	ASSERT_SET(&ks, PUBLISHED, T0, 1, c);
	ASSERT_SET(&ks, ACTIVE, T0, 1, c);
	ASSERT_SET(&ks, SYNC, T0, 1, c);
	assert_true(keyset_signs_zone(&ks, c, T0));
	assert_true(keyset_signs_dnskey(&ks, c, T0));
	assert_null(keyset_ds_wait(&ks, T0));
	assert_true(file_exists(dir, c, "", ".key"));
	snprintf(path, sizeof(path), "%s.private", c->path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Nothing more to do, ever (no lifetimes). */
	step(&ks, &p, dir, T0, false, 0, 0);
	step(&ks, &p, dir, T0 + 1000 * DAY, false, 0, 0);
	keyset_clear(&ks);
	free_dir(dir);
}

static void test_first_split_rsa(void **state)
{
	char *dir = new_dir();
	keyset_t ks;
	key_policy_t p = policy(true, 30, 365);
	const dnssec_key_t *k, *z;

	(void)state;
	memset(&ks, 0, sizeof(ks));
	p.algorithm = KEY_ALG_RSASHA256;
	p.bits = 2048;
	step(&ks, &p, dir, T0, false, 1, T0 + 30 * DAY);
	assert_int_equal(ks.n, 2);
	k = ks.keys[0]->flags == 257 ? ks.keys[0] : ks.keys[1];
	z = ks.keys[0]->flags == 256 ? ks.keys[0] : ks.keys[1];
	assert_int_equal(k->flags, 257);
	assert_int_equal(z->flags, 256);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ks.keys[i]->algorithm, KEY_ALG_RSASHA256);
		assert_int_equal(ks.keys[i]->bits, 2048);
	}
	ASSERT_SET(&ks, PUBLISHED, T0, 2, k, z);
	ASSERT_SET(&ks, ACTIVE, T0, 2, k, z);
	ASSERT_SET(&ks, SYNC, T0, 1, k);
	assert_true(keyset_signs_zone(&ks, z, T0));
	assert_false(keyset_signs_zone(&ks, k, T0));
	assert_true(keyset_signs_dnskey(&ks, k, T0));
	assert_false(keyset_signs_dnskey(&ks, z, T0));
	keyset_clear(&ks);
	free_dir(dir);
}

/* ---- ZSK pre-publish rollover ---- */

static void test_zsk_rollover(void **state)
{
	char *dir = new_dir();
	keyset_t ks;
	key_policy_t p = policy(true, 30, 0);
	const dnssec_key_t *k, *z1, *z2;
	const int64_t t1 = T0 + 30 * DAY; /* Z1's lifetime ends */
	const int64_t t2 = t1 + IPUB;     /* Z2 active, Z1 inactive */
	const int64_t t3 = t2 + IRET_ZSK; /* Z1 removed */

	(void)state;
	memset(&ks, 0, sizeof(ks));
	step(&ks, &p, dir, T0, false, 1, t1);
	k = ks.keys[0]->flags == 257 ? ks.keys[0] : ks.keys[1];
	z1 = ks.keys[0]->flags == 256 ? ks.keys[0] : ks.keys[1];
	step(&ks, &p, dir, t1 - 1, false, 0, t1);

	/* Z2 pre-published; Z1 keeps signing. */
	step(&ks, &p, dir, t1, false, 1, t2);
	assert_int_equal(ks.n, 3);
	z2 = ks.keys[2];
	assert_int_equal(z2->flags, 256);
	assert_int_equal(z2->algorithm, z1->algorithm);
	assert_int_equal(z2->timing.publish, t1);
	assert_int_equal(z2->timing.activate, t2);
	assert_int_equal(z2->timing.sync_publish, 0);
	assert_int_equal(z1->timing.inactive, t2);
	assert_int_equal(z1->timing.remove, t3);
	ASSERT_SET(&ks, PUBLISHED, t1, 3, k, z1, z2);
	ASSERT_SET(&ks, ACTIVE, t1, 2, k, z1);
	ASSERT_SET(&ks, SYNC, t1, 1, k);
	step(&ks, &p, dir, t1 + 100, false, 0, t2);
	step(&ks, &p, dir, t2 - 1, false, 0, t2);

	/* Z2 signs, Z1 stops; Z1's DNSKEY stays while its signatures may be cached. */
	step(&ks, &p, dir, t2, false, 1, t3);
	ASSERT_SET(&ks, PUBLISHED, t2, 3, k, z1, z2);
	ASSERT_SET(&ks, ACTIVE, t2, 2, k, z2);
	ASSERT_SET(&ks, SYNC, t2, 1, k);
	assert_true(keyset_signs_zone(&ks, z2, t2));
	assert_false(keyset_signs_zone(&ks, z1, t2));
	assert_false(keyset_signs_zone(&ks, k, t2));
	step(&ks, &p, dir, t3 - 1, false, 0, t3);

	/* Z1 removed; its files moved to retired/. The next rollover is Z2's lifetime on. */
	assert_true(file_exists(dir, z1, "", ".private"));
	{
		dnssec_key_t gone = *z1;

		step(&ks, &p, dir, t3, false, 1, t2 + 30 * DAY);
		assert_int_equal(ks.n, 2);
		assert_false(file_exists(dir, &gone, "", ".key"));
		assert_false(file_exists(dir, &gone, "", ".private"));
		assert_true(file_exists(dir, &gone, KEYSET_RETIRED_DIR, ".key"));
		assert_true(file_exists(dir, &gone, KEYSET_RETIRED_DIR, ".private"));
	}
	ASSERT_SET(&ks, PUBLISHED, t3, 2, k, z2);
	ASSERT_SET(&ks, ACTIVE, t3, 2, k, z2);
	ASSERT_SET(&ks, SYNC, t3, 1, k);
	keyset_clear(&ks);
	free_dir(dir);
}

/* ---- KSK double-KSK rollover ---- */

static void test_ksk_rollover(void **state)
{
	char *dir = new_dir();
	keyset_t ks;
	key_policy_t p = policy(true, 0, 365);
	const dnssec_key_t *k1, *k2, *z;
	const int64_t t1 = T0 + 365 * DAY; /* K1's lifetime ends: K2 published and active */
	const int64_t t2 = t1 + IPUB;      /* K2's CDS published */
	const int64_t d = t2 + 2 * DPRP;   /* the DS is seen */
	const int64_t t3 = d + DS_WAIT;    /* K1 inactive, CDS gone */
	const int64_t t4 = t3 + IRET_KSK;  /* K1 removed */

	(void)state;
	memset(&ks, 0, sizeof(ks));
	step(&ks, &p, dir, T0, false, 1, t1);
	k1 = ks.keys[0]->flags == 257 ? ks.keys[0] : ks.keys[1];
	z = ks.keys[0]->flags == 256 ? ks.keys[0] : ks.keys[1];

	/* K2 published and signing the DNSKEY RRset beside K1; no CDS for it yet. */
	step(&ks, &p, dir, t1, false, 1, t2);
	assert_int_equal(ks.n, 3);
	k2 = ks.keys[2];
	assert_int_equal(k2->flags, 257);
	assert_int_equal(k2->timing.publish, t1);
	assert_int_equal(k2->timing.activate, t1);
	assert_int_equal(k2->timing.sync_publish, t2);
	assert_int_equal(k1->timing.inactive, 0);
	ASSERT_SET(&ks, PUBLISHED, t1, 3, k1, k2, z);
	ASSERT_SET(&ks, ACTIVE, t1, 3, k1, k2, z);
	ASSERT_SET(&ks, SYNC, t1, 1, k1);
	assert_true(keyset_signs_dnskey(&ks, k2, t1));
	assert_false(keyset_signs_zone(&ks, k2, t1));
	assert_null(keyset_ds_wait(&ks, t1));

	/* A DS seen before the new CDS is published is not believed. */
	step(&ks, &p, dir, t1 + 100, true, 0, t2);
	assert_int_equal(k1->timing.inactive, 0);

	/* K2's CDS/CDNSKEY published: now wait for its DS at the parent. */
	step(&ks, &p, dir, t2, false, 1, t2 + keyset_ds_check_interval(&p));
	ASSERT_SET(&ks, SYNC, t2, 2, k1, k2);
	assert_ptr_equal(keyset_ds_wait(&ks, t2), k2);
	step(&ks, &p, dir, t2 + keyset_ds_check_interval(&p), false, 0, d);
	assert_int_equal(k1->timing.inactive, 0);

	/* The DS is seen: K1 retires once the old DS set has expired from caches. */
	step(&ks, &p, dir, d, true, 0, t3);
	assert_int_equal(k1->timing.inactive, t3);
	assert_int_equal(k1->timing.sync_delete, t3);
	assert_int_equal(k1->timing.remove, t4);
	assert_null(keyset_ds_wait(&ks, d));
	ASSERT_SET(&ks, ACTIVE, d, 3, k1, k2, z);
	step(&ks, &p, dir, t3 - 1, false, 0, t3);

	step(&ks, &p, dir, t3, false, 1, t4);
	ASSERT_SET(&ks, PUBLISHED, t3, 3, k1, k2, z);
	ASSERT_SET(&ks, ACTIVE, t3, 2, k2, z);
	ASSERT_SET(&ks, SYNC, t3, 1, k2);

	step(&ks, &p, dir, t4, false, 1, t1 + 365 * DAY);
	ASSERT_SET(&ks, PUBLISHED, t4, 2, k2, z);
	ASSERT_SET(&ks, ACTIVE, t4, 2, k2, z);
	ASSERT_SET(&ks, SYNC, t4, 1, k2);
	keyset_clear(&ks);
	free_dir(dir);
}

/* ---- CSK rollover: double signatures on everything ---- */

static void test_csk_rollover(void **state)
{
	char *dir = new_dir();
	keyset_t ks;
	key_policy_t p = policy(false, 90, 365); /* a CSK rolls at the shorter lifetime */
	const dnssec_key_t *c1, *c2;
	const int64_t t1 = T0 + 90 * DAY;
	const int64_t t2 = t1 + IPUB;
	const int64_t d = t2 + 10;
	const int64_t t3 = d + DS_WAIT;
	const int64_t t4 = t3 + ZONE_TTL + DPRP; /* max(DNSKEY TTL, zone TTL) + Dprp */

	(void)state;
	memset(&ks, 0, sizeof(ks));
	step(&ks, &p, dir, T0, false, 1, t1);
	c1 = ks.keys[0];

	step(&ks, &p, dir, t1, false, 1, t2);
	assert_int_equal(ks.n, 2);
	c2 = ks.keys[1];
	assert_int_equal(c2->flags, 257);
	ASSERT_SET(&ks, PUBLISHED, t1, 2, c1, c2);
	ASSERT_SET(&ks, ACTIVE, t1, 2, c1, c2);
	ASSERT_SET(&ks, SYNC, t1, 1, c1);
	assert_true(keyset_signs_zone(&ks, c1, t1));
	assert_true(keyset_signs_zone(&ks, c2, t1));
	assert_true(keyset_signs_dnskey(&ks, c2, t1));

	step(&ks, &p, dir, t2, false, 1, t2 + keyset_ds_check_interval(&p));
	ASSERT_SET(&ks, SYNC, t2, 2, c1, c2);
	assert_ptr_equal(keyset_ds_wait(&ks, t2), c2);

	step(&ks, &p, dir, d, true, 0, t3);
	assert_int_equal(c1->timing.inactive, t3);
	assert_int_equal(c1->timing.sync_delete, t3);
	assert_int_equal(c1->timing.remove, t4);

	step(&ks, &p, dir, t3, false, 1, t4);
	ASSERT_SET(&ks, PUBLISHED, t3, 2, c1, c2);
	ASSERT_SET(&ks, ACTIVE, t3, 1, c2);
	ASSERT_SET(&ks, SYNC, t3, 1, c2);
	assert_true(keyset_signs_zone(&ks, c2, t3));

	step(&ks, &p, dir, t4, false, 1, t1 + 90 * DAY);
	ASSERT_SET(&ks, PUBLISHED, t4, 1, c2);
	keyset_clear(&ks);
	free_dir(dir);
}

/* ---- a crash between writing the new ZSK and retiring the old one ---- */

static void test_crash_mid_rollover(void **state)
{
	char *dir = new_dir();
	char err[256];
	keyset_t ks, re;
	key_policy_t p = policy(true, 30, 0);
	dnssec_key_t *z2;
	const dnssec_key_t *z1;
	const int64_t t1 = T0 + 30 * DAY;
	int64_t next;

	(void)state;
	memset(&ks, 0, sizeof(ks));
	memset(&re, 0, sizeof(re));
	assert_int_equal(keyset_step(&ks, &p, EX, dir, T0, false, &next), 1);
	/* What the first half of the rollover writes, then the "crash". */
	assert_int_equal(key_generate(&z2, EX, KEY_ALG_ECDSAP256SHA256, 0, 256), E_OK);
	z2->timing = (key_timing_t){ .created = t1, .publish = t1, .activate = t1 + IPUB };
	assert_int_equal(key_write(z2, dir), E_OK);

	assert_int_equal(keyset_load(&re, dir, EX, err, sizeof(err)), E_OK);
	assert_int_equal(re.n, 3);
	assert_int_equal(keyset_step(&re, &p, EX, dir, t1 + 5, false, &next), 0);
	assert_int_equal(next, t1 + IPUB);
	z1 = NULL;
	for (int i = 0; i < re.n; i++) {
		if (re.keys[i]->flags == 256 && re.keys[i]->tag != z2->tag) {
			z1 = re.keys[i];
		}
	}
	assert_non_null(z1);
	assert_int_equal(z1->timing.inactive, t1 + IPUB);
	assert_int_equal(z1->timing.remove, t1 + IPUB + IRET_ZSK);
	assert_restart_same(&re, &p, dir, t1 + 5, t1 + IPUB, false);
	key_free(z2);
	keyset_clear(&re);
	keyset_clear(&ks);
	free_dir(dir);
}

/* ---- turning split on: a ZSK is pre-published, the CSK becomes a KSK ---- */

static void test_csk_to_split(void **state)
{
	char *dir = new_dir();
	keyset_t ks;
	key_policy_t p = policy(false, 0, 0);
	const dnssec_key_t *c, *z;
	int64_t next;

	(void)state;
	memset(&ks, 0, sizeof(ks));
	assert_int_equal(keyset_step(&ks, &p, EX, dir, T0, false, &next), 1);
	c = ks.keys[0];
	p.split = true;
	step(&ks, &p, dir, T0 + DAY, false, 1, T0 + DAY + IPUB);
	assert_int_equal(ks.n, 2);
	z = ks.keys[1];
	assert_int_equal(z->flags, 256);
	assert_true(keyset_signs_zone(&ks, c, T0 + DAY));
	assert_false(keyset_signs_zone(&ks, z, T0 + DAY));
	step(&ks, &p, dir, T0 + DAY + IPUB, false, 1, 0);
	assert_false(keyset_signs_zone(&ks, c, T0 + DAY + IPUB));
	assert_true(keyset_signs_zone(&ks, z, T0 + DAY + IPUB));
	assert_true(keyset_signs_dnskey(&ks, c, T0 + DAY + IPUB));

	/* And back to one key: the ZSK retires, the KSK signs everything again. */
	p.split = false;
	step(&ks, &p, dir, T0 + 2 * DAY, false, 1, T0 + 2 * DAY + IRET_ZSK);
	assert_true(keyset_signs_zone(&ks, c, T0 + 2 * DAY));
	ASSERT_SET(&ks, PUBLISHED, T0 + 2 * DAY, 2, c, z);
	step(&ks, &p, dir, T0 + 2 * DAY + IRET_ZSK, false, 1, 0);
	ASSERT_SET(&ks, PUBLISHED, T0 + 2 * DAY + IRET_ZSK, 1, c);
	keyset_clear(&ks);
	free_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_predicates),    cmocka_unit_test(test_policy_init),
		cmocka_unit_test(test_load_fixtures), cmocka_unit_test(test_load_bad_key),
		cmocka_unit_test(test_first_csk),     cmocka_unit_test(test_first_split_rsa),
		cmocka_unit_test(test_zsk_rollover),  cmocka_unit_test(test_ksk_rollover),
		cmocka_unit_test(test_csk_rollover),  cmocka_unit_test(test_crash_mid_rollover),
		cmocka_unit_test(test_csk_to_split),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
