"""Transfers from signetd on the wire, read with dnspython (an independent implementation):

- AXFR (RFC 5936) over TCP in several messages of at most 64 KiB, SOA first and last,
  every message TSIG-signed (RFC 8945 5.3.1) with each of hmac-sha1/224/256/384/512, keys
  from `secret` and from a BIND key file (`secrets FILE`);
- TSIG errors (RFC 8945 5.2): BADKEY and BADSIG unsigned, BADTIME signed with the server's
  time; no key when one is required, and an address not in `to`: REFUSED;
- IXFR (RFC 1995) from the journal: one condensed difference for a client several versions
  behind, one step, the SOA alone when current (TCP and UDP), TC over UDP when the answer
  does not fit or only the whole zone would do, the whole zone when the journal does not
  reach the client's serial;
- NOTIFY (RFC 1996): sent TSIG-signed to every `to` address, retried with a doubling
  interval until acknowledged; a NOTIFY sent to signetd is answered (NOTAUTH: signetd is
  the primary), signed when it was;
- serial policies keep, increment, unixtime, dateserial.
"""

import socket
import struct
import time
import unittest.mock

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

import lib
import xfr_peers as xp

ZONE = "example.test."
ALGS = ("hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512")


def small_zone(serial, www="192.0.2.80", extra=""):
    return ("$ORIGIN example.test.\n$TTL 3600\n"
            "@ IN SOA ns1 hostmaster %d 3600 900 604800 300\n"
            "@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A %s\n"
            "@ IN TXT \"apex\"\n%s" % (serial, www, extra))


def big_zone(serial, names=1500, word="host"):
    lines = [small_zone(serial)]
    for i in range(names):
        lines.append("h%05d IN A 198.51.%d.%d\nh%05d IN TXT \"%s\"\n"
                     % (i, i // 250, i % 250, i, ("%s %05d " % (word, i)) * 6))
    return "".join(lines)


def corefile(zf, storage, to="127.0.0.1:9", tsig=(), keys=(), extra="", reload_="100ms"):
    lines = ["example.test:{PORT} {", "    bind 127.0.0.1",
             "    file %s {" % zf, "        reload %s" % reload_, "    }"]
    if tsig:
        lines += ["    tsig {"] + ["        %s" % t for t in tsig] + ["    }"]
    lines += ["    transfer {", "        to %s" % to]
    if keys:
        lines.append("        key %s" % " ".join(keys))
    lines += ["    }", "    storage %s" % storage]
    lines += ["    " + x for x in extra.strip().splitlines()] if extra else []
    lines.append("}")
    return "\n".join(lines) + "\n"


def start(servers, tmp_path, text, label="signetd", **kw):
    zf = str(tmp_path / ("%s.zone" % label))
    xp.write_atomic(zf, text)
    srv = servers.signetd(label=label, corefile=corefile(zf, str(tmp_path / (label + "-var")),
                                                         **kw),
                          ready_zones=[ZONE])
    srv.zonefile = zf
    srv.storage = str(tmp_path / (label + "-var"))
    return srv


def udp_ixfr(port, serial, key=None, payload=None):
    q = dns.message.make_query(ZONE, "IXFR")
    q.authority.append(dns.rrset.from_text(ZONE, 0, "IN", "SOA", ". . %d 0 0 0 0" % serial))
    if payload:
        q.use_edns(0, payload=payload)
    if key is not None:
        q.use_tsig(keyring=key.dnspython(), keyname=key.name)
    data = lib.udp_raw(q.to_wire(), port)
    assert data is not None, "no answer to IXFR over UDP"
    r = dns.message.from_wire(data, keyring=key.dnspython() if key else None,
                              request_mac=q.mac if key else b"", xfr=True)
    return r, data


def soa_serials(rrs):
    return [rd.serial for _, _, rd in rrs if rd.rdtype == dns.rdatatype.SOA]


# --------------------------------------------------------------------------

def test_axfr_messages_and_tsig_algorithms(servers, tmp_path):
    keys = {alg: xp.Key(name="k-%s." % alg, alg=alg) for alg in ALGS}
    # three keys inline, two from a BIND key file (with comments, as named.conf allows)
    secrets = tmp_path / "tsig.keys"
    secrets.write_text("".join(
        "# %s\nkey \"%s\" {\n\talgorithm %s; // BIND syntax\n\tsecret \"%s\";\n};\n"
        % (k.alg, k.name, k.alg, k.secret) for k in (keys["hmac-sha384"], keys["hmac-sha512"])))
    tsig = ["secret %s %s %s" % (k.name, k.secret, k.alg)
            for alg, k in keys.items() if alg not in ("hmac-sha384", "hmac-sha512")]
    tsig.append("secrets %s" % secrets)
    srv = start(servers, tmp_path, big_zone(1), tsig=tsig, keys=[k.name for k in keys.values()])
    ref = None
    for alg, key in keys.items():
        msgs, sizes = xp.axfr_messages(srv.port, ZONE, key)
        assert len(msgs) > 3, "%s: the zone came in %d messages" % (alg, len(msgs))
        assert max(sizes) <= 65535
        assert all(m.had_tsig for m in msgs), "%s: a message is not signed" % alg
        assert all(m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AA for m in msgs)
        assert [len(m.question) for m in msgs] == [1] + [0] * (len(msgs) - 1)
        rrs = [rrset for m in msgs for rrset in m.answer]
        assert rrs[0].rdtype == dns.rdatatype.SOA and rrs[-1].rdtype == dns.rdatatype.SOA
        assert sum(1 for r in rrs if r.rdtype == dns.rdatatype.SOA) == 2
        lines = xp.rr_lines(rrs[:-1])
        assert len(lines) == 4 + 2 * 1500 + 1
        assert ref is None or lines == ref
        ref = lines
    # an IXFR of every TXT changed: several messages too, each signed
    xp.write_atomic(srv.zonefile, big_zone(2, word="node"))
    xp.wait_serial(srv.port, ZONE, 2, srv=srv)
    for alg in ("hmac-sha1", "hmac-sha512"):
        msgs, sizes = xp.axfr_messages(srv.port, ZONE, keys[alg], qtype="IXFR", serial=1)
        assert len(msgs) > 3 and max(sizes) <= 65535
        assert all(m.had_tsig for m in msgs), "%s: an IXFR message is not signed" % alg
        rrs = [(r.name, r.ttl, rd) for m in msgs for r in m.answer for rd in r]
        assert xp.apply_ixfr(ref, rrs) == xp.axfr_lines(srv.port, ZONE, keys[alg])
    # without a key: refused
    msgs, _ = xp.axfr_messages(srv.port, ZONE, None)
    assert msgs[0].rcode() == dns.rcode.REFUSED and not msgs[0].answer
    # AXFR over UDP: an error, never the zone
    q = dns.message.make_query(ZONE, "AXFR")
    q.use_tsig(keyring=keys["hmac-sha256"].dnspython(), keyname=keys["hmac-sha256"].name)
    data = lib.udp_raw(q.to_wire(), srv.port)
    assert data is not None and struct.unpack("!H", data[2:4])[0] & 0xF != 0
    assert struct.unpack("!H", data[6:8])[0] == 0


def test_tsig_errors_and_acl(servers, tmp_path):
    key = xp.Key()
    other_port = lib.free_port()
    srv = start(servers, tmp_path, small_zone(1), tsig=["secret %s %s" % (key.name, key.secret)],
                keys=[key.name], to="127.0.0.1:%d" % other_port)

    def raw_axfr(q, source=None):
        wire = q if isinstance(q, bytes) else q.to_wire()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            if source:
                s.bind((source, 0))
            s.connect(("127.0.0.1", srv.port))
            s.sendall(struct.pack("!H", len(wire)) + wire)
            return lib.tcp_read_msg(s)
        finally:
            s.close()

    def axfr_query(k, **kw):
        q = dns.message.make_query(ZONE, "AXFR")
        q.use_tsig(keyring=k.dnspython(), keyname=k.name, **kw)
        return q

    # the right key: the zone (the port in `to` does not matter for the ACL)
    msgs, _ = xp.axfr_messages(srv.port, ZONE, key)
    assert msgs[0].rcode() == dns.rcode.NOERROR and len(msgs[0].answer) >= 5
    # an unknown key name: NOTAUTH, TSIG error BADKEY, unsigned (empty MAC)
    for bad, err in ((xp.Key(name="nobody."), dns.rcode.BADKEY),
                     (xp.Key(name=key.name, alg=key.alg), dns.rcode.BADSIG),
                     (xp.Key(name=key.name, alg="hmac-sha512", secret=key.secret),
                      dns.rcode.BADKEY)):
        q = axfr_query(bad)
        data = raw_axfr(q)
        assert data is not None
        h = lib.header_fields(data)
        assert h["rcode"] == dns.rcode.NOTAUTH and h["ancount"] == 0, h
        t = xp.tsig_of(data)
        assert t is not None and t["error"] == err and t["mac"] == b"", (bad.alg, t)
    # BADTIME: a request signed 20 minutes ago; the answer is signed, with our time
    with unittest.mock.patch("time.time", return_value=time.time() - 1200):
        q = axfr_query(key)
        wire_req = q.to_wire()
        request_mac = q.mac
    data = raw_axfr(wire_req)
    h = lib.header_fields(data)
    assert h["rcode"] == dns.rcode.NOTAUTH, h
    t = xp.tsig_of(data)
    assert t["error"] == dns.rcode.BADTIME and len(t["other"]) == 6
    server_time = int.from_bytes(t["other"], "big")
    assert abs(server_time - time.time()) < 30
    assert t["mac"] == xp.tsig_response_mac(data, key, request_mac), "BADTIME answer not signed"
    # no TSIG although the transfer rule has a key: REFUSED
    msgs, _ = xp.axfr_messages(srv.port, ZONE, None)
    assert msgs[0].rcode() == dns.rcode.REFUSED
    # the right key from an address not in `to`: REFUSED (signed, the key was good)
    data = raw_axfr(axfr_query(key), source="127.0.0.2")
    h = lib.header_fields(data)
    assert h["rcode"] == dns.rcode.REFUSED and h["ancount"] == 0, h
    # IXFR is under the same rules
    q = dns.message.make_query(ZONE, "IXFR")
    q.authority.append(dns.rrset.from_text(ZONE, 0, "IN", "SOA", ". . 0 0 0 0 0"))
    data = raw_axfr(q)
    assert lib.header_fields(data)["rcode"] == dns.rcode.REFUSED
    log = srv.log()
    assert "AXFR refused: TSIG did not verify" in log
    assert "AXFR refused: address not allowed by transfer" in log
    assert "AXFR refused: a key of the transfer rule is required" in log
    # a signed ordinary query gets a signed answer
    q = dns.message.make_query("www." + ZONE, "A")
    q.use_tsig(keyring=key.dnspython(), keyname=key.name)
    r = dns.message.from_wire(lib.udp_raw(q.to_wire(), srv.port), keyring=key.dnspython(),
                              request_mac=q.mac)
    assert r.had_tsig and r.answer[0][0].to_text() == "192.0.2.80"


def test_ixfr_from_the_journal(servers, tmp_path):
    key = xp.Key(alg="hmac-sha1")
    srv = start(servers, tmp_path, small_zone(1), tsig=["secret %s %s hmac-sha1" %
                                                        (key.name, key.secret)],
                keys=[key.name])
    versions = {1: xp.axfr_lines(srv.port, ZONE, key)}
    texts = {
        2: small_zone(2, extra="tmp IN A 192.0.2.7\nkeep IN A 192.0.2.8\n"),
        3: small_zone(3, www="192.0.2.81", extra="keep IN A 192.0.2.8\n"),
        4: small_zone(4, www="192.0.2.81", extra="keep IN A 192.0.2.8\nkeep IN TXT \"k\"\n"),
    }
    for serial, text in texts.items():
        xp.write_atomic(srv.zonefile, text)
        xp.wait_serial(srv.port, ZONE, serial, srv=srv)
        versions[serial] = xp.axfr_lines(srv.port, ZONE, key)

    # several versions behind: one condensed difference 1 -> 4; tmp (added in 2, removed
    # in 3) does not appear
    rrs = xp.ixfr_request(srv.port, ZONE, 1, key)
    assert xp.is_incremental(rrs)
    assert soa_serials(rrs) == [4, 1, 4, 4], soa_serials(rrs)
    assert not any(str(name).startswith("tmp.") for name, _, _ in rrs)
    assert xp.apply_ixfr(versions[1], rrs) == versions[4]
    # one step behind
    rrs = xp.ixfr_request(srv.port, ZONE, 3, key)
    assert soa_serials(rrs) == [4, 3, 4, 4]
    assert len(rrs) == 5 and xp.apply_ixfr(versions[3], rrs) == versions[4]
    for serial in (2,):
        assert xp.apply_ixfr(versions[serial], xp.ixfr_request(srv.port, ZONE, serial, key)) \
            == versions[4]
    # current, or newer than us: the SOA alone
    for serial in (4, 5):
        rrs = xp.ixfr_request(srv.port, ZONE, serial, key)
        assert soa_serials(rrs) == [4] and len(rrs) == 1
    # a serial the journal does not know: the whole zone (AXFR-style)
    rrs = xp.ixfr_request(srv.port, ZONE, 0xFFFFFF00, key)
    assert not xp.is_incremental(rrs)
    assert xp.rr_lines(dns.rrset.from_rdata(n, t, rd) for n, t, rd in rrs[:-1]) == versions[4]

    # over UDP: the SOA alone when current, the difference when it fits, else TC
    r, _ = udp_ixfr(srv.port, 4, key)
    assert not r.flags & dns.flags.TC and [rr.rdtype for rr in r.answer] == [dns.rdatatype.SOA]
    assert r.answer[0][0].serial == 4 and r.had_tsig
    r, _ = udp_ixfr(srv.port, 3, key)
    assert not r.flags & dns.flags.TC and len(r.answer) == 5
    r, _ = udp_ixfr(srv.port, 0xFFFFFF00, key)
    assert r.flags & dns.flags.TC and not r.answer and r.had_tsig
    big = small_zone(5, www="192.0.2.81", extra="".join(
        "bulk%03d IN TXT \"%s\"\n" % (i, "x" * 60) for i in range(60)))
    xp.write_atomic(srv.zonefile, big)
    xp.wait_serial(srv.port, ZONE, 5, srv=srv)
    r, _ = udp_ixfr(srv.port, 4, key, payload=1232)
    assert r.flags & dns.flags.TC and not r.answer
    rrs = xp.ixfr_request(srv.port, ZONE, 4, key)
    assert xp.apply_ixfr(versions[4], rrs) == xp.axfr_lines(srv.port, ZONE, key)

    # the journal: one step per version, contiguous, ending at the served serial
    steps = xp.check_journal(srv.storage, ZONE, 5)
    assert [(s[1], s[2]) for s in steps] == [(1, 2), (2, 3), (3, 4), (4, 5)]


def notify_query(zone, key=None):
    q = dns.message.make_query(zone, "SOA")
    q.set_opcode(dns.opcode.NOTIFY)
    q.flags |= dns.flags.AA
    if key is not None:
        q.use_tsig(keyring=key.dnspython(), keyname=key.name)
    return q


def test_notify_in_answered(servers, tmp_path):
    key = xp.Key()
    srv = start(servers, tmp_path, small_zone(1), tsig=["secret %s %s" % (key.name, key.secret)],
                keys=[key.name])
    for zone in (ZONE, "elsewhere.test."):
        q = notify_query(zone)
        data = lib.udp_raw(q.to_wire(), srv.port)
        r = dns.message.from_wire(data)
        assert r.id == q.id and r.opcode() == dns.opcode.NOTIFY and r.flags & dns.flags.QR
        assert r.rcode() == dns.rcode.NOTAUTH and r.question == q.question, r
        assert not r.answer and not r.had_tsig
    # signed: verified, and the answer signed with the same key
    q = notify_query(ZONE, key)
    data = lib.udp_raw(q.to_wire(), srv.port)
    r = dns.message.from_wire(data, keyring=key.dnspython(), request_mac=q.mac)
    assert r.opcode() == dns.opcode.NOTIFY and r.rcode() == dns.rcode.NOTAUTH and r.had_tsig
    # signed with a wrong secret: NOTAUTH with the TSIG error BADSIG, unsigned
    q = notify_query(ZONE, xp.Key(name=key.name))
    data = lib.udp_raw(q.to_wire(), srv.port)
    t = xp.tsig_of(data)
    assert lib.header_fields(data)["rcode"] == dns.rcode.NOTAUTH
    assert t is not None and t["error"] == dns.rcode.BADSIG and t["mac"] == b""


def test_notify_out_retried_until_acknowledged(servers, tmp_path):
    """A secondary that answers only the third NOTIFY: signetd sends again after 1 s, then
    after 2 s more, each time the same signed message, and stops once acknowledged."""
    key = xp.Key(alg="hmac-sha384")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    port = sock.getsockname()[1]
    try:
        srv = start(servers, tmp_path, small_zone(1),
                    tsig=["secret %s %s hmac-sha384" % (key.name, key.secret)],
                    keys=[key.name], to="127.0.0.1:%d 127.0.0.1:9" % port)
        got = []
        while len(got) < 3:
            data, peer = sock.recvfrom(4096)
            got.append((time.monotonic(), data, peer))
        stamps = [g[0] for g in got]
        for _, data, _ in got:
            m = dns.message.from_wire(data, keyring=key.dnspython())
            assert m.opcode() == dns.opcode.NOTIFY and m.flags & dns.flags.AA and m.had_tsig
            assert m.question[0].name.to_text() == ZONE
            assert m.question[0].rdtype == dns.rdatatype.SOA
            assert m.answer[0][0].serial == 1
        assert got[0][1] == got[1][1] == got[2][1], "a retry is not the same message"
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        # 1 s, then 2 s (slack for a loaded machine and ASan; the first datagram may wait
        # in the socket while signetd starts, so the first gap can look shorter)
        assert 0.3 < gaps[0] < 2.5 and 1.0 < gaps[1] < 5.0 and gaps[1] > gaps[0], gaps
        assert gaps[0] + gaps[1] > 2.4, gaps
        # acknowledge the third, signed with the key
        m = dns.message.from_wire(got[2][1], keyring=key.dnspython())
        ack = dns.message.make_response(m)
        ack.flags |= dns.flags.AA
        ack.use_tsig(keyring=key.dnspython(), keyname=key.name)
        ack.request_mac = m.mac
        sock.sendto(ack.to_wire(), got[2][2])
        lib.wait_for(lambda: "serial 1: 127.0.0.1 acknowledged" in srv.log(), 10,
                     "signetd to log the acknowledgement")
        # no more for serial 1 (the next retry would be 4 s later)
        sock.settimeout(5)
        with pytest.raises(socket.timeout):
            sock.recvfrom(4096)
        # a new version: a new NOTIFY at once
        xp.write_atomic(srv.zonefile, small_zone(2))
        sock.settimeout(10)
        data, _ = sock.recvfrom(4096)
        m = dns.message.from_wire(data, keyring=key.dnspython())
        assert m.answer[0][0].serial == 2
    finally:
        sock.close()


@pytest.mark.parametrize("policy", ["keep", "increment", "unixtime", "dateserial"])
def test_serial_policy(servers, tmp_path, policy):
    key = xp.Key()
    srv = start(servers, tmp_path, small_zone(7), tsig=["secret %s %s" % (key.name, key.secret)],
                keys=[key.name], extra="serial %s" % policy)
    first = xp.soa_serial(srv.port, ZONE)
    today = int(time.strftime("%Y%m%d", time.gmtime())) * 100
    expect_first = {"keep": 7, "increment": 7, "dateserial": today}
    if policy == "unixtime":
        assert abs(first - time.time()) < 60, first
    else:
        assert first == expect_first[policy], (policy, first)
    # the data changes, the file's serial does not (keep: it moves to 9)
    xp.write_atomic(srv.zonefile, small_zone(9 if policy == "keep" else 7, www="192.0.2.99"))
    lib.wait_for(lambda: xp.soa_serial(srv.port, ZONE) != first, 10, "a new serial")
    second = xp.soa_serial(srv.port, ZONE)
    if policy == "keep":
        assert second == 9
    elif policy == "unixtime":
        assert second > first and abs(second - time.time()) < 60
    else:
        assert second == first + 1, (policy, first, second)
    # the secondaries' view: IXFR first -> second is the change
    rrs = xp.ixfr_request(srv.port, ZONE, first, key)
    assert xp.is_incremental(rrs) and soa_serials(rrs) == [second, first, second, second]
    assert {rd.to_text() for _, _, rd in rrs if rd.rdtype == dns.rdatatype.A} == \
        {"192.0.2.80", "192.0.2.99"}


def test_journal_bounds(servers, tmp_path):
    """`storage DIR { journal-max-depth N }` keeps the newest N steps: IXFR from a serial
    still in them is incremental, from an older one the whole zone; bad values are
    errors naming their line."""
    zf = str(tmp_path / "bounded.zone")
    storage = str(tmp_path / "bounded-var")
    xp.write_atomic(zf, small_zone(1))
    text = ("example.test:{PORT} {\n    bind 127.0.0.1\n    file %s {\n        reload 100ms\n"
            "    }\n    transfer {\n        to 127.0.0.1:9\n    }\n    storage %s {\n"
            "        journal-max-depth 2\n        journal-max-usage 1M\n    }\n}\n"
            % (zf, storage))
    srv = servers.signetd(label="bounded", corefile=text, ready_zones=[ZONE])
    for serial in (2, 3, 4, 5):
        xp.write_atomic(zf, small_zone(serial, www="192.0.2.%d" % (80 + serial)))
        xp.wait_serial(srv.port, ZONE, serial, srv=srv)
    steps = xp.check_journal(storage, ZONE, 5)
    assert [(s[1], s[2]) for s in steps] == [(3, 4), (4, 5)], steps
    rrs = xp.ixfr_request(srv.port, ZONE, 3, None)
    assert xp.is_incremental(rrs) and soa_serials(rrs) == [5, 3, 5, 5], soa_serials(rrs)
    rrs = xp.ixfr_request(srv.port, ZONE, 2, None)
    assert not xp.is_incremental(rrs), "serial 2 is older than the journal keeps"

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "Corefile").write_text(
        "example.test:53 {\n"                       # 1
        "    file %s\n"                             # 2
        "    storage var {\n"                       # 3
        "        journal-max-depth many\n"          # 4
        "        journal-max-usage 12Q\n"           # 5
        "        journal-size 1\n"                  # 6
        "    }\n}\n" % zf)
    res = lib.run_signetd(["-validate", "-conf", str(bad / "Corefile")], cwd=str(bad))
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    for line, what in ((4, "journal-max-depth"), (5, "journal-max-usage"),
                       (6, "journal-size")):
        assert any(("Corefile:%d" % line) in x and what in x for x in out.splitlines()), out
