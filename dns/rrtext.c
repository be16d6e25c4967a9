/*  Signet: resource records from presentation format (see rrtext.h).
 *
 *  The owner, TTL, class and type are read here. RDATA of the common types (A, AAAA, NS,
 *  CNAME, PTR, MX, TXT, SRV, SOA) is converted by a fast path that writes exactly the octets
 *  ldns would (tests/unit/dns/test_rrtext.c checks that); every other type goes through
 *  ldns_rr_new_frm_str. RFC 3597 generic RDATA ("\# 3 abcdef") is read here for every type,
 *  because ldns accepts malformed forms of it; for types ldns knows it is then checked
 *  against the type's layout.
 */
#include "dns/rrtext.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/err.h"
#include "dns/rdata.h"
#include "dns/rrtype.h"

/* Internal: the fast path does not handle this text; let ldns read it. */
#define FALLBACK 1

/* Longest token copied for names and numbers (a name is at most 255 × "\DDD"). */
#define TOKEN_MAX (DNAME_MAX * 4 + 8)

#define TTL_MAX 0x7fffffffu

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
}

/* Copy a token into \a buf (NUL-terminated); false when it does not fit. */
static bool token_copy(char *buf, size_t buflen, const char *tok, size_t len)
{
	if (len >= buflen) {
		return false;
	}
	memcpy(buf, tok, len);
	buf[len] = '\0';
	return true;
}

/* Text of a token for a message, shortened when long. */
static const char *token_show(char *buf, size_t buflen, const char *tok, size_t len)
{
	if (len >= buflen) {
		snprintf(buf, buflen, "%.*s...", (int)(buflen - 4), tok);
	} else {
		memcpy(buf, tok, len);
		buf[len] = '\0';
	}
	return buf;
}

/* Strict decimal of at most \a max; false when not digits only or too large. */
static bool parse_uint(const char *tok, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(tok[i])) {
			return false;
		}
		v = v * 10 + (uint64_t)(tok[i] - '0');
	}
	if (v > max) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* The TTL syntax of BIND (lib/dns/ttl.c), on a counted string. */
static int ttl_parse(const char *s, size_t len, uint32_t *out)
{
	uint64_t total = 0;
	size_t i = 0;
	unsigned seen = 0;

	if (len == 0) {
		return E_ZONE_SYNTAX;
	}
	while (i < len) {
		uint64_t n = 0;
		size_t start = i;
		uint64_t mult;
		unsigned bit;

		while (i < len && is_digit(s[i])) {
			n = n * 10 + (uint64_t)(s[i] - '0');
			if (n > UINT32_MAX) {
				return E_ZONE_SYNTAX;
			}
			i++;
		}
		if (i == start) {
			return E_ZONE_SYNTAX;
		}
		if (i == len) {
			if (start != 0) {
				return E_ZONE_SYNTAX; /* "1h30": BIND wants a unit after 30 */
			}
			total = n;
			break;
		}
		switch (upper(s[i])) {
		case 'W':
			mult = 604800, bit = 1;
			break;
		case 'D':
			mult = 86400, bit = 2;
			break;
		case 'H':
			mult = 3600, bit = 4;
			break;
		case 'M':
			mult = 60, bit = 8;
			break;
		case 'S':
			mult = 1, bit = 16;
			break;
		default:
			return E_ZONE_SYNTAX;
		}
		if (seen & bit) {
			return E_ZONE_SYNTAX;
		}
		seen |= bit;
		total += n * mult;
		if (total > UINT32_MAX) {
			return E_ZONE_SYNTAX;
		}
		i++;
	}
	if (total > TTL_MAX) {
		return E_ZONE_SYNTAX;
	}
	*out = (uint32_t)total;
	return E_OK;
}

int dns_ttl_from_str(const char *str, uint32_t *out)
{
	return ttl_parse(str, strlen(str), out);
}

/* Case-insensitive "<prefix><digits>" with 0 < digits <= 65535; 0 otherwise. */
static uint16_t prefixed_number(const char *s, size_t len, const char *prefix)
{
	size_t plen = strlen(prefix);
	uint32_t v;

	if (len <= plen || strncasecmp(s, prefix, plen) != 0) {
		return 0;
	}
	if (!parse_uint(s + plen, len - plen, 65535, &v) || s[plen] == '0') {
		return 0;
	}
	return (uint16_t)v;
}

static uint16_t class_from(const char *s, size_t len)
{
	static const struct {
		const char *name;
		uint16_t cls;
	} names[] = {
		{ "IN", CLASS_IN }, { "CH", CLASS_CH },     { "CHAOS", CLASS_CH }, { "HS", 4 },
		{ "HESIOD", 4 },    { "NONE", CLASS_NONE }, { "ANY", CLASS_ANY },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) == len && strncasecmp(s, names[i].name, len) == 0) {
			return names[i].cls;
		}
	}
	return prefixed_number(s, len, "CLASS");
}

uint16_t dns_class_from_str(const char *str)
{
	return class_from(str, strlen(str));
}

/* Types looked up before ldns's linear table: the ones nearly every zone has. */
static const struct {
	const char *name;
	uint16_t type;
} common_types[] = {
	{ "A", RR_A },           { "NS", RR_NS },       { "CNAME", RR_CNAME },
	{ "SOA", RR_SOA },       { "PTR", RR_PTR },     { "MX", RR_MX },
	{ "TXT", RR_TXT },       { "AAAA", RR_AAAA },   { "SRV", RR_SRV },
	{ "DS", RR_DS },         { "RRSIG", RR_RRSIG }, { "NSEC", RR_NSEC },
	{ "DNSKEY", RR_DNSKEY }, { "NSEC3", RR_NSEC3 }, { "CAA", 257 },
	{ "DNAME", RR_DNAME },
};

static uint16_t type_from(const char *s, size_t len)
{
	char buf[32];

	for (size_t i = 0; i < sizeof(common_types) / sizeof(common_types[0]); i++) {
		if (strlen(common_types[i].name) == len &&
		    strncasecmp(s, common_types[i].name, len) == 0) {
			return common_types[i].type;
		}
	}
	if (len > 4 && strncasecmp(s, "TYPE", 4) == 0) {
		return prefixed_number(s, len, "TYPE");
	}
	if (!token_copy(buf, sizeof(buf), s, len)) {
		return 0;
	}
	return (uint16_t)ldns_get_rr_type_by_name(buf);
}

uint16_t dns_type_from_str(const char *str)
{
	return type_from(str, strlen(str));
}

/* The ldns descriptor of \a type, or NULL when ldns does not know the type. */
static const ldns_rr_descriptor *known_type(uint16_t type)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(type);

	if (type == 0 || d == NULL || d->_type != type || d->_name == NULL) {
		return NULL;
	}
	return d;
}

const char *dns_type_to_str(uint16_t type, char *buf, size_t buflen)
{
	const ldns_rr_descriptor *d = known_type(type);

	if (d != NULL) {
		snprintf(buf, buflen, "%s", d->_name);
	} else {
		snprintf(buf, buflen, "TYPE%u", type);
	}
	return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* RDATA */

/* What one RDATA conversion works with. */
struct rd {
	dns_rr_t *rr;
	const char *p; /* the rest of the RDATA text */
	const uint8_t *origin;
	char tname[16];
	char *err;
	size_t errlen;
};

static int rd_error(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int rd_error(struct rd *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
	return E_ZONE_SYNTAX;
}

/* The next token of the RDATA; false at the end. */
static bool rd_next(struct rd *r, const char **tok, size_t *len)
{
	r->p = dns_text_skip_space(r->p);
	if (*r->p == '\0') {
		return false;
	}
	*tok = r->p;
	*len = dns_text_token_len(r->p);
	r->p += *len;
	return true;
}

static int rd_need(struct rd *r, const char **tok, size_t *len, const char *what)
{
	if (!rd_next(r, tok, len)) {
		return rd_error(r, "%s record without its %s", r->tname, what);
	}
	return E_OK;
}

static int rd_end(struct rd *r)
{
	const char *tok;
	size_t len;
	char show[64];

	if (rd_next(r, &tok, &len)) {
		return rd_error(r, "unexpected '%s' after the %s data",
				token_show(show, sizeof(show), tok, len), r->tname);
	}
	return E_OK;
}

static int rd_put(struct rd *r, const void *data, size_t len)
{
	if ((size_t)r->rr->rdlen + len > sizeof(r->rr->rdata)) {
		return rd_error(r, "%s data longer than 65535 octets", r->tname);
	}
	if (len > 0) { /* an empty field may come with no data pointer at all */
		memcpy(r->rr->rdata + r->rr->rdlen, data, len);
	}
	r->rr->rdlen = (uint16_t)(r->rr->rdlen + len);
	return E_OK;
}

static int rd_put_u16(struct rd *r, uint32_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	return rd_put(r, b, 2);
}

static int rd_put_u32(struct rd *r, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	return rd_put(r, b, 4);
}

static int rd_u16(struct rd *r, const char *what)
{
	const char *tok;
	size_t len;
	uint32_t v;
	char show[64];
	int ret = rd_need(r, &tok, &len, what);

	if (ret != E_OK) {
		return ret;
	}
	if (!parse_uint(tok, len, 65535, &v)) {
		return rd_error(r, "bad %s %s '%s' (a number from 0 to 65535 expected)", r->tname,
				what, token_show(show, sizeof(show), tok, len));
	}
	return rd_put_u16(r, v);
}

static int rd_name(struct rd *r, const char *what)
{
	const char *tok;
	size_t len;
	char buf[TOKEN_MAX];
	uint8_t name[DNAME_MAX];
	int ret = rd_need(r, &tok, &len, what);

	if (ret != E_OK) {
		return ret;
	}
	if (memchr(tok, '"', len) != NULL) {
		return FALLBACK;
	}
	if (!token_copy(buf, sizeof(buf), tok, len)) {
		return rd_error(r, "bad %s %s: name longer than 255 octets", r->tname, what);
	}
	ret = dname_from_str(name, buf, r->origin);
	if (ret < 0) {
		return rd_error(r, "bad %s %s '%s': %s", r->tname, what, buf, err_str(ret));
	}
	return rd_put(r, name, (size_t)ret);
}

static int rd_period(struct rd *r, const char *what, bool period)
{
	const char *tok;
	size_t len;
	uint32_t v;
	char show[64];
	int ret = rd_need(r, &tok, &len, what);

	if (ret != E_OK) {
		return ret;
	}
	if (period ? ttl_parse(tok, len, &v) != E_OK : !parse_uint(tok, len, UINT32_MAX, &v)) {
		return rd_error(r, "bad SOA %s '%s' (%s expected)", what,
				token_show(show, sizeof(show), tok, len),
				period ? "a time like 3600 or 1h"
				       : "a number from 0 to 4294967295");
	}
	return rd_put_u32(r, v);
}

static int rd_addr(struct rd *r, int af)
{
	const char *tok;
	size_t len;
	char buf[64];
	uint8_t addr[16];
	int ret = rd_need(r, &tok, &len, "address");

	if (ret != E_OK) {
		return ret;
	}
	if (!token_copy(buf, sizeof(buf), tok, len) || inet_pton(af, buf, addr) != 1) {
		char show[64];
		return rd_error(r, "bad %s address '%s'", af == AF_INET ? "IPv4" : "IPv6",
				token_show(show, sizeof(show), tok, len));
	}
	ret = rd_put(r, addr, af == AF_INET ? 4 : 16);
	return ret != E_OK ? ret : rd_end(r);
}

/* One character-string of a TXT record (RFC 1035 §5.1), quoted or not. */
static int rd_string(struct rd *r, const char *tok, size_t len)
{
	uint8_t s[256];
	size_t n = 0;
	bool quoted = tok[0] == '"';
	size_t i = quoted ? 1 : 0;
	char show[64];

	for (;;) {
		uint8_t c;

		if (i == len) {
			if (quoted) {
				return rd_error(r, "missing closing quote in TXT data %s",
						token_show(show, sizeof(show), tok, len));
			}
			break;
		}
		c = (uint8_t)tok[i];
		if (c == '"') {
			if (quoted && i == len - 1) {
				break;
			}
			return FALLBACK; /* a quote inside a string ("a"b): left to ldns */
		}
		if (c == '\\') {
			if (i + 1 == len) {
				return FALLBACK;
			}
			if (is_digit(tok[i + 1])) {
				unsigned v;

				if (i + 3 >= len || !is_digit(tok[i + 2]) ||
				    !is_digit(tok[i + 3])) {
					return FALLBACK;
				}
				v = (unsigned)(tok[i + 1] - '0') * 100 +
				    (unsigned)(tok[i + 2] - '0') * 10 +
				    (unsigned)(tok[i + 3] - '0');
				if (v > 255) {
					return rd_error(
						r,
						"bad escape '\\%.3s' in TXT data (at most \\255)",
						tok + i + 1);
				}
				c = (uint8_t)v;
				i += 4;
			} else {
				c = (uint8_t)tok[i + 1];
				i += 2;
			}
		} else {
			i++;
		}
		if (n == 255) {
			return rd_error(r, "TXT string longer than 255 octets: %s",
					token_show(show, sizeof(show), tok, len));
		}
		s[n++] = c;
	}
	uint8_t l = (uint8_t)n;
	int ret = rd_put(r, &l, 1);
	return ret != E_OK ? ret : rd_put(r, s, n);
}

static int rd_txt(struct rd *r)
{
	const char *tok;
	size_t len;
	int ret = rd_need(r, &tok, &len, "text");

	while (ret == E_OK) {
		ret = rd_string(r, tok, len);
		if (ret == E_OK && !rd_next(r, &tok, &len)) {
			break;
		}
	}
	return ret;
}

/* The fast path; FALLBACK when the text is better left to ldns. */
static int rd_fast(struct rd *r)
{
	int ret;

	switch (r->rr->type) {
	case RR_A:
		return rd_addr(r, AF_INET);
	case RR_AAAA:
		return rd_addr(r, AF_INET6);
	case RR_NS:
	case RR_CNAME:
	case RR_PTR:
		ret = rd_name(r, "target name");
		break;
	case RR_MX:
		ret = rd_u16(r, "preference");
		if (ret == E_OK) {
			ret = rd_name(r, "exchange name");
		}
		break;
	case RR_SRV:
		ret = rd_u16(r, "priority");
		if (ret == E_OK) {
			ret = rd_u16(r, "weight");
		}
		if (ret == E_OK) {
			ret = rd_u16(r, "port");
		}
		if (ret == E_OK) {
			ret = rd_name(r, "target name");
		}
		break;
	case RR_SOA:
		ret = rd_name(r, "primary server name");
		if (ret == E_OK) {
			ret = rd_name(r, "mailbox name");
		}
		if (ret == E_OK) {
			ret = rd_period(r, "serial", false);
		}
		if (ret == E_OK) {
			ret = rd_period(r, "refresh", true);
		}
		if (ret == E_OK) {
			ret = rd_period(r, "retry", true);
		}
		if (ret == E_OK) {
			ret = rd_period(r, "expire", true);
		}
		if (ret == E_OK) {
			ret = rd_period(r, "minimum", true);
		}
		break;
	case RR_TXT:
		return rd_txt(r);
	default:
		return FALLBACK;
	}
	return ret != E_OK ? ret : rd_end(r);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	c = upper(c);
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* Concatenate the RDATA fields of \a lr into \a r->rr. */
static int rd_from_ldns(struct rd *r, const ldns_rr *lr)
{
	r->rr->rdlen = 0;
	for (size_t i = 0; i < ldns_rr_rd_count(lr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(lr, i);
		int ret = rd_put(r, ldns_rdf_data(f), ldns_rdf_size(f));
		if (ret != E_OK) {
			return ret;
		}
	}
	return E_OK;
}

/* RFC 3597 §5: "\# <length> <hex>..." for any type. */
static int rd_generic(struct rd *r)
{
	const char *tok;
	size_t len;
	uint32_t want;
	size_t nibbles = 0;
	uint8_t acc = 0;
	char show[64];
	int ret;

	rd_next(r, &tok, &len); /* the \# */
	ret = rd_need(r, &tok, &len, "RFC 3597 length after \\#");
	if (ret != E_OK) {
		return ret;
	}
	if (!parse_uint(tok, len, 65535, &want)) {
		return rd_error(r, "bad RFC 3597 length '%s' after \\# (0 to 65535 expected)",
				token_show(show, sizeof(show), tok, len));
	}
	while (rd_next(r, &tok, &len)) {
		for (size_t i = 0; i < len; i++) {
			int v = hex_value(tok[i]);
			if (v < 0) {
				return rd_error(r, "bad hex data '%s' in RFC 3597 %s data",
						token_show(show, sizeof(show), tok, len), r->tname);
			}
			acc = (uint8_t)((acc << 4) | v);
			nibbles++;
			if (nibbles % 2 == 0 && nibbles / 2 <= want) {
				r->rr->rdata[nibbles / 2 - 1] = acc;
			}
		}
	}
	if (nibbles != 2 * (size_t)want) {
		return rd_error(r,
				"RFC 3597 %s data: \\# says %u octets, but %zu%s hex digits follow",
				r->tname, want, nibbles, nibbles % 2 ? " (an odd number of)" : "");
	}
	r->rr->rdlen = (uint16_t)want;

	/* A type ldns knows must have RDATA that reads as that type. */
	if (known_type(r->rr->type) != NULL && want > 0) {
		uint8_t *wire = malloc((size_t)want + 2);
		ldns_rr *lr = ldns_rr_new();
		size_t pos = 0;
		bool same = false;

		if (wire == NULL || lr == NULL) {
			free(wire);
			ldns_rr_free(lr);
			return -ENOMEM;
		}
		ldns_rr_set_type(lr, r->rr->type);
		wire[0] = (uint8_t)(want >> 8);
		wire[1] = (uint8_t)want;
		memcpy(wire + 2, r->rr->rdata, want);
		if (ldns_wire2rdf(lr, wire, (size_t)want + 2, &pos) == LDNS_STATUS_OK) {
			size_t off = 2;
			same = true;
			for (size_t i = 0; i < ldns_rr_rd_count(lr) && same; i++) {
				const ldns_rdf *f = ldns_rr_rdf(lr, i);
				same = off + ldns_rdf_size(f) <= (size_t)want + 2 &&
				       memcmp(wire + off, ldns_rdf_data(f), ldns_rdf_size(f)) == 0;
				off += ldns_rdf_size(f);
			}
			same = same && off == (size_t)want + 2;
		}
		free(wire);
		ldns_rr_free(lr);
		if (!same) {
			return rd_error(r, "RFC 3597 data does not fit type %s", r->tname);
		}
	}
	return E_OK;
}

/* What a field of an ldns descriptor holds, for messages. */
static const char *field_kind(ldns_rdf_type t)
{
	switch (t) {
	case LDNS_RDF_TYPE_A:
		return "IPv4 address";
	case LDNS_RDF_TYPE_AAAA:
		return "IPv6 address";
	case LDNS_RDF_TYPE_DNAME:
		return "domain name";
	case LDNS_RDF_TYPE_INT8:
		return "number (0 to 255)";
	case LDNS_RDF_TYPE_INT16:
		return "number (0 to 65535)";
	case LDNS_RDF_TYPE_INT32:
		return "number (0 to 4294967295)";
	case LDNS_RDF_TYPE_PERIOD:
		return "time period";
	case LDNS_RDF_TYPE_TIME:
		return "time stamp";
	case LDNS_RDF_TYPE_TYPE:
		return "type";
	case LDNS_RDF_TYPE_ALG:
		return "algorithm";
	case LDNS_RDF_TYPE_CERT_ALG:
		return "certificate type";
	default:
		return NULL; /* not a single-token field */
	}
}

/*
 * Check the leading single-token fields of \a d before ldns reads them: ldns accepts numbers
 * out of range (MX 70000 becomes 4464) and its errors do not name the field.
 */
static int rd_check_fields(struct rd *r, const ldns_rr_descriptor *d)
{
	const char *save = r->p;
	size_t max = ldns_rr_descriptor_maximum(d);
	int ret = E_OK;

	for (size_t i = 0; i < max && ret == E_OK; i++) {
		ldns_rdf_type t = ldns_rr_descriptor_field_type(d, i);
		const char *kind = field_kind(t);
		const char *tok;
		size_t len;
		char buf[TOKEN_MAX];
		uint32_t v;
		bool ok;

		if (kind == NULL || !rd_next(r, &tok, &len)) {
			break;
		}
		if (!token_copy(buf, sizeof(buf), tok, len)) {
			ret = rd_error(r, "bad %s field %zu: too long", r->tname, i + 1);
			break;
		}
		switch (t) {
		case LDNS_RDF_TYPE_INT8:
			ok = parse_uint(tok, len, 255, &v);
			break;
		case LDNS_RDF_TYPE_INT16:
			ok = parse_uint(tok, len, 65535, &v);
			break;
		case LDNS_RDF_TYPE_INT32:
			ok = parse_uint(tok, len, UINT32_MAX, &v);
			break;
		case LDNS_RDF_TYPE_DNAME: {
			uint8_t name[DNAME_MAX];
			int n = dname_from_str(name, buf, r->origin);
			if (n < 0) {
				ret = rd_error(r, "bad domain name '%s' in %s data: %s", buf,
					       r->tname, err_str(n));
			}
			ok = true;
			break;
		}
		default: {
			ldns_rdf *f = NULL;
			/* ldns 1.8.3 leaks its result for a numeric certificate type 0: refuse it
			 * here, so that ldns never sees it. */
			if (t == LDNS_RDF_TYPE_CERT_ALG &&
			    (is_digit(buf[0]) || buf[0] == '-' || buf[0] == '+')) {
				ok = parse_uint(tok, len, 65535, &v) && v != 0;
				break;
			}
			f = ldns_rdf_new_frm_str(t, buf);
			ok = f != NULL;
			ldns_rdf_deep_free(f);
			break;
		}
		}
		if (ret == E_OK && !ok) {
			char show[64];
			ret = rd_error(r, "bad %s '%s' in %s data (field %zu)", kind,
				       token_show(show, sizeof(show), tok, len), r->tname, i + 1);
		}
	}
	r->p = save;
	return ret;
}

/*
 * Types whose fields are single tokens, but for a last base64, hex or type-list field that
 * takes the rest of the line. Their fields are converted one by one here (through ldns for
 * the field formats), which avoids ldns_rr_new_frm_str: that allocates and frees three 64 KiB
 * buffers per record, about 16 us each time, which would dominate loading a signed zone.
 */
static bool fields_type(uint16_t type)
{
	switch (type) {
	case RR_DS:
	case RR_CDS:
	case RR_DNSKEY:
	case RR_CDNSKEY:
	case RR_RRSIG:
	case RR_NSEC:
	case RR_NSEC3:
	case RR_NSEC3PARAM:
	case RR_DNAME:
	case 44: /* SSHFP */
	case 52: /* TLSA */
	case 53: /* SMIMEA */
	case 61: /* OPENPGPKEY */
	case 62: /* CSYNC */
		return true;
	default:
		return false;
	}
}

static int rd_put_rdf(struct rd *r, ldns_rdf *f)
{
	int ret = rd_put(r, ldns_rdf_data(f), ldns_rdf_size(f));
	ldns_rdf_deep_free(f);
	return ret;
}

/* A list of type mnemonics, checked here: ldns turns an unknown one into type 0. */
static int rd_type_list(struct rd *r, const char *rest)
{
	const char *p = rest;
	char show[64];

	for (p = dns_text_skip_space(p); *p != '\0'; p = dns_text_skip_space(p)) {
		size_t len = dns_text_token_len(p);
		if (type_from(p, len) == 0) {
			return rd_error(r, "unknown type '%s' in the %s type list",
					token_show(show, sizeof(show), p, len), r->tname);
		}
		p += len;
	}
	return E_OK;
}

static int rd_fields(struct rd *r, const ldns_rr_descriptor *d)
{
	size_t min = ldns_rr_descriptor_minimum(d);
	size_t max = ldns_rr_descriptor_maximum(d);
	char buf[TOKEN_MAX];
	char show[64];
	int ret = E_OK;

	if (d->_variable != LDNS_RDF_TYPE_NONE || max > 16 || strchr(r->p, '"') != NULL) {
		return FALLBACK;
	}
	for (size_t i = 0; i < max && ret == E_OK; i++) {
		ldns_rdf_type t = ldns_rr_descriptor_field_type(d, i);
		const char *kind = field_kind(t);
		const char *tok;
		size_t len;
		uint32_t v;
		ldns_rdf *f;

		r->p = dns_text_skip_space(r->p);
		if (*r->p == '\0') {
			if (i < min) {
				return rd_error(r, "%s record with too few data fields", r->tname);
			}
			return E_OK;
		}
		if (i == max - 1 &&
		    (t == LDNS_RDF_TYPE_B64 || t == LDNS_RDF_TYPE_HEX || t == LDNS_RDF_TYPE_NSEC)) {
			/* the rest of the line, spaces and all, as ldns_rr_new_frm_str does */
			size_t n = strlen(r->p);
			char *rest;

			while (n > 0 && dns_text_is_space(r->p[n - 1])) {
				n--;
			}
			if (t == LDNS_RDF_TYPE_NSEC && (ret = rd_type_list(r, r->p)) != E_OK) {
				return ret;
			}
			rest = malloc(n + 1);
			if (rest == NULL) {
				return -ENOMEM;
			}
			memcpy(rest, r->p, n);
			rest[n] = '\0';
			f = ldns_rdf_new_frm_str(t, rest);
			if (f == NULL) {
				ret = rd_error(r, "bad %s '%s' in %s data",
					       t == LDNS_RDF_TYPE_HEX   ? "hex data"
					       : t == LDNS_RDF_TYPE_B64 ? "base64 data"
									: "type list",
					       token_show(show, sizeof(show), rest, n), r->tname);
			} else {
				ret = rd_put_rdf(r, f);
			}
			free(rest);
			r->p += strlen(r->p);
			return ret;
		}
		rd_next(r, &tok, &len);
		if (!token_copy(buf, sizeof(buf), tok, len)) {
			return rd_error(r, "bad %s field %zu: too long", r->tname, i + 1);
		}
		switch (t) {
		case LDNS_RDF_TYPE_INT8:
		case LDNS_RDF_TYPE_INT16:
		case LDNS_RDF_TYPE_INT32: {
			uint32_t lim = t == LDNS_RDF_TYPE_INT8    ? 255
				       : t == LDNS_RDF_TYPE_INT16 ? 65535
								  : UINT32_MAX;
			if (!parse_uint(tok, len, lim, &v)) {
				return rd_error(r, "bad %s '%s' in %s data (field %zu)", kind, buf,
						r->tname, i + 1);
			}
			if (t == LDNS_RDF_TYPE_INT8) {
				uint8_t b = (uint8_t)v;
				ret = rd_put(r, &b, 1);
			} else {
				ret = t == LDNS_RDF_TYPE_INT16 ? rd_put_u16(r, v)
							       : rd_put_u32(r, v);
			}
			break;
		}
		case LDNS_RDF_TYPE_TYPE:
			v = type_from(tok, len);
			if (v == 0) {
				return rd_error(r, "unknown type '%s' in %s data (field %zu)", buf,
						r->tname, i + 1);
			}
			ret = rd_put_u16(r, v);
			break;
		case LDNS_RDF_TYPE_DNAME: {
			uint8_t name[DNAME_MAX];
			int n = dname_from_str(name, buf, r->origin);
			if (n < 0) {
				return rd_error(r, "bad domain name '%s' in %s data: %s", buf,
						r->tname, err_str(n));
			}
			ret = rd_put(r, name, (size_t)n);
			break;
		}
		default:
			f = ldns_rdf_new_frm_str(t, buf);
			if (f == NULL) {
				const char *what = kind != NULL                    ? kind
						   : t == LDNS_RDF_TYPE_NSEC3_SALT ? "NSEC3 salt"
						   : t == LDNS_RDF_TYPE_B32_EXT
							   ? "hashed owner name"
							   : "value";
				return rd_error(r, "bad %s '%s' in %s data (field %zu)", what, buf,
						r->tname, i + 1);
			}
			ret = rd_put_rdf(r, f);
			break;
		}
	}
	return ret != E_OK ? ret : rd_end(r);
}

static int rd_ldns(struct rd *r)
{
	const ldns_rr_descriptor *d = known_type(r->rr->type);
	ldns_rdf *origin = NULL;
	ldns_rr *lr = NULL;
	char *line = NULL;
	size_t n;
	ldns_status st;
	int ret;

	if (d == NULL) {
		return rd_error(r,
				"%s is a type Signet does not know: write its data in RFC 3597 "
				"form (\\# length hex)",
				r->tname);
	}
	if (fields_type(r->rr->type)) {
		const char *save = r->p;
		ret = rd_fields(r, d);
		if (ret != FALLBACK) {
			return ret;
		}
		r->rr->rdlen = 0;
		r->p = save;
	}
	ret = rd_check_fields(r, d);
	if (ret != E_OK) {
		return ret;
	}
	n = strlen(r->p) + 32;
	line = malloc(n);
	origin = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, dname_len(r->origin), r->origin);
	if (line == NULL || origin == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	snprintf(line, n, ". 0 IN TYPE%u %s", r->rr->type, r->p);
	st = ldns_rr_new_frm_str(&lr, line, 0, origin, NULL);
	switch (st) {
	case LDNS_STATUS_OK:
		ret = ldns_rr_get_type(lr) == r->rr->type ? rd_from_ldns(r, lr) : E_ZONE_SYNTAX;
		break;
	case LDNS_STATUS_MEM_ERR:
		ret = -ENOMEM;
		break;
	case LDNS_STATUS_SYNTAX_MISSING_VALUE_ERR:
		ret = rd_error(r, "%s record with too few data fields", r->tname);
		break;
	case LDNS_STATUS_SYNTAX_SUPERFLUOUS_TEXT_ERR:
		ret = rd_error(r, "unexpected text after the %s data", r->tname);
		break;
	default: {
		char show[80];
		size_t len = strlen(dns_text_skip_space(r->p));
		ret = rd_error(r, "bad %s data '%s': %s", r->tname,
			       token_show(show, sizeof(show), dns_text_skip_space(r->p), len),
			       ldns_get_errorstr_by_id(st));
		break;
	}
	}
out:
	ldns_rr_free(lr);
	ldns_rdf_deep_free(origin);
	free(line);
	return ret;
}

/* ------------------------------------------------------------------------------------------ */

int dns_rr_from_text(dns_rr_t *out, const char *text, const uint8_t *origin, uint32_t default_ttl,
		     const uint8_t *prev_owner, char *err, size_t errlen)
{
	static const uint8_t root[1] = { 0 };
	const char *p = text;
	const char *tok;
	size_t len;
	char buf[TOKEN_MAX];
	char show[64];
	char scratch[256];
	bool have_ttl = false, have_class = false;
	struct rd r;
	int ret;

	r.err = (err != NULL && errlen > 0) ? err : scratch;
	r.errlen = (err != NULL && errlen > 0) ? errlen : sizeof(scratch);
	r.err[0] = '\0';
	r.rr = out;
	r.origin = origin != NULL ? origin : root;
	out->ttl = default_ttl;
	out->rclass = CLASS_IN;
	out->rdlen = 0;

	if (*dns_text_skip_space(p) == '\0') {
		return rd_error(&r, "empty record");
	}
	/* Owner: the previous one when the line starts with white space. */
	if (dns_text_is_space(*p)) {
		if (prev_owner == NULL) {
			return rd_error(&r,
					"no owner name, and no previous record to take it from");
		}
		memcpy(out->owner, prev_owner, dname_len(prev_owner));
	} else {
		len = dns_text_token_len(p);
		if (!token_copy(buf, sizeof(buf), p, len)) {
			return rd_error(&r, "bad owner name '%s': name longer than 255 octets",
					token_show(show, sizeof(show), p, len));
		}
		ret = dname_from_str(out->owner, buf, r.origin);
		if (ret < 0) {
			return rd_error(&r, "bad owner name '%s': %s", buf, err_str(ret));
		}
		p += len;
	}

	/* [TTL] [class] or [class] [TTL], then the type. */
	for (;;) {
		p = dns_text_skip_space(p);
		if (*p == '\0') {
			return rd_error(&r, "record without a type");
		}
		tok = p;
		len = dns_text_token_len(p);
		p += len;
		if (is_digit(tok[0])) {
			if (have_ttl || ttl_parse(tok, len, &out->ttl) != E_OK) {
				return rd_error(
					&r,
					"bad TTL '%s' (a number of seconds up to 2147483647, "
					"or units like 1h30m, expected)",
					token_show(show, sizeof(show), tok, len));
			}
			have_ttl = true;
			continue;
		}
		if (!have_class) {
			uint16_t c = class_from(tok, len);
			if (c != 0) {
				out->rclass = c;
				have_class = true;
				continue;
			}
		}
		break;
	}
	out->type = type_from(tok, len);
	if (out->type == 0) {
		return rd_error(&r, "unknown type '%s'", token_show(show, sizeof(show), tok, len));
	}
	dns_type_to_str(out->type, r.tname, sizeof(r.tname));

	r.p = dns_text_skip_space(p);
	if (r.p[0] == '\\' && r.p[1] == '#' && (r.p[2] == '\0' || dns_text_is_space(r.p[2]))) {
		ret = rd_generic(&r);
	} else {
		ret = rd_fast(&r);
		if (ret == FALLBACK) {
			out->rdlen = 0;
			r.p = dns_text_skip_space(p);
			ret = rd_ldns(&r);
		}
	}
	/* What ldns lets through (empty RDATA, "\# 0" inside parentheses) but a zone cannot
	 * hold: the same check as the zone builder's. */
	if (ret == E_OK && dns_rdata_valid(out->type, out->rdata, out->rdlen) != E_OK) {
		return rd_error(&r, "RDATA does not fit type %s", r.tname);
	}
	return ret;
}

int dns_rr_to_text(char *buf, size_t buflen, const uint8_t *owner, uint16_t type, uint32_t ttl,
		   const uint8_t *rdata, uint16_t rdlen)
{
	size_t olen = dname_len(owner);
	size_t wlen = olen + 10 + rdlen;
	uint8_t *wire = malloc(wlen);
	ldns_rr *lr = NULL;
	char *str = NULL;
	size_t pos = 0;
	int ret = E_OK;

	if (buflen == 0) {
		free(wire);
		return E_TRUNC;
	}
	buf[0] = '\0';
	if (wire == NULL) {
		return -ENOMEM;
	}
	memcpy(wire, owner, olen);
	wire[olen] = (uint8_t)(type >> 8);
	wire[olen + 1] = (uint8_t)type;
	wire[olen + 2] = 0;
	wire[olen + 3] = CLASS_IN;
	wire[olen + 4] = (uint8_t)(ttl >> 24);
	wire[olen + 5] = (uint8_t)(ttl >> 16);
	wire[olen + 6] = (uint8_t)(ttl >> 8);
	wire[olen + 7] = (uint8_t)ttl;
	wire[olen + 8] = (uint8_t)(rdlen >> 8);
	wire[olen + 9] = (uint8_t)rdlen;
	memcpy(wire + olen + 10, rdata, rdlen);

	if (ldns_wire2rr(&lr, wire, wlen, &pos, LDNS_SECTION_ANSWER) == LDNS_STATUS_OK &&
	    pos == wlen) {
		str = ldns_rr2str(lr);
	}
	if (str != NULL) {
		size_t n = strlen(str);
		while (n > 0 && (str[n - 1] == '\n' || str[n - 1] == ' ')) {
			str[--n] = '\0';
		}
		if (n >= buflen) {
			ret = E_TRUNC;
		}
		snprintf(buf, buflen, "%s", str);
	} else {
		/* RDATA that does not fit its type: owner, TTL and RFC 3597 form. */
		char name[DNAME_STR_MAX];
		char tname[16];
		size_t n;
		int w;

		dname_to_str(name, sizeof(name), owner);
		w = snprintf(buf, buflen, "%s\t%u\tIN\t%s\t\\# %u%s", name, ttl,
			     dns_type_to_str(type, tname, sizeof(tname)), rdlen, rdlen ? " " : "");
		n = (size_t)w;
		for (size_t i = 0; i < rdlen && n < buflen; i++, n += 2) {
			snprintf(buf + n, buflen - n, "%02x", rdata[i]);
		}
		if (n >= buflen) {
			ret = E_TRUNC;
		}
	}
	free(str);
	ldns_rr_free(lr);
	free(wire);
	return ret;
}
