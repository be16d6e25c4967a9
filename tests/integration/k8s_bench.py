#!/usr/bin/env python3
"""Benchmark of the kubernetes source (not part of make test; run it on the release build):

  python3 tests/integration/k8s_bench.py [--signetd build/signetd] [--services 10000]
                                         [--endpoints 3] [--events 500] [--headless]

- memory per service: VmRSS of signetd serving cluster.local, in-addr.arpa and ip6.arpa
  from N services with E endpoints each (ClusterIP services, one EndpointSlice each),
  minus VmRSS of the same signetd with an empty cluster, divided by N;
- event-to-answer latency: a Service created (or deleted) on the fake API server until
  signetd answers it (UDP, polled every 0.5 ms), over --events events, on a small cluster
  and on the big one; median, 99th percentile and maximum.
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import k8s_lib as k  # noqa: E402
import lib  # noqa: E402
import test_kubernetes as tk  # noqa: E402


class Pool:
    """ServerPool's interface (conftest.py) without pytest."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="k8s-bench-")
        self.servers = []
        self.n = 0

    def workdir(self, label):
        self.n += 1
        d = os.path.join(self.dir, "%s-%d" % (label, self.n))
        os.makedirs(d)
        return d

    def _track(self, start):
        srv = start()
        self.servers.append(srv)
        return srv

    def close(self):
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def latency(fake, srv, events, prefix):
    lat = []
    for i in range(events // 2):
        name = "%s-%d.default.svc.cluster.local." % (prefix, i)
        ip = "10.250.%d.%d" % (i // 256, i % 256)
        t0 = time.monotonic()
        fake.apply(k.service("%s-%d" % (prefix, i), ips=(ip,)))
        lib.wait_for(tk.name_is(srv, name, [ip]), 10, interval=0.0005)
        lat.append(time.monotonic() - t0)
        t0 = time.monotonic()
        fake.delete(k.service("%s-%d" % (prefix, i)))
        lib.wait_for(tk.name_is(srv, name, "NXDOMAIN"), 10, interval=0.0005)
        lat.append(time.monotonic() - t0)
    lat.sort()
    return (statistics.median(lat) * 1000, lat[max(0, int(len(lat) * 0.99) - 1)] * 1000,
            lat[-1] * 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--signetd", default=os.path.join(lib.REPO, "build", "signetd"))
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--endpoints", type=int, default=3)
    ap.add_argument("--events", type=int, default=500)
    ap.add_argument("--big-events", type=int, default=50)
    a = ap.parse_args()
    os.environ["SIGNETD"] = os.path.abspath(a.signetd)
    pool = Pool()
    try:
        fake = k.start_fake(pool)
        fake.apply(k.namespace("default"), k.service("kubernetes", ips=("10.3.0.1",)))
        small = k.start_signetd(pool, fake.url, label="small")
        rss_empty = lib.vmrss_kib(small.pid)
        p50, p99, mx = latency(fake, small, a.events, "small")
        print("event-to-answer, small cluster, %d events: median %.2f ms, p99 %.2f ms, "
              "max %.2f ms" % (a.events, p50, p99, mx))
        small.stop()

        tk.load_fake(fake, tk.bulk_objects(a.services, a.endpoints))
        t0 = time.monotonic()
        workdir = pool.workdir("big")
        big = pool._track(lambda: lib.start_signetd(
            workdir, corefile=k.corefile(fake.url), ready_zones=["cluster.local."],
            ready=False))
        big.wait_ready(["cluster.local.", "in-addr.arpa."], deadline=600)
        ready_s = time.monotonic() - t0
        time.sleep(2)
        rss = lib.vmrss_kib(big.pid)
        rng = random.Random(1)
        for i in rng.sample(range(a.services), min(1000, a.services)):
            name = "svc-%05d.ns%d.svc.cluster.local." % (i, i // 1000)
            assert k.rdatas(k.ask(big, name, "A"), "A"), name
        print("%d services x %d endpoints: ready in %.1f s; VmRSS %.1f MB, empty %.1f MB: "
              "%.2f KB per service (%.2f KB per object, services + EndpointSlices)"
              % (a.services, a.endpoints, ready_s, rss / 1024, rss_empty / 1024,
                 (rss - rss_empty) / a.services, (rss - rss_empty) / (2 * a.services)))
        p50, p99, mx = latency(fake, big, a.big_events, "big")
        print("event-to-answer, %d services, %d events: median %.1f ms, p99 %.1f ms, "
              "max %.1f ms" % (a.services, a.big_events, p50, p99, mx))
        for line in big.log().splitlines()[-6:]:
            print("  " + line)
    finally:
        pool.close()


if __name__ == "__main__":
    main()
