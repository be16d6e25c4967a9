/*  Signet: the one error enumeration.
 *
 *  Functions return int: E_OK (0) on success, a negative errno value mirrored as is
 *  (-ENOMEM, -EINVAL, ...), or one of the domain codes below. DNS RCODEs are not errors:
 *  they live only in the query being answered.
 */
#pragma once

#include <errno.h>

enum {
	E_OK = 0,
	E_DOMAIN_BASE = -1000,
	E_MALFORMED,      /*!< wire data does not parse */
	E_TRUNC,          /*!< does not fit the buffer */
	E_NAME_LABEL,     /*!< label longer than 63 octets */
	E_NAME_LONG,      /*!< name longer than 255 octets */
	E_NAME_LOOP,      /*!< compression pointer loop or forward pointer */
	E_NAME_SYNTAX,    /*!< presentation-format name does not parse */
	E_TRAILING,       /*!< bytes after the last record */
	E_ZONE_NOTFOUND,  /*!< no zone for the name */
	E_ZONE_NOSOA,     /*!< zone has no SOA at the apex */
	E_ZONE_CNAME,     /*!< CNAME beside other data */
	E_ZONE_SYNTAX,    /*!< zone file syntax error */
	E_ZONE_OUTOFZONE, /*!< record outside the zone */
	E_ZONE_MULTISOA,  /*!< more than one SOA */
	E_ZONE_TOOBIG,    /*!< zone exceeds the configured size */
	E_CFG_SYNTAX,     /*!< Corefile syntax error */
	E_CFG_SEMANTIC,   /*!< Corefile directive or argument not accepted */
	E_TSIG_BADSIG,    /*!< TSIG signature does not verify */
	E_TSIG_BADKEY,    /*!< TSIG key unknown */
	E_TSIG_BADTIME,   /*!< TSIG time outside the fudge window */
	E_NOTSUP,         /*!< not supported */
	E_EXISTS,         /*!< already present */
};

/*! \brief Human-readable text for an error code (never NULL). */
const char *err_str(int code);
