#!/usr/bin/python3
"""CPU per query of the query-path stages, side by side with the plain path.

Not a test (pytest does not collect it): run it by hand after `make all build/bench/loadgen`
and `python3 bench/genzone.py` (or one `make bench`, which makes the zone and queries):

    /usr/bin/python3 tests/integration/stages_bench.py [SIGNETD]

Each scenario starts SIGNETD (default build/signetd, release build) with one worker pinned to
CPU 0 on the bench zone (bench.test., about 181,000 records), drives it from CPU 1 with
build/bench/loadgen, and reads the server's CPU time (utime + stime from /proc/PID/stat,
over exactly the measured interval, as loadgen -P does). Two query streams: the bench's
200,000 uniform random queries (a cache mostly misses), and a hot set of its first 1,000
queries repeated (a cache mostly hits). Prints a table; every number is the median of
STAGES_BENCH_ROUNDS rounds (3) of STAGES_BENCH_SECONDS (5) each, the scenarios measured in
turns; "other" is the CPU time other processes took on CPUs 0-1 (disturbance).
"""

import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import time

import lib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "build", "bench", "data")
LOADGEN = os.path.join(ROOT, "build", "bench", "loadgen")
ROUNDS = int(os.environ.get("STAGES_BENCH_ROUNDS", "3"))
SECONDS = float(os.environ.get("STAGES_BENCH_SECONDS", "5"))

SCENARIOS = [
    ("plain", ""),
    ("prometheus", "\tprometheus 127.0.0.1:{MPORT}\n"),
    ("cache", "\tcache\n"),
    ("rewrite+loadbalance",
     "\trewrite name suffix .alias.test. .bench.test. answer auto\n\tloadbalance\n"),
    ("acl+cache+rewrite+loadbalance+prometheus",
     "\tacl {\n\t\tblock net 192.0.2.0/24\n\t}\n\tcache\n"
     "\trewrite name suffix .alias.test. .bench.test. answer auto\n\tloadbalance\n"
     "\tprometheus 127.0.0.1:{MPORT}\n"),
]


def soa_ok(port):
    q = struct.pack("!HHHHHH", 0x1234, 0, 1, 0, 0, 0)
    q += b"\x05bench\x04test\x00" + struct.pack("!HH", 6, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    try:
        s.sendto(q, ("127.0.0.1", port))
        data = s.recv(4096)
        return len(data) > 12 and data[:2] == b"\x12\x34" and (data[3] & 0xF) == 0
    except OSError:
        return False
    finally:
        s.close()


def start(signetd, name, body, workdir):
    port, mport = lib.free_port(), lib.free_port()
    os.makedirs(workdir, exist_ok=True)
    corefile = os.path.join(workdir, "Corefile")
    with open(corefile, "w") as f:
        f.write("bench.test:%d {\n\tbind 127.0.0.1\n\tfile %s\n%s}\n"
                % (port, os.path.join(DATA, "bench.test.zone"), body.replace("{MPORT}",
                                                                             str(mport))))
    log = open(os.path.join(workdir, "signetd.log"), "wb")
    proc = subprocess.Popen(["taskset", "-c", "0", signetd, "-conf", corefile, "-workers", "1",
                             "-quiet"], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    end = time.monotonic() + 300
    while not soa_ok(port):
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            raise RuntimeError("%s did not start; see %s" % (name, workdir))
        time.sleep(0.05)
    return proc, port


def measure(proc, port, queries):
    out = subprocess.run(["taskset", "-c", "1", LOADGEN, "-s", "127.0.0.1", "-p", str(port),
                          "-f", queries, "-t", str(SECONDS), "-w", "1", "-W", "200", "-S", "4",
                          "-c", "1", "-P", str(proc.pid)],
                         capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    busy = sum(r["cpu_busy_s"][:2]) if len(r["cpu_busy_s"]) >= 2 else 0.0
    r["other_pct"] = max(0.0, 100 * (busy - r["server_cpu_s"] - r["loadgen_cpu_s"])
                         / r["duration_s"])
    return r


def main():
    signetd = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "signetd")
    uniform = os.path.join(DATA, "queries.txt")
    if not os.path.exists(uniform) or not os.path.exists(LOADGEN):
        sys.exit("run `make bench` once (zone, queries and loadgen), then this")
    hot = os.path.join(ROOT, "build", "bench", "stages-hot.txt")
    with open(uniform) as f, open(hot, "w") as g:
        for i, line in enumerate(f):
            if i >= 1000:
                break
            g.write(line)
    sets = (("uniform", uniform), ("hot 1000", hot))
    # Every scenario is started once and measured in turns, so that other load on the
    # machine falls on all of them alike.
    procs = {}
    results = {}
    try:
        for name, body in SCENARIOS:
            procs[name] = start(signetd, name, body,
                                os.path.join(ROOT, "build", "bench", "stages", name))
        for rnd in range(ROUNDS):
            for qname, qfile in sets:
                for name, _ in SCENARIOS:
                    proc, port = procs[name]
                    r = measure(proc, port, qfile)
                    results.setdefault((qname, name), []).append(r)
                    print("round %d %-9s %-42s %6.2f us/query, other load %4.1f%%"
                          % (rnd + 1, qname, name, 1e6 * r["server_cpu_s"] / r["answered"],
                             r["other_pct"]), file=sys.stderr)
    finally:
        for proc, _ in procs.values():
            proc.terminate()
            proc.wait(30)
    print("%-9s %-42s %13s %9s %11s %7s" % ("queries", "stages", "CPU us/query", "vs plain",
                                           "answers/s", "other"))
    for qname, _ in sets:
        base = None
        for name, _ in SCENARIOS:
            rs = results[(qname, name)]
            cpu = statistics.median(1e6 * r["server_cpu_s"] / r["answered"] for r in rs)
            qps = statistics.median(r["qps"] for r in rs)
            other = statistics.median(r["other_pct"] for r in rs)
            lost = sum(r["lost"] for r in rs)
            base = cpu if base is None else base
            print("%-9s %-42s %13.2f %8.0f%% %11.0f %6.0f%%%s"
                  % (qname, name, cpu, 100 * cpu / base, qps, other,
                     "  (lost %d)" % lost if lost else ""))


if __name__ == "__main__":
    main()
