#include "server/conf.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/err.h"
#include "dns/log.h"
#include "server/zoneconf.h"
#include "server/http.h"
#include "server/metrics.h"
#include "server/tls.h"

const char conf_default_corefile[] = "# Signet's embedded default: the signed demo zone.\n"
				     "example.test:5300 {\n"
				     "\tbind 127.0.0.1\n"
				     "\tfile {$SIGNET_DEMO_ZONE}\n"
				     "\tdnssec\n"
				     "\tprometheus 127.0.0.1:9153\n"
				     "\thealth 127.0.0.1:8080\n"
				     "\tlog\n"
				     "\terrors\n"
				     "}\n";

/* Directives that configure the server rather than a stage. */
static const char *const server_directives[] = { "limits", "user",     "bind",       "root",
						 "reload", "timeouts", "prometheus", "health",
						 "ready",  "tls" };

const char *conf_directives(void)
{
	static char list[512];
	size_t n = 0;
	if (list[0] != '\0') {
		return list;
	}
	for (const char *const *src = source_names(); *src != NULL; src++) {
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? " " : "", *src);
	}
	for (size_t i = 0; i < sizeof(server_directives) / sizeof(server_directives[0]); i++) {
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? " " : "",
				      server_directives[i]);
	}
	for (const char *const *z = zoneconf_directives(); *z != NULL; z++) {
		n += (size_t)snprintf(list + n, sizeof(list) - n, " %s", *z);
	}
	for (int i = 0; stage_name(i) != NULL && n < sizeof(list); i++) {
		n += (size_t)snprintf(list + n, sizeof(list) - n, " %s", stage_name(i));
	}
	return list;
}

struct ctx {
	conf_t *c;
	cfg_error_fn err_fn;
	void *ud;
	int errors;
	uint16_t default_port;
};

static void fail(struct ctx *x, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail(struct ctx *x, const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->errors++;
	if (x->err_fn != NULL) {
		x->err_fn(x->ud, file, line, msg);
	} else {
		log_err("config", "%s:%d: %s", file, line, msg);
	}
}

static bool is_server_directive(const char *name)
{
	if (zoneconf_directive(name)) {
		return true;
	}
	for (size_t i = 0; i < sizeof(server_directives) / sizeof(server_directives[0]); i++) {
		if (strcmp(server_directives[i], name) == 0) {
			return true;
		}
	}
	return false;
}

/* The port written in a key, or 0 when the key names none. */
static uint16_t key_explicit_port(const cfg_key_t *k)
{
	return k->port_given ? k->port : 0;
}

/* The folder relative paths of a block are taken from: "root", itself relative to the
 * Corefile's folder, or that folder. */
static char *base_dir(const char *dir, const char *root)
{
	char buf[PATH_MAX];
	if (root == NULL) {
		snprintf(buf, sizeof(buf), "%s", dir);
	} else if (root[0] == '/') {
		snprintf(buf, sizeof(buf), "%s", root);
	} else {
		snprintf(buf, sizeof(buf), "%s/%s", dir, root);
	}
	return strdup(buf);
}

static int view_for_port(struct ctx *x, uint16_t port)
{
	conf_t *c = x->c;
	for (int i = 0; i < c->nviews; i++) {
		if (c->views[i].port == port) {
			return i;
		}
	}
	conf_view_t *v = realloc(c->views, (size_t)(c->nviews + 1) * sizeof(*v));
	if (v == NULL) {
		return -ENOMEM;
	}
	c->views = v;
	c->views[c->nviews].port = port;
	return c->nviews++;
}

static int add_listener(struct ctx *x, const cfg_directive_t *d, const char *addr, uint16_t port,
			int view, bool tls)
{
	conf_t *c = x->c;
	conf_listener_t l = { .view = view, .tls = tls };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&l.addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&l.addr;
	char host[INET6_ADDRSTRLEN + 2];

	snprintf(host, sizeof(host), "%s", addr);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		l.addrlen = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		l.addrlen = sizeof(*a6);
	} else {
		fail(x, d ? d->file : "?", d ? d->line : 0,
		     "bind: '%s' is not an IP address (interface names are not supported)", addr);
		return E_CFG_SEMANTIC;
	}
	for (int i = 0; i < c->nlisteners; i++) {
		if (c->listeners[i].addrlen == l.addrlen &&
		    memcmp(&c->listeners[i].addr, &l.addr, l.addrlen) == 0) {
			if (c->listeners[i].tls != tls) {
				fail(x, d ? d->file : "?", d ? d->line : 0,
				     "%s port %u is used by both dns:// and tls:// blocks", host,
				     port);
				return E_CFG_SEMANTIC;
			}
			return E_OK;
		}
	}
	conf_listener_t *nl = realloc(c->listeners, (size_t)(c->nlisteners + 1) * sizeof(*nl));
	if (nl == NULL) {
		return -ENOMEM;
	}
	c->listeners = nl;
	c->listeners[c->nlisteners++] = l;
	return E_OK;
}

static int add_zone(struct ctx *x, int block, int view, const cfg_directive_t *d,
		    const zone_source_ops_t *ops, const char *apex, int nargs)
{
	conf_t *c = x->c;
	conf_zone_t z = { .source = ops, .block = block, .view = view, .dir = d, .nargs = nargs };
	int len = dname_from_str(z.apex, apex, NULL);
	if (len < 0) {
		fail(x, d->file, d->line, "'%s' is not a zone name", apex);
		return E_CFG_SEMANTIC;
	}
	dname_lower(z.apex);
	dname_to_str(z.apex_str, sizeof(z.apex_str), z.apex);
	for (int i = 0; i < c->nzones; i++) {
		if (c->zones[i].view == view && dname_equal(c->zones[i].apex, z.apex)) {
			fail(x, d->file, d->line, "zone %s is already served on port %u",
			     z.apex_str, c->views[view].port);
			return E_CFG_SEMANTIC;
		}
	}
	z.opts = calloc((size_t)d->nprops + 1, sizeof(source_option_t));
	conf_zone_t *nz = realloc(c->zones, (size_t)(c->nzones + 1) * sizeof(*nz));
	if (nz == NULL || z.opts == NULL) {
		free(z.opts);
		return -ENOMEM;
	}
	c->zones = nz;
	snprintf(z.where, sizeof(z.where), "%s:%d", d->file, d->line);
	c->zones[c->nzones++] = z;
	return E_OK;
}

static void zc_fail(void *ud, const char *file, int line, const char *msg)
{
	fail(ud, file, line, "%s", msg);
}

/* Transfer, TSIG, storage, serial and DNSSEC settings of each block, and of each zone. */
static void zone_settings(struct ctx *x)
{
	conf_t *c = x->c;
	c->zblocks = calloc((size_t)c->nblocks + 1, sizeof(zc_block_t));
	if (c->zblocks == NULL) {
		x->errors++;
		return;
	}
	for (int i = 0; i < c->nblocks; i++) {
		if (c->blocks[i].dir != NULL) {
			zoneconf_block(&c->zblocks[i], &c->cfg->blocks[i], c->blocks[i].dir,
				       zc_fail, x);
		}
	}
	for (int i = 0; i < c->nzones; i++) {
		conf_zone_t *z = &c->zones[i];
		z->zb = &c->zblocks[z->block];
		z->transfer = zoneconf_transfer(z->zb, z->apex);
		z->dnssec = zoneconf_dnssec(z->zb, z->apex);
	}
}

/* Point every zone's source configuration at its final storage (the zone array moves while
 * it grows, so this is done once at the end). */
static void link_sources(conf_t *c)
{
	for (int i = 0; i < c->nzones; i++) {
		conf_zone_t *z = &c->zones[i];
		const cfg_directive_t *d = z->dir;
		for (int p = 0; p < d->nprops; p++) {
			z->opts[p].name = d->props[p].name;
			z->opts[p].args = d->props[p].args;
			z->opts[p].argc = d->props[p].argc;
			char *w = NULL;
			if (asprintf(&w, "%s:%d", d->props[p].file, d->props[p].line) < 0) {
				w = NULL;
			}
			z->opts[p].where = w != NULL ? w : d->props[p].file;
			z->owned_where |= w != NULL;
		}
		z->sconf.apex = z->apex;
		z->sconf.apex_str = z->apex_str;
		z->sconf.args = d->args;
		z->sconf.argc = z->nargs;
		z->sconf.opts = z->opts;
		z->sconf.nopts = d->nprops;
		z->sconf.dir = c->blocks[z->block].dir;
		z->sconf.where = z->where;
	}
}

/* One zone a source directive names: it must lie within the block's zones. */
static void source_zone(struct ctx *x, int block, int view, const cfg_block_t *b,
			const cfg_directive_t *d, const zone_source_ops_t *ops, const char *zone,
			int nargs)
{
	uint8_t zn[DNAME_MAX];
	bool ok = false;
	if (dname_from_str(zn, zone, NULL) >= 0) {
		for (int k = 0; k < b->nkeys; k++) {
			uint8_t kz[DNAME_MAX];
			if (dname_from_str(kz, b->keys[k].zone, NULL) >= 0 &&
			    dname_is_sub(zn, kz)) {
				ok = true;
			}
		}
	}
	if (!ok) {
		fail(x, d->file, d->line, "%s: zone '%s' is not within the server block's zones",
		     d->name, zone);
		return;
	}
	add_zone(x, block, view, d, ops, zone, nargs);
}

static void cidr_quiet(void *ud, const char *file, int line, const char *msg)
{
	(void)ud;
	(void)file;
	(void)line;
	(void)msg;
}

/* A source directive: "file DBFILE [ZONES...] { ... }", "sqlite DBFILE [ZONES...]",
 * "etcd [ZONES...]", ... The zones named must lie within the block's zones; none means all
 * of the block's zones. */
static void dir_source(struct ctx *x, int block, int view, const cfg_block_t *b,
		       const cfg_directive_t *d, const zone_source_ops_t *ops)
{
	/* Arguments that are not zones: the file's path for file and sqlite. */
	int nargs = (strcmp(ops->name, "file") == 0 || strcmp(ops->name, "sqlite") == 0) ? 1 : 0;
	if (d->argc < nargs) {
		fail(x, d->file, d->line, "%s: needs the path of its file", d->name);
		return;
	}
	if (d->argc > nargs) {
		for (int i = nargs; i < d->argc; i++) {
			if (strchr(d->args[i], '/') == NULL) {
				source_zone(x, block, view, b, d, ops, d->args[i], nargs);
				continue;
			}
			/* A CIDR ("10.0.0.0/24") is the reverse zones that cover it, as in
			 * CoreDNS; the Corefile parser reads it as it reads a block's key. */
			char text[128];
			cfg_t *cidr = NULL;
			snprintf(text, sizeof(text), "%.100s {\n}\n", d->args[i]);
			if (cfg_parse_string(&cidr, text, d->file, ".", cidr_quiet, NULL) != E_OK ||
			    cidr->nblocks != 1) {
				fail(x, d->file, d->line, "%s: '%s' is neither a zone nor a CIDR",
				     d->name, d->args[i]);
			} else {
				for (int k = 0; k < cidr->blocks[0].nkeys; k++) {
					source_zone(x, block, view, b, d, ops,
						    cidr->blocks[0].keys[k].zone, nargs);
				}
			}
			cfg_free(cidr);
		}
	} else {
		for (int k = 0; k < b->nkeys; k++) {
			add_zone(x, block, view, d, ops, b->keys[k].zone, nargs);
		}
	}
}

static void dir_timeouts(struct ctx *x, conf_block_t *cb, const cfg_directive_t *d)
{
	for (int i = 0; i < d->nprops; i++) {
		const cfg_directive_t *p = &d->props[i];
		uint64_t ms = 0;
		if (p->argc != 1 || cfg_parse_duration(p->args[0], &ms) != E_OK || ms == 0) {
			fail(x, p->file, p->line, "timeouts: %s needs one duration", p->name);
			continue;
		}
		if (strcmp(p->name, "idle") == 0) {
			cb->tcp_idle_ms = ms;
		} else if (strcmp(p->name, "read") == 0) {
			cb->tcp_read_ms = ms;
		} else if (strcmp(p->name, "write") != 0) {
			fail(x, p->file, p->line, "timeouts: unknown property '%s'", p->name);
		}
	}
	if (d->nprops == 0) {
		fail(x, d->file, d->line, "timeouts: needs a block (read, write, idle)");
	}
}

/* limits { tcp_connections N; tcp_per_client N; transfers N; zone_records N } */
static void dir_limits(struct ctx *x, const cfg_directive_t *d)
{
	static const struct {
		const char *name;
		size_t off;
	} props[] = {
		{ "tcp_connections", offsetof(conf_limits_t, tcp_connections) },
		{ "tcp_per_client", offsetof(conf_limits_t, tcp_per_client) },
		{ "transfers", offsetof(conf_limits_t, transfers) },
		{ "zone_records", offsetof(conf_limits_t, zone_records) },
	};
	for (int i = 0; i < d->nprops; i++) {
		const cfg_directive_t *p = &d->props[i];
		size_t k = 0;
		while (k < sizeof(props) / sizeof(props[0]) &&
		       strcmp(props[k].name, p->name) != 0) {
			k++;
		}
		char *end = NULL;
		unsigned long v = p->argc == 1 ? strtoul(p->args[0], &end, 10) : 0;
		if (k == sizeof(props) / sizeof(props[0]) || p->argc != 1 || *end != '\0' ||
		    v > UINT32_MAX) {
			fail(x, p->file, p->line, "limits: unknown property or bad number: %s",
			     p->name);
			continue;
		}
		*(uint32_t *)((char *)&x->c->limits + props[k].off) = (uint32_t)v;
	}
}

static void setup_stage(struct ctx *x, conf_block_t *cb, const cfg_directive_t *d)
{
	const stage_ops_t *ops = stage_find(d->name);
	char err[256] = "";
	if (ops == NULL) {
		fail(x, d->file, d->line, "unknown directive '%s'", d->name);
		return;
	}
	for (int i = 0; i < cb->nstages; i++) {
		if (cb->stages[i].ops == ops && ops->merge) {
			/* rewrite, acl: a repeated directive adds to the first one's rules. */
			if (ops->setup(&cb->stages[i].ctx, d, err, sizeof(err)) != E_OK) {
				fail(x, d->file, d->line, "%s: %s", d->name,
				     err[0] ? err : "bad arguments");
			}
			return;
		}
		if (cb->stages[i].ops == ops) {
			fail(x, d->file, d->line, "directive '%s' given twice in one block",
			     d->name);
			return;
		}
	}
	void *ctx = NULL;
	if (ops->setup != NULL && ops->setup(&ctx, d, err, sizeof(err)) != E_OK) {
		fail(x, d->file, d->line, "%s: %s", d->name, err[0] ? err : "bad arguments");
		return;
	}
	/* Insert in query-path order. */
	int pos = cb->nstages;
	while (pos > 0 && stage_order(cb->stages[pos - 1].ops) > stage_order(ops)) {
		cb->stages[pos] = cb->stages[pos - 1];
		pos--;
	}
	cb->stages[pos].ops = ops;
	cb->stages[pos].ctx = ctx;
	cb->nstages++;
}

/* prometheus, health, ready, tls: checked here, used by server/http.c and server/tls.c. */
static void dir_operational(struct ctx *x, const cfg_directive_t *d)
{
	char err[256] = "";
	int ret = E_OK;
	if (strcmp(d->name, "tls") == 0) {
		ret = tls_directive_check(d, err, sizeof(err));
	} else if (strcmp(d->name, "prometheus") == 0 || strcmp(d->name, "health") == 0 ||
		   strcmp(d->name, "ready") == 0) {
		ret = http_directive_check(d, err, sizeof(err));
	}
	if (ret != E_OK) {
		fail(x, d->file, d->line, "%s", err);
	}
}

static void load_block(struct ctx *x, int bi)
{
	conf_t *c = x->c;
	const cfg_block_t *b = &c->cfg->blocks[bi];
	conf_block_t *cb = &c->blocks[bi];
	const char *root = NULL;
	uint16_t port = 0;
	bool tls = false;

	cb->cfg = b;
	cb->tcp_idle_ms = 10000;
	cb->tcp_read_ms = 10000;
	for (int k = 0; k < b->nkeys; k++) {
		uint16_t p = key_explicit_port(&b->keys[k]);
		if (p == 0) {
			p = x->default_port ? x->default_port : b->keys[k].port;
		}
		if (k > 0 && p != port) {
			fail(x, b->file, b->line,
			     "the keys of one server block name different ports");
		}
		port = p;
		tls = tls || strcmp(b->keys[k].scheme, "tls") == 0;
	}
	int view = view_for_port(x, port);
	if (view < 0) {
		x->errors++;
		return;
	}
	const cfg_directive_t *r = cfg_block_find(b, "root");
	if (r != NULL) {
		if (r->argc != 1) {
			fail(x, r->file, r->line, "root: needs one folder");
		} else {
			root = r->args[0];
		}
	}
	cb->dir = base_dir(c->cfg->dir, root);
	if (cb->dir == NULL) {
		x->errors++;
		return;
	}
	bool bound = false;
	const char *first_bind = NULL;
	for (int i = 0; i < b->ndirs; i++) {
		const cfg_directive_t *d = &b->dirs[i];
		const zone_source_ops_t *src = source_find(d->name);
		if (src != NULL) {
			dir_source(x, bi, view, b, d, src);
		} else if (strcmp(d->name, "bind") == 0) {
			if (d->argc == 0) {
				fail(x, d->file, d->line, "bind: needs at least one address");
			}
			for (int a = 0; a < d->argc; a++) {
				add_listener(x, d, d->args[a], port, view, tls);
			}
			first_bind = first_bind == NULL && d->argc > 0 ? d->args[0] : first_bind;
			bound = true;
		} else if (strcmp(d->name, "timeouts") == 0) {
			dir_timeouts(x, cb, d);
		} else if (strcmp(d->name, "limits") == 0) {
			dir_limits(x, d);
		} else if (strcmp(d->name, "user") == 0) {
			if (d->argc != 1 || strlen(d->args[0]) >= sizeof(c->user)) {
				fail(x, d->file, d->line, "user: needs one user name");
			} else {
				snprintf(c->user, sizeof(c->user), "%s", d->args[0]);
			}
		} else if (strcmp(d->name, "reload") == 0) {
			uint64_t ms = 30000;
			if (d->argc > 0 &&
			    (cfg_parse_duration(d->args[0], &ms) != E_OK || ms == 0)) {
				fail(x, d->file, d->line, "reload: bad interval '%s'", d->args[0]);
			}
			c->reload_ms = ms;
		} else if (!is_server_directive(d->name)) {
			setup_stage(x, cb, d);
		} else {
			dir_operational(x, d);
		}
	}
	if (tls && cfg_block_find(b, "tls") == NULL) {
		fail(x, b->file, b->line, "a tls:// server block needs \"tls CERT KEY [CA]\"");
	}
	if (cfg_block_find(b, "prometheus") != NULL &&
	    metrics_block_new(&cb->metrics, b, port, first_bind, tls) != E_OK) {
		x->errors++;
	}
	if (!bound) {
		add_listener(x, NULL, "0.0.0.0", port, view, tls);
		add_listener(x, NULL, "::", port, view, tls);
	}
}

int conf_load(conf_t **out, const char *path, uint16_t default_port, cfg_error_fn err_fn, void *ud)
{
	return conf_check(out, path, default_port, err_fn, ud, false);
}

int conf_check(conf_t **out, const char *path, uint16_t default_port, cfg_error_fn err_fn, void *ud,
	       bool keep_partial)
{
	struct ctx x = { .err_fn = err_fn, .ud = ud, .default_port = default_port };
	conf_t *c = calloc(1, sizeof(*c));
	int ret;
	if (c == NULL) {
		return -ENOMEM;
	}
	x.c = c;
	if (path != NULL) {
		ret = cfg_parse_file(&c->cfg, path, err_fn, ud);
	} else {
		ret = cfg_parse_string(&c->cfg, conf_default_corefile, "<embedded>", ".", err_fn,
				       ud);
	}
	if (ret != E_OK) {
		conf_free(c);
		return ret;
	}
	c->limits = (conf_limits_t){
		.tcp_connections = 20000, .tcp_per_client = 0, .transfers = 16, .zone_records = 0
	};
	c->nblocks = c->cfg->nblocks;
	c->blocks = calloc((size_t)c->nblocks + 1, sizeof(conf_block_t));
	if (c->blocks == NULL) {
		conf_free(c);
		return -ENOMEM;
	}
	for (int i = 0; i < c->nblocks; i++) {
		load_block(&x, i);
	}
	if (c->nblocks == 0) {
		fail(&x, c->cfg->path, 1, "no server blocks");
	}
	link_sources(c);
	zone_settings(&x);
	if (x.errors > 0) {
		if (keep_partial) {
			*out = c;
		} else {
			conf_free(c);
		}
		return E_CFG_SEMANTIC;
	}
	*out = c;
	return E_OK;
}

void conf_free(conf_t *c)
{
	if (c == NULL) {
		return;
	}
	for (int i = 0; i < c->nblocks && c->blocks != NULL; i++) {
		for (int s = 0; s < c->blocks[i].nstages; s++) {
			stage_t *st = &c->blocks[i].stages[s];
			if (st->ops->teardown != NULL) {
				st->ops->teardown(st->ctx);
			}
		}
	}
	for (int i = 0; i < c->nzones; i++) {
		for (int p = 0; c->zones[i].owned_where && p < c->zones[i].dir->nprops; p++) {
			free((char *)c->zones[i].opts[p].where);
		}
		free(c->zones[i].opts);
	}
	for (int i = 0; i < c->nblocks && c->blocks != NULL; i++) {
		free(c->blocks[i].dir);
		metrics_block_free(c->blocks[i].metrics);
	}
	for (int i = 0; c->zblocks != NULL && i < c->nblocks; i++) {
		zoneconf_block_free(&c->zblocks[i]);
	}
	free(c->zblocks);
	free(c->zones);
	free(c->views);
	free(c->listeners);
	free(c->blocks);
	cfg_free(c->cfg);
	free(c);
}
