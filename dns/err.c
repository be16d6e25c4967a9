#include "dns/err.h"

#include <string.h>

const char *err_str(int code)
{
	switch (code) {
	case E_OK:
		return "ok";
	case E_MALFORMED:
		return "malformed wire data";
	case E_TRUNC:
		return "does not fit";
	case E_NAME_LABEL:
		return "label longer than 63 octets";
	case E_NAME_LONG:
		return "name longer than 255 octets";
	case E_NAME_LOOP:
		return "bad compression pointer";
	case E_NAME_SYNTAX:
		return "bad domain name";
	case E_TRAILING:
		return "trailing data";
	case E_ZONE_NOTFOUND:
		return "no such zone";
	case E_ZONE_NOSOA:
		return "no SOA at the zone apex";
	case E_ZONE_CNAME:
		return "CNAME beside other data";
	case E_ZONE_SYNTAX:
		return "zone syntax error";
	case E_ZONE_OUTOFZONE:
		return "record outside the zone";
	case E_ZONE_MULTISOA:
		return "more than one SOA";
	case E_ZONE_TOOBIG:
		return "zone too large";
	case E_CFG_SYNTAX:
		return "configuration syntax error";
	case E_CFG_SEMANTIC:
		return "configuration not accepted";
	case E_TSIG_BADSIG:
		return "TSIG signature does not verify";
	case E_TSIG_BADKEY:
		return "unknown TSIG key";
	case E_TSIG_BADTIME:
		return "TSIG time outside the window";
	case E_NOTSUP:
		return "not supported";
	case E_EXISTS:
		return "already exists";
	default:
		break;
	}
	if (code < 0 && code > E_DOMAIN_BASE) {
		return strerror(-code);
	}
	return "unknown error";
}
