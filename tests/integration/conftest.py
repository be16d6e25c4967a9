"""Fixtures of Signet's integration tests.

SIGNETD: the binary under test (default <repo>/build/signetd).
SIGNET_TEST_BACKEND=knot: run the server-agnostic tests (comparison, protocol,
reload) with knotd in signetd's place, to validate the harness itself.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import lib  # noqa: E402

class ServerPool:
    """Starts servers for one test (or module) and always stops them."""

    def __init__(self, tmp_path_factory, name):
        self.tmp_path_factory = tmp_path_factory
        self.name = name
        self.servers = []

    def workdir(self, label):
        return str(self.tmp_path_factory.mktemp("%s-%s" % (self.name, label)))

    def knotd(self, zones, label="knotd", **kw):
        srv = self._track(lambda: lib.start_knotd(self.workdir(label), zones, **kw))
        return srv

    def signetd(self, label="signetd", **kw):
        return self._track(lambda: lib.start_signetd(self.workdir(label), **kw))

    def backend(self, zones, label="backend", **kw):
        return self._track(lambda: lib.start_backend(self.workdir(label), zones, **kw))

    def _track(self, start):
        srv = start()
        self.servers.append(srv)
        return srv

    def close(self):
        """Stop everything; return a list of problems found in signetd runs."""
        problems = []
        for srv in self.servers:
            crashed_before = not srv.alive() and not srv.stopped
            rc = srv.stop()
            if srv.kind != "signetd":
                continue
            report = srv.crash_report()
            if report:
                problems.append(report)
            elif crashed_before:
                problems.append("signetd (pid %d) died during the test with status %s; log:\n%s"
                                % (srv.pid, rc, srv.log()[-4000:]))
            elif rc != 0:
                problems.append("signetd (pid %d) exited with status %s on SIGTERM; log:\n%s"
                                % (srv.pid, rc, srv.log()[-4000:]))
        self.servers = []
        return problems


@pytest.fixture
def servers(tmp_path_factory, request):
    """Per-test server pool; signetd must end cleanly (exit 0 on SIGTERM, no
    sanitizer report) or the test errors at teardown."""
    pool = ServerPool(tmp_path_factory, request.node.name[:40].replace("/", "_"))
    yield pool
    problems = pool.close()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def module_servers(tmp_path_factory, request):
    pool = ServerPool(tmp_path_factory, request.module.__name__.split(".")[-1])
    yield pool
    problems = pool.close()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def signetd_bin():
    path = lib.signetd_path()
    if not os.path.exists(path):
        pytest.fail("signetd binary %s does not exist (build it or set SIGNETD)" % path,
                    pytrace=False)
    return path


def pytest_terminal_summary(terminalreporter):
    s = lib.COMPARE_SUMMARY
    if not s:
        return
    terminalreporter.write_sep("-", "signetd vs knotd")
    for line in s["lines"]:
        terminalreporter.write_line(line)
