/*  Unit tests: the kubernetes source (adapters/kubernetes/): Kubernetes objects (JSON, as
 *  the API reference shows them) into the model, the model into records (Kubernetes
 *  DNS-Based Service Discovery 1.1.0; the specification's examples are quoted), the YAML
 *  of kubeconfig files, kubeconfig contexts and credentials, the serial, and the options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/kubernetes/internal.h"
#include "adapters/sources.h"
#include "dns/err.h"
#include "dns/log.h"
#include "dns/name.h"
#include "dns/rrtext.h"
#include "zones/builder.h"
#include "zones/zone.h"

/* ---- helpers ---- */

/* JSON written with ' for " (readable in C). */
static json_t *J(const char *text)
{
	char *s = strdup(text), err[256] = "";
	json_t *j = NULL;
	for (char *p = s; *p; p++) {
		if (*p == '\'') {
			*p = '"';
		}
	}
	int ret = json_parse(&j, s, strlen(s), err, sizeof(err));
	if (ret != E_OK) {
		print_error("bad test JSON (%s): %s\n", err, s);
	}
	assert_int_equal(ret, E_OK);
	free(s);
	return j;
}

static bool put(kube_model_t *m, enum kube_res r, const char *text)
{
	json_t *j = J(text);
	bool changed = false;
	assert_int_equal(kube_model_put(m, r, j, &changed), E_OK);
	json_free(j);
	return changed;
}

static bool del(kube_model_t *m, enum kube_res r, const char *text)
{
	json_t *j = J(text);
	bool changed = false;
	assert_int_equal(kube_model_del(m, r, j, &changed), E_OK);
	json_free(j);
	return changed;
}

struct emitopts {
	enum kube_pods_mode pods;
	bool endpoint_pod_names;
	uint32_t ttl;
};

static void quiet(void *ud, int level, const char *where, const char *msg)
{
	(void)ud;
	print_message("  diag %d %s: %s\n", level, where ? where : "", msg);
}

/* The zone \a apex made from \a m (the cluster domain is cluster.local.). */
static zone_t *build_ex(const kube_model_t *m, const char *apex, const struct emitopts *o,
			uint64_t *hash)
{
	uint8_t a[DNAME_MAX], c[DNAME_MAX];
	zone_builder_t *b = NULL;
	zone_t *z = NULL;
	assert_true(dname_from_str(a, apex, NULL) > 0);
	assert_true(dname_from_str(c, "cluster.local.", NULL) > 0);
	kube_emit_t e = {
		.apex = a,
		.cluster = strstr(apex, "arpa") != NULL ? c : a,
		.reverse = strstr(apex, "arpa") != NULL,
		.ttl = o != NULL && o->ttl ? o->ttl : 5,
		.pods = o != NULL ? o->pods : KUBE_PODS_DISABLED,
		.endpoint_pod_names = o != NULL && o->endpoint_pod_names,
		.where = "test",
	};
	assert_int_equal(zone_builder_new(&b, a), E_OK);
	zone_builder_set_diag(b, quiet, NULL);
	assert_int_equal(kube_emit_records(m, &e, b), E_OK);
	assert_int_equal(kube_emit_soa(&e, b, 42), E_OK);
	assert_int_equal(zone_builder_finish(b, &z), E_OK);
	if (hash != NULL) {
		*hash = e.hash;
	}
	return z;
}

static zone_t *build(const kube_model_t *m, const char *apex, const struct emitopts *o)
{
	return build_ex(m, apex, o, NULL);
}

static const zone_rrset_t *rrset(const zone_t *z, const char *owner, uint16_t type)
{
	uint8_t n[DNAME_MAX];
	assert_true(dname_from_str(n, owner, NULL) > 0);
	dname_lower(n);
	const zone_node_t *node = zone_find(z, n);
	return node != NULL ? zone_node_rrset(node, type) : NULL;
}

static bool exists(const zone_t *z, const char *owner)
{
	uint8_t n[DNAME_MAX];
	assert_true(dname_from_str(n, owner, NULL) > 0);
	dname_lower(n);
	return zone_find(z, n) != NULL;
}

static int count(const zone_t *z, const char *owner, const char *type)
{
	const zone_rrset_t *rs = rrset(z, owner, dns_type_from_str(type));
	return rs != NULL ? rs->count : 0;
}

/* The record "owner ttl IN TYPE rdata" is in \a z. */
static void assert_rr(const zone_t *z, const char *text)
{
	static dns_rr_t rr;
	char err[256] = "";
	assert_int_equal(dns_rr_from_text(&rr, text, NULL, 3600, NULL, err, sizeof(err)), E_OK);
	char owner[DNAME_STR_MAX];
	dname_to_str(owner, sizeof(owner), rr.owner);
	const zone_rrset_t *rs = rrset(z, owner, rr.type);
	if (rs != NULL && rs->ttl == rr.ttl) {
		uint32_t pos = 0;
		uint16_t len = 0;
		const uint8_t *rd;
		while ((rd = zone_rrset_next(rs, &pos, &len)) != NULL) {
			if (len == rr.rdlen && memcmp(rd, rr.rdata, len) == 0) {
				return;
			}
		}
	}
	print_error("missing: %s (%s)\n", text,
		    rs == NULL          ? "no such RRset"
		    : rs->ttl != rr.ttl ? "other TTL"
					: "other RDATA");
	fail();
}

/* ---- the objects of the specification's examples ---- */

#define NS_DEFAULT "{'metadata':{'name':'default'},'status':{'phase':'Active'}}"

#define SVC_KUBERNETES                                                                           \
	"{'kind':'Service','apiVersion':'v1','metadata':{'name':'kubernetes','namespace':'"      \
	"default',"                                                                              \
	"'labels':{'component':'apiserver'}},'spec':{'ports':[{'name':'https','protocol':'TCP'," \
	"'port':443,'targetPort':6443}],'clusterIP':'10.3.0.1','clusterIPs':['10.3.0.1'],"       \
	"'type':'ClusterIP','ipFamilies':['IPv4']},'status':{'loadBalancer':{}}}"

#define SVC_HEADLESS                                                                        \
	"{'metadata':{'name':'headless','namespace':'default'},'spec':{'clusterIP':'None'," \
	"'clusterIPs':['None'],'ports':[{'name':'https','protocol':'TCP','port':443}],"     \
	"'type':'ClusterIP'}}"

#define SLICE_HEADLESS                                                                       \
	"{'kind':'EndpointSlice','apiVersion':'discovery.k8s.io/v1','metadata':{"            \
	"'name':'headless-x1','namespace':'default','labels':{'kubernetes.io/service-name':" \
	"'headless'}},'addressType':'IPv4','endpoints':["                                    \
	"{'addresses':['10.3.0.100'],'conditions':{'ready':true},'hostname':'my-pet',"       \
	"'targetRef':{'kind':'Pod','namespace':'default','name':'my-pet-0'}},"               \
	"{'addresses':['10.3.0.101'],'conditions':{'ready':true},'hostname':'my-pet-2'},"    \
	"{'addresses':['10.3.0.102'],'conditions':{'ready':true},"                           \
	"'targetRef':{'kind':'Pod','namespace':'default','name':'web-0'}},"                  \
	"{'addresses':['10.3.0.103'],'conditions':{'ready':false},'hostname':'sick'}],"      \
	"'ports':[{'name':'https','protocol':'TCP','port':443}]}"

static void spec_model(kube_model_t *m)
{
	kube_model_init(m);
	put(m, KUBE_NAMESPACES, NS_DEFAULT);
	put(m, KUBE_SERVICES, SVC_KUBERNETES);
	put(m, KUBE_SERVICES, SVC_HEADLESS);
	put(m, KUBE_SLICES, SLICE_HEADLESS);
	put(m, KUBE_SERVICES,
	    "{'metadata':{'name':'foo','namespace':'default'},'spec':{"
	    "'type':'ExternalName','externalName':'www.example.com'}}");
}

/* §2.2: "dns-version.cluster.local. 28800 IN TXT ..." (schema 1.1.0). */
static void test_dns_version(void **state)
{
	kube_model_t m;
	(void)state;
	spec_model(&m);
	zone_t *z = build(&m, "cluster.local.", NULL);
	assert_rr(z, "dns-version.cluster.local. 5 IN TXT \"1.1.0\"");
	assert_rr(z, "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 42 "
		     "7200 1800 86400 5");
	assert_rr(z, "cluster.local. 5 IN NS ns.dns.cluster.local.");
	assert_rr(z, "ns.dns.cluster.local. 5 IN A 127.0.0.1");
	zone_free(z);
	kube_model_deinit(&m);
}

/* §2.3: "kubernetes.default.svc.cluster.local. 4 IN A 10.3.0.1",
 *       "_https._tcp.kubernetes.default.svc.cluster.local. 30 IN SRV 10 100 443
 *        kubernetes.default.svc.cluster.local.",
 *       "1.0.3.10.in-addr.arpa. 14 IN PTR kubernetes.default.svc.cluster.local." */
static void test_clusterip(void **state)
{
	kube_model_t m;
	(void)state;
	spec_model(&m);
	zone_t *z = build(&m, "cluster.local.", NULL);
	assert_rr(z, "kubernetes.default.svc.cluster.local. 5 IN A 10.3.0.1");
	assert_int_equal(count(z, "kubernetes.default.svc.cluster.local.", "AAAA"), 0);
	assert_rr(z, "_https._tcp.kubernetes.default.svc.cluster.local. 5 IN SRV 10 100 443 "
		     "kubernetes.default.svc.cluster.local.");
	/* The service name has data; <ns>.svc and svc are empty non-terminals (NODATA). */
	assert_true(exists(z, "default.svc.cluster.local."));
	assert_true(exists(z, "svc.cluster.local."));
	assert_false(exists(z, "other.default.svc.cluster.local."));
	zone_free(z);
	z = build(&m, "in-addr.arpa.", NULL);
	assert_rr(z, "1.0.3.10.in-addr.arpa. 5 IN PTR kubernetes.default.svc.cluster.local.");
	assert_int_equal(count(z, "in-addr.arpa.", "NS"), 1);
	assert_false(exists(z, "kubernetes.default.svc.cluster.local."));
	zone_free(z);
	kube_model_deinit(&m);
}

/* Dual stack: A and AAAA, and the ip6.arpa PTR (32 nibbles). */
static void test_dual_stack(void **state)
{
	kube_model_t m;
	(void)state;
	kube_model_init(&m);
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'kubernetes','namespace':'default'},'spec':{'clusterIP':"
	    "'10.3.0.1','clusterIPs':['10.3.0.1','2001:db8::1'],'ipFamilies':['IPv4','IPv6'],"
	    "'ports':[{'name':'https','port':443}]}}");
	zone_t *z = build(&m, "cluster.local.", NULL);
	assert_rr(z, "kubernetes.default.svc.cluster.local. 5 IN A 10.3.0.1");
	assert_rr(z, "kubernetes.default.svc.cluster.local. 5 IN AAAA 2001:db8::1");
	zone_free(z);
	z = build(&m, "ip6.arpa.", NULL);
	assert_rr(z, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 5 "
		     "IN PTR kubernetes.default.svc.cluster.local.");
	assert_false(exists(z, "1.0.3.10.in-addr.arpa."));
	zone_free(z);
	/* An IPv6-only service: no A at all. */
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'kubernetes','namespace':'default'},'spec':{'clusterIP':"
	    "'fd00::a','clusterIPs':['fd00::a']}}");
	z = build(&m, "cluster.local.", NULL);
	assert_int_equal(count(z, "kubernetes.default.svc.cluster.local.", "A"), 0);
	assert_rr(z, "kubernetes.default.svc.cluster.local. 5 IN AAAA fd00::a");
	zone_free(z);
	kube_model_deinit(&m);
}

/* §2.4: "headless.default.svc.cluster.local. 4 IN A 10.3.0.1" (one per ready endpoint),
 *       "my-pet.headless.default.svc.cluster.local. 4 IN A 10.3.0.100",
 *       "_https._tcp.headless.default.svc.cluster.local. 4 IN SRV 10 100 443
 *        my-pet.headless.default.svc.cluster.local." (N endpoints x M named ports),
 *       "100.0.3.10.in-addr.arpa. 14 IN PTR my-pet.headless.default.svc.cluster.local." */
static void test_headless(void **state)
{
	kube_model_t m;
	(void)state;
	spec_model(&m);
	zone_t *z = build(&m, "cluster.local.", NULL);
	assert_int_equal(count(z, "headless.default.svc.cluster.local.", "A"), 3);
	assert_rr(z, "headless.default.svc.cluster.local. 5 IN A 10.3.0.100");
	assert_rr(z, "headless.default.svc.cluster.local. 5 IN A 10.3.0.101");
	assert_rr(z, "headless.default.svc.cluster.local. 5 IN A 10.3.0.102");
	assert_rr(z, "my-pet.headless.default.svc.cluster.local. 5 IN A 10.3.0.100");
	assert_rr(z, "my-pet-2.headless.default.svc.cluster.local. 5 IN A 10.3.0.101");
	/* No hostname: a system-assigned one, the address with dashes (CoreDNS's). */
	assert_rr(z, "10-3-0-102.headless.default.svc.cluster.local. 5 IN A 10.3.0.102");
	assert_int_equal(count(z, "_https._tcp.headless.default.svc.cluster.local.", "SRV"), 3);
	assert_rr(z, "_https._tcp.headless.default.svc.cluster.local. 5 IN SRV 10 100 443 "
		     "my-pet.headless.default.svc.cluster.local.");
	assert_rr(z, "_https._tcp.headless.default.svc.cluster.local. 5 IN SRV 10 100 443 "
		     "10-3-0-102.headless.default.svc.cluster.local.");
	/* Not ready: nothing. */
	assert_false(exists(z, "sick.headless.default.svc.cluster.local."));
	zone_free(z);
	z = build(&m, "in-addr.arpa.", NULL);
	assert_rr(z,
		  "100.0.3.10.in-addr.arpa. 5 IN PTR my-pet.headless.default.svc.cluster.local.");
	assert_rr(z, "102.0.3.10.in-addr.arpa. 5 IN PTR "
		     "10-3-0-102.headless.default.svc.cluster.local.");
	assert_false(exists(z, "103.0.3.10.in-addr.arpa."));
	zone_free(z);

	/* endpoint_pod_names: the pod's name when there is no hostname. */
	struct emitopts o = { .endpoint_pod_names = true };
	z = build(&m, "cluster.local.", &o);
	assert_rr(z, "web-0.headless.default.svc.cluster.local. 5 IN A 10.3.0.102");
	assert_rr(z, "my-pet.headless.default.svc.cluster.local. 5 IN A 10.3.0.100");
	assert_false(exists(z, "10-3-0-102.headless.default.svc.cluster.local."));
	zone_free(z);
	kube_model_deinit(&m);
}

/* §2.4.1: "If there are no ready endpoints for the headless Service, the answer should be
 * NXDOMAIN": no name at all. */
static void test_headless_no_ready(void **state)
{
	kube_model_t m;
	(void)state;
	kube_model_init(&m);
	put(&m, KUBE_SERVICES, SVC_HEADLESS);
	zone_t *z = build(&m, "cluster.local.", NULL);
	assert_false(exists(z, "headless.default.svc.cluster.local."));
	assert_false(exists(z, "_https._tcp.headless.default.svc.cluster.local."));
	zone_free(z);
	put(&m, KUBE_SLICES,
	    "{'metadata':{'name':'h1','namespace':'default','labels':{"
	    "'kubernetes.io/service-name':'headless'}},'addressType':'IPv4','endpoints':["
	    "{'addresses':['10.1.1.1'],'conditions':{'ready':false}}],'ports':[]}");
	z = build(&m, "cluster.local.", NULL);
	assert_false(exists(z, "headless.default.svc.cluster.local."));
	zone_free(z);
	/* publishNotReadyAddresses: every endpoint counts. */
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'headless','namespace':'default'},'spec':{'clusterIP':'None',"
	    "'publishNotReadyAddresses':true}}");
	z = build(&m, "cluster.local.", NULL);
	assert_rr(z, "headless.default.svc.cluster.local. 5 IN A 10.1.1.1");
	zone_free(z);
	/* The specification's own definition: the tolerate-unready-endpoints annotation. */
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'headless','namespace':'default','annotations':{"
	    "'service.alpha.kubernetes.io/tolerate-unready-endpoints':'true'}},'spec':{"
	    "'clusterIP':'None'}}");
	z = build(&m, "cluster.local.", NULL);
	assert_rr(z, "10-1-1-1.headless.default.svc.cluster.local. 5 IN A 10.1.1.1");
	zone_free(z);
	/* A nil "ready" is an unknown state, taken as ready. */
	put(&m, KUBE_SERVICES, SVC_HEADLESS);
	put(&m, KUBE_SLICES,
	    "{'metadata':{'name':'h1','namespace':'default','labels':{"
	    "'kubernetes.io/service-name':'headless'}},'addressType':'IPv4','endpoints':["
	    "{'addresses':['10.1.1.2'],'conditions':{}}]}");
	z = build(&m, "cluster.local.", NULL);
	assert_rr(z, "headless.default.svc.cluster.local. 5 IN A 10.1.1.2");
	zone_free(z);
	kube_model_deinit(&m);
}

/* Several slices, IPv6 endpoints, FQDN slices ignored, slices before their service. */
static void test_slices(void **state)
{
	kube_model_t m;
	(void)state;
	kube_model_init(&m);
	put(&m, KUBE_SLICES,
	    "{'metadata':{'name':'db-v6','namespace':'prod','labels':{"
	    "'kubernetes.io/service-name':'db'}},'addressType':'IPv6','endpoints':["
	    "{'addresses':['fd00::5'],'conditions':{'ready':true},'hostname':'db-0'}],"
	    "'ports':[{'name':'pg','protocol':'TCP','port':5432},{'port':9}]}");
	put(&m, KUBE_SLICES,
	    "{'metadata':{'name':'db-v4','namespace':'prod','labels':{"
	    "'kubernetes.io/service-name':'db'}},'addressType':'IPv4','endpoints':["
	    "{'addresses':['10.2.0.5'],'conditions':{'ready':true},'hostname':'db-0'},"
	    "{'addresses':['10.2.0.6'],'conditions':{'ready':true}}],"
	    "'ports':[{'name':'pg','protocol':'TCP','port':5432},"
	    "{'name':'metrics','protocol':'UDP','port':9187}]}");
	put(&m, KUBE_SLICES,
	    "{'metadata':{'name':'db-fqdn','namespace':'prod','labels':{"
	    "'kubernetes.io/service-name':'db'}},'addressType':'FQDN','endpoints':["
	    "{'addresses':['db.example.com'],'conditions':{'ready':true}}]}");
	zone_t *z = build(&m, "cluster.local.", NULL);
	assert_false(exists(z, "db.prod.svc.cluster.local.")); /* no service yet */
	zone_free(z);
	assert_int_equal(kube_model_count(&m, KUBE_SLICES), 2);
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'db','namespace':'prod'},'spec':{'clusterIP':'None',"
	    "'clusterIPs':['None']}}");
	z = build(&m, "cluster.local.", NULL);
	assert_rr(z, "db.prod.svc.cluster.local. 5 IN AAAA fd00::5");
	assert_rr(z, "db.prod.svc.cluster.local. 5 IN A 10.2.0.5");
	assert_rr(z, "db.prod.svc.cluster.local. 5 IN A 10.2.0.6");
	/* One hostname, both families. */
	assert_rr(z, "db-0.db.prod.svc.cluster.local. 5 IN A 10.2.0.5");
	assert_rr(z, "db-0.db.prod.svc.cluster.local. 5 IN AAAA fd00::5");
	assert_rr(z, "_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 10 100 5432 "
		     "db-0.db.prod.svc.cluster.local.");
	assert_rr(z, "_pg._tcp.db.prod.svc.cluster.local. 5 IN SRV 10 100 5432 "
		     "10-2-0-6.db.prod.svc.cluster.local.");
	assert_int_equal(count(z, "_pg._tcp.db.prod.svc.cluster.local.", "SRV"), 2);
	assert_rr(z, "_metrics._udp.db.prod.svc.cluster.local. 5 IN SRV 10 100 9187 "
		     "10-2-0-6.db.prod.svc.cluster.local.");
	zone_free(z);
	/* A deleted slice takes its records with it. */
	assert_true(del(&m, KUBE_SLICES, "{'metadata':{'name':'db-v4','namespace':'prod'}}"));
	z = build(&m, "cluster.local.", NULL);
	assert_int_equal(count(z, "db.prod.svc.cluster.local.", "A"), 0);
	assert_false(exists(z, "_metrics._udp.db.prod.svc.cluster.local."));
	assert_rr(z, "db.prod.svc.cluster.local. 5 IN AAAA fd00::5");
	zone_free(z);
	z = build(&m, "ip6.arpa.", NULL);
	assert_rr(z,
		  "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. 5 IN "
		  "PTR db-0.db.prod.svc.cluster.local.");
	zone_free(z);
	kube_model_deinit(&m);
}

/* §2.5: "foo.default.svc.cluster.local. 10 IN CNAME www.example.com." */
static void test_external_name(void **state)
{
	kube_model_t m;
	(void)state;
	spec_model(&m);
	zone_t *z = build(&m, "cluster.local.", NULL);
	assert_rr(z, "foo.default.svc.cluster.local. 5 IN CNAME www.example.com.");
	zone_free(z);
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'foo','namespace':'default'},'spec':{"
	    "'type':'ExternalName','externalName':'db.example.org.'}}");
	z = build(&m, "cluster.local.", NULL);
	assert_rr(z, "foo.default.svc.cluster.local. 5 IN CNAME db.example.org.");
	assert_int_equal(count(z, "foo.default.svc.cluster.local.", "CNAME"), 1);
	zone_free(z);
	kube_model_deinit(&m);
}

/* Pods: "verified" from the Pods, "insecure" from the addresses slices name. */
static void test_pods(void **state)
{
	kube_model_t m;
	(void)state;
	spec_model(&m);
	put(&m, KUBE_PODS,
	    "{'metadata':{'name':'web-0','namespace':'default'},'status':{'phase':'Running',"
	    "'podIP':'10.244.1.5','podIPs':[{'ip':'10.244.1.5'},{'ip':'fd00::1:5'}]}}");
	put(&m, KUBE_PODS,
	    "{'metadata':{'name':'done','namespace':'default'},'status':{'phase':'Succeeded',"
	    "'podIP':'10.244.1.6'}}");
	put(&m, KUBE_PODS,
	    "{'metadata':{'name':'going','namespace':'default','deletionTimestamp':"
	    "'2024-01-01T00:00:00Z'},'status':{'phase':'Running','podIP':'10.244.1.7'}}");
	put(&m, KUBE_PODS,
	    "{'metadata':{'name':'pending','namespace':'default'},'status':{'phase':'Pending'}}");
	assert_int_equal(kube_model_count(&m, KUBE_PODS), 1);
	struct emitopts v = { .pods = KUBE_PODS_VERIFIED };
	zone_t *z = build(&m, "cluster.local.", &v);
	assert_rr(z, "10-244-1-5.default.pod.cluster.local. 5 IN A 10.244.1.5");
	assert_rr(z, "fd00--1-5.default.pod.cluster.local. 5 IN AAAA fd00::1:5");
	assert_false(exists(z, "10-244-1-6.default.pod.cluster.local."));
	assert_false(exists(z, "10-244-1-7.default.pod.cluster.local."));
	assert_false(exists(z, "10-3-0-100.default.pod.cluster.local."));
	zone_free(z);
	struct emitopts in = { .pods = KUBE_PODS_INSECURE };
	z = build(&m, "cluster.local.", &in);
	assert_rr(z, "10-3-0-100.default.pod.cluster.local. 5 IN A 10.3.0.100");
	assert_rr(z, "10-3-0-103.default.pod.cluster.local. 5 IN A 10.3.0.103"); /* not ready */
	assert_false(exists(z, "10-244-1-5.default.pod.cluster.local."));
	zone_free(z);
	z = build(&m, "cluster.local.", NULL);
	assert_false(exists(z, "pod.cluster.local."));
	zone_free(z);
	kube_model_deinit(&m);
}

/* The namespaces served, and namespaces that do not exist. */
static void test_namespaces(void **state)
{
	kube_model_t m;
	char *only[] = { "prod" };
	(void)state;
	kube_model_init(&m);
	m.namespaces = only;
	m.nnamespaces = 1;
	put(&m, KUBE_SERVICES, SVC_KUBERNETES);
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'api','namespace':'prod'},'spec':{"
	    "'clusterIP':'10.5.0.1'}}");
	assert_int_equal(kube_model_count(&m, KUBE_SERVICES), 1);
	zone_t *z = build(&m, "cluster.local.", NULL);
	assert_rr(z, "api.prod.svc.cluster.local. 5 IN A 10.5.0.1");
	assert_false(exists(z, "kubernetes.default.svc.cluster.local."));
	zone_free(z);
	/* Once namespaces are listed, a service of a namespace that is not there is not
	 * served. */
	m.ns_known = true;
	z = build(&m, "cluster.local.", NULL);
	assert_false(exists(z, "api.prod.svc.cluster.local."));
	zone_free(z);
	put(&m, KUBE_NAMESPACES, "{'metadata':{'name':'prod'}}");
	z = build(&m, "cluster.local.", NULL);
	assert_rr(z, "api.prod.svc.cluster.local. 5 IN A 10.5.0.1");
	zone_free(z);
	m.namespaces = NULL;
	kube_model_deinit(&m);
}

/* What changes, what does not, and lists that remove what they do not have. */
static void test_changes_and_relist(void **state)
{
	kube_model_t m;
	(void)state;
	kube_model_init(&m);
	assert_true(put(&m, KUBE_SERVICES, SVC_KUBERNETES));
	/* The same object again (a new resourceVersion, a label): nothing DNS sees. */
	assert_false(put(&m, KUBE_SERVICES,
			 "{'metadata':{'name':'kubernetes','namespace':'default',"
			 "'resourceVersion':'99','labels':{'x':'y'}},'spec':{'ports':[{'name':"
			 "'https','protocol':'TCP','port':443}],'clusterIP':'10.3.0.1',"
			 "'clusterIPs':['10.3.0.1']}}"));
	assert_true(put(&m, KUBE_SERVICES,
			"{'metadata':{'name':'kubernetes','namespace':'default'},'spec':{"
			"'clusterIP':'10.3.0.2'}}"));
	assert_true(put(&m, KUBE_SERVICES,
			"{'metadata':{'name':'a','namespace':'default'},"
			"'spec':{'clusterIP':'10.3.0.3'}}"));
	assert_false(del(&m, KUBE_SERVICES, "{'metadata':{'name':'zz','namespace':'default'}}"));
	assert_int_equal(kube_model_count(&m, KUBE_SERVICES), 2);

	/* A list without "a": it goes. */
	kube_model_list_begin(&m, KUBE_SERVICES);
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'kubernetes','namespace':'default'},'spec':{"
	    "'clusterIP':'10.3.0.2'}}");
	assert_true(kube_model_list_end(&m, KUBE_SERVICES));
	assert_int_equal(kube_model_count(&m, KUBE_SERVICES), 1);
	zone_t *z = build(&m, "cluster.local.", NULL);
	assert_false(exists(z, "a.default.svc.cluster.local."));
	assert_rr(z, "kubernetes.default.svc.cluster.local. 5 IN A 10.3.0.2");
	zone_free(z);
	/* The same list again: no change. */
	kube_model_list_begin(&m, KUBE_SERVICES);
	assert_false(put(&m, KUBE_SERVICES,
			 "{'metadata':{'name':'kubernetes','namespace':"
			 "'default'},'spec':{'clusterIP':'10.3.0.2'}}"));
	assert_false(kube_model_list_end(&m, KUBE_SERVICES));
	/* An empty list empties. */
	kube_model_list_begin(&m, KUBE_SERVICES);
	assert_true(kube_model_list_end(&m, KUBE_SERVICES));
	assert_int_equal(kube_model_count(&m, KUBE_SERVICES), 0);
	kube_model_deinit(&m);
}

/* Objects that are not what they claim are refused or skipped, never served half. */
static void test_bad_objects(void **state)
{
	kube_model_t m;
	(void)state;
	kube_model_init(&m);
	const char *bad[] = {
		"{'metadata':{'namespace':'default'},'spec':{'clusterIP':'10.0.0.1'}}",
		"{'metadata':{'name':'x'},'spec':{'clusterIP':'10.0.0.1'}}",
		"{'metadata':{'name':'x','namespace':''},'spec':{}}",
		"{'metadata':{'name':'x','namespace':'a/b'},'spec':{}}",
		"[1,2]",
		"'str'",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = J(bad[i]);
		assert_int_equal(kube_model_put(&m, KUBE_SERVICES, j, NULL), E_MALFORMED);
		json_free(j);
	}
	/* Names that are not DNS labels, addresses that are not addresses: no records. */
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'bad.name','namespace':'default'},'spec':{"
	    "'clusterIP':'10.0.0.1'}}");
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'noip','namespace':'default'},'spec':{"
	    "'clusterIP':'10.0.0.300'}}");
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'ports','namespace':'default'},'spec':{"
	    "'clusterIP':'10.0.0.2','ports':[{'name':'a b','port':1},"
	    "{'name':'ok','port':70000},{'name':'sctp','protocol':'SCTP',"
	    "'port':9},{'name':'x','protocol':'QUIC','port':1}]}}");
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'ext','namespace':'default'},'spec':{"
	    "'type':'ExternalName','externalName':''}}");
	put(&m, KUBE_SLICES,
	    "{'metadata':{'name':'s','namespace':'default','labels':{"
	    "'kubernetes.io/service-name':'ports'}},'addressType':'IPv4',"
	    "'endpoints':[{'addresses':['fd00::1','x']},{'addresses':'10.0.0.9'}]}");
	/* Upper case is not a Kubernetes name: "deFault" would be a second "default" in the
	 * DNS, its ExternalName a CNAME beside the other's address (found by fuzz_kube_json). */
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'web','namespace':'default'},'spec':{'clusterIP':'10.0.0.3'}}");
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'web','namespace':'deFault'},'spec':{"
	    "'type':'ExternalName','externalName':'www.example.com'}}");
	put(&m, KUBE_SERVICES,
	    "{'metadata':{'name':'Web2','namespace':'default'},'spec':{'clusterIP':'10.0.0.4'}}");
	zone_t *z = build(&m, "cluster.local.", NULL);
	assert_rr(z, "web.default.svc.cluster.local. 5 IN A 10.0.0.3");
	assert_int_equal(count(z, "web.default.svc.cluster.local.", "CNAME"), 0);
	assert_false(exists(z, "web2.default.svc.cluster.local."));
	assert_false(exists(z, "noip.default.svc.cluster.local."));
	assert_false(exists(z, "ext.default.svc.cluster.local."));
	assert_rr(z, "ports.default.svc.cluster.local. 5 IN A 10.0.0.2");
	assert_rr(z, "_sctp._sctp.ports.default.svc.cluster.local. 5 IN SRV 10 100 9 "
		     "ports.default.svc.cluster.local.");
	assert_int_equal(count(z, "_ok._tcp.ports.default.svc.cluster.local.", "SRV"), 0);
	assert_false(exists(z, "_x._quic.ports.default.svc.cluster.local."));
	zone_free(z);
	kube_model_deinit(&m);
}

/* The digest follows the records, whatever order the objects came in. */
static void test_hash(void **state)
{
	kube_model_t a, b;
	uint64_t ha, hb, hc;
	(void)state;
	kube_model_init(&a);
	kube_model_init(&b);
	put(&a, KUBE_SERVICES, SVC_KUBERNETES);
	put(&a, KUBE_SERVICES, SVC_HEADLESS);
	put(&a, KUBE_SLICES, SLICE_HEADLESS);
	put(&b, KUBE_SLICES, SLICE_HEADLESS);
	put(&b, KUBE_SERVICES, SVC_HEADLESS);
	put(&b, KUBE_SERVICES, SVC_KUBERNETES);
	zone_free(build_ex(&a, "cluster.local.", NULL, &ha));
	zone_free(build_ex(&b, "cluster.local.", NULL, &hb));
	assert_true(ha == hb);
	put(&b, KUBE_SERVICES,
	    "{'metadata':{'name':'kubernetes','namespace':'default'},'spec':{"
	    "'clusterIP':'10.3.0.9'}}");
	zone_free(build_ex(&b, "cluster.local.", NULL, &hc));
	assert_true(hc != hb);
	kube_model_deinit(&a);
	kube_model_deinit(&b);
}

/* ---- YAML, base64, kubeconfig ---- */

static char *yaml(const char *text)
{
	char *out = NULL, err[256] = "";
	size_t len = 0;
	int ret = kube_yaml_to_json(text, strlen(text), &out, &len, err, sizeof(err));
	if (ret != E_OK) {
		print_error("yaml: %s\n", err);
	}
	assert_int_equal(ret, E_OK);
	return out;
}

static void assert_yaml(const char *text, const char *json)
{
	char *out = yaml(text);
	if (strcmp(out, json) != 0) {
		print_error("yaml gave %s\n  expected %s\n", out, json);
		fail();
	}
	free(out);
}

static void test_yaml(void **state)
{
	(void)state;
	assert_yaml("a: 1\nb: two words # comment\n", "{\"a\":\"1\",\"b\":\"two words\"}");
	/* kubectl's layout: sequences at the indentation of their key. */
	assert_yaml("clusters:\n- cluster:\n    server: https://1.2.3.4:6443\n  name: c1\n"
		    "- name: c2\n  cluster:\n    server: \"https://x:1\"\n"
		    "current-context: 'c''2'\npreferences: {}\nlist: []\n",
		    "{\"clusters\":[{\"cluster\":{\"server\":\"https://1.2.3.4:6443\"},"
		    "\"name\":\"c1\"},{\"name\":\"c2\",\"cluster\":{\"server\":\"https://x:1\"}}],"
		    "\"current-context\":\"c'2\",\"preferences\":{},\"list\":[]}");
	assert_yaml("---\n# top comment\nkey:\n  - a\n  - \"b\\tc\\u00e9\"\n  -\n    x: y\n...\n",
		    "{\"key\":[\"a\",\"b\\tc\xc3\xa9\",{\"x\":\"y\"}]}");
	assert_yaml("args: [a, \"b c\", 'd']\nnone:\nnext: 1\n",
		    "{\"args\":[\"a\",\"b c\",\"d\"],\"none\":null,\"next\":\"1\"}");
	assert_yaml("data: |\n  line1\n  line2\nfolded: >-\n  a\n  b\nafter: x\n",
		    "{\"data\":\"line1\\nline2\\n\",\"folded\":\"a b\",\"after\":\"x\"}");
	assert_yaml("\"quoted key\": v\nurl: http://h:80/p#frag\n",
		    "{\"quoted key\":\"v\",\"url\":\"http://h:80/p#frag\"}");
	assert_yaml("", "{}");

	const char *bad[] = { "a:\n\tb: 1\n", "a: \"open\n", "a: 1\n  b: 2\n", "- a\nb: 1\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = NULL, err[256] = "";
		size_t len = 0;
		assert_int_not_equal(
			kube_yaml_to_json(bad[i], strlen(bad[i]), &out, &len, err, sizeof(err)),
			E_OK);
		assert_true(strstr(err, "line ") == err);
		assert_null(out);
	}
}

static void test_base64(void **state)
{
	uint8_t *out = NULL;
	size_t len = 0;
	(void)state;
	assert_int_equal(kube_base64_decode("aGVs\nbG8=", 9, &out, &len), E_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "hello", 5);
	free(out);
	assert_int_equal(kube_base64_decode("a$b=", 4, &out, &len), E_MALFORMED);
	assert_int_equal(kube_base64_decode("YQ==YQ", 6, &out, &len), E_MALFORMED);
}

static char tmpdir[256];

static void write_file(const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_kubeconfig(void **state)
{
	kube_conn_t c = { 0 };
	char err[512] = "", path[512];
	(void)state;
	write_file("tok", "file-token\n");
	write_file("kubeconfig",
		   "apiVersion: v1\nkind: Config\nclusters:\n"
		   "- cluster:\n    certificate-authority-data: Q0EgUEVN\n"
		   "    server: https://10.0.0.1:6443/\n  name: prod\n"
		   "- cluster:\n    certificate-authority: ca.crt\n"
		   "    insecure-skip-tls-verify: true\n    server: https://127.0.0.1:8443\n"
		   "  name: dev\n"
		   "contexts:\n- context:\n    cluster: prod\n    user: admin\n  name: prod\n"
		   "- context:\n    cluster: dev\n    user: dev-user\n    namespace: x\n"
		   "  name: dev\n"
		   "current-context: prod\npreferences: {}\nusers:\n"
		   "- name: admin\n  user:\n    client-certificate-data: Q0VSVA==\n"
		   "    client-key-data: S0VZ\n"
		   "- name: dev-user\n  user:\n    tokenFile: tok\n"
		   "- name: plugin\n  user:\n    exec:\n      command: aws\n");
	snprintf(path, sizeof(path), "%s/kubeconfig", tmpdir);

	assert_int_equal(kube_conn_kubeconfig(&c, path, NULL, err, sizeof(err)), E_OK);
	assert_string_equal(c.server, "https://10.0.0.1:6443");
	assert_non_null(c.ca_file);
	assert_non_null(c.cert_file);
	assert_non_null(c.key_file);
	char *files[3] = { strdup(c.ca_file), strdup(c.cert_file), strdup(c.key_file) };
	const char *want[3] = { "CA PEM", "CERT", "KEY" };
	for (int i = 0; i < 3; i++) {
		struct stat sb;
		char buf[64] = "";
		FILE *f = fopen(files[i], "r");
		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		assert_string_equal(buf, want[i]);
		assert_int_equal(stat(files[i], &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	http_opts_t o;
	kube_conn_opts(&c, &o);
	assert_null(o.bearer_token);
	assert_string_equal(o.ca_file, files[0]);
	kube_conn_deinit(&c);
	for (int i = 0; i < 3; i++) {
		assert_int_not_equal(access(files[i], F_OK), 0); /* removed */
		free(files[i]);
	}

	/* Another context: relative paths, a token file re-read when it changes. */
	assert_int_equal(kube_conn_kubeconfig(&c, path, "dev", err, sizeof(err)), E_OK);
	assert_string_equal(c.server, "https://127.0.0.1:8443");
	assert_true(c.insecure);
	assert_non_null(strstr(c.ca_file, "/ca.crt"));
	kube_conn_opts(&c, &o);
	assert_string_equal(o.bearer_token, "file-token");
	write_file("tok", "rotated-token-longer\n"); /* another size, another mtime */
	kube_conn_opts(&c, &o);
	assert_string_equal(o.bearer_token, "rotated-token-longer");
	kube_conn_deinit(&c);

	assert_int_equal(kube_conn_kubeconfig(&c, path, "nope", err, sizeof(err)), E_CFG_SEMANTIC);
	assert_non_null(strstr(err, "no such context 'nope'"));
	kube_conn_deinit(&c);
	write_file("exec", "contexts:\n- name: p\n  context:\n    cluster: c\n    user: plugin\n"
			   "clusters:\n- name: c\n  cluster:\n    server: https://h\n"
			   "users:\n- name: plugin\n  user:\n    exec:\n      command: aws\n"
			   "current-context: p\n");
	snprintf(path, sizeof(path), "%s/exec", tmpdir);
	assert_int_equal(kube_conn_kubeconfig(&c, path, NULL, err, sizeof(err)), E_NOTSUP);
	kube_conn_deinit(&c);
	/* JSON kubeconfigs are read as they are. */
	write_file("json", "{\"contexts\":[{\"name\":\"j\",\"context\":{\"cluster\":\"c\","
			   "\"user\":\"u\"}}],\"clusters\":[{\"name\":\"c\",\"cluster\":{"
			   "\"server\":\"http://127.0.0.1:1\",\"insecure-skip-tls-verify\":true}}],"
			   "\"users\":[{\"name\":\"u\",\"user\":{\"token\":\"t\"}}],"
			   "\"current-context\":\"j\"}");
	snprintf(path, sizeof(path), "%s/json", tmpdir);
	assert_int_equal(kube_conn_kubeconfig(&c, path, NULL, err, sizeof(err)), E_OK);
	assert_string_equal(c.token, "t");
	assert_true(c.insecure);
	kube_conn_deinit(&c);
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	assert_int_not_equal(kube_conn_kubeconfig(&c, path, NULL, err, sizeof(err)), E_OK);
	kube_conn_deinit(&c);
}

static void test_incluster(void **state)
{
	kube_conn_t c = { 0 };
	char err[512] = "";
	(void)state;
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(kube_conn_incluster(&c, err, sizeof(err)), E_CFG_SEMANTIC);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));
	kube_conn_deinit(&c);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	setenv("SIGNET_K8S_SERVICE_ACCOUNT_DIR", tmpdir, 1);
	write_file("token", "sa-token\n");
	write_file("ca.crt", "PEM\n");
	assert_int_equal(kube_conn_incluster(&c, err, sizeof(err)), E_OK);
	assert_string_equal(c.server, "https://[fd00::1]:443");
	assert_string_equal(c.token, "sa-token");
	assert_non_null(strstr(c.ca_file, "/ca.crt"));
	kube_conn_deinit(&c);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("SIGNET_K8S_SERVICE_ACCOUNT_DIR");
}

/* ---- the source: options, and a cluster the API server of which is not there ---- */

static int open_with(const char *apex, const char *const *props, int nprops, char *err,
		     size_t errlen, zone_source_t **out)
{
	source_option_t opts[16];
	char *argv[16][8];
	char *zargs[] = { "cluster.local.", "in-addr.arpa." };
	uint8_t a[DNAME_MAX];
	assert_true(dname_from_str(a, apex, NULL) > 0);
	for (int i = 0; i < nprops; i++) {
		char *copy = strdup(props[i]), *save = NULL;
		int argc = 0;
		char *tok = strtok_r(copy, " ", &save);
		opts[i].name = strdup(tok);
		while ((tok = strtok_r(NULL, " ", &save)) != NULL && argc < 8) {
			argv[i][argc++] = strdup(tok);
		}
		opts[i].args = argv[i];
		opts[i].argc = argc;
		opts[i].where = "Corefile:3";
		free(copy);
	}
	source_conf_t conf = { .apex = a,
			       .apex_str = apex,
			       .args = zargs,
			       .argc = 2,
			       .opts = opts,
			       .nopts = nprops,
			       .dir = tmpdir,
			       .where = "Corefile:2" };
	err[0] = '\0';
	int ret = source_kubernetes.open(out, &conf, err, errlen);
	for (int i = 0; i < nprops; i++) {
		free((char *)opts[i].name);
		for (int k = 0; k < opts[i].argc; k++) {
			free(argv[i][k]);
		}
	}
	return ret;
}

static void test_options(void **state)
{
	zone_source_t *s = NULL;
	char err[512];
	(void)state;
	static const struct {
		const char *props[3];
		const char *msg;
	} bad[] = {
		{ { "endpoint" }, "needs the API server's URL" },
		{ { "endpoint ftp://x" }, "http:// or https://" },
		{ { "ttl 3601" }, "0 to 3600" },
		{ { "ttl x" }, "0 to 3600" },
		{ { "pods maybe" }, "disabled, insecure or verified" },
		{ { "tls a b" }, "CERT KEY CA" },
		{ { "tls a b c" }, "tls goes with endpoint" },
		{ { "namespaces" }, "at least one namespace" },
		{ { "noendpoints yes" }, "takes no arguments" },
		{ { "endpoint http://x", "kubeconfig k" }, "exclude each other" },
		{ { "resyncperiod 5m" }, "unknown property 'resyncperiod'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = bad[i].props[1] != NULL ? 2 : 1;
		assert_int_equal(open_with("cluster.local.", bad[i].props, n, err, sizeof(err), &s),
				 E_CFG_SEMANTIC);
		if (strstr(err, bad[i].msg) == NULL || strstr(err, "Corefile:") == NULL) {
			print_error("%s: got '%s'\n", bad[i].props[0], err);
			fail();
		}
	}
}

static void test_unreachable(void **state)
{
	zone_source_t *fwd = NULL, *rev = NULL;
	zone_builder_t *b = NULL;
	char err[512];
	uint8_t a[DNAME_MAX];
	(void)state;
	/* Port 9 on loopback: nothing listens; the list fails at once. */
	const char *props[] = { "endpoint http://127.0.0.1:9/",
				"labels app in (a, b)",
				"namespaces default prod",
				"pods verified",
				"ttl 30",
				"endpoint_pod_names",
				"fallthrough in-addr.arpa" };
	assert_int_equal(open_with("cluster.local.", props, 7, err, sizeof(err), &fwd), E_OK);
	assert_int_equal(open_with("in-addr.arpa.", props, 7, err, sizeof(err), &rev), E_OK);
	dname_from_str(a, "cluster.local.", NULL);
	assert_int_equal(zone_builder_new(&b, a), E_OK);
	zone_builder_set_diag(b, quiet, NULL);
	assert_int_equal(fwd->ops->load(fwd, b), -EAGAIN);
	assert_int_equal(zone_builder_errors(b), 1);
	zone_builder_free(b);
	fwd->ops->close(fwd);
	rev->ops->close(rev);
}

/* The serial moves only when the records do, and never backwards. */
static void test_serial(void **state)
{
	kube_settings_t set = { 0 };
	kube_cluster_t *c = NULL;
	bool created = false;
	uint8_t a[DNAME_MAX], r[DNAME_MAX];
	(void)state;
	set.conn.server = strdup("http://127.0.0.1:9");
	assert_int_equal(kube_cluster_get(&c, "serial-test", &set, &created), E_OK);
	assert_true(created);
	dname_from_str(a, "cluster.local.", NULL);
	dname_from_str(r, "in-addr.arpa.", NULL);
	uint32_t s1 = kube_cluster_serial(c, a, 1);
	assert_int_equal(kube_cluster_serial(c, a, 1), s1);
	uint32_t s2 = kube_cluster_serial(c, a, 2);
	assert_true(s2 > s1 || s2 == s1 + 1);
	uint32_t s3 = kube_cluster_serial(c, a, 3);
	assert_true(s3 > s2);
	assert_int_equal(kube_cluster_serial(c, a, 3), s3);
	uint32_t t1 = kube_cluster_serial(c, r, 7); /* its own */
	assert_int_equal(kube_cluster_serial(c, r, 7), t1);
	assert_int_equal(kube_cluster_serial(c, a, 3), s3);
	kube_cluster_t *same = NULL;
	kube_settings_t other = { 0 };
	assert_int_equal(kube_cluster_get(&same, "serial-test", &other, &created), E_OK);
	assert_false(created);
	assert_ptr_equal(same, c);
	kube_cluster_put(same);
	kube_cluster_put(c);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_kubernetes_XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	log_set_level(LOG_ERR);
	return 0;
}

static int teardown(void **state)
{
	char cmd[512];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_version),
		cmocka_unit_test(test_clusterip),
		cmocka_unit_test(test_dual_stack),
		cmocka_unit_test(test_headless),
		cmocka_unit_test(test_headless_no_ready),
		cmocka_unit_test(test_slices),
		cmocka_unit_test(test_external_name),
		cmocka_unit_test(test_pods),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_changes_and_relist),
		cmocka_unit_test(test_bad_objects),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_yaml),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_kubeconfig),
		cmocka_unit_test(test_incluster),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_serial),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
