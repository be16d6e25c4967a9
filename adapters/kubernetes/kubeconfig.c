/*  Where the API server is and how to authenticate: a kubeconfig file (the YAML kubectl
 *  writes, or JSON), or the in-cluster service account (its token re-read when the kubelet
 *  rotates it).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/kubernetes/internal.h"
#include "dns/err.h"
#include "dns/log.h"

#define FILE_MAX   (16u << 20)
#define YAML_DEPTH 64

static int read_file(const char *path, char **out, size_t *outlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int ret = E_OK;
	if (f == NULL) {
		return -errno;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *p = realloc(buf, cap);
			if (p == NULL || cap > FILE_MAX) {
				free(p == NULL ? buf : p);
				buf = NULL;
				ret = p == NULL ? -ENOMEM : -EFBIG;
				goto out;
			}
			buf = p;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0) {
			break;
		}
	}
	if (ferror(f)) {
		ret = -EIO;
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
out:
	fclose(f);
	return ret;
}

/* ---- base64 ---- */

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	}
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int kube_base64_decode(const char *in, size_t len, uint8_t **out, size_t *outlen)
{
	uint8_t *buf = malloc(len / 4 * 3 + 4);
	uint32_t acc = 0;
	size_t n = 0, bits = 0;
	bool pad = false;
	if (buf == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			continue;
		}
		if (c == '=') {
			pad = true;
			continue;
		}
		int v = b64val(c);
		if (v < 0 || pad) {
			free(buf);
			return E_MALFORMED;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (uint8_t)(acc >> bits);
		}
	}
	*out = buf;
	*outlen = n;
	return E_OK;
}

/* ---- the YAML subset ---- */

struct yline {
	int indent;
	int lineno;
	const char *text; /* after the indentation, trailing blanks removed */
	size_t len;
	const char *raw; /* the whole line, for block scalars */
	size_t rawlen;
};

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

struct yp {
	struct yline *l;
	size_t n, i;
	struct sbuf out;
	char *err;
	size_t errlen;
	int depth;
};

static void sput(struct sbuf *s, const char *data, size_t len)
{
	if (s->oom) {
		return;
	}
	if (s->len + len + 1 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		while (cap < s->len + len + 1) {
			cap *= 2;
		}
		char *p = realloc(s->p, cap);
		if (p == NULL) {
			s->oom = true;
			return;
		}
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->len, data, len);
	s->len += len;
	s->p[s->len] = '\0';
}

static void sputs(struct sbuf *s, const char *str)
{
	sput(s, str, strlen(str));
}

/* A JSON string literal of \a len bytes at \a str. */
static void squote(struct sbuf *s, const char *str, size_t len)
{
	char small[512];
	char *tmp = len < sizeof(small) ? small : malloc(len + 1);
	if (tmp == NULL) {
		s->oom = true;
		return;
	}
	memcpy(tmp, str, len);
	tmp[len] = '\0';
	size_t need = json_quote(NULL, 0, tmp) + 1;
	char *q = malloc(need);
	if (q == NULL) {
		s->oom = true;
	} else {
		json_quote(q, need, tmp);
		sputs(s, q);
		free(q);
	}
	if (tmp != small) {
		free(tmp);
	}
}

static int yfail(struct yp *p, const char *msg)
{
	int line = p->i < p->n ? p->l[p->i].lineno : (p->n ? p->l[p->n - 1].lineno : 0);
	snprintf(p->err, p->errlen, "line %d: %s", line, msg);
	return E_MALFORMED;
}

static bool is_item(const struct yline *l)
{
	return l->text[0] == '-' && (l->len == 1 || l->text[1] == ' ');
}

/* Append the UTF-8 of code point \a cp. */
static void put_utf8(struct sbuf *s, unsigned long cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sput(s, b, n);
}

static int hexval(char h)
{
	return h >= '0' && h <= '9'   ? h - '0'
	       : h >= 'a' && h <= 'f' ? h - 'a' + 10
	       : h >= 'A' && h <= 'F' ? h - 'A' + 10
				      : -1;
}

/* The character of the escape "\c" of a double-quoted scalar; 0 when none (or "\0"). */
static char escape(char c)
{
	switch (c) {
	case 'n':
		return '\n';
	case 't':
		return '\t';
	case 'r':
		return '\r';
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'e':
		return 0x1b;
	case ' ':
	case '"':
	case '\\':
	case '/':
		return c;
	default:
		return 0;
	}
}

/*
 * A scalar starting at \a s (\a len bytes): quoted or plain, into \a val (unquoted). Returns
 * the bytes consumed, or -1 when a quote does not end on the line.
 */
static long scalar(const char *s, size_t len, struct sbuf *val)
{
	size_t i = 0;
	if (len > 0 && s[0] == '"') {
		for (i = 1; i < len; i++) {
			if (s[i] == '"') {
				return (long)i + 1;
			}
			if (s[i] != '\\' || i + 1 >= len) {
				sput(val, s + i, 1);
				continue;
			}
			char c = s[++i];
			char e = escape(c);
			if (c == 'u' || c == 'x' || c == 'U') {
				size_t nd = c == 'x' ? 2 : c == 'u' ? 4 : 8;
				unsigned long cp = 0;
				if (i + nd >= len) {
					return -1;
				}
				for (size_t k = 1; k <= nd; k++) {
					int v = hexval(s[i + k]);
					if (v < 0) {
						return -1;
					}
					cp = cp * 16 + (unsigned long)v;
				}
				i += nd;
				if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
					return -1;
				}
				put_utf8(val, cp);
			} else if (e != 0 || c == '0') {
				sput(val, &e, 1);
			} else {
				return -1;
			}
		}
		return -1;
	}
	if (len > 0 && s[0] == '\'') {
		for (i = 1; i < len; i++) {
			if (s[i] == '\'' && i + 1 < len && s[i + 1] == '\'') {
				sput(val, "'", 1);
				i++;
			} else if (s[i] == '\'') {
				return (long)i + 1;
			} else {
				sput(val, s + i, 1);
			}
		}
		return -1;
	}
	/* Plain: up to a comment (" #"), trailing blanks removed. */
	size_t end = len;
	for (i = 0; i < len; i++) {
		if (s[i] == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
			end = i;
			break;
		}
	}
	while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t')) {
		end--;
	}
	sput(val, s, end);
	return (long)len;
}

static int emit_scalar(struct yp *p, const char *s, size_t len)
{
	struct sbuf v = { 0 };
	if (scalar(s, len, &v) < 0) {
		free(v.p);
		return yfail(p, "a quoted string does not end on its line");
	}
	squote(&p->out, v.p != NULL ? v.p : "", v.len);
	free(v.p);
	return p->out.oom ? -ENOMEM : E_OK;
}

/* "[a, b]": a flow sequence of scalars. */
static int emit_flow_seq(struct yp *p, const char *s, size_t len)
{
	size_t i = 1, n = 0;
	sputs(&p->out, "[");
	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == ',')) {
			i++;
		}
		if (i >= len || s[i] == ']') {
			break;
		}
		struct sbuf v = { 0 };
		size_t start = i;
		if (s[i] == '"' || s[i] == '\'') {
			long used = scalar(s + i, len - i, &v);
			if (used < 0) {
				free(v.p);
				return yfail(p, "a quoted string does not end on its line");
			}
			i += (size_t)used;
		} else {
			while (i < len && s[i] != ',' && s[i] != ']') {
				i++;
			}
			size_t e = i;
			while (e > start && s[e - 1] == ' ') {
				e--;
			}
			sput(&v, s + start, e - start);
		}
		sputs(&p->out, n++ ? "," : "");
		squote(&p->out, v.p != NULL ? v.p : "", v.len);
		free(v.p);
	}
	sputs(&p->out, "]");
	return E_OK;
}

static int block(struct yp *p, int indent);

/* The value after "key:" or "- " on line p->i; consumes the line (and a block scalar's). */
static int value(struct yp *p, const char *s, size_t len, int indent)
{
	if (len > 0 && (s[0] == '|' || s[0] == '>')) {
		bool folded = s[0] == '>';
		struct sbuf v = { 0 };
		int bi = -1;
		p->i++;
		while (p->i < p->n && p->l[p->i].indent > indent) {
			const struct yline *l = &p->l[p->i];
			if (bi < 0) {
				bi = l->indent;
			}
			if (v.len > 0) {
				sput(&v, folded ? " " : "\n", 1);
			}
			size_t skip = (size_t)(l->indent < bi ? l->indent : bi);
			sput(&v, l->raw + skip, l->rawlen - skip);
			p->i++;
		}
		if (!folded && (len < 2 || s[1] != '-')) {
			sput(&v, "\n", 1);
		}
		squote(&p->out, v.p != NULL ? v.p : "", v.len);
		free(v.p);
		return p->out.oom ? -ENOMEM : E_OK;
	}
	int ret = E_OK;
	if (len >= 2 && s[0] == '{' && s[len - 1] == '}') {
		size_t k = 1;
		while (k < len - 1 && s[k] == ' ') {
			k++;
		}
		sputs(&p->out, k == len - 1 ? "{}" : "null"); /* non-empty flow maps: unused */
	} else if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		ret = emit_flow_seq(p, s, len);
	} else {
		ret = emit_scalar(p, s, len);
	}
	p->i++;
	return ret;
}

/* Where "key: value" splits on line \a l: the offset of ':' or -1 (not a mapping line). */
static long key_end(const struct yline *l)
{
	const char *s = l->text;
	size_t len = l->len, i = 0;
	if (len > 0 && (s[0] == '"' || s[0] == '\'')) {
		char q = s[0];
		for (i = 1; i < len && s[i] != q; i++) {
			if (q == '"' && s[i] == '\\') {
				i++;
			}
		}
		i++;
		return i < len && s[i] == ':' && (i + 1 == len || s[i + 1] == ' ') ? (long)i : -1;
	}
	for (i = 0; i < len; i++) {
		if (s[i] == '#' && i > 0 && s[i - 1] == ' ') {
			return -1;
		}
		if (s[i] == ':' && (i + 1 == len || s[i + 1] == ' ' || s[i + 1] == '\t')) {
			return (long)i;
		}
	}
	return -1;
}

static int mapping(struct yp *p, int indent)
{
	size_t n = 0;
	int ret = E_OK;
	sputs(&p->out, "{");
	while (ret == E_OK && p->i < p->n && p->l[p->i].indent == indent && !is_item(&p->l[p->i])) {
		const struct yline *l = &p->l[p->i];
		long ke = key_end(l);
		if (ke < 0) {
			return yfail(p, "expected \"key: value\"");
		}
		sputs(&p->out, n++ ? "," : "");
		ret = emit_scalar(p, l->text, (size_t)ke);
		sputs(&p->out, ":");
		const char *v = l->text + ke + 1;
		size_t vl = l->len - (size_t)ke - 1;
		while (vl > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vl--;
		}
		if (ret != E_OK) {
			break;
		}
		if (vl > 0 && v[0] != '#') {
			ret = value(p, v, vl, indent);
			continue;
		}
		p->i++;
		if (p->i < p->n && p->l[p->i].indent > indent) {
			ret = block(p, p->l[p->i].indent);
		} else if (p->i < p->n && p->l[p->i].indent == indent && is_item(&p->l[p->i])) {
			ret = block(p, indent);
		} else {
			sputs(&p->out, "null");
		}
	}
	if (ret == E_OK && p->i < p->n && p->l[p->i].indent > indent) {
		return yfail(p, "unexpected indentation");
	}
	sputs(&p->out, "}");
	return ret;
}

static int sequence(struct yp *p, int indent)
{
	size_t n = 0;
	int ret = E_OK;
	sputs(&p->out, "[");
	while (ret == E_OK && p->i < p->n && p->l[p->i].indent == indent && is_item(&p->l[p->i])) {
		struct yline *l = &p->l[p->i];
		size_t off = 1;
		while (off < l->len && l->text[off] == ' ') {
			off++;
		}
		sputs(&p->out, n++ ? "," : "");
		if (off >= l->len || l->text[off] == '#') {
			p->i++;
			if (p->i < p->n && p->l[p->i].indent > indent) {
				ret = block(p, p->l[p->i].indent);
			} else {
				sputs(&p->out, "null");
			}
			continue;
		}
		/* "- key: v" opens a mapping whose keys line up with "key". */
		l->indent += (int)off;
		l->text += off;
		l->len -= off;
		ret = block(p, l->indent);
	}
	sputs(&p->out, "]");
	return ret;
}

static int block(struct yp *p, int indent)
{
	int ret;
	if (++p->depth > YAML_DEPTH) {
		return yfail(p, "nested too deeply");
	}
	const struct yline *l = &p->l[p->i];
	if (is_item(l)) {
		ret = sequence(p, indent);
	} else if (key_end(l) >= 0) {
		ret = mapping(p, indent);
	} else {
		ret = value(p, l->text, l->len, indent);
	}
	p->depth--;
	return ret;
}

/* The line of the first byte that is not UTF-8 (RFC 3629) or is NUL; 0 when there is none. */
static int bad_utf8(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	int line = 1;
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned long cp;
		if (c == 0) {
			return line;
		}
		if (c < 0x80) {
			line += c == '\n';
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return line;
		}
		if (len - i <= n) {
			return line;
		}
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80) {
				return line;
			}
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			return line;
		}
		i += n + 1;
	}
	return 0;
}

int kube_yaml_to_json(const char *text, size_t len, char **out, size_t *outlen, char *err,
		      size_t errlen)
{
	struct yp p = { .err = err, .errlen = errlen };
	size_t cap = 0;
	int ret = E_OK, lineno = bad_utf8(text, len);
	if (lineno != 0) {
		snprintf(err, errlen, "line %d: not UTF-8 text", lineno);
		return E_MALFORMED;
	}
	for (size_t pos = 0; pos < len;) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += ll + (nl != NULL);
		lineno++;
		while (ll > 0 &&
		       (line[ll - 1] == '\r' || line[ll - 1] == ' ' || line[ll - 1] == '\t')) {
			ll--;
		}
		size_t ind = 0;
		while (ind < ll && line[ind] == ' ') {
			ind++;
		}
		if (ind < ll && line[ind] == '\t') {
			snprintf(err, errlen, "line %d: tabs cannot indent YAML", lineno);
			ret = E_MALFORMED;
			goto out;
		}
		if (ind == ll || line[ind] == '#' ||
		    (ind == 0 && ll >= 3 &&
		     (memcmp(line, "---", 3) == 0 || memcmp(line, "...", 3) == 0) &&
		     (ll == 3 || line[3] == ' '))) {
			continue;
		}
		if (p.n == cap) {
			cap = cap ? cap * 2 : 64;
			struct yline *nlines = realloc(p.l, cap * sizeof(*nlines));
			if (nlines == NULL) {
				ret = -ENOMEM;
				goto out;
			}
			p.l = nlines;
		}
		p.l[p.n++] = (struct yline){ .indent = (int)ind,
					     .lineno = lineno,
					     .text = line + ind,
					     .len = ll - ind,
					     .raw = line,
					     .rawlen = ll };
	}
	if (p.n == 0) {
		sputs(&p.out, "{}");
	} else {
		ret = block(&p, p.l[0].indent);
		if (ret == E_OK && p.i < p.n) {
			ret = yfail(&p, "unexpected indentation");
		}
	}
	if (ret == E_OK && p.out.oom) {
		ret = -ENOMEM;
	}
	if (ret == E_OK) {
		*out = p.out.p;
		*outlen = p.out.len;
		p.out.p = NULL;
	}
out:
	free(p.out.p);
	free(p.l);
	return ret;
}

/* ---- the connection ---- */

void kube_conn_deinit(kube_conn_t *c)
{
	for (int i = 0; i < 3; i++) {
		if (c->tmp[i] != NULL) {
			unlink(c->tmp[i]);
			free(c->tmp[i]);
		}
	}
	free(c->server);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->token);
	free(c->token_file);
	free(c->user);
	free(c->pass);
	memset(c, 0, sizeof(*c));
}

static void token_refresh(kube_conn_t *c, bool quiet)
{
	struct stat sb;
	char *t = NULL;
	size_t len = 0;
	if (c->token_file == NULL || stat(c->token_file, &sb) != 0) {
		return;
	}
	if (c->token != NULL && sb.st_mtim.tv_sec == c->token_mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == c->token_mtime.tv_nsec && sb.st_size == c->token_size) {
		return;
	}
	int ret = read_file(c->token_file, &t, &len);
	if (ret != E_OK) {
		if (!quiet) {
			log_warn("kubernetes", "cannot read the token %s: %s", c->token_file,
				 err_str(ret));
		}
		return;
	}
	while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' ')) {
		t[--len] = '\0';
	}
	if (c->token != NULL && strcmp(c->token, t) != 0) {
		log_info("kubernetes", "the token in %s changed; using the new one", c->token_file);
	}
	free(c->token);
	c->token = t;
	c->token_mtime = sb.st_mtim;
	c->token_size = sb.st_size;
}

void kube_conn_opts(kube_conn_t *c, http_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	token_refresh(c, false);
	o->ca_file = c->ca_file;
	o->cert_file = c->cert_file;
	o->key_file = c->key_file;
	o->bearer_token = c->token;
	o->user = c->user;
	o->pass = c->pass;
	o->insecure = c->insecure;
}

static char *dupstr(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

int kube_conn_incluster(kube_conn_t *c, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *dir = getenv("SIGNET_K8S_SERVICE_ACCOUNT_DIR");
	char path[PATH_MAX], url[512];
	if (host == NULL || port == NULL || host[0] == '\0' || port[0] == '\0') {
		snprintf(err, errlen,
			 "kubernetes: no endpoint and no kubeconfig, and not running in a cluster "
			 "(KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)");
		return E_CFG_SEMANTIC;
	}
	if (dir == NULL || dir[0] == '\0') {
		dir = "/var/run/secrets/kubernetes.io/serviceaccount";
	}
	snprintf(url, sizeof(url), strchr(host, ':') != NULL ? "https://[%s]:%s" : "https://%s:%s",
		 host, port);
	c->server = strdup(url);
	snprintf(path, sizeof(path), "%s/token", dir);
	c->token_file = strdup(path);
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	if (access(path, R_OK) == 0) {
		c->ca_file = strdup(path);
	}
	if (c->server == NULL || c->token_file == NULL) {
		return -ENOMEM;
	}
	token_refresh(c, true);
	if (c->token == NULL) {
		snprintf(err, errlen,
			 "kubernetes: in-cluster: cannot read the service account token %s",
			 c->token_file);
		return E_CFG_SEMANTIC;
	}
	return E_OK;
}

/* The element of the array \a list whose "name" is \a name. */
static const json_t *named(const json_t *list, const char *name)
{
	for (size_t i = 0; name != NULL && i < json_count(list); i++) {
		const char *n = json_str(json_get(json_at(list, i), "name"), NULL);
		if (n != NULL && strcmp(n, name) == 0) {
			return json_at(list, i);
		}
	}
	return NULL;
}

/* A path of the kubeconfig, relative to its folder. */
static char *kc_path(const char *dir, const char *p)
{
	char buf[PATH_MAX];
	if (p == NULL || p[0] == '\0') {
		return NULL;
	}
	int n = p[0] == '/' ? snprintf(buf, sizeof(buf), "%s", p)
			    : snprintf(buf, sizeof(buf), "%s/%s", dir, p);
	return n > 0 && (size_t)n < sizeof(buf) ? strdup(buf) : NULL;
}

/* Decode base64 \a data into a private temporary file; its path goes to *path and tmp. */
static int kc_data(kube_conn_t *c, const char *data, char **path, int slot)
{
	const char *tmpdir = getenv("TMPDIR");
	char buf[PATH_MAX];
	uint8_t *bin = NULL;
	size_t len = 0;
	int ret = kube_base64_decode(data, strlen(data), &bin, &len);
	if (ret != E_OK) {
		return ret;
	}
	snprintf(buf, sizeof(buf), "%s/signet-kube-XXXXXX",
		 tmpdir != NULL && tmpdir[0] != '\0' ? tmpdir : "/tmp");
	int fd = mkstemp(buf);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || write(fd, bin, len) != (ssize_t)len) {
		ret = -EIO;
	}
	close(fd);
	c->tmp[slot] = strdup(buf);
	free(*path);
	*path = strdup(buf);
	if (ret == E_OK && (c->tmp[slot] == NULL || *path == NULL)) {
		ret = -ENOMEM;
	}
out:
	free(bin);
	return ret;
}

static bool kc_true(const json_t *j)
{
	bool b = false;
	const char *s = json_str(j, NULL);
	return (json_bool(j, &b) && b) || (s != NULL && strcmp(s, "true") == 0);
}

int kube_conn_kubeconfig(kube_conn_t *c, const char *path, const char *context, char *err,
			 size_t errlen)
{
	char *text = NULL, *jtext = NULL, dir[PATH_MAX], msg[256] = "";
	size_t len = 0, jlen = 0;
	json_t *root = NULL;
	int ret = read_file(path, &text, &len);
	if (ret != E_OK) {
		snprintf(err, errlen, "kubernetes: cannot read kubeconfig %s: %s", path,
			 err_str(ret));
		return ret;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
	} else {
		snprintf(dir, sizeof(dir), ".");
	}
	size_t k = strspn(text, " \t\r\n");
	if (text[k] == '{') {
		ret = json_parse(&root, text, len, msg, sizeof(msg));
	} else {
		ret = kube_yaml_to_json(text, len, &jtext, &jlen, msg, sizeof(msg));
		if (ret == E_OK) {
			ret = json_parse(&root, jtext, jlen, msg, sizeof(msg));
		}
	}
	if (ret != E_OK) {
		snprintf(err, errlen, "kubernetes: kubeconfig %s: %s", path,
			 msg[0] ? msg : err_str(ret));
		goto out;
	}
	const char *cname =
		context != NULL ? context : json_str(json_get(root, "current-context"), NULL);
	const json_t *ctx = json_get(named(json_get(root, "contexts"), cname), "context");
	if (ctx == NULL) {
		snprintf(err, errlen, "kubernetes: kubeconfig %s: %s", path,
			 cname == NULL ? "no current-context and no context given"
				       : "no such context");
		if (cname != NULL && strlen(err) + strlen(cname) + 4 < errlen) {
			strcat(err, " '");
			strcat(err, cname);
			strcat(err, "'");
		}
		ret = E_CFG_SEMANTIC;
		goto out;
	}
	const char *clname = json_str(json_get(ctx, "cluster"), NULL);
	const char *uname = json_str(json_get(ctx, "user"), NULL);
	const json_t *cl = json_get(named(json_get(root, "clusters"), clname), "cluster");
	const json_t *us = json_get(named(json_get(root, "users"), uname), "user");
	const char *server = json_str(json_get(cl, "server"), NULL);
	if (server == NULL || server[0] == '\0') {
		snprintf(err, errlen, "kubernetes: kubeconfig %s: cluster '%s' has no server", path,
			 clname ? clname : "");
		ret = E_CFG_SEMANTIC;
		goto out;
	}
	if (json_get(us, "exec") != NULL || json_get(us, "auth-provider") != NULL) {
		snprintf(err, errlen,
			 "kubernetes: kubeconfig %s: user '%s' authenticates with a plugin "
			 "(exec/auth-provider), which Signet does not run; use a token or a "
			 "client certificate",
			 path, uname ? uname : "");
		ret = E_NOTSUP;
		goto out;
	}
	c->server = strdup(server);
	if (c->server != NULL && strlen(c->server) > 0 && c->server[strlen(c->server) - 1] == '/') {
		c->server[strlen(c->server) - 1] = '\0';
	}
	c->insecure = kc_true(json_get(cl, "insecure-skip-tls-verify"));
	c->ca_file = kc_path(dir, json_str(json_get(cl, "certificate-authority"), NULL));
	c->cert_file = kc_path(dir, json_str(json_get(us, "client-certificate"), NULL));
	c->key_file = kc_path(dir, json_str(json_get(us, "client-key"), NULL));
	c->token = dupstr(json_str(json_get(us, "token"), NULL));
	c->token_file = kc_path(dir, json_str(json_get(us, "tokenFile"), NULL));
	c->user = dupstr(json_str(json_get(us, "username"), NULL));
	c->pass = dupstr(json_str(json_get(us, "password"), NULL));
	const char *data[3] = { json_str(json_get(cl, "certificate-authority-data"), NULL),
				json_str(json_get(us, "client-certificate-data"), NULL),
				json_str(json_get(us, "client-key-data"), NULL) };
	char **dst[3] = { &c->ca_file, &c->cert_file, &c->key_file };
	for (int i = 0; i < 3 && ret == E_OK; i++) {
		if (data[i] != NULL && data[i][0] != '\0') {
			ret = kc_data(c, data[i], dst[i], i);
			if (ret != E_OK) {
				snprintf(err, errlen, "kubernetes: kubeconfig %s: %s: %s", path,
					 i == 0   ? "certificate-authority-data"
					 : i == 1 ? "client-certificate-data"
						  : "client-key-data",
					 err_str(ret));
			}
		}
	}
	if (ret == E_OK && c->token_file != NULL) {
		token_refresh(c, true);
		if (c->token == NULL) {
			snprintf(err, errlen, "kubernetes: kubeconfig %s: cannot read tokenFile %s",
				 path, c->token_file);
			ret = E_CFG_SEMANTIC;
		}
	}
	if (ret == E_OK && c->server == NULL) {
		ret = -ENOMEM;
	}
out:
	json_free(root);
	free(jtext);
	free(text);
	return ret;
}
