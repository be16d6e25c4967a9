"""Helpers for the DNSSEC integration tests (test_dnssec.py): signed zones served by
signetd, AXFR to a file, the external verifiers (BIND's dnssec-verify, ldns-verify-zone),
a validating resolver (unbound) started on a loopback port, and small probes of a signed
zone's state (DNSKEY set, CDS, RRSIG key tags) polled with deadlines.

Everything runs on loopback; nothing here sleeps for a fixed time where a probe works.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype

import lib

DATA = os.path.join(lib.REPO, "tests", "data", "dnssec")
UNBOUND = os.environ.get("UNBOUND", "/usr/sbin/unbound")
UNBOUND_CONTROL = os.environ.get("UNBOUND_CONTROL", "/usr/sbin/unbound-control")
DNSSEC_VERIFY = os.environ.get("DNSSEC_VERIFY", "/usr/bin/dnssec-verify")
LDNS_VERIFY = os.environ.get("LDNS_VERIFY_ZONE", "/usr/bin/ldns-verify-zone")
DSFROMKEY = os.environ.get("DNSSEC_DSFROMKEY", "/usr/bin/dnssec-dsfromkey")

ALGORITHMS = {"ecdsap256sha256": 13, "ed25519": 15, "rsasha256": 8}


write_atomic = lib.write_atomic


# --------------------------------------------------------------------------
# Corefiles

def dnssec_block(keys_dir, props=()):
    lines = ["    dnssec {", "        keys %s" % keys_dir]
    lines += ["        %s" % p for p in props]
    lines.append("    }")
    return "\n".join(lines)


def zone_block(origin, path, port, keys_dir=None, props=(), reload=None, transfer=True,
               extra=()):
    """One server block serving origin from path, signed when keys_dir is given; extra:
    more directive lines."""
    body = ["    bind 127.0.0.1"] + ["    %s" % x for x in extra]
    if reload:
        body.append("    file %s {\n        reload %s\n    }" % (path, reload))
    else:
        body.append("    file %s" % path)
    if keys_dir is not None:
        body.append(dnssec_block(keys_dir, props))
    if transfer:
        body.append("    transfer {\n        to *\n    }")
    return "%s:%d {\n%s\n}\n" % (origin.rstrip("."), port, "\n".join(body))


# --------------------------------------------------------------------------
# probes of a signed zone

def ask(port, qname, qtype, do=True, tcp=True, rd=False):
    q = lib.make_query(qname, qtype, edns=0, payload=1232, do=do, rd=rd)
    r, _ = lib.query(q, port, tcp=tcp)
    return r


def rrset_of(msg, qname, qtype, section="answer"):
    name = dns.name.from_text(qname)
    rdtype = dns.rdatatype.from_text(qtype)
    for rrset in getattr(msg, section):
        if rrset.name == name and rrset.rdtype == rdtype:
            return rrset
    return None


def sigs_of(msg, qname, covered, section="answer"):
    """RRSIGs over (qname, covered) in a section."""
    name = dns.name.from_text(qname)
    cov = dns.rdatatype.from_text(covered)
    out = []
    for rrset in getattr(msg, section):
        if rrset.name == name and rrset.rdtype == dns.rdatatype.RRSIG:
            out += [rd for rd in rrset if rd.type_covered == cov]
    return out


def dnskeys(port, zone):
    """{tag: flags} of the zone's DNSKEY RRset."""
    r = ask(port, zone, "DNSKEY")
    rs = rrset_of(r, zone, "DNSKEY")
    return {dns.dnssec.key_id(rd): rd.flags for rd in rs} if rs else {}


def cds_tags(port, zone):
    """Key tags of the zone's CDS records."""
    r = ask(port, zone, "CDS")
    rs = rrset_of(r, zone, "CDS")
    return {rd.key_tag for rd in rs} if rs else set()


def cds_rdatas(port, zone):
    r = ask(port, zone, "CDS")
    rs = rrset_of(r, zone, "CDS")
    return sorted(rd.to_text() for rd in rs) if rs else []


def signer_tags(port, qname, qtype):
    """Key tags of the RRSIGs over qname/qtype."""
    r = ask(port, qname, qtype)
    return {rd.key_tag for rd in sigs_of(r, qname, qtype)}


def soa_serial(port, zone):
    r = ask(port, zone, "SOA", do=False, tcp=False)
    return r.answer[0][0].serial


def ds_texts_from_dnskeys(port, zone, digest="SHA256"):
    """DS RDATA text of every SEP key of the zone (what dnssec-dsfromkey prints)."""
    r = ask(port, zone, "DNSKEY")
    rs = rrset_of(r, zone, "DNSKEY")
    name = dns.name.from_text(zone)
    return sorted(dns.dnssec.make_ds(name, rd, digest).to_text() for rd in rs if rd.flags & 1)


# --------------------------------------------------------------------------
# AXFR and the verifiers

def axfr_text(port, zone):
    """The zone by AXFR (dnspython, absolute names), as master-file text; the closing SOA
    left out."""
    lines = []
    soa_seen = 0
    for msg in dns.query.xfr("127.0.0.1", zone, port=port, relativize=False, timeout=10,
                             lifetime=60):
        for rrset in msg.answer:
            for rd in rrset:
                if rrset.rdtype == dns.rdatatype.SOA:
                    soa_seen += 1
                    if soa_seen > 1:
                        continue
                lines.append("%s %d IN %s %s" % (rrset.name.to_text(), rrset.ttl,
                                                 dns.rdatatype.to_text(rrset.rdtype),
                                                 rd.to_text(origin=None, relativize=False)))
    assert soa_seen == 2, "AXFR of %s did not end with its SOA" % zone
    return "\n".join(lines) + "\n"


def corrupt_rrsig(text, owner_prefix="www.", covered="A"):
    """The zone text with one octet of the signature of one RRSIG flipped (the first RRSIG
    over `covered` whose owner starts with owner_prefix). Returns (text, the line changed)."""
    out = []
    changed = None
    for line in text.splitlines():
        parts = line.split(None, 4)
        if (changed is None and len(parts) == 5 and parts[3] == "RRSIG"
                and parts[0].startswith(owner_prefix) and parts[4].split()[0] == covered):
            rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.RRSIG, parts[4])
            sig = bytearray(rd.signature)
            sig[len(sig) // 2] ^= 0x01
            rd = rd.replace(signature=bytes(sig))
            line = "%s %s IN RRSIG %s" % (parts[0], parts[1],
                                          rd.to_text(origin=None, relativize=False))
            changed = line
        out.append(line)
    assert changed is not None, "no RRSIG %s at %s* to corrupt" % (covered, owner_prefix)
    return "\n".join(out) + "\n", changed


def dnssec_verify(path, origin, csk):
    """BIND's dnssec-verify; -z when one key signs everything (a CSK)."""
    args = [DNSSEC_VERIFY, "-o", origin]
    if csk:
        args.append("-z")
    return subprocess.run(args + [path], capture_output=True, text=True, timeout=120)


def ldns_verify(path):
    return subprocess.run([LDNS_VERIFY, path], capture_output=True, text=True, timeout=120)


def dsfromkey(keyfile):
    """dnssec-dsfromkey -2 KEYFILE: the DS RR text."""
    r = subprocess.run([DSFROMKEY, "-2", keyfile], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


# --------------------------------------------------------------------------
# unbound, a validating resolver

class Unbound:
    """unbound -d on a loopback port, with stub zones pointing at signetd and one or more
    trust anchors. remote-control on a unix socket (for flushes and diagnostics)."""

    def __init__(self, trust_anchors, stubs, port=None, extra=()):
        # A short folder: the control socket path must fit in sun_path.
        self.dir = tempfile.mkdtemp(prefix="ub-")
        self.port = port or lib.free_port()
        self.conf = os.path.join(self.dir, "unbound.conf")
        self.logpath = os.path.join(self.dir, "unbound.log")
        self.sock = os.path.join(self.dir, "ctl")
        lines = [
            "server:",
            "    interface: 127.0.0.1",
            "    port: %d" % self.port,
            "    do-ip6: no",
            "    do-not-query-localhost: no",
            "    module-config: \"validator iterator\"",
            "    use-syslog: no",
            "    logfile: \"%s\"" % self.logpath,
            "    log-time-ascii: yes",
            "    chroot: \"\"",
            "    username: \"\"",
            "    directory: \"%s\"" % self.dir,
            "    pidfile: \"%s\"" % os.path.join(self.dir, "unbound.pid"),
            "    num-threads: 1",
            "    verbosity: 1",
            "    val-log-level: 2",
            "    so-reuseport: no",
            "    access-control: 127.0.0.0/8 allow",
            "    minimal-responses: no",
            # "test." is one of unbound's default local zones (RFC 6761): serve it for real.
            "    local-zone: \"test.\" nodefault",
            # Names outside the served zones must fail fast, never reach the network.
            "    local-zone: \"example.com.\" always_nxdomain",
            "    local-zone: \"example.net.\" always_nxdomain",
        ]
        lines += ["    trust-anchor: \"%s\"" % ta for ta in trust_anchors]
        lines += ["    %s" % x for x in extra]
        for name, port in stubs:
            lines += ["stub-zone:", "    name: \"%s\"" % name,
                      "    stub-addr: 127.0.0.1@%d" % port]
        lines += ["remote-control:", "    control-enable: yes",
                  "    control-interface: \"%s\"" % self.sock, "    control-use-cert: no", ""]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines))
        self.proc = None

    def start(self, probe=None, deadline=20.0):
        """Start and wait until it answers probe (qname, qtype) (any rcode)."""
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", self.conf], cwd=self.dir,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        qname, qtype = probe or (".", "NS")
        end = time.monotonic() + deadline
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("unbound exited with %s; log:\n%s"
                                   % (self.proc.returncode, self.log()))
            try:
                self.query(qname, qtype, timeout=0.5)
                return self
            except (TimeoutError, OSError):
                pass
            if time.monotonic() > end:
                self.stop()
                raise RuntimeError("unbound did not answer within %.0fs; log:\n%s"
                                   % (deadline, self.log()))
            time.sleep(0.05)

    def query(self, qname, qtype, timeout=5.0, do=True):
        """A recursive query with DO; returns the response message."""
        q = lib.make_query(qname, qtype, edns=0, payload=4096, do=do, rd=True)
        r, _ = lib.query(q, self.port, tcp=False, timeout=timeout)
        if r.flags & dns.flags.TC:
            r, _ = lib.query(q, self.port, tcp=True, timeout=timeout)
        return r

    def control(self, *args):
        """unbound-control (e.g. "dump_cache", "flush_zone ." when debugging a test)."""
        return subprocess.run([UNBOUND_CONTROL, "-c", self.conf] + list(args),
                              capture_output=True, text=True, timeout=10)

    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()[-6000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def secure(msg):
    return bool(msg.flags & dns.flags.AD)


def describe(msg):
    return "rcode=%s flags=%s\n%s" % (dns.rcode.to_text(msg.rcode()),
                                      dns.flags.to_text(msg.flags), msg.to_text())
