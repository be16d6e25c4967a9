/*  Signet: where the domain names are in an RDATA. */
#include "dns/rdata.h"

#include "dns/err.h"
#include "dns/name.h"
#include "dns/rrtype.h"

enum { RRSIG_HEAD = 18 }; /* type covered .. key tag, before the signer's name */

bool dns_rdata_layout(uint16_t type, dns_rdata_layout_t *l)
{
	*l = (dns_rdata_layout_t){ .names = 1 };
	switch (type) {
	case RR_NS:
	case RR_MD:
	case RR_MF:
	case RR_CNAME:
	case RR_MB:
	case RR_MG:
	case RR_MR:
	case RR_PTR:
		l->compress = true;
		return true;
	case RR_MINFO:
		l->names = 2;
		l->compress = true;
		return true;
	case RR_MX:
		l->head = 2;
		l->compress = true;
		return true;
	case RR_SOA:
		l->names = 2;
		l->tail = 20;
		l->compress = true;
		return true;
	case RR_DNAME:
		return true;
	case RR_RP:
		l->names = 2;
		return true;
	case RR_AFSDB:
	case RR_RT:
	case RR_KX:
		l->head = 2;
		return true;
	case RR_PX:
		l->head = 2;
		l->names = 2;
		return true;
	case RR_SRV:
		l->head = 6;
		return true;
	case RR_NAPTR:
		l->head = 4;
		l->strings = 3;
		return true;
	case RR_NXT:
		l->tail = DNS_RDATA_TAIL_ANY;
		return true;
	case RR_SIG:
	case RR_RRSIG:
		l->head = RRSIG_HEAD;
		l->tail = DNS_RDATA_TAIL_ANY;
		return true;
	case RR_A6:
		l->a6 = true;
		return true;
	default:
		return false;
	}
}

int dns_rdata_names(const dns_rdata_layout_t *l, const uint8_t *rd, size_t rdlen, size_t *pos,
		    int *names)
{
	size_t p = l->head;

	*names = l->names;
	if (l->a6) {
		/* prefix length, the address suffix, then the prefix name unless it is 0 */
		if (rdlen < 1 || rd[0] > 128) {
			return E_MALFORMED;
		}
		p = 1u + (128u - rd[0] + 7u) / 8u;
		*names = rd[0] != 0;
	}
	if (p > rdlen) {
		return E_MALFORMED;
	}
	for (int i = 0; i < l->strings; i++) {
		if (p >= rdlen || p + 1u + rd[p] > rdlen) {
			return E_MALFORMED;
		}
		p += 1u + rd[p];
	}
	*pos = p;
	return E_OK;
}

int dns_rdata_valid(uint16_t type, const uint8_t *rd, size_t rdlen)
{
	dns_rdata_layout_t lay;

	if (type == RR_A || type == RR_AAAA) {
		return rdlen == (type == RR_A ? 4u : 16u) ? E_OK : E_MALFORMED;
	}
	if (!dns_rdata_layout(type, &lay)) {
		return E_OK;
	}
	return dns_rdata_check(&lay, rd, rdlen) == E_OK ? E_OK : E_MALFORMED;
}

int dns_rdata_check(const dns_rdata_layout_t *l, const uint8_t *rd, size_t rdlen)
{
	size_t pos;
	int names;
	int ret = dns_rdata_names(l, rd, rdlen, &pos, &names);

	for (int i = 0; ret == E_OK && i < names; i++) {
		int n = dname_check(rd + pos, rdlen - pos);
		if (n < 0) {
			return n;
		}
		pos += (size_t)n;
	}
	if (ret == E_OK && l->tail != DNS_RDATA_TAIL_ANY && rdlen - pos != l->tail) {
		return E_MALFORMED;
	}
	return ret;
}
