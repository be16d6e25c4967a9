#!/usr/bin/python3
"""The etcd source's benchmark. Not a test (pytest does not collect it): run it by hand
after `make all`:

    /usr/bin/python3 tests/integration/etcd_bench.py [SIGNETD]

1. Change-to-answer latency: 1,000 puts of new services, one after the other, each timed
   from just before the put is sent to etcd until signetd answers the new name over UDP
   (polled every 0.5 ms); median and 99th percentile, for an unsigned and a signed zone.
2. Load time and memory for 50,000 services (5,000 names of 10 instances each, every one
   an address and an SRV target): time from signetd's start to its first answer, the load
   time signetd logs, and its VmRSS once serving and at rest (3 s after it answers: freed
   memory goes back 2 s after the last update), beside an empty zone's VmRSS.

SIGNETD defaults to build/signetd (the release build). Everything runs on loopback, etcd
included (Debian's etcd-server).
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import etcd_lib as el  # noqa: E402
import lib  # noqa: E402

ZONE = "bench.local."
PUTS = int(os.environ.get("ETCD_BENCH_PUTS", "1000"))
SERVICES = int(os.environ.get("ETCD_BENCH_SERVICES", "50000"))


class Pool:
    """The little of conftest's ServerPool the helpers need."""

    def __init__(self, root):
        self.root = root
        self.servers = []
        self.n = 0

    def workdir(self, label):
        self.n += 1
        path = os.path.join(self.root, "%s-%d" % (label, self.n))
        os.makedirs(path)
        return path

    def _track(self, start):
        srv = start()
        self.servers.append(srv)
        return srv

    def signetd(self, label="signetd", **kw):
        return self._track(lambda: lib.start_signetd(self.workdir(label), **kw))

    def close(self):
        for srv in reversed(self.servers):
            srv.stop()


def latency(pool, etcd, signed):
    prefix = "/skydns/local/bench/%s" % ("signed" if signed else "plain")
    srv = el.start_signetd(pool, [ZONE], [etcd.url], extra="dnssec" if signed else "",
                           label="signetd-latency")
    times = []
    for i in range(PUTS):
        name = "s%d.%s.%s" % (i, "signed" if signed else "plain", ZONE)
        addr = "10.%d.%d.%d" % (1 + (i >> 16), (i >> 8) & 255, i & 255)
        t0 = time.monotonic()
        etcd.put("%s/s%d" % (prefix, i), {"host": addr})
        while el.short(srv.port, name, "A") != [addr]:
            time.sleep(0.0005)
        times.append(time.monotonic() - t0)
    srv.stop()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1], times[-1]


def load(pool, etcd, signed, changes=0):
    srv = el.start_signetd(pool, [ZONE], [etcd.url], extra="dnssec" if signed else "",
                           label="signetd-load", ready=False)
    t0 = time.monotonic()
    srv.wait_ready([ZONE], deadline=600)
    ready = time.monotonic() - t0
    # at rest: freed memory is given back once updates pause for 2 s
    time.sleep(3)
    rss = lib.vmrss_kib(srv.pid)
    times = []
    for i in range(changes):
        addr = "10.250.0.%d" % (i + 1)
        t0 = time.monotonic()
        etcd.put("/skydns/local/bench/extra/e%d" % i, {"host": addr})
        while el.short(srv.port, "e%d.extra.%s" % (i, ZONE), "A") != [addr]:
            time.sleep(0.001)
        times.append(time.monotonic() - t0)
    etcd.delete("/skydns/local/bench/extra/", prefix=True)
    # the first load (the puts that follow log theirs too)
    m = re.findall(r"loaded serial \d+, (\d+) records, (\d+) names, in ([0-9.]+) s", srv.log())
    records, names, build = m[0] if m else ("?", "?", "?")
    signing = re.findall(r"signed: (\d+) signatures made.*?, ([0-9.]+) s", srv.log())
    srv.stop()
    return (ready, build, records, names, rss, signing[0] if signing else None,
            statistics.median(times) if times else None)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(lib.REPO, "build", "signetd")
    os.environ["SIGNETD"] = os.path.abspath(binary)
    root = tempfile.mkdtemp(prefix="etcd-bench-")
    pool = Pool(root)
    try:
        etcd = el.Etcd(pool.workdir("etcd"))
        pool._track(etcd.start)
        print("signetd: %s; etcd %s; %d CPUs" % (binary, subprocess.run(
            [el.ETCD, "--version"], capture_output=True, text=True).stdout.split()[2],
            os.cpu_count()))
        for signed in (False, True):
            med, p99, worst = latency(pool, etcd, signed)
            print("change-to-answer, %d puts, %s zone: median %.1f ms, p99 %.1f ms, max %.1f ms"
                  % (PUTS, "signed" if signed else "unsigned", med * 1e3, p99 * 1e3,
                     worst * 1e3))
        etcd.delete("/skydns/local/bench/", prefix=True)
        rss0 = load(pool, etcd, False)[4]
        print("empty zone: VmRSS %.1f MiB" % (rss0 / 1024))
        items = []
        for i in range(SERVICES):
            n, k = divmod(i, 10)
            items.append(("/skydns/local/bench/svc%d/i%d" % (n, k),
                          {"host": "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255),
                           "port": 8080}))
        t0 = time.monotonic()
        etcd.put_many(items)
        print("%d services put in %.1f s" % (SERVICES, time.monotonic() - t0))
        for signed in (False, True):
            ready, build, records, names, rss, sig, change = load(pool, etcd, signed, 20)
            print("%d services, %s: first answer %.2f s after start (zone built in %s s: %s "
                  "records, %s names%s); VmRSS %.1f MiB; a put answered in %.0f ms (median "
                  "of 20)" % (SERVICES, "signed" if signed else "unsigned", ready, build,
                              records, names, ", %s signatures in %s s" % sig if sig else "",
                              rss / 1024, change * 1e3))
    finally:
        pool.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
