"""Helpers of the sqlite source's tests (test_sqlite.py) and benchmark (sqlite_bench.py).

Databases are made the way a PowerDNS operator makes them: the schema of
pdns-backend-sqlite3 loaded with the sqlite3 command line, zones converted by
PowerDNS's zone2sql --gsqlite and loaded the same way; changes are made with
the sqlite3 command line (another process, as PowerDNS's tools or an
application would).
"""

import os
import re
import subprocess
import time

import dns.rcode

import lib

SCHEMA = "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql"
SQLITE3 = os.environ.get("SQLITE3", "/usr/bin/sqlite3")
ZONE2SQL = os.environ.get("ZONE2SQL", "/usr/bin/zone2sql")


def sql(db, statements, timeout=30):
    """Run SQL with the sqlite3 command line; return its output (stripped)."""
    r = subprocess.run([SQLITE3, "-batch", db], input=statements, capture_output=True,
                       text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("sqlite3 %s failed (%d): %s\nSQL: %s" % (
            db, r.returncode, r.stderr, statements[:500]))
    return r.stdout.strip()


def zone2sql(zonefile, origin):
    """The SQL zone2sql --gsqlite writes for one zone file."""
    r = subprocess.run([ZONE2SQL, "--gsqlite", "--zone=%s" % zonefile,
                        "--zone-name=%s" % origin.rstrip(".")],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("zone2sql %s failed (%d): %s" % (zonefile, r.returncode, r.stderr))
    return r.stdout


def make_db(db, zones):
    """A PowerDNS gsqlite3 database at db holding zones (origin -> zone file)."""
    if os.path.exists(db):
        os.unlink(db)
    with open(SCHEMA) as f:
        sql(db, f.read())
    for origin, path in zones.items():
        sql(db, "BEGIN;\n" + zone2sql(path, origin) + "\nCOMMIT;\n", timeout=600)
    return db


def corefile(db, zones, poll=None, extra=""):
    """One server block per zone (port left as {PORT}), each served from db."""
    blocks = []
    for origin in zones:
        body = ["    bind 127.0.0.1"]
        if poll:
            body.append("    sqlite %s {\n        poll %s\n    }" % (db, poll))
        else:
            body.append("    sqlite %s" % db)
        if extra:
            body += ["    " + x for x in extra.strip().splitlines()]
        blocks.append("%s:{PORT} {\n%s\n}\n" % (origin.rstrip("."), "\n".join(body)))
    return "\n".join(blocks)


def answer(port, name, rdtype="A", tcp=False, timeout=1.0):
    """(rcode text, sorted rdata texts) of an authoritative answer."""
    m, _ = lib.query(lib.make_query(name, rdtype), port, tcp=tcp, timeout=timeout)
    rds = sorted(rd.to_text() for rrset in m.answer if rrset.rdtype == dns.rdatatype.from_text(
        rdtype) for rd in rrset)
    return dns.rcode.to_text(m.rcode()), rds


def soa_serial(port, zone, timeout=0.5):
    try:
        m, _ = lib.query(lib.make_query(zone, "SOA"), port, timeout=timeout)
    except (TimeoutError, OSError):
        return None
    for rrset in m.answer:
        for rd in rrset:
            if rd.rdtype == dns.rdatatype.SOA:
                return rd.serial
    return None


def wait_answer(port, name, rdtype, want, deadline=10.0, interval=0.01):
    """Poll until (rcode, rdatas) == want; return the seconds it took."""
    t0 = time.monotonic()
    last = None
    while True:
        try:
            last = answer(port, name, rdtype, timeout=0.5)
            if last == want:
                return time.monotonic() - t0
        except (TimeoutError, OSError) as e:
            last = e
        if time.monotonic() - t0 > deadline:
            raise AssertionError("%s %s: waited %.1fs for %r, last %r" % (
                name, rdtype, deadline, want, last))
        time.sleep(interval)


# --------------------------------------------------------------------------
# knotd as a secondary (no TSIG: loopback only)

def start_knot_secondary(workdir, zone, primary_port, port):
    """knotd transferring zone from 127.0.0.1@primary_port (a lib.Server)."""
    os.makedirs(workdir, exist_ok=True)
    conf = os.path.join(workdir, "knot.conf")
    with open(conf, "w") as f:
        f.write(lib.knot_secondary_conf(workdir, port, zone, primary_port))
    return lib.spawn_knotd(workdir, conf, port)


def knot_transfers(srv, zone):
    """The kinds of the incoming transfers knotd finished for zone, in order."""
    return re.findall(r"\[%s\] (AXFR|IXFR), incoming, remote [^\n]*?, finished" %
                      re.escape(zone), srv.log())
