"""Helpers of the kubernetes source's tests: the fake API server (fake_kube_api.py) as a
child process with its control API, Kubernetes objects shaped as the API reference shows
them, Corefiles, kubeconfigs, certificates, a knotd secondary, and DNS probes.
"""

import base64
import json
import os
import subprocess
import sys
import urllib.request

import dns.rcode
import dns.rdatatype

import lib

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_kube_api.py")


# --------------------------------------------------------------------------
# the fake API server

class FakeKube(lib.Server):
    """fake_kube_api.py running as a child process; control methods drive it."""

    def __init__(self, proc, port, workdir, logpath, scheme="http"):
        super().__init__("fake-kube-api", proc, port, workdir, logpath)
        self.scheme = scheme

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def _call(self, op, body=None, method="POST"):
        data = json.dumps(body or {}).encode() if method == "POST" else None
        req = urllib.request.Request("http://127.0.0.1:%d/control/%s" % (self.port, op),
                                     data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"{}")

    def apply(self, *objs):
        return self._call("apply", {"objects": list(objs)})

    def delete(self, *objs, silent=False):
        refs = [{"kind": o["kind"], "namespace": o["metadata"].get("namespace"),
                 "name": o["metadata"]["name"]} for o in objs]
        return self._call("delete", {"objects": refs, "silent": silent})

    def gone(self, mode="event"):
        return self._call("gone", {"mode": mode})

    def compact(self):
        return self._call("compact")

    def gone_mode(self, mode):
        return self._call("gone_mode", {"mode": mode})

    def drop(self):
        return self._call("drop")

    def block(self, watch=False, list_=False):
        return self._call("block", {"watch": watch, "list": list_})

    def fail(self, count, status=500):
        return self._call("fail", {"count": count, "status": status})

    def token(self, tok):
        return self._call("token", {"token": tok})

    def bookmark(self):
        return self._call("bookmark")

    def stats(self):
        return self._call("stats", method="GET")


class TlsFakeKube(FakeKube):
    """An https fake: its control API is served over TLS too (verified with the test CA,
    with the client certificate when the fake asks for one)."""

    def __init__(self, proc, port, workdir, logpath, ca, client=None):
        super().__init__(proc, port, workdir, logpath, scheme="https")
        self.ca = ca
        self.client = client

    def _call(self, op, body=None, method="POST"):
        import ssl
        ctx = ssl.create_default_context(cafile=self.ca)
        if self.client:
            ctx.load_cert_chain(*self.client)
        data = json.dumps(body or {}).encode() if method == "POST" else None
        req = urllib.request.Request("https://127.0.0.1:%d/control/%s" % (self.port, op),
                                     data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
            return json.loads(r.read() or b"{}")


def start_fake(pool, label="kubeapi", token=None, cert=None, key=None, client_ca=None,
               ca=None, client=None, bookmark_interval=1.0):
    """Start the fake API server (tracked by pool, so always stopped)."""
    workdir = pool.workdir(label)
    logpath = os.path.join(workdir, "fake.log")
    argv = [sys.executable, FAKE, "--port", "0", "--bookmark-interval", str(bookmark_interval)]
    if token:
        argv += ["--token", token]
    if cert:
        argv += ["--cert", cert, "--key", key]
    if client_ca:
        argv += ["--client-ca", client_ca]

    def start():
        log = open(logpath, "wb")
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                cwd=workdir)
        log.close()
        line = proc.stdout.readline().decode()
        if not line.startswith("READY "):
            proc.kill()
            raise RuntimeError("fake API server did not start: %r\n%s" % (
                line, open(logpath).read()))
        port = int(line.split()[1])
        if cert:
            return TlsFakeKube(proc, port, workdir, logpath, ca, client)
        return FakeKube(proc, port, workdir, logpath)
    return pool._track(start)


# --------------------------------------------------------------------------
# objects, as the API reference shows them

def _meta(name, namespace=None, labels=None, annotations=None):
    md = {"name": name}
    if namespace is not None:
        md["namespace"] = namespace
    if labels:
        md["labels"] = dict(labels)
    if annotations:
        md["annotations"] = dict(annotations)
    return md


def namespace(name, labels=None):
    lb = {"kubernetes.io/metadata.name": name}
    lb.update(labels or {})
    return {"kind": "Namespace", "apiVersion": "v1", "metadata": _meta(name, labels=lb),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def port(name, number, protocol="TCP", target=None):
    p = {"protocol": protocol, "port": number, "targetPort": target or number}
    if name:
        p["name"] = name
    return p


def service(name, ns="default", ips=("10.0.0.1",), ports=(), labels=None, annotations=None,
            type_="ClusterIP", publish_not_ready=False):
    """A Service with ClusterIPs (ips=("None",) for headless)."""
    ips = list(ips)
    fams = ["IPv6" if ":" in ip else "IPv4" for ip in ips if ip != "None"] or ["IPv4"]
    spec = {"ports": list(ports), "clusterIP": ips[0], "clusterIPs": ips, "type": type_,
            "sessionAffinity": "None", "ipFamilies": fams,
            "ipFamilyPolicy": "RequireDualStack" if len(fams) > 1 else "SingleStack",
            "internalTrafficPolicy": "Cluster"}
    if ips[0] != "None":
        spec["selector"] = {"app": name}
    else:
        spec["selector"] = {"app": name}
    if publish_not_ready:
        spec["publishNotReadyAddresses"] = True
    return {"kind": "Service", "apiVersion": "v1",
            "metadata": _meta(name, ns, labels or {"app": name}, annotations),
            "spec": spec, "status": {"loadBalancer": {}}}


def headless(name, ns="default", ports=(), **kw):
    return service(name, ns, ips=("None",), ports=ports, **kw)


def external(name, target, ns="default"):
    return {"kind": "Service", "apiVersion": "v1", "metadata": _meta(name, ns),
            "spec": {"type": "ExternalName", "externalName": target,
                     "sessionAffinity": "None"},
            "status": {"loadBalancer": {}}}


def endpoint(addrs, ready=True, hostname=None, pod=None, ns="default", node="node-1"):
    e = {"addresses": list(addrs) if isinstance(addrs, (list, tuple)) else [addrs],
         "conditions": {"ready": ready, "serving": ready, "terminating": False},
         "nodeName": node, "zone": "us-west2-a"}
    if ready is None:
        e["conditions"] = {}
    if hostname:
        e["hostname"] = hostname
    if pod:
        e["targetRef"] = {"kind": "Pod", "namespace": ns, "name": pod,
                          "uid": "00000000-0000-4000-8000-%012d" % (abs(hash(pod)) % 10**12)}
    return e


def endpoint_slice(name, service_name, endpoints, ports=(), ns="default", family="IPv4",
                   labels=None):
    lb = {"kubernetes.io/service-name": service_name,
          "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    lb.update(labels or {})
    return {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
            "metadata": dict(_meta(name, ns, lb), generateName=service_name + "-",
                             ownerReferences=[{"apiVersion": "v1", "kind": "Service",
                                               "name": service_name, "controller": True,
                                               "blockOwnerDeletion": True,
                                               "uid": "11111111-1111-4111-8111-111111111111"}]),
            "addressType": family, "endpoints": list(endpoints),
            "ports": [{"name": p.get("name", ""), "protocol": p.get("protocol", "TCP"),
                       "port": p.get("targetPort", p["port"])} for p in ports]}


def pod(name, ips, ns="default", phase="Running", deleting=False):
    ips = list(ips) if isinstance(ips, (list, tuple)) else [ips]
    md = _meta(name, ns, {"app": name})
    if deleting:
        md["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    st = {"phase": phase, "hostIP": "192.168.0.10", "podIP": ips[0] if ips else "",
          "podIPs": [{"ip": ip} for ip in ips]}
    return {"kind": "Pod", "apiVersion": "v1", "metadata": md,
            "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.9"}],
                     "nodeName": "node-1"},
            "status": st}


# --------------------------------------------------------------------------
# Corefiles and signetd

def kubernetes_block(zones="cluster.local in-addr.arpa ip6.arpa", props=()):
    lines = ["    kubernetes %s {" % zones]
    lines += ["        %s" % p for p in props]
    lines.append("    }")
    return "\n".join(lines)


def corefile(fake_url, zones=("cluster.local", "in-addr.arpa", "ip6.arpa"), props=(),
             extra=(), endpoint=True):
    keys = " ".join("%s:{PORT}" % z for z in zones)
    p = (["endpoint %s" % fake_url] if endpoint and fake_url else []) + list(props)
    body = ["    bind 127.0.0.1", kubernetes_block(" ".join(zones), p)]
    body += ["    " + x for x in extra]
    return "%s {\n%s\n}\n" % (keys, "\n".join(body))


def start_signetd(pool, fake_url, zones=("cluster.local", "in-addr.arpa", "ip6.arpa"),
                  props=(), extra=(), label="signetd", env=None, ready=True, corefile_text=None):
    workdir = pool.workdir(label)
    text = corefile_text or corefile(fake_url, zones, props, extra)
    srv = pool._track(lambda: lib.start_signetd(workdir, corefile=text,
                                                ready_zones=[z + "." for z in zones],
                                                env=env, ready=ready))
    return srv


# --------------------------------------------------------------------------
# DNS probes

def ask(srv, qname, qtype="A", tcp=False, do=False):
    q = lib.make_query(qname, qtype, edns=0 if do else -1, do=do)
    r, _ = lib.query(q, srv.port, tcp=tcp)
    return r


def answer_texts(msg, qtype=None):
    """Sorted 'owner ttl IN TYPE rdata' lines of the answer section."""
    out = []
    for rrset in msg.answer:
        for rd in rrset:
            out.append("%s %d IN %s %s" % (rrset.name.to_text().lower(), rrset.ttl,
                                           dns.rdatatype.to_text(rrset.rdtype),
                                           rd.to_text().lower()))
    return sorted(out)


def rdatas(msg, qtype):
    """Sorted RDATA texts of the answer's RRsets of qtype."""
    t = dns.rdatatype.from_text(qtype)
    return sorted(rd.to_text().lower() for rrset in msg.answer if rrset.rdtype == t
                  for rd in rrset)


def rcode(msg):
    return dns.rcode.to_text(msg.rcode())


# --------------------------------------------------------------------------
# certificates and kubeconfigs

def openssl(*args, cwd=None):
    subprocess.run(["openssl"] + list(args), check=True, cwd=cwd, capture_output=True)


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, in d."""
    p = lambda n: os.path.join(d, n)  # noqa: E731
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", p("ca.key"), "-out", p("ca.crt"), "-days", "2", "-subj", "/CN=test-ca")
    ext = p("san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for who, extra in (("server", ["-extfile", ext]), ("client", [])):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", p(who + ".key"), "-out", p(who + ".csr"), "-subj",
                "/CN=%s" % ("127.0.0.1" if who == "server" else "system:signet"))
        openssl("x509", "-req", "-in", p(who + ".csr"), "-CA", p("ca.crt"), "-CAkey",
                p("ca.key"), "-CAcreateserial", "-out", p(who + ".crt"), "-days", "2", *extra)
    return {k: p(k) for k in ("ca.crt", "server.crt", "server.key", "client.crt",
                              "client.key")}


def b64file(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def kubeconfig_yaml(contexts, current):
    """contexts: name -> dict(server=, ca_data=, token=, cert_data=, key_data=)."""
    lines = ["apiVersion: v1", "kind: Config", "clusters:"]
    for name, c in contexts.items():
        lines.append("- cluster:")
        if c.get("ca_data"):
            lines.append("    certificate-authority-data: %s" % c["ca_data"])
        lines.append("    server: %s" % c["server"])
        lines.append("  name: %s" % name)
    lines.append("contexts:")
    for name in contexts:
        lines += ["- context:", "    cluster: %s" % name, "    namespace: default",
                  "    user: %s-user" % name, "  name: %s" % name]
    lines.append("current-context: %s" % current)
    lines.append("preferences: {}")
    lines.append("users:")
    for name, c in contexts.items():
        lines += ["- name: %s-user" % name, "  user:"]
        if c.get("token"):
            lines.append("    token: %s" % c["token"])
        if c.get("cert_data"):
            lines.append("    client-certificate-data: %s" % c["cert_data"])
            lines.append("    client-key-data: %s" % c["key_data"])
        if not (c.get("token") or c.get("cert_data")):
            lines.append("    username: nobody")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# a knotd secondary (no TSIG)

def knot_secondary(pool, zone, primary_port, label="knot2", port=None):
    """knotd as a secondary of zone, from 127.0.0.1:primary_port (NOTIFY accepted from
    127.0.0.1); its log says how each transfer came in."""
    workdir = pool.workdir(label)
    port = port or lib.free_port()
    conf = os.path.join(workdir, "knot.conf")
    with open(conf, "w") as f:
        f.write(lib.knot_secondary_conf(workdir, port, zone, primary_port))
    return pool._track(lambda: lib.spawn_knotd(workdir, conf, port))


def soa_serial(port, zone):
    q = lib.make_query(zone, "SOA")
    try:
        r, _ = lib.query(q, port, timeout=0.5)
    except TimeoutError:
        return None
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None
