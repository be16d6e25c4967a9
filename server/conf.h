/*  Signet: the running configuration, derived from a Corefile and checked. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "adapters/source.h"
#include "dns/name.h"
#include "server/cfg.h"
#include "server/stage.h"

#define CONF_MAX_STAGES 16

/*! One server block's behaviour. */
typedef struct conf_block {
	const cfg_block_t *cfg;
	stage_t stages[CONF_MAX_STAGES]; /*!< in query-path order */
	int nstages;
	uint64_t tcp_idle_ms; /*!< timeouts { idle } */
	uint64_t tcp_read_ms; /*!< timeouts { read } */
	char *dir;            /*!< relative paths are taken from here ("root") */
	/*! "prometheus": the labels this block counts under; NULL: none (server/metrics.h) */
	struct metrics_block *metrics;
} conf_block_t;

/*! One zone and where its data comes from. */
typedef struct conf_zone {
	uint8_t apex[DNAME_MAX];
	char apex_str[DNAME_STR_MAX];
	const zone_source_ops_t *source;
	source_conf_t sconf;   /*!< what the source is opened with */
	source_option_t *opts; /*!< sconf.opts, owned */
	char where[256];       /*!< sconf.where */
	int nargs;             /*!< arguments of the directive that are not zones */
	bool owned_where;      /*!< opts[].where were allocated here */
	int block;             /*!< index into conf_t.blocks */
	int view;              /*!< index into conf_t.views */
	const cfg_directive_t *dir;
	const struct zc_block *zb;          /*!< its block's transfer/tsig/dnssec settings */
	const struct zc_transfer *transfer; /*!< NULL: not transferable */
	const struct zc_dnssec *dnssec;     /*!< NULL: unsigned */
} conf_zone_t;

/*! One socket address served; a view groups what one port serves. */
typedef struct conf_listener {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int view;
	bool tls;
} conf_listener_t;

typedef struct conf_view {
	uint16_t port;
} conf_view_t;

/*! "limits { ... }" (a Signet extension): what one server holds at most. */
typedef struct conf_limits {
	uint32_t tcp_connections; /*!< open TCP connections in all */
	uint32_t tcp_per_client;  /*!< from one address */
	uint32_t transfers;       /*!< outgoing AXFR/IXFR streams at once */
	uint32_t zone_records;    /*!< records one source may load into one zone (0: no limit) */
} conf_limits_t;

typedef struct conf {
	cfg_t *cfg;
	struct zc_block *zblocks; /*!< parallel to blocks */
	conf_block_t *blocks;
	int nblocks;
	conf_zone_t *zones;
	int nzones;
	conf_view_t *views;
	int nviews;
	conf_listener_t *listeners;
	int nlisteners;
	uint64_t reload_ms; /*!< "reload" directive: Corefile checked this often; 0 = never */
	conf_limits_t limits;
	char user[64]; /*!< "user": run as this user once the sockets are open ("" = stay) */
} conf_t;

/*! The configuration used when there is no Corefile. */
extern const char conf_default_corefile[];

/*!
 * \brief Read and check a configuration.
 * \param path          the Corefile, or NULL for the embedded default
 * \param default_port  the port of blocks that name none (-dns.port), 0 for CoreDNS's 53
 * \param err_fn        receives every problem as file, line, message
 * \return E_OK with *out set, or the first error.
 */
int conf_load(conf_t **out, const char *path, uint16_t default_port, cfg_error_fn err_fn, void *ud);

/*! \brief As conf_load; with \a keep_partial, a Corefile that parsed but has errors in its
 *         directives still yields *out (what was accepted), for -validate to go on with. */
int conf_check(conf_t **out, const char *path, uint16_t default_port, cfg_error_fn err_fn, void *ud,
	       bool keep_partial);

void conf_free(conf_t *c);

/*! \brief The view serving \a port, or -1. */
static inline int conf_view_by_port(const conf_t *c, uint16_t port)
{
	for (int i = 0; i < c->nviews; i++) {
		if (c->views[i].port == port) {
			return i;
		}
	}
	return -1;
}

/*! \brief Every directive this build understands, space separated (for -plugins). */
const char *conf_directives(void);
