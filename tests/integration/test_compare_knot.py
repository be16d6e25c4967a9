"""signetd against Knot DNS: the same zones, the same queries, the same answers.

Every case of cases.py is sent over UDP and over TCP, with the same message
ID, to signetd and to knotd serving tests/data/cases.  Compared: rcode,
opcode, the header flags (QR AA TC RD RA Z AD CD), the question section as
bytes (case included), the answer/authority/additional sections as multisets
of RRs (owner names compared case-insensitively, TTLs included) and the EDNS
OPT (present, version, payload, DO, options).

A deliberate difference is listed in DIFFERENCES below, with its reason and
the exact signet response expected (knot's response with some fields
replaced); such a case still fails when signetd's response is anything else,
or when knotd stops differing (the entry is then stale).

The summary (cases compared, matched, deliberate differences, mismatches) is
printed at the end of the run and written to tests/integration/.tmp/compare-summary.txt.
"""

import os
import zlib

import pytest

import cases
import lib

TRANSPORTS = ("udp", "tcp")

# Expected signet RRs used in the table below.
_E = "example.test. 3600 IN "
_LONG_DNAME = ("dname-long.example.test. 3600 IN DNAME "
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
               "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
               "ccccccccccccccccccccccccccccccccccccccccccccccccccc.example.test.")
_ANY_TCP = ("RFC 8482 4.4 allows a conventional (full) ANY answer over TCP while answering "
            "minimally (one RRset) over UDP; signetd does so on purpose (zones/lookup.h "
            "LOOKUP_ANY_FULL); knotd 3.2 answers one RRset over both")
_APEX_ANY_TCP = {
    "answer": sorted([_E + "MX 10 mail.example.test.", _E + "MX 20 mail.outside.test.",
                      _E + "NS ns1.example.test.", _E + "NS ns2.example.test.",
                      _E + 'TXT "v=apex"',
                      "example.test. 7200 IN SOA ns1.example.test. hostmaster.example.test. "
                      "2024010101 3600 900 604800 300"]),
    # A/AAAA of the in-zone NS and MX targets, as for qtype NS and MX
    "additional": sorted(["ns1.example.test. 3600 IN A 192.0.2.53",
                          "ns1.example.test. 3600 IN AAAA 2001:db8::53",
                          "ns2.example.test. 3600 IN A 192.0.2.54",
                          "mail.example.test. 3600 IN A 192.0.2.25",
                          "mail.example.test. 3600 IN AAAA 2001:db8::25"]),
}
_WWW_ANY_TCP = {"answer": sorted(["www." + _E + "A 192.0.2.80", "www." + _E + 'TXT "www text"',
                                  "www.example.test. 600 IN AAAA 2001:db8::80"])}

# THE table of deliberate differences.  Key: (case id, transport), transport
# "udp", "tcp" or "*".  Value: (reason, patch): signet's normalized response
# must equal knot's normalized response updated with patch (fields: see
# lib.normalize).  Nothing else is exempt from the comparison.
DIFFERENCES = {
    ("www.example.test. A CD", "*"): (
        "RFC 4035 3.1.6: the name server MUST copy the CD bit from the query to the "
        "response; knotd 3.2 clears it",
        {"flags": "QR AA CD"}),
    ("l" * 63 + ".dname-long.example.test. A", "*"): (
        "RFC 6672 2.2: a DNAME substitution longer than 255 octets MUST give YXDOMAIN "
        "(with the DNAME in the answer, nothing to synthesize); knotd 3.2 counts only labels, "
        "follows the DNAME target and answers NXDOMAIN with the SOA",
        {"rcode": "YXDOMAIN", "answer": [_LONG_DNAME], "authority": []}),
    ("host.bigdeleg.example.test. A", "udp"): (
        "RFC 9471: in-domain glue that does not fit sets TC; signetd then sends no records at "
        "all (server/query.c answer_zone clears a truncated response, as for any TC answer); "
        "knotd 3.2 keeps the NS RRset and the glue that fitted",
        {"authority": [], "additional": []}),
    ("example.test. ANY", "tcp"): (_ANY_TCP, _APEX_ANY_TCP),
    ("www.example.test. ANY", "tcp"): (_ANY_TCP, _WWW_ANY_TCP),
    ("www.example.test. ANY edns0/1232", "tcp"): (_ANY_TCP, _WWW_ANY_TCP),
    ("mail.example.test. ANY", "tcp"): (_ANY_TCP, {
        "answer": sorted(["mail." + _E + "A 192.0.2.25", "mail." + _E + "AAAA 2001:db8::25"])}),
    ("foo.wild.example.test. ANY", "tcp"): (_ANY_TCP, {
        "answer": sorted(["foo.wild." + _E + "A 192.0.2.200", "foo.wild." + _E + 'TXT "wild"'])}),
    ("foo.dname-in.example.test. ANY", "tcp"): (_ANY_TCP, {
        "answer": sorted(["dname-in." + _E + "DNAME target.example.test.",
                          "foo.dname-in." + _E + "CNAME foo.target.example.test.",
                          "foo.target." + _E + "A 192.0.2.70",
                          "foo.target." + _E + "AAAA 2001:db8::70"])}),
}

RESULTS = {}


def difference_for(case, transport):
    return DIFFERENCES.get((case.id, transport)) or DIFFERENCES.get((case.id, "*"))


@pytest.fixture(scope="module")
def pair(module_servers):
    knot = module_servers.knotd(lib.CASE_ZONES, label="knotd")
    if lib.selftest_backend() == "knot":
        other = module_servers.knotd(lib.CASE_ZONES, label="knotd-in-signets-place")
    else:
        other = module_servers.signetd(label="signetd", zones=lib.CASE_ZONES)
    yield other, knot
    write_summary(other.kind)


def write_summary(kind):
    total = len(RESULTS)
    if not total:
        return
    matched = sum(1 for r in RESULTS.values() if r[0] == "match")
    deliberate = sum(1 for r in RESULTS.values() if r[0] == "difference")
    bad = [(k, r) for k, r in RESULTS.items() if r[0] not in ("match", "difference")]
    lines = [
        "%s vs knotd: %d cases x %d transports = %d comparisons" %
        (kind, len(cases.CASES), len(TRANSPORTS), total),
        "matched: %d, deliberate differences (DIFFERENCES table): %d, mismatches: %d" %
        (matched, deliberate, len(bad)),
    ]
    for (cid, transport), (status, detail) in sorted(bad):
        lines.append("%s [%s] %s" % (status.upper(), transport, cid))
        lines.extend("    " + ln for ln in detail.splitlines())
    lib.COMPARE_SUMMARY["lines"] = lines
    os.makedirs(lib.TMP, exist_ok=True)
    with open(os.path.join(lib.TMP, "compare-summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))


def ask(server, wire, transport):
    if transport == "udp":
        return lib.udp_raw(wire, server.port, server.host, timeout=3.0)
    return lib.tcp_raw(wire, server.port, server.host, timeout=3.0)


def check_header(name, wire, resp, transport):
    """Rules every response must follow, whatever knot does."""
    assert resp is not None, "%s: no response over %s" % (name, transport)
    assert len(resp) >= 12, "%s: short response %r" % (name, resp)
    h = lib.header_fields(resp)
    q = lib.header_fields(wire)
    assert h["id"] == q["id"], "%s: response ID %d != query ID %d" % (name, h["id"], q["id"])
    assert h["flags"] & 0x8000, "%s: QR not set" % name
    assert h["opcode"] == q["opcode"], "%s: opcode changed" % name
    assert not h["flags"] & 0x0080, "%s: RA set by an authoritative-only server" % name
    if transport == "tcp":
        assert not h["flags"] & 0x0200, "%s: TC set over TCP" % name


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("case", cases.CASES, ids=[c.id for c in cases.CASES])
def test_compare(pair, case, transport):
    signet, knot = pair
    qid = (zlib.crc32((case.id + transport).encode()) & 0xFFFF) or 1
    wire = case.wire(qid)
    key = (case.id, transport)
    s_resp = ask(signet, wire, transport)
    k_resp = ask(knot, wire, transport)
    RESULTS[key] = ("error", "")
    check_header("knotd", wire, k_resp, transport)
    try:
        check_header(signet.kind, wire, s_resp, transport)
    except AssertionError as e:
        detail = "%s\nsignet: %s\nknot:\n%s" % (e, s_resp and s_resp.hex(),
                                               lib.describe(lib.normalize(k_resp)))
        RESULTS[key] = ("mismatch", detail)
        raise AssertionError(detail)
    if transport == "udp":  # RFC 1035 4.2.1 / RFC 6891 6.2.5: never more than the client takes
        limit = 512 if case.edns < 0 else max(512, case.payload)
        assert len(s_resp) <= limit, "%s: %d-byte UDP response, client takes %d" % (
            signet.kind, len(s_resp), limit)
    s_norm = lib.normalize(s_resp)
    k_norm = lib.normalize(k_resp)
    if case.edns >= 0 and "edns" in s_norm and s_norm["edns"] is None:
        detail = "query: %s over %s: no OPT in the response to an EDNS query\nsignet:\n%s" % (
            case.id, transport, lib.describe(s_norm))
        RESULTS[key] = ("mismatch", detail)
        pytest.fail(detail, pytrace=False)
    diff = difference_for(case, transport)
    if diff is None:
        expected, status = k_norm, "match"
    else:
        reason, patch = diff
        expected, status = dict(k_norm), "difference"
        expected.update(patch)
        assert k_norm != expected, ("stale DIFFERENCES entry for %s [%s]: knot now answers "
                                    "what signet is expected to (%s)" % (case.id, transport, reason))
        if lib.selftest_backend() == "knot":  # harness self-test: knot stands in for signet
            expected = k_norm
    if s_norm != expected:
        fields = sorted(k for k in set(s_norm) | set(expected) if s_norm.get(k) != expected.get(k))
        detail = ("query: %s over %s (%s)\ndiffering fields: %s\nsignet:\n%s\n%s:\n%s" %
                  (case.id, transport, case.what, ", ".join(fields), lib.describe(s_norm),
                   "expected (knot + DIFFERENCES patch)" if diff else "knot",
                   lib.describe(expected)))
        RESULTS[key] = ("mismatch", detail)
        pytest.fail(detail, pytrace=False)
    RESULTS[key] = (status, "")


def test_differences_table_is_used():
    """Every DIFFERENCES entry names an existing case."""
    ids = {c.id for c in cases.CASES}
    for (cid, transport) in DIFFERENCES:
        assert cid in ids, "DIFFERENCES names an unknown case %r" % cid
        assert transport in TRANSPORTS + ("*",)
