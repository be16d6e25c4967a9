/*  The kubernetes source, private: the model of the cluster's objects, the records it
 *  makes (Kubernetes DNS-Based Service Discovery 1.1.0), the connection to the API server
 *  (endpoint, kubeconfig, in-cluster service account) and the list+watch machinery.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "adapters/http.h"
#include "adapters/json.h"
#include "zones/builder.h"

/* ---- the model ---- */

/*! The kinds of object listed and watched. */
enum kube_res {
	KUBE_SERVICES,
	KUBE_SLICES, /*!< discovery.k8s.io/v1 EndpointSlices */
	KUBE_NAMESPACES,
	KUBE_PODS,
	KUBE_NRES,
};

enum kube_pods_mode { KUBE_PODS_DISABLED, KUBE_PODS_INSECURE, KUBE_PODS_VERIFIED };

/*! What an entry of a kube_table starts with. */
typedef struct kube_ent {
	struct kube_ent *hnext;
	uint32_t hash;
	uint16_t keylen;
	const char *key; /*!< "namespace/name" (namespaces: "name"), owned by the entry */
} kube_ent_t;

typedef struct kube_table {
	kube_ent_t **buckets;
	uint32_t nbuckets; /*!< a power of two, or 0 */
	uint32_t count;
} kube_table_t;

struct kube_group;

/*! One object, as much of it as DNS needs, packed into \a blob (see model.c). */
typedef struct kube_obj {
	kube_ent_t ent;
	uint8_t res;    /*!< enum kube_res */
	uint8_t mark;   /*!< the list generation that last saw it */
	uint16_t nslen; /*!< the namespace is key[0, nslen) */
	uint32_t bloblen;
	struct kube_group *group; /*!< services and slices: their service's group */
	struct kube_obj *gnext;   /*!< slices: the next slice of the group */
	const uint8_t *blob;
} kube_obj_t;

/*! A service and its EndpointSlices, keyed "namespace/service" (either may come first). */
typedef struct kube_group {
	kube_ent_t ent;
	kube_obj_t *svc;
	kube_obj_t *slices;
} kube_group_t;

/*! The objects of one cluster connection. */
typedef struct kube_model {
	kube_table_t objs[KUBE_NRES];
	kube_table_t groups;
	uint8_t mark[KUBE_NRES];
	char **namespaces; /*!< only these namespaces (NULL: all); borrowed */
	int nnamespaces;
	bool ns_known; /*!< Namespaces are listed: objects elsewhere are not served */
} kube_model_t;

void kube_model_init(kube_model_t *m);
void kube_model_deinit(kube_model_t *m);

/*!
 * \brief Add or replace the object \a obj (JSON, as the API shows it) of kind \a r.
 *        Objects DNS cannot use (no name, outside the namespaces served, a pod without an
 *        address, an FQDN slice) remove the one of that name.
 * \param changed  set to true when what DNS sees changed (may be NULL)
 * \return E_OK, E_MALFORMED (not an object of that kind: nothing changed) or -ENOMEM.
 */
int kube_model_put(kube_model_t *m, enum kube_res r, const json_t *obj, bool *changed);

/*! \brief Remove the object named by \a obj's metadata; E_OK also when it was not there. */
int kube_model_del(kube_model_t *m, enum kube_res r, const json_t *obj, bool *changed);

/*! \brief A full list of kind \a r begins: every put until kube_model_list_end marks. */
void kube_model_list_begin(kube_model_t *m, enum kube_res r);

/*! \brief The list ended: objects of kind \a r it did not have are removed.
 *  \return true when that changed anything. */
bool kube_model_list_end(kube_model_t *m, enum kube_res r);

/*! \brief Number of objects of kind \a r kept. */
uint32_t kube_model_count(const kube_model_t *m, enum kube_res r);

/* ---- records ---- */

/*! How a zone is made from the model. */
typedef struct kube_emit {
	const uint8_t *apex;    /*!< the zone being built */
	const uint8_t *cluster; /*!< <zone> in the specification's names (a forward zone) */
	bool reverse;           /*!< the apex is under in-addr.arpa or ip6.arpa: PTR only */
	uint32_t ttl;
	enum kube_pods_mode pods;
	bool endpoint_pod_names;
	const char *where; /*!< for messages */
	uint64_t hash;     /*!< out: a digest of the records added (SOA not included) */
	uint32_t records;  /*!< out */
} kube_emit_t;

/*! \brief Every record of the zone except the SOA, into \a b; with \a b NULL only the digest
 *         (e->hash) is computed, which is several times faster. */
int kube_emit_records(const kube_model_t *m, kube_emit_t *e, zone_builder_t *b);

/*! \brief The apex SOA (ns.dns.<apex>, hostmaster.<apex>, CoreDNS's timers). */
int kube_emit_soa(const kube_emit_t *e, zone_builder_t *b, uint32_t serial);

/* ---- the connection ---- */

/*! Where the API server is and how to authenticate. */
typedef struct kube_conn {
	char *server; /*!< "https://host:port", no trailing '/' */
	char *ca_file;
	char *cert_file;
	char *key_file;
	char *token;      /*!< read from token_file when that is set */
	char *token_file; /*!< re-read when it changes (projected tokens rotate) */
	struct timespec token_mtime;
	off_t token_size;
	char *user;
	char *pass;
	bool insecure;
	char *tmp[3]; /*!< files written from kubeconfig *-data, removed by deinit */
} kube_conn_t;

void kube_conn_deinit(kube_conn_t *c);

/*! \brief Request options for \a c, the token re-read when its file changed (strings
 *         borrowed from \a c until the next call). */
void kube_conn_opts(kube_conn_t *c, http_opts_t *o);

/*! \brief The in-cluster configuration: KUBERNETES_SERVICE_HOST/PORT, the service account's
 *         token and CA (the folder may be moved by SIGNET_K8S_SERVICE_ACCOUNT_DIR). */
int kube_conn_incluster(kube_conn_t *c, char *err, size_t errlen);

/*!
 * \brief The cluster and user of \a context (NULL: current-context) of the kubeconfig at
 *        \a path (YAML as kubectl writes it, or JSON).
 */
int kube_conn_kubeconfig(kube_conn_t *c, const char *path, const char *context, char *err,
			 size_t errlen);

/*!
 * \brief The subset of YAML that kubeconfig files use (block mappings and sequences, plain
 *        and quoted scalars, comments, empty flow collections, block scalars) as JSON text
 *        in which every scalar is a string. \a out is NUL-terminated, the caller frees it.
 */
int kube_yaml_to_json(const char *text, size_t len, char **out, size_t *outlen, char *err,
		      size_t errlen);

/*! \brief Decode base64 (RFC 4648, white space ignored); *out is the caller's. */
int kube_base64_decode(const char *in, size_t len, uint8_t **out, size_t *outlen);

/* ---- the cluster: one connection, its model and its watches, shared by every zone made
 *      from the same settings (a "kubernetes cluster.local in-addr.arpa" directive makes
 *      three zones from one list+watch) ---- */

struct event_base;
typedef struct kube_cluster kube_cluster_t;

/*! What makes a cluster; everything is the cluster's once kube_cluster_get succeeded. */
typedef struct kube_settings {
	kube_conn_t conn;
	char *labels;      /*!< a label selector for Services and EndpointSlices, or NULL */
	char **namespaces; /*!< NULL: all */
	int nnamespaces;
	enum kube_pods_mode pods;
	bool noendpoints;
} kube_settings_t;

/*! \brief Free what \a s holds (it stays usable, empty). */
void kube_settings_free(kube_settings_t *s);

/*! A zone made from a cluster: told when the model changed (forward zones before reverse
 *  zones, so that names are answered first). */
typedef struct kube_sub {
	struct kube_sub *next;
	void (*changed)(void *ud);
	void *ud;
	bool reverse;
} kube_sub_t;

/*!
 * \brief The cluster of \a key, or a new one made of \a set (whose contents it then owns;
 *        otherwise \a set is left to the caller). A new cluster lists every kind of object at
 *        once (blocking, a few seconds at most), so that the first load has the data; when
 *        that fails the cluster is still made and the watch lists again.
 */
int kube_cluster_get(kube_cluster_t **out, const char *key, kube_settings_t *set, bool *created);

/*! \brief Drop a reference; the last one stops the watches and frees everything. */
void kube_cluster_put(kube_cluster_t *c);

/*! \brief Keep the model current from \a base's thread (once per cluster; later calls only
 *         check that the base is the same). */
int kube_cluster_watch(kube_cluster_t *c, struct event_base *base);

void kube_cluster_subscribe(kube_cluster_t *c, kube_sub_t *s);
void kube_cluster_unsubscribe(kube_cluster_t *c, kube_sub_t *s);

/*! \brief The model, or NULL (with \a why) while it has not been listed completely. */
const kube_model_t *kube_cluster_model(const kube_cluster_t *c, char *why, size_t whylen);

/*!
 * \brief The serial of zone \a apex given the digest \a hash of its records: the last one
 *        while the digest is the same, else max(last + 1, now). Kept by the cluster, so a
 *        configuration reload that keeps the cluster keeps the serial.
 */
uint32_t kube_cluster_serial(kube_cluster_t *c, const uint8_t *apex, uint64_t hash);

/*! \brief True when \a hash is the digest of the version of \a apex last loaded. */
bool kube_cluster_same(const kube_cluster_t *c, const uint8_t *apex, uint64_t hash);
