#!/usr/bin/python3
"""The sqlite source's benchmark: the 100,000-name bench zone from SQLite against the same
zone from its file, and the time from a committed change to its answer.

Not a test (pytest does not collect it): run it by hand after `make all`:

    /usr/bin/python3 tests/integration/sqlite_bench.py [SIGNETD]

SIGNETD defaults to build/signetd (the release build). The zone is bench/genzone.py's
bench.test. (100,000 names, about 181,000 records), put into a PowerDNS database by
zone2sql --gsqlite and the sqlite3 command line, kept in build/bench/sqlite/.

1. Load: signetd is started ROUNDS times (SQLITE_BENCH_ROUNDS, 3) on each source; measured
   are the time from the start of the process to its first answer (SOA over UDP), the load
   time signetd logs, and VmRSS / VmHWM once it answers. Medians.
2. Change to answer: signetd serves the zone from the database with `poll` POLL
   (SQLITE_BENCH_POLL, 1s, the default); UPDATES (SQLITE_BENCH_UPDATES, 200) times, one
   host's A record is changed by another process (an UPDATE committed through Python's
   sqlite3), and the time from the commit to the first UDP answer with the new address is
   taken (queries every 2 ms). Before each update a random pause of up to one poll interval,
   so that commits fall anywhere in the poll cycle. Median, 90th percentile and worst.
   SQLITE_BENCH_DNSSEC=1 signs the zone (nsec, managed keys) to include incremental
   re-signing.
"""

import os
import random
import shutil
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import time

import lib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "build", "bench", "sqlite")
GENZONE = os.path.join(ROOT, "bench", "genzone.py")
SCHEMA = "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql"
ZONE = "bench.test."

ROUNDS = int(os.environ.get("SQLITE_BENCH_ROUNDS", "3"))
UPDATES = int(os.environ.get("SQLITE_BENCH_UPDATES", "200"))
POLL = os.environ.get("SQLITE_BENCH_POLL", "1s")
DNSSEC = os.environ.get("SQLITE_BENCH_DNSSEC", "") == "1"


def poll_seconds(text):
    units = {"ms": 0.001, "s": 1.0, "m": 60.0}
    for u in ("ms", "s", "m"):
        if text.endswith(u):
            return float(text[:-len(u)]) * units[u]
    return float(text)


def make_query(qid, name, qtype):
    wire = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        wire += bytes([len(label)]) + label.encode()
    return wire + b"\x00" + struct.pack("!HH", qtype, 1)


def ask(port, name, qtype, timeout=0.2):
    """The response bytes to one UDP query, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    qid = random.randint(0, 65535)
    try:
        s.sendto(make_query(qid, name, qtype), ("127.0.0.1", port))
        data, _ = s.recvfrom(65535)
        return data if data[:2] == struct.pack("!H", qid) else None
    except OSError:
        return None
    finally:
        s.close()


def first_a(resp):
    """The first A address in the answer section of a response without compression
    surprises (the question name is the owner, compressed to offset 12)."""
    if resp is None or len(resp) < 12:
        return None
    an = struct.unpack("!H", resp[6:8])[0]
    off = 12
    while resp[off] != 0:
        off += 1 + resp[off]
    off += 5
    for _ in range(an):
        if resp[off] & 0xC0:
            off += 2
        else:
            while resp[off] != 0:
                off += 1 + resp[off]
            off += 1
        rtype, _, _, rdlen = struct.unpack("!HHIH", resp[off:off + 10])
        off += 10
        if rtype == 1 and rdlen == 4:
            return socket.inet_ntoa(resp[off:off + 4])
        off += rdlen
    return None


def prepare():
    """The zone file and its database (made once, kept in build/bench/sqlite)."""
    os.makedirs(OUT, exist_ok=True)
    zonefile = os.path.join(OUT, "bench.test.zone")
    db = os.path.join(OUT, "bench.sqlite")
    if not os.path.exists(zonefile):
        subprocess.run([sys.executable, GENZONE, zonefile, os.path.join(OUT, "queries.txt")],
                       check=True, stdout=subprocess.DEVNULL)
    if not os.path.exists(db):
        t0 = time.monotonic()
        sql = subprocess.run(["zone2sql", "--gsqlite", "--zone=" + zonefile,
                              "--zone-name=bench.test"], check=True, capture_output=True,
                             text=True).stdout
        tmp = db + ".tmp"
        if os.path.exists(tmp):
            os.unlink(tmp)
        with open(SCHEMA) as f:
            subprocess.run(["sqlite3", tmp], input=f.read(), check=True, text=True)
        subprocess.run(["sqlite3", tmp], input="BEGIN;\n" + sql + "COMMIT;\n", check=True,
                       text=True)
        os.rename(tmp, db)
        print("database made by zone2sql + sqlite3 in %.1f s (%.1f MB)" % (
            time.monotonic() - t0, os.path.getsize(db) / 1e6))
    return zonefile, db


def corefile(workdir, directive, port):
    lines = ["bench.test:%d {" % port, "    bind 127.0.0.1", "    " + directive]
    if DNSSEC:
        lines += ["    dnssec {", "        keys keys", "        nsec", "    }"]
    lines.append("}")
    path = os.path.join(workdir, "Corefile")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def start(signetd, workdir, directive):
    port = lib.free_port()
    conf = corefile(workdir, directive, port)
    log = open(os.path.join(workdir, "signetd.log"), "w")
    t0 = time.monotonic()
    proc = subprocess.Popen([signetd, "-conf", conf, "-workers", "1"], cwd=workdir,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    while ask(port, ZONE, 6, timeout=0.05) is None:
        if proc.poll() is not None or time.monotonic() - t0 > 600:
            raise RuntimeError("signetd did not answer; see %s" % log.name)
        time.sleep(0.002)
    return proc, port, time.monotonic() - t0, log


def stop(proc, log):
    proc.terminate()
    proc.wait(30)
    log.close()


def logged_load(workdir):
    with open(os.path.join(workdir, "signetd.log")) as f:
        for line in f:
            if "loaded serial" in line:
                return float(line.rsplit(" in ", 1)[1].split()[0])
    return None


def bench_load(signetd, zonefile, db):
    results = {}
    for name, directive in (("file", "file " + zonefile), ("sqlite", "sqlite " + db)):
        rows = []
        for r in range(ROUNDS):
            workdir = os.path.join(OUT, "run-%s-%d" % (name, r))
            shutil.rmtree(workdir, ignore_errors=True)
            os.makedirs(workdir)
            proc, _, ready, log = start(signetd, workdir, directive)
            time.sleep(0.5)
            rows.append((ready, logged_load(workdir), status(proc.pid, "VmRSS"),
                         status(proc.pid, "VmHWM")))
            stop(proc, log)
        results[name] = [statistics.median(x[i] for x in rows) for i in range(4)]
    print("\nload of bench.test. (100,000 names), median of %d starts, -workers 1%s" % (
        ROUNDS, ", signed" if DNSSEC else ""))
    print("%-8s %14s %12s %12s %12s" % ("source", "start->answer", "load (log)", "VmRSS",
                                         "VmHWM"))
    for name, (ready, load, rss, hwm) in results.items():
        print("%-8s %12.3f s %10.3f s %9.1f MB %9.1f MB" % (name, ready, load, rss / 1024,
                                                            hwm / 1024))
    return results


def bench_latency(signetd, db):
    workdir = os.path.join(OUT, "run-latency")
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    work_db = os.path.join(workdir, "bench.sqlite")
    shutil.copy(db, work_db)
    conn = sqlite3.connect(work_db, isolation_level=None)
    rows = conn.execute(
        "SELECT min(id), name FROM records WHERE type = 'A' GROUP BY name "
        "HAVING count(*) = 1 AND name NOT LIKE '%*%' ORDER BY min(id) LIMIT ?",
        (UPDATES,)).fetchall()
    proc, port, _, log = start(signetd, workdir, "sqlite bench.sqlite {\n        poll %s\n"
                               "    }" % POLL)
    poll = poll_seconds(POLL)
    took = []
    try:
        for i, (rid, name) in enumerate(rows):
            time.sleep(random.uniform(0, poll))
            addr = "10.250.%d.%d" % (i // 250, i % 250 + 1)
            conn.execute("UPDATE records SET content = ? WHERE id = ?", (addr, rid))
            t0 = time.monotonic()
            while first_a(ask(port, name, 1)) != addr:
                if time.monotonic() - t0 > 120:
                    raise RuntimeError("%s never answered %s" % (name, addr))
                time.sleep(0.002)
            took.append(time.monotonic() - t0)
    finally:
        stop(proc, log)
        conn.close()
    took.sort()
    with open(os.path.join(workdir, "signetd.log")) as f:
        loads = [float(line.rsplit(" in ", 1)[1].split()[0]) for line in f
                 if "loaded serial" in line][1:]
    print("\nchange to answer, %d UPDATEs of one A record each, poll %s%s" % (
        len(took), POLL, ", signed" if DNSSEC else ""))
    print("median %.3f s, p90 %.3f s, worst %.3f s, best %.3f s" % (
        statistics.median(took), took[int(len(took) * 0.9) - 1], took[-1], took[0]))
    if loads:
        print("of which the zone's reload (as logged): median %.3f s, worst %.3f s" % (
            statistics.median(loads), max(loads)))
    return took


def main():
    signetd = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "signetd")
    zonefile, db = prepare()
    bench_load(signetd, zonefile, db)
    if UPDATES > 0:
        bench_latency(signetd, db)


if __name__ == "__main__":
    main()
