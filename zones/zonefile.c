/*  Signet: RFC 1035 master files (see zonefile.h).
 *
 *  A file is read whole into memory and cut into logical lines: parentheses join lines,
 *  ';' starts a comment outside quoted strings, a backslash escapes the next character. A
 *  logical line is either a directive ($ORIGIN, $TTL, $INCLUDE, $GENERATE) or one record,
 *  which dns_rr_from_text converts. Every problem is reported through the builder with the
 *  line where the record starts, and reading goes on with the next line.
 *
 *  TTLs (RFC 1035 §5.1, RFC 2308 §4, as BIND does): a record without a TTL takes the last
 *  $TTL; before any $TTL, the TTL of the previous record. When neither exists, an SOA takes
 *  its own MINIMUM (with a warning), which then serves as $TTL would, and any other record is
 *  an error ("no TTL"). TTLs above 2^31 - 1 are errors (BIND warns and uses 0).
 *
 *  $INCLUDE: relative paths are resolved against the including file's folder; files may
 *  nest 16 deep; a file that is already being read is refused (a loop). The included file
 *  starts with the given origin (else the current one) and no previous owner; afterwards the
 *  including file's origin and previous owner are as before ($TTL and the last TTL carry
 *  over, as in BIND).
 *
 *  $GENERATE range lhs [ttl] [class] type rhs, as BIND: range is start-stop[/step], '$' in
 *  lhs and rhs is replaced by the iterator, ${offset[,width[,base]]} with base d, o, x, X,
 *  n or N (nibbles, lowest first, dot separated), '$$' and '\$' give a literal '$'. An rhs
 *  of one quoted string is used without its quotes. Generated records do not change the
 *  previous owner. One $GENERATE yields at most ZONEFILE_GENERATE_MAX records.
 */
#include "zones/zonefile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/err.h"
#include "dns/log.h"
#include "dns/name.h"
#include "dns/rrtext.h"
#include "dns/rrtype.h"

#define INCLUDE_DEPTH_MAX 16

#ifndef ZONEFILE_GENERATE_MAX
#define ZONEFILE_GENERATE_MAX (1u << 20)
#endif

/* State shared by a file and the files it includes. */
struct reader {
	zone_builder_t *b;
	dns_rr_t *rr;
	uint32_t dflt_ttl; /* $TTL */
	bool have_dflt;
	uint32_t last_ttl; /* the previous record's */
	bool have_last;
	int fatal; /* E_ZONE_TOOBIG or -ENOMEM: stop reading */
	int depth; /* files open */
	struct {
		dev_t dev;
		ino_t ino;
	} open[INCLUDE_DEPTH_MAX];
};

/* One file being read. */
struct file {
	const char *path;
	char *data; /* the whole file */
	size_t len;
	size_t pos;
	unsigned line;   /* of data[pos] */
	char *buf;       /* the current logical line (never longer than the file) */
	char *where;     /* "path:line" of the current logical line */
	size_t wherepfx; /* length of "path:" at where */
	uint8_t origin[DNAME_MAX];
	uint8_t owner[DNAME_MAX]; /* the previous owner */
	bool have_owner;
};

/* A growing string. */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
};

static int sbuf_put(struct sbuf *s, const char *data, size_t len)
{
	if (s->len + len + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		char *p;

		while (cap < s->len + len + 1) {
			cap *= 2;
		}
		p = realloc(s->p, cap);
		if (p == NULL) {
			return -ENOMEM;
		}
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->len, data, len);
	s->len += len;
	s->p[s->len] = '\0';
	return E_OK;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

struct tok {
	const char *p;
	size_t len;
};

/* Split \a s into at most \a max tokens; return how many there are (all counted). */
static int split(const char *s, struct tok *t, int max)
{
	int n = 0;

	for (s = dns_text_skip_space(s); *s != '\0'; s = dns_text_skip_space(s)) {
		size_t len = dns_text_token_len(s);
		if (n < max) {
			t[n].p = s;
			t[n].len = len;
		}
		n++;
		s += len;
	}
	return n;
}

/* A token as a C string (caller frees), or NULL without memory. */
static char *tok_dup(const struct tok *t)
{
	char *s = malloc(t->len + 1);

	if (s != NULL) {
		memcpy(s, t->p, t->len);
		s[t->len] = '\0';
	}
	return s;
}

static void report(struct reader *r, int level, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(struct reader *r, int level, const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	zone_builder_report(r->b, level, where, "%s", msg);
}

/* A token for a message: shortened, with a mark when it was. */
static const char *tok_show(char *buf, size_t buflen, const struct tok *t)
{
	if (t->len >= buflen) {
		snprintf(buf, buflen, "%.*s...", (int)(buflen - 4), t->p);
	} else {
		memcpy(buf, t->p, t->len);
		buf[t->len] = '\0';
	}
	return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* Logical lines */

/*
 * The next logical line into f->buf, its first line number in *start. Returns false at the end
 * of the file. A problem found on the way (unbalanced parentheses or quotes, a NUL) is put in
 * *problem; the line is then complete but not to be used.
 */
static bool next_line(struct file *f, unsigned *start, const char **problem)
{
	const char *d = f->data;
	size_t i = f->pos;
	size_t n = 0;
	int depth = 0;
	bool quoted = false;

	*problem = NULL;
	if (i >= f->len) {
		return false;
	}
	*start = f->line;
	while (i < f->len) {
		char c = d[i++];

		if (c == '\n') {
			f->line++;
			if (quoted) {
				*problem = "missing closing quote";
				quoted = false;
			}
			if (depth == 0) {
				break;
			}
			f->buf[n++] = ' ';
			continue;
		}
		if (c == '\0') {
			*problem = "NUL character in the file";
			c = ' ';
		}
		if (c == '\\') {
			f->buf[n++] = c;
			if (i < f->len && d[i] != '\n') {
				if (d[i] == '\0') {
					*problem = "NUL character in the file";
				}
				f->buf[n++] = d[i] != '\0' ? d[i] : ' ';
				i++;
			}
			continue;
		}
		if (quoted) {
			if (c == '"') {
				quoted = false;
			}
			f->buf[n++] = c;
			continue;
		}
		switch (c) {
		case '"':
			quoted = true;
			f->buf[n++] = c;
			break;
		case ';':
			while (i < f->len && d[i] != '\n') {
				i++;
			}
			break;
		case '(':
			depth++;
			f->buf[n++] = ' ';
			break;
		case ')':
			if (depth == 0) {
				*problem = "')' without '('";
			} else {
				depth--;
			}
			f->buf[n++] = ' ';
			break;
		case '\r':
			f->buf[n++] = ' ';
			break;
		default:
			f->buf[n++] = c;
			break;
		}
	}
	if (quoted) {
		*problem = "missing closing quote";
	}
	if (depth > 0) {
		*problem = "missing ')': the record runs to the end of the file";
	}
	f->buf[n] = '\0';
	f->pos = i;
	return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Records */

static void add(struct reader *r, const char *where)
{
	dns_rr_t *rr = r->rr;
	int ret = zone_builder_add(r->b, rr->owner, rr->type, rr->ttl, rr->rdata, rr->rdlen, where);

	/* The builder has reported what it refused; stop only when going on is pointless. */
	if (ret == -ENOMEM) {
		report(r, LOG_ERR, where, "out of memory");
		r->fatal = ret;
	} else if (ret == E_ZONE_TOOBIG) {
		r->fatal = ret;
	}
}

static const char *class_name(uint16_t c, char *buf, size_t len)
{
	switch (c) {
	case CLASS_CH:
		return "CH";
	case 4:
		return "HS";
	case CLASS_NONE:
		return "NONE";
	case CLASS_ANY:
		return "ANY";
	default:
		snprintf(buf, len, "CLASS%u", c);
		return buf;
	}
}

/* The TTL a record without one takes (DNS_TTL_UNSET when none is known). */
static uint32_t default_ttl(const struct reader *r)
{
	if (r->have_dflt) {
		return r->dflt_ttl;
	}
	return r->have_last ? r->last_ttl : DNS_TTL_UNSET;
}

/*
 * Convert \a text and add it. Returns false, with the reason in \a err, when the record is not
 * added because of a problem of its own (what the builder refuses, it reports itself).
 */
static bool record(struct reader *r, struct file *f, const char *text, bool set_owner, char *err,
		   size_t errlen)
{
	dns_rr_t *rr = r->rr;
	char cls[16];
	int ret;

	ret = dns_rr_from_text(rr, text, f->origin, default_ttl(r), f->have_owner ? f->owner : NULL,
			       err, errlen);
	if (ret == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
		r->fatal = ret;
		return false;
	}
	if (ret != E_OK) {
		return false;
	}
	if (set_owner) {
		memcpy(f->owner, rr->owner, dname_len(rr->owner));
		f->have_owner = true;
	}
	if (rr->rclass != CLASS_IN) {
		snprintf(err, errlen, "class %s is not supported: the zone is class IN",
			 class_name(rr->rclass, cls, sizeof(cls)));
		return false;
	}
	if (rr->ttl == DNS_TTL_UNSET) {
		if (rr->type != RR_SOA || rr->rdlen < 20) {
			snprintf(err, errlen,
				 "no TTL, and no $TTL or earlier record to take it from");
			return false;
		}
		const uint8_t *m = rr->rdata + rr->rdlen - 4;
		rr->ttl = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
		if (rr->ttl > 0x7fffffffu) {
			rr->ttl = 0;
		}
		report(r, LOG_WARN, f->where,
		       "SOA without a TTL and no $TTL: using its MINIMUM %" PRIu32, rr->ttl);
		r->dflt_ttl = rr->ttl; /* from now on as if it were the $TTL, as BIND does */
		r->have_dflt = true;
	}
	r->last_ttl = rr->ttl;
	r->have_last = true;
	add(r, f->where);
	return true;
}

/* After a record that failed: its owner still becomes the previous owner, if it parses. */
static void keep_owner(struct file *f)
{
	struct tok t;
	char *s;

	if (dns_text_is_space(f->buf[0]) || split(f->buf, &t, 1) < 1 || (s = tok_dup(&t)) == NULL) {
		return;
	}
	uint8_t owner[DNAME_MAX];
	int len = dname_from_str(owner, s, f->origin);
	if (len > 0) {
		memcpy(f->owner, owner, (size_t)len);
		f->have_owner = true;
	}
	free(s);
}

/* ------------------------------------------------------------------------------------------ */
/* $GENERATE */

/* BIND's nibble format: lowest nibble first, dot separated, padded to \a width characters. */
static int put_nibbles(struct sbuf *s, unsigned width, bool upper, uint32_t v)
{
	static const char hex[] = "0123456789abcdef0123456789ABCDEF";
	int ret = E_OK;

	do {
		char c = hex[(v & 0x0f) + (upper ? 16 : 0)];
		v >>= 4;
		ret = sbuf_put(s, &c, 1);
		if (width > 0) {
			width--;
		}
		if (ret == E_OK && (width > 0 || v != 0)) {
			ret = sbuf_put(s, ".", 1);
			if (width > 0) {
				width--;
			}
		}
	} while (ret == E_OK && (v != 0 || width > 0));
	return ret;
}

/* Read a decimal at \a *p (optional sign when \a sign); false when there is none. */
static bool gen_number(const char **p, const char *end, bool sign, int64_t *out)
{
	const char *s = *p;
	bool neg = false;
	int64_t v = 0;

	if (sign && s < end && (*s == '-' || *s == '+')) {
		neg = *s == '-';
		s++;
	}
	if (s >= end || !is_digit(*s)) {
		return false;
	}
	while (s < end && is_digit(*s)) {
		v = v * 10 + (*s - '0');
		if (v > INT_MAX) {
			return false;
		}
		s++;
	}
	*out = neg ? -v : v;
	*p = s;
	return true;
}

/* Expand one $GENERATE template for the iterator value \a it (BIND's genname). */
static int gen_expand(struct sbuf *out, const char *t, size_t len, uint32_t it, char *err,
		      size_t errlen)
{
	const char *p = t, *end = t + len;
	int ret = E_OK;

	while (p < end && ret == E_OK) {
		int64_t delta = 0, width = 0, v;
		char mode = 'd';
		char num[128];

		if (*p == '\\') {
			size_t k = (p + 1 < end) ? 2 : 1;
			ret = sbuf_put(out, p, k);
			p += k;
			continue;
		}
		if (*p != '$') {
			ret = sbuf_put(out, p, 1);
			p++;
			continue;
		}
		p++;
		if (p < end && *p == '$') {
			ret = sbuf_put(out, "$", 1);
			p++;
			continue;
		}
		if (p < end && *p == '{') {
			const char *m = p + 1;
			bool ok = gen_number(&m, end, true, &delta);

			if (ok && m < end && *m == ',') {
				m++;
				ok = gen_number(&m, end, false, &width) && width <= 255;
				if (ok && m < end && *m == ',') {
					m++;
					ok = m < end && strchr("doxXnN", *m) != NULL && *m != '\0';
					if (ok) {
						mode = *m++;
					}
				}
			}
			if (!ok || m >= end || *m != '}') {
				const char *close = memchr(p, '}', (size_t)(end - p));
				int show = close ? (int)(close - p + 1) : (int)(end - p);
				snprintf(err, errlen, "bad modifier '$%.*s' in $GENERATE", show, p);
				return E_ZONE_SYNTAX;
			}
			p = m + 1;
		}
		v = (int64_t)it + delta;
		if (v < INT_MIN || v > INT_MAX) {
			snprintf(err, errlen, "$GENERATE value %" PRId64 " out of range", v);
			return E_ZONE_SYNTAX;
		}
		switch (mode) {
		case 'n':
		case 'N':
			ret = put_nibbles(out, (unsigned)width, mode == 'N', (uint32_t)(int32_t)v);
			continue;
		case 'o':
			snprintf(num, sizeof(num), "%0*o", (int)width, (unsigned)(int32_t)v);
			break;
		case 'x':
			snprintf(num, sizeof(num), "%0*x", (int)width, (unsigned)(int32_t)v);
			break;
		case 'X':
			snprintf(num, sizeof(num), "%0*X", (int)width, (unsigned)(int32_t)v);
			break;
		default:
			snprintf(num, sizeof(num), "%0*d", (int)width, (int)v);
			break;
		}
		ret = sbuf_put(out, num, strlen(num));
	}
	return ret;
}

/* "start-stop[/step]" */
static bool gen_range(const struct tok *t, uint32_t *start, uint32_t *stop, uint32_t *step)
{
	const char *p = t->p, *end = t->p + t->len;
	int64_t a, b, s = 1;

	if (!gen_number(&p, end, false, &a) || p >= end || *p++ != '-' ||
	    !gen_number(&p, end, false, &b)) {
		return false;
	}
	if (p < end && (*p++ != '/' || !gen_number(&p, end, false, &s) || s < 1)) {
		return false;
	}
	if (p != end || b < a) {
		return false;
	}
	*start = (uint32_t)a;
	*stop = (uint32_t)b;
	*step = (uint32_t)s;
	return true;
}

static void generate(struct reader *r, struct file *f, const char *line)
{
	struct tok t[8];
	int n = split(line, t, 8);
	int k;
	uint32_t start, stop, step, ttl;
	const char *head, *rhs;
	size_t head_len, rhs_len;
	struct sbuf s = { 0 };
	char err[320], show[64];

	if (n < 5) {
		report(r, LOG_ERR, f->where,
		       "$GENERATE needs a range, an owner, a type and data: "
		       "$GENERATE start-stop[/step] lhs [ttl] [class] type rhs");
		return;
	}
	if (!gen_range(&t[1], &start, &stop, &step)) {
		report(r, LOG_ERR, f->where,
		       "bad $GENERATE range '%s' (start-stop[/step], start <= stop, step >= 1)",
		       tok_show(show, sizeof(show), &t[1]));
		return;
	}
	if ((stop - start) / step >= ZONEFILE_GENERATE_MAX) {
		report(r, LOG_ERR, f->where, "$GENERATE range '%s' yields more than %u records",
		       tok_show(show, sizeof(show), &t[1]), (unsigned)ZONEFILE_GENERATE_MAX);
		return;
	}
	/* [ttl] [class] type, checked once here rather than once per record */
	for (k = 3; k < n && k < 8; k++) {
		char *w = tok_dup(&t[k]);
		bool known;

		if (w == NULL) {
			r->fatal = -ENOMEM;
			return;
		}
		if (is_digit(w[0])) {
			known = dns_ttl_from_str(w, &ttl) == E_OK;
		} else {
			known = dns_class_from_str(w) != 0;
			if (!known && dns_type_from_str(w) == 0) {
				report(r, LOG_ERR, f->where, "unknown type '%s' in $GENERATE", w);
				free(w);
				return;
			}
			if (!known) {
				free(w);
				break;
			}
		}
		free(w);
		if (!known) {
			report(r, LOG_ERR, f->where, "bad TTL '%s' in $GENERATE",
			       tok_show(show, sizeof(show), &t[k]));
			return;
		}
	}
	if (k >= n - 1 || k >= 7) {
		report(r, LOG_ERR, f->where, "$GENERATE without a type and data after the owner");
		return;
	}
	head = t[3].p;
	head_len = (size_t)(t[k].p + t[k].len - t[3].p);
	rhs = t[k + 1].p;
	rhs_len = strlen(rhs);
	while (rhs_len > 0 && dns_text_is_space(rhs[rhs_len - 1])) {
		rhs_len--;
	}
	if (rhs[0] == '"' && dns_text_token_len(rhs) == rhs_len && rhs_len >= 2 &&
	    rhs[rhs_len - 1] == '"') {
		rhs++; /* one quoted string: its contents, as BIND */
		rhs_len -= 2;
	}

	for (uint64_t it = start; it <= stop && r->fatal == 0; it += step) {
		int ret;

		s.len = 0;
		ret = gen_expand(&s, t[2].p, t[2].len, (uint32_t)it, err, sizeof(err));
		if (ret == E_OK) {
			ret = sbuf_put(&s, " ", 1);
		}
		if (ret == E_OK) {
			ret = sbuf_put(&s, head, head_len);
		}
		if (ret == E_OK) {
			ret = sbuf_put(&s, " ", 1);
		}
		if (ret == E_OK) {
			ret = gen_expand(&s, rhs, rhs_len, (uint32_t)it, err, sizeof(err));
		}
		if (ret == -ENOMEM) {
			report(r, LOG_ERR, f->where, "out of memory");
			r->fatal = ret;
			break;
		}
		if (ret != E_OK || !record(r, f, s.p, false, err, sizeof(err))) {
			report(r, LOG_ERR, f->where, "$GENERATE stopped at %" PRIu64 ": %s", it,
			       err);
			break;
		}
	}
	free(s.p);
}

/* ------------------------------------------------------------------------------------------ */
/* Files and directives */

static int load_file(struct reader *r, const char *path, const uint8_t *origin, const char *from);

/* A file name as written: quotes removed, backslash escapes resolved. */
static char *unquote(const struct tok *t)
{
	char *s = malloc(t->len + 1);
	size_t n = 0;

	if (s == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < t->len; i++) {
		if (t->p[i] == '"') {
			continue;
		}
		if (t->p[i] == '\\' && i + 1 < t->len) {
			i++;
		}
		s[n++] = t->p[i];
	}
	s[n] = '\0';
	return s;
}

static void include(struct reader *r, struct file *f, const struct tok *t, int n)
{
	uint8_t origin[DNAME_MAX];
	char *name = NULL, *path = NULL, *o = NULL;
	const char *slash;

	if (n < 2 || n > 3) {
		report(r, LOG_ERR, f->where, "$INCLUDE takes a file name and an optional origin");
		return;
	}
	memcpy(origin, f->origin, dname_len(f->origin));
	name = unquote(&t[1]);
	o = n == 3 ? tok_dup(&t[2]) : NULL;
	if (name == NULL || (n == 3 && o == NULL)) {
		r->fatal = -ENOMEM;
		goto out;
	}
	if (o != NULL) {
		int ret = dname_from_str(origin, o, f->origin);
		if (ret < 0) {
			report(r, LOG_ERR, f->where, "bad origin '%s' in $INCLUDE: %s", o,
			       err_str(ret));
			goto out;
		}
	}
	slash = strrchr(f->path, '/');
	if (name[0] == '/' || slash == NULL) {
		path = strdup(name);
	} else if (asprintf(&path, "%.*s/%s", (int)(slash - f->path), f->path, name) < 0) {
		path = NULL;
	}
	if (path == NULL) {
		r->fatal = -ENOMEM;
		goto out;
	}
	if (r->depth >= INCLUDE_DEPTH_MAX) {
		report(r, LOG_ERR, f->where, "$INCLUDE %s: files nested more than %d deep", path,
		       INCLUDE_DEPTH_MAX);
		goto out;
	}
	load_file(r, path, origin, f->where);
out:
	free(path);
	free(o);
	free(name);
}

static void directive(struct reader *r, struct file *f)
{
	struct tok t[4];
	int n = split(f->buf, t, 4);
	char show[64];
	char *arg = NULL;
	int ret;

	if (t[0].len == 7 && strncasecmp(t[0].p, "$ORIGIN", 7) == 0) {
		if (n != 2) {
			report(r, LOG_ERR, f->where, "$ORIGIN takes one domain name");
			return;
		}
		if ((arg = tok_dup(&t[1])) == NULL) {
			r->fatal = -ENOMEM;
			return;
		}
		uint8_t origin[DNAME_MAX];
		ret = dname_from_str(origin, arg, f->origin);
		if (ret < 0) {
			report(r, LOG_ERR, f->where, "bad $ORIGIN '%s': %s", arg, err_str(ret));
		} else {
			memcpy(f->origin, origin, (size_t)ret);
		}
	} else if (t[0].len == 4 && strncasecmp(t[0].p, "$TTL", 4) == 0) {
		if (n != 2) {
			report(r, LOG_ERR, f->where, "$TTL takes one TTL");
			return;
		}
		if ((arg = tok_dup(&t[1])) == NULL) {
			r->fatal = -ENOMEM;
			return;
		}
		if (dns_ttl_from_str(arg, &r->dflt_ttl) != E_OK) {
			report(r, LOG_ERR, f->where,
			       "bad $TTL '%s' (a number of seconds up to 2147483647, or units like "
			       "1h30m, expected)",
			       tok_show(show, sizeof(show), &t[1]));
		} else {
			r->have_dflt = true;
		}
	} else if (t[0].len == 8 && strncasecmp(t[0].p, "$INCLUDE", 8) == 0) {
		include(r, f, t, n);
	} else if (t[0].len == 9 && strncasecmp(t[0].p, "$GENERATE", 9) == 0) {
		generate(r, f, f->buf);
	} else {
		report(r, LOG_ERR, f->where, "unknown directive '%s'",
		       tok_show(show, sizeof(show), &t[0]));
	}
	free(arg);
}

/* f->where = "path:line"; "path:" is already there (snprintf per record costs 4% of a load). */
static void set_where(struct file *f, unsigned line)
{
	char digits[16];
	size_t n = 0;

	do {
		digits[n++] = (char)('0' + line % 10);
		line /= 10;
	} while (line != 0);
	for (size_t i = 0; i < n; i++) {
		f->where[f->wherepfx + i] = digits[n - 1 - i];
	}
	f->where[f->wherepfx + n] = '\0';
}

static void read_lines(struct reader *r, struct file *f)
{
	unsigned start;
	const char *problem;
	char err[320];

	while (r->fatal == 0 && next_line(f, &start, &problem)) {
		if (*dns_text_skip_space(f->buf) == '\0' && problem == NULL) {
			continue;
		}
		set_where(f, start);
		if (problem != NULL) {
			report(r, LOG_ERR, f->where, "%s", problem);
			keep_owner(f);
			continue;
		}
		if (f->buf[0] == '$') {
			directive(r, f);
			continue;
		}
		if (!record(r, f, f->buf, true, err, sizeof(err))) {
			report(r, LOG_ERR, f->where, "%s", err);
			keep_owner(f);
		}
	}
}

/* Read the whole of \a fd; *len excludes the NUL added at the end. */
static int read_all(int fd, size_t hint, char **out, size_t *len)
{
	size_t cap = hint + 1 > 4096 ? hint + 1 : 4096;
	size_t n = 0;
	char *p = malloc(cap);

	if (p == NULL) {
		return -ENOMEM;
	}
	for (;;) {
		ssize_t got;

		if (n + 1 >= cap) {
			char *q = realloc(p, cap * 2);
			if (q == NULL) {
				free(p);
				return -ENOMEM;
			}
			p = q;
			cap *= 2;
		}
		got = read(fd, p + n, cap - n - 1);
		if (got < 0) {
			if (errno == EINTR) {
				continue;
			}
			int e = -errno;
			free(p);
			return e;
		}
		if (got == 0) {
			break;
		}
		n += (size_t)got;
	}
	p[n] = '\0';
	*out = p;
	*len = n;
	return E_OK;
}

/*
 * Read one file. \a from is the "file:line" of the $INCLUDE, NULL for the zone's own file.
 * Returns E_OK, or -errno when the file cannot be read (reported).
 */
static int load_file(struct reader *r, const char *path, const uint8_t *origin, const char *from)
{
	struct file f = { .path = path, .line = 1 };
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		report(r, LOG_ERR, from ? from : path, "cannot open %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) != 0) {
		ret = -errno;
		report(r, LOG_ERR, from ? from : path, "cannot read %s: %s", path, strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		report(r, LOG_ERR, from ? from : path, "cannot read %s: not a regular file", path);
		goto out;
	}
	for (int i = 0; i < r->depth; i++) {
		if (r->open[i].dev == st.st_dev && r->open[i].ino == st.st_ino) {
			ret = E_ZONE_SYNTAX;
			report(r, LOG_ERR, from ? from : path,
			       "$INCLUDE loop: %s is already being read", path);
			goto out;
		}
	}
	ret = read_all(fd, (size_t)st.st_size, &f.data, &f.len);
	if (ret != E_OK) {
		report(r, LOG_ERR, from ? from : path, "cannot read %s: %s", path, err_str(ret));
		if (ret == -ENOMEM) {
			r->fatal = ret;
		}
		goto out;
	}
	f.buf = malloc(f.len + 1);
	f.wherepfx = strlen(path) + 1;
	f.where = malloc(f.wherepfx + 16);
	if (f.buf == NULL || f.where == NULL) {
		ret = r->fatal = -ENOMEM;
		goto out;
	}
	memcpy(f.where, path, f.wherepfx - 1);
	f.where[f.wherepfx - 1] = ':';
	f.where[f.wherepfx] = '\0';
	memcpy(f.origin, origin, dname_len(origin));
	r->open[r->depth].dev = st.st_dev;
	r->open[r->depth].ino = st.st_ino;
	r->depth++;
	read_lines(r, &f);
	r->depth--;
out:
	free(f.where);
	free(f.buf);
	free(f.data);
	close(fd);
	return ret;
}

int zonefile_load(zone_builder_t *b, const char *path)
{
	struct reader r = { .b = b };
	size_t errors = zone_builder_errors(b);
	int ret;

	r.rr = malloc(sizeof(*r.rr));
	if (r.rr == NULL) {
		return -ENOMEM;
	}
	ret = load_file(&r, path, zone_builder_apex(b), NULL);
	if (ret == E_OK || ret == E_ZONE_SYNTAX) {
		ret = zone_builder_errors(b) > errors ? E_ZONE_SYNTAX : E_OK;
	}
	if (r.fatal != 0) {
		ret = r.fatal;
	}
	free(r.rr);
	return ret;
}
