#include "adapters/sqlite/row.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/err.h"
#include "dns/name.h"
#include "dns/rrtype.h"

/* PowerDNS's own type numbers (pdns/qtype.hh). */
#define PDNS_ADDR 65400

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* Decimal digits of \a v at \a p (no NUL); their number. */
static size_t u32_str(char *p, uint32_t v)
{
	char tmp[10];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++) {
		p[i] = tmp[n - 1 - i];
	}
	return n;
}

/* Number of white-space separated fields (a backslash escapes, quotes group). */
static int fields(const char *p)
{
	int n = 0;
	while (*p != '\0') {
		bool quoted = false;
		while (is_space(*p)) {
			p++;
		}
		if (*p == '\0') {
			break;
		}
		n++;
		while (*p != '\0' && (quoted || !is_space(*p))) {
			if (*p == '\\' && p[1] != '\0') {
				p++;
			} else if (*p == '"') {
				quoted = !quoted;
			}
			p++;
		}
	}
	return n;
}

/* A decimal number of at most \a max, surrounding blanks allowed; false otherwise. */
static bool parse_num(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	bool digits = false;
	while (is_space(*s)) {
		s++;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max) {
			return false;
		}
		digits = true;
	}
	while (is_space(*s)) {
		s++;
	}
	*out = (uint32_t)v;
	return digits && *s == '\0';
}

static int row_type(const char *s, uint16_t *type, char *err, size_t errlen)
{
	if (strcasecmp(s, "ADDR") == 0) {
		*type = PDNS_ADDR;
		return E_OK;
	}
	if (strcasecmp(s, "ALIAS") == 0 || strcasecmp(s, "LUA") == 0) {
		snprintf(err, errlen, "type %s is computed by PowerDNS at query time; not served",
			 s);
		return E_NOTSUP;
	}
	/* It goes into the text parsed: a mnemonic, nothing that could make more tokens. */
	bool word = true;
	for (const char *c = s; *c != '\0'; c++) {
		word = word && ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
				(*c >= '0' && *c <= '9') || *c == '-');
	}
	*type = word ? dns_type_from_str(s) : 0;
	if (*type == 0 || rrtype_is_meta(*type)) {
		snprintf(err, errlen, "unknown type '%.40s'", s);
		return E_ZONE_SYNTAX;
	}
	return E_OK;
}

/* What completes an SOA of \a n fields (1..6), PowerDNS 3.x/4.0's defaults. */
static void soa_defaults(char *buf, size_t buflen, int n, const uint8_t *owner)
{
	static const char *const rest[] = { "0", "10800", "3600", "604800", "3600" };
	char apex[DNAME_STR_MAX];
	size_t len = 0;
	buf[0] = '\0';
	if (n < 2) {
		apex[0] = '\0';
		if (owner[0] != 0) {
			dname_to_str(apex, sizeof(apex), owner);
		}
		len = (size_t)snprintf(buf, buflen, " hostmaster.%s", apex);
		n = 2;
	}
	for (int i = n - 2; i < 5 && len < buflen; i++) {
		len += (size_t)snprintf(buf + len, buflen - len, " %s", rest[i]);
	}
}

int sqlite_row_to_rr(const sqlite_row_t *row, dns_rr_t *out, char *err, size_t errlen)
{
	static const uint8_t root[1] = { 0 };
	uint8_t owner[DNAME_MAX];
	char tname[32];
	char prefix[16] = "";
	char suffix[DNAME_STR_MAX + 64] = "";
	char stack[1024];
	char *text = stack;
	const char *content = row->content != NULL ? row->content : "";
	uint16_t type = 0;
	uint32_t ttl = SQLITE_ROW_TTL_DEFAULT;
	uint32_t prio = 0;
	int ret;

	if (row->type == NULL || row->type[0] == '\0') {
		return SQLITE_ROW_NONE;
	}
	ret = row_type(row->type, &type, err, errlen);
	if (ret != E_OK) {
		goto out;
	}
	if (row->name == NULL) {
		snprintf(err, errlen, "name is NULL");
		ret = E_ZONE_SYNTAX;
		goto out;
	}
	/* Names are absolute; the root is "" (or "."). */
	owner[0] = 0;
	if (row->name[0] != '\0') {
		ret = dname_from_str(owner, row->name, root);
		if (ret < 0) {
			snprintf(err, errlen, "bad name '%.80s': %s", row->name, err_str(ret));
			ret = E_ZONE_SYNTAX;
			goto out;
		}
	}
	if (row->ttl != NULL && !parse_num(row->ttl, 0x7fffffffu, &ttl)) {
		snprintf(err, errlen, "bad ttl '%.40s' (0 to 2147483647 expected)", row->ttl);
		ret = E_ZONE_SYNTAX;
		goto out;
	}
	int n = fields(content);
	if (n == 0) {
		snprintf(err, errlen, "empty content");
		ret = E_ZONE_SYNTAX;
		goto out;
	}
	/* RFC 3597 "\# LENGTH HEX" is taken as it is */
	const char *c0 = content + strspn(content, " \t\n\r\f\v");
	bool generic = c0[0] == '\\' && c0[1] == '#' && (c0[2] == '\0' || is_space(c0[2]));
	if (!generic && ((type == RR_MX && n == 1) || (type == RR_SRV && n == 3))) {
		if (row->prio != NULL && row->prio[0] != '\0' &&
		    !parse_num(row->prio, 65535, &prio)) {
			snprintf(err, errlen, "bad prio '%.40s' (0 to 65535 expected)", row->prio);
			ret = E_ZONE_SYNTAX;
			goto out;
		}
		snprintf(prefix, sizeof(prefix), "%u ", prio);
	} else if (!generic && type == RR_SOA && n < 7) {
		soa_defaults(suffix, sizeof(suffix), n, owner);
	}

	/* The type as the row writes it (the parser reads it as row_type did), but PowerDNS's
	 * names in RFC 3597 form. */
	const char *tstr = type == PDNS_ADDR ? "TYPE65400" : row->type;
	size_t clen = strlen(content), tlen = strlen(tstr), plen = strlen(prefix);
	size_t slen = strlen(suffix);
	size_t need = clen + tlen + plen + slen + 32;
	if (need > sizeof(stack)) {
		text = malloc(need);
		if (text == NULL) {
			ret = -ENOMEM;
			goto out;
		}
	}
	/* " TTL IN TYPE [PRIO ]CONTENT[ SOA DEFAULTS]". No owner in the text: the parser takes
	 * it from "prev_owner", so nothing in the row can change it; type and TTL come before
	 * anything the content holds (and the result is checked below). */
	char *p = text;
	*p++ = ' ';
	p += u32_str(p, ttl);
	p = put(p, " IN ", 4);
	p = put(p, tstr, tlen);
	*p++ = ' ';
	p = put(p, prefix, plen);
	p = put(p, content, clen);
	p = put(p, suffix, slen);
	*p = '\0';
	ret = dns_rr_from_text(out, text, root, ttl, owner, err, errlen);
	if (ret == E_OK && (out->type != type || out->rclass != CLASS_IN)) {
		snprintf(err, errlen, "content does not make one %s record",
			 dns_type_to_str(type, tname, sizeof(tname)));
		ret = E_ZONE_SYNTAX;
	}
out:
	if (text != stack) {
		free(text);
	}
	return ret;
}

bool sqlite_row_disabled(const char *value)
{
	if (value == NULL) {
		return false;
	}
	while (is_space(*value)) {
		value++;
	}
	switch (*value) {
	case 't':
	case 'T':
	case 'y':
	case 'Y':
		return true;
	default:
		return strtod(value, NULL) != 0;
	}
}
