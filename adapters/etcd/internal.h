/*  Signet: the etcd source's parts (private to adapters/etcd/).
 *
 *  skydns.c: the in-memory model of the SkyDNS keys under one zone's path and the zone it
 *  makes (no I/O). gateway.c: requests to and answers from etcd's JSON gateway (no I/O
 *  either). etcd.c: the source — configuration, the first load, the watch, reconnection.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapters/json.h"
#include "dns/name.h"
#include "zones/builder.h"

#define SKYDNS_DEFAULT_PATH "/skydns"
#define SKYDNS_DEFAULT_TTL  300 /* CoreDNS's etcd plugin: a service without a TTL */
#define SKYDNS_DEFAULT_PRIO 10  /* ... and without a priority */
#define SKYDNS_SOA_TTL      30  /* CoreDNS: min(300, MinTTL 30) */
#define SKYDNS_SOA_MINIMUM  30

enum skydns_host {
	SKYDNS_HOST_NONE = 0, /* no host */
	SKYDNS_HOST_A,        /* an IPv4 address (or an IPv4-mapped IPv6 one, as Go reads it) */
	SKYDNS_HOST_AAAA,
	SKYDNS_HOST_NAME, /* a domain name */
};

/*! One key and its SkyDNS message (github.com/skynetservices/skydns msg.Service). */
typedef struct skydns_svc {
	const char *key; /*!< the etcd key as written, NUL-terminated */
	uint32_t keylen;
	uint16_t slashes;      /*!< '/' in the key (msg.Group compares depths with it) */
	uint8_t ncomp;         /*!< components below the zone's path (a trailing '/' adds none) */
	uint8_t kind;          /*!< enum skydns_host */
	const uint8_t *name;   /*!< the key as a domain name (msg.Domain), wire form, lower case */
	const uint8_t *target; /*!< host as a domain name (kind NAME), wire form */
	uint8_t addr[16];      /*!< host as an address (kind A: 4 octets, AAAA: 16) */
	int64_t port, priority, weight, targetstrip; /*!< priority: 0 already made 10 */
	uint32_t ttl;                                /*!< the message's "ttl", 0 when none */
	bool mail;
	const char *host; /*!< "" when none */
	const char *text; /*!< "" when none */
	uint32_t textlen;
	const char *group; /*!< "" when none */
	int64_t mod_revision;
	int64_t lease; /*!< etcd lease ID, 0 when none */
} skydns_svc_t;

/*! A granted lease TTL, looked up once per lease. */
typedef struct skydns_lease {
	int64_t id;
	uint32_t ttl; /*!< 0: unknown (expired, or not looked up) */
} skydns_lease_t;

/*! The keys of one zone, sorted as etcd sorts them (bytewise). */
typedef struct skydns {
	char prefix[512]; /*!< the zone's path: "/skydns/local/skydns" */
	size_t prefixlen;
	uint8_t apex[DNAME_MAX];
	int apex_labels;
	bool reverse; /*!< under in-addr.arpa. or ip6.arpa. */
	skydns_svc_t **svcs;
	size_t n, cap;
	skydns_lease_t *leases; /*!< sorted by id */
	size_t nleases, capleases;
	int64_t max_mod; /*!< the largest mod_revision of the keys */
} skydns_t;

/*!
 * \brief Start an empty model for the zone \a apex (wire form) under etcd path \a path
 *        ("/skydns"; slashes are normalized as Go's path.Join does).
 * \return E_OK, or E_CFG_SEMANTIC when the zone's path would be too long.
 */
int skydns_init(skydns_t *m, const char *path, const uint8_t *apex);

/*! \brief Free every key (the model stays usable, empty). */
void skydns_clear(skydns_t *m);

/*! \brief Exchange the contents of two models of the same zone. */
void skydns_swap(skydns_t *a, skydns_t *b);

/*! \brief True when \a key is the zone's path or lies below it ("P" or "P/..."). */
bool skydns_in_zone(const skydns_t *m, const char *key, size_t keylen);

/*!
 * \brief Set \a key to the message \a value (JSON).
 * \return E_OK; 1 when the key is not in the zone (nothing done); or E_MALFORMED with \a err
 *         saying why the key cannot be a record (the key is then removed from the model).
 */
int skydns_put(skydns_t *m, const char *key, size_t keylen, const char *value, size_t vlen,
	       int64_t mod_revision, int64_t lease, char *err, size_t errlen);

/*! \brief Remove \a key. \return true when it was there. */
bool skydns_del(skydns_t *m, const char *key, size_t keylen);

/*! \brief The key \a key, or NULL. */
const skydns_svc_t *skydns_get(const skydns_t *m, const char *key, size_t keylen);

/*! \brief Record the granted TTL of lease \a id (0: unknown). */
int skydns_lease_set(skydns_t *m, int64_t id, uint32_t ttl);

/*! \brief True when lease \a id has an entry (known or looked up without success). */
bool skydns_lease_known(const skydns_t *m, int64_t id);

/*! \brief Drop the lease entries no key refers to. */
void skydns_lease_gc(skydns_t *m);

/*! \brief The TTL of a record made from \a s: the message's and the lease's, the smaller
 *         of the two when both are set, else SKYDNS_DEFAULT_TTL. */
uint32_t skydns_ttl(const skydns_t *m, const skydns_svc_t *s);

/*!
 * \brief Add the zone the keys make to \a b: SOA (serial \a serial), NS, and for every name
 *        the records of its whole subtree, as CoreDNS's etcd plugin answers (doc/etcd.md).
 */
int skydns_build(const skydns_t *m, zone_builder_t *b, uint32_t serial);

/* ---- the JSON gateway (gateway.c) ---- */

/*! One key of a range answer or a watch event. Pointers into the decoded buffers. */
typedef struct etcd_kv {
	char *key;
	size_t keylen;
	char *value;
	size_t vlen;
	int64_t mod_revision;
	int64_t lease;
	bool deleted; /*!< a DELETE event */
} etcd_kv_t;

/*! \brief Base64 of \a s (len octets) as a JSON string literal into \a buf.
 *  \return its length, or E_TRUNC. */
int etcd_b64_json(char *buf, size_t buflen, const char *s, size_t len);

/*!
 * \brief Decode the base64 key and value of a "kv" object into \a kv (allocated; free with
 *        etcd_kv_free).
 */
int etcd_kv_decode(const json_t *kv, etcd_kv_t *out);
void etcd_kv_free(etcd_kv_t *kv);

/*!
 * \brief The error of a gateway answer, if it is one: {"error": "...", "code": N} for
 *        unary calls, {"error": {"grpc_code": N, "message": "..."}} in streams.
 * \return true with \a msg and *code set when \a j is an error.
 */
bool etcd_error(const json_t *j, char *msg, size_t msglen, int *code);

/*! gRPC codes etcd answers with that the source tells apart. */
enum {
	ETCD_GRPC_OUT_OF_RANGE = 11,   /*!< mvcc: required revision has been compacted */
	ETCD_GRPC_UNAUTHENTICATED = 16 /*!< invalid auth token */
};
