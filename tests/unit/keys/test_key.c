/*  Unit tests: keys/key.c and keys/keystore_file.c — BIND key files (read, written byte for
 *  byte as dnssec-keygen writes them), DS and key tags against dnssec-dsfromkey, signing and
 *  verifying for algorithms 8, 13 and 15 (against signatures made by dnssec-signzone too),
 *  atomic private files mode 0600, concurrent signing on one key.
 *
 *  The fixtures in tests/data/keys/ were made by dnssec-keygen 9.18 (see the README there).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
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
#include "dns/name.h"
#include "dns/rrtext.h"
#include "keys/key.h"
#include "keys/keystore.h"

#define EX     "\7example"
#define DATA   "tests/data/keys"
#define KSK13  "Kexample.+013+63422"
#define ZSK13T "Kexample.+013+57830" /* every timing field set */
#define ZSK15  "Kexample.+015+44160"
#define ZSK8   "Kexample.+008+56781"
#define SLASH  "K0%2F25.example.com.+013+41342"

static const char *const fixtures[] = { KSK13, ZSK13T, ZSK15, ZSK8 };

/* Path of a file under tests/data/keys (tests run from the repository root). */
static void data_path(char *buf, size_t len, const char *name)
{
	const char *root = getenv("SIGNET_SRCDIR");

	if (root != NULL) {
		snprintf(buf, len, "%s/" DATA "/%s", root, name);
	} else if (access(DATA, F_OK) == 0) {
		snprintf(buf, len, DATA "/%s", name);
	} else {
		const char *slash = strrchr(__FILE__, '/');
		int dl = slash != NULL ? (int)(slash - __FILE__) : 1;

		snprintf(buf, len, "%.*s/../../data/keys/%s", dl, slash != NULL ? __FILE__ : ".",
			 name);
	}
}

static dnssec_key_t *read_fixture(const char *name)
{
	char path[1024], err[256];
	dnssec_key_t *k = NULL;
	int ret;

	data_path(path, sizeof(path), name);
	ret = key_read(&k, path, err, sizeof(err));
	if (ret != E_OK) {
		print_error("%s: %s\n", path, err);
	}
	assert_int_equal(ret, E_OK);
	assert_non_null(k);
	return k;
}

static size_t read_all(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

static void write_all(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	fclose(f);
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sprintf(out + 2 * i, "%02X", b[i]);
	}
	out[2 * n] = '\0';
}

static void make_tmpdir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/signet-keys-XXXXXX");
	assert_non_null(mkdtemp(dir));
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

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		n += de->d_name[0] != '.';
	}
	closedir(d);
	return n;
}

/* ---- reading dnssec-keygen's files ---- */

static void test_read_fixtures(void **state)
{
	static const struct {
		const char *name;
		uint16_t tag, flags;
		uint8_t alg;
		unsigned bits;
		uint16_t pubkey_len;
	} want[] = {
		{ KSK13, 63422, 257, 13, 256, 64 }, { ZSK13T, 57830, 256, 13, 256, 64 },
		{ ZSK15, 44160, 256, 15, 256, 32 }, { ZSK8, 56781, 256, 8, 2048, 260 },
		{ SLASH, 41342, 256, 13, 256, 64 },
	};
	uint8_t rd[4 + 1024];

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		dnssec_key_t *k = read_fixture(want[i].name);

		assert_int_equal(k->tag, want[i].tag);
		assert_int_equal(k->flags, want[i].flags);
		assert_int_equal(k->algorithm, want[i].alg);
		assert_int_equal(k->bits, want[i].bits);
		assert_int_equal(k->pubkey_len, want[i].pubkey_len);
		assert_int_equal(key_is_ksk(k), want[i].flags == 257);
		assert_int_equal(key_tag(rd, key_dnskey_rdata(k, rd)), want[i].tag);
		assert_ptr_equal(k->store, &key_store_file);
		assert_non_null(k->priv);
		assert_non_null(strstr(k->path, want[i].name));
		if (i < 4) {
			assert_true(dname_equal(k->owner, (const uint8_t *)EX));
		} else {
			/* Owner "0/25.Example.COM." is kept lower case. */
			assert_memory_equal(k->owner, "\0040/25\7example\3com", 18);
		}
		key_free(k);
	}
}

static void test_read_timing(void **state)
{
	dnssec_key_t *k;

	(void)state;
	k = read_fixture(KSK13);
	assert_int_equal(k->timing.created, 1795672156); /* 20261126054916 */
	assert_int_equal(k->timing.publish, 1795672156);
	assert_int_equal(k->timing.activate, 1795672156);
	assert_int_equal(k->timing.inactive, 0);
	assert_int_equal(k->timing.remove, 0);
	assert_int_equal(k->timing.sync_publish, 0);
	assert_int_equal(k->timing.sync_delete, 0);
	key_free(k);

	k = read_fixture(ZSK13T);
	assert_int_equal(k->timing.created, 1795672157);      /* 20261126054917 */
	assert_int_equal(k->timing.publish, 1704067200);      /* 20240101000000 */
	assert_int_equal(k->timing.activate, 1704153600);     /* 20240102000000 */
	assert_int_equal(k->timing.inactive, 1735689600);     /* 20250101000000 */
	assert_int_equal(k->timing.remove, 1738368000);       /* 20250201000000 */
	assert_int_equal(k->timing.sync_publish, 1704240000); /* 20240103000000 */
	assert_int_equal(k->timing.sync_delete, 1736035200);  /* 20250105000000 */
	key_free(k);
}

/* Every "example. IN DS tag alg type HEX" line that dnssec-dsfromkey -2 / -a SHA-384 printed. */
static void test_ds_matches_dsfromkey(void **state)
{
	char path[1024], text[8192], *line, *save = NULL;
	int lines = 0;

	(void)state;
	data_path(path, sizeof(path), "ds.txt");
	read_all(path, text, sizeof(text));
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char owner[300], digest[200], name[400], got[200];
		unsigned tag, alg, dt;
		uint8_t rd[KEY_DS_MAX];
		size_t rdlen;
		dnssec_key_t *k;

		assert_int_equal(
			sscanf(line, "%299s IN DS %u %u %u %199s", owner, &tag, &alg, &dt, digest),
			5);
		if (strcmp(owner, "example.") == 0) {
			snprintf(name, sizeof(name), "Kexample.+%03u+%05u", alg, tag);
		} else {
			snprintf(name, sizeof(name), "%s", SLASH);
		}
		k = read_fixture(name);
		assert_int_equal(key_ds_rdata(k, (uint8_t)dt, rd, &rdlen), E_OK);
		assert_int_equal(rdlen, dt == 2 ? 36 : 52);
		assert_int_equal(rd[0] << 8 | rd[1], tag);
		assert_int_equal(rd[2], alg);
		assert_int_equal(rd[3], dt);
		hex(got, rd + 4, rdlen - 4);
		assert_string_equal(got, digest);
		key_free(k);
		lines++;
	}
	assert_int_equal(lines, 10);
}

static void test_ds_unsupported_digest(void **state)
{
	dnssec_key_t *k = read_fixture(KSK13);
	uint8_t rd[KEY_DS_MAX];
	size_t rdlen;

	(void)state;
	assert_int_equal(key_ds_rdata(k, 1, rd, &rdlen), E_NOTSUP);
	assert_int_equal(key_ds_rdata(k, 3, rd, &rdlen), E_NOTSUP);
	key_free(k);
}

static void test_key_tag(void **state)
{
	/* RFC 4034 B.1: algorithm 1 takes the tag from the modulus' last bytes but one. */
	static const uint8_t rsamd5[] = { 1, 0, 3, 1, 3, 1, 0, 1, 0xAB, 0xCD, 0xEF };
	static const uint8_t odd[] = { 1, 1, 3, 13, 0xff };

	(void)state;
	assert_int_equal(key_tag(rsamd5, sizeof(rsamd5)), 0xABCD);
	/* 0x0101 + 0x030D + 0xff00 = 0x1030E: the carry is added back, 0x030E + 1. */
	assert_int_equal(key_tag(odd, sizeof(odd)), 0x030F);
}

/* ---- writing: byte for byte what dnssec-keygen wrote ---- */

static void test_roundtrip_bytes(void **state)
{
	char dir[64], path[1024], a[8192], b[8192];

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		static const char *const ext[] = { ".key", ".private" };
		dnssec_key_t *k = read_fixture(fixtures[i]);
		dnssec_key_t *back = NULL;
		char err[256];

		assert_int_equal(key_write(k, dir), E_OK);
		snprintf(path, sizeof(path), "%s/%s", dir, fixtures[i]);
		assert_string_equal(k->path, path);
		for (int e = 0; e < 2; e++) {
			data_path(path, sizeof(path), fixtures[i]);
			strcat(path, ext[e]);
			read_all(path, a, sizeof(a));
			snprintf(path, sizeof(path), "%s/%s%s", dir, fixtures[i], ext[e]);
			read_all(path, b, sizeof(b));
			assert_string_equal(b, a);
		}
		assert_int_equal(key_read(&back, k->path, err, sizeof(err)), E_OK);
		assert_int_equal(back->tag, k->tag);
		assert_memory_equal(&back->timing, &k->timing, sizeof(k->timing));
		assert_memory_equal(back->pubkey, k->pubkey, k->pubkey_len);
		key_free(back);
		key_free(k);
	}
	rm_tree(dir);
}

/* A name BIND escapes in file names: our file is named as dnssec-keygen named its own. */
static void test_write_escaped_name(void **state)
{
	char dir[64], path[1024], err[256];
	dnssec_key_t *k = read_fixture(SLASH);
	dnssec_key_t *back = NULL;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	assert_int_equal(key_write(k, dir), E_OK);
	snprintf(path, sizeof(path), "%s/%s.private", dir, SLASH);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(key_read(&back, path, err, sizeof(err)), E_OK);
	assert_memory_equal(back->owner, k->owner, dname_len(k->owner));
	key_free(back);
	key_free(k);
	rm_tree(dir);
}

static void test_private_mode_and_atomic(void **state)
{
	char dir[64], path[1024];
	struct stat st;
	dnssec_key_t *k;
	mode_t old = umask(0);

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	assert_int_equal(key_generate(&k, (const uint8_t *)EX, KEY_ALG_ED25519, 0, 257), E_OK);
	assert_int_equal(key_write(k, dir), E_OK);
	snprintf(path, sizeof(path), "%s.private", k->path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s.key", k->path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	k->timing.inactive = 2000000000;
	assert_int_equal(key_write_timing(k), E_OK);
	snprintf(path, sizeof(path), "%s.private", k->path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* No temporary file is left behind. */
	assert_int_equal(count_entries(dir), 2);
	umask(old);
	key_free(k);
	rm_tree(dir);
}

static void test_write_refuses_other_key(void **state)
{
	char dir[64];
	dnssec_key_t *a = read_fixture(KSK13);
	dnssec_key_t *b = read_fixture(KSK13);

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	assert_int_equal(key_write(a, dir), E_OK);
	/* Same file names, but not the key written there: refused. */
	b->path[0] = '\0';
	assert_int_equal(key_write(b, dir), E_EXISTS);
	/* The key that owns the files may rewrite them. */
	assert_int_equal(key_write(a, dir), E_OK);
	key_free(a);
	key_free(b);
	rm_tree(dir);
}

static void test_timing_roundtrip(void **state)
{
	char dir[64], path[1024], text[4096], err[256];
	dnssec_key_t *k, *back = NULL;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	assert_int_equal(key_generate(&k, (const uint8_t *)EX, KEY_ALG_ECDSAP256SHA256, 0, 257),
			 E_OK);
	k->timing = (key_timing_t){ .created = 1700000000,
				    .publish = 1700000001,
				    .activate = 1700000002,
				    .inactive = 1800000003,
				    .remove = 1800000004,
				    .sync_publish = 1700000005,
				    .sync_delete = 1800000006 };
	assert_int_equal(key_write(k, dir), E_OK);
	k->timing.remove = 1900000000;
	assert_int_equal(key_write_timing(k), E_OK);
	assert_int_equal(key_read(&back, k->path, err, sizeof(err)), E_OK);
	assert_memory_equal(&back->timing, &k->timing, sizeof(k->timing));

	snprintf(path, sizeof(path), "%s.private", k->path);
	read_all(path, text, sizeof(text));
	assert_non_null(strstr(text, "\nCreated: 20231114221320\nPublish: 20231114221321\n"
				     "Activate: 20231114221322\nInactive: 20270115080003\n"
				     "Delete: 20300317174640\nSyncPublish: 20231114221325\n"
				     "SyncDelete: 20270115080006\n"));
	snprintf(path, sizeof(path), "%s.key", k->path);
	read_all(path, text, sizeof(text));
	assert_non_null(strstr(text, "; This is a key-signing key, keyid "));
	assert_non_null(strstr(text, "; SyncPublish: 20231114221325 (Tue Nov 14 22:13:25 2023)\n"));
	assert_non_null(strstr(text, "example. IN DNSKEY 257 3 13 "));
	key_free(back);
	key_free(k);
	rm_tree(dir);
}

/* ---- generating, signing, verifying ---- */

static void check_sign_verify(const dnssec_key_t *k, size_t want_len)
{
	uint8_t data[300], sig[KEY_SIG_MAX];
	size_t siglen = 0;

	for (size_t i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)(i * 7);
	}
	assert_int_equal(key_sign(k, data, sizeof(data), sig, &siglen), E_OK);
	assert_int_equal(siglen, want_len);
	assert_int_equal(key_verify(k, data, sizeof(data), sig, siglen), E_OK);
	data[10] ^= 1;
	assert_int_equal(key_verify(k, data, sizeof(data), sig, siglen), E_MALFORMED);
	data[10] ^= 1;
	sig[siglen - 1] ^= 0x40;
	assert_int_equal(key_verify(k, data, sizeof(data), sig, siglen), E_MALFORMED);
	assert_int_equal(key_verify(k, data, sizeof(data), sig, siglen - 1), E_MALFORMED);
}

static void test_generate_sign_verify(void **state)
{
	static const struct {
		uint8_t alg;
		unsigned bits, want_bits;
		uint16_t pubkey_len;
		size_t siglen;
	} algs[] = {
		{ KEY_ALG_RSASHA256, 2048, 2048, 260, 256 },
		{ KEY_ALG_RSASHA256, 0, 2048, 260, 256 },
		{ KEY_ALG_ECDSAP256SHA256, 0, 256, 64, 64 },
		{ KEY_ALG_ED25519, 0, 256, 32, 64 },
	};
	char dir[64], err[256];

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		dnssec_key_t *k = NULL, *back = NULL;
		uint8_t rd[4 + 1024];
		uint8_t data[] = "signed data", sig[KEY_SIG_MAX];
		size_t siglen;

		assert_int_equal(key_generate(&k, (const uint8_t *)"\7EXAMPLE", algs[i].alg,
					      algs[i].bits, 256),
				 E_OK);
		assert_true(dname_equal(k->owner, (const uint8_t *)EX));
		assert_memory_equal(k->owner, EX, 9); /* lower-cased */
		assert_int_equal(k->bits, algs[i].want_bits);
		assert_int_equal(k->pubkey_len, algs[i].pubkey_len);
		assert_int_equal(k->tag, key_tag(rd, key_dnskey_rdata(k, rd)));
		assert_true(k->timing.created > 0);
		check_sign_verify(k, algs[i].siglen);

		/* Written and read back: the same key. */
		assert_int_equal(key_write(k, dir), E_OK);
		assert_int_equal(key_read(&back, k->path, err, sizeof(err)), E_OK);
		assert_int_equal(back->pubkey_len, k->pubkey_len);
		assert_memory_equal(back->pubkey, k->pubkey, k->pubkey_len);
		assert_int_equal(key_sign(back, data, sizeof(data), sig, &siglen), E_OK);
		assert_int_equal(key_verify(k, data, sizeof(data), sig, siglen), E_OK);
		key_free(back);
		key_free(k);
	}
	rm_tree(dir);
}

static void test_generate_unsupported(void **state)
{
	dnssec_key_t *k = NULL;

	(void)state;
	assert_int_equal(key_generate(&k, (const uint8_t *)EX, 14, 0, 257), E_NOTSUP);
	assert_int_equal(key_generate(&k, (const uint8_t *)EX, KEY_ALG_RSASHA256, 512, 257),
			 E_NOTSUP);
	assert_int_equal(key_generate(&k, (const uint8_t *)EX, KEY_ALG_RSASHA256, 8192, 257),
			 E_NOTSUP);
	assert_null(k);
}

static void test_fixture_keys_sign(void **state)
{
	static const size_t siglen[] = { 64, 64, 64, 256 };

	(void)state;
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		dnssec_key_t *k = read_fixture(fixtures[i]);
		dnssec_key_t pub;

		check_sign_verify(k, siglen[i]);
		/* A signature by dnssec-keygen's private key verifies with the public key alone. */
		pub = *k;
		pub.priv = NULL;
		pub.store = NULL;
		{
			uint8_t data[] = "public only", sig[KEY_SIG_MAX];
			size_t n;

			assert_int_equal(key_sign(k, data, sizeof(data), sig, &n), E_OK);
			assert_int_equal(key_verify(&pub, data, sizeof(data), sig, n), E_OK);
			assert_int_equal(key_sign(&pub, data, sizeof(data), sig, &n), -EINVAL);
		}
		key_free(k);
	}
}

/*
 * RRSIGs over "www.example. 3600 IN A 192.0.2.1" made by dnssec-signzone with the fixture
 * keys: each verifies, and for the deterministic algorithms (RSA PKCS#1 v1.5, Ed25519) our
 * signature is the same bytes.
 */
static void test_bind_signatures(void **state)
{
	static const uint8_t rr[] = { 3,   'w',  'w',  'w', 7, 'e', 'x', 'a', 'm',
				      'p', 'l',  'e',  0,   0, 1,   0,   1,   0,
				      0,   0x0e, 0x10, 0,   4, 192, 0,   2,   1 };
	char path[1024], text[8192], *line, *save = NULL, err[256];
	dns_rr_t *rrsig = malloc(sizeof(*rrsig));
	int n = 0;

	(void)state;
	assert_non_null(rrsig);
	data_path(path, sizeof(path), "www.rrsig");
	read_all(path, text, sizeof(text));
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		uint8_t data[512], sig[KEY_SIG_MAX];
		size_t slen, dlen, siglen;
		char name[64];
		dnssec_key_t *k;
		uint16_t tag;

		assert_int_equal(dns_rr_from_text(rrsig, line, (const uint8_t *)"", 0, NULL, err,
						  sizeof(err)),
				 E_OK);
		assert_int_equal(rrsig->type, 46);
		tag = (uint16_t)(rrsig->rdata[16] << 8 | rrsig->rdata[17]);
		snprintf(name, sizeof(name), "Kexample.+%03u+%05u", rrsig->rdata[2], tag);
		k = read_fixture(name);
		slen = dname_len(rrsig->rdata + 18);
		dlen = 18 + slen;
		memcpy(data, rrsig->rdata, dlen);
		memcpy(data + dlen, rr, sizeof(rr));
		dlen += sizeof(rr);
		assert_int_equal(key_verify(k, data, dlen, rrsig->rdata + 18 + slen,
					    rrsig->rdlen - 18 - slen),
				 E_OK);
		assert_int_equal(key_sign(k, data, dlen, sig, &siglen), E_OK);
		assert_int_equal(siglen, rrsig->rdlen - 18 - slen);
		if (k->algorithm != KEY_ALG_ECDSAP256SHA256) {
			assert_memory_equal(sig, rrsig->rdata + 18 + slen, siglen);
		}
		key_free(k);
		n++;
	}
	assert_int_equal(n, 3);
	free(rrsig);
}

struct sign_job {
	const dnssec_key_t *k;
	int rounds;
	int failures;
};

static void *sign_thread(void *arg)
{
	struct sign_job *j = arg;

	for (int i = 0; i < j->rounds; i++) {
		uint8_t data[64], sig[KEY_SIG_MAX];
		size_t siglen;

		memset(data, i, sizeof(data));
		data[0] = (uint8_t)(uintptr_t)j;
		if (key_sign(j->k, data, sizeof(data), sig, &siglen) != E_OK ||
		    key_verify(j->k, data, sizeof(data), sig, siglen) != E_OK) {
			j->failures++;
		}
	}
	return NULL;
}

static void test_concurrent_sign(void **state)
{
	enum { THREADS = 4 };

	(void)state;
	for (size_t a = 0; a < sizeof(fixtures) / sizeof(fixtures[0]); a++) {
		dnssec_key_t *k = read_fixture(fixtures[a]);
		struct sign_job jobs[THREADS];
		pthread_t t[THREADS];

		for (int i = 0; i < THREADS; i++) {
			jobs[i] = (struct sign_job){ k, k->algorithm == KEY_ALG_RSASHA256 ? 10 : 50,
						     0 };
			assert_int_equal(pthread_create(&t[i], NULL, sign_thread, &jobs[i]), 0);
		}
		for (int i = 0; i < THREADS; i++) {
			assert_int_equal(pthread_join(t[i], NULL), 0);
			assert_int_equal(jobs[i].failures, 0);
		}
		key_free(k);
	}
}

/* ---- bad files ---- */

static void copy_fixture(const char *dir, const char *from, const char *to, const char *ext)
{
	char path[1024], text[8192];

	data_path(path, sizeof(path), from);
	strcat(path, ext);
	read_all(path, text, sizeof(text));
	snprintf(path, sizeof(path), "%s/%s%s", dir, to, ext);
	write_all(path, text);
}

static int read_err(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[1024];
	dnssec_key_t *k = NULL;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ret = key_read(&k, path, err, errlen);
	assert_null(k);
	return ret;
}

static void test_bad_files(void **state)
{
	char dir[64], path[1024], err[256];

	(void)state;
	make_tmpdir(dir, sizeof(dir));

	/* No such key. */
	assert_int_equal(read_err(dir, "Kexample.+013+00001", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "Kexample.+013+00001.key"));

	/* A .key without its .private. */
	copy_fixture(dir, KSK13, "Ka", ".key");
	assert_int_equal(read_err(dir, "Ka", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "Ka.private"));

	/* The private key of another key. */
	copy_fixture(dir, ZSK13T, "Ka", ".private");
	assert_int_equal(read_err(dir, "Ka.key", err, sizeof(err)), E_MALFORMED);
	assert_non_null(strstr(err, "does not match"));

	/* RSA numbers of another key. */
	copy_fixture(dir, ZSK8, "Kb", ".key");
	snprintf(path, sizeof(path), "%s/Kb.private", dir);
	write_all(path, "Private-key-format: v1.3\nAlgorithm: 8 (RSASHA256)\nModulus: AQAB\n");
	assert_int_equal(read_err(dir, "Kb", err, sizeof(err)), E_MALFORMED);
	assert_non_null(strstr(err, "PublicExponent"));

	/* Algorithm mismatch. */
	snprintf(path, sizeof(path), "%s/Ka.private", dir);
	write_all(path, "Private-key-format: v1.3\nAlgorithm: 15 (ED25519)\nPrivateKey: AAAA\n");
	assert_int_equal(read_err(dir, "Ka", err, sizeof(err)), E_MALFORMED);
	assert_non_null(strstr(err, "Algorithm"));

	/* Not a private key file. */
	write_all(path, "hello\n");
	assert_int_equal(read_err(dir, "Ka", err, sizeof(err)), E_MALFORMED);
	assert_non_null(strstr(err, "Private-key-format"));

	/* Bad base64, wrong length. */
	write_all(path, "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n"
			"PrivateKey: !!!!\n");
	assert_int_equal(read_err(dir, "Ka", err, sizeof(err)), E_MALFORMED);
	write_all(path, "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n"
			"PrivateKey: AAAA\n");
	assert_int_equal(read_err(dir, "Ka", err, sizeof(err)), E_MALFORMED);

	/* A bad timing field. */
	write_all(path, "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n"
			"PrivateKey: kFVGMTKtH0WsHqw3bq00m6dEWPdNIQsbTTM2gkDFDJE=\n"
			"Publish: 2024\n");
	assert_int_equal(read_err(dir, "Ka", err, sizeof(err)), E_MALFORMED);
	assert_non_null(strstr(err, "Publish"));

	/* A PKCS#11 key (BIND's Label:) needs a keystore we do not have yet. */
	write_all(path, "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n"
			"Engine: pkcs11\nLabel: pkcs11:object=example\n");
	assert_int_equal(read_err(dir, "Ka", err, sizeof(err)), E_NOTSUP);

	/* The right private key, without timing: the .key comments give it. */
	write_all(path, "Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\n"
			"PrivateKey: kFVGMTKtH0WsHqw3bq00m6dEWPdNIQsbTTM2gkDFDJE=\n");
	{
		dnssec_key_t *k = NULL;

		snprintf(path, sizeof(path), "%s/Ka", dir);
		assert_int_equal(key_read(&k, path, err, sizeof(err)), E_OK);
		assert_int_equal(k->timing.publish, 1795672156);
		key_free(k);
	}

	/* Not a DNSKEY; no record; unsupported algorithm. */
	snprintf(path, sizeof(path), "%s/Kc.key", dir);
	write_all(path, "; only a comment\n");
	assert_int_equal(read_err(dir, "Kc", err, sizeof(err)), E_MALFORMED);
	write_all(path, "example. IN A 192.0.2.1\n");
	assert_int_equal(read_err(dir, "Kc", err, sizeof(err)), E_MALFORMED);
	write_all(path, "example. IN DNSKEY 256 3 14 AAAA\n");
	assert_int_equal(read_err(dir, "Kc", err, sizeof(err)), E_NOTSUP);
	/* A point not on the curve. */
	write_all(path,
		  "example. IN DNSKEY 256 3 13 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
	assert_int_equal(read_err(dir, "Kc", err, sizeof(err)), E_MALFORMED);
	/* Multi-line form with a TTL, as in zone files, is accepted. */
	copy_fixture(dir, ZSK15, "Kd", ".private");
	snprintf(path, sizeof(path), "%s/Kd.key", dir);
	write_all(path, "; comment\n\nexample. 3600 IN DNSKEY 256 3 15 ( ; the key\n"
			"  rh0PgR7iAuG0zx7rsEI/0ZZ/wz7fjx34Z9dpfUJDmmI= )\n");
	{
		dnssec_key_t *k = NULL;

		assert_int_equal(key_read(&k, path, err, sizeof(err)), E_OK);
		assert_int_equal(k->tag, 44160);
		key_free(k);
	}
	rm_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_fixtures),
		cmocka_unit_test(test_read_timing),
		cmocka_unit_test(test_ds_matches_dsfromkey),
		cmocka_unit_test(test_ds_unsupported_digest),
		cmocka_unit_test(test_key_tag),
		cmocka_unit_test(test_roundtrip_bytes),
		cmocka_unit_test(test_write_escaped_name),
		cmocka_unit_test(test_private_mode_and_atomic),
		cmocka_unit_test(test_write_refuses_other_key),
		cmocka_unit_test(test_timing_roundtrip),
		cmocka_unit_test(test_generate_sign_verify),
		cmocka_unit_test(test_generate_unsupported),
		cmocka_unit_test(test_fixture_keys_sign),
		cmocka_unit_test(test_bind_signatures),
		cmocka_unit_test(test_concurrent_sign),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
