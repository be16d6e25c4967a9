/*  Signet: domain names in wire form (see name.h). */
#include "dns/name.h"

#include <string.h>

#include "dns/err.h"

/* Top two bits of a length octet: 00 label, 11 compression pointer, 01/10 reserved. */
#define LABEL_TYPE_MASK 0xC0
#define LABEL_PTR       0xC0

/* Fill \a off with the offset of each label (root not counted); return the count. */
static int label_offsets(const uint8_t *name, uint8_t off[DNAME_LABELS_MAX])
{
	int n = 0;
	size_t i = 0;

	while (name[i] != 0) {
		off[n++] = (uint8_t)i;
		i += (size_t)name[i] + 1;
	}
	return n;
}

int dname_unpack(const uint8_t *pkt, size_t pktlen, size_t *pos, uint8_t *out)
{
	size_t p = *pos;
	size_t start = p; /* start of the label sequence being read */
	size_t after = 0; /* where the name ends in place, once known */
	size_t n = 0;
	int jumped = 0;

	for (;;) {
		uint8_t c;

		if (p >= pktlen) {
			return E_MALFORMED;
		}
		c = pkt[p];
		if (c == 0) {
			out[n++] = 0;
			if (!jumped) {
				after = p + 1;
			}
			break;
		}
		if ((c & LABEL_TYPE_MASK) == LABEL_PTR) {
			size_t target;

			if (pktlen - p < 2) {
				return E_MALFORMED;
			}
			target = ((size_t)(c & 0x3F) << 8) | pkt[p + 1];
			if (target >= start) {
				return E_NAME_LOOP;
			}
			if (!jumped) {
				after = p + 2;
				jumped = 1;
			}
			start = target;
			p = target;
			continue;
		}
		if (c & LABEL_TYPE_MASK) {
			return E_MALFORMED;
		}
		if (pktlen - p - 1 < c) {
			return E_MALFORMED;
		}
		/* This label, its length octet and at least the root label must fit. */
		if (n + (size_t)c + 2 > DNAME_MAX) {
			return E_NAME_LONG;
		}
		memcpy(out + n, pkt + p, (size_t)c + 1);
		n += (size_t)c + 1;
		p += (size_t)c + 1;
	}
	*pos = after;
	return (int)n;
}

int dname_check(const uint8_t *name, size_t maxlen)
{
	size_t i = 0;

	for (;;) {
		uint8_t c;

		if (i >= maxlen) {
			return E_MALFORMED;
		}
		c = name[i];
		if (c == 0) {
			return (int)(i + 1);
		}
		if (c & LABEL_TYPE_MASK) {
			return E_MALFORMED;
		}
		i += (size_t)c + 1;
		if (i > maxlen) {
			return E_MALFORMED;
		}
		if (i >= DNAME_MAX) {
			return E_NAME_LONG;
		}
	}
}

size_t dname_len(const uint8_t *name)
{
	size_t i = 0;

	while (name[i] != 0) {
		i += (size_t)name[i] + 1;
	}
	return i + 1;
}

int dname_labels(const uint8_t *name)
{
	int n = 0;
	size_t i = 0;

	while (name[i] != 0) {
		i += (size_t)name[i] + 1;
		n++;
	}
	return n;
}

void dname_lower(uint8_t *name)
{
	/* Length octets are at most 63, below 'A': lower-casing them is a no-op. */
	size_t len = dname_len(name);

	for (size_t i = 0; i < len; i++) {
		name[i] = dname_lower_octet(name[i]);
	}
}

size_t dname_copy_lower(uint8_t *dst, const uint8_t *src)
{
	size_t len = dname_len(src);

	for (size_t i = 0; i < len; i++) {
		dst[i] = dname_lower_octet(src[i]);
	}
	return len;
}

bool dname_equal(const uint8_t *a, const uint8_t *b)
{
	/*
	 * Length octets are never changed by lower-casing and never equal a lower-cased
	 * letter, so while the prefixes agree the label structure agrees too and \a b is
	 * never read past its end.
	 */
	size_t len = dname_len(a);

	for (size_t i = 0; i < len; i++) {
		if (dname_lower_octet(a[i]) != dname_lower_octet(b[i])) {
			return false;
		}
	}
	return true;
}

const uint8_t *dname_parent(const uint8_t *name)
{
	if (name[0] == 0) {
		return NULL;
	}
	return name + name[0] + 1;
}

const uint8_t *dname_suffix(const uint8_t *name, int labels)
{
	int skip = dname_labels(name) - labels;

	if (skip < 0 || labels < 0) {
		return NULL;
	}
	while (skip-- > 0) {
		name += name[0] + 1;
	}
	return name;
}

bool dname_is_sub(const uint8_t *name, const uint8_t *parent)
{
	const uint8_t *s = dname_suffix(name, dname_labels(parent));

	return s != NULL && dname_equal(s, parent);
}

int dname_cmp(const uint8_t *a, const uint8_t *b)
{
	uint8_t aoff[DNAME_LABELS_MAX];
	uint8_t boff[DNAME_LABELS_MAX];
	int na = label_offsets(a, aoff);
	int nb = label_offsets(b, boff);

	while (na > 0 && nb > 0) {
		const uint8_t *la = a + aoff[--na];
		const uint8_t *lb = b + boff[--nb];
		uint8_t min = la[0] < lb[0] ? la[0] : lb[0];

		for (uint8_t i = 1; i <= min; i++) {
			uint8_t ca = dname_lower_octet(la[i]);
			uint8_t cb = dname_lower_octet(lb[i]);

			if (ca != cb) {
				return ca < cb ? -1 : 1;
			}
		}
		if (la[0] != lb[0]) {
			return la[0] < lb[0] ? -1 : 1;
		}
	}
	if (na != nb) {
		return na < nb ? -1 : 1;
	}
	return 0;
}

bool dname_is_wildcard(const uint8_t *name)
{
	return name[0] == 1 && name[1] == '*';
}

uint32_t dname_hash(const uint8_t *name)
{
	uint32_t h = 2166136261u;
	size_t i = 0;

	for (;;) {
		uint8_t l = name[i];

		h = (h ^ l) * 16777619u;
		if (l == 0) {
			break;
		}
		for (size_t j = i + 1; j <= i + l; j++) {
			h = (h ^ dname_lower_octet(name[j])) * 16777619u;
		}
		i += (size_t)l + 1;
	}
	return h;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decode one presentation-format character at \a *p (maybe an escape); advance \a *p. */
static int decode_char(const char **p, uint8_t *out)
{
	const char *s = *p;

	if (s[0] != '\\') {
		*out = (uint8_t)s[0];
		*p = s + 1;
		return E_OK;
	}
	if (s[1] == '\0') {
		return E_NAME_SYNTAX;
	}
	if (is_digit(s[1])) {
		int v;

		if (!is_digit(s[2]) || !is_digit(s[3])) {
			return E_NAME_SYNTAX;
		}
		v = (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
		if (v > 255) {
			return E_NAME_SYNTAX;
		}
		*out = (uint8_t)v;
		*p = s + 4;
		return E_OK;
	}
	*out = (uint8_t)s[1];
	*p = s + 2;
	return E_OK;
}

int dname_from_str(uint8_t *out, const char *str, const uint8_t *origin)
{
	static const uint8_t root[1] = { 0 };
	const char *p = str;
	size_t len = 0;
	size_t olen;

	if (origin == NULL) {
		origin = root;
	}
	if (str[0] == '\0') {
		return E_NAME_SYNTAX;
	}
	if (strcmp(str, "@") == 0) {
		olen = dname_len(origin);
		memcpy(out, origin, olen);
		return (int)olen;
	}
	if (strcmp(str, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	for (;;) {
		size_t lstart = len;
		uint8_t llen = 0;

		/* Room for this label's length octet and, at the least, the root label. */
		if (len + 2 > DNAME_MAX) {
			return E_NAME_LONG;
		}
		len++;
		while (*p != '\0' && *p != '.') {
			uint8_t c;
			int ret = decode_char(&p, &c);

			if (ret != E_OK) {
				return ret;
			}
			if (llen == DNAME_LABEL_MAX) {
				return E_NAME_LABEL;
			}
			if (len + 2 > DNAME_MAX) {
				return E_NAME_LONG;
			}
			out[len++] = c;
			llen++;
		}
		if (llen == 0) {
			return E_NAME_SYNTAX;
		}
		out[lstart] = llen;
		if (*p == '\0') {
			break; /* relative */
		}
		p++;
		if (*p == '\0') {
			out[len++] = 0; /* absolute; room checked above */
			return (int)len;
		}
	}
	olen = dname_len(origin);
	if (len + olen > DNAME_MAX) {
		return E_NAME_LONG;
	}
	memcpy(out + len, origin, olen);
	return (int)(len + olen);
}

/* How dname_to_str writes one octet: 0 as is, 1 as \X, 2 as \DDD. */
static int escape_kind(uint8_t c)
{
	switch (c) {
	case '.':
	case '\\':
	case '"':
	case '(':
	case ')':
	case ';':
	case '@':
	case '$':
		return 1;
	default:
		break;
	}
	return (c <= 0x20 || c >= 0x7F) ? 2 : 0;
}

int dname_to_str(char *buf, size_t buflen, const uint8_t *name)
{
	size_t n = 0;
	size_t i = 0;

	if (name[0] == 0) {
		if (buflen < 2) {
			return E_TRUNC;
		}
		buf[0] = '.';
		buf[1] = '\0';
		return 1;
	}
	while (name[i] != 0) {
		uint8_t l = name[i];

		for (size_t j = i + 1; j <= i + l; j++) {
			uint8_t c = name[j];
			int kind = escape_kind(c);
			size_t need = kind == 0 ? 1 : (kind == 1 ? 2 : 4);

			/* This octet, then at least the final dot and the NUL. */
			if (buflen - n < need + 2) {
				return E_TRUNC;
			}
			if (kind == 0) {
				buf[n++] = (char)c;
			} else if (kind == 1) {
				buf[n++] = '\\';
				buf[n++] = (char)c;
			} else {
				buf[n++] = '\\';
				buf[n++] = (char)('0' + c / 100);
				buf[n++] = (char)('0' + (c / 10) % 10);
				buf[n++] = (char)('0' + c % 10);
			}
		}
		if (buflen - n < 2) {
			return E_TRUNC;
		}
		buf[n++] = '.';
		i += (size_t)l + 1;
	}
	buf[n] = '\0';
	return (int)n;
}

int dname_replace_suffix(uint8_t *out, const uint8_t *name, const uint8_t *from, const uint8_t *to)
{
	const uint8_t *s = dname_suffix(name, dname_labels(from));
	size_t plen;
	size_t tlen;

	if (s == NULL || !dname_equal(s, from)) {
		return -EINVAL;
	}
	plen = (size_t)(s - name);
	tlen = dname_len(to);
	if (plen + tlen > DNAME_MAX) {
		return E_NAME_LONG;
	}
	memmove(out, name, plen);
	memmove(out + plen, to, tlen);
	return (int)(plen + tlen);
}
