"""Helpers for the integration tests of the query-path stages, the HTTP endpoints and DNS
over TLS: a test zone, Corefiles, HTTP requests, a strict Prometheus text-format parser,
certificates made at test time, kdig.

Servers are started through lib.start_signetd (via the `servers` fixture) on random
loopback ports; readiness is polled, never slept for.
"""

import http.client
import math
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import time

import dns.message
import dns.rcode
import dns.rdatatype

import lib

ZONE = """$ORIGIN example.org.
$TTL 300
@       IN SOA ns1 hostmaster 1 7200 3600 1209600 60
        NS ns1
        MX 10 mx1
        MX 20 mx2
        MX 30 mx3
ns1     A 192.0.2.53
mx1     A 192.0.2.25
mx2     A 192.0.2.26
mx3     A 192.0.2.27
www     A 192.0.2.1
        A 192.0.2.2
        A 192.0.2.3
        AAAA 2001:db8::1
        AAAA 2001:db8::2
        TXT "hello"
blue    A 192.0.2.99
alias   CNAME www
ftp.service.us-west-1 A 10.10.10.10
ftp.service.us-west-1 A 10.20.20.20
"""


def write(path, text):
    with open(str(path), "w") as f:
        f.write(text)
    return str(path)


def zone_file(tmp_path, text=ZONE, name="db.example.org"):
    return write(os.path.join(str(tmp_path), name), text)


def start(servers, tmp_path, body, zone=ZONE, keys="example.org", ready=("example.org.",),
          extra_blocks="", args=("-workers", "2"), label="signetd"):
    """signetd with one block "KEYS:{PORT} { bind 127.0.0.1; file DB; BODY }" (and
    extra_blocks, which may use {PORT}); returns the Server."""
    db = zone_file(tmp_path, zone)
    corefile = "%s:{PORT} {\n    bind 127.0.0.1\n    file %s example.org\n%s\n}\n%s" % (
        keys, db, body, extra_blocks)
    return servers.signetd(label=label, corefile=corefile, ready_zones=list(ready),
                           args=list(args))


def ask(srv, name, rdtype="A", tcp=False, **kw):
    """dnspython query to srv; returns the response Message."""
    q = lib.make_query(name, rdtype, **kw)
    r, _ = lib.query(q, srv.port, tcp=tcp)
    return r


def answer_rdata(msg, rdtype=None):
    """The answer section as a list of (owner, type, rdata text), in wire order."""
    out = []
    for rrset in msg.answer:
        if rdtype is not None and rrset.rdtype != dns.rdatatype.from_text(rdtype):
            continue
        for rd in rrset:
            out.append((rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype),
                        rd.to_text()))
    return out


def wire_answer_order(wire, rdtype):
    """The RDATA of the answer records of rdtype in the order they are in the wire."""
    m = dns.message.from_wire(wire)
    out = []
    # dnspython keeps the order of records inside an RRset as received.
    for rrset in m.answer:
        if rrset.rdtype == rdtype:
            out.extend(rd.to_text() for rd in rrset)
    return out


# --------------------------------------------------------------------------
# HTTP

def http_get(port, path, host="127.0.0.1", timeout=5.0):
    """(status, body text, headers dict) of a GET."""
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace"), dict(r.getheaders())
    finally:
        c.close()


def wait_http(port, path="/health", deadline=15.0):
    """Poll until the endpoint answers anything."""
    end = time.monotonic() + deadline
    while True:
        try:
            return http_get(port, path, timeout=1.0)
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


# --------------------------------------------------------------------------
# Prometheus text format 0.0.4, parsed strictly

METRIC_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class PromError(ValueError):
    pass


def _parse_value(s):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    if not re.match(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$", s):
        raise PromError("bad sample value %r" % s)
    return float(s)


def _parse_labels(s, lineno):
    """'a="x",b="y\\"z"' -> dict; the whole of s must be consumed."""
    labels = {}
    i = 0
    while i < len(s):
        m = re.match(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", s[i:])
        if not m:
            raise PromError("line %d: bad label at %r" % (lineno, s[i:]))
        name = m.group(1)
        i += m.end()
        val = []
        while True:
            if i >= len(s):
                raise PromError("line %d: unterminated label value" % lineno)
            c = s[i]
            if c == "\\":
                if i + 1 >= len(s) or s[i + 1] not in '\\"n':
                    raise PromError("line %d: bad escape in label value" % lineno)
                val.append("\n" if s[i + 1] == "n" else s[i + 1])
                i += 2
                continue
            if c == '"':
                i += 1
                break
            if c == "\n":
                raise PromError("line %d: newline in label value" % lineno)
            val.append(c)
            i += 1
        if name in labels:
            raise PromError("line %d: label %s twice" % (lineno, name))
        labels[name] = "".join(val)
        if i < len(s):
            if s[i] != ",":
                raise PromError("line %d: expected ',' at %r" % (lineno, s[i:]))
            i += 1
    return labels


def _family_of(name, families):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if base in families and families[base]["type"] in ("histogram", "summary"):
                return base
    return name


def parse_prometheus(text):
    """Parse the text exposition format strictly. Returns {family: {"type", "help",
    "samples": [(name, labels, value)]}}; raises PromError on anything malformed: names,
    escapes, values, TYPE after samples or twice, interleaved families, duplicate series,
    histogram buckets that are not cumulative or whose +Inf bucket is not _count."""
    families = {}
    order = []
    seen = set()
    closed = set()
    current = None
    if text and not text.endswith("\n"):
        raise PromError("the exposition must end with a newline")
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line.strip() == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
                if len(parts) < 3 or not METRIC_RE.match(parts[2]):
                    raise PromError("line %d: bad %s line" % (lineno, parts[1]))
                name = parts[2]
                fam = families.setdefault(name, {"type": "untyped", "help": None,
                                                 "samples": [], "typed": False})
                if name not in order:
                    order.append(name)
                if parts[1] == "TYPE":
                    if fam["typed"]:
                        raise PromError("line %d: TYPE of %s twice" % (lineno, name))
                    if fam["samples"]:
                        raise PromError("line %d: TYPE of %s after its samples" % (lineno, name))
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise PromError("line %d: bad type %r" % (lineno, line))
                    fam["type"] = parts[3]
                    fam["typed"] = True
                else:
                    if fam["help"] is not None:
                        raise PromError("line %d: HELP of %s twice" % (lineno, name))
                    fam["help"] = parts[3] if len(parts) == 4 else ""
                if current is not None and current != name:
                    closed.add(current)
                current = name
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$", line)
        if not m:
            raise PromError("line %d: not a sample: %r" % (lineno, line))
        name, labels_text, value_text = m.group(1), m.group(3), m.group(4)
        labels = _parse_labels(labels_text, lineno) if labels_text else {}
        value = _parse_value(value_text)
        base = _family_of(name, families)
        fam = families.setdefault(base, {"type": "untyped", "help": None, "samples": [],
                                         "typed": False})
        if base not in order:
            order.append(base)
        if base in closed:
            raise PromError("line %d: samples of %s are not together" % (lineno, base))
        if current is not None and current != base:
            closed.add(current)
        current = base
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise PromError("line %d: series %s%s twice" % (lineno, name, labels))
        seen.add(key)
        if fam["type"] == "counter" and (value < 0 or math.isnan(value)):
            raise PromError("line %d: counter %s is %s" % (lineno, name, value))
        if fam["type"] == "histogram":
            if name == base + "_bucket" and "le" not in labels:
                raise PromError("line %d: bucket without le" % lineno)
            if name == base:
                raise PromError("line %d: histogram sample without suffix" % lineno)
        fam["samples"].append((name, labels, value))
    for base, fam in families.items():
        if fam["type"] == "histogram":
            _check_histogram(base, fam["samples"])
    return families


def _check_histogram(base, samples):
    series = {}
    for name, labels, value in samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        s = series.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if name == base + "_bucket":
            s["buckets"].append((_parse_value(labels["le"]), value))
        elif name == base + "_sum":
            s["sum"] = value
        elif name == base + "_count":
            s["count"] = value
    for rest, s in series.items():
        if s["sum"] is None or s["count"] is None or not s["buckets"]:
            raise PromError("histogram %s%s lacks _sum, _count or buckets" % (base, rest))
        les = [le for le, _ in s["buckets"]]
        if les != sorted(les) or les[-1] != math.inf:
            raise PromError("histogram %s%s: buckets out of order or no +Inf" % (base, rest))
        counts = [c for _, c in s["buckets"]]
        if any(b < a for a, b in zip(counts, counts[1:])):
            raise PromError("histogram %s%s: buckets are not cumulative" % (base, rest))
        if counts[-1] != s["count"]:
            raise PromError("histogram %s%s: +Inf bucket %s != count %s"
                            % (base, rest, counts[-1], s["count"]))


def sample(families, metric, **labels):
    """The value of the one sample of metric whose labels include labels (None: no such)."""
    base = _family_of(metric, families)
    hits = [v for n, lab, v in families.get(base, {"samples": []})["samples"]
            if n == metric and all(lab.get(k) == str(v2) for k, v2 in labels.items())]
    if len(hits) > 1:
        raise AssertionError("%d samples of %s%s" % (len(hits), metric, labels))
    return hits[0] if hits else None


def scrape(port):
    status, body, headers = http_get(port, "/metrics")
    assert status == 200, body
    assert headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"), headers
    return parse_prometheus(body)


# --------------------------------------------------------------------------
# TLS

def make_cert(directory, cn="dns.example.test"):
    """A self-signed certificate for 127.0.0.1 and cn: (cert path, key path). certtool
    (gnutls-bin) when installed, openssl otherwise."""
    directory = str(directory)
    key = os.path.join(directory, "server.key")
    cert = os.path.join(directory, "server.crt")
    if shutil.which("certtool"):
        tmpl = write(os.path.join(directory, "cert.tmpl"),
                     'cn = "%s"\ndns_name = "%s"\nip_address = "127.0.0.1"\n'
                     "expiration_days = 30\ntls_www_server\nsigning_key\nencryption_key\n"
                     % (cn, cn))
        subprocess.run(["certtool", "--generate-privkey", "--key-type", "ecdsa",
                        "--outfile", key], check=True, capture_output=True)
        subprocess.run(["certtool", "--generate-self-signed", "--load-privkey", key,
                        "--template", tmpl, "--outfile", cert], check=True, capture_output=True)
    else:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "30", "-subj", "/CN=%s" % cn,
                        "-addext", "subjectAltName=DNS:%s,IP:127.0.0.1" % cn],
                       check=True, capture_output=True)
    return cert, key


def wait_tls(port, deadline=15.0):
    end = time.monotonic() + deadline
    while True:
        try:
            s = tls_connect(port, timeout=1.0)
            s.close()
            return
        except (OSError, ssl.SSLError):
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls_connect(port, ctx=None, session=None, timeout=3.0):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    ctx = ctx or tls_context()
    return ctx.wrap_socket(raw, server_hostname="dns.example.test", session=session)


def tls_query(sock, q):
    """Send one dns.message over a TLS socket; return (Message, wire)."""
    wire = q.to_wire()
    sock.sendall(struct.pack("!H", len(wire)) + wire)
    data = lib.tcp_read_msg(sock)
    if data is None:
        raise ConnectionError("no answer over TLS")
    return dns.message.from_wire(data), data


def kdig(*args, timeout=20):
    """Run kdig; returns the CompletedProcess (text)."""
    return subprocess.run(["kdig"] + list(args), capture_output=True, text=True,
                          timeout=timeout)


def kdig_answer(output):
    """The records of kdig's ANSWER SECTION as sorted (owner, type, rdata) tuples."""
    out = []
    in_answer = False
    for line in output.splitlines():
        if line.startswith(";; ANSWER SECTION"):
            in_answer = True
            continue
        if in_answer:
            if not line.strip() or line.startswith(";;"):
                break
            f = line.split(None, 4)
            out.append((f[0].lower(), f[3], " ".join(f[4].split())))
    return sorted(out)


def kdig_rcode(output):
    m = re.search(r"status: (\w+)", output)
    return m.group(1) if m else None
