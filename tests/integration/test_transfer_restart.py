"""The journal across a kill -9 and restarts of signetd.

A burst of 100 edits of the zone file (a new serial each, reload every 100 ms), a kill -9
of signetd in the middle of it, a restart with the same storage while the edits go on:

- no version that signetd served (each serial a prober saw) is missing from the journal,
  and signetd never goes back to an older serial;
- the journal (journal.sqlite, read with python's sqlite3) is consistent: one row per
  step, contiguous from the first version to the served one, its newest contents the
  served version, the history not restarted by the restart;
- a knotd secondary that kept following during the burst ends on the last serial, having
  only ever asked for IXFR after its first AXFR; one that was stopped before the burst
  (left at serial 1) and started after it catches up by one IXFR that spans both lives
  of signetd.
Once unsigned, once signed (the journal then holds the signed differences).
"""

import os
import random
import re
import signal
import socket
import threading
import time

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

import lib
import xfr_peers as xp

ZONE = "example.test."
EDITS = 100
KILL_AT = 45       # the edit after which signetd is killed
RESTART_AT = 55    # the edit after which it is started again


def zone_text(serial):
    # SOA refresh 2 s: a secondary that missed the NOTIFYs (stopped meanwhile) asks soon
    return ("$ORIGIN example.test.\n$TTL 300\n"
            "@ IN SOA ns1 hostmaster %d 2 1 604800 60\n"
            "@ IN NS ns1\nns1 IN A 192.0.2.1\n"
            "www IN A 192.0.2.%d\n"
            "burst IN TXT \"edit %d\"\n"
            "h%d IN A 198.51.100.%d\n" % (serial, serial % 250, serial, serial, serial % 250))


class Prober(threading.Thread):
    """Asks signetd for the SOA every few ms; keeps every serial it was answered."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.seen = []
        self.stop_ = threading.Event()

    def run(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # one port for all
        sock.settimeout(0.05)
        try:
            while not self.stop_.is_set():
                s = self.ask(sock)
                if s is not None and (not self.seen or self.seen[-1] != s):
                    self.seen.append(s)
                time.sleep(0.003)
        finally:
            sock.close()

    def ask(self, sock):
        q = lib.make_query(ZONE, "SOA")
        try:
            sock.sendto(q.to_wire(), ("127.0.0.1", self.port))
            while True:
                r = dns.message.from_wire(sock.recvfrom(4096)[0])
                if r.id == q.id:
                    break
        except (OSError, dns.exception.DNSException):
            return None
        if r.rcode() != dns.rcode.NOERROR or not r.answer:
            return None
        return r.answer[0][0].serial

    def stop(self):
        self.stop_.set()
        self.join(5)


def forget(pool, srv):
    """A server killed on purpose: not the pool's to judge at teardown."""
    if srv in pool.servers:
        pool.servers.remove(srv)


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_kill9_in_a_burst_then_ixfr(servers, tmp_path, signed):
    key = xp.Key()
    zf = str(tmp_path / "example.test.zone")
    xp.write_atomic(zf, zone_text(1))
    storage = str(tmp_path / "var")
    live_port, late_port = lib.free_port(), lib.free_port()
    extra = "dnssec {\n    keys %s\n}" % (tmp_path / "keys") if signed else ""
    corefile = xp.primary_corefile(ZONE, zf, storage, key, [live_port, late_port],
                                   extra=extra, reload_="100ms")
    port = lib.free_port()

    def start_signetd(label):
        return servers._track(lambda: lib.start_signetd(servers.workdir(label),
                                                        corefile=corefile, port=port,
                                                        ready_zones=[ZONE]))

    prim = start_signetd("signetd-1")
    live = xp.start_knot_secondary(servers, ZONE, port, key, label="knot-live",
                                   port=live_port, serial=1)
    late_dir = servers.workdir("knot-late")
    late = xp.start_knot_secondary(servers, ZONE, port, key, port=late_port, serial=1,
                                   workdir=late_dir)
    late.stop()  # left behind at serial 1, its zone kept in its journal
    late_hold = xp.PortHold(late_port)

    prober = Prober(port)
    prober.start()
    rng = random.Random(4242)
    killed_at = None
    try:
        for n in range(2, EDITS + 2):
            xp.write_atomic(zf, zone_text(n))
            time.sleep(rng.uniform(0.02, 0.12))
            if n == KILL_AT:
                prim.signal(signal.SIGKILL)
                prim.proc.wait(10)
                hold = xp.PortHold(port)
                forget(servers, prim)
                killed_at = list(prober.seen)
            if n == RESTART_AT:
                hold.release()
                prim = start_signetd("signetd-2")
        final = EDITS + 1
        xp.wait_serial(port, ZONE, final, srv=prim, deadline=30)
    finally:
        prober.stop()
    seen = prober.seen
    assert killed_at and killed_at[-1] >= 10, "too few versions before the kill: %r" % killed_at
    assert "restored from the journal" in prim.log()

    # never back to an older serial, and every served serial is a step of the journal
    assert seen == sorted(seen), "signetd went back to an older serial: %r" % seen
    steps = xp.check_journal(storage, ZONE, final)
    assert steps[0][1] == 1, "the history was restarted: it begins at %d" % steps[0][1]
    boundaries = {steps[0][1]} | {s[2] for s in steps}
    lost = [s for s in seen if s not in boundaries]
    assert not lost, "served but not in the journal: %r (journal %r)" % (lost, boundaries)
    assert len(steps) >= 20, steps

    # the served zone is the last edit, and the journal's newest contents are exactly it
    lines = xp.axfr_lines(port, ZONE, key)
    assert any('burst.example.test. 300 IN TXT "edit %d"' % final == line for line in lines)
    d = xp.diff_lines(lines, xp.journal_contents(storage, ZONE), "served", "journal")
    assert not d, "the journal's newest version is not the served one:\n" + d

    # the live secondary: IXFR only after its first AXFR, ends on the final serial
    xp.wait_serial(live_port, ZONE, final, srv=live, deadline=30)
    log = live.log()
    axfrs = len(re.findall(r"AXFR, incoming, remote [^\n]*, finished", log))
    assert axfrs == 1, "knotd received %d AXFRs:\n%s" % (axfrs, log[-3000:])
    assert "AXFR-style" not in log
    assert "IXFR, incoming" in log
    # the late one: from serial 1 to the final one by one IXFR across the restart
    late_hold.release()
    late = xp.start_knot_secondary(servers, ZONE, port, key, port=late_port, workdir=late_dir,
                                   ready=False)
    xp.wait_serial(late_port, ZONE, final, srv=late, deadline=30)
    xp.assert_pulled_by_ixfr(late, ZONE, 1, final)  # its log is this run's only

    for s in (live, late):
        got = xp.axfr_lines(s.port, ZONE)
        d = xp.diff_lines(lines, got, "signetd", s.kind)
        assert not d, d
    if signed:
        assert {line.split(" ")[3] for line in lines} >= {"RRSIG", "NSEC", "DNSKEY"}
        r = xp.dnssec_verify(lines, ZONE, str(tmp_path), "final.zone")
        assert r.returncode == 0, r.stdout + r.stderr

    # a clean restart with nothing changed: the same version, byte for byte, no new step;
    # a signed zone may also be re-signed as it starts (its keys loaded, signatures
    # refreshed): then one more step, which the secondary follows by IXFR
    prim.stop()
    mark = len(live.log())
    prim = start_signetd("signetd-3")
    assert "serial %d restored from the journal" % final in prim.log()
    now = xp.soa_serial(port, ZONE)
    if not signed or now == final:
        assert now == final
        assert xp.axfr_lines(port, ZONE, key) == lines
        assert xp.journal_steps(storage, ZONE) == steps
    else:
        again = xp.check_journal(storage, ZONE, now)
        assert again[:len(steps)] == steps and len(again) == len(steps) + 1, again[-3:]
        xp.wait_serial(live_port, ZONE, now, srv=live, deadline=30)
        xp.assert_pulled_by_ixfr(live, ZONE, final, now, since=mark)


def test_signing_switched_on_and_off(servers, tmp_path):
    """`dnssec` added while signetd is down, then removed by SIGHUP, the zone data the same
    all along: each time a new version (signed, then unsigned) that a knotd secondary pulls
    by IXFR."""
    key = xp.Key()
    zf = str(tmp_path / "example.test.zone")
    xp.write_atomic(zf, zone_text(1))
    storage = str(tmp_path / "var")
    kport, port = lib.free_port(), lib.free_port()
    plain = xp.primary_corefile(ZONE, zf, storage, key, [kport])
    signed = xp.primary_corefile(ZONE, zf, storage, key, [kport],
                                 extra="dnssec {\n    keys %s\n}" % (tmp_path / "keys"))
    workdir = servers.workdir("signetd")

    def start(corefile):
        return servers._track(lambda: lib.start_signetd(workdir, corefile=corefile, port=port,
                                                        ready_zones=[ZONE]))

    prim = start(plain)
    knot = xp.start_knot_secondary(servers, ZONE, port, key, port=kport, serial=1)
    mark = len(knot.log())
    prim.stop()
    prim = start(signed)
    xp.wait_serial(port, ZONE, 2, srv=prim)
    xp.wait_serial(kport, ZONE, 2, srv=knot)
    xp.assert_pulled_by_ixfr(knot, ZONE, 1, 2, since=mark)
    lines = xp.axfr_lines(port, ZONE, key)
    assert not xp.diff_lines(lines, xp.axfr_lines(kport, ZONE))
    assert {"RRSIG", "NSEC", "DNSKEY"} <= {line.split(" ")[3] for line in lines}
    r = xp.dnssec_verify(xp.axfr_lines(kport, ZONE), ZONE, str(tmp_path), "knot.zone")
    assert r.returncode == 0, r.stdout + r.stderr

    with open(os.path.join(workdir, "Corefile"), "w") as f:
        f.write(plain.replace("{PORT}", str(port)))
    mark = len(knot.log())
    prim.signal(signal.SIGHUP)
    xp.wait_serial(port, ZONE, 3, srv=prim)
    xp.wait_serial(kport, ZONE, 3, srv=knot)
    xp.assert_pulled_by_ixfr(knot, ZONE, 2, 3, since=mark)
    lines = xp.axfr_lines(kport, ZONE)
    assert not {"RRSIG", "NSEC", "DNSKEY"} & {line.split(" ")[3] for line in lines}
    assert lines == xp.axfr_lines(port, ZONE, key)
    xp.check_journal(storage, ZONE, 3)
