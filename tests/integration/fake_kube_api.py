#!/usr/bin/env python3
"""A fake Kubernetes API server for Signet's kubernetes source tests.

No Kubernetes API server is packaged for Debian, so the tests run against this one. It
serves what a DNS controller reads, shaped as the API reference shows it:

  GET /api/v1/services                              ServiceList (v1)
  GET /apis/discovery.k8s.io/v1/endpointslices      EndpointSliceList (discovery.k8s.io/v1)
  GET /api/v1/namespaces                            NamespaceList (v1)
  GET /api/v1/pods                                  PodList (v1)
  (and the /namespaces/{ns}/... forms of the namespaced ones)

Lists carry metadata.resourceVersion and page with ?limit=&continue= (an expired continue
token is HTTP 410). ?watch=1&resourceVersion=N&allowWatchBookmarks=true streams, with
chunked transfer encoding, one JSON event per line:
{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}. A watch from a
resourceVersion older than the compacted history gets, as the real server sends it, an
ERROR event whose object is a Status of code 410 (reason Expired) and the end of the
stream; in "http" gone mode it gets HTTP 410 with that Status instead. labelSelector
(=, ==, !=, in, notin, exists, !exists) filters lists and watches; timeoutSeconds ends a
watch.

A control API (POST, JSON bodies) drives it:
  /control/apply     {"objects": [...]}           create or replace (ADDED / MODIFIED)
  /control/delete    {"objects": [{"kind","namespace","name"}], "silent": false}
  /control/gone      {"mode": "event"|"http"}     compact history; open watches get 410
  /control/compact   {}                           compact history silently
  /control/drop      {}                           cut every open watch (no final chunk)
  /control/block     {"watch": bool, "list": bool}  refuse new ones with 503
  /control/fail      {"count": N, "status": S}    fail the next N API requests
  /control/token     {"token": "..."}             the bearer token required from now on
  /control/bookmark  {}                           send a BOOKMARK on every open watch
  GET /control/stats                              counters (bookmark_rv: per kind, the newest
                                                  resourceVersion a BOOKMARK carried)

Run: fake_kube_api.py --port P [--cert C --key K [--client-ca CA]] [--token T]
     [--bookmark-interval S]. It prints "READY <port>" on stdout once it listens.
"""

import argparse
import base64
import copy
import json
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESOURCES = {
    # name: (kind, apiVersion, namespaced)
    "services": ("Service", "v1", True),
    "endpointslices": ("EndpointSlice", "discovery.k8s.io/v1", True),
    "namespaces": ("Namespace", "v1", False),
    "pods": ("Pod", "v1", True),
}
KIND_TO_RES = {v[0]: k for k, v in RESOURCES.items()}


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


# --------------------------------------------------------------------------
# label selectors

def parse_selector(text):
    """A list of (key, op, values) requirements; raises ValueError."""
    reqs = []
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    for p in parts:
        p = p.strip()
        if not p:
            continue
        toks = p.split(None, 1)
        if len(toks) == 2 and toks[1].strip().split(None, 1)[0] in ("in", "notin"):
            key = toks[0]
            op, rest = toks[1].strip().split(None, 1)
            rest = rest.strip()
            if not (rest.startswith("(") and rest.endswith(")")):
                raise ValueError("bad set in %r" % p)
            vals = [v.strip() for v in rest[1:-1].split(",") if v.strip()]
            reqs.append((key, op, vals))
        elif "!=" in p:
            k, v = p.split("!=", 1)
            reqs.append((k.strip(), "!=", [v.strip()]))
        elif "==" in p:
            k, v = p.split("==", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif "=" in p:
            k, v = p.split("=", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif p.startswith("!"):
            reqs.append((p[1:].strip(), "!exists", []))
        else:
            reqs.append((p, "exists", []))
    return reqs


def selector_matches(reqs, obj):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for key, op, vals in reqs:
        have = key in labels
        v = labels.get(key)
        if op == "=" and v != vals[0]:
            return False
        if op == "!=" and have and v == vals[0]:
            return False
        if op == "in" and (not have or v not in vals):
            return False
        if op == "notin" and have and v in vals:
            return False
        if op == "exists" and not have:
            return False
        if op == "!exists" and have:
            return False
    return True


# --------------------------------------------------------------------------
# the store

class Store:
    def __init__(self):
        self.cond = threading.Condition()
        self.rv = 1000
        self.objects = {r: {} for r in RESOURCES}
        self.history = {r: [] for r in RESOURCES}  # (rv, type, object)
        self.compacted = {r: 0 for r in RESOURCES}  # events at or below are gone
        self.drop_epoch = 0
        self.gone_epoch = 0
        self.bookmark_epoch = 0
        self.gone_mode = "event"
        self.block_watch = False
        self.block_list = False
        self.fail_count = 0
        self.fail_status = 500
        self.token = None
        self.snapshots = {}
        self.stats = {"lists": 0, "watches": 0, "watches_open": 0, "events_sent": 0,
                      "gone_sent": 0, "drops": 0, "unauthorized": 0, "requests": 0,
                      "list_pages": 0, "bookmark_rv": {}}

    def _key(self, res, obj):
        md = obj.get("metadata") or {}
        return (md.get("namespace", "") if RESOURCES[res][2] else "", md["name"])

    def apply(self, obj):
        kind = obj.get("kind")
        res = KIND_TO_RES.get(kind)
        if res is None:
            raise ValueError("unknown kind %r" % kind)
        obj = copy.deepcopy(obj)
        obj["apiVersion"] = RESOURCES[res][1]
        md = obj.setdefault("metadata", {})
        if RESOURCES[res][2]:
            md.setdefault("namespace", "default")
        else:
            md.pop("namespace", None)
        key = self._key(res, obj)
        old = self.objects[res].get(key)
        self.rv += 1
        md["resourceVersion"] = str(self.rv)
        md.setdefault("uid", old["metadata"]["uid"] if old else str(uuid.uuid4()))
        md.setdefault("creationTimestamp", old["metadata"].get("creationTimestamp")
                      if old else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self.objects[res][key] = obj
        self.history[res].append((self.rv, "MODIFIED" if old else "ADDED", obj))
        return self.rv

    def delete(self, kind, namespace, name, silent=False):
        res = KIND_TO_RES.get(kind)
        if res is None:
            raise ValueError("unknown kind %r" % kind)
        key = (namespace or "default" if RESOURCES[res][2] else "", name)
        obj = self.objects[res].pop(key, None)
        if obj is None:
            return None
        self.rv += 1
        if not silent:
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.history[res].append((self.rv, "DELETED", obj))
        return self.rv

    def compact(self):
        for r in RESOURCES:
            self.history[r] = []
            self.compacted[r] = self.rv
        self.snapshots.clear()


STORE = Store()
BOOKMARK_INTERVAL = [1.0]


# --------------------------------------------------------------------------
# HTTP

class DropConnection(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver/1.0"

    def log_message(self, fmt, *args):  # quiet
        pass

    # -- plumbing

    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return json.loads(raw) if raw.strip() else {}

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def authorized(self):
        tok = STORE.token
        if tok is None:
            return True
        if self.headers.get("Authorization") == "Bearer " + tok:
            return True
        STORE.stats["unauthorized"] += 1
        self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        return False

    # -- routes

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        if u.path == "/control/stats":
            with STORE.cond:
                body = dict(STORE.stats)
                body["bookmark_rv"] = dict(STORE.stats["bookmark_rv"])
                body["rv"] = STORE.rv
                body["counts"] = {r: len(o) for r, o in STORE.objects.items()}
            return self.send_json(200, body)
        if u.path in ("/healthz", "/readyz", "/livez"):
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(data)
            return
        with STORE.cond:
            STORE.stats["requests"] += 1
        if not self.authorized():
            return
        if u.path == "/version":
            return self.send_json(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0"})
        res, ns = self.route(u.path)
        if res is None:
            return self.send_json(404, status(404, "NotFound", "the server could not find "
                                              "the requested resource"))
        with STORE.cond:
            if STORE.fail_count > 0:
                STORE.fail_count -= 1
                code = STORE.fail_status
                return self.send_json(code, status(code, "InternalError", "injected failure"))
        try:
            reqs = parse_selector(q.get("labelSelector", ""))
        except ValueError as e:
            return self.send_json(400, status(400, "BadRequest", str(e)))
        if q.get("watch") in ("1", "true"):
            return self.watch(res, ns, q, reqs)
        return self.list(res, ns, q, reqs)

    def route(self, path):
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            rest = parts[2:]
            group = "core"
        elif parts[:3] == ["apis", "discovery.k8s.io", "v1"]:
            rest = parts[3:]
            group = "discovery"
        else:
            return None, None
        ns = None
        if len(rest) == 3 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if len(rest) != 1:
            return None, None
        res = rest[0]
        if res not in RESOURCES or (group == "discovery") != (res == "endpointslices"):
            return None, None
        if ns is not None and not RESOURCES[res][2]:
            return None, None
        return res, ns

    def visible(self, res, ns, reqs, obj):
        if ns is not None and obj["metadata"].get("namespace") != ns:
            return False
        return selector_matches(reqs, obj)

    def list(self, res, ns, q, reqs):
        kind, api, _ = RESOURCES[res]
        limit = int(q.get("limit") or 0)
        cont = q.get("continue") or ""
        with STORE.cond:
            STORE.stats["list_pages"] += 1
            if STORE.block_list:
                return self.send_json(503, status(503, "ServiceUnavailable", "blocked"))
            rvq = q.get("resourceVersion") or ""
            if rvq not in ("", "0") and int(rvq) < STORE.compacted[res] and \
                    q.get("resourceVersionMatch") == "Exact":
                return self.send_json(410, status(410, "Expired",
                                                  "too old resource version: %s (%d)"
                                                  % (rvq, STORE.compacted[res])))
            if cont:
                try:
                    sid, off = json.loads(base64.b64decode(cont)).values()
                except Exception:
                    return self.send_json(400, status(400, "BadRequest", "bad continue"))
                snap = STORE.snapshots.get(sid)
                if snap is None:
                    return self.send_json(410, status(
                        410, "Expired", "The provided continue parameter is too old to "
                        "display a consistent list result. You can start a new list "
                        "without the continue parameter."))
                rv, items = snap
            else:
                STORE.stats["lists"] += 1
                rv = STORE.rv
                items = [copy.deepcopy(o) for k, o in sorted(STORE.objects[res].items())
                         if self.visible(res, ns, reqs, o)]
                for o in items:
                    o.pop("kind", None)  # list items carry neither kind nor apiVersion
                    o.pop("apiVersion", None)
                sid, off = None, 0
            meta = {"resourceVersion": str(rv)}
            if limit and off + limit < len(items):
                if sid is None:
                    sid = uuid.uuid4().hex
                    STORE.snapshots[sid] = (rv, items)
                meta["continue"] = base64.b64encode(json.dumps(
                    {"sid": sid, "off": off + limit}).encode()).decode()
                meta["remainingItemCount"] = len(items) - off - limit
                page = items[off:off + limit]
            else:
                page = items[off:limit and off + limit or None]
                if sid is not None:
                    STORE.snapshots.pop(sid, None)
        body = {"kind": kind + "List", "apiVersion": api, "metadata": meta, "items": page}
        self.send_json(200, body)

    def watch(self, res, ns, q, reqs):
        kind, api, _ = RESOURCES[res]
        rvq = q.get("resourceVersion") or ""
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true")
        timeout = float(q.get("timeoutSeconds") or 1800)
        with STORE.cond:
            STORE.stats["watches"] += 1
            if STORE.block_watch:
                return self.send_json(503, status(503, "ServiceUnavailable", "blocked"))
            gone = rvq not in ("", "0") and int(rvq) < STORE.compacted[res]
            if gone and STORE.gone_mode == "http":
                STORE.stats["gone_sent"] += 1
                return self.send_json(410, status(410, "Expired",
                                                  "too old resource version: %s (%d)"
                                                  % (rvq, STORE.compacted[res])))
            backlog = []
            if rvq in ("", "0"):
                for k, o in sorted(STORE.objects[res].items()):
                    backlog.append((STORE.rv, "ADDED", o))
                pos = len(STORE.history[res])
            elif not gone:
                since = int(rvq)
                hist = STORE.history[res]
                pos = len(hist)
                while pos > 0 and hist[pos - 1][0] > since:
                    pos -= 1
                backlog = hist[pos:]
                pos = len(hist)
            drop_epoch, gone_epoch = STORE.drop_epoch, STORE.gone_epoch
            bm_epoch = STORE.bookmark_epoch
            STORE.stats["watches_open"] += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        deadline = time.monotonic() + timeout
        last_bm = time.monotonic()
        try:
            if gone:
                with STORE.cond:
                    STORE.stats["gone_sent"] += 1
                self.send_event("ERROR", status(410, "Expired", "too old resource version: "
                                                "%s (%d)" % (rvq, STORE.compacted[res])))
                self.chunk(b"")
                return
            for _, typ, o in backlog:
                if self.visible(res, ns, reqs, o):
                    self.send_event(typ, o, kind, api)
            while True:
                with STORE.cond:
                    hist = STORE.history[res]
                    while (pos >= len(hist) and STORE.drop_epoch == drop_epoch and
                           STORE.gone_epoch == gone_epoch and
                           STORE.bookmark_epoch == bm_epoch and
                           time.monotonic() < deadline and
                           not (bookmarks and time.monotonic() - last_bm >=
                                BOOKMARK_INTERVAL[0])):
                        STORE.cond.wait(0.05)
                        hist = STORE.history[res]
                    if STORE.drop_epoch != drop_epoch:
                        raise DropConnection()
                    if STORE.gone_epoch != gone_epoch:
                        STORE.stats["gone_sent"] += 1
                        gone_now = True
                    else:
                        gone_now = False
                    if pos > len(hist):  # compacted under us
                        pos = len(hist)
                    new = hist[pos:]
                    pos = len(hist)
                    rv_now = STORE.rv
                    bm = STORE.bookmark_epoch != bm_epoch
                    bm_epoch = STORE.bookmark_epoch
                if gone_now:
                    self.send_event("ERROR", status(410, "Expired",
                                                    "too old resource version: %s (%d)"
                                                    % (rvq, rv_now)))
                    self.chunk(b"")
                    return
                for _, typ, o in new:
                    if self.visible(res, ns, reqs, o):
                        self.send_event(typ, o, kind, api)
                if bookmarks and (bm or time.monotonic() - last_bm >= BOOKMARK_INTERVAL[0]):
                    self.send_event("BOOKMARK", {"kind": kind, "apiVersion": api,
                                                 "metadata": {"resourceVersion": str(rv_now)}})
                    last_bm = time.monotonic()
                    with STORE.cond:
                        sent = STORE.stats["bookmark_rv"]
                        sent[kind] = max(sent.get(kind, 0), rv_now)
                if time.monotonic() >= deadline:
                    self.chunk(b"")
                    return
        except DropConnection:
            with STORE.cond:
                STORE.stats["drops"] += 1
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            with STORE.cond:
                STORE.stats["watches_open"] -= 1

    def send_event(self, typ, obj, kind=None, api=None):
        if kind is not None:
            obj = dict(obj)
            obj["kind"] = kind
            obj["apiVersion"] = api
        line = json.dumps({"type": typ, "object": obj}, separators=(",", ":")).encode() + b"\n"
        self.chunk(line)
        with STORE.cond:
            STORE.stats["events_sent"] += 1

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        if not u.path.startswith("/control/"):
            return self.send_json(405, status(405, "MethodNotAllowed", "read-only"))
        try:
            body = self.read_body()
        except ValueError as e:
            return self.send_json(400, {"error": str(e)})
        op = u.path[len("/control/"):]
        with STORE.cond:
            try:
                out = self.control(op, body)
            except (ValueError, KeyError) as e:
                return self.send_json(400, {"error": str(e)})
            STORE.cond.notify_all()
        self.send_json(200, out)

    def control(self, op, body):
        s = STORE
        if op == "apply":
            objs = body.get("objects") or [body["object"]]
            for o in objs:
                s.apply(o)
            return {"resourceVersion": str(s.rv)}
        if op == "delete":
            n = 0
            for o in body.get("objects") or [body]:
                if s.delete(o["kind"], o.get("namespace"), o["name"], body.get("silent")):
                    n += 1
            return {"deleted": n, "resourceVersion": str(s.rv)}
        if op == "gone":
            s.gone_mode = body.get("mode", "event")
            s.compact()
            s.gone_epoch += 1
            return {"resourceVersion": str(s.rv)}
        if op == "compact":
            s.compact()
            return {"resourceVersion": str(s.rv)}
        if op == "gone_mode":
            s.gone_mode = body.get("mode", "event")
            return {}
        if op == "drop":
            s.drop_epoch += 1
            return {}
        if op == "block":
            s.block_watch = bool(body.get("watch", False))
            s.block_list = bool(body.get("list", False))
            return {}
        if op == "fail":
            s.fail_count = int(body.get("count", 1))
            s.fail_status = int(body.get("status", 500))
            return {}
        if op == "token":
            s.token = body.get("token")
            return {}
        if op == "bookmark":
            s.bookmark_epoch += 1
            return {}
        if op == "bookmark_interval":
            BOOKMARK_INTERVAL[0] = float(body["seconds"])
            return {}
        raise ValueError("unknown control %r" % op)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca")
    ap.add_argument("--token")
    ap.add_argument("--bookmark-interval", type=float, default=1.0)
    a = ap.parse_args()
    STORE.token = a.token
    BOOKMARK_INTERVAL[0] = a.bookmark_interval
    srv = Server((a.host, a.port), Handler)
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        if a.client_ca:
            ctx.load_verify_locations(a.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("READY %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
