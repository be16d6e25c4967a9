"""Helpers of the etcd tests: a real etcd (Debian's etcd-server) on loopback ports,
keys written through its JSON gateway (base64 keys and values, as etcdctl would), a
TCP proxy that can cut signetd off from etcd while the test goes on writing, knotd
as a secondary, and polling for answers.

Every process is a lib.Server tracked by the test's ServerPool, so it is stopped
whatever happens.
"""

import base64
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import dns.message
import dns.rcode
import dns.rdatatype

import lib

ETCD = os.environ.get("ETCD", "/usr/bin/etcd")


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def prefix_end(prefix):
    """etcd's range end for every key that starts with prefix."""
    b = bytearray(prefix.encode())
    b[-1] += 1
    return bytes(b)


class Etcd(lib.Server):
    """One etcd member. tls: a Certs (https, client certificates required)."""

    def __init__(self, workdir, tls=None):
        self.workdir = workdir
        self.datadir = os.path.join(workdir, "data")
        self.client_port = lib.free_port()
        self.peer_port = lib.free_port()
        self.tls = tls
        self.api = "/v3"
        self.token = None
        self.starts = 0
        super().__init__("etcd", None, self.client_port, workdir,
                         os.path.join(workdir, "etcd.log"))

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.client_port)

    def start(self, deadline=20.0):
        scheme = "https" if self.tls else "http"
        argv = [ETCD, "--name", "default", "--data-dir", self.datadir,
                "--listen-client-urls", "%s://127.0.0.1:%d" % (scheme, self.client_port),
                "--advertise-client-urls", "%s://127.0.0.1:%d" % (scheme, self.client_port),
                "--listen-peer-urls", "http://127.0.0.1:%d" % self.peer_port,
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % self.peer_port,
                "--initial-cluster", "default=http://127.0.0.1:%d" % self.peer_port,
                "--logger", "zap", "--log-level", "warn"]
        if self.tls:
            argv += ["--cert-file", self.tls.server_cert, "--key-file", self.tls.server_key,
                     "--trusted-ca-file", self.tls.ca, "--client-cert-auth"]
        log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(argv, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.stopped = False
        self.starts += 1
        end = time.monotonic() + deadline
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("etcd exited (%s):\n%s" % (self.proc.returncode,
                                                              self.log()[-3000:]))
            try:
                self.revision()
                return self
            except (OSError, ValueError, urllib.error.URLError):
                if time.monotonic() > end:
                    raise RuntimeError("etcd did not answer on %s:\n%s" % (self.url,
                                                                          self.log()[-3000:]))
                time.sleep(0.05)

    def kill(self):
        """SIGKILL, as a crash."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.stopped = True

    def _context(self):
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=self.tls.ca)
        ctx.load_cert_chain(self.tls.client_cert, self.tls.client_key)
        return ctx

    def call(self, path, body, check=True):
        """POST body (a dict) to the gateway; the answer as a dict."""
        req = urllib.request.Request(self.url + self.api + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        if self.token:
            req.add_header("Authorization", self.token)
        try:
            with urllib.request.urlopen(req, timeout=10, context=self._context()) as r:
                answer = json.loads(r.read())
        except urllib.error.HTTPError as e:
            answer = json.loads(e.read() or b"{}")
        if check and "error" in answer:
            raise ValueError("etcd %s: %s" % (path, answer))
        return answer

    def revision(self):
        r = self.call("/kv/range", {"key": b64("\0"), "count_only": True})
        return int(r["header"]["revision"])

    def put(self, key, value, lease=0):
        """Put key (value: a dict is written as JSON); the revision of the put."""
        if not isinstance(value, (str, bytes)):
            value = json.dumps(value)
        body = {"key": b64(key), "value": b64(value)}
        if lease:
            body["lease"] = str(lease)
        return int(self.call("/kv/put", body)["header"]["revision"])

    def delete(self, key, prefix=False):
        body = {"key": b64(key)}
        if prefix:
            body["range_end"] = b64(prefix_end(key))
        return int(self.call("/kv/deleterange", body)["header"]["revision"])

    def put_many(self, items, per_txn=100):
        """Put (key, value) pairs, per_txn to a transaction (etcd allows 128)."""
        items = list(items)
        rev = 0
        for i in range(0, len(items), per_txn):
            ops = []
            for key, value in items[i:i + per_txn]:
                if not isinstance(value, (str, bytes)):
                    value = json.dumps(value)
                ops.append({"request_put": {"key": b64(key), "value": b64(value)}})
            rev = int(self.call("/kv/txn", {"success": ops})["header"]["revision"])
        return rev

    def grant(self, ttl):
        return int(self.call("/lease/grant", {"TTL": ttl})["ID"])

    def compact(self, rev):
        self.call("/kv/compaction", {"revision": rev, "physical": True})

    def enable_auth(self, user, password, prefix):
        """root (needed to switch auth on) and user, who may read keys under prefix."""
        self.call("/auth/user/add", {"name": "root", "password": "rootpw"})
        self.call("/auth/role/add", {"name": "root"})
        self.call("/auth/user/grant", {"user": "root", "role": "root"})
        self.call("/auth/user/add", {"name": user, "password": password})
        self.call("/auth/role/add", {"name": "dnsreader"})
        self.call("/auth/role/grant", {"name": "dnsreader", "perm": {
            "permType": "READ", "key": b64(prefix), "range_end": b64(prefix_end(prefix))}})
        self.call("/auth/user/grant", {"user": user, "role": "dnsreader"})
        self.call("/auth/enable", {})
        self.token = self.call("/auth/authenticate", {"name": "root",
                                                      "password": "rootpw"})["token"]


def start_etcd(pool, label="etcd", tls=None):
    srv = Etcd(pool.workdir(label), tls=tls)
    pool._track(lambda: srv.start())
    return srv


def restart_etcd(pool, srv):
    """Start a killed or stopped etcd again: same ports, same data."""
    srv.start()
    if srv not in pool.servers:
        pool.servers.append(srv)
    return srv


# --------------------------------------------------------------------------
# TLS material

class Certs:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (openssl)."""

    def __init__(self, workdir):
        os.makedirs(workdir, exist_ok=True)
        p = lambda name: os.path.join(workdir, name)  # noqa: E731
        self.ca, self.ca_key = p("ca.pem"), p("ca.key")
        self.server_cert, self.server_key = p("server.pem"), p("server.key")
        self.client_cert, self.client_key = p("client.pem"), p("client.key")
        run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", self.ca_key, "-out", self.ca, "-days", "2", "-subj",
            "/CN=signet test CA")
        ext = p("ext.cnf")
        with open(ext, "w") as f:
            f.write("[srv]\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n"
                    "[cli]\nextendedKeyUsage=clientAuth\n")
        for name, cert, key, section in (("server", self.server_cert, self.server_key, "srv"),
                                         ("client", self.client_cert, self.client_key, "cli")):
            csr = p(name + ".csr")
            run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
            run("openssl", "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext,
                "-extensions", section)


# --------------------------------------------------------------------------
# a TCP proxy the test can cut

class Proxy:
    """127.0.0.1:port -> 127.0.0.1:target. cut() drops every connection and refuses
    new ones (accepted, then closed at once) until restore()."""

    def __init__(self, target):
        self.target = target
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.pairs = []
        self.open = True
        self.running = True
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def _loop(self):
        while self.running:
            with self.lock:
                socks = [self.lsock] + [s for pair in self.pairs for s in pair]
            try:
                ready, _, _ = select.select(socks, [], [], 0.05)
            except (OSError, ValueError):
                continue
            for s in ready:
                if s is self.lsock:
                    try:
                        c, _ = self.lsock.accept()
                    except OSError:
                        continue
                    if not self.open:
                        c.close()
                        continue
                    try:
                        u = socket.create_connection(("127.0.0.1", self.target), timeout=2)
                    except OSError:
                        c.close()
                        continue
                    with self.lock:
                        self.pairs.append((c, u))
                    continue
                with self.lock:
                    pair = next((p for p in self.pairs if s in p), None)
                if pair is None:
                    continue
                other = pair[1] if s is pair[0] else pair[0]
                try:
                    data = s.recv(65536)
                    if data:
                        other.sendall(data)
                        continue
                except OSError:
                    pass
                self._drop(pair)

    def _drop(self, pair):
        with self.lock:
            if pair in self.pairs:
                self.pairs.remove(pair)
        for s in pair:
            try:
                s.close()
            except OSError:
                pass

    def cut(self):
        self.open = False
        with self.lock:
            pairs = list(self.pairs)
        for pair in pairs:
            self._drop(pair)

    def restore(self):
        self.open = True

    def close(self):
        self.running = False
        self.cut()
        self.thread.join(2)
        self.lsock.close()


# --------------------------------------------------------------------------
# signetd and knotd

def corefile(zones, endpoints, port_var="{PORT}", extra="", props="", zone_args=None):
    """One server block for zones, served by one etcd directive."""
    z = zone_args if zone_args is not None else ""
    body = "    etcd %s{\n        endpoint %s\n%s    }\n" % (
        z + " " if z else "", " ".join(endpoints),
        "".join("        %s\n" % p for p in props.strip().splitlines() if p.strip()))
    keys = " ".join("%s:%s" % (zone.rstrip("."), port_var) for zone in zones)
    return "%s {\n    bind 127.0.0.1\n%s%s}\n" % (keys, body,
                                                  "".join("    %s\n" % line for line in
                                                          extra.strip().splitlines()))


def start_signetd(pool, zones, endpoints, label="signetd", extra="", props="", ready=True,
                  zone_args=None, port=None, ready_zones=None):
    """signetd serving zones (block keys: names, or CIDRs with ready_zones naming the
    reverse zones to wait for) from etcd at endpoints."""
    text = corefile(zones, endpoints, extra=extra, props=props, zone_args=zone_args)
    return pool.signetd(label=label, corefile=text,
                        ready_zones=(ready_zones or list(zones)) if ready else None,
                        ready=ready, port=port)


def knot_secondary(pool, zone, primary_port, port=None, label="knotd"):
    """knotd as a secondary of signetd (NOTIFY from 127.0.0.1 accepted); its log says
    "[zone] IXFR, incoming, remote ..., finished" for every incremental transfer."""
    workdir = pool.workdir(label)
    port = port or lib.free_port()
    rundir, storage = os.path.join(workdir, "run"), os.path.join(workdir, "storage")
    os.makedirs(rundir)
    os.makedirs(storage)
    conf = os.path.join(workdir, "knot.conf")
    with open(conf, "w") as f:
        f.write("\n".join([
            "server:", "    listen: 127.0.0.1@%d" % port, "    rundir: \"%s\"" % rundir,
            "remote:", "  - id: primary", "    address: 127.0.0.1@%d" % primary_port,
            "acl:", "  - id: notify", "    address: 127.0.0.1", "    action: notify",
            "database:", "    storage: \"%s\"" % storage,
            "template:", "  - id: default", "    storage: \"%s\"" % storage,
            "    zonefile-sync: -1", "    zonefile-load: none", "    journal-content: all",
            "    semantic-checks: off",
            "zone:", "  - domain: %s" % zone, "    master: primary", "    acl: notify",
            "log:", "  - target: stderr", "    any: info", ""]))
    return pool._track(lambda: lib.spawn_knotd(workdir, conf, port))


# --------------------------------------------------------------------------
# answers

def answer(port, name, rdtype="A", tcp=False):
    """(rcode text, sorted list of "TTL RDATA" of the answer's RRsets of rdtype)."""
    q = lib.make_query(name, rdtype)
    r, _ = lib.query(q, port, tcp=tcp, timeout=2.0)
    want = dns.rdatatype.from_text(rdtype)
    out = []
    for rrset in r.answer:
        if rrset.rdtype == want:
            out.extend("%d %s" % (rrset.ttl, rd.to_text()) for rd in rrset)
    return dns.rcode.to_text(r.rcode()), sorted(out)


def short(port, name, rdtype="A"):
    """What `dig +short` prints: the RDATA of the answer, sorted."""
    q = lib.make_query(name, rdtype)
    r, _ = lib.query(q, port, timeout=2.0)
    want = dns.rdatatype.from_text(rdtype)
    return sorted(rd.to_text() for rrset in r.answer if rrset.rdtype == want for rd in rrset)


def wait_short(port, name, rdtype, want, deadline=10.0, interval=0.002):
    """Poll until short() == want; return the seconds it took."""
    t0 = time.monotonic()
    last = None
    while True:
        try:
            last = short(port, name, rdtype)
            if last == sorted(want):
                return time.monotonic() - t0
        except (OSError, TimeoutError, dns.exception.DNSException) as e:
            last = e
        if time.monotonic() - t0 > deadline:
            raise AssertionError("%s %s on port %d: %r after %.1fs, wanted %r"
                                 % (name, rdtype, port, last, deadline, want))
        time.sleep(interval)


def soa_serial(port, zone):
    q = lib.make_query(zone, "SOA")
    r, _ = lib.query(q, port, timeout=2.0)
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None
