"""signetd as the primary of real secondaries: Knot DNS (knotd), NSD (nsd) and BIND
(named), the Debian packages, each started on a loopback port with TSIG.

- the first AXFR gives each secondary exactly signetd's zone, record by record;
- an edit of the zone file -> NOTIFY -> each secondary pulls by IXFR (as its own log or
  journal says) and serves the new data, again identical to signetd's;
- the same with a signed zone (NSEC3), each secondary's copy passing dnssec-verify, and
  signetd's IXFR being the signed difference (applied to the old zone it gives the new);
- a wrong key, a missing key and an address not in `to` are refused, with real secondaries.
"""

import os

import dns.rdatatype

import lib
import xfr_peers as xp

ZONE = "example.test."
BASE_ZONE = os.path.join(lib.REPO, "tests", "data", "transfer", "example.test.zone")
KINDS = ("knotd", "nsd", "named")


def zone_text(serial, add=(), drop=()):
    """The test zone with its serial set, the lines that contain a string of drop
    removed, and the lines of add appended."""
    out = []
    with open(BASE_ZONE) as f:
        text = f.read()
    for line in text.splitlines():
        if " IN SOA " in line:
            fields = line.split()
            fields[fields.index("SOA") + 3] = str(serial)
            line = " ".join(fields)
        if any(d in line for d in drop):
            continue
        out.append(line)
    return "\n".join(out + list(add)) + "\n"


def start_all(servers, tmp_path, key, extra="", serial=1):
    """signetd with the zone, and the three secondaries, each caught up."""
    zf = str(tmp_path / "example.test.zone")
    xp.write_atomic(zf, zone_text(serial))
    ports = {k: lib.free_port() for k in KINDS}
    prim = xp.start_primary(servers, ZONE, zf, key, list(ports.values()), extra=extra)
    secs = {k: xp.STARTERS[k](servers, ZONE, prim.port, key, port=ports[k], ready=False)
            for k in KINDS}
    for s in secs.values():
        xp.wait_secondary(s, ZONE, serial, deadline=60)
    return zf, prim, secs


def assert_same_zone(prim, secs, key, skip=()):
    """Each secondary's AXFR equals signetd's, record by record; returns signetd's."""
    ref = xp.axfr_lines(prim.port, ZONE, key)
    for kind, s in secs.items():
        got = xp.axfr_lines(s.port, ZONE)
        d = xp.diff_lines(ref, got, "signetd", kind)
        assert not d, "%s's copy differs from signetd's zone:\n%s" % (kind, d)
    return ref


def edit_and_follow(prim, secs, key, zf, old, new, text):
    """Write the new zone text; signetd serves it, NOTIFYs, every secondary pulls it
    by IXFR. Returns signetd's IXFR old -> new (the answer RRs)."""
    marks = {k: len(s.log()) for k, s in secs.items()}
    xp.write_atomic(zf, text)
    xp.wait_serial(prim.port, ZONE, new, srv=prim)
    for kind, s in secs.items():
        xp.wait_serial(s.port, ZONE, new, deadline=30, srv=s,
                       what="%s to follow to serial %d (NOTIFY, IXFR)" % (kind, new))
    for kind, s in secs.items():
        xp.assert_notified(s, ZONE, new, since=marks[kind])
        xp.assert_pulled_by_ixfr(s, ZONE, old, new, since=marks[kind])
    return xp.ixfr_request(prim.port, ZONE, old, key)


def test_secondaries_follow_unsigned(servers, tmp_path):
    key = xp.Key(alg="hmac-sha256")
    zf, prim, secs = start_all(servers, tmp_path, key)
    v1 = assert_same_zone(prim, secs, key)
    # signetd's log: one AXFR per secondary
    assert xp.signetd_log_count(prim, r"AXFR of serial 1 to a secondary") >= 3

    # www changes, a name appears, one goes, the apex TXT changes
    text = zone_text(2, add=["new IN A 192.0.2.200", "new IN TXT \"fresh\""],
                     drop=("naptr", "\"v=apex\""))
    text += "@ IN TXT \"v=apex2\"\n"
    text = text.replace("192.0.2.80", "192.0.2.81")
    ixfr = edit_and_follow(prim, secs, key, zf, 1, 2, text)
    v2 = assert_same_zone(prim, secs, key)
    assert xp.apply_ixfr(v1, ixfr) == v2
    for kind, s in secs.items():
        r, _ = lib.query(lib.make_query("new." + ZONE, "A"), s.port)
        assert [rd.to_text() for rd in r.answer[0]] == ["192.0.2.200"], (kind, r)
        r, _ = lib.query(lib.make_query("www." + ZONE, "A"), s.port)
        assert [rd.to_text() for rd in r.answer[0]] == ["192.0.2.81"], (kind, r)

    # a second round: the secondaries keep following by IXFR
    text = zone_text(3, add=["new IN A 192.0.2.201"], drop=("naptr",))
    ixfr = edit_and_follow(prim, secs, key, zf, 2, 3, text)
    v3 = assert_same_zone(prim, secs, key)
    assert xp.apply_ixfr(v2, ixfr) == v3
    lib.wait_for(lambda: xp.signetd_log_count(
        prim, r"notify: example\.test\. serial 3: 127\.0\.0\.1 acknowledged") == 3, 10,
        "three NOTIFY acknowledgements of serial 3")


def test_secondaries_follow_signed(servers, tmp_path):
    key = xp.Key(alg="hmac-sha512")
    keys = tmp_path / "keys"
    extra = "dnssec {\n    keys %s\n    nsec3 0 -\n}" % keys
    zf, prim, secs = start_all(servers, tmp_path, key, extra=extra)
    v1 = assert_same_zone(prim, secs, key)
    types = {line.split(" ")[3] for line in v1}
    assert {"RRSIG", "NSEC3", "DNSKEY", "NSEC3PARAM"} <= types, types
    for kind, s in secs.items():
        r = xp.dnssec_verify(xp.axfr_lines(s.port, ZONE), ZONE, str(tmp_path),
                             "%s-1.zone" % kind)
        assert r.returncode == 0, "%s's copy (serial 1) fails dnssec-verify:\n%s%s" % (
            kind, r.stdout, r.stderr)

    text = zone_text(2, add=["new IN A 192.0.2.200"], drop=("naptr",))
    text = text.replace("192.0.2.80", "192.0.2.81")
    ixfr = edit_and_follow(prim, secs, key, zf, 1, 2, text)
    v2 = assert_same_zone(prim, secs, key)
    assert xp.apply_ixfr(v1, ixfr) == v2
    # the signed difference: new signatures, the NSEC3 chain moved, and far less than the zone
    itypes = {rd.rdtype for _, _, rd in ixfr}
    assert {dns.rdatatype.RRSIG, dns.rdatatype.NSEC3, dns.rdatatype.A} <= itypes, itypes
    assert len(ixfr) < len(v2) / 2, (len(ixfr), len(v2))
    for kind, s in secs.items():
        r = xp.dnssec_verify(xp.axfr_lines(s.port, ZONE), ZONE, str(tmp_path),
                             "%s-2.zone" % kind)
        assert r.returncode == 0, "%s's copy (serial 2) fails dnssec-verify:\n%s%s" % (
            kind, r.stdout, r.stderr)


def test_refused_secondaries(servers, tmp_path):
    """knotd with a wrong secret, named without a key, nsd from an address not in `to`:
    signetd refuses each, and none of them gets the zone."""
    key = xp.Key()
    zf = str(tmp_path / "example.test.zone")
    xp.write_atomic(zf, zone_text(1))
    ports = {k: lib.free_port() for k in KINDS}
    prim = xp.start_primary(servers, ZONE, zf, key, [ports["knotd"], ports["named"]])
    wrong = xp.Key(name=key.name, alg=key.alg)  # same name, other secret
    knot = xp.start_knot_secondary(servers, ZONE, prim.port, wrong, port=ports["knotd"],
                                   ready=False)
    named = xp.start_named_secondary(servers, ZONE, prim.port, None, port=ports["named"],
                                     ready=False)
    nsd = xp.start_nsd_secondary(servers, ZONE, prim.port, key, port=ports["nsd"],
                                 ready=False, source="127.0.0.2")
    lines = {
        "TSIG did not verify": 1,
        "a key of the transfer rule is required": 1,
        "address not allowed by transfer": 1,
    }
    for what, n in lines.items():
        lib.wait_for(lambda: xp.signetd_log_count(prim, "refused: " + what) >= n, 30,
                     "signetd to log a transfer refused: %s" % what)
    # the secondaries tell the same story, and serve nothing
    knot.wait_log(r"\[example\.test\.\] [^\n]*(BADSIG|bad signature|TSIG)", deadline=30)
    named.wait_log(r"transfer of 'example\.test/IN' from [^\n]*REFUSED", deadline=30)
    nsd.wait_log(r"received error code REFUSED", deadline=30)
    for s in (knot, named, nsd):
        assert xp.soa_serial(s.port, ZONE) is None, "%s serves the zone" % s.kind
