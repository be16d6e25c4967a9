"""prometheus (/metrics, CoreDNS's names and labels), health (/health) and ready (/ready)."""

import dns.name
import dns.query
import dns.zone
import pytest

import lib
import stages_lib as sl


def _start(servers, tmp_path, extra="", zone=sl.ZONE, file_props=""):
    mport, hport, rport = lib.free_port(), lib.free_port(), lib.free_port()
    db = sl.zone_file(tmp_path, zone)
    props = " {\n        %s\n    }" % file_props if file_props else ""
    corefile = ("example.org:{PORT} {\n    bind 127.0.0.1\n    file %s%s\n    cache\n"
                "    prometheus 127.0.0.1:%d\n    health 127.0.0.1:%d\n"
                "    ready 127.0.0.1:%d\n%s}\n" % (db, props, mport, hport, rport, extra))
    srv = servers.signetd(corefile=corefile, ready_zones=["example.org."])
    sl.wait_http(mport, "/metrics")
    return srv, mport, hport, rport


def test_metrics_are_prometheus_text_with_coredns_names(servers, tmp_path):
    srv, mport, _, _ = _start(servers, tmp_path, "    acl {\n        block type TXT\n    }\n")
    server = "dns://127.0.0.1:%d" % srv.port
    base = sl.scrape(mport)
    before = sl.sample(base, "coredns_dns_requests_total", server=server, zone="example.org.",
                       proto="udp", family="1", type="A") or 0
    for _ in range(3):
        sl.ask(srv, "www.example.org.", "A")
    sl.ask(srv, "www.example.org.", "A", tcp=True)
    sl.ask(srv, "nope.example.org.", "A")
    sl.ask(srv, "www.example.org.", "TXT")
    sl.ask(srv, "www.example.org.", "NAPTR")
    fams = sl.scrape(mport)

    assert fams["coredns_dns_requests_total"]["type"] == "counter"
    assert sl.sample(fams, "coredns_dns_requests_total", server=server, zone="example.org.",
                     view="", proto="udp", family="1", type="A") == before + 4
    assert sl.sample(fams, "coredns_dns_requests_total", server=server, zone="example.org.",
                     proto="tcp", family="1", type="A") == 1
    assert sl.sample(fams, "coredns_dns_requests_total", server=server, proto="udp",
                     type="other") == 1
    # Responses by rcode and by who wrote them.
    assert sl.sample(fams, "coredns_dns_responses_total", server=server, zone="example.org.",
                     view="", rcode="NXDOMAIN", plugin="file") == 1
    assert sl.sample(fams, "coredns_dns_responses_total", server=server, rcode="REFUSED",
                     plugin="acl") == 1
    assert sl.sample(fams, "coredns_acl_blocked_requests_total", server=server,
                     zone="example.org.", view="") == 1
    # Durations: CoreDNS's buckets, one observation per request.
    dur = fams["coredns_dns_request_duration_seconds"]
    assert dur["type"] == "histogram"
    les = [lab["le"] for n, lab, _ in dur["samples"] if n.endswith("_bucket")]
    assert les[:16] == ["0.00025", "0.0005", "0.001", "0.002", "0.004", "0.008", "0.016",
                        "0.032", "0.064", "0.128", "0.256", "0.512", "1.024", "2.048", "4.096",
                        "8.192"]
    assert les[16] == "+Inf"
    total = sum(v for n, lab, v in fams["coredns_dns_requests_total"]["samples"]
                if lab["server"] == server and lab["zone"] == "example.org.")
    assert sl.sample(fams, "coredns_dns_request_duration_seconds_count", server=server,
                     zone="example.org.", view="") == total
    assert fams["coredns_dns_response_size_bytes"]["type"] == "histogram"
    # The zone as signet holds it.
    assert sl.sample(fams, "signet_zone_serial", zone="example.org.") == 1
    assert sl.sample(fams, "signet_zone_records", zone="example.org.") == 19
    for name in ("signet_dnssec_signatures_total", "signet_xfr_total",
                 "signet_source_errors_total"):
        assert fams[name]["type"] == "counter"
    assert sl.sample(fams, "coredns_plugin_enabled", server=server, zone="example.org.",
                     name="cache") == 1


def test_cache_hit_is_counted(servers, tmp_path):
    srv, mport, _, _ = _start(servers, tmp_path)
    server = "dns://127.0.0.1:%d" % srv.port
    labels = dict(server=server, zones="example.org.", view="")
    fams = sl.scrape(mport)
    hits0 = sl.sample(fams, "coredns_cache_hits_total", type="success", **labels) or 0
    miss0 = sl.sample(fams, "coredns_cache_misses_total", **labels) or 0
    sl.ask(srv, "blue.example.org.")
    sl.ask(srv, "blue.example.org.")
    sl.ask(srv, "nope2.example.org.")
    sl.ask(srv, "nope2.example.org.")
    fams = sl.scrape(mport)
    assert sl.sample(fams, "coredns_cache_hits_total", type="success", **labels) == hits0 + 1
    assert sl.sample(fams, "coredns_cache_hits_total", type="denial", **labels) >= 1
    assert sl.sample(fams, "coredns_cache_misses_total", **labels) == miss0 + 2
    assert sl.sample(fams, "coredns_cache_requests_total", **labels) >= 4
    assert sl.sample(fams, "coredns_cache_entries", type="success", **labels) >= 1
    assert sl.sample(fams, "coredns_cache_entries", type="denial", **labels) >= 1
    assert sl.sample(fams, "coredns_dns_responses_total", server=server, rcode="NOERROR",
                     plugin="cache") >= 1


def test_zone_serial_follows_the_zone(servers, tmp_path):
    srv, mport, _, _ = _start(servers, tmp_path, file_props="reload 1s")
    sl.write(tmp_path / "db.example.org", sl.ZONE.replace("hostmaster 1", "hostmaster 7"))
    lib.wait_for(lambda: sl.sample(sl.scrape(mport), "signet_zone_serial",
                                   zone="example.org.") == 7, deadline=15,
                 what="signet_zone_serial 7")


def test_health_and_ready(servers, tmp_path):
    srv, mport, hport, rport = _start(servers, tmp_path)
    assert sl.http_get(hport, "/health")[:2] == (200, "OK")
    assert sl.http_get(rport, "/ready")[:2] == (200, "OK")
    assert sl.http_get(hport, "/nothing")[0] == 404
    assert sl.http_get(mport, "/health")[0] == 404  # each endpoint on its own address


def test_not_ready_while_a_zone_is_not_loaded(servers, tmp_path):
    rport = lib.free_port()
    db = sl.zone_file(tmp_path)
    corefile = ("example.org:{PORT} {\n    bind 127.0.0.1\n    file %s\n    ready 127.0.0.1:%d\n"
                "}\nexample.net:{PORT} {\n    bind 127.0.0.1\n    file %s/missing.zone\n}\n"
                % (db, rport, tmp_path))
    servers.signetd(corefile=corefile, ready_zones=["example.org."])
    status, body, _ = sl.wait_http(rport, "/ready")
    assert status == 503
    assert "example.net." in body and "example.org." not in body


def test_one_address_for_all_endpoints(servers, tmp_path):
    port = lib.free_port()
    db = sl.zone_file(tmp_path)
    corefile = ("example.org:{PORT} {\n    bind 127.0.0.1\n    file %s\n"
                "    prometheus 127.0.0.1:%d\n    health 127.0.0.1:%d\n    ready 127.0.0.1:%d\n"
                "}\n" % (db, port, port, port))
    srv = servers.signetd(corefile=corefile, ready_zones=["example.org."])
    sl.wait_http(port)
    assert sl.http_get(port, "/health")[0] == 200
    assert sl.http_get(port, "/ready")[0] == 200
    fams = sl.scrape(port)
    assert "coredns_dns_requests_total" in fams
    assert srv.alive()


def test_parser_is_strict():
    good = ('# HELP x_total A counter.\n# TYPE x_total counter\nx_total{a="b\\"c"} 1\n'
            '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\n'
            'h_count 2\n')
    fams = sl.parse_prometheus(good)
    assert sl.sample(fams, "x_total", a='b"c') == 1
    for bad in ('x{a="1"} 1\nx{a="1"} 2\n',                      # duplicate series
                '# TYPE x counter\nx 1\n# TYPE x counter\n',     # TYPE twice
                'x 1\n# TYPE x counter\n',                       # TYPE after samples
                'x{a="\\q"} 1\n',                                 # bad escape
                'x 1 2 3\n',                                     # not a sample
                '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\n'
                'h_count 1\n',                                   # not cumulative
                'x 1\ny 1\nx{b="2"} 1\n',                        # family split
                'x 1'):                                          # no final newline
        with pytest.raises(sl.PromError):
            sl.parse_prometheus(bad)


def test_signet_zone_counters(servers, tmp_path):
    """signet_xfr_total and signet_source_errors_total follow transfers and failed loads."""
    mport = lib.free_port()
    db = sl.zone_file(tmp_path)
    corefile = ("example.org:{PORT} {\n    bind 127.0.0.1\n    file %s {\n        reload 1s\n"
                "    }\n    transfer {\n        to *\n    }\n    prometheus 127.0.0.1:%d\n}\n"
                % (db, mport))
    srv = servers.signetd(corefile=corefile, ready_zones=["example.org."])
    sl.wait_http(mport, "/metrics")
    labels = dict(zone="example.org.", port=str(srv.port))
    fams = sl.scrape(mport)
    assert sl.sample(fams, "signet_xfr_total", type="AXFR", **labels) == 0
    assert sl.sample(fams, "signet_source_errors_total", source="file", **labels) == 0
    z = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", "example.org.", port=srv.port, timeout=5))
    assert z.origin == dns.name.from_text("example.org.")
    fams = sl.scrape(mport)
    assert sl.sample(fams, "signet_xfr_total", type="AXFR", **labels) == 1
    assert sl.sample(fams, "signet_xfr_total", type="IXFR", **labels) == 0
    sl.write(db, sl.ZONE + "broken IN A not-an-address\n")
    lib.wait_for(lambda: (sl.sample(sl.scrape(mport), "signet_source_errors_total",
                                    source="file", **labels) or 0) >= 1, deadline=15,
                 what="signet_source_errors_total to count the failure")
    # The zone is still served, and the serial has not moved.
    assert sl.sample(sl.scrape(mport), "signet_zone_serial", **labels) == 1
