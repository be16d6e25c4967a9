/*  Signet: the Corefile parser (CoreDNS/Caddy syntax). See server/cfg.h and doc/corefile.md.
 *
 *  Three steps. Each file is lexed once into tokens (text, line, "first on its line").
 *  A pre-scan of the top level of the Corefile and of the files it imports at top level
 *  collects "(name) { ... }" snippets, so that a snippet may be used before it is
 *  defined. The parser then reads tokens through a stack of frames: "import" pushes the
 *  tokens of a snippet or of the matching files, which the parser reads as if they were
 *  written in place of the import line (as Caddy splices them). Each frame remembers the
 *  frame that imported it, so an import loop is the import of a file or snippet that is
 *  already on that chain.
 */
#include "server/cfg.h"

#include "dns/duration.h"
#include "dns/err.h"
#include "dns/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_MAX_ERRORS  500                /* then "too many errors" and stop */
#define CFG_MAX_IMPORTS 10000              /* imports expanded in one parse */
#define CFG_MAX_CHAIN   64                 /* imports within imports */
#define CFG_MAX_NEST    32                 /* blocks within blocks */
#define CFG_MAX_FILE    (16 * 1024 * 1024) /* bytes in one file */
#define CFG_MSG         768

struct tok {
	char *text; /* quotes removed, before {$ENV} substitution */
	int line;   /* where the token starts */
	int src;    /* index in parser.srcs */
	bool nl;    /* first token on its line */
	bool quoted;
};

struct src {
	const char *name; /* as shown in messages; owned by cfg->files */
	char *real;       /* realpath, NULL for text given in memory */
	char *dir;        /* folder for relative imports, NULL for the current one */
	struct tok *toks;
	int ntoks;
	bool prescanned;
};

struct snippet {
	char *name;
	int src;
	int def;        /* index of the "(name)" token */
	int start, end; /* body tokens [start, end) */
	bool unusable;  /* duplicate or empty name: never found by name */
	bool unclosed;  /* body runs to the end of the file: import nothing */
};

enum frame_kind { FRAME_FILE, FRAME_SNIPPET };

struct frame {
	int src;
	int pos, end;
	int parent; /* frame that imported this one, -1 for the Corefile */
	enum frame_kind kind;
	const char *key; /* realpath or snippet name (borrowed), NULL: never matches */
	bool first;      /* the next token starts a line, whatever it says */
};

struct perror {
	int src; /* -1: the configuration itself */
	int line;
	int seq;
	char *msg;
};

struct parser {
	cfg_t *cfg;
	cfg_error_fn err_fn;
	void *ud;
	int nerrors;
	int fatal; /* -ENOMEM and such: stop */
	bool stop; /* too many errors: stop */
	bool import_cap;
	int nimports;
	struct src *srcs;
	int nsrcs;
	struct snippet *snips;
	int nsnips;
	struct frame *frames;
	int nframes;
	struct perror *errs; /* reported sorted by file and line at the end */
	int nerrs;
};

struct strbuf {
	char *s;
	size_t len, cap;
};

/* ---- small helpers ------------------------------------------------------------------------ */

/* Append one zeroed element to the array *vp of *n elements of \a size bytes. */
static void *vpush(struct parser *p, void *vp, int *n, size_t size)
{
	void *v, *slot;
	size_t cap = 0;

	memcpy(&v, vp, sizeof(v));
	if (*n == 0) {
		cap = 8;
	} else if (*n >= 8 && (*n & (*n - 1)) == 0) {
		cap = 2 * (size_t)*n;
	}
	if (cap) {
		void *nv;

		if (*n >= INT_MAX / 2) {
			p->fatal = -ENOMEM;
			return NULL;
		}
		nv = realloc(v, cap * size);
		if (!nv) {
			p->fatal = -ENOMEM;
			return NULL;
		}
		v = nv;
		memcpy(vp, &v, sizeof(v));
	}
	slot = (char *)v + (size_t)*n * size;
	memset(slot, 0, size);
	(*n)++;
	return slot;
}

static bool sb_add(struct parser *p, struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		char *ns;

		while (cap < b->len + n + 1) {
			cap *= 2;
		}
		ns = realloc(b->s, cap);
		if (!ns) {
			p->fatal = -ENOMEM;
			return false;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return true;
}

static char *xstrdup(struct parser *p, const char *s)
{
	char *d = strdup(s);

	if (!d) {
		p->fatal = -ENOMEM;
	}
	return d;
}

static char *xstrndup(struct parser *p, const char *s, size_t n)
{
	char *d = strndup(s, n);

	if (!d) {
		p->fatal = -ENOMEM;
	}
	return d;
}

/* The folder of \a path as written, or NULL when it has none (the current folder). */
static char *dir_of(struct parser *p, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		return NULL;
	}
	if (slash == path) {
		return xstrdup(p, "/");
	}
	return xstrndup(p, path, (size_t)(slash - path));
}

static char *path_join(struct parser *p, const char *dir, const char *name)
{
	struct strbuf b = { 0 };

	if (!dir || name[0] == '/') {
		return xstrdup(p, name);
	}
	if (!sb_add(p, &b, dir, strlen(dir)) ||
	    (b.len && b.s[b.len - 1] != '/' && !sb_add(p, &b, "/", 1)) ||
	    !sb_add(p, &b, name, strlen(name))) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* ---- errors --------------------------------------------------------------------------------- */

static void report(struct parser *p, const char *file, int line, const char *msg)
{
	if (p->err_fn) {
		p->err_fn(p->ud, file, line, msg);
	} else {
		log_err("cfg", "%s:%d: %s", file, line, msg);
	}
}

static void verrorf(struct parser *p, int src, int line, const char *fmt, va_list ap)
{
	char msg[CFG_MSG];
	struct perror *e;
	const char *file = src >= 0 ? p->srcs[src].name : p->cfg->path;

	if (p->stop) {
		return;
	}
	if (++p->nerrors > CFG_MAX_ERRORS) {
		snprintf(msg, sizeof(msg), "too many errors, stopping here");
		p->stop = true;
	} else {
		vsnprintf(msg, sizeof(msg), fmt, ap);
	}
	e = vpush(p, &p->errs, &p->nerrs, sizeof(*e));
	if (e) {
		e->src = src;
		e->line = line;
		e->seq = p->nerrs;
		e->msg = strdup(msg);
	}
	if (!e || !e->msg) {
		/* Out of memory: say it now, unsorted. */
		report(p, file, line, msg);
		p->fatal = -ENOMEM;
	}
}

static int perror_cmp(const void *a, const void *b)
{
	const struct perror *x = a, *y = b;

	if (x->src != y->src) {
		return x->src < y->src ? -1 : 1;
	}
	if (x->line != y->line) {
		return x->line < y->line ? -1 : 1;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Report the buffered errors in file order (files in the order they were read), then line. */
static void flush_errors(struct parser *p)
{
	int i;

	qsort(p->errs, (size_t)p->nerrs, sizeof(*p->errs), perror_cmp);
	for (i = 0; i < p->nerrs; i++) {
		const struct perror *e = &p->errs[i];

		if (e->msg) {
			report(p, e->src >= 0 ? p->srcs[e->src].name : p->cfg->path, e->line,
			       e->msg);
		}
	}
}

__attribute__((format(printf, 4, 5))) static void errorf(struct parser *p, int src, int line,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verrorf(p, src, line, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4))) static void tok_error(struct parser *p, const struct tok *t,
							    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verrorf(p, t->src, t->line, fmt, ap);
	va_end(ap);
}

/* ---- lexer ---------------------------------------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void lex(struct parser *p, int si, const char *buf, size_t len)
{
	struct strbuf val = { 0 };
	size_t i = 0;
	int line = 1, prev_end = 0;
	bool nul_seen = false;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		i = 3; /* a UTF-8 byte order mark, as Caddy skips it */
	}
	while (i < len && !p->fatal) {
		char c = buf[i];
		int tline = line;
		bool quoted = false;
		struct tok *t;

		if (c == '\n') {
			line++;
			i++;
			continue;
		}
		if (is_blank(c)) {
			i++;
			continue;
		}
		if (c == '\0') {
			if (!nul_seen) {
				errorf(p, si, line, "NUL byte in the file");
				nul_seen = true;
			}
			i++;
			continue;
		}
		if (c == '#') {
			while (i < len && buf[i] != '\n') {
				i++;
			}
			continue;
		}
		val.len = 0;
		if (!sb_add(p, &val, "", 0)) {
			break;
		}
		if (c == '"') {
			size_t start = ++i;
			bool esc = false, closed = false;

			quoted = true;
			while (i < len && !p->fatal) {
				char ch = buf[i++];

				if (ch == '\0') {
					if (!nul_seen) {
						errorf(p, si, line, "NUL byte in the file");
						nul_seen = true;
					}
					continue;
				}
				if (ch == '\n') {
					line++;
				}
				if (esc) {
					/* Only \" is an escape; any other backslash stays. */
					if (ch != '"') {
						sb_add(p, &val, "\\", 1);
					}
					sb_add(p, &val, &ch, 1);
					esc = false;
				} else if (ch == '\\') {
					esc = true;
				} else if (ch == '"') {
					closed = true;
					break;
				} else {
					sb_add(p, &val, &ch, 1);
				}
			}
			if (!closed) {
				size_t e = start;

				errorf(p, si, tline, "unterminated quoted string");
				/* Recover: the token ends with its line, lexing goes on after it. */
				while (e < len && buf[e] != '\n' && buf[e] != '\0') {
					e++;
				}
				val.len = 0;
				sb_add(p, &val, buf + start, e - start);
				i = e;
				line = tline;
			}
		} else {
			size_t start = i;

			while (i < len && !is_blank(buf[i]) && buf[i] != '\n' && buf[i] != '#' &&
			       buf[i] != '\0') {
				i++;
			}
			sb_add(p, &val, buf + start, i - start);
		}
		if (p->fatal) {
			break;
		}
		t = vpush(p, &p->srcs[si].toks, &p->srcs[si].ntoks, sizeof(*t));
		if (!t) {
			break;
		}
		t->text = xstrndup(p, val.s, val.len);
		if (!t->text) {
			p->srcs[si].ntoks--;
			break;
		}
		t->line = tline;
		t->src = si;
		t->nl = prev_end == 0 || tline > prev_end;
		t->quoted = quoted;
		prev_end = line;
	}
	free(val.s);
}

/* ---- sources -------------------------------------------------------------------------------- */

static int read_file(const char *path, char **out, size_t *outlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, rc = E_OK;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if (st.st_size > CFG_MAX_FILE) {
		rc = -EFBIG;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			cap = cap ? 2 * cap : (size_t)st.st_size + 1;
			if (cap > CFG_MAX_FILE + 1) {
				cap = CFG_MAX_FILE + 1;
			}
			if (len == cap) {
				rc = -EFBIG;
				goto out;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			rc = -errno;
			goto out;
		}
		if (n == 0) {
			break;
		}
		len += (size_t)n;
	}
	*out = buf;
	*outlen = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

/* Add a source; takes ownership of \a real and \a dir. Returns its index or -1. */
static int src_add(struct parser *p, const char *name, char *real, char *dir, const char *buf,
		   size_t len)
{
	char **file;
	struct src *s;
	int si = -1;

	file = vpush(p, &p->cfg->files, &p->cfg->nfiles, sizeof(*file));
	if (!file) {
		goto out;
	}
	*file = xstrdup(p, name);
	if (!*file) {
		p->cfg->nfiles--;
		goto out;
	}
	s = vpush(p, &p->srcs, &p->nsrcs, sizeof(*s));
	if (!s) {
		goto out;
	}
	s->name = *file;
	s->real = real;
	s->dir = dir;
	real = NULL;
	dir = NULL;
	si = p->nsrcs - 1;
	lex(p, si, buf, len);
out:
	free(real);
	free(dir);
	return p->fatal ? -1 : si;
}

/* Load (once) the file at \a path for an import written at \a it. Returns its index or -1. */
static int src_load(struct parser *p, const struct tok *it, const char *path, bool quiet)
{
	char *real, *dir = NULL, *buf = NULL;
	size_t len = 0;
	int i, rc, si = -1;

	real = realpath(path, NULL);
	if (!real) {
		if (errno == ENOMEM) {
			p->fatal = -ENOMEM;
		} else if (!quiet) {
			tok_error(p, it, "cannot import '%s': %s", path, strerror(errno));
		}
		return -1;
	}
	for (i = 0; i < p->nsrcs; i++) {
		if (p->srcs[i].real && strcmp(p->srcs[i].real, real) == 0) {
			free(real);
			return i;
		}
	}
	rc = read_file(path, &buf, &len);
	if (rc != E_OK) {
		if (rc == -ENOMEM) {
			p->fatal = -ENOMEM;
		} else if (!quiet) {
			tok_error(p, it, "cannot import '%s': %s", path,
				  rc == -EINVAL  ? "not a regular file"
				  : rc == -EFBIG ? "file too large"
						 : strerror(-rc));
		}
		free(real);
		return -1;
	}
	dir = dir_of(p, path);
	if (!p->fatal) {
		si = src_add(p, path, real, dir, buf, len);
		real = NULL;
		dir = NULL;
	}
	free(real);
	free(dir);
	free(buf);
	return si;
}

/* ---- tokens --------------------------------------------------------------------------------- */

static bool is_open(const struct tok *t)
{
	return !t->quoted && strcmp(t->text, "{") == 0;
}

static bool is_close(const struct tok *t)
{
	return !t->quoted && strcmp(t->text, "}") == 0;
}

static bool is_import(const struct tok *t)
{
	return !t->quoted && strcmp(t->text, "import") == 0;
}

static bool is_brace(const struct tok *t)
{
	return is_open(t) || is_close(t);
}

/* "(name)" followed by "{" in the same source: a snippet definition. */
static bool is_snippet_at(const struct parser *p, int si, int i, int end)
{
	const struct tok *t = &p->srcs[si].toks[i];
	size_t n = strlen(t->text);

	return !t->quoted && n >= 2 && t->text[0] == '(' && t->text[n - 1] == ')' && i + 1 < end &&
	       is_open(&p->srcs[si].toks[i + 1]);
}

/* Index of the "}" matching the "{" at \a open, or the number of tokens when none does. */
static int match_brace(const struct parser *p, int si, int open)
{
	const struct src *s = &p->srcs[si];
	int i, depth = 0;

	for (i = open; i < s->ntoks; i++) {
		if (is_open(&s->toks[i])) {
			depth++;
		} else if (is_close(&s->toks[i]) && --depth == 0) {
			return i;
		}
	}
	return s->ntoks;
}

/* Replace {$NAME}, {env.NAME} and {%NAME%} by the environment (unset: empty). */
static char *env_subst(struct parser *p, const char *s)
{
	struct strbuf b = { 0 };
	size_t i = 0, n = strlen(s);

	if (!sb_add(p, &b, "", 0)) {
		return NULL;
	}
	while (i < n) {
		const char *close = NULL;
		size_t olen = 0;

		if (s[i] == '{' && s[i + 1] == '$') {
			olen = 2;
			close = "}";
		} else if (s[i] == '{' && s[i + 1] == '%') {
			olen = 2;
			close = "%}";
		} else if (strncmp(s + i, "{env.", 5) == 0) {
			olen = 5;
			close = "}";
		}
		if (olen) {
			const char *name = s + i + olen, *end = strstr(name, close);

			if (end && end > name) {
				char *var = xstrndup(p, name, (size_t)(end - name));
				const char *val;

				if (!var) {
					break;
				}
				val = getenv(var);
				free(var);
				if (val && !sb_add(p, &b, val, strlen(val))) {
					break;
				}
				i = (size_t)(end - s) + strlen(close);
				continue;
			}
		}
		if (!sb_add(p, &b, s + i, 1)) {
			break;
		}
		i++;
	}
	if (p->fatal) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* ---- frames --------------------------------------------------------------------------------- */

/* The next token, leaving finished imports; *nl tells whether it starts a line. */
static struct tok *peek(struct parser *p, bool *nl)
{
	while (p->nframes > 0 && !p->fatal && !p->stop) {
		struct frame *f = &p->frames[p->nframes - 1];

		if (f->pos < f->end) {
			struct tok *t = &p->srcs[f->src].toks[f->pos];

			if (nl) {
				*nl = t->nl || f->first;
			}
			return t;
		}
		if (p->nframes == 1) {
			return NULL;
		}
		p->nframes--;
		p->frames[p->nframes - 1].first = true;
	}
	return NULL;
}

/* The next token of the current frame when it is on the same line, else NULL. */
static struct tok *peek_same_line(struct parser *p)
{
	struct frame *f = &p->frames[p->nframes - 1];
	struct tok *t;

	if (p->fatal || p->stop || f->pos >= f->end) {
		return NULL;
	}
	t = &p->srcs[f->src].toks[f->pos];
	return t->nl || f->first ? NULL : t;
}

static void advance(struct parser *p)
{
	struct frame *f = &p->frames[p->nframes - 1];

	f->pos++;
	f->first = false;
}

static void frame_describe(struct parser *p, const struct frame *f, struct strbuf *b)
{
	char part[CFG_MSG];

	if (f->kind == FRAME_SNIPPET) {
		snprintf(part, sizeof(part), "snippet '%s'", f->key);
	} else {
		snprintf(part, sizeof(part), "%s", p->srcs[f->src].name);
	}
	sb_add(p, b, part, strlen(part));
}

/* Push a frame imported at \a it from frame \a importer; false on an import loop. */
static bool push_frame(struct parser *p, const struct tok *it, int importer, enum frame_kind kind,
		       const char *key, int src, int start, int end)
{
	struct frame *f;
	int i, depth = 0, loop = -1;

	for (i = importer; i >= 0; i = p->frames[i].parent) {
		if (loop < 0 && p->frames[i].kind == kind && p->frames[i].key && key &&
		    strcmp(p->frames[i].key, key) == 0) {
			loop = i;
		}
		depth++;
	}
	if (loop >= 0) {
		struct strbuf b = { 0 };
		struct frame self = { .src = src, .kind = kind, .key = key };
		int chain[CFG_MAX_CHAIN + 1], n = 0, j;

		for (i = importer; i >= 0 && n < CFG_MAX_CHAIN; i = p->frames[i].parent) {
			chain[n++] = i;
			if (i == loop) {
				break;
			}
		}
		for (j = n - 1; j >= 0; j--) {
			frame_describe(p, &p->frames[chain[j]], &b);
			sb_add(p, &b, " -> ", 4);
		}
		frame_describe(p, &self, &b);
		if (!p->fatal) {
			tok_error(p, it, "import loop: %s", b.s);
		}
		free(b.s);
		return false;
	}
	if (depth >= CFG_MAX_CHAIN) {
		tok_error(p, it, "imports nested too deeply (more than %d)", CFG_MAX_CHAIN);
		return false;
	}
	f = vpush(p, &p->frames, &p->nframes, sizeof(*f));
	if (!f) {
		return false;
	}
	f->src = src;
	f->pos = start;
	f->end = end;
	f->parent = importer;
	f->kind = kind;
	f->key = key;
	f->first = true;
	return true;
}

/* ---- snippets ------------------------------------------------------------------------------- */

static struct snippet *snippet_find(struct parser *p, const char *name)
{
	int i;

	for (i = 0; i < p->nsnips; i++) {
		if (!p->snips[i].unusable && strcmp(p->snips[i].name, name) == 0) {
			return &p->snips[i];
		}
	}
	return NULL;
}

/* Record the snippet defined at token \a def of \a si (once, whichever pass sees it first). */
static struct snippet *snippet_register(struct parser *p, int si, int def)
{
	const struct tok *t = &p->srcs[si].toks[def];
	struct snippet *s, *prev;
	char *name;
	int i, end;

	for (i = 0; i < p->nsnips; i++) {
		if (p->snips[i].src == si && p->snips[i].def == def) {
			return &p->snips[i];
		}
	}
	name = xstrndup(p, t->text + 1, strlen(t->text) - 2);
	if (!name) {
		return NULL;
	}
	prev = snippet_find(p, name);
	if (prev) {
		const struct tok *pt = &p->srcs[prev->src].toks[prev->def];

		tok_error(p, t, "snippet '%s' is already defined at %s:%d", name,
			  p->srcs[pt->src].name, pt->line);
	}
	end = match_brace(p, si, def + 1);
	s = vpush(p, &p->snips, &p->nsnips, sizeof(*s));
	if (!s) {
		free(name);
		return NULL;
	}
	s->name = name;
	s->src = si;
	s->def = def;
	s->start = def + 2;
	s->end = end;
	s->unusable = prev != NULL || name[0] == '\0';
	s->unclosed = end >= p->srcs[si].ntoks;
	if (name[0] == '\0') {
		tok_error(p, t, "empty snippet name");
	}
	if (s->unclosed) {
		const struct tok *open = &p->srcs[si].toks[def + 1];

		tok_error(p, open, "block for snippet '%s' not closed", name);
	}
	return s;
}

/* ---- imports -------------------------------------------------------------------------------- */

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Caddy's rule (its issue #2096): at most one '*', one '?', and no character class. */
static bool glob_ok(const char *s)
{
	const char *c;
	int stars = 0, marks = 0;

	for (c = s; *c; c++) {
		stars += *c == '*';
		marks += *c == '?';
	}
	return stars <= 1 && marks <= 1 && !(strchr(s, '[') && strchr(s, ']'));
}

static void prescan(struct parser *p, int si, int depth);

/* Pre-scan the files a top-level "import PATTERN" of \a si names, for their snippets. */
static void prescan_files(struct parser *p, int si, const char *pattern, int depth)
{
	char *path = path_join(p, p->srcs[si].dir, pattern);
	glob_t g;
	size_t i;
	int k;

	if (!path) {
		return;
	}
	if (has_glob(pattern)) {
		if (glob_ok(pattern) && glob(path, 0, NULL, &g) == 0) {
			for (i = 0; i < g.gl_pathc && !p->fatal; i++) {
				k = src_load(p, NULL, g.gl_pathv[i], true);
				if (k >= 0) {
					prescan(p, k, depth + 1);
				}
			}
			globfree(&g);
		}
	} else if (access(path, F_OK) == 0) {
		k = src_load(p, NULL, path, true);
		if (k >= 0) {
			prescan(p, k, depth + 1);
		}
	}
	free(path);
}

static void prescan(struct parser *p, int si, int depth)
{
	int *imports = NULL, nimports = 0, i, n, d = 0;

	if (p->srcs[si].prescanned || depth > CFG_MAX_CHAIN) {
		return;
	}
	p->srcs[si].prescanned = true;
	n = p->srcs[si].ntoks;
	for (i = 0; i < n && !p->fatal; i++) {
		const struct tok *t = &p->srcs[si].toks[i];

		if (is_open(t)) {
			d++;
		} else if (is_close(t)) {
			d -= d > 0;
		} else if (d == 0 && is_snippet_at(p, si, i, n)) {
			struct snippet *s = snippet_register(p, si, i);

			if (!s) {
				break;
			}
			i = s->end;
		} else if (d == 0 && is_import(t) && t->nl && i + 1 < n &&
			   !p->srcs[si].toks[i + 1].nl) {
			int *slot = vpush(p, &imports, &nimports, sizeof(*slot));

			if (!slot) {
				break;
			}
			*slot = i + 1;
		}
	}
	for (i = 0; i < nimports && !p->fatal; i++) {
		char *pattern = env_subst(p, p->srcs[si].toks[imports[i]].text);

		if (pattern && pattern[0] && !snippet_find(p, pattern)) {
			prescan_files(p, si, pattern, depth);
		}
		free(pattern);
	}
	free(imports);
}

/* "import PATTERN" names files: load them and push their tokens. */
static void import_files(struct parser *p, const struct tok *it, int importer, const char *pattern)
{
	char *path;
	glob_t g;
	bool globbed = false;
	int *found = NULL, nfound = 0, i, k;

	path = path_join(p, p->srcs[it->src].dir, pattern);
	if (!path) {
		goto out;
	}
	if (has_glob(pattern)) {
		int rc;

		if (!glob_ok(pattern)) {
			tok_error(p, it, "import pattern '%s' may contain only one wildcard",
				  pattern);
			goto out;
		}
		memset(&g, 0, sizeof(g));
		rc = glob(path, 0, NULL, &g);
		globbed = true;
		if (rc == GLOB_NOMATCH) {
			log_warn("cfg", "%s:%d: no files match import pattern '%s'",
				 p->srcs[it->src].name, it->line, pattern);
			goto out;
		}
		if (rc == GLOB_NOSPACE) {
			p->fatal = -ENOMEM;
			goto out;
		}
		if (rc != 0) {
			tok_error(p, it, "cannot read import pattern '%s'", pattern);
			goto out;
		}
		for (i = 0; (size_t)i < g.gl_pathc && !p->fatal; i++) {
			k = src_load(p, it, g.gl_pathv[i], false);
			if (k >= 0) {
				int *slot = vpush(p, &found, &nfound, sizeof(*slot));

				if (!slot) {
					goto out;
				}
				*slot = k;
			}
		}
	} else {
		struct stat st;

		if (stat(path, &st) != 0 && errno == ENOENT) {
			if (!strchr(pattern, '/') && !strchr(pattern, '.')) {
				tok_error(p, it, "unknown snippet '%s'", pattern);
			} else {
				tok_error(p, it, "cannot import '%s': no such file", pattern);
			}
			goto out;
		}
		k = src_load(p, it, path, false);
		if (k >= 0) {
			found = malloc(sizeof(*found));
			if (!found) {
				p->fatal = -ENOMEM;
				goto out;
			}
			found[nfound++] = k;
		}
	}
	/* Push in reverse, so that the first match is read first. */
	for (i = nfound - 1; i >= 0 && !p->fatal; i--) {
		const struct src *s = &p->srcs[found[i]];

		push_frame(p, it, importer, FRAME_FILE, s->real, found[i], 0, s->ntoks);
	}
out:
	if (globbed) {
		globfree(&g);
	}
	free(found);
	free(path);
}

/* "import NAME|PATTERN" at the start of a line: push what it names. */
static void do_import(struct parser *p)
{
	struct tok *it, *arg, *x;
	struct snippet *sn;
	char *pattern = NULL;
	int importer;

	it = peek(p, NULL);
	importer = p->nframes - 1;
	advance(p);
	arg = peek_same_line(p);
	if (!arg || is_brace(arg)) {
		tok_error(p, it, "import needs a snippet name or a file pattern");
		return;
	}
	advance(p);
	while ((x = peek_same_line(p)) != NULL && !is_brace(x)) {
		tok_error(p, x, "import takes one argument, not also '%s'", x->text);
		advance(p);
	}
	pattern = env_subst(p, arg->text);
	if (!pattern) {
		goto out;
	}
	if (!pattern[0]) {
		tok_error(p, it, "import of an empty name");
		goto out;
	}
	if (p->nimports >= CFG_MAX_IMPORTS) {
		if (!p->import_cap) {
			tok_error(p, it, "too many imports (more than %d)", CFG_MAX_IMPORTS);
			p->import_cap = true;
		}
		goto out;
	}
	p->nimports++;
	sn = snippet_find(p, pattern);
	if (sn) {
		if (!sn->unclosed) {
			push_frame(p, it, importer, FRAME_SNIPPET, sn->name, sn->src, sn->start,
				   sn->end);
		}
		goto out;
	}
	import_files(p, it, importer, pattern);
out:
	free(pattern);
}

/* ---- the tree ------------------------------------------------------------------------------- */

static void directive_deinit(cfg_directive_t *d)
{
	int i;

	free(d->name);
	for (i = 0; i < d->argc; i++) {
		free(d->args[i]);
	}
	free(d->args);
	for (i = 0; i < d->nprops; i++) {
		directive_deinit(&d->props[i]);
	}
	free(d->props);
}

static void block_deinit(cfg_block_t *b)
{
	int i;

	for (i = 0; i < b->nkeys; i++) {
		free(b->keys[i].text);
		free(b->keys[i].scheme);
		free(b->keys[i].zone);
	}
	free(b->keys);
	for (i = 0; i < b->ndirs; i++) {
		directive_deinit(&b->dirs[i]);
	}
	free(b->dirs);
}

void cfg_free(cfg_t *cfg)
{
	int i;

	if (!cfg) {
		return;
	}
	for (i = 0; i < cfg->nblocks; i++) {
		block_deinit(&cfg->blocks[i]);
	}
	free(cfg->blocks);
	for (i = 0; i < cfg->nfiles; i++) {
		free(cfg->files[i]);
	}
	free(cfg->files);
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}

const cfg_directive_t *cfg_block_find(const cfg_block_t *blk, const char *name)
{
	int i;

	if (!blk || !name) {
		return NULL;
	}
	for (i = 0; i < blk->ndirs; i++) {
		if (strcmp(blk->dirs[i].name, name) == 0) {
			return &blk->dirs[i];
		}
	}
	return NULL;
}

/* ---- server block keys ---------------------------------------------------------------------- */

static bool add_key(struct parser *p, cfg_block_t *blk, const char *text, const char *scheme,
		    char *zone, uint16_t port, bool port_given)
{
	cfg_key_t *k = vpush(p, &blk->keys, &blk->nkeys, sizeof(*k));

	if (!k) {
		free(zone);
		return false;
	}
	k->zone = zone;
	k->port = port;
	k->port_given = port_given;
	k->text = xstrdup(p, text);
	k->scheme = xstrdup(p, scheme);
	return !p->fatal;
}

/* "ADDR/LEN" with an all-digit LEN: must be a CIDR. */
static bool looks_cidr(const char *host)
{
	const char *slash = strrchr(host, '/');
	const char *c;

	if (!slash || slash == host || !slash[1]) {
		return false;
	}
	for (c = slash + 1; *c; c++) {
		if (*c < '0' || *c > '9') {
			return false;
		}
	}
	for (c = host; c < slash; c++) {
		if (!strchr("0123456789abcdefABCDEF.:", *c)) {
			return false;
		}
	}
	return true;
}

/* The reverse zones of a CIDR: one per byte (IPv4) or nibble (IPv6) boundary, as CoreDNS. */
static bool reverse_keys(struct parser *p, const struct tok *t, cfg_block_t *blk, const char *piece,
			 const char *host, const char *scheme, uint16_t port, bool port_given)
{
	unsigned char addr[16];
	char ip[INET6_ADDRSTRLEN + 1];
	const char *slash = strrchr(host, '/');
	bool v6 = memchr(host, ':', (size_t)(slash - host)) != NULL;
	int bits = v6 ? 128 : 32, step = v6 ? 4 : 8, prefix, q, count, k, u, b;
	size_t iplen = (size_t)(slash - host);

	if (iplen >= sizeof(ip) || strlen(slash + 1) > 3) {
		tok_error(p, t, "invalid CIDR '%s'", piece);
		return false;
	}
	memcpy(ip, host, iplen);
	ip[iplen] = '\0';
	prefix = atoi(slash + 1);
	if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, addr) != 1) {
		tok_error(p, t, "invalid CIDR '%s'", piece);
		return false;
	}
	if (prefix > bits) {
		tok_error(p, t, "invalid CIDR '%s': prefix longer than %d bits", piece, bits);
		return false;
	}
	for (b = prefix; b < bits; b++) {
		addr[b / 8] &= (unsigned char)~(0x80u >> (b % 8));
	}
	q = (prefix + step - 1) / step * step;
	count = 1 << (q - prefix);
	for (k = 0; k < count; k++) {
		unsigned char a[16];
		struct strbuf z = { 0 };
		char label[8];

		memcpy(a, addr, sizeof(a));
		if (q > 0) {
			u = q / step - 1; /* the last unit, whose low bits vary */
			if (v6) {
				a[u / 2] |= (unsigned char)(u % 2 ? k : k << 4);
			} else {
				a[u] |= (unsigned char)k;
			}
		}
		sb_add(p, &z, "", 0);
		for (u = q / step - 1; u >= 0; u--) {
			if (v6) {
				snprintf(label, sizeof(label), "%x.",
					 u % 2 ? a[u / 2] & 0xf : a[u / 2] >> 4);
			} else {
				snprintf(label, sizeof(label), "%u.", a[u]);
			}
			sb_add(p, &z, label, strlen(label));
		}
		sb_add(p, &z, v6 ? "ip6.arpa." : "in-addr.arpa.", v6 ? 9 : 13);
		if (p->fatal) {
			free(z.s);
			return false;
		}
		if (!add_key(p, blk, piece, scheme, z.s, port, port_given)) {
			return false;
		}
	}
	return true;
}

/* Lower case, absolute, checked. NULL (error reported) when it is no zone name. */
static char *normalize_zone(struct parser *p, const struct tok *t, const char *piece,
			    const char *host)
{
	size_t n = strlen(host), i, label = 0;
	char *z;

	if (strcmp(host, ".") == 0) {
		return xstrdup(p, ".");
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)host[i];

		if (c == '.') {
			if (label == 0) {
				tok_error(p, t, "empty label in zone '%s'", piece);
				return NULL;
			}
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '*' || c == '/')) {
			if (c == '{' || c == '}') {
				tok_error(p, t,
					  "invalid character '%c' in zone '%s' (a brace needs "
					  "spaces around it)",
					  c, piece);
			} else if (c > 0x20 && c < 0x7f) {
				tok_error(p, t, "invalid character '%c' in zone '%s'", c, piece);
			} else {
				tok_error(p, t, "invalid character 0x%02x in zone '%s'", c, piece);
			}
			return NULL;
		}
		if (++label > 63) {
			tok_error(p, t, "label longer than 63 characters in zone '%s'", piece);
			return NULL;
		}
	}
	if (n + (host[n - 1] != '.') > 254) {
		tok_error(p, t, "zone '%s' longer than 255 octets", piece);
		return NULL;
	}
	z = malloc(n + 2);
	if (!z) {
		p->fatal = -ENOMEM;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		z[i] = (char)((host[i] >= 'A' && host[i] <= 'Z') ? host[i] - 'A' + 'a' : host[i]);
	}
	if (host[n - 1] != '.') {
		z[n++] = '.';
	}
	z[n] = '\0';
	return z;
}

/* One key "[dns://|tls://]ZONE[:PORT]" (or a CIDR) into \a blk. False when it has errors. */
static bool parse_key(struct parser *p, const struct tok *t, cfg_block_t *blk, const char *piece)
{
	const char *scheme = "dns", *rest = piece, *sep;
	uint16_t port = 53;
	char *host = NULL, *colon, *zone;
	bool ok = false, given = false;

	sep = strstr(piece, "://");
	if (sep) {
		size_t sl = (size_t)(sep - piece);

		if (sl == 3 && strncasecmp(piece, "tls", 3) == 0) {
			scheme = "tls";
			port = 853;
		} else if (!(sl == 3 && strncasecmp(piece, "dns", 3) == 0)) {
			tok_error(p, t, "unsupported scheme '%.*s://' in '%s' (dns:// or tls://)",
				  (int)(sl > 32 ? 32 : sl), piece, piece);
			goto out;
		}
		rest = sep + 3;
	}
	host = xstrdup(p, rest);
	if (!host) {
		goto out;
	}
	colon = strrchr(host, ':');
	if (colon) {
		const char *ps = colon + 1, *c;
		unsigned long v = 0;

		if (!*ps) {
			tok_error(p, t, "missing port after ':' in '%s'", piece);
			goto out;
		}
		for (c = ps; *c >= '0' && *c <= '9'; c++) {
			v = v > 100000 ? v : v * 10 + (unsigned long)(*c - '0');
		}
		if (*c == '\0') {
			if (v < 1 || v > 65535) {
				tok_error(p, t, "port %s out of range (1-65535) in '%s'", ps,
					  piece);
				goto out;
			}
			port = (uint16_t)v;
			given = true;
			*colon = '\0';
		} else if (!strchr(ps, '/')) {
			/* A '/' after the last ':' is an IPv6 CIDR without a port. */
			tok_error(p, t, "invalid port '%s' in '%s'", ps, piece);
			goto out;
		}
	}
	if (!host[0]) {
		tok_error(p, t, "missing zone in '%s' (write '.' for the root zone)", piece);
		goto out;
	}
	if (looks_cidr(host)) {
		ok = reverse_keys(p, t, blk, piece, host, scheme, port, given);
		goto out;
	}
	zone = normalize_zone(p, t, piece, host);
	if (!zone) {
		goto out;
	}
	ok = add_key(p, blk, piece, scheme, zone, port, given);
out:
	free(host);
	return ok;
}

/* The keys in one token: "a.org,b.org:1053". Returns true when it ends with a ','. */
static bool split_keys(struct parser *p, const struct tok *t, cfg_block_t *blk, const char *text,
		       bool *bad)
{
	const char *s = text;
	size_t n = strlen(text);

	while (*s && !p->fatal) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);

		if (len > 0) {
			char *piece = xstrndup(p, s, len);

			if (!piece) {
				break;
			}
			if (!parse_key(p, t, blk, piece)) {
				*bad = true;
			}
			free(piece);
		}
		s += len + (comma != NULL);
	}
	return n > 0 && text[n - 1] == ',';
}

/* ---- blocks and directives ------------------------------------------------------------------ */

/* Skip tokens to the "}" that closes the "{" just read at \a open (no imports expanded). */
static void skip_block(struct parser *p, const struct tok *open, const char *what)
{
	struct tok *t;
	int depth = 1;

	while ((t = peek(p, NULL)) != NULL) {
		advance(p);
		if (is_open(t)) {
			depth++;
		} else if (is_close(t) && --depth == 0) {
			return;
		}
	}
	if (!p->fatal && what) {
		tok_error(p, open, "block for '%s' not closed", what);
	} else if (!p->fatal) {
		tok_error(p, open, "block not closed");
	}
}

static void parse_body(struct parser *p, cfg_directive_t **v, int *n, const struct tok *open,
		       const char *what, int depth);

static void parse_directive(struct parser *p, cfg_directive_t **v, int *n, int depth)
{
	cfg_directive_t d = { 0 }, *slot;
	struct tok *t, *a;
	bool nl = false;

	t = peek(p, NULL);
	advance(p);
	d.file = p->srcs[t->src].name;
	d.line = t->line;
	d.name = env_subst(p, t->text);
	if (!d.name) {
		goto fail;
	}
	if (!d.name[0]) {
		tok_error(p, t, "empty directive name");
	}
	while ((a = peek(p, &nl)) != NULL && !nl && !is_brace(a)) {
		char **arg = vpush(p, &d.args, &d.argc, sizeof(*arg));

		if (!arg) {
			goto fail;
		}
		*arg = env_subst(p, a->text);
		if (!*arg) {
			d.argc--;
			goto fail;
		}
		advance(p);
	}
	if (a && !nl && is_open(a)) {
		advance(p);
		if (depth >= CFG_MAX_NEST) {
			tok_error(p, a, "blocks nested too deeply (more than %d)", CFG_MAX_NEST);
			skip_block(p, a, d.name);
		} else {
			parse_body(p, &d.props, &d.nprops, a, d.name, depth + 1);
		}
	}
	slot = vpush(p, v, n, sizeof(*slot));
	if (!slot) {
		goto fail;
	}
	*slot = d;
	return;
fail:
	directive_deinit(&d);
}

/*
 * Directives up to the "}" that closes \a open (up to the end when \a open is NULL: a server
 * block written without braces).
 */
static void parse_body(struct parser *p, cfg_directive_t **v, int *n, const struct tok *open,
		       const char *what, int depth)
{
	struct tok *t;

	while ((t = peek(p, NULL)) != NULL) {
		struct frame *f = &p->frames[p->nframes - 1];

		if (is_close(t)) {
			advance(p);
			if (open) {
				return;
			}
			tok_error(p, t, "unexpected '}'");
		} else if (is_open(t)) {
			tok_error(p, t,
				  "unexpected '{': a block opens on the line of its directive");
			advance(p);
			skip_block(p, t, NULL);
		} else if (is_import(t)) {
			do_import(p);
		} else if (is_snippet_at(p, f->src, f->pos, f->end)) {
			const struct tok *o = &p->srcs[f->src].toks[f->pos + 1];

			tok_error(p, t, "snippet %s must be defined at the top level", t->text);
			advance(p);
			advance(p);
			skip_block(p, o, t->text);
		} else {
			parse_directive(p, v, n, depth);
		}
	}
	if (open && !p->fatal && !p->stop) {
		tok_error(p, open, "block for '%s' not closed", what);
	}
}

static void parse_server_block(struct parser *p)
{
	cfg_block_t blk = { 0 }, *slot;
	struct tok *t, *first = NULL, *last = NULL;
	char *what = NULL, *text;
	bool nl = false, expect = false, bad = false;

	while ((t = peek(p, &nl)) != NULL && !is_brace(t)) {
		if (first && nl && (!expect || is_import(t))) {
			break;
		}
		advance(p);
		if (!first) {
			first = t;
			blk.file = p->srcs[t->src].name;
			blk.line = t->line;
		}
		last = t;
		text = env_subst(p, t->text);
		if (!text) {
			goto out;
		}
		if (!what && text[0]) {
			what = xstrdup(p, text);
		}
		expect = split_keys(p, t, &blk, text, &bad);
		free(text);
	}
	if (expect) {
		tok_error(p, last, "expected another zone after ','");
	}
	if (blk.nkeys == 0 && !bad && !p->fatal) {
		tok_error(p, first, "server block without a zone");
	}
	if (t && is_open(t)) {
		advance(p);
		parse_body(p, &blk.dirs, &blk.ndirs, t, what ? what : "", 1);
	} else {
		parse_body(p, &blk.dirs, &blk.ndirs, NULL, what ? what : "", 1);
	}
	slot = vpush(p, &p->cfg->blocks, &p->cfg->nblocks, sizeof(*slot));
	if (!slot) {
		goto out;
	}
	*slot = blk;
	memset(&blk, 0, sizeof(blk));
out:
	block_deinit(&blk);
	free(what);
}

static void parse_top(struct parser *p)
{
	struct tok *t;

	while ((t = peek(p, NULL)) != NULL) {
		struct frame *f = &p->frames[p->nframes - 1];

		if (is_close(t)) {
			tok_error(p, t, "unexpected '}'");
			advance(p);
		} else if (is_open(t)) {
			tok_error(p, t, "unexpected '{': a server block starts with its zones");
			advance(p);
			skip_block(p, t, NULL);
		} else if (is_import(t)) {
			do_import(p);
		} else if (is_snippet_at(p, f->src, f->pos, f->end)) {
			struct snippet *s = snippet_register(p, f->src, f->pos);

			if (!s) {
				return;
			}
			f = &p->frames[p->nframes - 1];
			f->pos = s->end + 1 < f->end ? s->end + 1 : f->end;
			f->first = true;
		} else {
			parse_server_block(p);
		}
	}
}

/* ---- entry points --------------------------------------------------------------------------- */

static void parser_deinit(struct parser *p)
{
	int i, j;

	for (i = 0; i < p->nsrcs; i++) {
		for (j = 0; j < p->srcs[i].ntoks; j++) {
			free(p->srcs[i].toks[j].text);
		}
		free(p->srcs[i].toks);
		free(p->srcs[i].real);
		free(p->srcs[i].dir);
	}
	free(p->srcs);
	for (i = 0; i < p->nsnips; i++) {
		free(p->snips[i].name);
	}
	free(p->snips);
	free(p->frames);
	for (i = 0; i < p->nerrs; i++) {
		free(p->errs[i].msg);
	}
	free(p->errs);
}

/* Folder of the configuration, absolute when it exists. */
static char *abs_dir(struct parser *p, const char *dir)
{
	char *real = realpath(dir ? dir : ".", NULL);

	if (real) {
		return real;
	}
	return xstrdup(p, dir ? dir : ".");
}

/* Parse from the source at index 0 (already lexed); hands the tree over on success. */
static int parse_run(struct parser *p, cfg_t **out)
{
	struct frame *root;
	int rc;

	if (!p->fatal && p->nsrcs == 1) {
		root = vpush(p, &p->frames, &p->nframes, sizeof(*root));
		if (root) {
			root->src = 0;
			root->end = p->srcs[0].ntoks;
			root->parent = -1;
			root->kind = FRAME_FILE;
			root->key = p->srcs[0].real;
			root->first = true;
			prescan(p, 0, 0);
			parse_top(p);
		}
	}
	if (p->errs && p->cfg) {
		flush_errors(p);
	}
	rc = p->fatal ? p->fatal : p->nerrors ? E_CFG_SYNTAX : E_OK;
	if (rc == E_OK) {
		*out = p->cfg;
		p->cfg = NULL;
	}
	parser_deinit(p);
	cfg_free(p->cfg);
	return rc;
}

int cfg_parse_string(cfg_t **out, const char *text, const char *name, const char *dir,
		     cfg_error_fn err_fn, void *ud)
{
	struct parser p = { .err_fn = err_fn, .ud = ud };
	char *sdir = NULL;

	if (!out || !text) {
		return -EINVAL;
	}
	*out = NULL;
	p.cfg = calloc(1, sizeof(*p.cfg));
	if (!p.cfg) {
		return -ENOMEM;
	}
	p.cfg->path = xstrdup(&p, name ? name : "<embedded>");
	p.cfg->dir = abs_dir(&p, dir);
	if (dir) {
		sdir = xstrdup(&p, dir);
	}
	if (!p.fatal) {
		src_add(&p, p.cfg->path, NULL, sdir, text, strlen(text));
	} else {
		free(sdir);
	}
	return parse_run(&p, out);
}

int cfg_parse_file(cfg_t **out, const char *path, cfg_error_fn err_fn, void *ud)
{
	struct parser p = { .err_fn = err_fn, .ud = ud };
	char *buf = NULL, *dir = NULL, *real = NULL;
	size_t len = 0;
	int rc;

	if (!out || !path) {
		return -EINVAL;
	}
	*out = NULL;
	rc = read_file(path, &buf, &len);
	if (rc != E_OK) {
		char msg[CFG_MSG];

		snprintf(msg, sizeof(msg), "cannot read the Corefile: %s",
			 rc == -EINVAL ? "not a regular file" : strerror(-rc));
		report(&p, path, 0, msg);
		return rc;
	}
	p.cfg = calloc(1, sizeof(*p.cfg));
	if (!p.cfg) {
		free(buf);
		return -ENOMEM;
	}
	p.cfg->path = xstrdup(&p, path);
	dir = dir_of(&p, path);
	p.cfg->dir = abs_dir(&p, dir);
	real = realpath(path, NULL);
	if (!p.fatal) {
		src_add(&p, path, real, dir, buf, len);
	} else {
		free(real);
		free(dir);
	}
	free(buf);
	return parse_run(&p, out);
}

/* ---- durations ------------------------------------------------------------------------------ */

int cfg_parse_duration(const char *s, uint64_t *msec)
{
	return duration_parse(s, msec);
}
