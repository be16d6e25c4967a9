"""The queries compared between signetd and knotd (test_compare_knot.py).

Zones: tests/data/cases/{example.test,child.example.test,rfc4592.test}.zone.
Each case is sent over UDP and over TCP to both servers.
"""

from dataclasses import dataclass, field

import dns.edns

import lib


@dataclass(frozen=True)
class Case:
    qname: str
    qtype: str = "A"
    qclass: str = "IN"
    edns: int = -1          # -1: no OPT; 0: EDNS version 0; 1: version 1 (BADVERS)
    payload: int = 1232     # EDNS UDP payload size advertised by the query
    do: bool = False        # EDNS DO bit
    rd: bool = False
    cd: bool = False
    opcode: int = 0         # patched into the header of the wire query
    ednsopt: int = 0        # an EDNS option of this code (4 bytes of data) in the query
    ednsz: int = 0          # extra (unassigned) EDNS flag bits set in the query
    hdrbits: int = 0        # extra header flag bits (Z 0x0040, AD 0x0020) set in the query
    what: str = ""          # the rule this case checks
    tags: tuple = field(default=())

    @property
    def id(self):
        parts = [self.qname, self.qtype]
        if self.qclass != "IN":
            parts.append(self.qclass)
        if self.edns >= 0:
            parts.append("edns%d/%d" % (self.edns, self.payload))
        if self.do:
            parts.append("DO")
        if self.rd:
            parts.append("RD")
        if self.cd:
            parts.append("CD")
        if self.opcode:
            parts.append("opcode%d" % self.opcode)
        if self.ednsopt:
            parts.append("ednsopt%d" % self.ednsopt)
        if self.ednsz:
            parts.append("ednsz%04x" % self.ednsz)
        if self.hdrbits:
            parts.append("hdr%04x" % self.hdrbits)
        return " ".join(parts)

    def wire(self, qid):
        q = lib.make_query(self.qname, self.qtype, self.qclass, edns=self.edns,
                           payload=self.payload, do=self.do, rd=self.rd, cd=self.cd, qid=qid)
        if self.edns >= 0 and (self.ednsopt or self.ednsz):
            opts = [dns.edns.GenericOption(self.ednsopt, b"\x01\x02\x03\x04")] if self.ednsopt else []
            q.use_edns(edns=self.edns, ednsflags=q.ednsflags | self.ednsz, payload=self.payload,
                       options=opts)
        w = bytearray(q.to_wire())
        if self.opcode:
            w[2] = (w[2] & 0x87) | (self.opcode << 3)
        w[2] |= self.hdrbits >> 8
        w[3] |= self.hdrbits & 0xFF
        return bytes(w)


E = "example.test."
R = "rfc4592.test."
LONG63 = "l" * 63


def c(qname, qtype="A", what="", **kw):
    return Case(qname=qname, qtype=qtype, what=what, **kw)


CASES = [
    # --- authoritative data, AA, RFC 1034 4.3.2 step 3a ----------------------
    c(E, "SOA", "apex SOA, AA"),
    c(E, "NS", "apex NS with in-zone A/AAAA glue in additional"),
    c(E, "MX", "MX: additional A/AAAA for in-zone target only"),
    c(E, "TXT", "apex TXT"),
    c("www." + E, "A", "plain A"),
    c("www." + E, "AAAA", "AAAA with its own TTL"),
    c("www." + E, "TXT", "TXT"),
    c("mail." + E, "A", "A of a name with A and AAAA"),
    c("_sip._udp." + E, "SRV", "SRV: additional for in-zone target"),
    c("_ldap._tcp." + E, "SRV", "SRV: out-of-zone target, no additional"),
    c("mx-multi." + E, "MX", "several MX, additional for each target"),
    c("mx-cname." + E, "MX", "MX target is a CNAME: no additional"),
    c("unk." + E, "TYPE65400", "unknown type (RFC 3597) served as is"),
    c("unk." + E, "A", "NODATA at a name holding only an unknown type"),
    c("mixed." + E, "A", "owner MiXeD in the zone, lower-case query"),
    c("WwW.ExAmPlE.TeSt.", "A", "mixed-case qname preserved in the question"),
    c("NoThErE.eXaMpLe.TeSt.", "A", "mixed-case qname, NXDOMAIN"),
    c("WWW.EXAMPLE.TEST.", "MX", "upper-case qname, NODATA"),

    # --- negative answers, RFC 2308 ----------------------------------------------
    c("nothere." + E, "A", "NXDOMAIN, SOA TTL = min(SOA TTL, MINIMUM) = 300"),
    c("a.b.c.nothere." + E, "A", "NXDOMAIN several labels below the closest encloser"),
    c("www." + E, "MX", "NODATA, SOA with negative TTL"),
    c(E, "AAAA", "NODATA at the apex"),
    c("ent." + E, "A", "empty non-terminal: NODATA, not NXDOMAIN"),
    c("y.ent." + E, "A", "empty non-terminal (deeper): NODATA"),
    c("z.y.ent." + E, "A", "NXDOMAIN below an empty non-terminal"),
    c("x.y.ent." + E, "A", "data below empty non-terminals"),
    c("host3." + R, "NS", "rfc4592.test: NODATA, negative TTL = SOA TTL 60 < MINIMUM"),
    c("nx.host1." + R, "A", "rfc4592.test: NXDOMAIN, negative TTL 60"),

    # --- CNAME (RFC 1034 4.3.2 step 3a, RFC 2181 10.1) ------------------------------
    c("cname1." + E, "A", "CNAME chain of 2 to data"),
    c("cname1." + E, "AAAA", "CNAME chain of 2, other type"),
    c("chain3a." + E, "A", "CNAME chain of 3"),
    c("chain3a." + E, "AAAA", "CNAME chain of 3, AAAA"),
    c("chain3b." + E, "MX", "CNAME chain ending in NODATA"),
    c("cname1." + E, "CNAME", "qtype CNAME: the CNAME only, not followed"),
    c("cname1." + E, "ANY", "qtype ANY at a CNAME"),
    c("loop1." + E, "A", "CNAME loop of 2: both CNAMEs, NOERROR"),
    c("selfloop." + E, "A", "CNAME pointing to itself"),
    c("cname-out." + E, "A", "out-of-zone CNAME target left to the resolver"),
    c("cname-nx." + E, "A", "CNAME to an in-zone NXDOMAIN"),
    c("cname-ent." + E, "A", "CNAME to an empty non-terminal"),
    c("cname-deleg." + E, "A", "CNAME into a delegation"),
    c("cname-dname." + E, "A", "CNAME into a DNAME"),
    c("cname-wild." + E, "A", "CNAME to a wildcard-expanded name"),
    c("cname-otherzone." + E, "A", "CNAME to another zone on the same server"),
    c("cname1." + E, "A", "CNAME chain with DO", edns=0, do=True),

    # --- DNAME (RFC 6672) --------------------------------------------------------
    c("dname-in." + E, "DNAME", "query for the DNAME owner itself"),
    c("dname-in." + E, "A", "other data at the DNAME owner is not redirected"),
    c("dname-in." + E, "CNAME", "CNAME at the DNAME owner: NODATA"),
    c("foo.dname-in." + E, "A", "DNAME to in-zone target, synthesized CNAME followed"),
    c("foo.dname-in." + E, "AAAA", "DNAME in-zone, AAAA"),
    c("foo.dname-in." + E, "MX", "DNAME in-zone, NODATA at target"),
    c("foo.dname-in." + E, "CNAME", "qtype CNAME below a DNAME"),
    c("foo.dname-in." + E, "DNAME", "qtype DNAME below a DNAME"),
    c("foo.dname-in." + E, "ANY", "qtype ANY below a DNAME"),
    c("bar.dname-in." + E, "TXT", "DNAME in-zone, TXT"),
    c("cn.dname-in." + E, "A", "DNAME, then an in-zone CNAME at the target"),
    c("nx.dname-in." + E, "A", "DNAME to a non-existent in-zone name: NXDOMAIN"),
    c("a.b.dname-in." + E, "A", "DNAME with two labels below the owner"),
    c("FoO.DnAmE-In.ExAmPlE.TeSt.", "A", "mixed-case query below a DNAME"),
    c("www.dname-out." + E, "A", "DNAME to an out-of-zone target"),
    c("www.dname-chain." + E, "A", "DNAME to a DNAME"),
    c("foo.dname-chain." + E, "A", "DNAME to a DNAME to data"),
    c("host.dname-deleg." + E, "A", "DNAME into a delegation"),
    c("x.dname-long." + E, "A", "DNAME, long target, NXDOMAIN at the target"),
    c(LONG63 + ".dname-long." + E, "A", "DNAME substitution longer than 255: YXDOMAIN"),
    c("foo.dname-in." + E, "A", "DNAME with EDNS and DO", edns=0, do=True),

    # --- wildcards (RFC 4592) -----------------------------------------------------
    c("foo.wild." + E, "A", "wildcard A"),
    c("a.b.c.wild." + E, "A", "wildcard matches several labels"),
    c("foo.wild." + E, "TXT", "wildcard TXT"),
    c("foo.wild." + E, "MX", "wildcard NODATA"),
    c("foo.wild." + E, "ANY", "wildcard ANY"),
    c("exists.wild." + E, "A", "existing name is not wildcard-expanded: NODATA"),
    c("x.exists.wild." + E, "A", "below an existing name: NXDOMAIN, no wildcard"),
    c("*.wild." + E, "A", "query for the wildcard owner itself"),
    c("wild." + E, "A", "the wildcard's parent: NODATA (empty non-terminal)"),
    c("sub.*.wild2." + E, "A", "sub.* owner queried literally"),
    c("*.wild2." + E, "A", "'*.wild2' exists only as an empty non-terminal: NODATA"),
    c("x.wild2." + E, "A", "source of synthesis *.wild2 is an empty non-terminal: NODATA (RFC 4592 2.2.2)"),
    c("sub.x.wild2." + E, "A", "sub.* is no wildcard for sub.x; *.wild2 ENT: NODATA"),
    c("foo.wcname." + E, "A", "wildcard CNAME, followed in-zone"),
    c("foo.wcname." + E, "CNAME", "wildcard CNAME, qtype CNAME"),
    c("foo.wcname-out." + E, "A", "wildcard CNAME to out-of-zone"),
    c("foo.wcname-loop." + E, "A", "wildcard CNAME loop through the wildcard"),
    c("foo.wmx." + E, "MX", "wildcard MX with additional"),
    c("z.y.wns." + E, "A", "wildcard blocked by an existing closer encloser"),
    c("q.wns." + E, "A", "wildcard where a sibling subtree exists"),
    c("y.wns." + E, "A", "empty non-terminal next to a wildcard: NODATA"),
    c("foo.wdeleg." + E, "A", "wildcard beside a delegation"),
    c("x.s.wdeleg." + E, "A", "below a delegation next to a wildcard: referral"),
    c("foo.wild." + E, "A", "wildcard answer with DO", edns=0, do=True),
    c("foo.wild." + E, "MX", "wildcard NODATA with DO", edns=0, do=True),
    # RFC 4592 section 2.2.1 example queries
    c("host3." + R, "MX", "RFC 4592 2.2.1: wildcard MX"),
    c("host3." + R, "A", "RFC 4592 2.2.1: wildcard NODATA"),
    c("foo.bar." + R, "TXT", "RFC 4592 2.2.1: wildcard TXT, two labels"),
    c("host1." + R, "MX", "RFC 4592 2.2.1: existing name, NODATA"),
    c("sub.*." + R, "MX", "RFC 4592 2.2.1: 'sub.*' exists, NODATA"),
    c("_telnet._tcp.host1." + R, "SRV", "RFC 4592 2.2.1: ENT '_tcp.host1' blocks: NXDOMAIN"),
    c("host.subdel." + R, "A", "RFC 4592 2.2.1: referral, not wildcard"),
    c("ghost.*." + R, "MX", "RFC 4592 2.2.1: '*' exists, blocks: NXDOMAIN"),
    c("_ssh._tcp.host1." + R, "SRV", "RFC 4592 2.2.1: SRV"),
    c("*." + R, "TXT", "RFC 4592: the wildcard owner queried literally"),
    c("_tcp.host1." + R, "A", "RFC 4592: ENT '_tcp.host1', NODATA"),

    # --- referrals (RFC 1034 4.3.2 step 3b) ----------------------------------------
    c("sub." + E, "NS", "NS at a cut: referral, AA off"),
    c("sub." + E, "A", "A at a cut: referral"),
    c("sub." + E, "SOA", "SOA at a cut: referral"),
    c("host.sub." + E, "A", "below the cut: referral with glue"),
    c("a.b.host.sub." + E, "AAAA", "deep below the cut: referral"),
    c("ns1.sub." + E, "A", "the glue name itself: referral, not an answer"),
    c("ns2.sub." + E, "AAAA", "glue AAAA name: referral"),
    c("sub." + E, "DS", "DS at a cut without DS: NODATA from the parent, AA"),
    c("signed." + E, "DS", "DS at a cut: answered from the parent, AA"),
    c("signed." + E, "NS", "referral of a signed delegation"),
    c("x.signed." + E, "DS", "DS below a cut: referral"),
    c("www.signed." + E, "A", "below a signed delegation: referral"),
    c("sibling." + E, "NS", "referral with sibling glue and in-zone NS"),
    c("outonly." + E, "A", "referral with no glue at all"),
    c("sub." + E, "ANY", "ANY at a cut: referral"),
    c("host.sub." + E, "A", "referral with DO", edns=0, do=True),
    c("host.subdel." + R, "NS", "referral, out-of-zone NS"),
    c("host.bigdeleg." + E, "A", "referral whose glue exceeds 512 bytes (RFC 9471): TC on UDP"),
    c("host.bigdeleg." + E, "A", "big referral with payload 1232: fits", edns=0),
    c("bigdeleg." + E, "DS", "DS at a cut with many NS: NODATA, no glue"),
    # parent and child on one server
    c("child." + E, "DS", "DS at a cut whose child is served too: from the parent"),
    c("child." + E, "SOA", "SOA of the child zone"),
    c("child." + E, "NS", "NS of the child zone: from the child, AA"),
    c("www.child." + E, "A", "data of the child zone"),
    c("nx.child." + E, "A", "NXDOMAIN in the child zone, child SOA"),
    c("child." + E, "DNSKEY", "NODATA at the child apex"),

    # --- ANY (RFC 8482) ----------------------------------------------------------
    # knotd 3.2 answers ANY with one RRset, the node's first in type order (so NS at
    # the apex, with its glue in additional), over UDP and TCP alike.
    c(E, "ANY", "ANY at the apex"),
    c("www." + E, "ANY", "ANY at a name with A, AAAA, TXT"),
    c("mail." + E, "ANY", "ANY at a name with A and AAAA"),
    c("nothere." + E, "ANY", "ANY at a non-existent name: NXDOMAIN"),
    c("ent." + E, "ANY", "ANY at an empty non-terminal"),
    c("www." + E, "ANY", "ANY with EDNS", edns=0),

    # --- other qtypes and classes ------------------------------------------------
    c("www." + E, "TYPE65280", "unknown qtype: NODATA"),
    c("www." + E, "RRSIG", "RRSIG in an unsigned zone"),
    c("www." + E, "NSEC", "NSEC in an unsigned zone"),
    c(E, "DNSKEY", "DNSKEY in an unsigned zone"),
    c(E, "DS", "DS at the apex of a zone whose parent is not served"),
    c("www." + E, "A", "RD is copied, RA stays 0", rd=True),
    c("www." + E, "A", "CD is copied", cd=True),
    c("www." + E, "A", "Z bit in the query is not echoed", hdrbits=0x0040),
    c("www." + E, "A", "AD in the query (RFC 6840 5.7): AD stays 0 for unsigned data",
      hdrbits=0x0020),
    c("nothere." + E, "A", "RD with NXDOMAIN", rd=True),
    c(E, "SOA", "class CH for an IN zone", qclass="CH"),
    c(E, "SOA", "class ANY", qclass="ANY"),

    # --- outside every zone -------------------------------------------------------
    c("www.nowhere.test.", "A", "outside every zone: REFUSED"),
    c("test.", "SOA", "the parent of the served zones: REFUSED"),
    c(".", "NS", "the root: REFUSED"),
    c("example.test.example.", "A", "suffix lookalike: REFUSED"),
    c("www.nowhere.test.", "A", "REFUSED with EDNS", edns=0),

    # --- opcodes ------------------------------------------------------------------
    c("www." + E, "A", "unassigned opcode 3: NOTIMP", opcode=3),
    c("www." + E, "A", "unassigned opcode 15: NOTIMP", opcode=15),
    c("www." + E, "A", "opcode IQUERY (1, obsolete): NOTIMP", opcode=1),
    c("www." + E, "A", "opcode STATUS (2): NOTIMP", opcode=2),
    c("www." + E, "A", "unknown opcode with EDNS", opcode=3, edns=0),

    # --- truncation and EDNS --------------------------------------------------------
    c("bigtxt." + E, "TXT", "1 kB answer without EDNS: TC over UDP, whole over TCP"),
    c("bigtxt." + E, "TXT", "1 kB answer with payload 1232: fits", edns=0, payload=1232),
    c("bigtxt." + E, "TXT", "payload 512: TC", edns=0, payload=512),
    c("bigtxt." + E, "TXT", "payload below 512 is treated as 512", edns=0, payload=100),
    c("bigtxt." + E, "TXT", "payload 4096", edns=0, payload=4096),
    c("hugetxt." + E, "TXT", "3.5 kB answer without EDNS"),
    c("hugetxt." + E, "TXT", "3.5 kB answer, payload 4096", edns=0, payload=4096),
    c("hugetxt." + E, "TXT", "3.5 kB answer, payload 65535", edns=0, payload=65535),
    c("hugetxt." + E, "TXT", "3.5 kB answer, DO", edns=0, payload=1232, do=True),
    c("www." + E, "A", "EDNS: OPT in the response", edns=0),
    c("www." + E, "A", "EDNS with DO: DO echoed", edns=0, do=True),
    c("nothere." + E, "A", "EDNS on NXDOMAIN", edns=0),
    c("www." + E, "MX", "EDNS on NODATA", edns=0, do=True),
    c("host.sub." + E, "A", "EDNS on a referral", edns=0),
    c("www." + E, "A", "EDNS version 1: BADVERS", edns=1),
    c("nothere." + E, "A", "EDNS version 1 for NXDOMAIN: BADVERS", edns=1),
    c("www.nowhere.test.", "A", "EDNS version 1 outside every zone", edns=1),
    c("www." + E, "A", "unknown EDNS option is ignored", edns=0, ednsopt=65001),
    c("www." + E, "A", "unassigned EDNS flag bits are not echoed", edns=0, ednsz=0x4000),
    c("www." + E, "A", "unassigned EDNS flag bits with DO", edns=0, do=True, ednsz=0x0001),
]


def assert_unique():
    seen = {}
    for case in CASES:
        assert case.id not in seen, "duplicate case %s" % case.id
        seen[case.id] = case


assert_unique()
