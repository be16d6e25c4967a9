/*  Signet: RR type and class numbers used by the code (any type number is carried). */
#pragma once

#include <stdint.h>

enum {
	RR_A = 1,
	RR_NS = 2,
	RR_MD = 3,
	RR_MF = 4,
	RR_CNAME = 5,
	RR_SOA = 6,
	RR_MB = 7,
	RR_MG = 8,
	RR_MR = 9,
	RR_PTR = 12,
	RR_MINFO = 14,
	RR_MX = 15,
	RR_TXT = 16,
	RR_RP = 17,
	RR_AFSDB = 18,
	RR_RT = 21,
	RR_SIG = 24,
	RR_PX = 26,
	RR_AAAA = 28,
	RR_NXT = 30,
	RR_SRV = 33,
	RR_NAPTR = 35,
	RR_KX = 36,
	RR_A6 = 38,
	RR_DNAME = 39,
	RR_OPT = 41,
	RR_DS = 43,
	RR_RRSIG = 46,
	RR_NSEC = 47,
	RR_DNSKEY = 48,
	RR_NSEC3 = 50,
	RR_NSEC3PARAM = 51,
	RR_CDS = 59,
	RR_CDNSKEY = 60,
	RR_TKEY = 249,
	RR_TSIG = 250,
	RR_IXFR = 251,
	RR_AXFR = 252,
	RR_MAILB = 253,
	RR_MAILA = 254,
	RR_ANY = 255,
};

enum { CLASS_IN = 1, CLASS_CH = 3, CLASS_NONE = 254, CLASS_ANY = 255 };

enum {
	OPCODE_QUERY = 0,
	OPCODE_NOTIFY = 4,
	OPCODE_UPDATE = 5,
};

enum {
	RCODE_NOERROR = 0,
	RCODE_FORMERR = 1,
	RCODE_SERVFAIL = 2,
	RCODE_NXDOMAIN = 3,
	RCODE_NOTIMP = 4,
	RCODE_REFUSED = 5,
	RCODE_NOTAUTH = 9,
	RCODE_BADVERS = 16, /*!< extended: needs OPT */
};

/*! \brief True for meta and query-only types (OPT, TSIG, AXFR, ANY, ...) that never live in a zone. */
static inline int rrtype_is_meta(uint16_t t)
{
	return t == RR_OPT || (t >= 128 && t <= 255) || t == 0;
}
