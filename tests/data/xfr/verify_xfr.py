#!/usr/bin/python3
"""Check a TSIG-signed zone transfer with dnspython (an independent implementation).

    SIGNET_XFR_DUMP=/tmp/axfr.bin build/san/unit/xfr/test_xfr
    /usr/bin/python3 tests/data/xfr/verify_xfr.py /tmp/axfr.bin

The file holds the request and then each response message, each after its 16-bit length.
Every message must verify (RFC 8945 §5.3.1 multi-message rules, key transfer.key.,
hmac-sha256, the secret of gen_tsig_fixtures.py), the first and last RR must be the SOA and
dnspython's own AXFR reader must accept the stream as a complete zone.
"""
import base64
import struct
import sys

import dns.message
import dns.rdatatype
import dns.tsig
import dns.zone

KEY = dns.tsig.Key("transfer.key.", base64.b64encode(bytes(range(32))).decode(),
                   algorithm=dns.tsig.HMAC_SHA256)


def messages(path):
    data = open(path, "rb").read()
    pos = 0
    while pos < len(data):
        (n,) = struct.unpack("!H", data[pos:pos + 2])
        yield data[pos + 2:pos + 2 + n]
        pos += 2 + n


def main(path):
    wires = list(messages(path))
    req = dns.message.from_wire(wires[0], keyring=KEY)
    origin = req.question[0].name
    ctx = None
    rrs = []
    for i, wire in enumerate(wires[1:]):
        m = dns.message.from_wire(wire, keyring=KEY, request_mac=req.mac, xfr=True,
                                  origin=origin, tsig_ctx=ctx, multi=True,
                                  one_rr_per_rrset=True)
        ctx = m.tsig_ctx
        assert m.had_tsig, "message %d is not signed" % i
        for rrset in m.answer:
            rrs.extend((rrset.name, rrset.ttl, rd) for rd in rrset)
    assert rrs[0][2].rdtype == dns.rdatatype.SOA and rrs[-1][2].rdtype == dns.rdatatype.SOA
    zone = dns.zone.Zone(origin)
    with zone.writer() as txn:
        for name, ttl, rd in rrs[:-1]:
            txn.add(name, ttl, rd)
    zone.check_origin()
    print("%d messages verified (TSIG), %d RRs, %d names, SOA serial %d" %
          (len(wires) - 1, len(rrs), len(zone.nodes), rrs[0][2].serial))


if __name__ == "__main__":
    main(sys.argv[1])
