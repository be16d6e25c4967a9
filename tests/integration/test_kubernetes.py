"""The kubernetes source against a fake API server (fake_kube_api.py), which serves real
Kubernetes JSON (Services v1, EndpointSlices discovery.k8s.io/v1, Namespaces, Pods) with
chunked watch streams, bookmarks, 410 Gone and dropped connections.

- The examples of the Kubernetes DNS-Based Service Discovery specification, schema 1.1.0
  (github.com/kubernetes/dns, docs/specification.md), are answered as it says; each test
  quotes the example it checks. TTLs are Signet's (ttl, default 5) and the system-assigned
  hostname of an endpoint without one is its address with dashes (CoreDNS's choice).
- The options: namespaces, labels, ttl, noendpoints, endpoint_pod_names, pods.
- A Service or EndpointSlice created, changed or deleted is answered within 200 ms, in a
  signed zone, and reaches a knotd secondary by IXFR.
- 410 Gone (an ERROR event, and HTTP 410) and dropped watches recover; a service deleted
  while the watch could not see it is not served after the resync.
- In-cluster configuration (service account token, rotated, and CA over TLS), kubeconfig
  contexts with client certificates, tls CERT KEY CA, an API server that is down at start.
- 10,000 services with 3 endpoints each load and are answered.
"""

import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time

import dns.rdatatype
import pytest

import k8s_lib as k
import lib

CLUSTER = ("cluster.local", "in-addr.arpa", "ip6.arpa")


def spec_objects():
    """The objects behind the specification's examples."""
    return [
        k.namespace("default"),
        k.namespace("kube-system"),
        k.namespace("prod"),
        # 2.3: kubernetes.default, ClusterIP 10.3.0.1 (dual-stack: and 2001:db8::1).
        k.service("kubernetes", ips=("10.3.0.1", "2001:db8::1"), ports=[k.port("https", 443)],
                  labels={"component": "apiserver", "provider": "kubernetes"}),
        k.service("v4only", ips=("10.3.0.2",), ports=[k.port("http", 80), k.port(None, 81)]),
        # 2.4: headless.default with ready endpoints my-pet, my-pet-2 and one without a
        # hostname; one that is not ready.
        k.headless("headless", ports=[k.port("https", 443)]),
        k.endpoint_slice("headless-7xk2p", "headless", [
            k.endpoint("10.3.0.100", hostname="my-pet", pod="my-pet-0"),
            k.endpoint("10.3.0.101", hostname="my-pet-2", pod="my-pet-2"),
            k.endpoint("10.3.0.102", pod="web-5d8f7"),
            k.endpoint("10.3.0.103", ready=False, hostname="sick", pod="web-sick"),
        ], ports=[k.port("https", 443)]),
        k.headless("noready", ports=[k.port("https", 443)]),
        k.endpoint_slice("noready-abcde", "noready", [k.endpoint("10.3.0.110", ready=False)],
                         ports=[k.port("https", 443)]),
        # 2.5: foo.default, ExternalName www.example.com.
        k.external("foo", "www.example.com"),
        k.pod("web-5d8f7", "10.3.0.102"),
        k.pod("api-0", ["10.244.1.5", "fd00::1:5"], ns="prod"),
    ]


@pytest.fixture
def spec_cluster(servers):
    fake = k.start_fake(servers)
    fake.apply(*spec_objects())
    srv = k.start_signetd(servers, fake.url, props=["pods verified"])
    return fake, srv


def one(srv, name, qtype):
    r = k.ask(srv, name, qtype)
    assert k.rcode(r) == "NOERROR", "%s %s: %s" % (name, qtype, r)
    return k.answer_texts(r)


def test_spec_schema_version(spec_cluster):
    """2.2: "dns-version.cluster.local. 28800 IN TXT "1.1.0"" (the schema in use)."""
    _, srv = spec_cluster
    assert one(srv, "dns-version.cluster.local.", "TXT") == [
        'dns-version.cluster.local. 5 IN TXT "1.1.0"']


def test_spec_clusterip(spec_cluster):
    """2.3.1: "kubernetes.default.svc.cluster.local. 4 IN A 10.3.0.1", and AAAA for the
    IPv6 ClusterIP of a dual-stack service.
    2.3.2: "_https._tcp.kubernetes.default.svc.cluster.local. 30 IN SRV 10 100 443
    kubernetes.default.svc.cluster.local."; "Unnamed ports do not have an SRV record."
    2.3.3: "1.0.3.10.in-addr.arpa. 14 IN PTR kubernetes.default.svc.cluster.local." and its
    ip6.arpa form."""
    _, srv = spec_cluster
    assert one(srv, "kubernetes.default.svc.cluster.local.", "A") == [
        "kubernetes.default.svc.cluster.local. 5 IN A 10.3.0.1"]
    assert one(srv, "kubernetes.default.svc.cluster.local.", "AAAA") == [
        "kubernetes.default.svc.cluster.local. 5 IN AAAA 2001:db8::1"]
    assert one(srv, "_https._tcp.kubernetes.default.svc.cluster.local.", "SRV") == [
        "_https._tcp.kubernetes.default.svc.cluster.local. 5 IN SRV 10 100 443 "
        "kubernetes.default.svc.cluster.local."]
    assert one(srv, "1.0.3.10.in-addr.arpa.", "PTR") == [
        "1.0.3.10.in-addr.arpa. 5 IN PTR kubernetes.default.svc.cluster.local."]
    v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
    assert one(srv, v6, "PTR") == [v6 + " 5 IN PTR kubernetes.default.svc.cluster.local."]
    # The SRV answer's additional section may carry the A record (2.3.2).
    r = k.ask(srv, "_http._tcp.v4only.default.svc.cluster.local.", "SRV")
    assert k.rdatas(r, "SRV") == ["10 100 80 v4only.default.svc.cluster.local."]
    # "All comparisons between query data and data in Kubernetes are case-insensitive."
    r = k.ask(srv, "KUBERNETES.Default.SVC.Cluster.Local.", "A")
    assert k.rdatas(r, "A") == ["10.3.0.1"]


def test_spec_headless(spec_cluster):
    """2.4.1: "headless.default.svc.cluster.local. 4 IN A 10.3.0.1" ... one per ready
    endpoint; "my-pet.headless.default.svc.cluster.local. 4 IN A 10.3.0.100".
    2.4.2: "_https._tcp.headless.default.svc.cluster.local. 4 IN SRV 10 100 443
    my-pet.headless.default.svc.cluster.local." ... one per ready endpoint and named port.
    2.4.3: "100.0.3.10.in-addr.arpa. 14 IN PTR my-pet.headless.default.svc.cluster.local."
    """
    _, srv = spec_cluster
    assert one(srv, "headless.default.svc.cluster.local.", "A") == [
        "headless.default.svc.cluster.local. 5 IN A 10.3.0.100",
        "headless.default.svc.cluster.local. 5 IN A 10.3.0.101",
        "headless.default.svc.cluster.local. 5 IN A 10.3.0.102"]
    assert one(srv, "my-pet.headless.default.svc.cluster.local.", "A") == [
        "my-pet.headless.default.svc.cluster.local. 5 IN A 10.3.0.100"]
    assert one(srv, "_https._tcp.headless.default.svc.cluster.local.", "SRV") == [
        "_https._tcp.headless.default.svc.cluster.local. 5 IN SRV 10 100 443 "
        "10-3-0-102.headless.default.svc.cluster.local.",
        "_https._tcp.headless.default.svc.cluster.local. 5 IN SRV 10 100 443 "
        "my-pet-2.headless.default.svc.cluster.local.",
        "_https._tcp.headless.default.svc.cluster.local. 5 IN SRV 10 100 443 "
        "my-pet.headless.default.svc.cluster.local."]
    # The system-assigned hostname resolves too.
    assert one(srv, "10-3-0-102.headless.default.svc.cluster.local.", "A") == [
        "10-3-0-102.headless.default.svc.cluster.local. 5 IN A 10.3.0.102"]
    assert one(srv, "100.0.3.10.in-addr.arpa.", "PTR") == [
        "100.0.3.10.in-addr.arpa. 5 IN PTR my-pet.headless.default.svc.cluster.local."]
    # Not ready: no record of it anywhere.
    assert k.rcode(k.ask(srv, "sick.headless.default.svc.cluster.local.", "A")) == "NXDOMAIN"
    assert k.rcode(k.ask(srv, "103.0.3.10.in-addr.arpa.", "PTR")) == "NXDOMAIN"


def test_spec_nxdomain_nodata(spec_cluster):
    """2.4.1: "If there are no ready endpoints for the headless Service, the answer should
    be NXDOMAIN." Names that exist without the type asked for are NODATA (RFC 2308)."""
    _, srv = spec_cluster
    for qtype in ("A", "AAAA", "SRV"):
        r = k.ask(srv, "noready.default.svc.cluster.local.", qtype)
        assert k.rcode(r) == "NXDOMAIN", r
        assert r.authority and r.authority[0].rdtype == dns.rdatatype.SOA
    r = k.ask(srv, "_https._tcp.noready.default.svc.cluster.local.", "SRV")
    assert k.rcode(r) == "NXDOMAIN"
    r = k.ask(srv, "nothere.default.svc.cluster.local.", "A")
    assert k.rcode(r) == "NXDOMAIN"
    # A ClusterIP service without an IPv6 address: the name exists, AAAA is NODATA.
    for name, qtype in (("v4only.default.svc.cluster.local.", "AAAA"),
                        ("v4only.default.svc.cluster.local.", "TXT"),
                        ("default.svc.cluster.local.", "A"),  # empty non-terminals
                        ("svc.cluster.local.", "A")):
        r = k.ask(srv, name, qtype)
        assert k.rcode(r) == "NOERROR" and not r.answer, "%s %s: %s" % (name, qtype, r)
        assert r.authority[0].rdtype == dns.rdatatype.SOA
    # Unnamed ports have no SRV record.
    assert k.rcode(k.ask(srv, "_81._tcp.v4only.default.svc.cluster.local.", "SRV")) == \
        "NXDOMAIN"


def test_spec_external_name(spec_cluster):
    """2.5: "foo.default.svc.cluster.local. 10 IN CNAME www.example.com." (the
    specification's second line, www.example.com's A, is another server's to give)."""
    _, srv = spec_cluster
    r = k.ask(srv, "foo.default.svc.cluster.local.", "A")
    assert k.rcode(r) == "NOERROR"
    assert k.answer_texts(r) == ["foo.default.svc.cluster.local. 5 IN CNAME www.example.com."]


def test_pods_verified(spec_cluster):
    """pods verified: "<a>-<b>-<c>-<d>.<ns>.pod.<zone>" only for pods that exist there."""
    _, srv = spec_cluster
    assert one(srv, "10-3-0-102.default.pod.cluster.local.", "A") == [
        "10-3-0-102.default.pod.cluster.local. 5 IN A 10.3.0.102"]
    assert one(srv, "10-244-1-5.prod.pod.cluster.local.", "A") == [
        "10-244-1-5.prod.pod.cluster.local. 5 IN A 10.244.1.5"]
    assert one(srv, "fd00--1-5.prod.pod.cluster.local.", "AAAA") == [
        "fd00--1-5.prod.pod.cluster.local. 5 IN AAAA fd00::1:5"]
    # Another namespace, or an address no pod has.
    assert k.rcode(k.ask(srv, "10-244-1-5.default.pod.cluster.local.", "A")) == "NXDOMAIN"
    assert k.rcode(k.ask(srv, "1-2-3-4.default.pod.cluster.local.", "A")) == "NXDOMAIN"


def test_apex(spec_cluster):
    """Synthesized SOA and NS, as CoreDNS writes them."""
    _, srv = spec_cluster
    r = k.ask(srv, "cluster.local.", "SOA")
    soa = r.answer[0][0]
    assert soa.mname.to_text() == "ns.dns.cluster.local."
    assert soa.rname.to_text() == "hostmaster.cluster.local."
    assert (soa.refresh, soa.retry, soa.expire, soa.minimum) == (7200, 1800, 86400, 5)
    assert k.rdatas(k.ask(srv, "cluster.local.", "NS"), "NS") == ["ns.dns.cluster.local."]
    assert k.rdatas(k.ask(srv, "ns.dns.cluster.local.", "A"), "A") == ["127.0.0.1"]
    r = k.ask(srv, "in-addr.arpa.", "SOA")
    assert r.answer[0][0].mname.to_text() == "ns.dns.in-addr.arpa."


# --------------------------------------------------------------------------
# options

def test_options(servers):
    """namespaces, labels, ttl, noendpoints, endpoint_pod_names, pods insecure/disabled:
    three directives (three clusters) on one fake API server."""
    fake = k.start_fake(servers)
    fake.apply(
        k.namespace("default"), k.namespace("prod"), k.namespace("dev"),
        k.service("api", ns="prod", ips=("10.6.0.1",), labels={"tier": "web"}),
        k.service("db", ns="prod", ips=("10.6.0.2",), labels={"tier": "data"}),
        k.service("api", ns="dev", ips=("10.7.0.1",), labels={"tier": "web"}),
        k.headless("peers", ns="prod", ports=[k.port("gossip", 7946)], labels={"tier": "web"}),
        k.endpoint_slice("peers-1", "peers", [k.endpoint("10.6.1.1", pod="peer-0"),
                                              k.endpoint("10.6.1.2", pod="peer-1.x")],
                         ports=[k.port("gossip", 7946)], ns="prod", labels={"tier": "web"}),
    )
    text = "\n".join([
        "a.test:{PORT} {", "    bind 127.0.0.1",
        k.kubernetes_block("a.test", ["endpoint %s" % fake.url, "namespaces prod",
                                      "labels tier in (web)", "ttl 30"]), "}",
        "b.test:{PORT} {", "    bind 127.0.0.1",
        k.kubernetes_block("b.test", ["endpoint %s" % fake.url, "noendpoints",
                                      "pods insecure"]), "}",
        "c.test:{PORT} {", "    bind 127.0.0.1",
        k.kubernetes_block("c.test", ["endpoint %s" % fake.url, "endpoint_pod_names",
                                      "pods insecure"]), "}",
    ]) + "\n"
    srv = k.start_signetd(servers, None, zones=("a.test", "b.test", "c.test"),
                          corefile_text=text)
    # a: prod only, tier=web only, TTL 30.
    assert k.answer_texts(k.ask(srv, "api.prod.svc.a.test.", "A")) == [
        "api.prod.svc.a.test. 30 IN A 10.6.0.1"]
    assert k.rcode(k.ask(srv, "db.prod.svc.a.test.", "A")) == "NXDOMAIN"
    assert k.rcode(k.ask(srv, "api.dev.svc.a.test.", "A")) == "NXDOMAIN"
    assert k.rdatas(k.ask(srv, "peers.prod.svc.a.test.", "A"), "A") == ["10.6.1.1", "10.6.1.2"]
    # b: no endpoints: the headless service has no records; pods insecure has none either.
    assert k.rcode(k.ask(srv, "peers.prod.svc.b.test.", "A")) == "NXDOMAIN"
    assert k.rcode(k.ask(srv, "10-6-1-1.prod.pod.b.test.", "A")) == "NXDOMAIN"
    assert k.rdatas(k.ask(srv, "db.prod.svc.b.test.", "A"), "A") == ["10.6.0.2"]
    # c: the pod's name for an endpoint without a hostname (when it is one DNS label).
    assert k.rdatas(k.ask(srv, "peer-0.peers.prod.svc.c.test.", "A"), "A") == ["10.6.1.1"]
    assert k.rdatas(k.ask(srv, "10-6-1-2.peers.prod.svc.c.test.", "A"), "A") == ["10.6.1.2"]
    assert k.rdatas(k.ask(srv, "_gossip._tcp.peers.prod.svc.c.test.", "SRV"), "SRV") == [
        "10 100 7946 10-6-1-2.peers.prod.svc.c.test.",
        "10 100 7946 peer-0.peers.prod.svc.c.test."]
    # pods insecure: the addresses endpoints name, in their namespace.
    assert k.rdatas(k.ask(srv, "10-6-1-1.prod.pod.c.test.", "A"), "A") == ["10.6.1.1"]
    assert k.rcode(k.ask(srv, "10-6-1-1.dev.pod.c.test.", "A")) == "NXDOMAIN"
    # One list+watch per directive's settings: three clusters, each listed once.
    st = fake.stats()
    assert st["lists"] <= 3 * 3 + 1, st


def test_validate(servers, tmp_path):
    """-validate reads the options (file:line for each error) and lists the cluster."""
    fake = k.start_fake(servers)
    fake.apply(k.namespace("default"), k.service("kubernetes", ips=("10.3.0.1",)))
    good = tmp_path / "Corefile"
    good.write_text("cluster.local:5399 {\n" + k.kubernetes_block(
        "cluster.local", ["endpoint %s" % fake.url]) + "\n}\n")
    r = lib.run_signetd(["-validate", "-conf", str(good)], str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    bad = tmp_path / "Bad"
    bad.write_text("cluster.local:5399 {\n" + k.kubernetes_block(
        "cluster.local", ["endpoint %s" % fake.url, "ttl 4000", "pods sometimes"]) + "\n}\n")
    r = lib.run_signetd(["-validate", "-conf", str(bad)], str(tmp_path))
    assert r.returncode == 1
    assert re.search(r"Bad:\d+: .*kubernetes: ttl needs seconds from 0 to 3600", r.stdout), \
        r.stdout
    down = tmp_path / "Down"
    down.write_text("cluster.local:5399 {\n" + k.kubernetes_block(
        "cluster.local", ["endpoint http://127.0.0.1:9"]) + "\n}\n")
    r = lib.run_signetd(["-validate", "-conf", str(down)], str(tmp_path))
    assert r.returncode == 1 and "not listed from http://127.0.0.1:9" in r.stdout, r.stdout


# --------------------------------------------------------------------------
# changes: answered within 200 ms, signed, and transferred by IXFR

def test_changes_answered_signed_and_transferred(servers, tmp_path):
    fake = k.start_fake(servers)
    fake.apply(k.namespace("default"), k.service("kubernetes", ips=("10.3.0.1",),
                                                 ports=[k.port("https", 443)]))
    kport = lib.free_port()
    extra = ["dnssec {", "    keys %s" % (tmp_path / "keys"), "}",
             "transfer {", "    to 127.0.0.1:%d" % kport, "}",
             "storage %s" % (tmp_path / "var")]
    srv = k.start_signetd(servers, fake.url, zones=("cluster.local",), extra=extra)
    sec = k.knot_secondary(servers, "cluster.local.", srv.port, port=kport)
    lib.wait_for(lambda: k.soa_serial(sec.port, "cluster.local.") ==
                 k.soa_serial(srv.port, "cluster.local."), 30, "the first transfer",
                 interval=0.1)

    def answered(name, qtype, want):
        def probe():
            r = k.ask(srv, name, qtype, do=True)
            if want == "NXDOMAIN":
                return k.rcode(r) == "NXDOMAIN"
            return k.rdatas(r, qtype) == want
        return probe

    steps = [
        ("create Service", lambda: fake.apply(k.service("web", ips=("10.3.1.1",),
                                                        ports=[k.port("http", 80)])),
         answered("web.default.svc.cluster.local.", "A", ["10.3.1.1"])),
        ("change Service", lambda: fake.apply(k.service("web", ips=("10.3.1.2",),
                                                        ports=[k.port("http", 8080)])),
         answered("_http._tcp.web.default.svc.cluster.local.", "SRV",
                  ["10 100 8080 web.default.svc.cluster.local."])),
        ("create headless Service", lambda: fake.apply(k.headless("db", ports=[
            k.port("pg", 5432)])), None),
        ("create EndpointSlice", lambda: fake.apply(k.endpoint_slice(
            "db-1", "db", [k.endpoint("10.4.0.1", hostname="db-0")], [k.port("pg", 5432)])),
         answered("db-0.db.default.svc.cluster.local.", "A", ["10.4.0.1"])),
        ("change EndpointSlice", lambda: fake.apply(k.endpoint_slice(
            "db-1", "db", [k.endpoint("10.4.0.1", hostname="db-0"),
                           k.endpoint("10.4.0.2", hostname="db-1")], [k.port("pg", 5432)])),
         answered("db.default.svc.cluster.local.", "A", ["10.4.0.1", "10.4.0.2"])),
        ("endpoint not ready", lambda: fake.apply(k.endpoint_slice(
            "db-1", "db", [k.endpoint("10.4.0.1", hostname="db-0", ready=False),
                           k.endpoint("10.4.0.2", hostname="db-1")], [k.port("pg", 5432)])),
         answered("db-0.db.default.svc.cluster.local.", "A", "NXDOMAIN")),
        ("delete EndpointSlice", lambda: fake.delete(k.endpoint_slice("db-1", "db", [])),
         answered("db.default.svc.cluster.local.", "A", "NXDOMAIN")),
        ("delete Service", lambda: fake.delete(k.service("web")),
         answered("web.default.svc.cluster.local.", "A", "NXDOMAIN")),
    ]
    times = []
    for what, act, probe in steps:
        before = k.soa_serial(srv.port, "cluster.local.")
        t0 = time.monotonic()
        act()
        if probe is None:
            continue
        lib.wait_for(probe, 5.0, what, interval=0.002)
        dt = time.monotonic() - t0
        times.append((what, dt))
        serial = k.soa_serial(srv.port, "cluster.local.")
        assert serial != before
        # Signed: the answer carries its RRSIG.
        r = k.ask(srv, "cluster.local.", "SOA", do=True)
        assert any(rr.rdtype == dns.rdatatype.RRSIG for rr in r.answer), r
        lib.wait_for(lambda: k.soa_serial(sec.port, "cluster.local.") == serial, 10,
                     "knotd to reach serial %d after %s" % (serial, what), interval=0.02)
    # every change within 200 ms but one, which may meet a scheduler stall of a loaded
    # machine (never more than 500 ms)
    slow = [(w, round(t * 1000)) for w, t in times if t > 0.2]
    assert len(slow) <= 1 and all(t <= 500 for _, t in slow), \
        "answered later than 200 ms: %s" % slow
    log = sec.log()
    ixfr = re.findall(r"\[cluster\.local\.\] IXFR, incoming, remote [^\n]*, finished", log)
    assert len(ixfr) >= 5, log[-3000:]
    # The secondary answers what the primary does.
    r = k.ask(sec, "_http._tcp.web.default.svc.cluster.local.", "SRV")
    assert k.rcode(r) == "NXDOMAIN"
    print("\nevent-to-answer (signed, ASan build): " +
          ", ".join("%s %.0f ms" % (w, t * 1000) for w, t in times))


# --------------------------------------------------------------------------
# 410 Gone and dropped watches

@pytest.fixture
def watched(servers):
    fake = k.start_fake(servers)
    fake.apply(k.namespace("default"), k.service("keep", ips=("10.8.0.1",)))
    srv = k.start_signetd(servers, fake.url, zones=("cluster.local",))
    return fake, srv


def name_is(srv, name, want):
    def probe():
        r = k.ask(srv, name, "A")
        return k.rcode(r) == want if want == "NXDOMAIN" else k.rdatas(r, "A") == want
    return probe


def stays(srv, name, want, seconds=1.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        assert name_is(srv, name, want)(), "%s is no longer %s" % (name, want)
        time.sleep(0.05)


def test_gone_event_relists(watched):
    """The watch gets an ERROR event with a 410 Status: Signet lists again, and a service
    deleted without an event (lost to compaction) is gone from the zone."""
    fake, srv = watched
    fake.apply(k.service("lost", ips=("10.8.0.2",)))
    lib.wait_for(name_is(srv, "lost.default.svc.cluster.local.", ["10.8.0.2"]), 5, interval=0.005)
    fake.delete(k.service("lost"), silent=True)
    fake.apply(k.service("quiet", ips=("10.8.0.3",)))
    fake.gone("event")
    lib.wait_for(name_is(srv, "lost.default.svc.cluster.local.", "NXDOMAIN"), 5, interval=0.005)
    lib.wait_for(name_is(srv, "quiet.default.svc.cluster.local.", ["10.8.0.3"]), 5, interval=0.005)
    stays(srv, "lost.default.svc.cluster.local.", "NXDOMAIN")
    assert name_is(srv, "keep.default.svc.cluster.local.", ["10.8.0.1"])()
    assert fake.stats()["gone_sent"] >= 1
    assert "listing again" in srv.log()
    # And the watch goes on from the new list.
    fake.apply(k.service("after", ips=("10.8.0.4",)))
    lib.wait_for(name_is(srv, "after.default.svc.cluster.local.", ["10.8.0.4"]), 5, interval=0.005)


def test_gone_http_after_outage(watched):
    """The API server is unreachable for watches; meanwhile a service is deleted and the
    history compacted. The watch comes back with its old resourceVersion, gets HTTP 410,
    lists again, and the deleted service is not served."""
    fake, srv = watched
    fake.apply(k.service("doomed", ips=("10.8.1.1",)))
    lib.wait_for(name_is(srv, "doomed.default.svc.cluster.local.", ["10.8.1.1"]), 5,
                 interval=0.005)
    fake.block(watch=True)
    fake.drop()
    time.sleep(0.3)  # reconnects meet 503 and back off
    fake.delete(k.service("doomed"))
    fake.compact()
    fake.gone_mode("http")
    # Still served from the last good data while the API server cannot be watched.
    assert name_is(srv, "doomed.default.svc.cluster.local.", ["10.8.1.1"])()
    fake.block(watch=False)
    lib.wait_for(name_is(srv, "doomed.default.svc.cluster.local.", "NXDOMAIN"), 15, interval=0.005)
    stays(srv, "doomed.default.svc.cluster.local.", "NXDOMAIN")
    assert fake.stats()["gone_sent"] >= 1


def test_dropped_watch_resumes(watched):
    """Watches cut without their last chunk resume from the last resourceVersion: events
    made while they were down arrive, nothing is listed again."""
    fake, srv = watched
    lists = fake.stats()["lists"]
    for i in range(3):
        fake.drop()
        fake.apply(k.service("d%d" % i, ips=("10.8.2.%d" % (i + 1),)))
        lib.wait_for(name_is(srv, "d%d.default.svc.cluster.local." % i,
                             ["10.8.2.%d" % (i + 1)]), 5, interval=0.005)
    fake.drop()
    fake.delete(k.service("d0"))
    lib.wait_for(name_is(srv, "d0.default.svc.cluster.local.", "NXDOMAIN"), 5, interval=0.005)
    st = fake.stats()
    assert st["drops"] >= 3 and st["lists"] == lists, st


def test_bookmarks_keep_the_watch_current(watched):
    """Bookmarks move an idle watch's resourceVersion on: after other kinds changed, the
    history was compacted and the connection dropped, the services watch resumes without
    410 and without listing again."""
    fake, srv = watched
    for i in range(5):
        fake.apply(k.namespace("ns%d" % i))  # events for another watch only
    rv = fake.stats()["rv"]
    fake.bookmark()
    lib.wait_for(lambda: fake.stats()["bookmark_rv"].get("Service", 0) >= rv, 5,
                 "a bookmark at resourceVersion %d on the services watch" % rv, interval=0.01)
    time.sleep(0.2)  # for signetd to read it: the event is a few hundred bytes
    before = fake.stats()
    fake.compact()
    fake.drop()
    fake.apply(k.service("fresh", ips=("10.8.3.1",)))
    lib.wait_for(name_is(srv, "fresh.default.svc.cluster.local.", ["10.8.3.1"]), 5, interval=0.005)
    after = fake.stats()
    assert after["gone_sent"] == before["gone_sent"], after
    assert after["lists"] == before["lists"], after


def test_api_down_at_start(servers):
    """The API server is not there when signetd starts: the zone is not served (no data
    is better than an empty cluster), then appears once the server is up."""
    port = lib.free_port()
    url = "http://127.0.0.1:%d" % port
    srv = k.start_signetd(servers, url, zones=("cluster.local",), ready=False)
    time.sleep(1.0)
    r = k.ask(srv, "cluster.local.", "SOA")
    assert k.rcode(r) in ("SERVFAIL", "REFUSED"), r
    workdir = servers.workdir("late-fake")
    proc = subprocess.Popen([sys.executable, k.FAKE, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    fake = servers._track(lambda: k.FakeKube(proc, port, workdir, os.devnull))
    assert proc.stdout.readline().startswith(b"READY")
    fake.apply(k.namespace("default"), k.service("late", ips=("10.9.0.1",)))
    lib.wait_for(name_is(srv, "late.default.svc.cluster.local.", ["10.9.0.1"]), 20, interval=0.005)


# --------------------------------------------------------------------------
# connecting: in-cluster, kubeconfig, tls

def test_in_cluster_token_rotation(servers, tmp_path):
    """No endpoint: KUBERNETES_SERVICE_HOST/PORT, the service account's token and CA. The
    token is rotated; the next request uses the new one."""
    pki = k.make_pki(str(tmp_path))
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("token-1\n")
    (sa / "ca.crt").write_bytes(open(pki["ca.crt"], "rb").read())
    fake = k.start_fake(servers, token="token-1", cert=pki["server.crt"],
                        key=pki["server.key"], ca=pki["ca.crt"])
    fake.apply(k.namespace("default"), k.service("kubernetes", ips=("10.3.0.1",)))
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(fake.port),
           "SIGNET_K8S_SERVICE_ACCOUNT_DIR": str(sa)}
    text = k.corefile(None, zones=("cluster.local",), endpoint=False)
    srv = k.start_signetd(servers, None, zones=("cluster.local",), env=env, corefile_text=text)
    assert k.rdatas(k.ask(srv, "kubernetes.default.svc.cluster.local.", "A"), "A") == \
        ["10.3.0.1"]
    # Rotate: the kubelet writes a new token; the old one stops working.
    (sa / "token.new").write_text("token-2-rotated\n")
    os.rename(sa / "token.new", sa / "token")
    fake.token("token-2-rotated")
    fake.drop()  # the watches reconnect, with the new token
    fake.apply(k.service("rotated", ips=("10.3.0.9",)))
    lib.wait_for(name_is(srv, "rotated.default.svc.cluster.local.", ["10.3.0.9"]), 10,
                 interval=0.005)
    assert "changed; using the new one" in srv.log()


def test_kubeconfig_context_client_cert(servers, tmp_path):
    """kubeconfig FILE CONTEXT: the context named (not current-context), its cluster's CA
    and its user's client certificate, all as *-data; and tls CERT KEY CA with endpoint."""
    pki = k.make_pki(str(tmp_path))
    fake = k.start_fake(servers, cert=pki["server.crt"], key=pki["server.key"],
                        client_ca=pki["ca.crt"], ca=pki["ca.crt"],
                        client=(pki["client.crt"], pki["client.key"]))
    fake.apply(k.namespace("default"), k.service("kubernetes", ips=("10.3.0.1",)))
    kc = tmp_path / "kubeconfig"
    kc.write_text(k.kubeconfig_yaml({
        "elsewhere": {"server": "https://127.0.0.1:9", "token": "nope"},
        "test": {"server": fake.url, "ca_data": k.b64file(pki["ca.crt"]),
                 "cert_data": k.b64file(pki["client.crt"]),
                 "key_data": k.b64file(pki["client.key"])},
    }, current="elsewhere"))
    text = "\n".join([
        "cluster.local:{PORT} {", "    bind 127.0.0.1",
        k.kubernetes_block("cluster.local", ["kubeconfig %s test" % kc]), "}",
        "tls.test:{PORT} {", "    bind 127.0.0.1",
        k.kubernetes_block("tls.test", ["endpoint %s" % fake.url, "tls %s %s %s" % (
            pki["client.crt"], pki["client.key"], pki["ca.crt"])]), "}"]) + "\n"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    srv = k.start_signetd(servers, None, zones=("cluster.local", "tls.test"),
                          corefile_text=text, env={"TMPDIR": str(tmp)})
    assert len(os.listdir(tmp)) == 3  # CA, certificate and key from the kubeconfig
    assert k.rdatas(k.ask(srv, "kubernetes.default.svc.cluster.local.", "A"), "A") == \
        ["10.3.0.1"]
    assert k.rdatas(k.ask(srv, "kubernetes.default.svc.tls.test.", "A"), "A") == ["10.3.0.1"]
    fake.apply(k.service("more", ips=("10.3.0.5",)))
    lib.wait_for(name_is(srv, "more.default.svc.tls.test.", ["10.3.0.5"]), 10, interval=0.005)
    lib.wait_for(name_is(srv, "more.default.svc.cluster.local.", ["10.3.0.5"]), 10, interval=0.005)
    assert srv.stop() == 0
    assert os.listdir(tmp) == []  # removed when the cluster closed


def test_reload_keeps_cluster_and_serial(servers):
    """SIGHUP with the same settings keeps the cluster (no new list) and the serial."""
    fake = k.start_fake(servers)
    fake.apply(k.namespace("default"), k.service("kubernetes", ips=("10.3.0.1",)))
    srv = k.start_signetd(servers, fake.url)
    serial = k.soa_serial(srv.port, "cluster.local.")
    lists = fake.stats()["lists"]
    srv.signal(signal.SIGHUP)
    lib.wait_for(lambda: "reload done" in srv.log(), 10, interval=0.005)
    assert k.soa_serial(srv.port, "cluster.local.") == serial
    assert fake.stats()["lists"] == lists
    fake.apply(k.service("new", ips=("10.3.0.2",)))
    lib.wait_for(name_is(srv, "new.default.svc.cluster.local.", ["10.3.0.2"]), 5, interval=0.005)
    assert k.soa_serial(srv.port, "cluster.local.") > serial


# --------------------------------------------------------------------------
# scale

def bulk_objects(n, endpoints=3):
    objs = [k.namespace("ns%d" % i) for i in range(n // 1000 + 1)]
    for i in range(n):
        ns = "ns%d" % (i // 1000)
        name = "svc-%05d" % i
        ip = "10.%d.%d.%d" % (100 + i // 65536, (i // 256) % 256, i % 256)
        objs.append(k.service(name, ns=ns, ips=(ip,), ports=[k.port("http", 80)]))
        eps = [k.endpoint("172.%d.%d.%d" % (16 + (i * endpoints + e) // 65536,
                                             ((i * endpoints + e) // 256) % 256,
                                             (i * endpoints + e) % 256),
                          pod="%s-%d" % (name, e), ns=ns) for e in range(endpoints)]
        objs.append(k.endpoint_slice(name + "-x1", name, eps, [k.port("http", 80)], ns=ns))
    return objs


def load_fake(fake, objs, batch=2000):
    for i in range(0, len(objs), batch):
        fake.apply(*objs[i:i + batch])


def test_scale_10000_services(servers):
    """10,000 services with 3 endpoints each (ClusterIP, with EndpointSlices) load, listed
    in pages, and are answered; prints the memory they take (this is the ASan build: see
    k8s_bench.py for the release figures)."""
    fake = k.start_fake(servers)
    n = 10000
    base = k.start_signetd(servers, fake.url, zones=("cluster.local",), label="empty")
    rss_empty = lib.vmrss_kib(base.pid)
    base.stop()
    load_fake(fake, bulk_objects(n))
    t0 = time.monotonic()
    workdir = servers.workdir("big")
    srv = servers._track(lambda: lib.start_signetd(
        workdir, corefile=k.corefile(fake.url), ready_zones=["cluster.local."], ready=False))
    srv.wait_ready(["cluster.local."], deadline=180)
    load_s = time.monotonic() - t0
    assert fake.stats()["list_pages"] >= 2 * n / 500
    rng = random.Random(7)
    for i in rng.sample(range(n), 200):
        name = "svc-%05d.ns%d.svc.cluster.local." % (i, i // 1000)
        ip = "10.%d.%d.%d" % (100 + i // 65536, (i // 256) % 256, i % 256)
        assert k.rdatas(k.ask(srv, name, "A"), "A") == [ip], name
    r = k.ask(srv, "_http._tcp.svc-09999.ns9.svc.cluster.local.", "SRV")
    assert k.rdatas(r, "SRV") == ["10 100 80 svc-09999.ns9.svc.cluster.local."]
    rev = "%d.%d.%d.10.in-addr.arpa." % (9999 % 256, 9999 // 256, 100)
    assert k.rdatas(k.ask(srv, rev, "PTR"), "PTR") == ["svc-09999.ns9.svc.cluster.local."]
    rss = lib.vmrss_kib(srv.pid)
    # An event still takes effect promptly at this size.
    t1 = time.monotonic()
    fake.apply(k.service("svc-00000", ns="ns0", ips=("10.200.0.1",)))
    lib.wait_for(name_is(srv, "svc-00000.ns0.svc.cluster.local.", ["10.200.0.1"]), 10,
                 interval=0.005)
    ev_ms = (time.monotonic() - t1) * 1000
    print("\n10,000 services x 3 endpoints (ASan build): ready in %.1f s, VmRSS %d MB "
          "(empty %d MB), %.2f KB per service; one event answered in %.0f ms"
          % (load_s, rss // 1024, rss_empty // 1024, (rss - rss_empty) / n, ev_ms))


def test_latency_events(servers):
    """Event-to-answer latency over 100 creations and deletions (ASan build); median and
    99th percentile printed; 99 of them within 200 ms and none over 500 ms (one outlier is
    allowed to the scheduler of a machine running other tests)."""
    fake = k.start_fake(servers)
    fake.apply(k.namespace("default"), k.service("kubernetes", ips=("10.3.0.1",)))
    srv = k.start_signetd(servers, fake.url, zones=("cluster.local", "in-addr.arpa"))
    lat = []
    for i in range(50):
        name = "lat-%d.default.svc.cluster.local." % i
        ip = "10.77.%d.%d" % (i // 256, i % 256)
        t0 = time.monotonic()
        fake.apply(k.service("lat-%d" % i, ips=(ip,)))
        lib.wait_for(name_is(srv, name, [ip]), 5, interval=0.001)
        lat.append(time.monotonic() - t0)
        t0 = time.monotonic()
        fake.delete(k.service("lat-%d" % i))
        lib.wait_for(name_is(srv, name, "NXDOMAIN"), 5, interval=0.001)
        lat.append(time.monotonic() - t0)
    lat.sort()
    p50 = statistics.median(lat) * 1000
    p99 = lat[int(len(lat) * 0.99) - 1] * 1000
    print("\nevent-to-answer over %d events (ASan build): median %.1f ms, p99 %.1f ms, max "
          "%.1f ms" % (len(lat), p50, p99, lat[-1] * 1000))
    assert lat[-2] < 0.2 and lat[-1] < 0.5, lat[-5:]
