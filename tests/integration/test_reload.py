"""Reloading zones and configuration without dropping a query (SIGHUP, `reload`)."""

import os
import re
import signal
import socket
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import pytest

import lib

ZONE = "reload.test."
BROKEN_LINE = 7  # line of the bad record in broken_zone()


def zone_text(serial, addr, extra=""):
    return (
        "$ORIGIN reload.test.\n"
        "$TTL 300\n"
        "@ IN SOA ns1 hostmaster %d 3600 900 604800 60\n"
        "@ IN NS ns1\n"
        "ns1 IN A 192.0.2.1\n"
        "www IN A %s\n"
        "%s" % (serial, addr, extra))


def broken_zone(serial):
    text = zone_text(serial, "192.0.2.250") + "bad IN A 300.1.2.3\n"
    assert text.count("\n") == BROKEN_LINE
    return text


write_atomic = lib.write_atomic


def write_in_place(path, text):
    with open(path, "w") as f:
        f.write(text)


def serial_of(srv, zone=ZONE, tcp=False):
    r, _ = lib.query(lib.make_query(zone, "SOA"), srv.port, tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR, r
    return r.answer[0][0].serial


def www_of(srv):
    r, _ = lib.query(lib.make_query("www." + ZONE, "A"), srv.port)
    assert r.rcode() == dns.rcode.NOERROR, r
    return r.answer[0][0].to_text()


class QueryStream:
    """Sends www.reload.test/A and reload.test/SOA at a steady rate over UDP
    from one socket, each with its own ID, and matches every answer by ID."""

    def __init__(self, port, rate=2000, seconds=3.0):
        self.port = port
        self.rate = rate
        self.count = int(rate * seconds)
        assert self.count < 65536
        self.sent = {}
        self.answers = {}
        self.bad = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.settimeout(0.2)
        self.done_sending = threading.Event()
        self.stop = threading.Event()
        self.wires = {}
        for qid in range(self.count):
            kind = "SOA" if qid % 2 else "A"
            name = ZONE if kind == "SOA" else "www." + ZONE
            self.wires[qid] = (kind, lib.make_query(name, kind, qid=qid).to_wire())

    def start(self):
        self.rx = threading.Thread(target=self._receive, daemon=True)
        self.tx = threading.Thread(target=self._send, daemon=True)
        self.rx.start()
        self.tx.start()

    def _send(self):
        t0 = time.monotonic()
        for qid in range(self.count):
            due = t0 + qid / self.rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            self.sent[qid] = self.wires[qid][0]
            self.sock.sendto(self.wires[qid][1], ("127.0.0.1", self.port))
        self.done_sending.set()

    def _receive(self):
        while not self.stop.is_set():
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                continue
            try:
                r = dns.message.from_wire(data)
            except Exception as e:
                self.bad.append("unparsable answer %r: %s" % (data[:32], e))
                continue
            if r.id in self.answers:
                self.bad.append("duplicate answer for ID %d" % r.id)
            self.answers[r.id] = r

    def finish(self, grace=5.0):
        self.tx.join(60)
        end = time.monotonic() + grace
        while len(self.answers) < self.count and time.monotonic() < end:
            time.sleep(0.05)
        self.stop.set()
        self.rx.join(5)
        self.sock.close()


@pytest.fixture
def reload_server(servers, tmp_path):
    """A server for reload.test. from a zone file the test may rewrite."""
    zdir = tmp_path / "zones"
    zdir.mkdir()
    path = str(zdir / "reload.test.zone")
    write_atomic(path, zone_text(1, "192.0.2.10"))
    srv = servers.backend({ZONE: path}, label="reload")
    return srv, path


def test_sighup_reloads_without_losing_a_query(reload_server):
    srv, path = reload_server
    assert serial_of(srv) == 1
    stream = QueryStream(srv.port, rate=2000, seconds=3.0)
    stream.start()
    serials = {1: "192.0.2.10"}
    time.sleep(0.3)
    for i in range(2, 8):  # six reloads during the stream
        serials[i] = "192.0.2.%d" % (10 + i)
        write_atomic(path, zone_text(i, serials[i]))
        srv.signal(signal.SIGHUP)
        time.sleep(0.35)
    stream.finish()
    assert not stream.bad, stream.bad[:5]
    lost = sorted(set(range(stream.count)) - set(stream.answers))
    assert not lost, "%d of %d queries got no answer during reloads (first IDs %s)" % (
        len(lost), stream.count, lost[:10])
    seen_serials = set()
    for qid, r in stream.answers.items():
        kind = stream.sent[qid]
        assert r.rcode() == dns.rcode.NOERROR, "ID %d (%s): %s" % (
            qid, kind, dns.rcode.to_text(r.rcode()))
        assert r.flags & dns.flags.AA, "ID %d: AA not set" % qid
        assert len(r.answer) == 1, "ID %d: answer %s" % (qid, r.answer)
        rd = r.answer[0][0]
        if kind == "SOA":
            assert rd.serial in serials, "ID %d: serial %d never written" % (qid, rd.serial)
            seen_serials.add(rd.serial)
        else:
            assert rd.to_text() in serials.values(), "ID %d: A %s never written" % (qid, rd)
    assert len(seen_serials) >= 3, "the stream saw only serials %s: reloads too slow" % (
        sorted(seen_serials))
    # the last version is served, over UDP and TCP
    lib.wait_for(lambda: serial_of(srv) == 7, 10, "serial 7 after the last SIGHUP")
    assert serial_of(srv, tcp=True) == 7
    assert www_of(srv) == "192.0.2.17"


def test_broken_zone_keeps_old_zone(reload_server):
    srv, path = reload_server
    write_atomic(path, zone_text(2, "192.0.2.20"))
    srv.signal(signal.SIGHUP)
    lib.wait_for(lambda: serial_of(srv) == 2, 10, "serial 2")
    log_before = len(srv.log())
    write_in_place(path, broken_zone(3))
    srv.signal(signal.SIGHUP)

    def complained():
        new = srv.log()[log_before:]
        if lib.selftest_backend() == "knot":
            return re.search(r"error|fail", new, re.I) and new
        # signetd: "[ERROR] component: ..." naming the file and line of the bad record
        pat = r"^\[(ERROR|WARN|WARNING)\] [^:]+: .*%s:%d" % (
            re.escape(os.path.basename(path)), BROKEN_LINE)
        return re.search(pat, new, re.M) and new

    log = lib.wait_for(complained, 10, "a log line saying why the zone did not load")
    assert srv.alive()
    for _ in range(20):  # still the old zone, not SERVFAIL, not the half-new one
        assert serial_of(srv) == 2
        assert www_of(srv) == "192.0.2.20"
    # fixing the file and signalling again loads it
    write_atomic(path, zone_text(4, "192.0.2.40"))
    srv.signal(signal.SIGHUP)
    lib.wait_for(lambda: serial_of(srv) == 4, 10, "serial 4 after fixing the zone")
    assert www_of(srv) == "192.0.2.40", log


def signet_only():
    if lib.selftest_backend() == "knot":
        pytest.skip("signetd-only feature (SIGNET_TEST_BACKEND=knot)")


def test_reload_directive_picks_up_changes(servers, tmp_path):
    signet_only()
    path = str(tmp_path / "reload.test.zone")
    write_atomic(path, zone_text(1, "192.0.2.10"))
    srv = servers.signetd(label="reload-1s", zones={ZONE: path}, file_props="reload 1s")
    assert serial_of(srv) == 1
    time.sleep(1.1)  # let at least one poll see the first version
    write_in_place(path, zone_text(2, "192.0.2.20"))
    t0 = time.monotonic()
    lib.wait_for(lambda: serial_of(srv) == 2, 6.0, "serial 2 without a signal")
    elapsed = time.monotonic() - t0
    assert www_of(srv) == "192.0.2.20"
    assert elapsed < 4.0, "took %.1f s with 'reload 1s'" % elapsed
    # a second change is picked up as well
    write_atomic(path, zone_text(3, "192.0.2.30"))
    lib.wait_for(lambda: serial_of(srv) == 3, 6.0, "serial 3 without a signal")
    assert www_of(srv) == "192.0.2.30"


def test_changed_data_same_serial_increments(reload_server):
    """SPEC `serial`: default `keep` for files whose serial moved, otherwise
    `increment`: changed data under an unchanged serial is served with a
    higher serial, so secondaries see the change."""
    signet_only()
    srv, path = reload_server
    assert serial_of(srv) == 1
    write_atomic(path, zone_text(1, "192.0.2.99"))
    srv.signal(signal.SIGHUP)
    lib.wait_for(lambda: www_of(srv) == "192.0.2.99", 10, "new data under the old serial")
    assert serial_of(srv) > 1


def test_sighup_reloads_corefile(servers, tmp_path):
    """SIGHUP re-reads the Corefile: a new zone block appears; a broken
    Corefile leaves the running configuration in place and is logged."""
    signet_only()
    a = str(tmp_path / "reload.test.zone")
    b = str(tmp_path / "other.test.zone")
    write_atomic(a, zone_text(1, "192.0.2.10"))
    write_atomic(b, zone_text(5, "192.0.2.50").replace("reload.test.", "other.test."))
    srv = servers.signetd(label="corefile-reload", zones={ZONE: a})
    conf = os.path.join(srv.workdir, "Corefile")
    q = lib.make_query("other.test.", "SOA")
    r, _ = lib.query(q, srv.port)
    assert r.rcode() == dns.rcode.REFUSED
    good = lib.corefile_for({ZONE: a, "other.test.": b}, srv.port)
    # a broken Corefile first
    log_before = len(srv.log())
    with open(conf, "w") as f:
        f.write(good + "\nbroken.test:%d {\n    file\n" % srv.port)  # unclosed block
    srv.signal(signal.SIGHUP)
    lib.wait_for(lambda: re.search(r"^\[(ERROR|WARN|WARNING)\] .*Corefile",
                                   srv.log()[log_before:], re.M),
                 10, "a log line about the broken Corefile")
    assert srv.alive()
    assert serial_of(srv) == 1
    r, _ = lib.query(lib.make_query("other.test.", "SOA"), srv.port)
    assert r.rcode() == dns.rcode.REFUSED, "half-loaded broken Corefile"
    # then the good one
    with open(conf, "w") as f:
        f.write(good)
    srv.signal(signal.SIGHUP)
    lib.wait_for(lambda: serial_of(srv, "other.test.") == 5, 10, "other.test. after SIGHUP")
    assert serial_of(srv) == 1
