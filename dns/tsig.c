/*  Signet: TSIG (RFC 8945), see tsig.h. */
#include "dns/tsig.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "dns/base64.h"
#include "dns/err.h"
#include "dns/rrtype.h"

#define RR_FIXED_LEN 10
#define TOKEN_MAX    1024

/* ---- algorithms and HMAC ---- */

static const struct {
	const char *name;
	const uint8_t *wire; /* the algorithm name in wire form */
	uint8_t wire_len;
	const struct nettle_hash *hash;
} algs[] = {
	[TSIG_HMAC_SHA1] = { "hmac-sha1", (const uint8_t *)"\x09hmac-sha1", 11, &nettle_sha1 },
	[TSIG_HMAC_SHA224] = { "hmac-sha224", (const uint8_t *)"\x0bhmac-sha224", 13,
			       &nettle_sha224 },
	[TSIG_HMAC_SHA256] = { "hmac-sha256", (const uint8_t *)"\x0bhmac-sha256", 13,
			       &nettle_sha256 },
	[TSIG_HMAC_SHA384] = { "hmac-sha384", (const uint8_t *)"\x0bhmac-sha384", 13,
			       &nettle_sha384 },
	[TSIG_HMAC_SHA512] = { "hmac-sha512", (const uint8_t *)"\x0bhmac-sha512", 13,
			       &nettle_sha512 },
};

static bool alg_valid(enum tsig_alg alg)
{
	return alg >= TSIG_HMAC_SHA1 && alg <= TSIG_HMAC_SHA512;
}

union hash_state {
	struct sha1_ctx sha1;
	struct sha256_ctx sha256;
	struct sha512_ctx sha512;
};

typedef struct hmac {
	const struct nettle_hash *hash;
	union hash_state outer, inner, state;
} hmac_t;

static void hmac_start(hmac_t *h, const tsig_key_t *key)
{
	h->hash = algs[key->alg].hash;
	hmac_set_key(&h->outer, &h->inner, &h->state, h->hash, key->secret_len, key->secret);
}

static void hmac_add(hmac_t *h, const void *data, size_t len)
{
	hmac_update(&h->state, h->hash, len, data);
}

static void hmac_add16(hmac_t *h, uint16_t v)
{
	uint8_t b[2];

	dns_put16(b, v);
	hmac_add(h, b, 2);
}

static void put48(uint8_t *p, uint64_t v)
{
	dns_put16(p, (uint16_t)(v >> 32));
	dns_put32(p + 2, (uint32_t)v);
}

static uint64_t get48(const uint8_t *p)
{
	return ((uint64_t)dns_u16(p) << 32) | dns_u32(p + 2);
}

/* Produce the MAC and erase the keyed state. */
static size_t hmac_end(hmac_t *h, uint8_t *mac)
{
	size_t n = h->hash->digest_size;

	hmac_digest(&h->outer, &h->inner, &h->state, h->hash, n, mac);
	explicit_bzero(h, sizeof(*h));
	return n;
}

int tsig_alg_from_str(const char *str, enum tsig_alg *out)
{
	size_t len = strlen(str);

	if (len > 0 && str[len - 1] == '.') {
		len--;
	}
	for (int a = TSIG_HMAC_SHA1; a <= TSIG_HMAC_SHA512; a++) {
		if (strlen(algs[a].name) == len && strncasecmp(algs[a].name, str, len) == 0) {
			*out = (enum tsig_alg)a;
			return E_OK;
		}
	}
	if (strncasecmp(str, "hmac-md5", 8) == 0 || strncasecmp(str, "gss-tsig", 8) == 0) {
		return E_NOTSUP;
	}
	return -EINVAL;
}

const char *tsig_alg_str(enum tsig_alg alg)
{
	return alg_valid(alg) ? algs[alg].name : "unknown";
}

size_t tsig_alg_mac_len(enum tsig_alg alg)
{
	return alg_valid(alg) ? algs[alg].hash->digest_size : 0;
}

/* The algorithm whose wire-form name is \a wire (lower case), or 0. */
static enum tsig_alg alg_from_wire(const uint8_t *wire)
{
	size_t len = dname_len(wire);

	for (int a = TSIG_HMAC_SHA1; a <= TSIG_HMAC_SHA512; a++) {
		if (algs[a].wire_len == len && memcmp(algs[a].wire, wire, len) == 0) {
			return (enum tsig_alg)a;
		}
	}
	return 0;
}

/* ---- keys ---- */

static int secret_decode(tsig_key_t *key, const char *b64)
{
	char clean[TOKEN_MAX];
	uint8_t out[BASE64_DECODED_MAX(TOKEN_MAX)];
	size_t n = 0;
	int outlen, ret = -EINVAL;

	for (const char *p = b64; *p != '\0'; p++) {
		if (isspace((unsigned char)*p)) {
			continue;
		}
		if (n == sizeof(clean)) {
			goto out;
		}
		clean[n++] = *p;
	}
	outlen = n > 0 ? base64_decode(out, sizeof(out), clean, n) : E_MALFORMED;
	if (outlen <= 0 || outlen > TSIG_SECRET_MAX) {
		goto out;
	}
	memcpy(key->secret, out, (size_t)outlen);
	key->secret_len = (uint16_t)outlen;
	ret = E_OK;
out:
	explicit_bzero(clean, sizeof(clean));
	explicit_bzero(out, sizeof(out));
	return ret;
}

int tsig_key_set(tsig_key_t *key, const char *name, const char *alg, const char *secret)
{
	int ret;

	memset(key, 0, sizeof(*key));
	ret = dname_from_str(key->name, name, NULL);
	if (ret < 0) {
		return ret;
	}
	key->name_len = (uint8_t)ret;
	dname_lower(key->name);
	ret = tsig_alg_from_str(alg != NULL ? alg : "hmac-sha256", &key->alg);
	if (ret == E_OK) {
		ret = secret_decode(key, secret);
	}
	if (ret != E_OK) {
		tsig_key_wipe(key);
	}
	return ret;
}

void tsig_key_wipe(tsig_key_t *key)
{
	if (key != NULL) {
		explicit_bzero(key, sizeof(*key));
	}
}

size_t tsig_rr_size(const tsig_key_t *key)
{
	/* owner, fixed part, algorithm, time 6, fudge 2, MAC size 2, MAC, original ID 2,
	 * error 2, other length 2, other data (BADTIME) */
	return (size_t)key->name_len + RR_FIXED_LEN + algs[key->alg].wire_len + 6 + 2 + 2 +
	       tsig_alg_mac_len(key->alg) + 2 + 2 + 2 + TSIG_OTHER_MAX;
}

void tsig_keyring_init(tsig_keyring_t *kr)
{
	memset(kr, 0, sizeof(*kr));
}

void tsig_keyring_deinit(tsig_keyring_t *kr)
{
	if (kr->keys != NULL) {
		explicit_bzero(kr->keys, kr->cap * sizeof(tsig_key_t));
	}
	free(kr->keys);
	memset(kr, 0, sizeof(*kr));
}

int tsig_keyring_add(tsig_keyring_t *kr, const tsig_key_t *key)
{
	if (tsig_keyring_find(kr, key->name) != NULL) {
		return E_EXISTS;
	}
	if (kr->count == kr->cap) {
		size_t cap = kr->cap ? kr->cap * 2 : 4;
		tsig_key_t *keys = calloc(cap, sizeof(*keys));

		if (keys == NULL) {
			return -ENOMEM;
		}
		if (kr->keys != NULL) {
			memcpy(keys, kr->keys, kr->count * sizeof(*keys));
			explicit_bzero(kr->keys, kr->cap * sizeof(*keys));
			free(kr->keys);
		}
		kr->keys = keys;
		kr->cap = cap;
	}
	kr->keys[kr->count++] = *key;
	return E_OK;
}

const tsig_key_t *tsig_keyring_find(const tsig_keyring_t *kr, const uint8_t *name)
{
	for (size_t i = 0; i < kr->count; i++) {
		if (dname_equal(kr->keys[i].name, name)) {
			return &kr->keys[i];
		}
	}
	return NULL;
}

/* ---- BIND key clauses ---- */

enum tok { TOK_EOF, TOK_WORD, TOK_STRING, TOK_LBRACE, TOK_RBRACE, TOK_SEMI, TOK_ERR };

typedef struct lexer {
	const char *p, *end;
	const char *where;
	unsigned line;
	char *err;
	size_t errlen;
	char tok[TOKEN_MAX];
} lexer_t;

static void __attribute__((format(printf, 2, 3))) lex_error(lexer_t *l, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (l->err == NULL || l->errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%u: %s", l->where, l->line, msg);
}

/* Skip white space and the three kinds of comments. */
static bool lex_skip(lexer_t *l)
{
	while (l->p < l->end) {
		char c = *l->p;

		if (c == '\n') {
			l->line++;
			l->p++;
		} else if (isspace((unsigned char)c)) {
			l->p++;
		} else if (c == '#' || (c == '/' && l->p + 1 < l->end && l->p[1] == '/')) {
			while (l->p < l->end && *l->p != '\n') {
				l->p++;
			}
		} else if (c == '/' && l->p + 1 < l->end && l->p[1] == '*') {
			l->p += 2;
			while (l->p + 1 < l->end && !(l->p[0] == '*' && l->p[1] == '/')) {
				l->line += *l->p == '\n';
				l->p++;
			}
			if (l->p + 1 >= l->end) {
				lex_error(l, "unterminated comment");
				return false;
			}
			l->p += 2;
		} else {
			break;
		}
	}
	return true;
}

static enum tok lex_next(lexer_t *l)
{
	size_t n = 0;

	l->tok[0] = '\0';
	if (!lex_skip(l)) {
		return TOK_ERR;
	}
	if (l->p == l->end) {
		return TOK_EOF;
	}
	switch (*l->p) {
	case '{':
		l->p++;
		return TOK_LBRACE;
	case '}':
		l->p++;
		return TOK_RBRACE;
	case ';':
		l->p++;
		return TOK_SEMI;
	case '"':
		l->p++;
		while (l->p < l->end && *l->p != '"') {
			char c = *l->p++;

			if (c == '\\' && l->p < l->end) {
				c = *l->p++;
			}
			if (c == '\n') {
				l->line++;
			}
			if (n + 1 >= sizeof(l->tok)) {
				lex_error(l, "string too long");
				return TOK_ERR;
			}
			l->tok[n++] = c;
		}
		if (l->p == l->end) {
			lex_error(l, "unterminated string");
			return TOK_ERR;
		}
		l->p++;
		l->tok[n] = '\0';
		return TOK_STRING;
	default:
		break;
	}
	while (l->p < l->end && !isspace((unsigned char)*l->p) && strchr("{};\"#", *l->p) == NULL &&
	       !(l->p[0] == '/' && l->p + 1 < l->end && (l->p[1] == '/' || l->p[1] == '*'))) {
		if (n + 1 >= sizeof(l->tok)) {
			lex_error(l, "word too long");
			return TOK_ERR;
		}
		l->tok[n++] = *l->p++;
	}
	l->tok[n] = '\0';
	return TOK_WORD;
}

/* Copy a token, truncated to \a cap - 1 octets. */
static void tok_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* "STATEMENT VALUE ;" inside a key clause. */
static int key_stmt(lexer_t *l, const char *keyname, char *alg, size_t alglen, char *secret,
		    size_t secretlen)
{
	char stmt[32];
	enum tok t;

	tok_copy(stmt, sizeof(stmt), l->tok);
	t = lex_next(l);
	if (t != TOK_WORD && t != TOK_STRING) {
		if (t != TOK_ERR) {
			lex_error(l, "key \"%s\": '%s' needs a value", keyname, stmt);
		}
		return E_CFG_SYNTAX;
	}
	if (strcasecmp(stmt, "algorithm") == 0) {
		tok_copy(alg, alglen, l->tok);
	} else if (strcasecmp(stmt, "secret") == 0) {
		tok_copy(secret, secretlen, l->tok);
	} else {
		lex_error(l, "key \"%s\": unknown option '%s'", keyname, stmt);
		return E_CFG_SYNTAX;
	}
	if (lex_next(l) != TOK_SEMI) {
		lex_error(l, "key \"%s\": missing ';' after %s", keyname, stmt);
		return E_CFG_SYNTAX;
	}
	return E_OK;
}

/* One clause after the word "key". */
static int key_clause(tsig_keyring_t *kr, lexer_t *l)
{
	char name[TOKEN_MAX], alg[64] = "", secret[TOKEN_MAX] = "";
	unsigned line = l->line, cur;
	tsig_key_t key;
	enum tok t;
	int ret;

	t = lex_next(l);
	if ((t != TOK_WORD && t != TOK_STRING) || l->tok[0] == '\0') {
		lex_error(l, "'key' needs a name");
		return E_CFG_SYNTAX;
	}
	tok_copy(name, sizeof(name), l->tok);
	if (lex_next(l) != TOK_LBRACE) {
		lex_error(l, "key \"%s\": expected '{'", name);
		return E_CFG_SYNTAX;
	}
	while ((t = lex_next(l)) == TOK_WORD) {
		ret = key_stmt(l, name, alg, sizeof(alg), secret, sizeof(secret));
		if (ret != E_OK) {
			goto out;
		}
	}
	ret = E_CFG_SYNTAX;
	if (t != TOK_RBRACE) {
		if (t != TOK_ERR) {
			lex_error(l, "key \"%s\": expected an option or '}'", name);
		}
		goto out;
	}
	if (lex_next(l) != TOK_SEMI) {
		lex_error(l, "key \"%s\": missing ';' after '}'", name);
		goto out;
	}
	ret = E_CFG_SEMANTIC;
	cur = l->line;
	l->line = line; /* report problems of the clause at its start */
	if (alg[0] == '\0' || secret[0] == '\0') {
		lex_error(l, "key \"%s\" has no %s", name, alg[0] == '\0' ? "algorithm" : "secret");
		goto out;
	}
	ret = tsig_key_set(&key, name, alg, secret);
	if (ret == E_NOTSUP || ret == -EINVAL) {
		bool alg_bad = tsig_alg_from_str(alg, &key.alg) != E_OK;

		lex_error(l, "key \"%s\": %s", name,
			  alg_bad ? "algorithm not supported (hmac-sha1/224/256/384/512)"
				  : "secret is not base64 (or is empty or too long)");
		ret = E_CFG_SEMANTIC;
	} else if (ret != E_OK) {
		lex_error(l, "key \"%s\": bad key name", name);
		ret = E_CFG_SEMANTIC;
	}
	if (ret == E_OK) {
		ret = tsig_keyring_add(kr, &key);
		if (ret == E_EXISTS) {
			lex_error(l, "key \"%s\" defined twice", name);
			ret = E_CFG_SEMANTIC;
		}
	}
	l->line = cur;
out:
	tsig_key_wipe(&key);
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(l->tok, sizeof(l->tok));
	return ret;
}

int tsig_keyring_parse(tsig_keyring_t *kr, const char *text, size_t len, const char *where,
		       char *err, size_t errlen)
{
	lexer_t l = { .p = text, .end = text + len, .where = where ? where : "-", .line = 1 };
	int ret = E_OK;
	enum tok t;

	l.err = err;
	l.errlen = errlen;
	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	while (ret == E_OK && (t = lex_next(&l)) != TOK_EOF) {
		if (t == TOK_WORD && strcasecmp(l.tok, "key") == 0) {
			ret = key_clause(kr, &l);
		} else {
			if (t != TOK_ERR) {
				lex_error(&l, "expected a 'key' clause");
			}
			ret = E_CFG_SYNTAX;
		}
	}
	explicit_bzero(l.tok, sizeof(l.tok));
	return ret;
}

int tsig_keyring_load(tsig_keyring_t *kr, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0, cap = 0;
	int ret;

	if (f == NULL) {
		ret = -errno;
		if (err != NULL && errlen > 0) {
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		}
		return ret;
	}
	for (;;) {
		if (len == cap) {
			char *t;

			cap = cap ? cap * 2 : 4096;
			t = malloc(cap);
			if (t == NULL) {
				ret = -ENOMEM;
				goto out;
			}
			if (text != NULL) {
				memcpy(t, text, len);
				explicit_bzero(text, len);
				free(text);
			}
			text = t;
		}
		size_t n = fread(text + len, 1, cap - len, f);

		len += n;
		if (n == 0) {
			break;
		}
	}
	if (ferror(f)) {
		ret = -EIO;
		goto out;
	}
	ret = tsig_keyring_parse(kr, text, len, path, err, errlen);
out:
	if (text != NULL) {
		explicit_bzero(text, cap);
	}
	free(text);
	fclose(f);
	return ret;
}

/* ---- the TSIG RR ---- */

typedef struct tsig_rr {
	uint8_t name[DNAME_MAX]; /* lower case */
	uint8_t alg[DNAME_MAX];  /* lower case */
	uint64_t time;
	uint16_t fudge;
	uint16_t mac_len;
	const uint8_t *mac;
	uint16_t orig_id;
	uint16_t error;
	uint16_t other_len;
	const uint8_t *other;
} tsig_rr_t;

/* Parse the TSIG RR at \a pos, which must end the message. */
static int tsig_parse(const uint8_t *wire, size_t len, size_t pos, tsig_rr_t *t)
{
	size_t rdend;
	uint16_t rdlen;

	if (dname_unpack(wire, len, &pos, t->name) < 0 || len - pos < RR_FIXED_LEN) {
		return E_MALFORMED;
	}
	if (dns_u16(wire + pos) != RR_TSIG || dns_u16(wire + pos + 2) != CLASS_ANY) {
		return E_MALFORMED;
	}
	rdlen = dns_u16(wire + pos + 8);
	pos += RR_FIXED_LEN;
	if (len - pos != rdlen) {
		return E_MALFORMED;
	}
	rdend = pos + rdlen;
	if (dname_unpack(wire, rdend, &pos, t->alg) < 0 || rdend - pos < 10) {
		return E_MALFORMED;
	}
	dname_lower(t->name);
	dname_lower(t->alg);
	t->time = get48(wire + pos);
	t->fudge = dns_u16(wire + pos + 6);
	t->mac_len = dns_u16(wire + pos + 8);
	pos += 10;
	if (rdend - pos < (size_t)t->mac_len + 6) {
		return E_MALFORMED;
	}
	t->mac = wire + pos;
	pos += t->mac_len;
	t->orig_id = dns_u16(wire + pos);
	t->error = dns_u16(wire + pos + 2);
	t->other_len = dns_u16(wire + pos + 4);
	pos += 6;
	if (rdend - pos != t->other_len) {
		return E_MALFORMED;
	}
	t->other = wire + pos;
	return E_OK;
}

/* Skip one name (compressed or not) without reading it. */
static int name_skip(const uint8_t *wire, size_t len, size_t *pos)
{
	while (*pos < len) {
		uint8_t c = wire[*pos];

		if ((c & 0xC0) == 0xC0) {
			if (len - *pos < 2) {
				return E_MALFORMED;
			}
			*pos += 2;
			return E_OK;
		}
		if (c & 0xC0) {
			return E_MALFORMED;
		}
		*pos += 1u + c;
		if (c == 0) {
			return E_OK;
		}
	}
	return E_MALFORMED;
}

int tsig_find(const uint8_t *wire, size_t len, size_t *pos)
{
	uint32_t qd, total;
	size_t p = DNS_HDR_LEN, last;

	if (len < DNS_HDR_LEN) {
		return E_MALFORMED;
	}
	qd = dns_u16(wire + 4);
	total = (uint32_t)dns_u16(wire + 6) + dns_u16(wire + 8) + dns_u16(wire + 10);
	if (dns_u16(wire + 10) == 0) {
		return -ENOENT;
	}
	for (uint32_t i = 0; i < qd; i++) {
		if (name_skip(wire, len, &p) != E_OK || len - p < 4) {
			return E_MALFORMED;
		}
		p += 4;
	}
	last = p;
	for (uint32_t i = 0; i < total; i++) {
		last = p;
		if (name_skip(wire, len, &p) != E_OK || len - p < RR_FIXED_LEN ||
		    len - p - RR_FIXED_LEN < dns_u16(wire + p + 8)) {
			return E_MALFORMED;
		}
		p += RR_FIXED_LEN + (size_t)dns_u16(wire + p + 8);
	}
	if (p != len) {
		return E_MALFORMED;
	}
	p = last;
	if (name_skip(wire, len, &p) != E_OK || dns_u16(wire + p) != RR_TSIG) {
		return -ENOENT;
	}
	*pos = last;
	return E_OK;
}

/* The message as MACed: header with the original ID and ARCOUNT less the TSIG. */
static void hmac_message(hmac_t *h, const uint8_t *wire, size_t tsig_pos, uint16_t orig_id)
{
	uint8_t hdr[DNS_HDR_LEN];

	memcpy(hdr, wire, DNS_HDR_LEN);
	dns_put16(hdr, orig_id);
	dns_put16(hdr + 10, (uint16_t)(dns_u16(wire + 10) - 1));
	hmac_add(h, hdr, DNS_HDR_LEN);
	hmac_add(h, wire + DNS_HDR_LEN, tsig_pos - DNS_HDR_LEN);
}

/* TSIG variables (RFC 8945 §4.3.3): all of them, or only the timers. */
static void hmac_vars(hmac_t *h, bool all, const uint8_t *name, const uint8_t *alg, uint64_t time,
		      uint16_t fudge, uint16_t error, const uint8_t *other, uint16_t other_len)
{
	uint8_t b[8];

	if (all) {
		hmac_add(h, name, dname_len(name));
		hmac_add16(h, CLASS_ANY);
		dns_put32(b, 0); /* TTL */
		hmac_add(h, b, 4);
		hmac_add(h, alg, dname_len(alg));
	}
	put48(b, time);
	dns_put16(b + 6, fudge);
	hmac_add(h, b, 8);
	if (all) {
		hmac_add16(h, error);
		hmac_add16(h, other_len);
		hmac_add(h, other, other_len);
	}
}

/* The prior MAC with its length, as the first digest component. */
static void hmac_prior(hmac_t *h, const tsig_ctx_t *ctx)
{
	hmac_add16(h, ctx->mac_len);
	hmac_add(h, ctx->mac, ctx->mac_len);
}

static bool time_ok(uint64_t now, uint64_t signed_at, uint16_t fudge)
{
	uint64_t d = now > signed_at ? now - signed_at : signed_at - now;

	return d <= fudge;
}

static void ctx_reset(tsig_ctx_t *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

int tsig_request_verify(tsig_ctx_t *ctx, const tsig_keyring_t *kr, const dns_request_t *req,
			const uint8_t *wire, size_t len, uint64_t now)
{
	uint8_t mac[TSIG_MAC_MAX];
	const tsig_key_t *key;
	tsig_rr_t t;
	hmac_t h;
	size_t full;

	ctx_reset(ctx);
	if (req->tsig_pos == 0) {
		return -ENOENT;
	}
	if (req->tsig_pos < DNS_HDR_LEN || tsig_parse(wire, len, req->tsig_pos, &t) != E_OK) {
		return E_MALFORMED;
	}
	memcpy(ctx->key_name, t.name, dname_len(t.name));
	memcpy(ctx->alg_name, t.alg, dname_len(t.alg));
	ctx->time_signed = t.time;
	ctx->fudge = t.fudge;
	key = kr != NULL ? tsig_keyring_find(kr, t.name) : NULL;
	if (key == NULL || alg_from_wire(t.alg) != key->alg) {
		ctx->error = TSIG_ERR_BADKEY;
		return E_TSIG_BADKEY;
	}
	full = tsig_alg_mac_len(key->alg);
	if (t.mac_len != full) {
		/* truncated MACs (RFC 8945 §5.2.2.1) are not accepted, as in Knot */
		ctx->error = TSIG_ERR_BADSIG;
		return E_TSIG_BADSIG;
	}
	hmac_start(&h, key);
	hmac_message(&h, wire, req->tsig_pos, t.orig_id);
	hmac_vars(&h, true, t.name, t.alg, t.time, t.fudge, t.error, t.other, t.other_len);
	hmac_end(&h, mac);
	if (!memeql_sec(mac, t.mac, full)) {
		ctx->error = TSIG_ERR_BADSIG;
		return E_TSIG_BADSIG;
	}
	ctx->key = key;
	memcpy(ctx->mac, t.mac, full);
	ctx->mac_len = (uint16_t)full;
	if (!time_ok(now, t.time, t.fudge)) {
		ctx->error = TSIG_ERR_BADTIME;
		return E_TSIG_BADTIME;
	}
	return E_OK;
}

int tsig_ctx_from_request(tsig_ctx_t *ctx, const tsig_key_t *key, const uint8_t *wire, size_t len,
			  size_t tsig_pos)
{
	tsig_rr_t t;

	ctx_reset(ctx);
	if (tsig_pos < DNS_HDR_LEN || tsig_parse(wire, len, tsig_pos, &t) != E_OK ||
	    t.mac_len > TSIG_MAC_MAX) {
		return E_MALFORMED;
	}
	ctx->key = key;
	memcpy(ctx->key_name, t.name, dname_len(t.name));
	memcpy(ctx->alg_name, t.alg, dname_len(t.alg));
	memcpy(ctx->mac, t.mac, t.mac_len);
	ctx->mac_len = t.mac_len;
	ctx->time_signed = t.time;
	ctx->fudge = t.fudge;
	return E_OK;
}

/* Append the TSIG RR. \a first: cover the prior MAC (if any), message and all variables. */
static int sign(tsig_ctx_t *ctx, uint8_t *msg, size_t *len, size_t cap, uint64_t now, bool first)
{
	bool with_mac =
		ctx->key != NULL && ctx->error != TSIG_ERR_BADKEY && ctx->error != TSIG_ERR_BADSIG;
	const uint8_t *name = ctx->key != NULL ? ctx->key->name : ctx->key_name;
	const uint8_t *alg = ctx->key != NULL ? algs[ctx->key->alg].wire : ctx->alg_name;
	size_t name_len = dname_len(name), alg_len = dname_len(alg);
	uint64_t time = ctx->error == TSIG_ERR_BADTIME ? ctx->time_signed : now;
	uint8_t other[TSIG_OTHER_MAX];
	uint16_t other_len = 0;
	uint8_t mac[TSIG_MAC_MAX];
	size_t mac_len = 0, rdlen;
	uint8_t *p;

	if (*len < DNS_HDR_LEN) {
		return E_MALFORMED;
	}
	if (ctx->error == TSIG_ERR_BADTIME) {
		put48(other, now);
		other_len = TSIG_OTHER_MAX;
	}
	if (with_mac) {
		hmac_t h;

		hmac_start(&h, ctx->key);
		if (!first || ctx->mac_len > 0) {
			hmac_prior(&h, ctx);
		}
		hmac_add(&h, msg, *len);
		hmac_vars(&h, first, name, alg, time, TSIG_FUDGE, ctx->error, other, other_len);
		mac_len = hmac_end(&h, mac);
	}
	rdlen = alg_len + 10 + mac_len + 6 + other_len;
	if (cap < *len || cap - *len < name_len + RR_FIXED_LEN + rdlen ||
	    dns_u16(msg + 10) == UINT16_MAX) {
		return E_TRUNC;
	}
	p = msg + *len;
	memcpy(p, name, name_len);
	p += name_len;
	dns_put16(p, RR_TSIG);
	dns_put16(p + 2, CLASS_ANY);
	dns_put32(p + 4, 0);
	dns_put16(p + 8, (uint16_t)rdlen);
	p += RR_FIXED_LEN;
	memcpy(p, alg, alg_len);
	p += alg_len;
	put48(p, time);
	dns_put16(p + 6, TSIG_FUDGE);
	dns_put16(p + 8, (uint16_t)mac_len);
	p += 10;
	memcpy(p, mac, mac_len);
	p += mac_len;
	dns_put16(p, dns_u16(msg)); /* original ID: our own */
	dns_put16(p + 2, ctx->error);
	dns_put16(p + 4, other_len);
	p += 6;
	memcpy(p, other, other_len);
	p += other_len;
	*len = (size_t)(p - msg);
	dns_put16(msg + 10, (uint16_t)(dns_u16(msg + 10) + 1));
	memcpy(ctx->mac, mac, mac_len);
	ctx->mac_len = (uint16_t)mac_len;
	return E_OK;
}

int tsig_sign(tsig_ctx_t *ctx, uint8_t *msg, size_t *len, size_t cap, uint64_t now)
{
	int ret = sign(ctx, msg, len, cap, now, ctx->nmsg == 0);

	if (ret == E_OK) {
		ctx->nmsg++;
	}
	return ret;
}

int tsig_request_sign(tsig_ctx_t *ctx, const tsig_key_t *key, uint8_t *msg, size_t *len, size_t cap,
		      uint64_t now)
{
	ctx_reset(ctx);
	ctx->key = key;
	ctx->fudge = TSIG_FUDGE;
	ctx->time_signed = now;
	return sign(ctx, msg, len, cap, now, true);
}

int tsig_response_verify(tsig_ctx_t *ctx, const uint8_t *wire, size_t len, uint64_t now)
{
	uint8_t mac[TSIG_MAC_MAX];
	bool first = ctx->nmsg == 0;
	size_t pos, full;
	tsig_rr_t t;
	hmac_t h;
	int ret;

	if (ctx->key == NULL) {
		return E_TSIG_BADKEY;
	}
	ret = tsig_find(wire, len, &pos);
	if (ret != E_OK) {
		return ret;
	}
	if (tsig_parse(wire, len, pos, &t) != E_OK) {
		return E_MALFORMED;
	}
	if (!dname_equal(t.name, ctx->key->name) || alg_from_wire(t.alg) != ctx->key->alg) {
		return E_TSIG_BADKEY;
	}
	if (t.mac_len == 0 && t.error == TSIG_ERR_BADKEY) {
		return E_TSIG_BADKEY;
	}
	full = tsig_alg_mac_len(ctx->key->alg);
	if (t.mac_len != full) {
		return E_TSIG_BADSIG;
	}
	hmac_start(&h, ctx->key);
	hmac_prior(&h, ctx);
	hmac_message(&h, wire, pos, t.orig_id);
	hmac_vars(&h, first, t.name, t.alg, t.time, t.fudge, t.error, t.other, t.other_len);
	hmac_end(&h, mac);
	if (!memeql_sec(mac, t.mac, full)) {
		return E_TSIG_BADSIG;
	}
	memcpy(ctx->mac, t.mac, full);
	ctx->mac_len = (uint16_t)full;
	ctx->nmsg++;
	if (t.error == TSIG_ERR_BADTIME || !time_ok(now, t.time, t.fudge)) {
		return E_TSIG_BADTIME;
	}
	return t.error == 0 ? E_OK : E_TSIG_BADSIG;
}
