/*  The kubernetes source: cluster DNS (Kubernetes DNS-Based Service Discovery, schema
 *  1.1.0) from the API server's list and watch of Services, EndpointSlices, Namespaces and,
 *  with "pods verified", Pods. The Corefile syntax is CoreDNS's:
 *
 *    kubernetes [ZONES...] {
 *        endpoint URL            the API server (default: in-cluster service account)
 *        kubeconfig FILE [CONTEXT]
 *        tls CERT KEY CA         client certificate and CA for "endpoint"
 *        namespaces NS...        only these namespaces
 *        labels SELECTOR         only Services and EndpointSlices matching it
 *        pods disabled|insecure|verified
 *        ttl SECONDS             0..3600, default 5
 *        noendpoints             no EndpointSlice watch: headless services have no records
 *        endpoint_pod_names      a pod's name for an endpoint without a hostname
 *    }
 *
 *  Each zone of the directive is its own source; the ones with the same settings share one
 *  cluster (watch.c): one list+watch, one model. A zone under in-addr.arpa or ip6.arpa gets
 *  the PTR records; any other zone is a cluster domain.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/kubernetes/internal.h"
#include "adapters/sources.h"
#include "dns/err.h"
#include "dns/log.h"
#include "dns/name.h"

#define TTL_DEFAULT 5 /* CoreDNS's */
#define TTL_MAX     3600

struct kube_source {
	zone_source_t base;
	kube_cluster_t *cluster;
	kube_sub_t sub;
	bool subscribed;
	uint8_t apex[DNAME_MAX];
	uint8_t zone[DNAME_MAX]; /* <zone> of the names: the apex, or for a reverse zone the
				    directive's first forward zone */
	bool reverse;
	uint32_t ttl;
	enum kube_pods_mode pods;
	bool endpoint_pod_names;
	char where[256];
	source_changed_fn changed;
	void *ud;
};

static bool is_reverse(const uint8_t *name)
{
	static const uint8_t v4[] = "\x07in-addr\x04"
				    "arpa";
	static const uint8_t v6[] = "\x03ip6\x04"
				    "arpa";
	return dname_is_sub(name, v4) || dname_is_sub(name, v6);
}

struct opts {
	const char *endpoint;
	const char *tls[3];
	const char *kubeconfig;
	const char *context;
	char *labels;
	const source_option_t *ns;
	enum kube_pods_mode pods;
	uint32_t ttl;
	bool noendpoints;
	bool endpoint_pod_names;
};

static int bad(char *err, size_t errlen, const source_option_t *o, const char *msg)
{
	snprintf(err, errlen, "%s: kubernetes: %s %s", o->where, o->name, msg);
	return E_CFG_SEMANTIC;
}

static int parse_opts(const source_conf_t *conf, struct opts *p, char *err, size_t errlen)
{
	p->ttl = TTL_DEFAULT;
	for (int i = 0; i < conf->nopts; i++) {
		const source_option_t *o = &conf->opts[i];
		if (strcmp(o->name, "endpoint") == 0) {
			if (o->argc < 1) {
				return bad(err, errlen, o, "needs the API server's URL");
			}
			if (strncmp(o->args[0], "http://", 7) != 0 &&
			    strncmp(o->args[0], "https://", 8) != 0) {
				return bad(err, errlen, o, "needs an http:// or https:// URL");
			}
			if (o->argc > 1) {
				log_warn("kubernetes", "%s: endpoint: only the first URL is used",
					 o->where);
			}
			p->endpoint = o->args[0];
		} else if (strcmp(o->name, "tls") == 0) {
			if (o->argc != 3) {
				return bad(err, errlen, o, "needs CERT KEY CA");
			}
			for (int k = 0; k < 3; k++) {
				p->tls[k] = o->args[k];
			}
		} else if (strcmp(o->name, "kubeconfig") == 0) {
			if (o->argc < 1 || o->argc > 2) {
				return bad(err, errlen, o, "needs FILE [CONTEXT]");
			}
			p->kubeconfig = o->args[0];
			p->context = o->argc == 2 ? o->args[1] : NULL;
		} else if (strcmp(o->name, "namespaces") == 0) {
			if (o->argc < 1) {
				return bad(err, errlen, o, "needs at least one namespace");
			}
			p->ns = o;
		} else if (strcmp(o->name, "labels") == 0) {
			size_t len = 0;
			if (o->argc < 1) {
				return bad(err, errlen, o, "needs a label selector");
			}
			for (int k = 0; k < o->argc; k++) {
				len += strlen(o->args[k]) + 1;
			}
			free(p->labels);
			p->labels = calloc(1, len);
			if (p->labels == NULL) {
				return -ENOMEM;
			}
			for (int k = 0; k < o->argc; k++) {
				strcat(p->labels, o->args[k]);
				if (k + 1 < o->argc) {
					strcat(p->labels, " ");
				}
			}
		} else if (strcmp(o->name, "pods") == 0) {
			if (o->argc != 1) {
				return bad(err, errlen, o, "needs disabled, insecure or verified");
			}
			if (strcmp(o->args[0], "disabled") == 0) {
				p->pods = KUBE_PODS_DISABLED;
			} else if (strcmp(o->args[0], "insecure") == 0) {
				p->pods = KUBE_PODS_INSECURE;
			} else if (strcmp(o->args[0], "verified") == 0) {
				p->pods = KUBE_PODS_VERIFIED;
			} else {
				return bad(err, errlen, o, "needs disabled, insecure or verified");
			}
		} else if (strcmp(o->name, "ttl") == 0) {
			char *end = NULL;
			long v = o->argc == 1 ? strtol(o->args[0], &end, 10) : -1;
			if (o->argc != 1 || end == o->args[0] || *end != '\0' || v < 0 ||
			    v > TTL_MAX) {
				return bad(err, errlen, o, "needs seconds from 0 to 3600");
			}
			p->ttl = (uint32_t)v;
		} else if (strcmp(o->name, "noendpoints") == 0 ||
			   strcmp(o->name, "endpoint_pod_names") == 0) {
			if (o->argc != 0) {
				return bad(err, errlen, o, "takes no arguments");
			}
			if (o->name[0] == 'n') {
				p->noendpoints = true;
			} else {
				p->endpoint_pod_names = true;
			}
		} else if (strcmp(o->name, "fallthrough") == 0) {
			log_warn("kubernetes",
				 "%s: fallthrough is ignored: the zones are served whole, names "
				 "the cluster does not have are NXDOMAIN",
				 o->where);
		} else {
			snprintf(err, errlen, "%s: kubernetes: unknown property '%s'", o->where,
				 o->name);
			return E_CFG_SEMANTIC;
		}
	}
	if (p->kubeconfig != NULL && p->endpoint != NULL) {
		snprintf(err, errlen, "%s: kubernetes: endpoint and kubeconfig exclude each other",
			 conf->where);
		return E_CFG_SEMANTIC;
	}
	if (p->tls[0] != NULL && p->endpoint == NULL) {
		snprintf(err, errlen, "%s: kubernetes: tls goes with endpoint", conf->where);
		return E_CFG_SEMANTIC;
	}
	return E_OK;
}

/* \a p relative to the Corefile's folder, into \a out. */
static int abspath(const source_conf_t *conf, const char *p, char *out, size_t len)
{
	int n = p[0] == '/' ? snprintf(out, len, "%s", p)
			    : snprintf(out, len, "%s/%s", conf->dir, p);
	return n > 0 && (size_t)n < len ? E_OK : -ENAMETOOLONG;
}

/* The settings of \a p, and the key that names them. */
static int settings(const source_conf_t *conf, struct opts *p, kube_settings_t *set, char **key,
		    char *err, size_t errlen)
{
	char paths[4][PATH_MAX] = { "", "", "", "" };
	size_t klen = 256;
	int ret = E_OK;
	for (int k = 0; k < 3 && ret == E_OK; k++) {
		if (p->tls[k] != NULL) {
			ret = abspath(conf, p->tls[k], paths[k], sizeof(paths[k]));
		}
	}
	if (ret == E_OK && p->kubeconfig != NULL) {
		ret = abspath(conf, p->kubeconfig, paths[3], sizeof(paths[3]));
	}
	if (ret != E_OK) {
		snprintf(err, errlen, "%s: kubernetes: a path is too long", conf->where);
		return E_CFG_SEMANTIC;
	}
	set->pods = p->pods;
	set->noendpoints = p->noendpoints;
	set->labels = p->labels;
	p->labels = NULL;
	if (p->ns != NULL) {
		set->namespaces = calloc((size_t)p->ns->argc, sizeof(char *));
		if (set->namespaces == NULL) {
			return -ENOMEM;
		}
		for (int i = 0; i < p->ns->argc; i++) {
			set->namespaces[set->nnamespaces] = strdup(p->ns->args[i]);
			if (set->namespaces[set->nnamespaces++] == NULL) {
				return -ENOMEM;
			}
			klen += strlen(p->ns->args[i]) + 1;
		}
	}
	if (p->kubeconfig != NULL) {
		ret = kube_conn_kubeconfig(&set->conn, paths[3], p->context, err, errlen);
	} else if (p->endpoint != NULL) {
		set->conn.server = strdup(p->endpoint);
		size_t l = set->conn.server != NULL ? strlen(set->conn.server) : 0;
		while (l > 0 && set->conn.server[l - 1] == '/') {
			set->conn.server[--l] = '\0';
		}
		if (p->tls[0] != NULL) {
			set->conn.cert_file = strdup(paths[0]);
			set->conn.key_file = strdup(paths[1]);
			set->conn.ca_file = strdup(paths[2]);
		}
		ret = set->conn.server != NULL ? E_OK : -ENOMEM;
	} else {
		ret = kube_conn_incluster(&set->conn, err, errlen);
	}
	if (ret != E_OK) {
		return ret;
	}
	klen += strlen(set->conn.server) + 4 * PATH_MAX + (set->labels ? strlen(set->labels) : 0) +
		(p->context ? strlen(p->context) : 0);
	*key = malloc(klen);
	if (*key == NULL) {
		return -ENOMEM;
	}
	int n = snprintf(*key, klen, "%s|%s|%s|%s|%s|%s|%s|%d|%d|", set->conn.server, paths[0],
			 paths[1], paths[2], paths[3], p->context ? p->context : "",
			 set->labels ? set->labels : "", (int)set->pods, (int)set->noendpoints);
	for (int i = 0; i < set->nnamespaces && n > 0 && (size_t)n < klen; i++) {
		n += snprintf(*key + n, klen - (size_t)n, "%s,", set->namespaces[i]);
	}
	return E_OK;
}

static int kube_open(zone_source_t **out, const source_conf_t *conf, char *err, size_t errlen)
{
	struct opts p = { 0 };
	kube_settings_t set = { 0 };
	char *key = NULL;
	bool created = false;
	struct kube_source *s = calloc(1, sizeof(*s));
	int ret;
	if (s == NULL) {
		return -ENOMEM;
	}
	s->base.ops = &source_kubernetes;
	snprintf(s->where, sizeof(s->where), "%s", conf->where);
	dname_copy_lower(s->apex, conf->apex);
	s->reverse = is_reverse(s->apex);
	memcpy(s->zone, s->apex, dname_len(s->apex));
	if (s->reverse) {
		/* The names PTR records point to are in the directive's first forward zone. */
		bool found = false;
		for (int i = 0; i < conf->argc && !found; i++) {
			uint8_t z[DNAME_MAX];
			if (dname_from_str(z, conf->args[i], NULL) > 0 && !is_reverse(z)) {
				dname_copy_lower(s->zone, z);
				found = true;
			}
		}
		if (!found) {
			dname_from_str(s->zone, "cluster.local.", NULL);
		}
	}
	ret = parse_opts(conf, &p, err, errlen);
	if (ret != E_OK) {
		goto fail;
	}
	s->ttl = p.ttl;
	s->pods = p.pods;
	s->endpoint_pod_names = p.endpoint_pod_names;
	ret = settings(conf, &p, &set, &key, err, errlen);
	if (ret != E_OK) {
		if (err[0] == '\0') {
			snprintf(err, errlen, "%s: kubernetes: %s", conf->where, err_str(ret));
		}
		goto fail;
	}
	ret = kube_cluster_get(&s->cluster, key, &set, &created);
	if (ret != E_OK) {
		goto fail;
	}
	kube_settings_free(&set); /* a cluster that already existed left it to us */
	free(key);
	*out = &s->base;
	return E_OK;
fail:
	kube_settings_free(&set);
	free(p.labels);
	free(key);
	free(s);
	return ret;
}

static kube_emit_t emit_of(const struct kube_source *s)
{
	kube_emit_t e = {
		.apex = s->apex,
		.cluster = s->zone,
		.reverse = s->reverse,
		.ttl = s->ttl,
		.pods = s->pods,
		.endpoint_pod_names = s->endpoint_pod_names,
		.where = s->where,
	};
	return e;
}

/* The digest of a zone's records: the TTL is part of them. */
static uint64_t digest(const struct kube_source *s, const kube_emit_t *e)
{
	return e->hash ^ ((uint64_t)s->ttl * 0x100000001b3ull);
}

static int kube_load(zone_source_t *zs, zone_builder_t *b)
{
	struct kube_source *s = (struct kube_source *)zs;
	char why[768];
	const kube_model_t *m = kube_cluster_model(s->cluster, why, sizeof(why));
	if (m == NULL) {
		zone_builder_report(b, LOG_ERR, s->where, "kubernetes: %s", why);
		return -EAGAIN;
	}
	kube_emit_t e = emit_of(s);
	int ret = kube_emit_records(m, &e, b);
	if (ret != E_OK) {
		return ret;
	}
	uint32_t serial = kube_cluster_serial(s->cluster, s->apex, digest(s, &e));
	return kube_emit_soa(&e, b, serial);
}

/* The model changed: a zone whose records stay the same is not loaded again (a change of
 * a Service's ports does not touch in-addr.arpa). */
static void on_changed(void *ud)
{
	struct kube_source *s = ud;
	char why[8];
	const kube_model_t *m = kube_cluster_model(s->cluster, why, sizeof(why));
	if (m != NULL) {
		kube_emit_t e = emit_of(s);
		if (kube_emit_records(m, &e, NULL) == E_OK &&
		    kube_cluster_same(s->cluster, s->apex, digest(s, &e))) {
			return;
		}
	}
	if (s->changed != NULL) {
		s->changed(s->ud);
	}
}

static int kube_watch(zone_source_t *zs, struct event_base *base, source_changed_fn changed,
		      void *ud)
{
	struct kube_source *s = (struct kube_source *)zs;
	s->changed = changed;
	s->ud = ud;
	int ret = kube_cluster_watch(s->cluster, base);
	if (ret != E_OK) {
		return ret;
	}
	if (!s->subscribed) {
		s->sub.changed = on_changed;
		s->sub.ud = s;
		s->sub.reverse = s->reverse;
		kube_cluster_subscribe(s->cluster, &s->sub);
		s->subscribed = true;
	}
	return E_OK;
}

static void kube_close(zone_source_t *zs)
{
	struct kube_source *s = (struct kube_source *)zs;
	if (s->subscribed) {
		kube_cluster_unsubscribe(s->cluster, &s->sub);
	}
	kube_cluster_put(s->cluster);
	free(s);
}

const zone_source_ops_t source_kubernetes = {
	.name = "kubernetes",
	.open = kube_open,
	.load = kube_load,
	.watch = kube_watch,
	.close = kube_close,
};
