#!/usr/bin/python3
"""Generate the TSIG fixtures of tests/unit/dns/test_tsig.c with dnspython (and kdig).

Run once from the repository root: /usr/bin/python3 tests/data/xfr/gen_tsig_fixtures.py
Every file holds DNS messages, each preceded by its 16-bit length (as over TCP).
The clock is pinned to TIME so that the MACs are reproducible.
"""
import base64
import os
import socket
import struct
import subprocess
import threading
import time

import dns.message
import dns.name
import dns.rcode
import dns.rrset
import dns.tsig

TIME = 1700000000
KEYNAME = "transfer.key."
SECRET = base64.b64encode(bytes(range(32))).decode()  # AAECAwQF...
HERE = os.path.dirname(os.path.abspath(__file__))
ALGS = {
    "sha1": dns.tsig.HMAC_SHA1,
    "sha224": dns.tsig.HMAC_SHA224,
    "sha256": dns.tsig.HMAC_SHA256,
    "sha384": dns.tsig.HMAC_SHA384,
    "sha512": dns.tsig.HMAC_SHA512,
}

time.time = lambda: float(TIME)  # dnspython signs with time.time()


def write(name, msgs):
    with open(os.path.join(HERE, name), "wb") as f:
        for m in msgs:
            f.write(struct.pack("!H", len(m)) + m)


def key(alg):
    return dns.tsig.Key(KEYNAME, SECRET, algorithm=ALGS[alg])


def request(alg, qtype="AXFR"):
    q = dns.message.make_query("example.test.", qtype)
    q.id = 0x1234
    q.flags = 0
    q.use_tsig(key(alg), fudge=300)
    return q


def stream(alg):
    """A signed AXFR request and a three-message signed answer (RFC 8945 §5.3.1)."""
    q = request(alg)
    qwire = q.to_wire()
    msgs = []
    ctx = None
    rrs = [
        [("example.test.", 3600, "SOA", "ns1.example.test. h.example.test. 7 3600 900 604800 300"),
         ("example.test.", 3600, "NS", "ns1.example.test.")],
        [("ns1.example.test.", 3600, "A", "192.0.2.1"), ("www.example.test.", 300, "A", "192.0.2.80")],
        [("example.test.", 3600, "SOA", "ns1.example.test. h.example.test. 7 3600 900 604800 300")],
    ]
    for i, rrlist in enumerate(rrs):
        r = dns.message.make_response(q)
        if i > 0:
            r.question = []
        for name, ttl, rdtype, rdata in rrlist:
            r.answer.append(dns.rrset.from_text(name, ttl, "IN", rdtype, rdata))
        wire = r.to_wire(multi=True, tsig_ctx=ctx)
        ctx = r.tsig_ctx
        msgs.append(wire)
    return qwire, msgs


def kdig_capture():
    """The AXFR request kdig -y sends (its own clock: the test reads the time from it)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    got = []

    def serve():
        c, _ = srv.accept()
        n = struct.unpack("!H", c.recv(2, socket.MSG_WAITALL))[0]
        got.append(c.recv(n, socket.MSG_WAITALL))
        c.close()

    t = threading.Thread(target=serve)
    t.start()
    subprocess.run(["kdig", "-y", "hmac-sha256:transfer.key:" + SECRET, "@127.0.0.1", "-p",
                    str(port), "+timeout=1", "+retry=0", "example.test", "AXFR"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.join()
    srv.close()
    return got[0]


def main():
    for alg in ALGS:
        write("tsig-%s-request.bin" % alg, [request(alg).to_wire()])
    qwire, msgs = stream("sha256")
    write("tsig-sha256-stream.bin", [qwire] + msgs)
    qwire, msgs = stream("sha512")
    write("tsig-sha512-stream.bin", [qwire] + msgs)
    write("tsig-kdig-request.bin", [kdig_capture()])


if __name__ == "__main__":
    main()
