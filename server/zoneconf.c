#include "server/zoneconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/duration.h"
#include "dns/err.h"
#include "dns/rrtext.h"
#include "keys/key.h"

static const char *const directives[] = { "transfer", "tsig", "storage", "serial", "dnssec", NULL };

const char *const *zoneconf_directives(void)
{
	return directives;
}

bool zoneconf_directive(const char *name)
{
	for (size_t i = 0; directives[i] != NULL; i++) {
		if (strcmp(directives[i], name) == 0) {
			return true;
		}
	}
	return false;
}

struct zc_ctx {
	zc_fail_fn fail;
	void *ud;
	int errors;
	const char *dir;
};

static void fail(struct zc_ctx *x, const cfg_directive_t *d, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct zc_ctx *x, const cfg_directive_t *d, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->errors++;
	x->fail(x->ud, d->file, d->line, msg);
}

static void path_in(char *out, size_t len, const char *dir, const char *p)
{
	if (p[0] == '/') {
		snprintf(out, len, "%s", p);
	} else {
		snprintf(out, len, "%s/%s", dir, p);
	}
}

/* A duration property in whole seconds. */
static bool seconds(struct zc_ctx *x, const cfg_directive_t *p, uint32_t *out)
{
	uint64_t ms;
	if (p->argc != 1 || duration_parse(p->args[0], &ms) != E_OK || ms / 1000 > UINT32_MAX) {
		/* Go durations have no days: the example said "30d", which is refused. */
		fail(x, p, "%s: needs one duration (like 720h, 12h, 90s)", p->name);
		return false;
	}
	*out = (uint32_t)(ms / 1000);
	return true;
}

/* tsig { secret NAME BASE64 [ALG]; secrets FILE; require all|none|TYPE... } */
static void dir_tsig(struct zc_ctx *x, zc_block_t *zb, const cfg_directive_t *d)
{
	char err[512];
	for (int i = 0; i < d->nprops; i++) {
		const cfg_directive_t *p = &d->props[i];
		if (strcmp(p->name, "secret") == 0) {
			tsig_key_t key;
			if (p->argc < 2 || p->argc > 3) {
				fail(x, p, "tsig: secret NAME BASE64 [ALGORITHM]");
				continue;
			}
			int ret = tsig_key_set(&key, p->args[0], p->argc == 3 ? p->args[2] : NULL,
					       p->args[1]);
			if (ret != E_OK || tsig_keyring_add(&zb->keyring, &key) != E_OK) {
				fail(x, p, "tsig: key '%s' not accepted: %s", p->args[0],
				     ret != E_OK ? err_str(ret) : "given twice");
			}
			tsig_key_wipe(&key);
		} else if (strcmp(p->name, "secrets") == 0) {
			char path[1024];
			if (p->argc != 1) {
				fail(x, p, "tsig: secrets FILE");
				continue;
			}
			path_in(path, sizeof(path), x->dir, p->args[0]);
			err[0] = '\0';
			if (tsig_keyring_load(&zb->keyring, path, err, sizeof(err)) != E_OK) {
				fail(x, p, "tsig: %s", err[0] ? err : "cannot read the key file");
			}
		} else if (strcmp(p->name, "require") == 0) {
			for (int a = 0; a < p->argc; a++) {
				uint16_t t;
				if (strcasecmp(p->args[a], "all") == 0) {
					zb->tsig_require_all = true;
				} else if (strcasecmp(p->args[a], "none") == 0) {
					zb->tsig_require_all = false;
					zb->ntsig_require = 0;
				} else if ((t = dns_type_from_str(p->args[a])) != 0 &&
					   zb->ntsig_require < 16) {
					zb->tsig_require[zb->ntsig_require++] = t;
				} else {
					fail(x, p, "tsig: require: unknown type '%s'", p->args[a]);
				}
			}
		} else {
			fail(x, p, "tsig: unknown property '%s'", p->name);
		}
	}
}

static bool zones_cover(const cfg_directive_t *d, int first, const uint8_t *apex)
{
	if (d->argc <= first) {
		return true;
	}
	for (int i = first; i < d->argc; i++) {
		uint8_t z[DNAME_MAX];
		if (dname_from_str(z, d->args[i], NULL) > 0 && dname_equal(z, apex)) {
			return true;
		}
	}
	return false;
}

static void check_zone_args(struct zc_ctx *x, const cfg_directive_t *d)
{
	for (int i = 0; i < d->argc; i++) {
		uint8_t z[DNAME_MAX];
		if (dname_from_str(z, d->args[i], NULL) < 0) {
			fail(x, d, "%s: '%s' is not a zone name", d->name, d->args[i]);
		}
	}
}

/* transfer [ZONES...] { to ADDR[:PORT]...|*; key NAME... } — keys come from "tsig". */
static void dir_transfer(struct zc_ctx *x, zc_block_t *zb, zc_transfer_t *t,
			 const cfg_directive_t *d)
{
	t->dir = d;
	check_zone_args(x, d);
	for (int i = 0; i < d->nprops; i++) {
		const cfg_directive_t *p = &d->props[i];
		if (strcmp(p->name, "to") == 0) {
			if (p->argc == 0) {
				fail(x, p, "transfer: to needs addresses or *");
			}
			for (int a = 0; a < p->argc; a++) {
				if (strcmp(p->args[a], "*") == 0) {
					t->any = true;
				} else if (t->nto >= ZC_MAX_TARGETS ||
					   xfr_notify_target_parse(&t->to[t->nto], p->args[a],
								   53) != E_OK) {
					fail(x, p, "transfer: '%s' is not an address[:port]",
					     p->args[a]);
				} else {
					t->nto++;
				}
			}
		} else if (strcmp(p->name, "key") == 0) {
			for (int a = 0; a < p->argc; a++) {
				uint8_t name[DNAME_MAX];
				const tsig_key_t *k = NULL;
				if (dname_from_str(name, p->args[a], NULL) > 0) {
					dname_lower(name);
					k = tsig_keyring_find(&zb->keyring, name);
				}
				if (k == NULL || t->nkeys >= ZC_MAX_KEYS) {
					fail(x, p, "transfer: key '%s' is not defined by tsig",
					     p->args[a]);
					continue;
				}
				t->keys[t->nkeys++] = k;
			}
		} else {
			fail(x, p, "transfer: unknown property '%s'", p->name);
		}
	}
	if (!t->any && t->nto == 0) {
		fail(x, d, "transfer: needs 'to ADDR...' or 'to *'");
	}
}

static bool algorithm(const char *s, uint8_t *alg)
{
	if (strcasecmp(s, "ecdsap256sha256") == 0 || strcmp(s, "13") == 0) {
		*alg = KEY_ALG_ECDSAP256SHA256;
	} else if (strcasecmp(s, "ed25519") == 0 || strcmp(s, "15") == 0) {
		*alg = KEY_ALG_ED25519;
	} else if (strcasecmp(s, "rsasha256") == 0 || strcmp(s, "8") == 0) {
		*alg = KEY_ALG_RSASHA256;
	} else {
		return false;
	}
	return true;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

static void dnssec_prop(struct zc_ctx *x, zc_dnssec_t *s, const cfg_directive_t *p)
{
	uint32_t v;
	if (strcmp(p->name, "keys") == 0 && p->argc == 1) {
		path_in(s->keys_dir, sizeof(s->keys_dir), x->dir, p->args[0]);
	} else if (strcmp(p->name, "key") == 0) {
		if (p->argc < 2 || strcmp(p->args[0], "file") != 0) {
			fail(x, p, "dnssec: key file KEYBASE...");
			return;
		}
		for (int a = 1; a < p->argc; a++) {
			char path[1024];
			char **f =
				realloc(s->key_files, (size_t)(s->nkey_files + 1) * sizeof(char *));
			if (f == NULL) {
				x->errors++;
				return;
			}
			s->key_files = f;
			path_in(path, sizeof(path), x->dir, p->args[a]);
			s->key_files[s->nkey_files++] = strdup(path);
		}
	} else if (strcmp(p->name, "algorithm") == 0 && p->argc >= 1 && p->argc <= 2) {
		if (!algorithm(p->args[0], &s->policy.algorithm)) {
			fail(x, p,
			     "dnssec: algorithm '%s': use ecdsap256sha256, ed25519 or "
			     "rsasha256",
			     p->args[0]);
		}
		if (p->argc == 2) {
			long bits = strtol(p->args[1], NULL, 10);
			if (s->policy.algorithm != KEY_ALG_RSASHA256 || bits < 1024 ||
			    bits > 4096) {
				fail(x, p, "dnssec: key size '%s' (RSA only, 1024-4096)",
				     p->args[1]);
			}
			s->policy.bits = (unsigned)bits;
		}
	} else if (strcmp(p->name, "nsec") == 0 && p->argc == 0) {
		s->sign.nsec3 = false;
	} else if (strcmp(p->name, "nsec3") == 0 && p->argc <= 3) {
		s->sign.nsec3 = true;
		if (p->argc >= 1) {
			char *end;
			long it = strtol(p->args[0], &end, 10);
			if (*end != '\0' || it < 0 || it > 500) {
				fail(x, p, "dnssec: nsec3 iterations '%s' (0-500; RFC 9276: 0)",
				     p->args[0]);
			}
			s->sign.iterations = (uint16_t)it;
		}
		if (p->argc >= 2 && strcmp(p->args[1], "-") != 0) {
			size_t n = strlen(p->args[1]);
			s->sign.salt_len = 0;
			for (size_t i = 0; i + 1 < n + 1 && i / 2 < sizeof(s->sign.salt); i += 2) {
				int hi = hexval(p->args[1][i]),
				    lo = i + 1 < n ? hexval(p->args[1][i + 1]) : -1;
				if (hi < 0 || lo < 0) {
					fail(x, p, "dnssec: nsec3 salt '%s' is not hex (or '-')",
					     p->args[1]);
					break;
				}
				s->sign.salt[s->sign.salt_len++] = (uint8_t)(hi << 4 | lo);
			}
		}
		if (p->argc == 3) {
			if (strcmp(p->args[2], "optout") == 0) {
				s->sign.opt_out = true;
			} else {
				fail(x, p, "dnssec: nsec3 ITERATIONS SALT [optout]");
			}
		}
	} else if (strcmp(p->name, "signature_lifetime") == 0 && seconds(x, p, &v)) {
		s->sign.sig_lifetime = v;
		s->policy.signature_lifetime = v;
	} else if (strcmp(p->name, "signature_refresh") == 0 && seconds(x, p, &v)) {
		s->sign.sig_refresh = v;
		s->policy.signature_refresh = v;
	} else if (strcmp(p->name, "zsk_lifetime") == 0 && seconds(x, p, &v)) {
		s->policy.zsk_lifetime = v;
		s->policy.split = true;
	} else if (strcmp(p->name, "ksk_lifetime") == 0 && seconds(x, p, &v)) {
		s->policy.ksk_lifetime = v;
	} else if (strcmp(p->name, "propagation_delay") == 0 && seconds(x, p, &v)) {
		s->policy.propagation_delay = v;
	} else if (strcmp(p->name, "dnskey_ttl") == 0 && seconds(x, p, &v)) {
		s->policy.dnskey_ttl = v;
		s->sign.dnskey_ttl = v;
		s->dnskey_ttl_set = true;
	} else if (strcmp(p->name, "ds_ttl") == 0 && seconds(x, p, &v)) {
		s->policy.ds_ttl = v;
	} else if (strcmp(p->name, "split") == 0 && p->argc == 0) {
		s->policy.split = true;
	} else if (strcmp(p->name, "parent") == 0 && p->argc > 0) {
		for (int a = 0; a < p->argc; a++) {
			if (s->nparents >= ZC_MAX_TARGETS ||
			    xfr_notify_target_parse(&s->parents[s->nparents], p->args[a], 53) !=
				    E_OK) {
				fail(x, p, "dnssec: parent '%s' is not an address[:port]",
				     p->args[a]);
				continue;
			}
			s->nparents++;
		}
	} else if (strcmp(p->name, "cache_capacity") == 0 && p->argc == 1) {
		/* CoreDNS's signature cache: Signet signs ahead, there is nothing to size. */
	} else if (strcmp(p->name, "signature_lifetime") != 0 &&
		   strcmp(p->name, "signature_refresh") != 0 &&
		   strcmp(p->name, "zsk_lifetime") != 0 && strcmp(p->name, "ksk_lifetime") != 0 &&
		   strcmp(p->name, "propagation_delay") != 0 &&
		   strcmp(p->name, "dnskey_ttl") != 0 && strcmp(p->name, "ds_ttl") != 0) {
		fail(x, p, "dnssec: unknown or malformed property '%s'", p->name);
	}
}

static void dir_dnssec(struct zc_ctx *x, zc_block_t *zb, zc_dnssec_t *s, const cfg_directive_t *d)
{
	s->dir = d;
	dnssec_conf_init(&s->sign);
	key_policy_init(&s->policy);
	check_zone_args(x, d);
	for (int i = 0; i < d->nprops; i++) {
		dnssec_prop(x, s, &d->props[i]);
	}
	if (s->keys_dir[0] == '\0' && s->nkey_files == 0) {
		snprintf(s->keys_dir, sizeof(s->keys_dir), "%s/keys", zb->storage);
	}
	if (s->keys_dir[0] != '\0' && s->nkey_files > 0) {
		fail(x, d,
		     "dnssec: 'keys DIR' (managed) and 'key file' (fixed) exclude each other");
	}
	if (s->sign.sig_refresh >= s->sign.sig_lifetime) {
		fail(x, d, "dnssec: signature_refresh must be shorter than signature_lifetime");
	}
}

/* A size in octets: digits, then optionally k, M or G (powers of 1024). */
static bool size_parse(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno != 0 || *s == '-') {
		return false;
	}
	unsigned shift = 0;
	if (*end == 'k' || *end == 'K') {
		shift = 10;
	} else if (*end == 'm' || *end == 'M') {
		shift = 20;
	} else if (*end == 'g' || *end == 'G') {
		shift = 30;
	}
	end += shift != 0;
	if (*end != '\0' || v > (UINT64_MAX >> shift)) {
		return false;
	}
	*out = (uint64_t)v << shift;
	return true;
}

/* storage DIR [{ journal-max-depth N; journal-max-usage SIZE }] (Knot's names; 0: none). */
static void dir_storage(struct zc_ctx *x, zc_block_t *zb, const cfg_directive_t *d, const char *dir)
{
	if (d->argc != 1) {
		fail(x, d, "storage: needs one folder");
		return;
	}
	path_in(zb->storage, sizeof(zb->storage), dir, d->args[0]);
	for (int i = 0; i < d->nprops; i++) {
		const cfg_directive_t *p = &d->props[i];
		uint64_t v;
		if (strcmp(p->name, "journal-max-depth") == 0) {
			char *end;
			unsigned long n = p->argc == 1 ? strtoul(p->args[0], &end, 10) : 0;
			if (p->argc != 1 || *p->args[0] == '-' || *end != '\0' || n > UINT32_MAX) {
				fail(x, p,
				     "journal-max-depth: needs a number of versions (0: no limit)");
			} else {
				zb->journal.max_versions = (uint32_t)n;
			}
		} else if (strcmp(p->name, "journal-max-usage") == 0) {
			if (p->argc != 1 || !size_parse(p->args[0], &v)) {
				fail(x, p,
				     "journal-max-usage: needs a size such as 64M (0: no limit)");
			} else {
				zb->journal.max_bytes = v;
			}
		} else {
			fail(x, p,
			     "storage: unknown property '%s' (journal-max-depth, "
			     "journal-max-usage)",
			     p->name);
		}
	}
}

int zoneconf_block(zc_block_t *zb, const cfg_block_t *blk, const char *dir, zc_fail_fn fail_fn,
		   void *ud)
{
	struct zc_ctx x = { .fail = fail_fn, .ud = ud, .dir = dir };
	tsig_keyring_init(&zb->keyring);
	snprintf(zb->storage, sizeof(zb->storage), "%s/var", dir);
	zb->journal = XFR_JOURNAL_LIMITS_DEFAULT;
	/* tsig and storage first: transfer and dnssec refer to them. */
	for (int i = 0; i < blk->ndirs; i++) {
		const cfg_directive_t *d = &blk->dirs[i];
		if (strcmp(d->name, "tsig") == 0) {
			dir_tsig(&x, zb, d);
		} else if (strcmp(d->name, "storage") == 0) {
			dir_storage(&x, zb, d, dir);
		} else if (strcmp(d->name, "serial") == 0) {
			static const char *const names[] = { "auto", "keep", "increment",
							     "unixtime", "dateserial" };
			bool ok = false;
			for (int k = 0; d->argc == 1 && k < 5; k++) {
				if (strcmp(d->args[0], names[k]) == 0) {
					zb->serial = (enum serial_policy)k;
					ok = true;
				}
			}
			if (!ok) {
				fail(&x, d, "serial: keep, increment, unixtime or dateserial");
			}
		} else if (strcmp(d->name, "transfer") == 0 || strcmp(d->name, "dnssec") == 0) {
			bool t = d->name[0] == 't';
			size_t n = (size_t)(t ? zb->ntransfers : zb->ndnssecs) + 1;
			void *p = t ? realloc(zb->transfers, n * sizeof(zc_transfer_t))
				    : realloc(zb->dnssecs, n * sizeof(zc_dnssec_t));
			if (p == NULL) {
				x.errors++;
				continue;
			}
			if (t) {
				zb->transfers = p;
				memset(&zb->transfers[n - 1], 0, sizeof(zc_transfer_t));
				zb->ntransfers++;
			} else {
				zb->dnssecs = p;
				memset(&zb->dnssecs[n - 1], 0, sizeof(zc_dnssec_t));
				zb->ndnssecs++;
			}
		}
	}
	int ti = 0, di = 0;
	for (int i = 0; i < blk->ndirs; i++) {
		const cfg_directive_t *d = &blk->dirs[i];
		if (strcmp(d->name, "transfer") == 0 && zb->transfers != NULL) {
			dir_transfer(&x, zb, &zb->transfers[ti++], d);
		} else if (strcmp(d->name, "dnssec") == 0 && zb->dnssecs != NULL) {
			dir_dnssec(&x, zb, &zb->dnssecs[di++], d);
		}
	}
	return x.errors;
}

const zc_transfer_t *zoneconf_transfer(const zc_block_t *zb, const uint8_t *apex)
{
	for (int i = 0; zb != NULL && i < zb->ntransfers; i++) {
		if (zones_cover(zb->transfers[i].dir, 0, apex)) {
			return &zb->transfers[i];
		}
	}
	return NULL;
}

const zc_dnssec_t *zoneconf_dnssec(const zc_block_t *zb, const uint8_t *apex)
{
	for (int i = 0; zb != NULL && i < zb->ndnssecs; i++) {
		if (zones_cover(zb->dnssecs[i].dir, 0, apex)) {
			return &zb->dnssecs[i];
		}
	}
	return NULL;
}

bool zoneconf_transfer_allowed(const zc_transfer_t *t, const struct sockaddr *addr)
{
	if (t->any) {
		return true;
	}
	for (int i = 0; i < t->nto; i++) {
		const struct sockaddr *to = (const struct sockaddr *)&t->to[i].addr;
		if (to->sa_family != addr->sa_family) {
			continue;
		}
		if (addr->sa_family == AF_INET &&
		    ((const struct sockaddr_in *)to)->sin_addr.s_addr ==
			    ((const struct sockaddr_in *)addr)->sin_addr.s_addr) {
			return true;
		}
		if (addr->sa_family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)to)->sin6_addr,
			   &((const struct sockaddr_in6 *)addr)->sin6_addr, 16) == 0) {
			return true;
		}
	}
	return false;
}

void zoneconf_block_free(zc_block_t *zb)
{
	for (int i = 0; i < zb->ndnssecs; i++) {
		for (int k = 0; k < zb->dnssecs[i].nkey_files; k++) {
			free(zb->dnssecs[i].key_files[k]);
		}
		free(zb->dnssecs[i].key_files);
	}
	free(zb->dnssecs);
	free(zb->transfers);
	tsig_keyring_deinit(&zb->keyring);
	memset(zb, 0, sizeof(*zb));
}
