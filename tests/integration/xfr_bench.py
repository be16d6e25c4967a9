#!/usr/bin/python3
"""AXFR and IXFR of the signed 100,000-name benchmark zone: signetd beside knotd.

Not a test (pytest does not collect it): a measurement, run by hand.

    make build/signetd
    /usr/bin/python3 tests/integration/xfr_bench.py [--names 100000] [--rounds 5]

Both servers sign bench/genzone.py's zone themselves, the same way: one ECDSAP256SHA256
CSK, NSEC3 with 0 iterations and no salt (RFC 9276). Each AXFR is fetched with kdig
(the same client for both) and with a reader that only counts the messages (the server's
side, without kdig's decoding), ROUNDS times each; the table gives the median wall times,
the bytes, messages and records. Then one A record changes (the serial moves by one) and
the IXFR from the previous serial is fetched: its size is the signed difference (the A,
its RRSIG, the SOA and its RRSIG, old and new), not the zone.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))

import dns.message  # noqa: E402

import lib  # noqa: E402
import xfr_peers as xp  # noqa: E402

ORIGIN = "bench.test."
KDIG = "/usr/bin/kdig"
KNOTC = "/usr/sbin/knotc"


def kdig_xfr(port, qtype="AXFR", serial=None):
    """(wall seconds, bytes, messages, records) of one transfer fetched by kdig."""
    q = "%s=%d" % (qtype, serial) if serial is not None else qtype
    t0 = time.monotonic()
    r = subprocess.run([KDIG, "@127.0.0.1", "-p", str(port), "+tcp", "+noall", "+stats",
                        "+timeout=120", ORIGIN, q], capture_output=True, text=True,
                       timeout=300)
    wall = time.monotonic() - t0
    m = re.search(r"Received (\d+) B \((\d+) messages, (\d+) records\)", r.stdout)
    if m is None:
        raise RuntimeError("kdig: %s %s" % (r.stdout, r.stderr))
    return wall, int(m.group(1)), int(m.group(2)), int(m.group(3))


def raw_axfr(port, nmsgs):
    """Wall seconds to receive an AXFR of nmsgs messages, nothing parsed: what the server
    and loopback take, without the client's decoding."""
    q = dns.message.make_query(ORIGIN, "AXFR").to_wire()
    t0 = time.monotonic()
    s = lib.tcp_connect(port, timeout=120)
    try:
        s.sendall(struct.pack("!H", len(q)) + q)
        for _ in range(nmsgs):
            if lib.tcp_read_msg(s) is None:
                raise RuntimeError("the AXFR ended early")
    finally:
        s.close()
    return time.monotonic() - t0


def soa(port):
    return xp.soa_serial(port, ORIGIN, timeout=1.0)


def knot_conf(workdir, port, zonefile):
    return "\n".join([
        "server:",
        "    listen: 127.0.0.1@%d" % port,
        "    rundir: \"%s\"" % workdir,
        "database:",
        "    storage: \"%s\"" % workdir,
        "acl:",
        "  - id: all",
        "    address: 127.0.0.0/8",
        "    action: transfer",
        "policy:",
        "  - id: bench",
        "    algorithm: ecdsap256sha256",
        "    single-type-signing: on",
        "    nsec3: on",
        "    nsec3-iterations: 0",
        "    nsec3-salt-length: 0",
        "    rrsig-lifetime: 14d",
        "    rrsig-refresh: 7d",
        "template:",
        "  - id: default",
        "    storage: \"%s\"" % workdir,
        "    zonefile-sync: -1",
        "    zonefile-load: difference-no-serial",
        "    journal-content: all",
        "    dnssec-signing: on",
        "    dnssec-policy: bench",
        "    serial-policy: increment",
        "zone:",
        "  - domain: %s" % ORIGIN,
        "    file: \"%s\"" % zonefile,
        "    acl: all",
        "log:",
        "  - target: stderr",
        "    any: info",
        "",
    ])


def signetd_corefile(zonefile, storage, port):
    return "\n".join([
        "%s:%d {" % (ORIGIN.rstrip("."), port),
        "    bind 127.0.0.1",
        "    file %s {" % zonefile,
        "        reload 1s",
        "    }",
        "    dnssec {",
        "        keys %s/keys" % storage,
        "        nsec3 0 -",
        "    }",
        "    transfer {",
        "        to *",
        "    }",
        "    storage %s" % storage,
        "}",
        "",
    ])


def change_one_record(path, new_serial):
    """The first host's A record gets another address; the SOA serial is set."""
    with open(path) as f:
        text = f.read()
    text = re.sub(r"(IN SOA \S+ \S+ )(\d+)", lambda m: m.group(1) + str(new_serial), text,
                  count=1)
    m = re.search(r"^(\S+)\s+(?:\d+\s+)?IN\s+A\s+(\d+\.\d+\.\d+\.\d+)$", text, re.M)
    if m is None:
        m = re.search(r"^(\S+)\s+(?:\d+\s+)?A\s+(\d+\.\d+\.\d+\.\d+)$", text, re.M)
    old_line = m.group(0)
    text = text.replace(old_line, old_line.replace(m.group(2), "203.0.113.77"), 1)
    xp.write_atomic(path, text)
    return m.group(1)


def measure(name, port, rounds):
    runs = [kdig_xfr(port) for _ in range(rounds)]
    walls = [r[0] for r in runs]
    _, nbytes, msgs, recs = runs[-1]
    raw = [raw_axfr(port, msgs) for _ in range(rounds)]
    return {"server": name, "axfr_seconds_median": statistics.median(walls),
            "axfr_seconds_min": min(walls), "axfr_raw_seconds_median": statistics.median(raw),
            "axfr_bytes": nbytes, "axfr_messages": msgs, "axfr_records": recs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--names", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--signetd", default=os.path.join(lib.REPO, "build", "signetd"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="xfr-bench-")
    procs = []
    try:
        src = os.path.join(tmp, "bench.test.zone")
        subprocess.run([sys.executable, os.path.join(lib.REPO, "bench", "genzone.py"),
                        "--names", str(a.names), src, os.path.join(tmp, "queries.txt")],
                       check=True, capture_output=True)
        results = []

        # signetd
        sdir = os.path.join(tmp, "signetd")
        os.makedirs(sdir)
        szone = os.path.join(sdir, "bench.test.zone")
        shutil.copy(src, szone)
        sport = lib.free_port()
        with open(os.path.join(sdir, "Corefile"), "w") as f:
            f.write(signetd_corefile(szone, os.path.join(sdir, "var"), sport))
        slog = open(os.path.join(sdir, "signetd.log"), "wb")
        t0 = time.monotonic()
        sp = subprocess.Popen([a.signetd, "-conf", os.path.join(sdir, "Corefile")], cwd=sdir,
                              stdout=slog, stderr=subprocess.STDOUT)
        procs.append(sp)
        lib.wait_for(lambda: soa(sport) is not None, 600, "signetd to sign and serve",
                     interval=0.2)
        s_ready = time.monotonic() - t0

        # knotd
        kdir = os.path.join(tmp, "knotd")
        os.makedirs(kdir)
        kzone = os.path.join(kdir, "bench.test.zone")
        shutil.copy(src, kzone)
        kport = lib.free_port()
        kconf = os.path.join(kdir, "knot.conf")
        with open(kconf, "w") as f:
            f.write(knot_conf(kdir, kport, kzone))
        klog = open(os.path.join(kdir, "knotd.log"), "wb")
        t0 = time.monotonic()
        kp = subprocess.Popen([lib.KNOTD, "-c", kconf], cwd=kdir, stdout=klog,
                              stderr=subprocess.STDOUT)
        procs.append(kp)
        lib.wait_for(lambda: soa(kport) is not None, 600, "knotd to sign and serve",
                     interval=0.2)
        k_ready = time.monotonic() - t0

        results.append(dict(measure("signetd", sport, a.rounds), ready_seconds=s_ready))
        results.append(dict(measure("knotd", kport, a.rounds), ready_seconds=k_ready))

        # one A record changes: IXFR size
        s_old, k_old = soa(sport), soa(kport)
        change_one_record(szone, s_old + 1)
        lib.wait_for(lambda: soa(sport) == s_old + 1, 600, "signetd to serve the change",
                     interval=0.2)
        change_one_record(kzone, 1)  # knot: serial-policy increment, the file's is ignored
        subprocess.run([KNOTC, "-c", kconf, "zone-reload", ORIGIN], check=True,
                       capture_output=True)
        lib.wait_for(lambda: soa(kport) not in (None, k_old), 600, "knotd to serve the change",
                     interval=0.2)
        for r, port, old in ((results[0], sport, s_old), (results[1], kport, k_old)):
            _, nbytes, msgs, recs = kdig_xfr(port, "IXFR", old)
            r.update(ixfr_bytes=nbytes, ixfr_messages=msgs, ixfr_records=recs)

        print("%-8s %9s %9s %9s %12s %9s %9s %8s %8s" % (
            "server", "ready s", "AXFR s", "raw s", "AXFR bytes", "messages", "records",
            "IXFR B", "IXFR RRs"))
        for r in results:
            print("%-8s %9.2f %9.3f %9.3f %12d %9d %9d %8d %8d" % (
                r["server"], r["ready_seconds"], r["axfr_seconds_median"],
                r["axfr_raw_seconds_median"], r["axfr_bytes"], r["axfr_messages"],
                r["axfr_records"], r["ixfr_bytes"], r["ixfr_records"]))
        print(json.dumps(results, indent=1))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if a.keep:
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
