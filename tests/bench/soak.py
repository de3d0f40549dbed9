#!/usr/bin/python3
"""Driver of tests/bench/soak.sh: many clients through Ouroboros for a long time, with a reload
every 10 s and one PostgreSQL restart, sampling the proxy's memory and file descriptors.

A benchmark, not a test: it reports and never judges the numbers. It exits non-zero only when
something breaks: the proxy dies, the clients cannot log in, or an acknowledged ledger row is lost
or duplicated. Run it through soak.sh (it raises ulimit -n). Method: docs/performance.md ("Soak").
"""
import argparse
import asyncio
import datetime
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "support"))
sys.path.insert(0, HERE)
import pgcluster  # noqa: E402  (tests/support/pgcluster.py)
from idle_clients import query_message, startup_message  # noqa: E402
from pgbench_compare import (BenchError, interrupt_and_wait, log, machine_note,  # noqa: E402
                             port_accepts, remove_cluster, tail, trust_proxy_logins)

SAMPLE_EVERY = 10.0   # seconds between samples (RSS, fds, client counters, metrics)
RELOAD_EVERY = 10.0   # seconds between SIGHUPs
QUERY_TIMEOUT = 120.0  # a query with no answer after this long counts as an error
LOGIN_TIMEOUT = 120.0


# ---------------------------------------------------------------------------------------------
# Wire protocol (v3), trust authentication
# ---------------------------------------------------------------------------------------------

class ServerError(Exception):
    pass


async def read_until_ready(reader):
    """Reads messages until ReadyForQuery. Returns (ErrorResponse text or None, CommandComplete
    tags)."""
    error, tags = None, []
    while True:
        header = await reader.readexactly(5)
        kind, length = header[:1], struct.unpack("!i", header[1:])[0]
        body = await reader.readexactly(length - 4)
        if kind == b"E":
            fields = {f[:1]: f[1:].decode(errors="replace") for f in body.split(b"\0") if f}
            error = f"{fields.get(b'C', '?')} {fields.get(b'M', '')}"
            if fields.get(b"S") == "FATAL" or fields.get(b"V") == "FATAL":
                raise ServerError(error)
        elif kind == b"R" and struct.unpack("!i", body[:4])[0] != 0:
            raise ServerError("the proxy asks for a password: configure trust authentication")
        elif kind == b"C":
            tags.append(body.rstrip(b"\0").decode())
        elif kind == b"Z":
            return error, tags


class Stats:
    def __init__(self):
        self.connected = 0
        self.logins = 0
        self.login_errors = 0
        self.reconnects = 0
        self.queries = 0
        self.query_errors = 0       # ErrorResponse on a live connection
        self.disconnects = 0        # connection lost / FATAL / timeout while in use
        self.errors_by_kind = {}
        self.acked = {}             # writer -> set of acknowledged seq
        self.uncertain = {}         # writer -> set of seq whose outcome is unknown
        self.ledger_errors = 0

    def note(self, kind):
        kind = re.sub(r"\d+\.\d+\.\d+\.\d+:\d+", "ADDR", kind)[:120]
        self.errors_by_kind[kind] = self.errors_by_kind.get(kind, 0) + 1


class Client:
    """One connection that logs in, then runs `SELECT 1` every mean_interval seconds on average
    (exponential gaps); on any failure it reconnects after a short pause."""

    def __init__(self, args, stats, gate):
        self.args, self.stats, self.gate = args, stats, gate
        self.reader = self.writer = None

    async def connect(self, first):
        async with self.gate:  # bounded login burst: no listen-backlog overflow
            while True:
                try:
                    self.reader, self.writer = await asyncio.wait_for(
                        asyncio.open_connection(self.args.host, self.args.port), LOGIN_TIMEOUT)
                    self.writer.write(startup_message(pgcluster.USER, pgcluster.DBNAME))
                    await self.writer.drain()
                    await asyncio.wait_for(read_until_ready(self.reader), LOGIN_TIMEOUT)
                    self.stats.logins += 1
                    self.stats.connected += 1
                    if not first:
                        self.stats.reconnects += 1
                    return
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError,
                        ServerError) as e:
                    self.stats.login_errors += 1
                    self.stats.note(f"login: {type(e).__name__}: {e}")
                    self.close()
                    await asyncio.sleep(1 + random.random())

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(self, sql):
        """Runs sql; returns (error or None, tags). Raises on a lost connection."""
        self.writer.write(query_message(sql))
        await self.writer.drain()
        return await asyncio.wait_for(read_until_ready(self.reader), QUERY_TIMEOUT)

    async def lost(self, e):
        self.stats.disconnects += 1
        self.stats.connected -= 1
        self.stats.note(f"connection: {type(e).__name__}: {e}")
        self.close()
        await asyncio.sleep(0.5 + random.random())
        await self.connect(first=False)

    async def idle_loop(self, stop):
        # Spread the first queries over one mean interval.
        await asyncio.sleep(random.uniform(0, self.args.mean_interval))
        while not stop.is_set():
            try:
                error, _ = await self.request("SELECT 1")
                if error:
                    self.stats.query_errors += 1
                    self.stats.note(f"query: {error}")
                else:
                    self.stats.queries += 1
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError,
                    ServerError) as e:
                await self.lost(e)
            await asyncio.sleep(random.expovariate(1.0 / self.args.mean_interval))

    async def writer_loop(self, stop, writer_id):
        """INSERTs numbered rows into the ledger; a row is acknowledged when its INSERT 0 1 and
        ReadyForQuery arrive. A row whose answer never came is 'uncertain' (may or may not
        exist); everything else must be there exactly once at the end."""
        acked = self.stats.acked.setdefault(writer_id, set())
        uncertain = self.stats.uncertain.setdefault(writer_id, set())
        seq = 0
        while not stop.is_set():
            seq += 1
            try:
                error, tags = await self.request(
                    f"INSERT INTO soak_ledger (writer, seq) VALUES ({writer_id}, {seq})")
                if error is None and tags == ["INSERT 0 1"]:
                    acked.add(seq)
                    self.stats.queries += 1
                else:
                    uncertain.add(seq)  # an error answer means not inserted; stay lenient
                    self.stats.query_errors += 1
                    self.stats.ledger_errors += 1
                    self.stats.note(f"insert: {error or tags}")
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError,
                    ServerError) as e:
                uncertain.add(seq)
                self.stats.ledger_errors += 1
                await self.lost(e)
            await asyncio.sleep(self.args.writer_pause)


# ---------------------------------------------------------------------------------------------
# The proxy
# ---------------------------------------------------------------------------------------------

class Proxy:
    def __init__(self, binary, workdir, pg, args):
        self.binary, self.dir, self.pg, self.args = binary, workdir, pg, args
        self.host = "127.0.0.1"
        self.config_path = os.path.join(workdir, "ouroboros.yaml")
        self.log_path = os.path.join(workdir, "ouroboros.log")
        self.proc = None
        self.port = self.metrics_port = None
        self.generation = 0

    def write_config(self):
        """Writes the config; each generation differs (query_wait_timeout and the slow-query
        threshold alternate), so every reload really changes settings."""
        odd = self.generation % 2
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"""listen: {{host: {self.host}, port: {self.port}}}
auth:
  type: trust
  users:
    {pgcluster.USER}: {{password: "${{BENCH_OURO_PASSWORD}}"}}
pool: {{mode: transaction, size: {self.args.pool_size}, query_wait_timeout: {120 + odd}s}}
databases:
  {pgcluster.DBNAME}: {{host: {self.pg.host}, port: {self.pg.port}, dbname: {pgcluster.DBNAME}}}
logging: {{level: info, format: text, slow_query_threshold: {5000 + 1000 * odd}ms}}
limits: {{max_client_connections: {self.args.clients + self.args.writers + 500}}}
metrics: {{host: {self.host}, port: {self.metrics_port}}}
""")
        os.replace(tmp, self.config_path)

    def start(self):
        for _ in range(3):  # a free port can be taken between probing and binding
            self.port = pgcluster.free_port(self.host)
            self.metrics_port = pgcluster.free_port(self.host)
            self.write_config()
            out = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen(
                    [self.binary, "--config", self.config_path], stdin=subprocess.DEVNULL,
                    stdout=out, stderr=out, cwd=self.dir, start_new_session=True,
                    env=dict(os.environ, BENCH_OURO_PASSWORD=pgcluster.PASSWORD))
            finally:
                out.close()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.proc.poll() is None:
                if port_accepts(self.host, self.port):
                    return
                time.sleep(0.1)
            self.stop()
        raise BenchError(f"ouroboros did not start; log tail:\n{tail(self.log_path)}")

    def reload(self):
        self.generation += 1
        self.write_config()
        os.kill(self.proc.pid, signal.SIGHUP)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        interrupt_and_wait(self.proc, 60)
        self.proc = None

    def metrics(self):
        """A few proxy-wide numbers from /metrics (sums over labels); {} if unreachable."""
        want = ("ouroboros_client_connections", "ouroboros_servers",
                "ouroboros_server_connection_failures_total", "ouroboros_errors_total",
                "ouroboros_queries_total")
        try:
            with urllib.request.urlopen(f"http://{self.host}:{self.metrics_port}/metrics",
                                        timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return {}
        got = {}
        for line in text.splitlines():
            m = re.match(r"^(\w+)(?:\{[^}]*\})?\s+(\S+)$", line)
            if m and m.group(1) in want:
                got[m.group(1)] = got.get(m.group(1), 0) + float(m.group(2))
        return got


def proc_sample(pid):
    """(VmRSS KiB, open fds, threads) of pid, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        rss = int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
        threads = int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return rss, fds, threads
    except (OSError, AttributeError):
        return None


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------

class Soak:
    def __init__(self, args, proxy, cluster):
        self.args, self.proxy, self.cluster = args, proxy, cluster
        self.stats = Stats()
        self.samples = []
        self.events = []      # (elapsed s, text)
        self.t0 = None
        self.reloads = 0
        self.restart_at = None   # elapsed s when the restart finished
        self.restart_secs = None
        self.proxy_died = None
        self.login_secs = None
        self.baseline = None     # proxy sample before any client

    def elapsed(self):
        return time.monotonic() - self.t0

    def sample(self, phase):
        s = proc_sample(self.proxy.proc.pid) if self.proxy.running() else None
        if s is None:
            if self.proxy_died is None:
                self.proxy_died = f"proxy gone at {self.elapsed():.0f} s; log tail:\n" \
                    + tail(self.proxy.log_path)
            return None
        st = self.stats
        row = {"t": self.elapsed(), "phase": phase, "rss": s[0], "fds": s[1], "threads": s[2],
               "connected": st.connected, "queries": st.queries,
               "errors": st.query_errors + st.disconnects + st.login_errors,
               "reconnects": st.reconnects, "reloads": self.reloads,
               "acked": sum(len(v) for v in st.acked.values()),
               "metrics": self.proxy.metrics()}
        self.samples.append(row)
        return row

    async def sampler(self, stop):
        while not stop.is_set():
            phase = "before restart" if self.restart_at is None else "after restart"
            row = await asyncio.get_running_loop().run_in_executor(None, self.sample, phase)
            if row is None:
                stop.set()
                return
            if len(self.samples) % 6 == 1:
                log(f"t={row['t']:.0f}s rss={row['rss'] / 1024:.1f}MiB fds={row['fds']} "
                    f"connected={row['connected']} queries={row['queries']} "
                    f"errors={row['errors']} reconnects={row['reconnects']} "
                    f"reloads={row['reloads']} acked={row['acked']}")
            try:
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)
            except asyncio.TimeoutError:
                pass

    async def reloader(self, stop):
        while True:
            try:
                await asyncio.wait_for(stop.wait(), RELOAD_EVERY)
                return
            except asyncio.TimeoutError:
                pass
            if not self.proxy.running():
                stop.set()
                return
            self.proxy.reload()
            self.reloads += 1

    async def restarter(self, stop, at):
        try:
            await asyncio.wait_for(stop.wait(), at)
            return
        except asyncio.TimeoutError:
            pass
        self.events.append((self.elapsed(), "pg_ctl restart -m fast begins"))
        log("restarting PostgreSQL (pg_ctl restart -m fast)")
        t = time.monotonic()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.restart_pg)
        self.restart_secs = time.monotonic() - t
        self.restart_at = self.elapsed()
        self.events.append((self.restart_at, f"PostgreSQL back after {self.restart_secs:.1f} s"))
        log(f"PostgreSQL restarted in {self.restart_secs:.1f} s")

    def restart_pg(self):
        c = self.cluster
        proc = subprocess.run(
            ["runuser", "-u", pgcluster.OS_USER, "--", c.bin("pg_ctl"), "-D", c.data_dir,
             "-l", c.log_file, "-m", "fast", "-w", "-t", "120", "restart"]
            if os.geteuid() == 0 else
            [c.bin("pg_ctl"), "-D", c.data_dir, "-l", c.log_file, "-m", "fast", "-w", "-t",
             "120", "restart"], capture_output=True, text=True, cwd="/", timeout=180)
        if proc.returncode != 0:
            raise BenchError(f"pg_ctl restart failed: {proc.stdout}{proc.stderr}")

    async def run(self):
        args = self.args
        self.t0 = time.monotonic()
        self.baseline = self.sample("no clients")
        gate = asyncio.Semaphore(args.login_concurrency)
        idle = [Client(args, self.stats, gate) for _ in range(args.clients)]
        writers = [Client(args, self.stats, gate) for _ in range(args.writers)]
        log(f"logging in {args.clients} clients and {args.writers} writers")
        t = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*(c.connect(True) for c in idle + writers)),
                               args.login_deadline)
        self.login_secs = time.monotonic() - t
        log(f"all logged in after {self.login_secs:.0f} s")
        self.events.append((self.elapsed(), f"{len(idle) + len(writers)} clients logged in "
                                            f"({self.login_secs:.0f} s)"))
        self.sample("logged in")
        stop = asyncio.Event()
        t_run = self.elapsed()
        tasks = [asyncio.create_task(c.idle_loop(stop)) for c in idle]
        tasks += [asyncio.create_task(w.writer_loop(stop, i)) for i, w in enumerate(writers)]
        background = [asyncio.create_task(self.sampler(stop)),
                      asyncio.create_task(self.reloader(stop)),
                      asyncio.create_task(self.restarter(stop, args.duration / 2))]
        try:
            await asyncio.wait_for(stop.wait(), args.duration)
        except asyncio.TimeoutError:
            pass
        stop.set()
        log("stopping clients")
        for tk in tasks:
            tk.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        results = await asyncio.gather(*background, return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        self.events.append((self.elapsed(), f"clients stopped after {self.elapsed() - t_run:.0f}"
                                            " s of load"))
        self.sample("end")
        for c in idle + writers:
            c.close()
        self.stats.connected = 0
        # Poll (generous deadline) until the proxy has closed the clients' sockets too.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            s = proc_sample(self.proxy.proc.pid) if self.proxy.running() else None
            if s is None or s[1] <= self.baseline["fds"] + 2 * args.pool_size + 10:
                break
            await asyncio.sleep(0.5)
        self.sample("closed")

    def check_ledger(self):
        """(lost, duplicated, unexpected) acknowledged rows."""
        out = self.cluster.psql("SELECT writer, seq, count(*) FROM soak_ledger GROUP BY 1, 2",
                                dbname=pgcluster.DBNAME)
        found = {}
        for line in out.split():
            w, s, n = (int(x) for x in line.split("|"))
            found[(w, s)] = n
        lost = dup = unexpected = 0
        for w, seqs in self.stats.acked.items():
            for s in seqs:
                n = found.get((w, s), 0)
                lost += n == 0
                dup += n > 1
        for (w, s), n in found.items():
            if s not in self.stats.acked.get(w, ()) and s not in self.stats.uncertain.get(w, ()):
                unexpected += 1
            elif s in self.stats.uncertain.get(w, ()) and n > 1:
                dup += 1
        return lost, dup, unexpected, len(found)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def mib(kib):
    return f"{kib / 1024:.1f}"


def markdown(soak, meta, ledger):
    s, st, a = soak.samples, soak.stats, soak.args
    md = [f"Run {meta['date']} on {meta['machine']} (shared with other build and test jobs: "
          f"wall-clock numbers are indicative only). {meta['versions']}.", "",
          f"{a.clients:,} idle clients (each `SELECT 1` every {a.mean_interval:.0f} s on "
          f"average, exponential gaps) and {a.writers} ledger writers (`INSERT`, "
          f"{a.writer_pause * 1000:.0f} ms pause) for {a.duration / 60:.1f} min, transaction "
          f"mode, pool size {a.pool_size}, trust; SIGHUP with a changed configuration every "
          f"{RELOAD_EVERY:.0f} s; `pg_ctl restart -m fast` at {a.duration / 2 / 60:.1f} min. "
          f"Logins took {soak.login_secs:.0f} s (concurrency {a.login_concurrency}).", "",
          "| proxy sample | time s | VmRSS MiB | open fds | threads "
          "| clients connected (client side) |",
          "|---|--:|--:|--:|--:|--:|"]

    def row(label, r):
        if r:
            md.append(f"| {label} | {r['t']:.0f} | {mib(r['rss'])} | {r['fds']:,} | "
                      f"{r['threads']} | {r['connected']:,} |")
    row("start, no clients", soak.baseline)
    row("all clients logged in", next((r for r in s if r["phase"] == "logged in"), None))
    loaded = [r for r in s if r["phase"] in ("before restart", "after restart")]
    before = [r for r in loaded if r["phase"] == "before restart"]
    after = [r for r in loaded if r["phase"] == "after restart"]
    row("last sample before the restart", before[-1] if before else None)
    row("first sample after the restart", after[0] if after else None)
    if loaded:
        peak_rss = max(loaded, key=lambda r: r["rss"])
        peak_fds = max(loaded, key=lambda r: r["fds"])
        row("peak RSS under load", peak_rss)
        row("peak fds under load", peak_fds)
        row("last sample under load", loaded[-1])
    row("end (clients stopped, not yet closed)", next((r for r in s if r["phase"] == "end"),
                                                      None))
    row("all clients disconnected", next((r for r in s if r["phase"] == "closed"), None))
    if before and loaded:
        first = before[0]
        last = loaded[-1]
        md += ["", f"RSS change from the first to the last sample under load: "
               f"{(last['rss'] - first['rss']) / 1024:+.1f} MiB over "
               f"{(last['t'] - first['t']) / 60:.1f} min; open fds {first['fds']:,} → "
               f"{last['fds']:,}."]
    lost, dup, unexpected, rows = ledger
    md += ["", "| client-side count | value |", "|---|--:|",
           f"| successful requests (SELECT 1 and INSERT) | {st.queries:,} |",
           f"| error answers on a live connection | {st.query_errors:,} |",
           f"| connections lost while in use (then reconnected) | {st.disconnects:,} |",
           f"| reconnects | {st.reconnects:,} |",
           f"| failed login attempts (retried) | {st.login_errors:,} |",
           f"| reloads (SIGHUP) | {soak.reloads:,} |",
           f"| PostgreSQL restart took | "
           f"{'%.1f s' % soak.restart_secs if soak.restart_secs is not None else 'not reached'} |",
           f"| ledger rows acknowledged | {sum(len(v) for v in st.acked.values()):,} |",
           f"| ledger INSERTs not acknowledged (error answer or connection lost) | "
           f"{sum(len(v) for v in st.uncertain.values()):,} |",
           f"| acknowledged rows lost / duplicated / unexpected rows | {lost} / {dup} / "
           f"{unexpected} |"]
    if st.errors_by_kind:
        md += ["", "Client errors by kind:", ""]
        for k, n in sorted(st.errors_by_kind.items(), key=lambda kv: -kv[1])[:10]:
            md.append(f"- {n:,} × `{k}`")
    if soak.events:
        md += ["", "Events: " + "; ".join(f"{t:.0f} s: {e}" for t, e in soak.events) + "."]
    md += ["", "<details><summary>Time series (one sample per minute)</summary>", "",
           "| time s | VmRSS MiB | fds | connected | requests | errors | reconnects | reloads "
           "| servers (metrics) |", "|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    last_t = -1e9
    for r in s:
        if r["t"] - last_t >= 59 or r is s[-1] or r["phase"] in ("logged in", "end"):
            last_t = r["t"]
            servers = r["metrics"].get("ouroboros_servers")
            md.append(f"| {r['t']:.0f} | {mib(r['rss'])} | {r['fds']:,} | {r['connected']:,} | "
                      f"{r['queries']:,} | {r['errors']:,} | {r['reconnects']:,} | "
                      f"{r['reloads']} | {'-' if servers is None else int(servers)} |")
    md += ["", "</details>"]
    return "\n".join(md) + "\n"


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def duration(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m|h)?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError("a duration like 90s, 2m, 30m or 1h")
    return float(m.group(1)) * {"s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="soak.sh", description=__doc__.splitlines()[0])
    p.add_argument("out", nargs="?", help="write the markdown report to this file")
    p.add_argument("--duration", type=duration, default=1800.0,
                   help="load time after the logins, e.g. 2m, 30m (default 30m)")
    p.add_argument("--clients", type=int, default=10000, help="idle clients (default 10000)")
    p.add_argument("--writers", type=int, default=4, help="ledger INSERT clients (default 4)")
    p.add_argument("--writer-pause", type=float, default=0.05,
                   help="seconds between one writer's INSERTs (default 0.05)")
    p.add_argument("--mean-interval", type=float, default=45.0,
                   help="mean seconds between an idle client's queries (default 45)")
    p.add_argument("--pool-size", type=int, default=20, help="server pool size (default 20)")
    p.add_argument("--login-concurrency", type=int, default=64)
    p.add_argument("--login-deadline", type=float, default=900.0,
                   help="seconds allowed for all logins (default 900)")
    p.add_argument("--logs", help="copy the proxy and PostgreSQL logs into this directory")
    a = p.parse_args(argv)
    if a.clients < 1 or a.writers < 1 or a.duration < 20 or a.pool_size < 1:
        p.error("--clients, --writers, --pool-size >= 1 and --duration >= 20s")
    return a


class Interrupted(BaseException):
    pass


def main(argv):
    args = parse_args(argv)
    binary = os.path.abspath(os.environ.get("OUROBOROS_BIN") or os.path.join(
        SOURCE_DIR, "build", "src", "app", "ouroboros"))
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        log(f"missing binary {binary} (set OUROBOROS_BIN)")
        return 2
    import resource
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.clients + args.writers + 200
    if soft != resource.RLIM_INFINITY and soft < need:
        log(f"ulimit -n is {soft}: {args.clients} clients need {need} (run through soak.sh)")
        return 2
    args.host = "127.0.0.1"

    def on_signal(signum, _frame):
        raise Interrupted(f"signal {signum}")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="ouro-soak-")
    os.chmod(workdir, 0o755)  # the postgres OS user reaches the cluster directory
    cluster = pgcluster.PgCluster(os.path.join(workdir, "pg"))
    proxy = Proxy(binary, workdir, cluster, args)
    try:
        log(f"starting PostgreSQL in {cluster.base_dir}")
        cluster.start()
        # The proxy logs in to PostgreSQL without a password check (loopback, throwaway cluster).
        trust_proxy_logins(cluster, pgcluster.DBNAME, pgcluster.USER)
        cluster.psql(f"CREATE TABLE soak_ledger (writer int NOT NULL, seq bigint NOT NULL); "
                     f"ALTER TABLE soak_ledger OWNER TO {pgcluster.USER}", dbname=pgcluster.DBNAME)
        proxy.start()
        args.port = proxy.port
        log(f"ouroboros pid {proxy.proc.pid} on port {proxy.port}, metrics {proxy.metrics_port}")
        versions = subprocess.run([binary, "--version"], capture_output=True,
                                  text=True).stdout.strip()
        versions += f", PostgreSQL {cluster.psql('SHOW server_version').strip()}"

        soak = Soak(args, proxy, cluster)
        try:
            asyncio.run(soak.run())
        except asyncio.TimeoutError:
            raise BenchError(f"the clients could not all log in within {args.login_deadline} s: "
                             f"{soak.stats.logins} logins, errors "
                             f"{dict(list(soak.stats.errors_by_kind.items())[:5])}\n"
                             f"proxy log tail:\n{tail(proxy.log_path)}")
        died = soak.proxy_died or (None if proxy.running() else
                                   "proxy gone at the end; log tail:\n" + tail(proxy.log_path))
        proxy.stop()
        ledger = soak.check_ledger()
        meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime(
                    "%Y-%m-%d %H:%M UTC"), "machine": machine_note(), "versions": versions}
        md = markdown(soak, meta, ledger)
        print(md)
        if args.out:
            with open(args.out, "w") as f:
                f.write(md)
            log(f"markdown written to {args.out}")
        log(f"done in {time.monotonic() - started:.0f} s")
        reloaded = sum(1 for ln in open(proxy.log_path, errors="replace")
                       if "configuration reloaded" in ln)
        log(f"'configuration reloaded' logged {reloaded} times for {soak.reloads} SIGHUPs")
        if died:
            log(f"BROKEN: {died}")
            return 1
        if ledger[0] or ledger[1] or ledger[2]:
            log(f"BROKEN: ledger lost {ledger[0]}, duplicated {ledger[1]}, unexpected "
                f"{ledger[2]}")
            return 1
        return 0
    except Interrupted as e:
        log(f"interrupted ({e}); cleaning up")
        return 130
    except (BenchError, pgcluster.PgClusterError, subprocess.TimeoutExpired) as e:
        log(f"error: {e}")
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        try:
            proxy.stop()
        except Exception as e:  # keep cleaning up
            log(f"stopping ouroboros: {e}")
        if args.logs:
            try:
                os.makedirs(args.logs, exist_ok=True)
                shutil.copy(proxy.log_path, args.logs)
                shutil.copy(cluster.log_file, args.logs)
            except OSError as e:
                log(f"cannot copy logs: {e}")
        remove_cluster(cluster, workdir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
