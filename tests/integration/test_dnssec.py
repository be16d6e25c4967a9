"""DNSSEC signing, checked by tools that owe Signet nothing.

- An AXFR of the signed core case zone (tests/data/cases/example.test.zone: delegations,
  glue, wildcards, DNAME, empty non-terminals) is accepted by BIND's dnssec-verify and by
  ldns-verify-zone, with NSEC and with NSEC3, for each of the three algorithms; and the
  same AXFR with one signature octet flipped is rejected by both.
- unbound, a validating resolver, with the parent zone's key as trust anchor and stub zones
  pointing at signetd, answers every query of the core case list (cases.py) that stays
  inside the served zones with AD=1: positive answers, NXDOMAIN, NODATA, wildcards, CNAME
  and DNAME chains, DS and insecure delegations; with a wrong trust anchor it answers
  SERVFAIL.
  Every other delegation of the case zones is served unsigned, so the parent's proofs
  that they have no DS are checked too (AD=0, never SERVFAIL), and one has a DS that
  matches no key (SERVFAIL).
- A ZSK and a KSK rollover, and a CSK rollover, run to completion under a fast clock
  (lifetimes of seconds), the test copying the child's CDS into the parent as a registrar
  would, while unbound keeps validating at every step and every version passes
  dnssec-verify and ldns-verify-zone.
- A restart with the same key folder (and journal) serves the same keys and goes on
  refreshing signatures; a reload turns signing on and off.
"""

import os
import re
import signal
import stat
import time

import dns.flags
import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import pytest

import cases
import dnssec_lib as dl
import lib

CASE_ZONE = lib.CASE_ZONES["example.test."]
E = "example.test."


def start_signed(servers, tmp_path, alg, props=(), label="signetd"):
    """signetd serving the core case zone signed with alg; returns (server, keys dir)."""
    keys = str(tmp_path / ("keys-" + label))
    port = lib.free_port()
    corefile = dl.zone_block(E, CASE_ZONE, port, keys, ["algorithm %s" % alg] + list(props))
    srv = servers.signetd(label=label, corefile=corefile, port=port, ready_zones=[E])
    return srv, keys


# --------------------------------------------------------------------------
# AXFR accepted by dnssec-verify and ldns-verify-zone

VERIFY = [(alg, denial, False) for alg in dl.ALGORITHMS for denial in ("nsec", "nsec3 0 -")]
VERIFY += [("ecdsap256sha256", "nsec3 5 cafe0123 optout", True),
           ("rsasha256", "nsec", True)]


def verify_id(p):
    alg, denial, split = p
    return "%s-%s%s" % (alg, denial.replace(" ", "_"), "-split" if split else "-csk")


@pytest.mark.parametrize("alg,denial,split", VERIFY, ids=[verify_id(p) for p in VERIFY])
def test_axfr_verifies(servers, tmp_path, alg, denial, split):
    props = [denial] + (["split"] if split else [])
    srv, keys = start_signed(servers, tmp_path, alg, props)
    number = dl.ALGORITHMS[alg]

    # The key folder: BIND key files of the algorithm, private halves mode 0600.
    names = sorted(os.listdir(keys))
    key_files = [n for n in names if n.endswith(".key")]
    assert len(key_files) == (2 if split else 1), names
    for n in key_files:
        assert re.fullmatch(r"Kexample\.test\.\+%03d\+\d{5}\.key" % number, n), n
        priv = os.path.join(keys, n[:-4] + ".private")
        assert stat.S_IMODE(os.stat(priv).st_mode) == 0o600, priv

    text = dl.axfr_text(srv.port, E)
    types = {line.split()[3] for line in text.splitlines()}
    assert {"DNSKEY", "RRSIG", "CDS", "CDNSKEY"} <= types, types
    if denial == "nsec":
        assert "NSEC" in types and "NSEC3" not in types
    else:
        assert {"NSEC3", "NSEC3PARAM"} <= types and "NSEC" not in types
    flags = sorted(int(line.split()[4]) for line in text.splitlines()
                   if line.split()[3] == "DNSKEY")
    assert flags == ([256, 257] if split else [257])
    algs = {int(line.split()[5]) for line in text.splitlines() if line.split()[3] == "RRSIG"}
    assert algs == {number}

    path = str(tmp_path / "axfr.zone")
    with open(path, "w") as f:
        f.write(text)
    bind = dl.dnssec_verify(path, E, csk=not split)
    assert bind.returncode == 0, "dnssec-verify rejects the AXFR:\n%s%s" % (bind.stdout,
                                                                           bind.stderr)
    assert "Zone fully signed" in bind.stdout + bind.stderr
    ldns = dl.ldns_verify(path)
    assert ldns.returncode == 0, "ldns-verify-zone rejects the AXFR:\n%s%s" % (ldns.stdout,
                                                                              ldns.stderr)

    # The check can fail: one flipped octet in the signature of www A.
    bad_text, line = dl.corrupt_rrsig(text, "www.example.test.", "A")
    bad = str(tmp_path / "corrupt.zone")
    with open(bad, "w") as f:
        f.write(bad_text)
    bind = dl.dnssec_verify(bad, E, csk=not split)
    assert bind.returncode != 0, "dnssec-verify accepts a corrupt RRSIG:\n%s" % line
    ldns = dl.ldns_verify(bad)
    assert ldns.returncode != 0, "ldns-verify-zone accepts a corrupt RRSIG:\n%s" % line


# --------------------------------------------------------------------------
# a validating resolver over the core case list

# The signed zones, each with its own algorithm: unbound checks all three.
SECURE = {"test.": "ecdsap256sha256", E: "ecdsap256sha256",
          "child.example.test.": "ed25519", "rfc4592.test.": "rsasha256"}
# The other delegations of the case zones get an unsigned child (a wildcard answers every
# name below it), so the resolver must prove them insecure from the parent's NSEC/NSEC3...
INSECURE = ("sub.example.test.", "sibling.example.test.", "outonly.example.test.",
            "bigdeleg.example.test.", "s.wdeleg.example.test.", "subdel.rfc4592.test.")
# ...except signed.example.test., whose DS (tag 12345) matches no key: bogus, SERVFAIL.
BOGUS = ("signed.example.test.",)
SERVED = tuple(SECURE) + INSECURE + BOGUS


def unsigned_child(zone):
    return ("$ORIGIN %s\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 900 604800 300\n"
            "@ IN NS ns\n* IN A 192.0.2.9\n* IN AAAA 2001:db8::9\n* IN TXT \"%s\"\n"
            % (zone, zone))


def ds_lines(owner_rel, cds):
    return "".join("%s IN DS %s\n" % (owner_rel, rd) for rd in cds)


class Tree:
    """test. (the trust anchor) delegating example.test. and rfc4592.test.; example.test.
    delegating child.example.test.: these four signed by one signetd, their DS records
    copied from the children's CDS (the registrar's part). The same signetd serves the
    other children of the case zones unsigned (and signed.example.test. with a DS that
    matches nothing), so every case stays on this server."""

    def __init__(self, servers, workdir, denial):
        self.workdir = workdir
        self.port = lib.free_port()
        self.parent_path = os.path.join(workdir, "test.zone")
        self.example_path = os.path.join(workdir, "example.test.zone")
        with open(os.path.join(dl.DATA, "test.zone")) as f:
            self.parent_text = f.read()
        with open(CASE_ZONE) as f:
            self.example_text = f.read()
        dl.write_atomic(self.parent_path, self.parent_text)
        dl.write_atomic(self.example_path, self.example_text)
        paths = {"test.": self.parent_path, E: self.example_path,
                 "child.example.test.": lib.CASE_ZONES["child.example.test."],
                 "rfc4592.test.": lib.CASE_ZONES["rfc4592.test."]}
        keys = os.path.join(workdir, "keys")
        blocks = []
        for zone, path in paths.items():
            props = ["algorithm %s" % SECURE[zone], "nsec" if zone == "test." else denial]
            blocks.append(dl.zone_block(zone, path, self.port, keys, props,
                                        reload="1s" if zone in ("test.", E) else None))
        for zone in INSECURE + BOGUS:
            path = os.path.join(workdir, zone + "zone")
            dl.write_atomic(path, unsigned_child(zone))
            blocks.append(dl.zone_block(zone, path, self.port, transfer=False))
        self.srv = servers.signetd(label="tree", corefile="\n".join(blocks), port=self.port,
                                   ready_zones=list(SERVED))
        cds = {z: dl.cds_rdatas(self.port, z) for z in paths}
        for z, c in cds.items():
            assert c, "%s publishes no CDS" % z
        dl.write_atomic(self.parent_path, self.parent_text + ds_lines("example", cds[E]) +
                        ds_lines("rfc4592", cds["rfc4592.test."]))
        child_ds = ds_lines("child", cds["child.example.test."])
        text, n = re.subn(r"(?m)^child\s+IN DS .*\n", child_ds, self.example_text)
        assert n == 1
        dl.write_atomic(self.example_path, text)
        for child in (E, "rfc4592.test.", "child.example.test."):
            lib.wait_for(lambda: self.ds_served(child) == cds[child], 15,
                         "the DS of %s served by its parent" % child, interval=0.1)
        self.anchor = "test. DS %s" % cds["test."][0]
        self.other_anchor = "test. DS %s" % cds[E][0]  # another zone's key
        self.stubs = [(z, self.port) for z in SERVED]

    def ds_served(self, zone):
        r = dl.ask(self.port, zone, "DS")
        rs = dl.rrset_of(r, zone, "DS")
        return sorted(rd.to_text() for rd in rs) if rs else []

    def unbound(self, anchor=None):
        return dl.Unbound([anchor or self.anchor], self.stubs).start(probe=("test.", "SOA"))


@pytest.fixture(scope="module", params=["nsec", "nsec3 0 -", "nsec3 1 cafe optout"],
                ids=["nsec", "nsec3", "nsec3-optout"])
def tree(request, module_servers, tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("tree-" + request.param.split()[0]))
    t = Tree(module_servers, workdir, request.param)
    t.optout = "optout" in request.param
    t.resolver = t.unbound()
    yield t
    t.resolver.cleanup()
    t.srv.stop()


def zone_of(name, qtype="A"):
    """The served zone that answers name/qtype (the longest match; a DS at a zone's apex
    is its parent's), or None."""
    n = dns.name.from_text(name) if isinstance(name, str) else name
    best = None
    for z in SERVED:
        zn = dns.name.from_text(z)
        if qtype == "DS" and n == zn:
            continue
        if n.is_subdomain(zn) and (best is None or len(zn) > len(best)):
            best = zn
    return best


def security(zone):
    z = zone.to_text()
    return "secure" if z in SECURE else "insecure" if z in INSECURE else "bogus"


def resolver_cases():
    """The (qname, qtype) pairs of the core case list a resolver can be asked."""
    out, seen = [], set()
    for c in cases.CASES:
        key = (c.qname.lower(), c.qtype)
        if (c.qclass != "IN" or c.opcode or c.edns > 0 or key in seen
                or zone_of(c.qname) is None):
            continue
        seen.add(key)
        out.append(c)
    return out


def chain(msg, qname):
    """The names of the CNAME chain of an answer from qname, in order."""
    names = [dns.name.from_text(qname)]
    for _ in range(10):
        nxt = None
        for rrset in msg.answer:
            if rrset.rdtype == dns.rdatatype.CNAME and rrset.name == names[-1]:
                nxt = rrset[0].target
        if nxt is None:
            break
        names.append(nxt)
        if nxt in names[:-1]:
            break
    return names


def classify(direct, qname, qtype):
    """Why a validating resolver's answer says nothing about the signer here, or None.
    These are the resolver's ways, not the signer's: unbound 1.17 answers them the same
    way when Knot DNS signs the zone."""
    if direct.rcode() in (dns.rcode.REFUSED, dns.rcode.NOTIMP, dns.rcode.FORMERR):
        return "not answered by an authoritative zone"
    names = chain(direct, qname)
    if len(set(names)) < len(names):
        return "CNAME loop (a resolver answers SERVFAIL)"
    if direct.rcode() == dns.rcode.YXDOMAIN:
        return "YXDOMAIN (not validated by unbound)"
    if qtype == "RRSIG":
        return "qtype RRSIG (no RRset to validate)"
    if qtype in ("CNAME", "DNAME") and any(
            rs.rdtype == dns.rdatatype.DNAME and rs.name != names[0] for rs in direct.answer):
        return "qtype CNAME/DNAME below a DNAME (unbound's key search loops)"
    if zone_of(names[-1]) is None:
        return "the chain leaves the served zones"
    return None


def resolve_directly(port, qname, qtype):
    """What the resolver should end up with, from signetd's own answers: (rcode, the
    zones the answer came through)."""
    direct = dl.ask(port, qname, qtype)
    names = chain(direct, qname)
    zones = [zone_of(n, qtype) for n in names]
    if not direct.flags & dns.flags.AA or zones[-1] != zones[0]:
        # a referral, or a chain into another zone: continue from where it stops
        rcode, more = resolve_directly(port, names[-1].to_text(), qtype)
        return rcode, zones + more
    return direct.rcode(), zones


def kind(direct, qname, qtype, rcode):
    if rcode == dns.rcode.NXDOMAIN:
        return "nxdomain"
    if rcode != dns.rcode.NOERROR:
        return dns.rcode.to_text(rcode).lower()
    for rrset in direct.answer:
        if rrset.rdtype == dns.rdatatype.RRSIG and any(rd.labels < len(rrset.name) - 1
                                                       for rd in rrset):
            return "wildcard"
    target = chain(direct, qname)[-1]
    rdtype = dns.rdatatype.from_text(qtype)
    if rdtype == dns.rdatatype.ANY:
        return "positive" if direct.answer else "nodata"
    if not any(rs.name == target and rs.rdtype == rdtype for rs in direct.answer):
        return "nodata"
    return "positive"


def test_resolver_validates_case_list(tree):
    """Every case of the core list through unbound: the rcode of signetd's own answers,
    AD=1 where every zone on the way is signed, AD=0 (insecure, proven by the parent's
    NSEC/NSEC3) past an unsigned delegation, SERVFAIL below the delegation whose DS
    matches no key."""
    failures, checked, skipped = [], {}, {}
    for c in resolver_cases():
        direct = dl.ask(tree.port, c.qname, c.qtype)
        why = classify(direct, c.qname, c.qtype)
        if why is not None:
            skipped.setdefault(why, []).append(c.id)
            continue
        rcode, zones = resolve_directly(tree.port, c.qname, c.qtype)
        sec = [security(z) for z in zones]
        status = "bogus" if "bogus" in sec else "insecure" if "insecure" in sec else "secure"
        want_rcode = dns.rcode.SERVFAIL if status == "bogus" else rcode
        what = kind(direct, c.qname, c.qtype, rcode)
        if status == "secure" and tree.optout and what != "positive":
            # RFC 5155 6, 9.2: a denial that rests on an opt-out span proves nothing
            # secure; the validator calls it insecure (AD=0), never bogus.
            status = "opt-out"
        k = "%s %s" % (status, what)
        want_ad = {"secure": [True], "opt-out": [True, False]}.get(status, [False])
        try:
            r = tree.resolver.query(c.qname, c.qtype)
        except TimeoutError as e:
            failures.append("%s: %s" % (c.id, e))
            continue
        if r.rcode() != want_rcode or dl.secure(r) not in want_ad:
            failures.append("%s (%s): unbound says %s AD=%d; expected %s AD=%s" % (
                c.id, k, dns.rcode.to_text(r.rcode()), dl.secure(r),
                dns.rcode.to_text(want_rcode), "/".join(str(int(a)) for a in want_ad)))
            continue
        checked.setdefault(k, []).append(c.id)
    report = "checked: %s\nskipped: %s" % (
        {k: len(v) for k, v in sorted(checked.items())},
        {k: len(v) for k, v in sorted(skipped.items())})
    print(report)
    assert not failures, "%d cases not as expected:\n%s\n%s\nunbound log:\n%s" % (
        len(failures), "\n".join(failures), report, tree.resolver.log())
    for k in ("positive", "nxdomain", "nodata", "wildcard"):
        assert len(checked.get(("opt-out " if tree.optout and k != "positive" else "secure ")
                               + k, [])) >= 3, report
    assert len(checked.get("insecure positive", [])) >= 5, report
    assert sum(len(v) for v in checked.values()) >= 100, report


def test_resolver_rejects_wrong_trust_anchor(tree):
    """The same resolver set-up with another key's DS as trust anchor: SERVFAIL where the
    right one gives AD=1."""
    good = tree.resolver.query("www." + E, "A")
    assert good.rcode() == dns.rcode.NOERROR and dl.secure(good), dl.describe(good)
    ub = tree.unbound(anchor=tree.other_anchor)
    try:
        for qname, qtype in (("www." + E, "A"), ("test.", "SOA"), ("nothere." + E, "A")):
            r = ub.query(qname, qtype)
            assert r.rcode() == dns.rcode.SERVFAIL and not dl.secure(r), dl.describe(r)
    finally:
        ub.cleanup()


# --------------------------------------------------------------------------
# ZSK and KSK rollover under a fast clock, a validating resolver watching

ROLL_ZONE = os.path.join(dl.DATA, "rollover.example.test.zone")
ROLL_COMMON = ["propagation_delay 1s", "dnskey_ttl 2s", "ds_ttl 3s"]
ROLL_POLICIES = {
    # KSK + ZSK: a ZSK pre-publish rollover at 8 s, a double-KSK rollover at 12 s.
    "split": ["algorithm ecdsap256sha256", "nsec", "split", "zsk_lifetime 8s",
              "ksk_lifetime 12s", "signature_lifetime 1h", "signature_refresh 30m"],
    # One CSK rolling at 14 s (double signatures on everything); signatures that live 40 s
    # and are refreshed 30 s before they expire, so the refresh timer runs too.
    "csk": ["algorithm ed25519", "nsec3 0 -", "ksk_lifetime 14s", "signature_lifetime 40s",
            "signature_refresh 30s"],
}


class Snapshot:
    """What one version of example.test. says about its keys (taken again when the serial
    moved while it was being taken)."""

    def __init__(self, t, port, parent_ds):
        self.t = t
        self.parent_ds = parent_ds
        for _ in range(10):
            serial = dl.soa_serial(port, E)
            self.keys = dl.dnskeys(port, E)
            self.cds = dl.cds_tags(port, E)
            self.www = dl.signer_tags(port, "www." + E, "A")
            self.dnskey = dl.signer_tags(port, E, "DNSKEY")
            if dl.soa_serial(port, E) == serial:
                break

    def ksks(self):
        return {t for t, f in self.keys.items() if f & 1}

    def zsks(self):
        return {t for t, f in self.keys.items() if not f & 1}

    def state(self):
        return (tuple(sorted(self.keys.items())), tuple(sorted(self.cds)),
                tuple(sorted(self.www)), tuple(sorted(self.dnskey)),
                tuple(sorted(self.parent_ds)))

    def __str__(self):
        return ("%5.1fs 257 %s 256 %s | CDS %s | www A signed by %s | DNSKEY signed by %s | "
                "parent DS %s" % (self.t, sorted(self.ksks()), sorted(self.zsks()),
                                  sorted(self.cds), sorted(self.www), sorted(self.dnskey),
                                  sorted(self.parent_ds)))


class Registrar:
    """The parent zone file: test.zone with the DS set of example.test."""

    def __init__(self, path):
        self.path = path
        with open(os.path.join(dl.DATA, "test.zone")) as f:
            self.text = f.read()
        self.published = None

    def publish(self, cds):
        dl.write_atomic(self.path, self.text + ds_lines("example", cds))
        self.published = list(cds)


def check_axfr(port, path, csk):
    """dnssec-verify and ldns-verify-zone on an AXFR taken now; the problems found."""
    with open(path, "w") as f:
        f.write(dl.axfr_text(port, E))
    out = []
    bind = dl.dnssec_verify(path, E, csk=csk)
    if bind.returncode != 0:
        out.append("dnssec-verify: " + (bind.stdout + bind.stderr)[-800:])
    ldns = dl.ldns_verify(path)
    if ldns.returncode != 0:
        out.append("ldns-verify-zone: " + (ldns.stdout + ldns.stderr)[-800:])
    return out


@pytest.mark.parametrize("mode", ["split", "csk"])
def test_rollover(servers, tmp_path, mode):
    """signetd serves test. (signed, the resolver's trust anchor) and example.test. with
    key lifetimes of seconds. The test plays the registrar: whenever the child's CDS set
    changes, the parent's DS set becomes that (file rewritten, reload 1s). Every state is
    polled; at each poll unbound is asked (AD=1 throughout), and each new state's AXFR must
    pass dnssec-verify and ldns-verify-zone. The rollovers must run to completion:
    split: ZSK pre-publish and double-KSK (waiting for the DS at the parent);
    csk: double-signature CSK rollover, with signature refreshes on the way."""
    csk = mode == "csk"
    port = lib.free_port()
    keys = str(tmp_path / "keys")
    parent = Registrar(str(tmp_path / "test.zone"))
    parent.publish([])
    corefile = (dl.zone_block("test.", parent.path, port, str(tmp_path / "parent-keys"),
                              ["nsec"], reload="1s", transfer=False) +
                dl.zone_block(E, ROLL_ZONE, port, keys, ROLL_POLICIES[mode] + ROLL_COMMON +
                              ["parent 127.0.0.1:%d" % port]))
    srv = servers.signetd(corefile=corefile, port=port, ready_zones=["test.", E])
    t0 = time.monotonic()
    # the keys at the start, before the first rollover step (8 s on) can begin, however
    # slowly the parent and unbound come up on a loaded machine
    first = Snapshot(0.0, port, set())

    def parent_ds():
        r = dl.ask(port, E, "DS")
        rs = dl.rrset_of(r, E, "DS")
        return {rd.key_tag for rd in rs} if rs else set()

    cds = dl.cds_rdatas(port, E)
    parent.publish(cds)
    lib.wait_for(lambda: parent_ds() == {int(c.split()[0]) for c in cds}, 10,
                 "the parent serving the first DS", interval=0.1)
    anchor = "test. DS %s" % dl.cds_rdatas(port, "test.")[0]
    ub = dl.Unbound([anchor], [("test.", port), (E, port)])
    ub.start(probe=("test.", "SOA"))
    try:
        checks = [("www." + E, "A", dns.rcode.NOERROR), (E, "DNSKEY", dns.rcode.NOERROR),
                  ("nothere." + E, "A", dns.rcode.NXDOMAIN),
                  ("foo.wild." + E, "TXT", dns.rcode.NOERROR),
                  ("www." + E, "MX", dns.rcode.NOERROR)]
        history, failures, asked = [], [], 0
        if csk:
            assert len(first.ksks()) == 1 and not first.zsks(), str(first)
        else:
            assert len(first.ksks()) == 1 and len(first.zsks()) == 1, str(first)
        k1, = first.ksks()
        z1 = next(iter(first.zsks()), None)
        axfr = str(tmp_path / "axfr.zone")
        succ = None
        deadline = time.monotonic() + 75
        while True:
            snap = Snapshot(time.monotonic() - t0, port, parent_ds())
            if not history or snap.state() != history[-1].state():
                history.append(snap)
                failures += ["%.1fs %s" % (snap.t, p) for p in check_axfr(port, axfr, csk)]
            # the registrar
            now_cds = dl.cds_rdatas(port, E)
            if now_cds and now_cds != parent.published:
                parent.publish(now_cds)
            # the resolver, at every step
            for qname, qtype, rcode in checks:
                r = ub.query(qname, qtype)
                asked += 1
                if r.rcode() != rcode or not dl.secure(r):
                    failures.append("%.1fs %s %s: %s AD=%d (state: %s)" % (
                        snap.t, qname, qtype, dns.rcode.to_text(r.rcode()), dl.secure(r),
                        snap))
            # K1's successor: the oldest other 257 key seen (with lifetimes this short,
            # the next rollover may start before K1 is gone)
            succ = succ or next(iter(sorted(snap.ksks() - {k1})), None)
            done = (succ is not None and k1 not in snap.keys and succ in snap.dnskey
                    and succ in snap.cds and succ in snap.parent_ds
                    and (csk or (z1 not in snap.keys and len(snap.zsks()) >= 1)))
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        log = "\n".join(str(s) for s in history)
        assert not failures, "not valid at every step:\n%s\n\n%s\n\n%s" % (
            "\n".join(failures[:20]), log, ub.log())
        assert done, "the rollover did not finish within the deadline:\n" + log

        def first_index(pred, after=0):
            for i in range(after, len(history)):
                if pred(history[i]):
                    return i
            pytest.fail("never seen:\n" + log)

        if not csk:
            # ZSK pre-publish: Z2 published beside Z1 while Z1 signs; then Z2 signs with
            # Z1 still published; then Z1 removed.
            i = first_index(lambda s: len(s.zsks()) == 2 and s.www == {z1})
            z2, = history[i].zsks() - {z1}
            i = first_index(lambda s: s.www == {z2} and z1 in s.keys, i)
            first_index(lambda s: z1 not in s.keys and s.www == {z2}, i)
        # Double-KSK (or CSK): K2 published and signing the DNSKEY set beside K1 (and, a CSK,
        # everything), before its CDS; the CDS of K2; the parent's DS of K2; K1 stops
        # signing, its CDS gone; K1 removed.
        i = first_index(lambda s: s.ksks() == {k1, succ} and s.dnskey == s.ksks()
                        and s.cds == {k1} and (not csk or s.www == s.ksks()))
        k2 = succ
        i = first_index(lambda s: k2 in s.cds and k1 in s.keys, i)
        i = first_index(lambda s: k2 in s.parent_ds and k1 in s.keys, i)
        i = first_index(lambda s: k1 in s.keys and s.dnskey == {k2} and s.cds == {k2}
                        and (not csk or s.www == {k2}), i)
        first_index(lambda s: k1 not in s.keys and k2 in s.dnskey, i)
        for s in history:
            assert s.www <= set(s.keys) and s.dnskey <= s.ksks(), str(s)
        # Removed keys are kept in retired/.
        retired = os.listdir(os.path.join(keys, "retired"))
        for tag in (k1,) if csk else (k1, z1):
            assert any(n.endswith("+%05d.private" % tag) for n in retired), retired
        print("%s: %d resolver answers validated, %d states verified, over %.0fs:\n%s"
              % (mode, asked, len(history), time.monotonic() - t0, log))
    finally:
        ub.cleanup()
    assert "the parent publishes the DS of key %d" % k2 in srv.log()
    if csk:
        assert "signatures refreshed" in srv.log()


# --------------------------------------------------------------------------
# restart

def rrsig_expiration(port, qname, qtype):
    r = dl.ask(port, qname, qtype)
    return max(rd.expiration for rd in dl.sigs_of(r, qname, qtype))


def test_restart_keeps_keys(servers, tmp_path):
    """A restart with the same key folder (and storage: the signed zone comes back from
    the journal) serves the same DNSKEY set and CDS, and keeps signing: signatures are
    refreshed after the restart too. The key files are BIND's: dnssec-dsfromkey computes
    the DS the zone publishes as CDS."""
    keys = str(tmp_path / "keys")
    port = lib.free_port()
    corefile = dl.zone_block(E, CASE_ZONE, port, keys,
                             ["algorithm ed25519", "split", "nsec3 0 -",
                              "signature_lifetime 20s", "signature_refresh 14s"],
                             extra=["storage %s" % (tmp_path / "storage")])
    srv = servers.signetd(label="first", corefile=corefile, port=port, ready_zones=[E])
    before = (dl.dnskeys(port, E), dl.cds_rdatas(port, E), dl.signer_tags(port, "www." + E, "A"))
    files = sorted(os.listdir(keys))
    assert len(before[0]) == 2 and before[1], before
    ksk_tag = next(t for t, f in before[0].items() if f == 257)
    ksk = [n for n in files if n.endswith("+%05d.key" % ksk_tag)]
    assert len(ksk) == 1, files
    owner, cls, rrtype, rdata = dl.dsfromkey(os.path.join(keys, ksk[0])).split(None, 3)
    assert (owner, cls, rrtype) == (E, "IN", "DS")
    assert dns.rdata.from_text("IN", "DS", rdata).to_text() in before[1], (rdata, before[1])
    expiry = rrsig_expiration(port, "www." + E, "A")
    assert srv.stop() == 0

    srv2 = servers.signetd(label="second", corefile=corefile, port=port, ready_zones=[E])
    after = (dl.dnskeys(port, E), dl.cds_rdatas(port, E), dl.signer_tags(port, "www." + E, "A"))
    assert after == before
    assert sorted(os.listdir(keys)) == files
    log = srv2.log()
    assert "restored from the journal" in log, log
    assert "new KSK" not in log and "new ZSK" not in log, log
    # The restored zone is the zone manager's again: its signatures get refreshed.
    lib.wait_for(lambda: rrsig_expiration(port, "www." + E, "A") > expiry, 20,
                 "signatures refreshed after the restart", interval=0.1)
    assert dl.signer_tags(port, "www." + E, "A") == before[2]


def test_reload_turns_signing_on_and_off(servers, tmp_path):
    """dnssec added to a zone by a configuration reload (SIGHUP) signs it although its data
    did not change; removed, the zone is served unsigned again; added back, signed with the
    same keys."""
    keys = str(tmp_path / "keys")
    port = lib.free_port()
    plain = dl.zone_block(E, CASE_ZONE, port)
    signed = dl.zone_block(E, CASE_ZONE, port, keys, ["algorithm ecdsap256sha256"])
    srv = servers.signetd(corefile=plain, port=port, ready_zones=[E])
    assert dl.dnskeys(port, E) == {}

    def reload_to(text):
        dl.write_atomic(os.path.join(srv.workdir, "Corefile"), text)
        srv.signal(signal.SIGHUP)

    reload_to(signed)
    keys_on = lib.wait_for(lambda: dl.dnskeys(port, E), 15, "DNSKEY after dnssec was added",
                           interval=0.1)
    assert dl.signer_tags(port, "www." + E, "A") == set(keys_on)
    reload_to(plain)
    lib.wait_for(lambda: not dl.dnskeys(port, E) and not dl.signer_tags(port, "www." + E, "A"),
                 15, "no DNSSEC records after dnssec was removed", interval=0.1)
    reload_to(signed)
    assert lib.wait_for(lambda: dl.dnskeys(port, E), 15, "DNSKEY again", interval=0.1) == keys_on
