"""Malformed input and TCP behaviour (RFC 1035, RFC 6891, RFC 7766).

Each test throws something at a running signetd and then checks that the
process is alive and still answers a normal query correctly over UDP and TCP.
"""

import random
import socket
import struct
import time

import dns.flags
import dns.name
import dns.message
import dns.rcode
import pytest

import lib

ZONES = {"example.test.": lib.CASE_ZONES["example.test."]}
NOANSWER_WAIT = 0.4  # how long to wait for an answer that must not come


@pytest.fixture(scope="module")
def srv(module_servers):
    return module_servers.backend(ZONES, label="proto")


def header(qid=0x1234, flags=0, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def qname_wire(name):
    return dns.name.from_text(name).to_wire()


def question(name="www.example.test.", qtype=1, qclass=1):
    return qname_wire(name) + struct.pack("!HH", qtype, qclass)


OPT = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)  # root owner, OPT, payload, ttl, rdlen 0


def assert_healthy(srv):
    """The server process is alive and answers www.example.test/A correctly."""
    assert srv.alive(), "%s died; log:\n%s" % (srv.kind, srv.log()[-4000:])
    for tcp in (False, True):
        q = lib.make_query("www.example.test.", "A")
        r, _ = lib.query(q, srv.port, tcp=tcp)
        assert r.id == q.id
        assert r.rcode() == dns.rcode.NOERROR
        assert r.flags & dns.flags.AA
        assert [rr.to_text() for rrset in r.answer for rr in rrset] == ["192.0.2.80"], r


def knot_differs(why):
    """Under SIGNET_TEST_BACKEND=knot, mark a check knotd is known to fail."""
    if lib.selftest_backend() == "knot":
        pytest.xfail("knotd 3.2 " + why)


def assert_formerr_or_drop(resp, qid, what):
    if resp is None:
        return
    h = lib.header_fields(resp)
    assert h["id"] == qid, "%s: wrong ID in the FORMERR response" % what
    assert h["flags"] & 0x8000, "%s: QR not set" % what
    assert h["rcode"] == dns.rcode.FORMERR, "%s: rcode %d, expected FORMERR or no answer" % (
        what, h["rcode"])


def assert_formerr(resp, qid, what):
    assert resp is not None, "%s: no answer, expected FORMERR" % what
    assert_formerr_or_drop(resp, qid, what)


# --------------------------------------------------------------------------
# malformed UDP messages

def test_truncated_header_gets_no_answer(srv):
    full = header(qid=0x4242) + question()
    for n in range(0, 12):
        resp = lib.udp_raw(full[:n], srv.port, timeout=NOANSWER_WAIT if n in (0, 11) else 0.05)
        assert resp is None, "answered a %d-byte message: %r" % (n, resp)
    # and nothing came late on any socket: one last probe with the full wait
    resp = lib.udp_raw(full[:6], srv.port, timeout=NOANSWER_WAIT)
    assert resp is None
    assert_healthy(srv)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_qdcount_zero_formerr(srv, tcp):
    wire = header(qid=0x1001, qd=0)
    resp = (lib.tcp_raw if tcp else lib.udp_raw)(wire, srv.port)
    assert_formerr(resp, 0x1001, "QDCOUNT=0")
    assert lib.header_fields(resp)["qdcount"] == 0
    assert_healthy(srv)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_qdcount_two_formerr(srv, tcp):
    knot_differs("drops QDCOUNT=2 silently")
    wire = header(qid=0x1002, qd=2) + question() + question("mail.example.test.")
    resp = (lib.tcp_raw if tcp else lib.udp_raw)(wire, srv.port)
    assert_formerr(resp, 0x1002, "QDCOUNT=2")
    assert_healthy(srv)


def test_qdcount_says_one_but_no_question(srv):
    resp = lib.udp_raw(header(qid=0x1003, qd=1), srv.port, timeout=NOANSWER_WAIT)
    assert_formerr_or_drop(resp, 0x1003, "QDCOUNT=1 with no question")
    assert_healthy(srv)


def test_question_cut_short(srv):
    full = header(qid=0x1004) + question()
    for cut in (13, 20, len(full) - 4, len(full) - 1):
        resp = lib.udp_raw(full[:cut], srv.port, timeout=NOANSWER_WAIT)
        assert_formerr_or_drop(resp, 0x1004, "question cut at %d bytes" % cut)
    assert_healthy(srv)


def test_compression_loop_in_qname(srv):
    # qname = pointer to itself (offset 12)
    wire = header(qid=0x1005) + b"\xc0\x0c" + struct.pack("!HH", 1, 1)
    resp = lib.udp_raw(wire, srv.port, timeout=NOANSWER_WAIT)
    assert_formerr_or_drop(resp, 0x1005, "self-pointing qname")
    # label then a pointer back to the label: an endless name
    wire = header(qid=0x1006) + b"\x03www\xc0\x0c" + struct.pack("!HH", 1, 1)
    resp = lib.udp_raw(wire, srv.port, timeout=NOANSWER_WAIT)
    assert_formerr_or_drop(resp, 0x1006, "looping qname")
    # pointer forward, outside the message
    wire = header(qid=0x1007) + b"\xc0\xff" + struct.pack("!HH", 1, 1)
    resp = lib.udp_raw(wire, srv.port, timeout=NOANSWER_WAIT)
    assert_formerr_or_drop(resp, 0x1007, "pointer outside the message")
    assert_healthy(srv)


def test_label_longer_than_63(srv):
    # 0x40 is an extended label type (RFC 6891 obsoleted it), 0x7f and 0x80 too
    for n, lead in ((1, 0x40), (2, 0x7F), (3, 0x80)):
        wire = header(qid=0x1010 + n) + bytes([lead]) + b"a" * 70 + b"\x00" + struct.pack(
            "!HH", 1, 1)
        resp = lib.udp_raw(wire, srv.port, timeout=NOANSWER_WAIT)
        assert_formerr_or_drop(resp, 0x1010 + n, "label type 0x%02x" % lead)
    assert_healthy(srv)


def test_name_longer_than_255(srv):
    name = (b"\x3f" + b"a" * 63) * 4 + b"\x05bbbbb\x00"  # 4*64 + 6 + 1 = 263 octets
    wire = header(qid=0x1020) + name + struct.pack("!HH", 1, 1)
    resp = lib.udp_raw(wire, srv.port, timeout=NOANSWER_WAIT)
    assert_formerr_or_drop(resp, 0x1020, "name of 263 octets")
    # 255 octets exactly is legal: NXDOMAIN
    name = dns.name.from_text("%s.%s.%s.%s.example.test." % ("a" * 63, "b" * 63, "c" * 63,
                                                              "d" * 48))
    assert len(name.to_wire()) == 255
    resp = lib.udp_raw(header(qid=0x1021) + name.to_wire() + struct.pack("!HH", 1, 1), srv.port)
    assert resp is not None and lib.header_fields(resp)["rcode"] == dns.rcode.NXDOMAIN
    assert_healthy(srv)


def test_trailing_garbage_formerr(srv):
    wire = header(qid=0x1030) + question() + b"\xde\xad\xbe\xef"
    resp = lib.udp_raw(wire, srv.port)
    assert_formerr(resp, 0x1030, "4 bytes after the question")
    wire = header(qid=0x1031, ar=1) + question() + OPT + b"\x00"
    resp = lib.udp_raw(wire, srv.port)
    assert_formerr(resp, 0x1031, "1 byte after the OPT")
    assert_healthy(srv)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_response_bit_set_gets_no_answer(srv, tcp):
    wire = header(qid=0x1040, flags=0x8000) + question()
    if tcp:
        resp = lib.tcp_raw(wire, srv.port, timeout=NOANSWER_WAIT)
    else:
        resp = lib.udp_raw(wire, srv.port, timeout=NOANSWER_WAIT)
    assert resp is None, "answered a message with QR=1: %r" % resp
    assert_healthy(srv)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_two_opt_formerr(srv, tcp):
    wire = header(qid=0x1050, ar=2) + question() + OPT + OPT
    resp = (lib.tcp_raw if tcp else lib.udp_raw)(wire, srv.port)
    assert_formerr(resp, 0x1050, "two OPT RRs")
    assert_healthy(srv)


def test_opt_rdata_overrun_formerr(srv):
    # OPT rdlen 8 but only 4 bytes of option follow
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 8) + b"\x00\x0a\x00\x08"
    resp = lib.udp_raw(header(qid=0x1052, ar=1) + question() + opt, srv.port)
    assert_formerr(resp, 0x1052, "OPT RDLENGTH past the end")
    assert_healthy(srv)


@pytest.mark.parametrize("opcode", [3, 7, 15])
def test_unknown_opcode_notimp(srv, opcode):
    wire = header(qid=0x1060 + opcode, flags=opcode << 11) + question()
    resp = lib.udp_raw(wire, srv.port)
    assert resp is not None, "no answer to opcode %d" % opcode
    h = lib.header_fields(resp)
    assert h["id"] == 0x1060 + opcode
    assert h["flags"] & 0x8000
    assert h["opcode"] == opcode
    assert h["rcode"] == dns.rcode.NOTIMP
    assert not h["flags"] & 0x0400, "AA set on NOTIMP"
    assert_healthy(srv)


def test_random_garbage(srv):
    """A few thousand random blobs and mutated queries: answers, if any, are
    well-formed responses to the right ID, and the server survives."""
    rng = random.Random(20240101)
    base = lib.make_query("www.example.test.", "A", edns=0, qid=0).to_wire()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.0)
    sent = 0
    answered = 0
    try:
        for batch in range(10):
            blobs = []
            for _ in range(300):
                kind = rng.random()
                if kind < 0.4:
                    blob = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 600)))
                elif kind < 0.8:
                    b = bytearray(base)
                    for _ in range(rng.randint(1, 6)):
                        b[rng.randrange(len(b))] = rng.getrandbits(8)
                    blob = bytes(b[: rng.randint(1, len(b))] if rng.random() < 0.3 else b)
                else:
                    # valid header, random tail
                    blob = header(qid=rng.getrandbits(16), flags=rng.choice([0, 0x0100, 0x7800]),
                                  qd=rng.randint(0, 3), an=rng.randint(0, 2),
                                  ar=rng.randint(0, 2)) + bytes(
                        rng.getrandbits(8) for _ in range(rng.randint(0, 80)))
                blobs.append(blob)
            for blob in blobs:
                sock.sendto(blob, ("127.0.0.1", srv.port))
                sent += 1
            # collect what came back so far; every answer must be a response
            deadline = time.monotonic() + 0.3
            while time.monotonic() < deadline:
                try:
                    data, _ = sock.recvfrom(65535)
                except BlockingIOError:
                    time.sleep(0.01)
                    continue
                answered += 1
                assert len(data) >= 12, "short answer %r" % data
                assert data[2] & 0x80, "answer without QR: %r" % data[:12]
            assert_healthy(srv)
    finally:
        sock.close()
    assert sent == 3000
    assert answered > 0, "not a single FORMERR/answer to 3000 messages"


# --------------------------------------------------------------------------
# TCP (RFC 7766)

def test_tcp_pipelined_queries(srv):
    names = ["www", "mail", "ns1", "ns2", "sip", "nothere", "x.y.ent", "cname1", "www", "mail"]
    s = lib.tcp_connect(srv.port)
    try:
        expected = {}
        payload = b""
        for i, n in enumerate(names):
            q = lib.make_query(n + ".example.test.", "A", qid=0x2000 + i)
            expected[q.id] = q
            w = q.to_wire()
            payload += struct.pack("!H", len(w)) + w
        s.sendall(payload)  # all queries in one write
        got = {}
        for _ in names:
            data = lib.tcp_read_msg(s)
            assert data is not None, "connection closed after %d answers" % len(got)
            r = dns.message.from_wire(data)
            assert r.id in expected and r.id not in got, "unexpected ID %d" % r.id
            got[r.id] = r
        for qid, q in expected.items():
            r = got[qid]
            assert r.question[0].name == q.question[0].name, "answer %d is for %s" % (
                qid, r.question[0].name)
            assert q.is_response(r)
        assert got[0x2005].rcode() == dns.rcode.NXDOMAIN
        assert [rr.to_text() for rr in got[0x2000].answer[0]] == ["192.0.2.80"]
        assert got[0x2007].answer[-1][0].to_text() == "192.0.2.80"
        # the connection is still usable afterwards
        q = lib.make_query("www.example.test.", "AAAA", qid=0x2100)
        w = q.to_wire()
        s.sendall(struct.pack("!H", len(w)) + w)
        r = dns.message.from_wire(lib.tcp_read_msg(s))
        assert r.id == 0x2100 and r.answer[0][0].to_text() == "2001:db8::80"
    finally:
        s.close()
    assert_healthy(srv)


def test_tcp_query_split_across_segments(srv):
    q = lib.make_query("mail.example.test.", "AAAA", qid=0x2200)
    w = q.to_wire()
    msg = struct.pack("!H", len(w)) + w
    s = lib.tcp_connect(srv.port)
    try:
        pieces = [msg[:1], msg[1:2], msg[2:7], msg[7:20], msg[20:]]
        for p in pieces:
            s.sendall(p)
            time.sleep(0.05)  # make each piece its own segment (TCP_NODELAY is on)
        data = lib.tcp_read_msg(s)
        assert data is not None, "no answer to a query sent in pieces"
        r = dns.message.from_wire(data)
        assert r.id == 0x2200
        assert r.answer[0][0].to_text() == "2001:db8::25"
        # two queries where the second starts inside the first's last segment
        q1 = lib.make_query("www.example.test.", "A", qid=0x2201).to_wire()
        q2 = lib.make_query("ns1.example.test.", "A", qid=0x2202).to_wire()
        stream = struct.pack("!H", len(q1)) + q1 + struct.pack("!H", len(q2)) + q2
        cut = len(q1) + 3
        s.sendall(stream[:cut])
        time.sleep(0.05)
        s.sendall(stream[cut:])
        ids = sorted(dns.message.from_wire(lib.tcp_read_msg(s)).id for _ in range(2))
        assert ids == [0x2201, 0x2202]
    finally:
        s.close()
    assert_healthy(srv)


def test_tcp_zero_length_and_truncated_messages(srv):
    # a 2-byte length of 0
    s = lib.tcp_connect(srv.port)
    try:
        s.sendall(b"\x00\x00")
        try:
            data = lib.tcp_read_msg(s)
        except (socket.timeout, ConnectionResetError):
            data = None
        if data is not None:
            assert len(data) >= 12 and data[2] & 0x80
    finally:
        s.close()
    assert_healthy(srv)
    # a length that promises more than is sent, then close
    for n in (1, 5, 11, 20):
        s = lib.tcp_connect(srv.port)
        w = lib.make_query("www.example.test.", "A").to_wire()
        s.sendall(struct.pack("!H", len(w) + 100) + w[:n])
        s.close()
    # half a length prefix, then close
    s = lib.tcp_connect(srv.port)
    s.sendall(b"\x00")
    s.close()
    # abortive closes (RST) in the middle of a message
    for _ in range(20):
        s = lib.tcp_connect(srv.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.sendall(b"\x00\x40" + b"\x00" * 10)
        s.close()
    # a garbage message of 12 zero bytes: FORMERR (QDCOUNT=0) or close
    resp = lib.tcp_raw(b"\x00" * 12, srv.port)
    if resp is not None:
        assert lib.header_fields(resp)["rcode"] == dns.rcode.FORMERR
    assert_healthy(srv)


def test_tcp_connection_kept_within_default_idle_timeout(srv):
    """Default idle timeout is 10 s: a connection idle for 2.5 s still works."""
    s = lib.tcp_connect(srv.port)
    try:
        q = lib.make_query("www.example.test.", "A", qid=0x2300).to_wire()
        s.sendall(struct.pack("!H", len(q)) + q)
        assert dns.message.from_wire(lib.tcp_read_msg(s)).id == 0x2300
        time.sleep(2.5)
        q = lib.make_query("www.example.test.", "A", qid=0x2301).to_wire()
        s.sendall(struct.pack("!H", len(q)) + q)
        data = lib.tcp_read_msg(s)
        assert data is not None, "connection closed after 2.5 s idle (default is 10 s)"
        assert dns.message.from_wire(data).id == 0x2301
    finally:
        s.close()


def test_tcp_idle_timeout_closes(servers):
    srv = servers.backend(ZONES, label="idle", idle=1)
    s = lib.tcp_connect(srv.port, timeout=8.0)
    try:
        # activity resets the timer: a query after 0.5 s of silence is answered
        time.sleep(0.5)
        q = lib.make_query("www.example.test.", "A", qid=0x2400).to_wire()
        s.sendall(struct.pack("!H", len(q)) + q)
        data = lib.tcp_read_msg(s)
        assert data is not None and dns.message.from_wire(data).id == 0x2400
        last = time.monotonic()
        # then silence: the server must close the connection
        try:
            eof = s.recv(1)
        except ConnectionResetError:
            eof = b""
        except socket.timeout:
            pytest.fail("server kept an idle connection open for 8 s with 'idle 1s'")
        elapsed = time.monotonic() - last
        assert eof == b"", "unexpected data %r" % eof
        assert 0.7 <= elapsed <= 5.0, "closed after %.2f s of idleness (idle 1s)" % elapsed
    finally:
        s.close()
    # an idle connection that never sent anything is closed too
    s = lib.tcp_connect(srv.port, timeout=8.0)
    try:
        t0 = time.monotonic()
        try:
            eof = s.recv(1)
        except ConnectionResetError:
            eof = b""
        assert eof == b""
        assert time.monotonic() - t0 <= 5.0
    finally:
        s.close()
    assert_healthy(srv)


def test_ipv6_loopback(servers):
    """`bind 127.0.0.1 ::1` serves both families, UDP and TCP."""
    if lib.selftest_backend() == "knot":
        pytest.skip("signetd-only Corefile (SIGNET_TEST_BACKEND=knot)")
    port = lib.free_port(("127.0.0.1", "::1"))
    corefile = "example.test:{PORT} {\n    bind 127.0.0.1 ::1\n    file %s\n}\n" % (
        ZONES["example.test."])
    srv = servers.signetd(label="ipv6", corefile=corefile, port=port,
                          ready_zones=["example.test."])
    for host in ("127.0.0.1", "::1"):
        for tcp in (False, True):
            q = lib.make_query("www.example.test.", "AAAA")
            r, _ = lib.query(q, port, tcp=tcp, host=host)
            assert r.id == q.id and r.rcode() == dns.rcode.NOERROR
            assert r.answer[0][0].to_text() == "2001:db8::80"
    assert_healthy(srv)
