"""Helpers of the transfer tests: signetd as a primary, and real secondaries
(Knot DNS `knotd`, NSD `nsd`, BIND `named`, the Debian packages) started on
loopback ports with TSIG, NOTIFY allowed from 127.0.0.1, each in its own
temporary directory, awaited with a readiness probe (its SOA serial, polled
with a deadline) and always stopped by the fixtures of conftest.py (each is a
lib.Server: SIGTERM, then SIGKILL).

How each secondary itself shows that it received an IXFR, not an AXFR
(assert_pulled_by_ixfr), as the Debian versions write it:

  knotd 3.2  "[example.test.] IXFR, incoming, remote 127.0.0.1@P, finished, ..." and
             "refresh, ..., zone updated, ..., serial 1 -> 2"; an IXFR answered with
             the whole zone is logged "AXFR-style IXFR" and "AXFR, incoming".
  named 9.18 at debug level 3 (-d 3): "transfer of 'example.test/IN' from
             127.0.0.1#P: got incremental response", and its journal
             (example.test.db.jnl, read with named-journalprint) holds the step.
  nsd 4.6    logs no transfer type; with store-ixfr (and create-ixfr off) it keeps
             exactly the IXFRs it received, so it answers an IXFR from the old serial
             incrementally only if it got one.

Also: AXFR/IXFR with dnspython (TSIG verified across messages), zones as sorted
canonical lines, an IXFR applied to a zone, signetd's journal read with sqlite3,
TSIG records read raw (dnspython raises on a TSIG error before looking further).
"""

import base64
import os
import re
import socket
import sqlite3
import struct
import subprocess
import time

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdata
import dns.rdatatype
import dns.rrset
import dns.tsig

import lib

NSD = os.environ.get("NSD", "/usr/sbin/nsd")
NAMED = os.environ.get("NAMED", "/usr/sbin/named")
KNOTD = lib.KNOTD
NAMED_JOURNALPRINT = "/usr/bin/named-journalprint"
DNSSEC_VERIFY = "/usr/bin/dnssec-verify"

KEY_NAME = "xfr-key."

# dnspython's names of the TSIG algorithms, by Signet's/BIND's names.
TSIG_ALGS = {
    "hmac-sha1": dns.tsig.HMAC_SHA1,
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}


class Key:
    """A TSIG key: name, algorithm (BIND spelling), base64 secret."""

    def __init__(self, name=KEY_NAME, alg="hmac-sha256", secret=None, size=32):
        self.name = name
        self.alg = alg
        self.secret = secret or base64.b64encode(os.urandom(size)).decode()

    def dnspython(self):
        return dns.tsig.Key(self.name, self.secret, algorithm=TSIG_ALGS[self.alg])

    def bind_clause(self):
        return 'key "%s" {\n    algorithm %s;\n    secret "%s";\n};\n' % (
            self.name, self.alg, self.secret)


def soa_serial(port, zone, host="127.0.0.1", timeout=1.0):
    """The SOA serial a server answers for zone over UDP, or None."""
    r = lib.soa_response(port, zone, host, timeout)
    if r is None:
        return None
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def wait_serial(port, zone, serial, deadline=30.0, what=None, srv=None):
    """Wait until the server at port answers zone's SOA with serial (or newer
    in RFC 1982 terms is NOT accepted: exactly serial)."""
    def probe():
        if srv is not None and not srv.alive():
            raise RuntimeError("%s exited (%s); log:\n%s" % (srv.kind, srv.proc.returncode,
                                                               srv.log()[-3000:]))
        return soa_serial(port, zone) == serial
    return lib.wait_for(probe, deadline,
                        what or "serial %d of %s on port %d" % (serial, zone, port))


# --------------------------------------------------------------------------
# zone contents

def rr_lines(rrsets, skip_types=()):
    """Sorted canonical text lines (lib.rr_key) of an iterable of rrsets."""
    out = []
    for rrset in rrsets:
        if rrset.rdtype in skip_types:
            continue
        for rd in rrset:
            out.append(lib.rr_key(rrset.name, rrset.ttl, rrset.rdclass, rrset.rdtype, rd))
    return sorted(out)


def xfr_complete(rds, qtype, serial=None):
    """Has the list of answer rdatas of an AXFR/IXFR reached its end? The first SOA's
    serial closes it: the 2nd time for an AXFR (or an IXFR answered with the whole
    zone), the 3rd for an incremental IXFR (first, the last step's new SOA, last); a
    single SOA when the client is current."""
    if not rds or rds[0].rdtype != dns.rdatatype.SOA:
        return False
    top = rds[0].serial
    if qtype == "IXFR" and len(rds) == 1:
        return serial is not None and (top - serial) % (1 << 32) >= (1 << 31) or \
            top == serial
    n = sum(1 for rd in rds if rd.rdtype == dns.rdatatype.SOA and rd.serial == top)
    incremental = len(rds) >= 2 and rds[1].rdtype == dns.rdatatype.SOA and \
        rds[1].serial != top
    return n >= (3 if qtype == "IXFR" and incremental else 2)


def axfr_messages(port, zone, key=None, host="127.0.0.1", timeout=10.0, source=None,
                  qtype="AXFR", serial=None, raw=False):
    """Run one AXFR (or IXFR from serial) over TCP and return the list of
    response messages (dns.message.Message, TSIG verified across the stream when
    key is given) and the list of their wire sizes.  Raises on a bad TSIG."""
    q = dns.message.make_query(zone, qtype)
    if qtype == "IXFR":
        soa = dns.rrset.from_text(zone, 0, "IN", "SOA",
                                  ". . %d 0 0 0 0" % serial)
        q.authority.append(soa)
    if key is not None:
        q.use_tsig(keyring=key.dnspython(), keyname=key.name)
    wire = q.to_wire()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if source:
            s.bind((source, 0))
        s.connect((host, port))
        s.sendall(struct.pack("!H", len(wire)) + wire)
        msgs, sizes, raws = [], [], []
        ctx = None
        rrs = []
        while True:
            data = lib.tcp_read_msg(s)
            if data is None:
                break
            sizes.append(len(data))
            raws.append(data)
            m = dns.message.from_wire(data, keyring=key.dnspython() if key else None,
                                      request_mac=q.mac if key else b"", xfr=True,
                                      tsig_ctx=ctx, multi=True,
                                      one_rr_per_rrset=True)
            if key is not None:
                ctx = m.tsig_ctx
            msgs.append(m)
            if m.rcode() != dns.rcode.NOERROR:
                break
            for rrset in m.answer:
                rrs.extend(rd for rd in rrset)
            if xfr_complete(rrs, qtype, serial):
                break
        return (msgs, sizes, raws) if raw else (msgs, sizes)
    finally:
        s.close()


def axfr_lines(port, zone, key=None, skip_types=(), **kw):
    """The zone as sorted canonical lines, the closing SOA dropped."""
    msgs, _ = axfr_messages(port, zone, key, **kw)
    rrs = []
    for m in msgs:
        if m.rcode() != dns.rcode.NOERROR:
            raise AssertionError("AXFR of %s from port %d: %s" % (zone, port,
                                                                   dns.rcode.to_text(m.rcode())))
        rrs.extend(m.answer)
    if len(rrs) < 2 or rrs[0].rdtype != dns.rdatatype.SOA or rrs[-1].rdtype != dns.rdatatype.SOA:
        raise AssertionError("AXFR of %s from port %d does not begin and end with the SOA"
                             % (zone, port))
    return rr_lines(rrs[:-1], skip_types)


def diff_lines(a, b, label_a="a", label_b="b", limit=30):
    """A readable difference of two sorted line lists ('' when equal)."""
    sa, sb = set(a), set(b)
    only_a = sorted(sa - sb)
    only_b = sorted(sb - sa)
    if not only_a and not only_b and len(a) == len(b):
        return ""
    out = ["%d lines in %s, %d in %s" % (len(a), label_a, len(b), label_b)]
    out += ["  only in %s: %s" % (label_a, x) for x in only_a[:limit]]
    out += ["  only in %s: %s" % (label_b, x) for x in only_b[:limit]]
    if len(a) != len(set(a)) or len(b) != len(set(b)):
        out.append("  (duplicates present)")
    return "\n".join(out)


write_atomic = lib.write_atomic


# --------------------------------------------------------------------------
# signetd as the primary

def primary_corefile(zone, zonefile, storage, key, to_ports, extra="", reload_="1s",
                     key_in_transfer=True, tsig_props=None, transfer_to=None):
    """A server block for zone (port left as {PORT}) that transfers to
    127.0.0.1:P for each P in to_ports, with key required."""
    tsig = tsig_props if tsig_props is not None else [
        "secret %s %s %s" % (key.name, key.secret, key.alg)]
    to = transfer_to or " ".join("127.0.0.1:%d" % p for p in to_ports)
    lines = [
        "%s:{PORT} {" % zone.rstrip("."),
        "    bind 127.0.0.1",
        "    file %s {" % zonefile,
        "        reload %s" % reload_,
        "    }",
        "    tsig {",
    ]
    lines += ["        %s" % t for t in tsig]
    lines += [
        "    }",
        "    transfer {",
        "        to %s" % to,
    ]
    if key_in_transfer:
        lines.append("        key %s" % key.name)
    lines += [
        "    }",
        "    storage %s" % storage,
    ]
    if extra:
        lines += ["    " + x for x in extra.strip().splitlines()]
    lines.append("}")
    return "\n".join(lines) + "\n"


def start_primary(pool, zone, zonefile, key, to_ports, label="primary", port=None,
                  storage=None, extra="", ready=True, **kw):
    """signetd serving zone from zonefile, transferring to the given ports."""
    workdir = pool.workdir(label)
    storage = storage or os.path.join(workdir, "var")
    corefile = primary_corefile(zone, zonefile, storage, key, to_ports, extra=extra, **kw)
    srv = pool._track(lambda: lib.start_signetd(workdir, corefile=corefile, port=port,
                                                ready_zones=[zone], ready=ready))
    srv.storage = storage
    return srv


def signetd_log_count(srv, pattern):
    return len(re.findall(pattern, srv.log()))


# --------------------------------------------------------------------------
# secondaries

class Secondary(lib.Server):
    """A secondary's process; log() joins its stdout/stderr and its log file."""

    def __init__(self, kind, proc, port, workdir, logpath, extra_logs=()):
        super().__init__(kind, proc, port, workdir, logpath)
        self.extra_logs = list(extra_logs)

    def log(self):
        text = super().log()
        for p in self.extra_logs:
            try:
                with open(p, "r", errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def wait_log(self, pattern, count=1, deadline=30.0):
        """Wait until pattern (a regex) occurs count times in the log."""
        rx = re.compile(pattern)

        def probe():
            if not self.alive():
                raise RuntimeError("%s exited (%s); log:\n%s" % (
                    self.kind, self.proc.returncode, self.log()[-3000:]))
            return len(rx.findall(self.log())) >= count
        try:
            return lib.wait_for(probe, deadline,
                                "%s log: %r x%d" % (self.kind, pattern, count))
        except AssertionError as e:
            raise AssertionError("%s\n%s log (tail):\n%s" % (e, self.kind, self.log()[-4000:]))

    def count(self, pattern):
        return len(re.findall(pattern, self.log()))


def _spawn(kind, argv, workdir, port, extra_logs=(), env=None):
    logpath = os.path.join(workdir, "%s.out" % kind)
    with open(logpath, "wb") as log:
        proc = subprocess.Popen(argv, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    return Secondary(kind, proc, port, workdir, logpath, extra_logs)


def knot_secondary_conf(workdir, port, zone, primary_port, key, source=None):
    """knotd as a secondary of 127.0.0.1@primary_port; key None: unsigned requests.
    The zone is kept in knotd's journal (journal-content: all), so a restarted
    knotd still has it and asks for what changed since."""
    rundir, storage = lib.knot_dirs(workdir)
    lines = [
        "server:",
        "    listen: 127.0.0.1@%d" % port,
        "    rundir: \"%s\"" % rundir,
    ]
    if key is not None:
        lines += [
            "key:",
            "  - id: %s" % key.name,
            "    algorithm: %s" % key.alg,
            "    secret: %s" % key.secret,
        ]
    lines += [
        "remote:",
        "  - id: primary",
        "    address: 127.0.0.1@%d" % primary_port,
    ]
    if source:
        lines.append("    via: %s" % source)
    if key is not None:
        lines.append("    key: %s" % key.name)
    lines += [
        "acl:",
        "  - id: notify_from_primary",
        "    address: 127.0.0.1",
    ]
    if key is not None:
        lines.append("    key: %s" % key.name)
    lines += [
        "    action: notify",
        "  - id: transfer_to_tests",
        "    address: 127.0.0.0/8",
        "    action: transfer",
        "database:",
        "    storage: \"%s\"" % storage,
        "template:",
        "  - id: default",
        "    storage: \"%s\"" % storage,
        "    zonefile-sync: -1",
        "    zonefile-load: none",
        "    journal-content: all",
        "    semantic-checks: off",
        "zone:",
        "  - domain: %s" % zone,
        "    master: primary",
        "    acl: [notify_from_primary, transfer_to_tests]",
        "log:",
        "  - target: stderr",
        "    any: debug",
        "",
    ]
    return "\n".join(lines)


def start_knot_secondary(pool, zone, primary_port, key, label="knotd", port=None, ready=True,
                         serial=None, workdir=None, source=None):
    """knotd as a secondary; workdir: reuse one (a restart keeps its journal)."""
    workdir = workdir or pool.workdir(label)
    port = port or lib.free_port()
    conf = os.path.join(workdir, "knot.conf")
    with open(conf, "w") as f:
        f.write(knot_secondary_conf(workdir, port, zone, primary_port, key, source))
    srv = pool._track(lambda: _spawn("knotd", [KNOTD, "-c", conf], workdir, port))
    srv.conf = conf
    if ready:
        wait_secondary(srv, zone, serial)
    return srv


def nsd_secondary_conf(workdir, port, zone, primary_port, key, source=None):
    """nsd as a secondary; store-ixfr keeps the IXFRs it receives (and only those:
    create-ixfr is off), which is how a test sees that it got an IXFR."""
    lines = [
        "server:",
        "    ip-address: 127.0.0.1",
        "    port: %d" % port,
        "    server-count: 1",
        "    username: \"\"",
        "    chroot: \"\"",
        "    zonesdir: \"%s\"" % workdir,
        "    database: \"\"",
        "    zonelistfile: \"%s/zone.list\"" % workdir,
        "    pidfile: \"%s/nsd.pid\"" % workdir,
        "    xfrdfile: \"%s/xfrd.state\"" % workdir,
        "    xfrdir: \"%s\"" % workdir,
        "    logfile: \"%s/nsd.log\"" % workdir,
        "    verbosity: 2",
        "    hide-version: yes",
        "    zonefiles-write: 0",
        "    tcp-count: 32",
        "remote-control:",
        "    control-enable: no",
    ]
    if key is not None:
        lines += [
            "key:",
            "    name: \"%s\"" % key.name,
            "    algorithm: %s" % key.alg,
            "    secret: \"%s\"" % key.secret,
        ]
    kname = key.name if key is not None else "NOKEY"
    lines += [
        "zone:",
        "    name: \"%s\"" % zone,
        "    zonefile: \"%s.zone\"" % zone.rstrip("."),
        "    request-xfr: 127.0.0.1@%d %s" % (primary_port, kname),
        "    allow-notify: 127.0.0.1 %s" % kname,
        "    provide-xfr: 127.0.0.0/8 NOKEY",
        "    store-ixfr: yes",
    ]
    if source:
        lines.append("    outgoing-interface: %s" % source)
    return "\n".join(lines) + "\n"


def start_nsd_secondary(pool, zone, primary_port, key, label="nsd", port=None, ready=True,
                        serial=None, source=None):
    workdir = pool.workdir(label)
    port = port or lib.free_port()
    conf = os.path.join(workdir, "nsd.conf")
    with open(conf, "w") as f:
        f.write(nsd_secondary_conf(workdir, port, zone, primary_port, key, source))
    srv = pool._track(lambda: _spawn("nsd", [NSD, "-d", "-c", conf], workdir, port,
                                     extra_logs=[os.path.join(workdir, "nsd.log")]))
    srv.conf = conf
    if ready:
        wait_secondary(srv, zone, serial)
    return srv


def named_secondary_conf(workdir, port, zone, primary_port, key, source=None):
    """named as a secondary, logging to stderr (-g) at debug level 3, where xfrin says
    "got incremental response" for an IXFR."""
    text = "".join([
        "options {\n",
        "    directory \"%s\";\n" % workdir,
        "    pid-file \"%s/named.pid\";\n" % workdir,
        "    session-keyfile \"%s/session.key\";\n" % workdir,
        "    managed-keys-directory \"%s\";\n" % workdir,
        "    listen-on port %d { 127.0.0.1; };\n" % port,
        "    listen-on-v6 { none; };\n",
        "    recursion no;\n",
        "    notify no;\n",
        "    dnssec-validation no;\n",
        "    allow-query { any; };\n",
        "    allow-transfer { 127.0.0.0/8; };\n",
        "    transfer-source %s;\n" % (source or "127.0.0.1"),
        "};\n",
        "controls { };\n",
    ])
    if key is not None:
        text += key.bind_clause()
    text += "".join([
        "zone \"%s\" {\n" % zone.rstrip("."),
        "    type secondary;\n",
        "    file \"%s.db\";\n" % zone.rstrip("."),
        "    masterfile-format text;\n",
        "    primaries { 127.0.0.1 port %d%s; };\n" % (
            primary_port, "" if key is None else " key \"%s\"" % key.name),
        "    allow-notify { 127.0.0.1; };\n",
        "};\n",
    ])
    return text


def start_named_secondary(pool, zone, primary_port, key, label="named", port=None, ready=True,
                          serial=None, source=None):
    workdir = pool.workdir(label)
    port = port or lib.free_port()
    conf = os.path.join(workdir, "named.conf")
    with open(conf, "w") as f:
        f.write(named_secondary_conf(workdir, port, zone, primary_port, key, source))
    srv = pool._track(lambda: _spawn("named", [NAMED, "-g", "-d", "3", "-4", "-n", "1",
                                               "-c", conf], workdir, port))
    srv.conf = conf
    srv.journal = os.path.join(workdir, "%s.db.jnl" % zone.rstrip("."))
    if ready:
        wait_secondary(srv, zone, serial)
    return srv


STARTERS = {
    "knotd": start_knot_secondary,
    "nsd": start_nsd_secondary,
    "named": start_named_secondary,
}


def wait_secondary(srv, zone, serial=None, deadline=30.0):
    """Wait until the secondary serves zone (with serial when given)."""
    def probe():
        if not srv.alive():
            raise RuntimeError("%s exited (%s) before it served %s; log:\n%s"
                               % (srv.kind, srv.proc.returncode, zone, srv.log()[-4000:]))
        s = soa_serial(srv.port, zone, timeout=0.3)
        return s is not None and (serial is None or s == serial)
    try:
        lib.wait_for(probe, deadline, "%s to serve %s%s" % (srv.kind, zone,
                                                           "" if serial is None else
                                                           " serial %d" % serial))
    except AssertionError as e:
        raise AssertionError("%s\n%s log (tail):\n%s" % (e, srv.kind, srv.log()[-4000:]))
    return srv


def ixfr_request(port, zone, serial, key=None, timeout=10.0):
    """IXFR from serial over TCP: the list of answer RRs as (name, ttl, rdata) in order."""
    msgs, _ = axfr_messages(port, zone, key, qtype="IXFR", serial=serial, timeout=timeout)
    rrs = []
    for m in msgs:
        if m.rcode() != dns.rcode.NOERROR:
            raise AssertionError("IXFR of %s from port %d: %s" % (
                zone, port, dns.rcode.to_text(m.rcode())))
        for rrset in m.answer:
            rrs.extend((rrset.name, rrset.ttl, rd) for rd in rrset)
    return rrs


def is_incremental(rrs):
    """True for an IXFR answer in the incremental form: SOA, then SOA (old) ..."""
    return (len(rrs) >= 3 and rrs[0][2].rdtype == dns.rdatatype.SOA and
            rrs[1][2].rdtype == dns.rdatatype.SOA)


def assert_pulled_by_ixfr(srv, zone, old, new, since=0):
    """Assert, from the secondary's own log or journal, that it went from serial old
    to new by IXFR (not AXFR).  since: the length of its log before the change."""
    z = re.escape(zone)
    # A secondary may serve the new serial a moment before it logs how it got it.
    done = {"knotd": r"\[%s\] refresh, [^\n]*zone updated" % z,
            "named": r"transfer of '%s/IN' from [^\n]*: Transfer completed"
                     % re.escape(zone.rstrip("."))}.get(srv.kind)
    log = srv.log()[since:]
    end = time.monotonic() + 10.0
    while done and not re.search(done, log) and time.monotonic() < end:
        time.sleep(0.05)
        log = srv.log()[since:]
    where = "%s log since the change:\n%s" % (srv.kind, log[-4000:])
    if srv.kind == "knotd":
        # [example.test.] IXFR, incoming, remote 127.0.0.1@P, finished, ...
        # [example.test.] refresh, remote 127.0.0.1@P, zone updated, ..., serial 1 -> 2
        assert re.search(r"\[%s\] IXFR, incoming, remote [^\n]*, finished" % z, log), where
        assert re.search(r"\[%s\] refresh, [^\n]*zone updated, [^\n]*serial %d -> %d"
                         % (z, old, new), log), where
        assert "AXFR-style" not in log and not re.search(r"AXFR, incoming", log), where
    elif srv.kind == "named":
        # xfrin: "requesting IXFR for serial N" then "got incremental response", and the
        # journal named writes for an incremental transfer only (named-journalprint).
        zn = re.escape(zone.rstrip("."))
        assert re.search(r"transfer of '%s/IN' from [^\n]*: got incremental response" % zn,
                         log), where
        assert "got nonincremental response" not in log, where
        assert re.search(r"transfer of '%s/IN' from [^\n]*: Transfer completed" % zn, log), where
        out = subprocess.run([NAMED_JOURNALPRINT, srv.journal], capture_output=True,
                             text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert re.search(r"^add %s\s+\d+\s+IN\s+SOA\s+\S+ \S+ %d " % (z, new), out.stdout,
                         re.M), "named's journal has no step to %d:\n%s" % (new, out.stdout)
        assert re.search(r"^del %s\s+\d+\s+IN\s+SOA\s+\S+ \S+ %d " % (z, old), out.stdout,
                         re.M), "named's journal has no step from %d:\n%s" % (old, out.stdout)
    elif srv.kind == "nsd":
        # nsd keeps the IXFRs it receives (store-ixfr; create-ixfr off, so never one made
        # from an AXFR) and answers IXFR from them: ask it for old -> new. Its server
        # process may log the update a moment after it already serves the new serial.
        pattern = r"zone %s serial %d is updated to %d" % (z, old, new)
        end = time.monotonic() + 10.0
        while not re.search(pattern, log) and time.monotonic() < end:
            time.sleep(0.05)
            log = srv.log()[since:]
        where = "%s log since the change:\n%s" % (srv.kind, log[-4000:])
        assert re.search(pattern, log), where
        rrs = ixfr_request(srv.port, zone, old)
        assert is_incremental(rrs), "nsd has no IXFR %d -> %d (so it did not receive one); " \
            "it answered %s\n%s" % (old, new, [str(r[2]) for r in rrs[:4]], where)
        assert rrs[0][2].serial == new and rrs[1][2].serial == old, rrs[:2]
    else:
        raise ValueError(srv.kind)


def assert_notified(srv, zone, serial, since=0):
    """Assert from the secondary's log that a NOTIFY for serial reached it (and was
    accepted: a refused one is logged otherwise)."""
    z = re.escape(zone)
    zn = re.escape(zone.rstrip("."))
    pattern = {
        # [example.test.] notify, incoming, remote 127.0.0.1@P, serial 2
        "knotd": r"\[%s\] notify, incoming, remote [^\n]*serial %d\b" % (z, serial),
        # zone example.test/IN: notify from 127.0.0.1#P: serial 2
        "named": r"zone %s/IN: notify from 127\.0\.0\.1#\d+: serial %d\b" % (zn, serial),
        # notify for example.test. from 127.0.0.1 serial 2
        "nsd": r"notify for %s from 127\.0\.0\.1 serial %d\b" % (z, serial),
    }[srv.kind]
    log = srv.log()[since:]
    assert re.search(pattern, log), "%s got no NOTIFY for serial %d; its log:\n%s" % (
        srv.kind, serial, log[-3000:])


def apply_ixfr(lines, rrs):
    """Apply an IXFR answer (incremental form) to a zone given as canonical lines;
    returns the new sorted lines.  Deletions match without the TTL (RFC 1995)."""
    assert is_incremental(rrs), "not an incremental answer"

    def key(line):
        f = line.split(" ", 4)
        return (f[0], f[2], f[3], f[4])
    cur = {key(l): l for l in lines}
    assert len(cur) == len(lines), "duplicate RRs"
    final = rrs[0][2].serial
    i = 1
    while i < len(rrs) - 1:
        assert rrs[i][2].rdtype == dns.rdatatype.SOA
        i += 1
        while rrs[i][2].rdtype != dns.rdatatype.SOA:
            name, ttl, rd = rrs[i]
            k = key(lib.rr_key(name, ttl, rd.rdclass, rd.rdtype, rd))
            assert k in cur, "IXFR deletes an RR that is not there: %s" % (k,)
            del cur[k]
            i += 1
        # the new SOA of this step
        name, ttl, rd = rrs[i]
        soa_k = [k for k in cur if k[2] == "SOA"]
        for k in soa_k:
            del cur[k]
        line = lib.rr_key(name, ttl, rd.rdclass, rd.rdtype, rd)
        cur[key(line)] = line
        i += 1
        while i < len(rrs) - 1 and rrs[i][2].rdtype != dns.rdatatype.SOA:
            name, ttl, rd = rrs[i]
            line = lib.rr_key(name, ttl, rd.rdclass, rd.rdtype, rd)
            assert key(line) not in cur, "IXFR adds an RR that is there: %s" % line
            cur[key(line)] = line
            i += 1
    assert rrs[-1][2].rdtype == dns.rdatatype.SOA and rrs[-1][2].serial == final
    return sorted(cur.values())


def dnssec_verify(lines, origin, workdir, name):
    """Write the zone lines to a file and run BIND's dnssec-verify -z (one CSK)."""
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run([DNSSEC_VERIFY, "-z", "-o", origin, path], capture_output=True,
                       text=True, timeout=120)
    return r


# --------------------------------------------------------------------------
# signetd's journal, read with python's sqlite3

def journal_steps(storage, zone):
    """[(seq, serial_from, serial_to, nremoved, nadded)] of zone, ordered by seq."""
    path = os.path.join(storage, "journal.sqlite")
    apex = dns.name.from_text(zone).canonicalize().to_wire()
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute("SELECT seq, serial_from, serial_to, nremoved, nadded FROM steps "
                          "WHERE zone = ? ORDER BY seq", (apex,)).fetchall()
    finally:
        db.close()


def journal_head(storage, zone):
    path = os.path.join(storage, "journal.sqlite")
    apex = dns.name.from_text(zone).canonicalize().to_wire()
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        row = db.execute("SELECT serial FROM heads WHERE zone = ?", (apex,)).fetchone()
        return row[0] if row else None
    finally:
        db.close()


def check_journal(storage, zone, served):
    """The journal's steps are contiguous and end at the served serial; returns them."""
    steps = journal_steps(storage, zone)
    assert steps, "no journal steps for %s" % zone
    for a, b in zip(steps, steps[1:]):
        assert b[0] == a[0] + 1, "sequence gap: %r then %r" % (a, b)
        assert b[1] == a[2], "not contiguous: %r then %r" % (a, b)
    for s in steps:
        assert (s[2] - s[1]) % (1 << 32) < (1 << 31) and s[2] != s[1], "step backwards: %r" % (s,)
    assert steps[-1][2] == served, "the journal ends at %d, signetd serves %d" % (
        steps[-1][2], served)
    head = journal_head(storage, zone)
    assert head == served, "the journal's newest contents are serial %r, served %d" % (
        head, served)
    return steps


# --------------------------------------------------------------------------
# TSIG on the wire, read without dnspython's checks (it raises on a TSIG error
# before looking at the MAC): RFC 8945 section 4.2 and 4.3.3

def _skip_name(wire, pos):
    while True:
        ln = wire[pos]
        if ln & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + ln
        if ln == 0:
            return pos


def tsig_of(wire):
    """The TSIG RR (the last of the additional section) of a message, as a dict, or None."""
    qd, an, ns, ar = struct.unpack("!HHHH", wire[4:12])
    if ar == 0:
        return None
    pos = 12
    for _ in range(qd):
        pos = _skip_name(wire, pos) + 4
    start = None
    for _ in range(an + ns + ar):
        start = pos
        pos = _skip_name(wire, pos)
        rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", wire[pos:pos + 10])
        rd = pos + 10
        pos = rd + rdlen
    if rtype != dns.rdatatype.TSIG:
        return None
    owner, _ = dns.name.from_wire(wire, start)
    alg, used = dns.name.from_wire(wire, rd)
    p = rd + used
    hi, lo, fudge, macsize = struct.unpack("!HIHH", wire[p:p + 10])
    p += 10
    mac = wire[p:p + macsize]
    p += macsize
    orig_id, error, olen = struct.unpack("!HHH", wire[p:p + 6])
    other = wire[p + 6:p + 6 + olen]
    return {"owner": owner, "class": rclass, "ttl": ttl, "alg": alg, "time": (hi << 32) | lo,
            "fudge": fudge, "mac": mac, "orig_id": orig_id, "error": error, "other": other,
            "start": start}


def tsig_response_mac(wire, key, request_mac):
    """The MAC a response must carry (RFC 8945 4.3.3): request MAC, the message without
    its TSIG (ARCOUNT - 1, original ID), then the TSIG variables."""
    import hashlib
    import hmac
    t = tsig_of(wire)
    msg = bytearray(wire[:t["start"]])
    msg[0:2] = struct.pack("!H", t["orig_id"])
    ar = struct.unpack("!H", wire[10:12])[0]
    msg[10:12] = struct.pack("!H", ar - 1)
    var = (t["owner"].canonicalize().to_wire() + struct.pack("!HI", 255, 0) +
           t["alg"].canonicalize().to_wire() +
           struct.pack("!HIH", t["time"] >> 32, t["time"] & 0xFFFFFFFF, t["fudge"]) +
           struct.pack("!HH", t["error"], len(t["other"])) + t["other"])
    digest = {"hmac-sha1": hashlib.sha1, "hmac-sha224": hashlib.sha224,
              "hmac-sha256": hashlib.sha256, "hmac-sha384": hashlib.sha384,
              "hmac-sha512": hashlib.sha512}[key.alg]
    h = hmac.new(base64.b64decode(key.secret), digestmod=digest)
    if request_mac:
        h.update(struct.pack("!H", len(request_mac)) + request_mac)
    h.update(bytes(msg) + var)
    return h.digest()


def journal_contents(storage, zone):
    """The newest version as the journal keeps it (heads + contents), as canonical lines."""
    path = os.path.join(storage, "journal.sqlite")
    apex = dns.name.from_text(zone).canonicalize().to_wire()
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        head = db.execute("SELECT soa, soa_ttl FROM heads WHERE zone = ?", (apex,)).fetchone()
        rows = db.execute("SELECT rr FROM contents WHERE zone = ?", (apex,)).fetchall()
    finally:
        db.close()
    out = []
    if head is not None:
        rd = dns.rdata.from_wire(dns.rdataclass.IN, dns.rdatatype.SOA, head[0], 0, len(head[0]))
        out.append(lib.rr_key(dns.name.from_text(zone), head[1], dns.rdataclass.IN,
                              dns.rdatatype.SOA, rd))
    for (blob,) in rows:
        name, used = dns.name.from_wire(blob, 0)
        rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", blob[used:used + 10])
        rd = dns.rdata.from_wire(rclass, rtype, blob, used + 10, rdlen)
        out.append(lib.rr_key(name, ttl, rclass, rtype, rd))
    return sorted(out)


class PortHold:
    """Keeps a loopback port (TCP and UDP) bound while its server is down, so that no
    outgoing connection takes it as its ephemeral port before the server is back."""

    def __init__(self, port, host="127.0.0.1"):
        self.socks = []
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                s.close()
                continue
            self.socks.append(s)

    def release(self):
        for s in self.socks:
            s.close()
        self.socks = []
