"""Helpers for Signet's integration tests: ports, servers (signetd, knotd),
raw and dnspython queries, response normalization.

Everything runs on loopback only.  Servers are started in the foreground as
child processes, awaited with a readiness probe (a SOA query polled until it
is answered, with a deadline) and always stopped, even on failure.
"""

import os
import random
import signal
import socket
import struct
import subprocess
import time

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(REPO, "tests", "data", "cases")
TMP = os.path.join(REPO, "tests", "integration", ".tmp")

KNOTD = os.environ.get("KNOTD", "/usr/sbin/knotd")

# Zones of tests/data/cases, served by both servers in the comparison.
CASE_ZONES = {
    "example.test.": os.path.join(DATA, "example.test.zone"),
    "child.example.test.": os.path.join(DATA, "child.example.test.zone"),
    "rfc4592.test.": os.path.join(DATA, "rfc4592.test.zone"),
}

# Filled by test_compare_knot.py, printed by conftest.pytest_terminal_summary.
COMPARE_SUMMARY = {}

# Sanitizer and crash markers that must never appear in signetd's stderr.
CRASH_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "SUMMARY: UndefinedBehaviorSanitizer",
    "Segmentation fault",
)


def signetd_path():
    """The signetd binary under test: $SIGNETD, default <repo>/build/signetd."""
    return os.environ.get("SIGNETD") or os.path.join(REPO, "build", "signetd")


def selftest_backend():
    """SIGNET_TEST_BACKEND=knot replaces signetd by knotd wherever a test
    only needs 'a DNS server serving these zones'. It exists to validate the
    harness itself (knot against knot) while signetd is being written."""
    return os.environ.get("SIGNET_TEST_BACKEND", "signet")


# --------------------------------------------------------------------------
# ports

def _ephemeral_low():
    """The first port the kernel hands out to outgoing connections: test
    ports are drawn below it, so a client socket of another program can
    never take a port between our probe and the server's bind."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def port_busy(port, host="127.0.0.1"):
    """True when port cannot be bound on host for UDP or for TCP."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(_family(host), kind)
        try:
            s.bind((host, port))
        except OSError:
            return True
        finally:
            s.close()
    return False


_handed_out = set()


def free_port(hosts=("127.0.0.1",)):
    """A random port free for both UDP and TCP on every address in hosts,
    taken below the kernel's ephemeral range and never handed out twice in
    one run (two ports asked for before either is bound stay distinct)."""
    if isinstance(hosts, str):
        hosts = (hosts,)
    high = max(_ephemeral_low() - 1, 11000)
    for _ in range(500):
        port = random.randint(10000, high)
        if port in _handed_out or any(port_busy(port, h) for h in hosts):
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port found on %s" % ", ".join(hosts))


# --------------------------------------------------------------------------
# raw transport

def udp_raw(wire, port, host="127.0.0.1", timeout=2.0):
    """Send bytes over UDP; return the response bytes or None on timeout."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(wire, (host, port))
        try:
            data, _ = s.recvfrom(65535)
            return data
        except socket.timeout:
            return None
    finally:
        s.close()


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_read_msg(s):
    """Read one length-prefixed DNS message; None when the peer closed."""
    hdr = recv_exact(s, 2)
    if hdr is None:
        return None
    (ln,) = struct.unpack("!H", hdr)
    return recv_exact(s, ln)


def tcp_connect(port, host="127.0.0.1", timeout=3.0):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.connect((host, port))
    return s


def tcp_raw(wire, port, host="127.0.0.1", timeout=3.0, prefix=True):
    """Send one message over a fresh TCP connection (with the 2-byte length
    prefix unless prefix=False: then wire is sent as is); return the response
    bytes, or None when the server closed or did not answer in time."""
    s = tcp_connect(port, host, timeout)
    try:
        s.sendall(struct.pack("!H", len(wire)) + wire if prefix else wire)
        try:
            return tcp_read_msg(s)
        except (socket.timeout, ConnectionResetError):
            return None
    finally:
        s.close()


# --------------------------------------------------------------------------
# dnspython queries

def make_query(qname, qtype="A", qclass="IN", edns=-1, payload=1232, do=False, rd=False,
               cd=False, qid=None):
    q = dns.message.make_query(qname, qtype, qclass)
    if edns >= 0:
        q.use_edns(edns=edns, ednsflags=dns.flags.DO if do else 0, payload=payload)
    q.flags = dns.flags.Flag(0)
    if rd:
        q.flags |= dns.flags.RD
    if cd:
        q.flags |= dns.flags.CD
    q.id = random.randint(0, 65535) if qid is None else qid
    return q


def query(q, port, tcp=False, host="127.0.0.1", timeout=3.0):
    """Send a dns.message query; return (response Message, response wire)."""
    wire = q.to_wire() if not isinstance(q, (bytes, bytearray)) else bytes(q)
    data = (tcp_raw if tcp else udp_raw)(wire, port, host, timeout)
    if data is None:
        raise TimeoutError("no answer from %s:%d (%s)" % (host, port, "tcp" if tcp else "udp"))
    return dns.message.from_wire(data, ignore_trailing=False), data


def soa_response(port, zone, host="127.0.0.1", timeout=0.3):
    """zone's SOA asked over UDP: the NOERROR response to that query (a dns.message),
    or None when there is no answer, an unparsable one, another ID or another rcode."""
    q = make_query(zone, "SOA")
    data = udp_raw(q.to_wire(), port, host, timeout)
    if data is None:
        return None
    try:
        r = dns.message.from_wire(data)
    except Exception:
        return None
    if r.id != q.id or r.rcode() != dns.rcode.NOERROR:
        return None
    return r


def write_atomic(path, text):
    """Write a file so a reader (signetd's reload timer) never sees half of it."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def soa_answered(port, zone, host="127.0.0.1", timeout=0.3):
    """True when zone's SOA is answered authoritatively over UDP."""
    r = soa_response(port, zone, host, timeout)
    return r is not None and bool(r.flags & dns.flags.AA) and len(r.answer) == 1


# --------------------------------------------------------------------------
# polling, memory

class WaitTimeout(AssertionError):
    """wait_for's deadline passed (an AssertionError: a failed check for pytest)."""


def wait_for(pred, deadline=20.0, what="condition", interval=0.05):
    """Call pred() every interval seconds until it returns something true; return
    that value.  OSError, TimeoutError, AssertionError and DNSException raised by
    pred count as the last value seen and polling goes on; after deadline seconds
    raise WaitTimeout naming what and that last value (or exception)."""
    end = time.monotonic() + deadline
    last = None
    while True:
        try:
            last = pred()
            if last:
                return last
        except (OSError, TimeoutError, AssertionError, dns.exception.DNSException) as e:
            last = e
        if time.monotonic() > end:
            raise WaitTimeout("timed out after %.1fs waiting for %s (last: %r)"
                              % (deadline, what, last))
        time.sleep(interval)


def vmrss_kib(pid):
    """VmRSS of process pid in KiB, from /proc/PID/status (0 when the line is absent)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# --------------------------------------------------------------------------
# processes

class Server:
    """A running DNS server child process."""

    def __init__(self, kind, proc, port, workdir, logpath, host="127.0.0.1"):
        self.kind = kind
        self.proc = proc
        self.port = port
        self.workdir = workdir
        self.logpath = logpath
        self.host = host
        self.stopped = False
        self.returncode = None

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log(self):
        try:
            with open(self.logpath, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_ready(self, zones, deadline=20.0):
        """Poll every zone's SOA until answered; raise with the log otherwise."""
        end = time.monotonic() + deadline
        pending = list(zones)
        while pending:
            if not self.alive():
                raise RuntimeError("%s exited with %s before it was ready; log:\n%s"
                                   % (self.kind, self.proc.returncode, self.log()[-4000:]))
            if soa_answered(self.port, pending[0], self.host):
                pending.pop(0)
                continue
            if time.monotonic() > end:
                self.stop()
                raise RuntimeError("%s did not answer SOA %s within %.0fs; log:\n%s"
                                   % (self.kind, pending[0], deadline, self.log()[-4000:]))
            time.sleep(0.05)
        # TCP too
        while True:
            try:
                s = tcp_connect(self.port, self.host, 0.5)
                s.close()
                return self
            except OSError:
                if time.monotonic() > end:
                    self.stop()
                    raise RuntimeError("%s: TCP port %d not accepting" % (self.kind, self.port))
                time.sleep(0.05)

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self, timeout=15.0):
        """SIGTERM, then SIGKILL after timeout. Returns the exit code."""
        if self.stopped:
            return self.returncode
        self.stopped = True
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.returncode = self.proc.returncode
        return self.returncode

    def crash_report(self):
        """Sanitizer/crash lines from the log, or '' when clean."""
        text = self.log()
        hits = [m for m in CRASH_MARKERS if m in text]
        if not hits:
            return ""
        return "%s log contains %s:\n%s" % (self.kind, hits, text[-6000:])


def knot_dirs(workdir):
    """knotd's rundir and storage below workdir, created; returns (rundir, storage)."""
    rundir = os.path.join(workdir, "run")
    storage = os.path.join(workdir, "storage")
    os.makedirs(rundir, exist_ok=True)
    os.makedirs(storage, exist_ok=True)
    return rundir, storage


def knot_conf(workdir, port, zones, host="127.0.0.1", idle=None, extra_server=""):
    rundir, storage = knot_dirs(workdir)
    lines = [
        "server:",
        "    listen: %s@%d" % (host, port),
        "    rundir: %s" % rundir,
    ]
    if idle is not None:
        lines.append("    tcp-idle-timeout: %ds" % idle)
    if extra_server:
        lines.append(extra_server)
    lines += [
        "database:",
        "    storage: %s" % storage,
        "template:",
        "  - id: default",
        "    storage: %s" % storage,
        "    zonefile-sync: -1",
        "    zonefile-load: whole",
        "    journal-content: none",
        "    semantic-checks: off",
        "zone:",
    ]
    for origin, path in zones.items():
        lines += ["  - domain: %s" % origin, "    file: %s" % os.path.abspath(path)]
    lines += ["log:", "  - target: stderr", "    any: info", ""]
    return "\n".join(lines)


def knot_secondary_conf(workdir, port, zone, primary_port):
    """knot.conf for knotd as a secondary of zone from 127.0.0.1:primary_port, no TSIG,
    NOTIFY accepted from 127.0.0.1, transfers logged at info on stderr."""
    rundir, storage = knot_dirs(workdir)
    return "\n".join([
        "server:",
        "    listen: 127.0.0.1@%d" % port,
        "    rundir: %s" % rundir,
        "remote:",
        "  - id: primary",
        "    address: 127.0.0.1@%d" % primary_port,
        "acl:",
        "  - id: notify_from_primary",
        "    address: 127.0.0.1",
        "    action: notify",
        "database:",
        "    storage: %s" % storage,
        "template:",
        "  - id: default",
        "    storage: %s" % storage,
        "    zonefile-sync: -1",
        "    zonefile-load: none",
        "    journal-content: changes",
        "    semantic-checks: off",
        "zone:",
        "  - domain: %s" % zone,
        "    master: primary",
        "    acl: [notify_from_primary]",
        "log:",
        "  - target: stderr",
        "    any: info",
        "",
    ])


def spawn_knotd(workdir, conf, port, host="127.0.0.1"):
    """Start knotd -c conf in workdir, its output in workdir/knotd.log; the Server,
    not awaited."""
    logpath = os.path.join(workdir, "knotd.log")
    with open(logpath, "wb") as log:
        proc = subprocess.Popen([KNOTD, "-c", conf], cwd=workdir, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return Server("knotd", proc, port, workdir, logpath, host)


def start_knotd(workdir, zones, port=None, host="127.0.0.1", idle=None, ready=True):
    os.makedirs(workdir, exist_ok=True)
    port = port or free_port()
    conf = os.path.join(workdir, "knot.conf")
    with open(conf, "w") as f:
        f.write(knot_conf(workdir, port, zones, host, idle))
    srv = spawn_knotd(workdir, conf, port, host)
    if ready:
        srv.wait_ready(list(zones))
    return srv


def corefile_for(zones, port, host="127.0.0.1", extra="", file_props=""):
    """One server block per zone, all on the same port (CoreDNS style)."""
    blocks = []
    for origin, path in zones.items():
        body = ["    bind %s" % host]
        if file_props:
            body.append("    file %s {\n        %s\n    }" % (os.path.abspath(path), file_props))
        else:
            body.append("    file %s" % os.path.abspath(path))
        if extra:
            body.append("    " + extra.strip().replace("\n", "\n    "))
        blocks.append("%s:%d {\n%s\n}\n" % (origin.rstrip(".") or ".", port, "\n".join(body)))
    return "\n".join(blocks)


def start_signetd(workdir, corefile=None, zones=None, port=None, host="127.0.0.1",
                  ready_zones=None, args=(), extra="", file_props="", ready=True, env=None):
    """Start signetd -conf <workdir>/Corefile.  Either corefile (text, with
    '{PORT}' substituted) or zones (origin -> path) must be given."""
    os.makedirs(workdir, exist_ok=True)
    port = port or free_port()
    if corefile is None:
        corefile = corefile_for(zones, port, host, extra, file_props)
    else:
        corefile = corefile.replace("{PORT}", str(port))
    conf = os.path.join(workdir, "Corefile")
    with open(conf, "w") as f:
        f.write(corefile)
    logpath = os.path.join(workdir, "signetd.log")
    binary = signetd_path()
    if not os.path.exists(binary):
        raise RuntimeError("signetd binary %s does not exist (set SIGNETD)" % binary)
    e = dict(os.environ)
    e.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
    e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    if env:
        e.update(env)
    with open(logpath, "wb") as log:
        proc = subprocess.Popen([binary, "-conf", conf] + list(args), cwd=workdir,
                                stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=e)
    srv = Server("signetd", proc, port, workdir, logpath, host)
    if ready:
        srv.wait_ready(ready_zones or list(zones or []))
    return srv


def start_backend(workdir, zones, port=None, idle=None, extra="", file_props=""):
    """signetd (or knotd under SIGNET_TEST_BACKEND=knot) serving zones."""
    if selftest_backend() == "knot":
        return start_knotd(workdir, zones, port=port, idle=idle)
    if idle is not None:
        extra = (extra + "\ntimeouts {\n    idle %ds\n}" % idle).strip()
    return start_signetd(workdir, zones=zones, port=port, extra=extra, file_props=file_props)


def run_signetd(args, cwd, timeout=30, env=None):
    """Run signetd to completion (for -validate, -version, ...)."""
    e = dict(os.environ)
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    if env:
        e.update(env)
    return subprocess.run([signetd_path()] + list(args), cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=e, stdin=subprocess.DEVNULL)


# --------------------------------------------------------------------------
# normalization for comparisons

FLAG_BITS = [("QR", 0x8000), ("AA", 0x0400), ("TC", 0x0200), ("RD", 0x0100),
             ("RA", 0x0080), ("Z", 0x0040), ("AD", 0x0020), ("CD", 0x0010)]


def header_fields(wire):
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", wire[:12])
    return {"id": qid, "flags": flags, "opcode": (flags >> 11) & 0xF, "rcode": flags & 0xF,
            "qdcount": qd, "ancount": an, "nscount": ns, "arcount": ar}


def flag_names(flags):
    return " ".join(n for n, b in FLAG_BITS if flags & b) or "-"


def question_bytes(wire):
    """The raw question section (QDCOUNT questions, uncompressed names)."""
    qd = struct.unpack("!H", wire[4:6])[0]
    off = 12
    for _ in range(qd):
        while True:
            if off >= len(wire):
                return wire[12:]
            ln = wire[off]
            if ln & 0xC0:
                off += 2
                break
            off += 1 + ln
            if ln == 0:
                break
        off += 4
    return wire[12:off]


def rr_key(name, ttl, rdclass, rdtype, rdata):
    """Text of one RR with owner and RDATA names in canonical (lower) case
    (RFC 4034 6.2): DNS names compare case-insensitively, and a server may
    compress an RDATA name against the mixed-case qname."""
    try:
        canon = rdata.to_digestable()
        rdata = dns.rdata.from_wire(rdclass, rdtype, canon, 0, len(canon))
    except Exception:
        pass
    return "%s %d %s %s %s" % (name.to_text().lower(), ttl, dns.rdataclass.to_text(rdclass),
                               dns.rdatatype.to_text(rdtype), rdata.to_text())


def section_multiset(section):
    out = []
    for rrset in section:
        for rd in rrset:
            out.append(rr_key(rrset.name, rrset.ttl, rrset.rdclass, rrset.rdtype, rd))
    return sorted(out)


def edns_summary(msg):
    if msg.edns < 0:
        return None
    return {"version": msg.edns, "payload": msg.payload,
            "do": bool(msg.ednsflags & dns.flags.DO),
            "flags": msg.ednsflags & 0xFFFF,
            "options": sorted(o.to_text() for o in msg.options)}


def normalize(wire):
    """A comparable summary of a response wire message."""
    h = header_fields(wire)
    out = {
        "opcode": h["opcode"],
        "flags": flag_names(h["flags"] & 0x87F0),
        "question": question_bytes(wire).hex(),
    }
    try:
        m = dns.message.from_wire(wire, ignore_trailing=False)
    except Exception as e:  # unparsable: compare header and raw tail
        out["rcode"] = dns.rcode.to_text(h["rcode"])
        out["parse_error"] = type(e).__name__
        out["raw_after_header"] = wire[12:].hex()
        return out
    out["rcode"] = dns.rcode.to_text(m.rcode())
    out["answer"] = section_multiset(m.answer)
    out["authority"] = section_multiset(m.authority)
    out["additional"] = section_multiset(m.additional)
    out["edns"] = edns_summary(m)
    out["tsig"] = m.had_tsig
    return out


def describe(norm):
    """Multi-line human-readable text of a normalized response."""
    if norm is None:
        return "  (no response)"
    lines = ["  rcode=%s flags=[%s] opcode=%s question=%s" %
             (norm.get("rcode"), norm.get("flags"), norm.get("opcode"), norm.get("question"))]
    if "parse_error" in norm:
        lines.append("  unparsable (%s): %s" % (norm["parse_error"], norm["raw_after_header"]))
        return "\n".join(lines)
    lines.append("  edns=%s" % (norm["edns"],))
    for sec in ("answer", "authority", "additional"):
        for rr in norm[sec]:
            lines.append("  %-10s %s" % (sec, rr))
    return "\n".join(lines)
