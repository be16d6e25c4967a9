"""DNS over TLS (RFC 7858): tls:// server blocks served by GnuTLS behind the same stages."""

import socket
import ssl
import struct
import time

import dns.message
import dns.rcode

import lib
import stages_lib as sl

# kdig (knot-dnsutils) is installed by scripts/deps.sh: missing, the tests fail.


def _start(servers, tmp_path, body="", idle=None):
    """One zone served on UDP/TCP {PORT} and on tls:// TLSPORT, the same stages on both."""
    cert, key = sl.make_cert(tmp_path)
    tport = lib.free_port()
    db = sl.zone_file(tmp_path)
    timeouts = "    timeouts {\n        idle %s\n    }\n" % idle if idle else ""
    block = "    bind 127.0.0.1\n    file %s\n%s%s" % (db, body, timeouts)
    corefile = ("example.org:{PORT} {\n%s}\n"
                "tls://example.org:%d {\n    tls %s %s\n%s}\n" % (block, tport, cert, key, block))
    srv = servers.signetd(corefile=corefile, ready_zones=["example.org."])
    sl.wait_tls(tport)
    return srv, tport, cert


QUESTIONS = [("www.example.org.", "A"), ("www.example.org.", "AAAA"), ("example.org.", "MX"),
             ("www.example.org.", "TXT"), ("alias.example.org.", "A"),
             ("nope.example.org.", "A"), ("example.org.", "SOA"), ("example.org.", "NS")]


def test_kdig_tls_gets_the_udp_answers(servers, tmp_path):
    srv, tport, _ = _start(servers, tmp_path)
    for name, rdtype in QUESTIONS:
        udp = sl.kdig("@127.0.0.1", "-p", str(srv.port), name, rdtype, "+norecurse")
        tls = sl.kdig("@127.0.0.1", "-p", str(tport), "+tls", name, rdtype, "+norecurse")
        assert tls.returncode == 0, tls.stdout + tls.stderr
        assert "(TLS)" in tls.stdout or "TLS" in tls.stdout
        assert sl.kdig_rcode(tls.stdout) == sl.kdig_rcode(udp.stdout), tls.stdout
        assert sl.kdig_answer(tls.stdout) == sl.kdig_answer(udp.stdout), (name, rdtype)


def test_stages_run_behind_tls(servers, tmp_path):
    body = ("    rewrite name exact red.example.org blue.example.org\n"
            "    acl {\n        block type TXT\n    }\n    cache\n    loadbalance\n")
    srv, tport, _ = _start(servers, tmp_path, body)
    red = sl.kdig("@127.0.0.1", "-p", str(tport), "+tls", "red.example.org.", "A")
    assert sl.kdig_answer(red.stdout) == [("red.example.org.", "A", "192.0.2.99")], red.stdout
    txt = sl.kdig("@127.0.0.1", "-p", str(tport), "+tls", "www.example.org.", "TXT")
    assert sl.kdig_rcode(txt.stdout) == "REFUSED", txt.stdout
    s = sl.tls_connect(tport)
    try:
        orders = []
        for _ in range(6):
            _, wire = sl.tls_query(s, lib.make_query("www.example.org.", "A"))
            orders.append(tuple(sl.wire_answer_order(wire, 1)))
        assert len(set(orders)) == 3, orders
        assert all(a != b for a, b in zip(orders, orders[1:])), orders
    finally:
        s.close()


def test_pipelined_queries_on_one_connection(servers, tmp_path):
    srv, tport, _ = _start(servers, tmp_path)
    s = sl.tls_connect(tport)
    try:
        qs = [lib.make_query(n, t) for n, t in QUESTIONS]
        s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in (q.to_wire() for q in qs)))
        got = {}
        for _ in qs:
            r = dns.message.from_wire(lib.tcp_read_msg(s))
            got[r.id] = r
        for q in qs:
            assert q.id in got and got[q.id].question == q.question
    finally:
        s.close()


def test_session_resumption(servers, tmp_path):
    srv, tport, _ = _start(servers, tmp_path)
    ctx = sl.tls_context()
    s = sl.tls_connect(tport, ctx)
    sl.tls_query(s, lib.make_query("www.example.org.", "A"))  # the ticket comes with data
    session = s.session
    assert not s.session_reused
    s.close()
    assert session is not None and session.has_ticket
    s2 = sl.tls_connect(tport, ctx, session=session)
    try:
        r, _ = sl.tls_query(s2, lib.make_query("www.example.org.", "A"))
        assert r.rcode() == dns.rcode.NOERROR
        assert s2.session_reused
    finally:
        s2.close()


def test_idle_connection_is_closed(servers, tmp_path):
    srv, tport, _ = _start(servers, tmp_path, idle="1s")
    s = sl.tls_connect(tport, timeout=10)
    try:
        sl.tls_query(s, lib.make_query("www.example.org.", "A"))
        t0 = time.monotonic()
        try:
            data = s.recv(1)  # blocks until the server closes
        except (ssl.SSLError, ConnectionError, socket.timeout) as e:
            data = type(e).__name__
        elapsed = time.monotonic() - t0
        assert data in (b"", "SSLEOFError", "SSLZeroReturnError", "ConnectionResetError")
        assert 0.5 < elapsed < 8, elapsed
    finally:
        s.close()


def test_the_certificate_is_the_configured_one(servers, tmp_path):
    srv, tport, cert = _start(servers, tmp_path)
    s = sl.tls_connect(tport)
    try:
        der = s.getpeercert(binary_form=True)
    finally:
        s.close()
    with open(cert) as f:
        assert der == ssl.PEM_cert_to_DER_cert(f.read())


def test_tls_block_needs_a_certificate(tmp_path):
    sl.write(tmp_path / "Corefile", "tls://example.org:8853 {\n    file db\n}\n")
    r = lib.run_signetd(["-conf", str(tmp_path / "Corefile"), "-validate"], cwd=str(tmp_path))
    assert r.returncode == 1
    assert "Corefile:1:" in r.stdout and "tls" in r.stdout
