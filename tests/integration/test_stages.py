"""The query-path stages (cache, rewrite, loadbalance, acl) as CoreDNS documents them,
against a running signetd; and Corefiles from CoreDNS's documentation accepted as they are."""

import os
import socket
import subprocess

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

import lib
import stages_lib as sl


# --------------------------------------------------------------------------
# rewrite

def test_rewritten_name_is_answered_under_the_clients_name(servers, tmp_path):
    srv = sl.start(servers, tmp_path, "    rewrite name exact red.example.org blue.example.org")
    for tcp in (False, True):
        r = sl.ask(srv, "red.example.org.", "A", tcp=tcp)
        assert r.rcode() == dns.rcode.NOERROR
        assert r.question[0].name == dns.name.from_text("red.example.org.")
        assert sl.answer_rdata(r) == [("red.example.org.", "A", "192.0.2.99")]
        assert r.flags & dns.flags.AA
    # The rewritten-to name itself is untouched.
    assert sl.answer_rdata(sl.ask(srv, "blue.example.org.")) == [
        ("blue.example.org.", "A", "192.0.2.99")]


def test_rewrite_regex_with_answer_name(servers, tmp_path):
    # CoreDNS's documented response rewrite, on names of this zone.
    body = ("    rewrite stop {\n"
            "        name regex (.*)-(us-west-1)\\.example\\.org {1}.service.{2}.example.org\n"
            "        answer name (.*)\\.service\\.(us-west-1)\\.example\\.org "
            "{1}-{2}.example.org\n"
            "    }")
    srv = sl.start(servers, tmp_path, body)
    r = sl.ask(srv, "ftp-us-west-1.example.org.", "A")
    assert r.rcode() == dns.rcode.NOERROR
    assert sorted(sl.answer_rdata(r)) == [("ftp-us-west-1.example.org.", "A", "10.10.10.10"),
                                          ("ftp-us-west-1.example.org.", "A", "10.20.20.20")]


def test_rewrite_type_ttl_rcode_and_continue(servers, tmp_path):
    body = ("    rewrite continue name exact red.example.org www.example.org\n"
            "    rewrite continue ttl exact www.example.org 15\n"
            "    rewrite rcode exact gone.example.org NXDOMAIN REFUSED\n")
    srv = sl.start(servers, tmp_path, body)
    r = sl.ask(srv, "red.example.org.", "A")
    assert {rrset.ttl for rrset in r.answer} == {15}
    assert sorted(x[2] for x in sl.answer_rdata(r)) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert sl.ask(srv, "gone.example.org.", "A").rcode() == dns.rcode.REFUSED
    assert sl.ask(srv, "nope.example.org.", "A").rcode() == dns.rcode.NXDOMAIN


# --------------------------------------------------------------------------
# loadbalance

def test_round_robin_order_changes_across_queries(servers, tmp_path):
    srv = sl.start(servers, tmp_path, "    loadbalance round_robin")
    orders = []
    for _ in range(6):
        r, wire = lib.query(lib.make_query("www.example.org.", "A"), srv.port)
        orders.append(tuple(sl.wire_answer_order(wire, dns.rdatatype.A)))
    base = ("192.0.2.1", "192.0.2.2", "192.0.2.3")
    rotations = {base[i:] + base[:i] for i in range(3)}
    assert set(orders) <= rotations, orders
    assert len(set(orders)) == 3, orders
    assert all(a != b for a, b in zip(orders, orders[1:])), orders
    # MX too, and CNAMEs stay first.
    firsts = set()
    for _ in range(3):
        r, wire = lib.query(lib.make_query("example.org.", "MX"), srv.port)
        firsts.add(sl.wire_answer_order(wire, dns.rdatatype.MX)[0])
        r, wire = lib.query(lib.make_query("alias.example.org.", "A"), srv.port)
        assert r.answer[0].rdtype == dns.rdatatype.CNAME
    assert len(firsts) == 3


def _signed_zone(tmp_path):
    """example.org signed by ldns-signzone with a fresh ECDSA key: (zone text, DNSKEY set)."""
    for tool in ("ldns-keygen", "ldns-signzone"):
        if not sl.shutil.which(tool):
            pytest.fail("%s not installed (scripts/deps.sh installs it)" % tool)
    d = str(tmp_path)
    plain = sl.zone_file(tmp_path, sl.ZONE, "plain.zone")
    base = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "example.org"],
                          cwd=d, check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run(["ldns-signzone", "-f", os.path.join(d, "signed.zone"), plain,
                    os.path.join(d, base)], cwd=d, check=True, capture_output=True)
    with open(os.path.join(d, "signed.zone")) as f:
        return f.read()


def test_round_robin_keeps_rrsigs_valid(servers, tmp_path):
    signed = _signed_zone(tmp_path)
    srv = sl.start(servers, tmp_path, "    loadbalance", zone=signed)
    keys = sl.ask(srv, "example.org.", "DNSKEY", tcp=True, edns=0, do=True)
    dnskey = keys.find_rrset(keys.answer, dns.name.from_text("example.org."), dns.rdataclass.IN,
                             dns.rdatatype.DNSKEY)
    keyring = {dns.name.from_text("example.org."): dnskey}
    orders = set()
    for _ in range(4):
        r, wire = lib.query(lib.make_query("www.example.org.", "A", edns=0, do=True), srv.port)
        owner = dns.name.from_text("www.example.org.")
        a = r.find_rrset(r.answer, owner, dns.rdataclass.IN, dns.rdatatype.A)
        sig = r.find_rrset(r.answer, owner, dns.rdataclass.IN, dns.rdatatype.RRSIG,
                           dns.rdatatype.A)
        dns.dnssec.validate(a, sig, keyring)  # raises when it does not verify
        orders.add(tuple(sl.wire_answer_order(wire, dns.rdatatype.A)))
    assert len(orders) > 1


# --------------------------------------------------------------------------
# cache

def test_cache_never_hides_a_zone_change(servers, tmp_path):
    db = sl.zone_file(tmp_path)
    corefile = ("example.org:{PORT} {\n    bind 127.0.0.1\n    file %s {\n        reload 1s\n"
                "    }\n    cache 3600\n}\n" % db)
    srv = servers.signetd(corefile=corefile, ready_zones=["example.org."])
    first = sl.ask(srv, "blue.example.org.")
    assert sl.answer_rdata(first) == [("blue.example.org.", "A", "192.0.2.99")]
    assert sl.ask(srv, "blue.example.org.").answer[0].ttl <= 300  # cached now
    sl.write(db, sl.ZONE.replace("hostmaster 1", "hostmaster 2").replace("192.0.2.99",
                                                                         "198.51.100.99"))
    lib.wait_for(lambda: sl.answer_rdata(sl.ask(srv, "blue.example.org.")) == [
        ("blue.example.org.", "A", "198.51.100.99")], deadline=15,
        what="blue.example.org. to change (the cache kept the old version)")
    # A second change right after the first (no query in between for the denial entry).
    sl.ask(srv, "new.example.org.")  # NXDOMAIN, cached
    sl.write(db, sl.ZONE.replace("hostmaster 1", "hostmaster 3") + "new A 203.0.113.7\n")
    lib.wait_for(lambda: sl.ask(srv, "new.example.org.").rcode() == dns.rcode.NOERROR,
                 deadline=15, what="new.example.org. to be answered")


def test_cache_answers_with_the_requesters_id_case_and_capped_ttl(servers, tmp_path):
    srv = sl.start(servers, tmp_path, "    cache 30")
    for name in ("www.example.org.", "WwW.ExAmPlE.oRg."):
        q = lib.make_query(name, "A", rd=True)
        r, wire = lib.query(q, srv.port)
        assert r.id == q.id and r.flags & dns.flags.RD
        assert lib.question_bytes(wire) == lib.question_bytes(q.to_wire())
        assert all(rrset.ttl <= 30 for rrset in r.answer)


# --------------------------------------------------------------------------
# acl

def test_acl_block_filter_drop(servers, tmp_path):
    body = ("    acl {\n"
            "        block type A net 127.0.0.0/8\n"
            "        filter type AAAA net 127.0.0.1\n"
            "        drop type MX\n"
            "    }")
    srv = sl.start(servers, tmp_path, body)
    r = sl.ask(srv, "www.example.org.", "A", edns=0)
    assert r.rcode() == dns.rcode.REFUSED and not r.answer
    assert any(o.otype == 15 and o.code == 15 for o in r.options), r.options  # EDE Blocked
    r = sl.ask(srv, "www.example.org.", "AAAA")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    with pytest.raises(TimeoutError):
        lib.query(lib.make_query("example.org.", "MX"), srv.port, timeout=1.0)
    with pytest.raises(TimeoutError):
        lib.query(lib.make_query("example.org.", "MX"), srv.port, tcp=True, timeout=1.0)
    assert sl.ask(srv, "www.example.org.", "TXT").answer


def test_acl_allow_then_block_and_zones(servers, tmp_path):
    body = ("    acl {\n        allow net 127.0.0.1/32\n        block\n    }\n"
            "    acl www.example.org {\n        block net 127.0.0.0/8\n    }")
    srv = sl.start(servers, tmp_path, body)
    assert sl.ask(srv, "blue.example.org.").rcode() == dns.rcode.NOERROR
    # allow ends the checks: the second acl (for www) is never reached from 127.0.0.1.
    assert sl.ask(srv, "www.example.org.").rcode() == dns.rcode.NOERROR


def test_acl_ipv6_source(servers, tmp_path):
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        pytest.skip("no IPv6 loopback")
    db = sl.zone_file(tmp_path)
    corefile = ("example.org:{PORT} {\n    bind 127.0.0.1 ::1\n    file %s\n"
                "    acl {\n        block net ::1/128\n    }\n}\n" % db)
    srv = servers.signetd(corefile=corefile, ready_zones=["example.org."])
    assert sl.ask(srv, "www.example.org.").rcode() == dns.rcode.NOERROR
    r, _ = lib.query(lib.make_query("www.example.org.", "A"), srv.port, host="::1")
    assert r.rcode() == dns.rcode.REFUSED


# --------------------------------------------------------------------------
# order and documentation

def test_stages_run_in_coredns_order_whatever_the_corefile_order(servers, tmp_path):
    # Written backwards: acl must still run before cache, and the cache keep the rewritten
    # answer under the client's name.
    body = ("    loadbalance\n"
            "    rewrite name exact red.example.org blue.example.org\n"
            "    cache\n"
            "    acl {\n        block type TXT\n    }")
    srv = sl.start(servers, tmp_path, body)
    for _ in range(2):
        r = sl.ask(srv, "red.example.org.")
        assert sl.answer_rdata(r) == [("red.example.org.", "A", "192.0.2.99")]
        assert sl.ask(srv, "www.example.org.", "TXT").rcode() == dns.rcode.REFUSED


# Corefiles verbatim from CoreDNS's documentation of these plugins (Apache-2.0), the ones that
# use no plugin signet does not have.
COREDNS_EXAMPLES = {
    "cache": "example.org {\n    cache {\n        success 5000\n        denial 2500\n    }\n}\n",
    "acl-block": ". {\n    acl {\n        block type A net 192.168.0.0/16\n    }\n}\n",
    "acl-filter": ". {\n    acl {\n        filter type A net 192.168.0.0/16\n    }\n}\n",
    "acl-except": (". {\n    acl {\n        allow net 192.168.1.0/24\n        block net "
                   "192.168.0.0/16\n    }\n}\n"),
    "acl-only": (". {\n    acl {\n        allow net 192.168.0.0/24 192.168.1.0/24\n"
                 "        block\n    }\n}\n"),
    "acl-zone": ("example.org {\n    acl a.example.org {\n        block net 192.168.1.0/24\n"
                 "    }\n}\n"),
    "loadbalance-weighted": ("example.com {\n        file ./db.example.com {\n"
                             "                reload 10s\n        }\n"
                             "        loadbalance weighted ./db.example.com.weights {\n"
                             "                    reload 10s\n        }\n}\n"),
    "loadbalance-limit": ("example.com {\n        file ./db.example.com\n"
                          "        loadbalance round_robin {\n"
                          "                limit_answers 5\n        }\n}\n"),
    "rewrite-edns0": ". {\n    rewrite edns0 local set 0xffee abcd\n}\n",
    "prometheus": ". {\n    prometheus localhost:9253\n}\n",
    "prometheus-env": ". {\n    prometheus localhost:{$PORT}\n}\n",
    "ready": ". {\n    ready localhost:8091\n}\n",
    "tls": "tls://.:853 {\n    tls cert.pem key.pem ca.pem\n}\n",
}

DB_EXAMPLE_COM = """$ORIGIN example.com.
@ 3600 IN SOA ns.example.com. admin.example.com. 1 7200 3600 1209600 3600
  3600 IN NS ns.example.com.
ns 3600 IN A 100.64.0.53
www 3600 IN A 100.64.1.1
www 3600 IN A 100.64.1.2
www 3600 IN A 100.64.1.3
"""


@pytest.mark.parametrize("name", sorted(COREDNS_EXAMPLES))
def test_coredns_documentation_corefiles_are_accepted(name, tmp_path):
    d = str(tmp_path)
    sl.write(os.path.join(d, "Corefile"), COREDNS_EXAMPLES[name])
    sl.write(os.path.join(d, "db.example.com"), DB_EXAMPLE_COM)
    sl.write(os.path.join(d, "db.example.com.weights"),
             "www.example.com\n100.64.1.1 3\n100.64.1.2 1\n100.64.1.3 2\n")
    r = lib.run_signetd(["-conf", os.path.join(d, "Corefile"), "-validate"], cwd=d,
                        env={"PORT": "9253"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "configuration is valid" in r.stdout


def test_bad_stage_arguments_name_file_and_line(tmp_path):
    d = str(tmp_path)
    sl.write(os.path.join(d, "Corefile"),
             ". {\n    cache 0\n    rewrite name regex ( x\n    acl {\n        deny\n    }\n"
             "    loadbalance random\n    prometheus nowhere\n}\ntls://.:8853 {\n}\n")
    r = lib.run_signetd(["-conf", os.path.join(d, "Corefile"), "-validate"], cwd=d)
    assert r.returncode == 1
    for line in (2, 3, 4, 7, 8, 10):
        assert "Corefile:%d:" % line in r.stdout, r.stdout
