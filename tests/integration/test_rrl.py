"""Response rate limiting (the CoreDNS rrl plugin's syntax, BIND/Knot semantics): a client
flooding UDP gets about the configured rate of answers, slipped truncated answers in
between, others nothing; other networks, TCP and report-only are not limited."""

import socket
import time

import dns.flags
import dns.message

import lib

RATE = 20


def flood(port, n, src="127.0.0.1", qname="www.example.test.", qtype="A", seconds=2.0):
    """Send n queries spread over `seconds` from one socket; count what comes back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.setblocking(False)
    q = lib.make_query(qname, qtype)
    counts = {"answers": 0, "truncated": 0, "sent": 0}
    start = time.monotonic()
    gap = seconds / n
    deadline = start + seconds + 1.0
    i = 0
    while time.monotonic() < deadline:
        now = time.monotonic()
        if i < n and now >= start + i * gap:
            q.id = i & 0xFFFF
            s.sendto(q.to_wire(), ("127.0.0.1", port))
            counts["sent"] += 1
            i += 1
        try:
            while True:
                wire = s.recv(4096)
                r = dns.message.from_wire(wire)
                if r.flags & dns.flags.TC:
                    counts["truncated"] += 1
                elif r.answer:
                    counts["answers"] += 1
        except (BlockingIOError, dns.exception.DNSException):
            pass
        if i >= n:
            time.sleep(0.001)
    s.close()
    counts["elapsed"] = seconds
    return counts


def corefile(rrl):
    zone = lib.CASE_ZONES["example.test."]
    return ("example.test:{PORT} {\n    bind 127.0.0.1 127.0.0.2\n    file %s\n"
            "    rrl {\n%s\n    }\n}\n" % (zone, rrl))


def test_flood_is_limited_with_slip(servers):
    srv = servers.signetd(label="rrl", corefile=corefile(
        "        responses-per-second %d\n        window 2\n        slip-ratio 2\n"
        "        ipv4-prefix-length 32" % RATE), ready_zones=["example.test."])
    c = flood(srv.port, 1000, seconds=2.0)
    # About RATE a second reach the flooder (the bucket starts full: one second's worth).
    assert RATE * c["elapsed"] <= c["answers"] <= RATE * (c["elapsed"] + 2), c
    # Of the limited ones, every second one is slipped (TC, no records), the rest dropped.
    limited = c["sent"] - c["answers"]
    assert 0.35 * limited <= c["truncated"] <= 0.65 * limited, c
    print("rrl: sent %(sent)d in %(elapsed).0fs, answers %(answers)d, truncated %(truncated)d"
          % c)
    # Another client (its own /32), below the rate, is not limited meanwhile...
    other = flood(srv.port, 15, src="127.0.0.2", seconds=1.0)
    assert other["answers"] == 15, other
    # ... and neither is TCP, for the flooding client itself.
    r, _ = lib.query(lib.make_query("www.example.test.", "A"), srv.port, tcp=True)
    assert r.answer


def test_report_only_limits_nothing(servers):
    srv = servers.signetd(label="rrl-report", corefile=corefile(
        "        responses-per-second 5\n        report-only"), ready_zones=["example.test."])
    c = flood(srv.port, 200, seconds=1.0)
    assert c["answers"] == 200, c
    assert c["truncated"] == 0, c
    assert "would limit" in srv.log()


def test_nxdomain_rate_imputed_to_the_zone(servers):
    """Random names under the zone share one NXDOMAIN bucket (the zone), as in BIND."""
    srv = servers.signetd(label="rrl-nx", corefile=corefile(
        "        responses-per-second 1000\n        nxdomains-per-second 5\n"
        "        slip-ratio 0\n        ipv4-prefix-length 32"), ready_zones=["example.test."])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.05)
    got = 0
    start = time.monotonic()
    for i in range(100):
        q = lib.make_query("nx%d.example.test." % i, "A")
        s.sendto(q.to_wire(), ("127.0.0.1", srv.port))
        try:
            s.recv(4096)
            got += 1
        except socket.timeout:
            pass
    s.close()
    elapsed = time.monotonic() - start
    assert 5 <= got <= 5 * (elapsed + 1) + 1, (got, elapsed)
    # Positive answers have their own, larger bucket.
    r, _ = lib.query(lib.make_query("www.example.test.", "A"), srv.port)
    assert r.answer


def test_bad_rrl_config_is_refused(tmp_path):
    (tmp_path / "Corefile").write_text(
        "example.test:5399 {\n file %s\n rrl {\n  slip-ratio many\n }\n}\n"
        % lib.CASE_ZONES["example.test."])
    res = lib.run_signetd(["-validate", "-conf", str(tmp_path / "Corefile")], cwd=str(tmp_path))
    assert res.returncode == 1
    assert "slip-ratio" in (res.stdout + res.stderr)
