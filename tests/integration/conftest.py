"""pytest fixtures for the integration tests.

`pg`: the PostgreSQL 15 cluster (session scope). Uses the one the CTest fixture started
(OUROBOROS_PG_INFO = path of its conninfo.json); without it, starts a private cluster in a temp
dir and removes it at the end, so `cd tests/integration && /usr/bin/python3 -m pytest` works alone.

`proxy`: a factory; `proxy(**overrides)` writes a config (default_config(pg) deep-merged with
overrides, None deletes a key) and starts $OUROBOROS_BIN on it; `_env` adds environment
variables for the process. Every proxy still running at teardown is stopped with SIGTERM and must
exit cleanly.

A missing proxy binary fails every test that needs it when OUROBOROS_BIN names it (ctest does) or
under CI=true; it skips them only in a bare `pytest` run outside CI. Under CI=true any skip at
all is turned into a failure (pytest_runtest_makereport below): in CI nothing may pass by not
running.
"""
import os
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

from ouro_testlib import (PgInfo, ProxyProcess, default_config, deep_merge,  # noqa: E402
                          missing_dependency, proxy_binary, running_in_ci)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skipped test is a failed one."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and running_in_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"


@pytest.fixture(scope="session")
def pg():
    info_path = os.environ.get("OUROBOROS_PG_INFO")
    if info_path:
        if not os.path.exists(info_path):
            pytest.fail(f"OUROBOROS_PG_INFO={info_path} does not exist: did postgres_start run?")
        yield PgInfo.load(info_path)
        return
    from pgcluster import PgCluster
    base = tempfile.mkdtemp(prefix="ouro-pg-")
    os.chmod(base, 0o755)  # the server runs as the postgres OS user when we are root
    cluster = PgCluster(os.path.join(base, "pg"))
    try:
        cluster.start()
        yield PgInfo(cluster.info())
    finally:
        cluster.destroy()
        os.rmdir(base)


@pytest.fixture(scope="session")
def proxy_bin():
    path = proxy_binary()
    if path is None:
        what = ("proxy binary not built: set OUROBOROS_BIN or build "
                f"{os.environ.get('OUROBOROS_BIN') or 'build/src/app/ouroboros'}")
        if os.environ.get("OUROBOROS_BIN"):
            pytest.fail(f"{what} (OUROBOROS_BIN names it, so it must exist)", pytrace=False)
        missing_dependency(what)
    return path


@pytest.fixture
def proxy(pg, proxy_bin, tmp_path):
    started = []

    def start(_env=None, **overrides):
        config = deep_merge(default_config(pg), overrides)
        p = ProxyProcess(proxy_bin, config, str(tmp_path), name=f"proxy{len(started)}", env=_env)
        started.append(p)
        return p.start()

    yield start

    errors = []
    for p in started:
        try:
            p.stop()  # no-op if the test stopped it; fails if it died on its own
        except AssertionError as e:
            errors.append(str(e))
        finally:
            p.kill()
    if errors:
        pytest.fail("proxy teardown:\n" + "\n\n".join(errors), pytrace=False)
