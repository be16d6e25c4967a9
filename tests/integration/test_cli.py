"""signetd's command line (SPEC: CoreDNS-compatible flags)."""

import os
import re
import subprocess
import time

import dns.flags
import dns.rcode
import dns.rdatatype
import pytest

import lib

ZONE_FILE = lib.CASE_ZONES["example.test."]


@pytest.fixture(autouse=True)
def _need_binary(signetd_bin):
    pass


def output(res):
    return (res.stdout or "") + (res.stderr or "")


def error_lines(text, fname, line):
    """Lines of the form '<...>fname:line: message'."""
    pat = r"^(?:.*/)?%s:%d: \S" % (re.escape(fname), line)
    return re.findall(pat, text, re.M)


def no_sanitizer_report(text):
    for m in lib.CRASH_MARKERS:
        assert m not in text, "signetd reported %r:\n%s" % (m, text[-4000:])


def test_validate_good_config(tmp_path):
    port = lib.free_port()
    (tmp_path / "Corefile").write_text(
        "# a good configuration\n"
        "example.test:%d {\n"
        "    bind 127.0.0.1\n"
        "    file %s\n"
        "}\n"
        "rfc4592.test:%d {\n"
        "    bind 127.0.0.1\n"
        "    file %s {\n"
        "        reload 1s\n"
        "    }\n"
        "    timeouts {\n"
        "        idle 5s\n"
        "    }\n"
        "}\n" % (port, ZONE_FILE, port, lib.CASE_ZONES["rfc4592.test."]))
    t0 = time.monotonic()
    res = lib.run_signetd(["-validate", "-conf", str(tmp_path / "Corefile")], cwd=str(tmp_path))
    assert res.returncode == 0, output(res)
    assert time.monotonic() - t0 < 20
    assert not re.search(r":\d+: ", output(res)), "error lines for a good config:\n" + output(res)
    no_sanitizer_report(output(res))
    assert not lib.port_busy(port)


def test_validate_reports_every_corefile_error(tmp_path):
    port = lib.free_port()
    text = ("example.test:%d {\n"          # 1
            "    bind 127.0.0.1\n"          # 2
            "    file %s\n"                 # 3
            "    no_such_directive 1 2\n"   # 4  unknown directive
            "}\n"                           # 5
            "\n"                            # 6
            "other.test:%d {\n"             # 7
            "    file\n"                    # 8  file without DBFILE
            "}\n"                           # 9
            "third.test:%d {\n"             # 10
            "    file %s/missing.zone\n"    # 11 file that does not exist
            "}\n" % (port, ZONE_FILE, port, port, tmp_path))
    (tmp_path / "Corefile").write_text(text)
    res = lib.run_signetd(["-validate", "-conf", str(tmp_path / "Corefile")], cwd=str(tmp_path))
    out = output(res)
    assert res.returncode == 1, out
    for line in (4, 8, 11):
        assert error_lines(out, "Corefile", line), "no 'Corefile:%d: ...' error in:\n%s" % (
            line, out)
    assert not error_lines(out, "Corefile", 3), out
    no_sanitizer_report(out)


def test_validate_reports_syntax_error(tmp_path):
    (tmp_path / "Corefile").write_text(
        "example.test:5399 {\n"
        "    file %s\n"
        "    cache 30 {\n"
        "}\n" % ZONE_FILE)  # block never closed
    res = lib.run_signetd(["-validate", "-conf", str(tmp_path / "Corefile")], cwd=str(tmp_path))
    out = output(res)
    assert res.returncode == 1, out
    assert re.search(r"^(?:.*/)?Corefile:\d+: \S", out, re.M), out
    no_sanitizer_report(out)


def test_validate_reports_every_zone_error(tmp_path):
    zone = tmp_path / "bad.test.zone"
    zone.write_text(
        "$ORIGIN bad.test.\n"                                    # 1
        "$TTL 300\n"                                             # 2
        "@ IN SOA ns1 hostmaster 1 3600 900 604800 60\n"         # 3
        "@ IN NS ns1\n"                                          # 4
        "ns1 IN A 192.0.2.1\n"                                   # 5
        "bad1 IN A 192.0.2.300\n"                                # 6  bad IPv4
        "ok IN A 192.0.2.2\n"                                    # 7
        "bad2 IN MX mail.bad.test.\n"                            # 8  MX without preference
        "bad3 IN AAAA not-an-address\n"                          # 9  bad IPv6
        "ok2 IN TXT \"fine\"\n")                                 # 10
    (tmp_path / "Corefile").write_text(
        "bad.test:5399 {\n    file %s\n}\n" % zone)
    res = lib.run_signetd(["-validate", "-conf", str(tmp_path / "Corefile")], cwd=str(tmp_path))
    out = output(res)
    assert res.returncode == 1, out
    for line in (6, 8, 9):
        assert error_lines(out, "bad.test.zone", line), (
            "no 'bad.test.zone:%d: ...' error in:\n%s" % (line, out))
    for line in (3, 5, 7, 10):
        assert not error_lines(out, "bad.test.zone", line), out
    no_sanitizer_report(out)


def test_validate_cname_beside_other_data(tmp_path):
    zone = tmp_path / "cname.test.zone"
    zone.write_text("$ORIGIN cname.test.\n"                                 # 1
                    "@ 300 IN SOA ns1 hostmaster 1 3600 900 604800 60\n"     # 2
                    "@ 300 IN NS ns1\n"                                      # 3
                    "www 300 IN A 192.0.2.1\n"                               # 4
                    "www 300 IN CNAME x\n")                                  # 5
    (tmp_path / "Corefile").write_text("cname.test:5399 {\n    file %s\n}\n" % zone)
    res = lib.run_signetd(["-validate", "-conf", str(tmp_path / "Corefile")], cwd=str(tmp_path))
    out = output(res)
    # RFC 1034 3.6.2 / RFC 2181 10.1: a CNAME cannot share its name with other data
    assert res.returncode == 1, out
    assert error_lines(out, "cname.test.zone", 5) or error_lines(out, "cname.test.zone", 4), out
    no_sanitizer_report(out)


def test_version():
    res = lib.run_signetd(["-version"], cwd="/")
    out = output(res)
    assert res.returncode == 0, out
    assert re.search(r"\d+\.\d+", out), "no version number in %r" % out
    assert "signet" in out.lower(), out


def test_plugins_lists_directives():
    res = lib.run_signetd(["-plugins"], cwd="/")
    out = output(res)
    assert res.returncode == 0, out
    words = set(re.findall(r"[a-z_]+", out.lower()))
    expected = ["file", "sqlite", "etcd", "kubernetes", "dnssec", "transfer", "tsig", "cache",
                "rewrite", "loadbalance", "acl", "log", "errors", "rrl", "prometheus", "health",
                "ready", "reload", "bind", "tls", "root", "timeouts"]
    missing = [d for d in expected if d not in words]
    assert not missing, "-plugins does not list %s:\n%s" % (missing, out)


def test_dns_port_overrides_blocks_without_port(servers, tmp_path):
    default_port = lib.free_port()
    fixed_port = lib.free_port()
    while fixed_port == default_port:
        fixed_port = lib.free_port()
    corefile = ("example.test {\n"
                "    bind 127.0.0.1\n"
                "    file %s\n"
                "}\n"
                "rfc4592.test:%d {\n"
                "    bind 127.0.0.1\n"
                "    file %s\n"
                "}\n" % (ZONE_FILE, fixed_port, lib.CASE_ZONES["rfc4592.test."]))
    srv = servers.signetd(label="dnsport", corefile=corefile, port=default_port,
                          args=["-dns.port", str(default_port)], ready_zones=["example.test."])
    assert lib.soa_answered(default_port, "example.test.")
    # the block with its own port keeps it
    lib.wait_for(lambda: lib.soa_answered(fixed_port, "rfc4592.test."), 10,
                 "rfc4592.test. served on its own port %d" % fixed_port)
    r, _ = lib.query(lib.make_query("rfc4592.test.", "SOA"), default_port)
    assert r.rcode() == dns.rcode.REFUSED, "rfc4592.test. also served on the -dns.port port"
    r, _ = lib.query(lib.make_query("example.test.", "SOA"), fixed_port)
    assert r.rcode() == dns.rcode.REFUSED
    assert srv.alive()


def test_pidfile(servers, tmp_path):
    pidfile = tmp_path / "signetd.pid"
    srv = servers.signetd(label="pidfile", zones={"example.test.": ZONE_FILE},
                          args=["-pidfile", str(pidfile)])
    assert int(pidfile.read_text().strip()) == srv.pid


def test_sigterm_exits_zero(servers):
    srv = servers.signetd(label="sigterm", zones={"example.test.": ZONE_FILE})
    assert srv.stop() == 0, srv.log()[-3000:]
    no_sanitizer_report(srv.log())


DEFAULT_PORT = 5300


@pytest.fixture
def default_config_server(tmp_path):
    """signetd started with no -conf in a directory without a Corefile."""
    if lib.port_busy(DEFAULT_PORT):
        pytest.skip("127.0.0.1:%d is busy" % DEFAULT_PORT)
    log = open(tmp_path / "signetd.log", "wb")
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    proc = subprocess.Popen([lib.signetd_path()], cwd=str(tmp_path), stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    srv = lib.Server("signetd", proc, DEFAULT_PORT, str(tmp_path), str(tmp_path / "signetd.log"))
    try:
        srv.wait_ready(["example.test."], deadline=30)
        yield srv
    finally:
        rc = srv.stop()
        log.close()
        assert rc == 0, srv.log()[-3000:]
        no_sanitizer_report(srv.log())


def test_embedded_default_config(default_config_server):
    srv = default_config_server
    for tcp in (False, True):
        r, _ = lib.query(lib.make_query("example.test.", "SOA"), DEFAULT_PORT, tcp=tcp)
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    r, _ = lib.query(lib.make_query("www.nothere.invalid.", "A"), DEFAULT_PORT)
    assert r.rcode() == dns.rcode.REFUSED
    assert srv.alive()


def test_embedded_default_zone_is_signed(default_config_server):
    """SPEC `make run`: the embedded default serves the *signed* demo zone."""
    srv = default_config_server
    r, _ = lib.query(lib.make_query("example.test.", "DNSKEY", edns=0, do=True), DEFAULT_PORT,
                     tcp=True)
    assert r.rcode() == dns.rcode.NOERROR
    types = {rrset.rdtype for rrset in r.answer}
    assert dns.rdatatype.DNSKEY in types and dns.rdatatype.RRSIG in types, r
    assert srv.alive()
