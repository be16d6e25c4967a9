#!/usr/bin/python3
"""make bench: signetd side by side with Knot DNS and a bare UDP echo.

For each scenario and each server: start it pinned to CPU 0, wait until it
answers (zone load time), drive it from CPU 1 with build/bench/loadgen for
BENCH_ROUNDS rounds of BENCH_DURATION seconds, and report the medians. One
table on stdout, everything in build/bench/results.json. See bench/README.md.

Environment (all optional):
  BENCH_DURATION  measured seconds per round (10)    BENCH_ROUNDS   rounds (3)
  BENCH_WARMUP    warm-up seconds per round (1)      BENCH_WINDOW   queries in flight (256)
  BENCH_SOCKETS   loadgen UDP sockets (4)            BENCH_TIMEOUT  ms until a query is lost (1000)
  BENCH_SERVERS   comma list (echo,knotd,signetd)    BENCH_SCENARIOS comma list (plain)
  BENCH_NAMES     names in the zone (100000)         BENCH_QUERIES  lines in the query file (200000)
  BENCH_LOAD_TIMEOUT  seconds a server may take to load its zone (300)
  BENCH_QUIET_WAIT    seconds to wait, before a round, for other processes to leave
                      CPUs 0 and 1 alone (60; 0: don't wait)
  BENCH_RETRIES       times a disturbed round is repeated (2)
  BENCH_NICE          run server and loadgen at this nice value, e.g. -10 on a machine
                      that others use (0: as started)

This machine may be shared: a round during which other processes took more than
DISTURBED_PCT of a core on CPUs 0-1 is "disturbed"; it is repeated (after waiting
for quiet) up to BENCH_RETRIES times, and the least disturbed attempt counts.
"""

import json
import os
import platform
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "bench"
LOADGEN = OUT / "loadgen"
ECHO = OUT / "echo"
SIGNETD = ROOT / "build" / "signetd"
ORIGIN = "bench.test."
ADDR = "127.0.0.1"
SERVER_CPU = 0
LOADGEN_CPU = 1


def env(name, default, cast=str):
    v = os.environ.get(name, "").strip()
    return cast(v) if v else default


DURATION = env("BENCH_DURATION", 10.0, float)
ROUNDS = env("BENCH_ROUNDS", 3, int)
WARMUP = env("BENCH_WARMUP", 1.0, float)
WINDOW = env("BENCH_WINDOW", 200, int)
SOCKETS = env("BENCH_SOCKETS", 4, int)
TIMEOUT_MS = env("BENCH_TIMEOUT", 1000, int)
NAMES = env("BENCH_NAMES", 100000, int)
QUERIES = env("BENCH_QUERIES", 200000, int)
LOAD_TIMEOUT = env("BENCH_LOAD_TIMEOUT", 300.0, float)
SERVERS = env("BENCH_SERVERS", "echo,knotd,signetd").split(",")
SCENARIO_NAMES = env("BENCH_SCENARIOS", "plain").split(",")
QUIET_WAIT = env("BENCH_QUIET_WAIT", 60.0, float)
RETRIES = env("BENCH_RETRIES", 2, int)
NICE = env("BENCH_NICE", 0, int)
DISTURBED_PCT = 10.0


# --- scenarios ---------------------------------------------------------------


class Scenario:
    """What is served and how it is asked: every server runs every scenario."""

    def __init__(self, name, title, signed=False, dnssec_ok=False):
        self.name = name
        self.title = title
        self.signed = signed  # the server signs the zone itself (ECDSA P-256 CSK, NSEC)
        self.dnssec_ok = dnssec_ok  # loadgen sends EDNS with DO

    def loadgen_args(self):
        return ["-D"] if self.dnssec_ok else []


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("plain", "unsigned zone, queries without EDNS"),
        # Opt in with BENCH_SCENARIOS=plain,signed once signetd signs zones.
        Scenario("signed", "zone signed by the server, queries with EDNS DO", True, True),
    )
}


# --- servers -----------------------------------------------------------------


class Server:
    """How to start one server; run() does the rest the same way for all."""

    name = "?"
    serves_zone = True  # its readiness probe wants a real SOA answer
    fatal_log = ()  # log lines with any of these mean the zone will never be served

    def missing(self):
        """Why this server cannot run here, or None."""
        return None

    def command(self, scen, port, zone, workdir):
        raise NotImplementedError


class Echo(Server):
    name = "echo"
    serves_zone = False

    def missing(self):
        return None if ECHO.exists() else "%s not built" % ECHO

    def command(self, scen, port, zone, workdir):
        return [str(ECHO), "-a", ADDR, "-p", str(port), "-c", str(SERVER_CPU)]


class Knotd(Server):
    name = "knotd"
    fatal_log = ("zone event 'load' failed", "error: [" + ORIGIN + "]")

    def missing(self):
        return None if shutil.which("knotd") else "knotd not installed"

    def command(self, scen, port, zone, workdir):
        signing = ""
        policy = ""
        if scen.signed:
            policy = (
                "policy:\n  - id: bench\n    algorithm: ecdsap256sha256\n"
                "    single-type-signing: on\n    nsec3: off\n"
            )
            signing = "    dnssec-signing: on\n    dnssec-policy: bench\n"
        (workdir / "db" / "keys").mkdir(parents=True, exist_ok=True)
        conf = workdir / "knot.conf"
        conf.write_text(
            "server:\n"
            '    rundir: "{d}"\n'
            "    listen: {addr}@{port}\n"
            "    udp-workers: 1\n"
            "    tcp-workers: 1\n"
            "    background-workers: 1\n"
            "log:\n  - target: stderr\n    any: notice\n"
            'database:\n    storage: "{d}/db"\n'
            "{policy}"
            "template:\n  - id: default\n"
            '    storage: "{d}"\n'
            "    zonefile-sync: -1\n"
            "    zonefile-load: whole\n"
            "    journal-content: none\n"
            "zone:\n  - domain: {origin}\n"
            '    file: "{zone}"\n'
            "{signing}".format(
                d=workdir,
                addr=ADDR,
                port=port,
                origin=ORIGIN,
                zone=zone,
                policy=policy,
                signing=signing,
            )
        )
        return ["knotd", "-c", str(conf)]


class Signetd(Server):
    name = "signetd"
    fatal_log = ("[ERROR] zone",)

    def missing(self):
        return None if SIGNETD.exists() else "%s not built" % SIGNETD

    def command(self, scen, port, zone, workdir):
        dnssec = ""
        if scen.signed:
            dnssec = "\tdnssec {\n\t\tkeys %s\n\t\tnsec\n\t}\n" % (workdir / "keys")
        corefile = workdir / "Corefile"
        corefile.write_text(
            "%s:%d {\n\tbind %s\n\tfile %s\n%s}\n" % (ORIGIN.rstrip("."), port, ADDR, zone, dnssec)
        )
        return [str(SIGNETD), "-conf", str(corefile), "-workers", "1"]


ALL_SERVERS = {s.name: s for s in (Echo(), Knotd(), Signetd())}


# --- helpers -----------------------------------------------------------------


def free_port():
    """A port free for both UDP and TCP on ADDR."""
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((ADDR, 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind((ADDR, port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


def soa_query(qid, dnssec_ok):
    msg = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1 if dnssec_ok else 0)
    for label in ORIGIN.rstrip(".").split("."):
        msg += bytes([len(label)]) + label.encode()
    msg += b"\x00" + struct.pack("!HH", 6, 1)
    if dnssec_ok:
        msg += b"\x00" + struct.pack("!HHBBHH", 41, 1232, 0, 0, 0x8000, 0)
    return msg


def wait_ready(proc, port, scen, server, log, deadline):
    """Seconds until the server answers a SOA query (with its RRSIG when signed)."""
    start = time.monotonic()
    next_log_check = start + 1
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.01)
    qid = 0
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("exited with status %d before answering" % proc.returncode)
            if server.fatal_log and time.monotonic() >= next_log_check:
                next_log_check = time.monotonic() + 1
                text = log.read_text(errors="replace")
                for pattern in server.fatal_log:
                    if pattern in text:
                        raise RuntimeError("zone not loaded (log: %r)" % pattern)
            qid = (qid + 1) & 0xFFFF
            try:
                sock.sendto(soa_query(qid, scen.signed), (ADDR, port))
                while True:
                    data = sock.recv(4096)
                    if len(data) < 12:
                        continue
                    rid, flags, _, ancount = struct.unpack("!HHHH", data[:8])
                    if rid != qid or not flags & 0x8000:
                        continue
                    if not server.serves_zone:
                        return time.monotonic() - start
                    want = 2 if scen.signed else 1
                    if flags & 0x000F == 0 and flags & 0x0400 and ancount >= want:
                        return time.monotonic() - start
                    break
            except (socket.timeout, ConnectionRefusedError):
                pass
            time.sleep(0.01)
        raise RuntimeError("no answer to SOA within %.0f s" % LOAD_TIMEOUT)
    finally:
        sock.close()


def cpus_busy():
    """Busy seconds of CPUs SERVER_CPU and LOADGEN_CPU so far, from /proc/stat."""
    busy = 0.0
    with open("/proc/stat") as f:
        for line in f:
            parts = line.split()
            if parts[0] in ("cpu%d" % SERVER_CPU, "cpu%d" % LOADGEN_CPU):
                v = [int(x) for x in parts[1:9]]
                busy += sum(v) - v[3] - v[4]  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def wait_quiet():
    """Wait up to QUIET_WAIT s until others use under DISTURBED_PCT of a core; returns that %."""
    deadline = time.monotonic() + QUIET_WAIT
    while True:
        b0, t0 = cpus_busy(), time.monotonic()
        time.sleep(0.5)
        pct = 100 * (cpus_busy() - b0) / (time.monotonic() - t0)
        if pct < DISTURBED_PCT or time.monotonic() >= deadline:
            return pct


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tail(path, n=15):
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def niced(cmd):
    return ["nice", "-n", str(NICE)] + cmd if NICE else cmd


def run_loadgen(port, pid, queries, scen):
    cmd = [
        str(LOADGEN),
        "-s", ADDR,
        "-p", str(port),
        "-f", str(queries),
        "-t", str(DURATION),
        "-w", str(WARMUP),
        "-W", str(WINDOW),
        "-S", str(SOCKETS),
        "-T", str(TIMEOUT_MS),
        "-c", str(LOADGEN_CPU),
        "-P", str(pid),
    ] + scen.loadgen_args()  # fmt: skip
    out = subprocess.run(niced(cmd), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("loadgen failed: " + out.stderr.strip())
    return json.loads(out.stdout)


def derive(r, rss):
    """The per-round numbers the table shows, from loadgen's JSON."""
    dur = r["duration_s"]
    ans = r["answered"]
    cpu = r["server_cpu_s"]
    busy = sum(r["cpu_busy_s"][c] for c in (SERVER_CPU, LOADGEN_CPU) if c < len(r["cpu_busy_s"]))
    other = max(0.0, busy - (cpu or 0) - r["loadgen_cpu_s"])
    return {
        "qps": r["qps"],
        "cpu_s_per_m": cpu / ans * 1e6 if cpu is not None and ans else None,
        "server_cpu_pct": 100 * cpu / dur if cpu is not None else None,
        "loadgen_cpu_pct": 100 * r["loadgen_cpu_s"] / dur,
        "loadgen_us": 1e6 * r["loadgen_cpu_s"] / ans if ans else None,
        "other_cpu_pct": 100 * other / dur,
        "rss_mib": rss / 1024 if rss else None,
        "lost": r["lost"],
        "p50_us": r["latency_us"]["p50"],
        "resp_bytes": r["resp_bytes_avg"],
        "nxdomain_pct": 100 * r["rcodes"].get("NXDOMAIN", 0) / ans if ans else 0,
        "nodata_pct": 100 * r["noerror_empty"] / ans if ans else 0,
        "aa_pct": 100 * r["aa"] / ans if ans else 0,
        "other_rcode_pct": (
            100 * sum(v for k, v in r["rcodes"].items() if k not in ("NOERROR", "NXDOMAIN")) / ans
            if ans
            else 0
        ),
        "tc": r["tc"],
    }


def median(values):
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


class Running:
    """One server of a scenario: its process and what was measured."""

    def __init__(self, server):
        self.server = server
        self.proc = None
        self.port = None
        self.log = None
        self.res = {"status": "ok"}

    def fail(self, why):
        self.res["status"] = "failed: %s" % why
        if self.log is not None:
            self.res["log_tail"] = tail(self.log)
        print(
            "  %-8s FAILED: %s\n%s" % (self.server.name, why, self.res.get("log_tail", "")),
            file=sys.stderr,
        )
        self.stop()

    def stop(self):
        if self.proc is not None:
            stop(self.proc)

    @property
    def ok(self):
        return self.res["status"] == "ok"


def start_server(run, scen, zone):
    """Start the server and wait until it answers; records the zone load time."""
    server, res = run.server, run.res
    why = server.missing()
    if why:
        res["status"] = "skipped: " + why
        return
    workdir = OUT / "run" / scen.name / server.name
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    run.port = free_port()
    cmd = niced(["taskset", "-c", str(SERVER_CPU)] + server.command(scen, run.port, zone, workdir))
    res["command"] = " ".join(cmd)
    run.log = workdir / "server.log"
    print("  %-8s starting: %s" % (server.name, res["command"]), file=sys.stderr, flush=True)
    with open(run.log, "w") as logf:
        t0 = time.monotonic()
        run.proc = subprocess.Popen(cmd, cwd=workdir, stdout=logf, stderr=subprocess.STDOUT)
    try:
        res["load_s"] = wait_ready(run.proc, run.port, scen, server, run.log, t0 + LOAD_TIMEOUT)
    except Exception as e:
        run.fail(e)
        return
    res["rss_loaded_mib"] = (rss_kib(run.proc.pid) or 0) / 1024
    res["rounds"] = []
    res["discarded"] = []
    print("  %-8s ready in %.2f s" % (server.name, res["load_s"]), file=sys.stderr, flush=True)


def measure_round(run, scen, queries, i):
    """One round against a running server; a disturbed round is repeated (RETRIES)."""
    attempts = []
    for _ in range(1 + RETRIES):
        if QUIET_WAIT > 0:
            wait_quiet()
        r = run_loadgen(run.port, run.proc.pid, queries, scen)
        if run.proc.poll() is not None:
            raise RuntimeError("exited with status %d during the load" % run.proc.returncode)
        r["rss_kib"] = rss_kib(run.proc.pid)
        r["derived"] = d = derive(r, r["rss_kib"])
        attempts.append(r)
        print(
            "  %-8s round %d/%d: %8.0f q/s, %5.2f CPU s/M, lost %d, other load %.0f%%"
            % (run.server.name, i + 1, ROUNDS, d["qps"], d["cpu_s_per_m"] or 0, d["lost"],
               d["other_cpu_pct"]),
            file=sys.stderr,
            flush=True,
        )  # fmt: skip
        if d["other_cpu_pct"] <= DISTURBED_PCT:
            break
    attempts.sort(key=lambda a: a["derived"]["other_cpu_pct"])
    run.res["rounds"].append(attempts[0])
    run.res["discarded"].extend(attempts[1:])


def summarize(res):
    keys = res["rounds"][0]["derived"].keys()
    res["median"] = {k: median([r["derived"][k] for r in res["rounds"]]) for k in keys}
    qps = [r["derived"]["qps"] for r in res["rounds"]]
    res["median"]["qps_min"] = min(qps)
    res["median"]["qps_max"] = max(qps)


def run_scenario(scen, zone, queries):
    """Start every server (one loads while the others idle), then run the rounds
    interleaved -- round 1 of each server, then round 2 of each, ... -- so that a
    slow drift of the machine spreads over all servers alike; then stop them all."""
    runs = [Running(ALL_SERVERS[name]) for name in SERVERS]
    try:
        for run in runs:
            start_server(run, scen, zone)
        for i in range(ROUNDS):
            for run in runs:
                if not run.ok:
                    continue
                try:
                    measure_round(run, scen, queries, i)
                except Exception as e:  # one server failing must not lose the others' numbers
                    run.fail(e)
        for run in runs:
            if run.ok:
                summarize(run.res)
    finally:
        for run in runs:
            run.stop()
    return {run.server.name: run.res for run in runs}


# --- the table ---------------------------------------------------------------

ROWS = [
    # (label, key, format, ratio?)
    ("zone load, s (start to first answer)", "load_s", "%.2f", True),
    ("answered queries/s (median)", "qps", "%.0f", True),
    ("  spread over rounds, %", "qps_spread", "%.1f", False),
    ("server CPU s per 1M answers", "cpu_s_per_m", "%.2f", True),
    ("server CPU use, % of one core", "server_cpu_pct", "%.0f", False),
    ("resident memory after load, MiB", "rss_mib", "%.1f", True),
    ("lost queries per round", "lost", "%.0f", False),
    ("latency p50 at saturation, us", "p50_us", "%.0f", False),
    ("response size, bytes (avg)", "resp_bytes", "%.1f", False),
    ("NXDOMAIN / empty NOERROR / AA, %", "rcode_mix", "%s", False),
    ("loadgen CPU use, % of one core", "loadgen_cpu_pct", "%.0f", False),
    ("loadgen CPU us per answer", "loadgen_us", "%.2f", False),
    ("other processes' CPU, % of a core", "other_cpu_pct", "%.0f", False),
]


def cell(res, key, fmt):
    if res is None or res.get("status") != "ok":
        return "-"
    if key == "load_s":
        v = res["load_s"]
    elif key == "qps_spread":
        m = res["median"]
        v = 100 * (m["qps_max"] - m["qps_min"]) / m["qps"] if m["qps"] else None
    elif key == "rcode_mix":
        m = res["median"]
        return "%.1f/%.1f/%.0f" % (m["nxdomain_pct"], m["nodata_pct"], m["aa_pct"])
    else:
        v = res["median"].get(key)
    return "-" if v is None else fmt % v


def value(res, key):
    if res is None or res.get("status") != "ok":
        return None
    return res["load_s"] if key == "load_s" else res["median"].get(key)


def ratios(results):
    out = {}
    for _, key, _, want in ROWS:
        if not want:
            continue
        a, b = value(results.get("signetd"), key), value(results.get("knotd"), key)
        out[key] = a / b if a is not None and b else None
    return out


def print_table(scen, results, rat):
    names = [n for n in SERVERS if n in results]
    print()
    print(
        "scenario %s: %s; %d s x %d rounds (median), window %d, %d sockets"
        % (scen.name, scen.title, DURATION, ROUNDS, WINDOW, SOCKETS)
    )
    w0 = max(len(r[0]) for r in ROWS)
    head = "%-*s" % (w0, "") + "".join("%14s" % n for n in names) + "%16s" % "signetd/knotd"
    print(head)
    print("-" * len(head))
    for label, key, fmt, want in ROWS:
        line = "%-*s" % (w0, label) + "".join("%14s" % cell(results[n], key, fmt) for n in names)
        r = rat.get(key) if want else None
        line += "%16s" % ("%.2fx" % r if r is not None else "")
        print(line)
    for n in names:
        st = results[n]["status"]
        if st != "ok":
            print("%s: %s" % (n, st))
    for n in names:
        m = results[n].get("median")
        if m and m["other_cpu_pct"] > DISTURBED_PCT:
            print(
                "note: %s: other processes took %.0f%% of a core during the measurement; "
                "its numbers are disturbed" % (n, m["other_cpu_pct"])
            )
    k, s = results.get("knotd", {}).get("median"), results.get("signetd", {}).get("median")
    if k and s:
        for key, what in (("nxdomain_pct", "NXDOMAIN"), ("nodata_pct", "empty NOERROR"),
                          ("other_rcode_pct", "other RCODEs"), ("aa_pct", "AA")):  # fmt: skip
            if abs(k[key] - s[key]) > 0.5:
                print(
                    "note: answers differ: %s %.1f%% (signetd) vs %.1f%% (knotd)"
                    % (what, s[key], k[key])
                )


# --- main --------------------------------------------------------------------


def generate(data):
    data.mkdir(parents=True, exist_ok=True)
    zone, queries = data / "bench.test.zone", data / "queries.txt"
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "genzone.py"), "--names", str(NAMES),
         "--queries", str(QUERIES), str(zone), str(queries)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return zone, queries, json.loads(out.stdout)


def main():
    for tool in (LOADGEN, ECHO):
        if not tool.exists():
            sys.exit("run.py: %s is missing: run `make bench`" % tool)
    unknown = [n for n in SERVERS if n not in ALL_SERVERS] + [
        n for n in SCENARIO_NAMES if n not in SCENARIOS
    ]
    if unknown:
        sys.exit("run.py: unknown server or scenario: " + ", ".join(unknown))
    if (os.cpu_count() or 1) < 2:
        print("run.py: warning: fewer than 2 CPUs, server and loadgen share one", file=sys.stderr)

    print("generating zone (%d names) and %d queries ..." % (NAMES, QUERIES), file=sys.stderr)
    zone, queries, summary = generate(OUT / "data")
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": {
            "kernel": platform.release(),
            "cpus": os.cpu_count(),
            "server_cpu": SERVER_CPU,
            "loadgen_cpu": LOADGEN_CPU,
        },
        "config": {
            "duration_s": DURATION,
            "rounds": ROUNDS,
            "warmup_s": WARMUP,
            "window": WINDOW,
            "sockets": SOCKETS,
            "timeout_ms": TIMEOUT_MS,
            "servers": SERVERS,
            "quiet_wait_s": QUIET_WAIT,
            "retries": RETRIES,
            "disturbed_pct": DISTURBED_PCT,
            "nice": NICE,
        },
        "zone": summary,
        "scenarios": {},
    }
    failed = False
    for sname in SCENARIO_NAMES:
        scen = SCENARIOS[sname]
        print("scenario %s: %s" % (scen.name, scen.title), file=sys.stderr)
        results = run_scenario(scen, zone, queries)
        failed |= any(r["status"].startswith("failed") for r in results.values())
        rat = ratios(results)
        report["scenarios"][sname] = {"title": scen.title, "servers": results, "ratios": rat}
        print_table(scen, results, rat)
    q = summary["query_mix"]
    hits = sum(v for k, v in q.items() if k.startswith("hit_"))
    print(
        "\nzone %s: %d names, %d records; queries: %d (%.0f%% hits, %.0f%% NXDOMAIN, "
        "%.0f%% NODATA, %.1f%% wildcard, %.1f%% referral)"
        % (ORIGIN, summary["names"], summary["record_total"], summary["queries"],
           100 * hits / summary["queries"], 100 * q["nxdomain"] / summary["queries"],
           100 * q["nodata"] / summary["queries"], 100 * q["wildcard"] / summary["queries"],
           100 * q["referral"] / summary["queries"])
    )  # fmt: skip
    path = OUT / "results.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    print("results: %s" % path.relative_to(ROOT))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
