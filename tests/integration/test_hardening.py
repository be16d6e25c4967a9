"""Limits and faults: many idle TCP connections, a stalled TCP client, connection limits,
a zone file truncated mid-write, a journal that cannot grow (disk full), privileges
dropped, files created with safe modes."""

import os
import pwd
import resource
import socket
import stat
import struct
import subprocess
import time

import dns.message
import dns.rcode
import dns.rdatatype

import lib

ZONE = lib.CASE_ZONES["example.test."]


def udp_latency(port, n=20):
    """Median and worst time of n UDP queries, one after the other."""
    lat = []
    for _ in range(n):
        t = time.monotonic()
        r, _ = lib.query(lib.make_query("www.example.test.", "A"), port, timeout=2.0)
        assert r.rcode() == dns.rcode.NOERROR
        lat.append(time.monotonic() - t)
    lat.sort()
    return lat[len(lat) // 2], lat[-1]


def prompt(latency):
    """UDP not held up: a blocked worker would delay every query, not one of them (which a
    loaded machine's scheduler may)."""
    median, worst = latency
    return median < 0.1 and worst < 1.0


def closed_at_once(s, wire):
    """The server closed this connection without answering (reset or end of stream)."""
    s.settimeout(5)
    try:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        return s.recv(2) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        s.close()


def test_ten_thousand_idle_tcp_connections(servers):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    n = min(10000, hard - 200)
    srv = servers.signetd(label="conns", corefile=(
        "example.test:{PORT} {\n bind 127.0.0.1\n file %s\n timeouts {\n  idle 120s\n }\n"
        " limits {\n  tcp_connections %d\n }\n}\n" % (ZONE, n)), ready_zones=["example.test."])
    before = lib.vmrss_kib(srv.pid)
    conns = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.connect(("127.0.0.1", srv.port))
            conns.append(s)
        # The server has accepted them all: the last one answers.
        wire = lib.make_query("www.example.test.", "A").to_wire()
        conns[-1].sendall(struct.pack("!H", len(wire)) + wire)
        conns[-1].settimeout(5)
        assert dns.message.from_wire(lib.tcp_read_msg(conns[-1])).answer
        after = lib.vmrss_kib(srv.pid)
        per_conn = (after - before) * 1024 / n
        print("tcp: %d idle connections held, RSS %d -> %d KiB (%.0f bytes each)"
              % (n, before, after, per_conn))
        assert per_conn < 4096, per_conn
        # UDP is answered promptly meanwhile.
        assert prompt(udp_latency(srv.port))
        # One more than the limit is closed at once.
        extra = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        extra.settimeout(5)
        extra.connect(("127.0.0.1", srv.port))
        assert closed_at_once(extra, wire)
    finally:
        for s in conns:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_per_client_limit(servers):
    srv = servers.signetd(label="perclient", corefile=(
        "example.test:{PORT} {\n bind 127.0.0.1\n file %s\n limits {\n  tcp_per_client 3\n }\n}\n"
        % ZONE), ready_zones=["example.test."])
    wire = lib.make_query("www.example.test.", "A").to_wire()

    def connect():
        # From 127.0.0.2: a client of its own, apart from the readiness probe's 127.0.0.1.
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", srv.port))
        return s

    held = [connect() for _ in range(3)]
    for s in held:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        assert dns.message.from_wire(lib.tcp_read_msg(s)).answer
    assert closed_at_once(connect(), wire)
    held[0].close()
    # A slot is free again once one closes.
    def fifth_answers():
        s = connect()
        try:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            return s.recv(2) != b""
        except (ConnectionResetError, BrokenPipeError):
            return False  # the server has not seen the close yet
        finally:
            s.close()
    lib.wait_for(fifth_answers, 10, "a connection slot after one closed")
    for s in held[1:]:
        s.close()


def test_stalled_tcp_client_does_not_delay_udp(servers):
    srv = servers.signetd(label="stall", zones={"example.test.": ZONE},
                          ready_zones=["example.test."])
    # Pipeline many queries for a large answer and never read the responses.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", srv.port))
    wire = lib.make_query("example.test.", "ANY").to_wire()
    payload = (struct.pack("!H", len(wire)) + wire) * 5000
    s.setblocking(False)
    try:
        s.send(payload)
    except BlockingIOError:
        pass
    assert prompt(udp_latency(srv.port, 50))
    # Other TCP clients are answered too.
    r, _ = lib.query(lib.make_query("www.example.test.", "A"), srv.port, tcp=True)
    assert r.answer
    s.close()


def test_zone_truncated_mid_write_keeps_last_good(servers, tmp_path):
    text = open(ZONE).read()
    path = tmp_path / "example.test.zone"
    path.write_text(text)
    srv = servers.signetd(label="trunc", corefile=(
        "example.test:{PORT} {\n bind 127.0.0.1\n file %s {\n  reload 200ms\n }\n}\n" % path),
        ready_zones=["example.test."])
    before, _ = lib.query(lib.make_query("www.example.test.", "A"), srv.port)
    # Half a file, cut in the middle of a record (as a writer caught mid-way leaves it).
    cut = text[: len(text) // 2]
    cut = cut[: cut.rfind("\n") + 5]
    path.write_text(cut)
    lib.wait_for(lambda: "not loaded" in srv.log(), 10, "the broken file to be rejected")
    after, _ = lib.query(lib.make_query("www.example.test.", "A"), srv.port)
    assert after.answer == before.answer
    assert "last good version" in srv.log()


def test_journal_disk_full_keeps_last_good(servers, tmp_path):
    """The journal cannot grow (a file size limit stands in for a full disk): the new version
    is not published, the old one is served, and the log and /ready say why."""
    zone = tmp_path / "z.zone"
    base = open(ZONE).read()
    zone.write_text(base)
    http = lib.free_port()
    corefile = ("example.test:{PORT} {\n bind 127.0.0.1\n file %s {\n  reload 200ms\n }\n"
                " transfer {\n  to 127.0.0.1\n }\n storage %s\n ready 127.0.0.1:%d\n}\n"
                % (zone, tmp_path / "var", http))

    def limit_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (600 * 1024, 600 * 1024))

    port = lib.free_port()
    os.makedirs(str(tmp_path / "w"), exist_ok=True)
    (tmp_path / "w" / "Corefile").write_text(corefile.replace("{PORT}", str(port)))
    log = open(str(tmp_path / "w" / "signetd.log"), "wb")
    proc = subprocess.Popen([lib.signetd_path(), "-conf", str(tmp_path / "w" / "Corefile")],
                            cwd=str(tmp_path / "w"), stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=limit_files)
    try:
        lib.wait_for(lambda: lib.soa_answered(port, "example.test."), 20, "signetd")
        big = "".join("bulk%d TXT \"%s\"\n" % (i, "x" * 200) for i in range(4000))
        zone.write_text(base.replace("2024010101", "2024010102") + big)
        logtext = lambda: open(str(tmp_path / "w" / "signetd.log")).read()
        lib.wait_for(lambda: "the journal failed" in logtext(), 20, "the journal to fail")
        r, _ = lib.query(lib.make_query("example.test.", "SOA"), port)
        assert r.answer[0][0].serial == 2024010101
        import urllib.request
        body = urllib.request.urlopen("http://127.0.0.1:%d/ready" % http).read().decode()
        assert "journal" in body, body
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_user_drops_privileges_and_safe_modes(servers, tmp_path):
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        raise AssertionError("the test needs a 'nobody' user")
    # A folder the unprivileged user can reach (pytest's own are root's alone).
    import tempfile
    top = tempfile.mkdtemp(prefix="signet-user-", dir="/tmp")
    os.chmod(top, 0o755)
    storage = os.path.join(top, "var")
    srv = servers.signetd(label="user", corefile=(
        "example.test:{PORT} {\n bind 127.0.0.1\n file %s\n dnssec\n transfer {\n  to 127.0.0.1\n }\n"
        " storage %s\n user nobody\n}\n" % (ZONE, storage)), ready_zones=["example.test."])
    with open("/proc/%d/status" % srv.pid) as f:
        uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
    assert all(int(u) == pwd.getpwnam("nobody").pw_uid for u in uids), uids
    # It still answers (the port was bound before) and signed (keys written as nobody).
    r, _ = lib.query(lib.make_query("example.test.", "DNSKEY", edns=0, do=True), srv.port)
    assert r.answer
    privates = [os.path.join(d, f) for d, _, fs in os.walk(storage) for f in fs
                if f.endswith(".private")]
    assert privates
    for p in privates:
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, p
    journal = os.path.join(storage, "journal.sqlite")
    lib.wait_for(lambda: os.path.exists(journal), 10, "the journal")
    assert stat.S_IMODE(os.stat(journal).st_mode) & 0o007 == 0
    assert os.stat(journal).st_uid == pwd.getpwnam("nobody").pw_uid


def test_zone_records_limit(servers, tmp_path):
    """A source may not load more than limits { zone_records } into one zone."""
    zone = tmp_path / "big.test.zone"
    zone.write_text("$ORIGIN big.test.\n$TTL 300\n@ SOA ns h 1 3600 900 604800 60\n@ NS ns\n"
                    "ns A 192.0.2.1\n$GENERATE 1-500 h$ A 192.0.2.2\n")
    (tmp_path / "Corefile").write_text(
        "big.test:5399 {\n file %s\n limits {\n  zone_records 100\n }\n}\n" % zone)
    res = lib.run_signetd(["-validate", "-conf", str(tmp_path / "Corefile")], cwd=str(tmp_path))
    assert res.returncode == 1
    assert "more than 100 records" in res.stdout + res.stderr


def test_concurrent_transfers_limit(servers, tmp_path):
    """With limits { transfers 1 }, a second AXFR is refused while a stalled one is open."""
    zone = tmp_path / "big.test.zone"
    zone.write_text("$ORIGIN big.test.\n$TTL 300\n@ SOA ns h 1 3600 900 604800 60\n@ NS ns\n"
                    "ns A 192.0.2.1\n$GENERATE 1-40000 h$ TXT \"%s\"\n" % ("x" * 200))
    srv = servers.signetd(label="xfrlimit", corefile=(
        "big.test:{PORT} {\n bind 127.0.0.1\n file %s\n transfer {\n  to *\n }\n"
        " limits {\n  transfers 1\n }\n}\n" % zone), ready_zones=["big.test."])
    axfr = lib.make_query("big.test.", "AXFR").to_wire()
    stalled = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", srv.port))
    stalled.sendall(struct.pack("!H", len(axfr)) + axfr)
    stalled.recv(2)  # the transfer has started; it is never read further
    lib.wait_for(lambda: "AXFR of serial" in srv.log(), 10, "the first transfer to start")
    second = lib.tcp_connect(srv.port)
    second.sendall(struct.pack("!H", len(axfr)) + axfr)
    r = dns.message.from_wire(lib.tcp_read_msg(second))
    assert r.rcode() == dns.rcode.REFUSED
    assert "already in progress" in srv.log()
    second.close()
    stalled.close()
    # Once the stalled one is gone, transfers work again.
    def transfer_ok():
        s = lib.tcp_connect(srv.port)
        try:
            s.sendall(struct.pack("!H", len(axfr)) + axfr)
            return dns.message.from_wire(lib.tcp_read_msg(s)).rcode() == dns.rcode.NOERROR
        finally:
            s.close()
    lib.wait_for(transfer_ok, 10, "transfers after the stalled one closed")


def test_source_failure_in_metrics_and_ready(servers, tmp_path):
    import urllib.request
    zone = tmp_path / "example.test.zone"
    zone.write_text(open(ZONE).read())
    http = lib.free_port()
    srv = servers.signetd(label="srcfail", corefile=(
        "example.test:{PORT} {\n bind 127.0.0.1\n file %s {\n  reload 200ms\n }\n"
        " prometheus 127.0.0.1:%d\n ready 127.0.0.1:%d\n}\n" % (zone, http, lib.free_port())),
        ready_zones=["example.test."])
    metrics = lambda: urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http).read().decode()
    def errors():
        for line in metrics().splitlines():
            if line.startswith("signet_source_errors_total{") and "example.test." in line:
                return float(line.rsplit(None, 1)[1])
        return None
    assert errors() == 0
    zone.write_text("$ORIGIN example.test.\n@ 300 SOA ns h 2 1 1 1 1\nbroken A not-an-address\n")
    lib.wait_for(lambda: (errors() or 0) >= 1, 10,
                 "signet_source_errors_total to count the failure")
    r, _ = lib.query(lib.make_query("example.test.", "SOA"), srv.port)
    assert r.answer[0][0].serial == 2024010101


def test_kill_9_keeps_key_state(servers, tmp_path):
    keys = tmp_path / "keys"
    corefile = ("example.test:{PORT} {\n bind 127.0.0.1\n file %s\n dnssec {\n  keys %s\n }\n}\n"
                % (ZONE, keys))
    port = lib.free_port()
    first = servers.signetd(label="k9a", corefile=corefile, port=port,
                            ready_zones=["example.test."])
    r, _ = lib.query(lib.make_query("example.test.", "DNSKEY", edns=0, do=True), port)
    before = sorted(rr.to_text() for rrset in r.answer for rr in rrset
                    if rrset.rdtype == dns.rdatatype.DNSKEY)
    assert before
    first.proc.kill()
    first.proc.wait(10)
    first.stopped, first.returncode = True, 0  # killed on purpose: not a failure to report
    second = servers.signetd(label="k9b", corefile=corefile, port=port,
                             ready_zones=["example.test."])
    r, _ = lib.query(lib.make_query("example.test.", "DNSKEY", edns=0, do=True), port)
    after = sorted(rr.to_text() for rrset in r.answer for rr in rrset
                   if rrset.rdtype == dns.rdatatype.DNSKEY)
    assert after == before
    assert "new CSK" not in second.log()


def test_secrets_never_logged(servers, tmp_path):
    secret = "c2lnbmV0LXRlc3Qtc2VjcmV0LW5ldmVyLWxvZ2dlZA=="
    srv = servers.signetd(label="secrets", corefile=(
        "example.test:{PORT} {\n bind 127.0.0.1\n file %s\n log\n dnssec {\n  keys %s\n }\n"
        " tsig {\n  secret k. %s hmac-sha256\n }\n transfer {\n  to 127.0.0.1\n  key k.\n }\n}\n"
        % (ZONE, tmp_path / "keys", secret)), ready_zones=["example.test."])
    # A request signed with a wrong key and one with the right name: both logged as refused.
    lib.query(lib.make_query("example.test.", "AXFR"), srv.port, tcp=True)
    log = srv.log()
    assert secret not in log
    for name in os.listdir(str(tmp_path / "keys")):
        if name.endswith(".private"):
            for line in open(str(tmp_path / "keys" / name)):
                if line.startswith("PrivateKey:"):
                    assert line.split(":", 1)[1].strip() not in log
