#!/usr/bin/python3
"""Driver of tests/bench/instructions.sh: user-space instructions and system calls per transaction
and memory per idle client, Ouroboros vs PgBouncer.

A benchmark, not a test: it reports numbers and never judges them. See the header of
instructions.sh and docs/performance.md ("Instructions, system calls and memory") for the method.
Run it through the shell wrapper (it raises ulimit -n for the 10,000 idle clients).
"""
import argparse
import datetime
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "support"))
sys.path.insert(0, HERE)
import pgcluster  # noqa: E402  (tests/support/pgcluster.py)
from pgbench_compare import (BenchError, Interrupted, TlsFiles, _on_signal, alive,  # noqa: E402
                             log, machine_note, port_accepts, remove_cluster, tail,
                             trust_proxy_logins)

PROXIES = ("ouroboros", "pgbouncer")
MODES = ("simple", "extended", "prepared")
MEASURES = ("instructions", "syscalls", "memory")
PGBOUNCER_OS_USER = "postgres"  # PgBouncer refuses to run as root
START_TIMEOUT = 180             # seconds; a proxy under valgrind starts slowly on a busy machine
STOP_TIMEOUT = 180              # callgrind writes its profile at exit


# ---------------------------------------------------------------------------------------------
# The proxies: both in transaction mode, pool size N, trust client authentication, and startable
# behind a wrapper command (valgrind).
# ---------------------------------------------------------------------------------------------

class Proxy:
    name = "?"

    def __init__(self, binary, workdir, pg, pool_size, max_clients, tag, tls=None):
        self.binary = binary
        self.tls = tls  # TlsFiles: TLS on both legs (--tls)
        self.dir = os.path.join(workdir, f"{self.name}-{tag}")
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.pg = pg
        self.pool_size = pool_size
        self.max_clients = max_clients
        self.host = "127.0.0.1"
        self.port = None
        self.pid = None
        self.proc = None
        self.log_path = os.path.join(self.dir, f"{self.name}.log")

    def nofile(self):
        return self.max_clients + 2 * self.pool_size + 200

    def start(self, wrapper=()):
        """Starts the proxy (behind wrapper, e.g. valgrind) and waits until it accepts clients."""
        last = ""
        for _ in range(3):  # the free port can be taken between probing and binding
            self.port = pgcluster.free_port(self.host)
            self._write_config()
            out = open(self.log_path + ".stdout", "ab")
            try:
                self.proc = subprocess.Popen(self._command(list(wrapper)), stdin=subprocess.DEVNULL,
                                             stdout=out, stderr=out, cwd=self.dir,
                                             start_new_session=True, env=self._env())
            finally:
                out.close()
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and self.proc.poll() is None:
                self.pid = self._find_pid()
                if self.pid and port_accepts(self.host, self.port):
                    return self
                time.sleep(0.1)
            last = tail(self.log_path) + "\n" + tail(self.log_path + ".stdout")
            self.stop()
        raise BenchError(f"{self.name} did not start; log tail:\n{last}")

    def stop(self, timeout=STOP_TIMEOUT):
        """Stops the proxy and waits until it (and valgrind's profile writing) has finished."""
        if self.proc is None:
            return
        pid = self.pid or self.proc.pid
        if self.proc.poll() is None and alive(pid):
            try:
                os.kill(pid, self.stop_signal)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout)
            deadline = time.monotonic() + 10
            while alive(pid) and time.monotonic() < deadline:  # pgbouncer under runuser
                time.sleep(0.05)
        except subprocess.TimeoutExpired:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
        self.pid = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None and bool(self.pid) \
            and alive(self.pid)

    def _env(self):
        return dict(os.environ)


class Ouroboros(Proxy):
    name = "ouroboros"
    stop_signal = signal.SIGINT  # immediate shutdown

    def _write_config(self):
        self.config_path = os.path.join(self.dir, "ouroboros.yaml")
        # Plain-text YAML written by hand: PyYAML is not needed for this benchmark.
        listen_tls, server_tls = "", ""
        if self.tls:  # the same set-up as pgbench_compare --tls
            listen_tls = (f", tls: {{mode: require, cert_file: '{self.tls.path('server.crt')}', "
                          f"key_file: '{self.tls.path('server.key')}'}}")
            server_tls = ", tls: {mode: require}"
        with open(self.config_path, "w") as f:
            f.write(f"""listen: {{host: {self.host}, port: {self.port}{listen_tls}}}
auth:
  type: trust
  users:
    {pgcluster.USER}: {{password: "${{BENCH_OURO_PASSWORD}}"}}
pool: {{mode: transaction, size: {self.pool_size}}}
databases:
  {pgcluster.DBNAME}: {{host: {self.pg.host}, port: {self.pg.port}, dbname: {pgcluster.DBNAME}{server_tls}}}
logging: {{level: warn, format: text}}
limits: {{max_client_connections: {self.max_clients + 100}}}
metrics: {{port: 0}}
""")

    def _env(self):
        return dict(os.environ, BENCH_OURO_PASSWORD=pgcluster.PASSWORD)

    def _command(self, wrapper):
        # stderr is the log; the descriptor limit is inherited from instructions.sh.
        return wrapper + [self.binary, "--config", self.config_path]

    def _find_pid(self):
        return self.proc.pid  # valgrind runs the program in its own process: same pid

    @staticmethod
    def version(binary):
        out = subprocess.run([binary, "--version"], capture_output=True, text=True)
        return out.stdout.strip()


class PgBouncer(Proxy):
    name = "pgbouncer"
    stop_signal = signal.SIGTERM  # immediate shutdown (SIGINT waits for clients)

    def _write_config(self):
        self.ini_path = os.path.join(self.dir, "pgbouncer.ini")
        self.auth_path = os.path.join(self.dir, "userlist.txt")
        self.pid_path = os.path.join(self.dir, "pgbouncer.pid")
        if os.path.exists(self.pid_path):
            os.unlink(self.pid_path)
        with open(self.ini_path, "w") as f:
            f.write(f"""[databases]
{pgcluster.DBNAME} = host={self.pg.host} port={self.pg.port} dbname={pgcluster.DBNAME}

[pgbouncer]
listen_addr = {self.host}
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.auth_path}
pool_mode = transaction
default_pool_size = {self.pool_size}
max_client_conn = {self.max_clients + 100}
logfile = {self.log_path}
pidfile = {self.pid_path}
log_connections = 0
log_disconnections = 0
verbose = 0
ignore_startup_parameters = extra_float_digits
""")
            if self.tls:
                f.write(f"""client_tls_sslmode = require
client_tls_key_file = {self.tls.path("server.key")}
client_tls_cert_file = {self.tls.path("server.crt")}
server_tls_sslmode = require
""")
        # With trust the user must still be listed; the password is for logging in to PostgreSQL.
        with open(self.auth_path, "w") as f:
            f.write(f'"{pgcluster.USER}" "{pgcluster.PASSWORD}"\n')
        os.chmod(self.auth_path, 0o600)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(PGBOUNCER_OS_USER)
            for p in (self.dir, self.ini_path, self.auth_path):
                os.chown(p, pw.pw_uid, pw.pw_gid)

    def _command(self, wrapper):
        # runuser's PAM session (pam_limits) resets the soft descriptor limit: raise it inside.
        inner = f'ulimit -n {self.nofile()} || exit 1; exec "$@"'
        cmd = ["sh", "-c", inner, "sh"] + wrapper + [self.binary, self.ini_path]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", PGBOUNCER_OS_USER, "--"] + cmd
        return cmd

    def _find_pid(self):
        try:
            with open(self.pid_path) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        return pid if alive(pid) else None

    @staticmethod
    def version(binary):
        out = subprocess.run([binary, "--version"], capture_output=True, text=True)
        return out.stdout.splitlines()[0].strip() if out.stdout else "?"


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

PGBENCH_SSLMODE = None  # "require" with --tls


def pgbench_env():
    env = dict(os.environ, PGCONNECT_TIMEOUT="60")
    if PGBENCH_SSLMODE:
        env["PGSSLMODE"] = PGBENCH_SSLMODE
    return env


def run_pgbench(pgbench, proxy, args, extra, timeout):
    cmd = [pgbench, "-n", *extra, "-h", proxy.host, "-p", str(proxy.port), "-U", pgcluster.USER,
           pgcluster.DBNAME]
    try:
        p = subprocess.run(cmd, env=pgbench_env(), capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"") + (e.stderr or b"")
        return None, out.decode("utf-8", "replace") + f"\n(pgbench killed after {timeout} s)"


def pgbench_failure(rc, out, want_tx):
    """None if pgbench ran every transaction without error, else a one-line reason."""
    m = re.search(r"^number of transactions actually processed: (\d+)", out, re.M)
    failed = re.search(r"^number of failed transactions: (\d+)", out, re.M)
    if rc == 0 and m and int(m.group(1)) == want_tx and not (failed and int(failed.group(1))):
        return None
    errors = [ln.strip() for ln in out.splitlines()
              if "ERROR" in ln or "FATAL" in ln or "error:" in ln]
    reason = errors[0] if errors else f"pgbench rc={rc}, {m.group(0) if m else 'no summary'}"
    return re.sub(r"\s+", " ", reason)


def fill_pool(pgbench, proxy, args, workdir):
    """Opens all pool_size server connections: pool_size clients each hold a transaction open
    for 2 s at the same time. Run before every measured run, so the runs that are subtracted open
    the same servers and server logins cancel out."""
    script = os.path.join(workdir, "hold.sql")
    with open(script, "w") as f:
        f.write("SELECT pg_sleep(2);\n")
    rc, out = run_pgbench(pgbench, proxy, args,
                          ["-c", str(args.pool_size), "-j", "1", "-t", "1", "-f", script], 600)
    if rc != 0:
        raise BenchError(f"filling the pool of {proxy.name} failed:\n{out}\n"
                         f"{proxy.name} log tail:\n{tail(proxy.log_path)}")


def server_connections(cluster, tls=False):
    """Backends the proxies hold (the benchmark's only connections as USER); with tls, raises
    unless every one of them is encrypted."""
    rows = cluster.psql(f"SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a "
                        f"JOIN pg_stat_ssl s USING (pid) WHERE a.usename = '{pgcluster.USER}' "
                        f"AND a.backend_type = 'client backend'").strip()
    total, encrypted = (int(x) for x in rows.split("|"))
    if tls and encrypted != total:
        raise BenchError(f"--tls: only {encrypted} of the proxy's {total} server connections "
                         f"use TLS")
    return total


def callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise BenchError(f"no instruction total in {path}")


STRACE_LINE = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\S+)\s*$")


def parse_strace(path):
    """{syscall: calls} from strace -c output, plus 'total'."""
    counts = {}
    with open(path) as f:
        for line in f:
            m = STRACE_LINE.match(line)
            if m:
                counts[m.group(3)] = int(m.group(1))
    if "total" not in counts:
        raise BenchError(f"no total in strace summary {path}:\n{tail(path)}")
    return counts


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


def thread_count(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


# ---------------------------------------------------------------------------------------------
# The three measurements
# ---------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args, workdir, cluster, binaries, tls=None):
        self.args = args
        self.tls = tls
        self.workdir = workdir
        self.cluster = cluster
        self.binaries = binaries
        self.pgbench = cluster.bin("pgbench")
        self.live = []      # proxies currently running, stopped by cleanup()
        self.runs = []      # every measured run, for the details table
        self.seq = 0
        # PgBouncer runs as another OS user and writes its callgrind profile here too.
        self.profiles = os.path.join(workdir, "profiles")
        os.makedirs(self.profiles)
        os.chmod(self.profiles, 0o777)

    def new_proxy(self, name, max_clients):
        self.seq += 1
        cls = Ouroboros if name == "ouroboros" else PgBouncer
        p = cls(self.binaries[name], self.workdir, self.cluster, self.args.pool_size, max_clients,
                self.seq, self.tls)
        self.live.append(p)
        return p

    def retire(self, proxy):
        proxy.stop()
        self.live.remove(proxy)

    def cleanup(self):
        for p in list(self.live):
            try:
                self.retire(p)
            except Exception as e:  # keep cleaning up
                log(f"stopping {p.name}: {e}")

    def pgbench_args(self, mode, tx):
        return ["-S", "-M", mode, "-c", str(self.args.clients), "-j", "2", "-t", str(tx)]

    def measured_run(self, name, mode, tx, wrapper, before_run):
        """One pgbench run (tx transactions per client) on a fresh proxy started behind wrapper,
        after its pool is filled. before_run(proxy) is called right before pgbench and returns
        after_run(proxy), called right after it. Returns (after_run's result, failure reason or
        None, server connections held at the end)."""
        proxy = self.new_proxy(name, self.args.clients + self.args.pool_size)
        try:
            proxy.start(wrapper)
            fill_pool(self.pgbench, proxy, self.args, self.workdir)
            after_run = before_run(proxy)
            rc, out = run_pgbench(self.pgbench, proxy, self.args, self.pgbench_args(mode, tx),
                                  1200)
            failure = pgbench_failure(rc, out, self.args.clients * tx)
            if failure is None and not proxy.running():
                failure = f"{name} exited during the run; log tail:\n{tail(proxy.log_path)}"
            servers = server_connections(self.cluster, self.tls is not None)
            value = after_run(proxy)
            return value, failure, servers
        finally:
            self.retire(proxy)

    def instructions(self, name, mode, tx):
        """User-space instructions of the proxy process (all threads) for one whole run under
        callgrind: start-up, pool fill, pgbench (tx per client), shutdown."""
        out = os.path.join(self.profiles, f"callgrind-{name}-{mode}-{tx}.out")
        wrapper = ["valgrind", "--tool=callgrind", "--collect-atstart=yes",
                   "--dump-instr=no", "--dump-line=no", f"--callgrind-out-file={out}"]
        def nothing_to_bracket(_proxy):  # callgrind counts the whole process lifetime
            return lambda _: None
        _, failure, servers = self.measured_run(name, mode, tx, wrapper, nothing_to_bracket)
        total = callgrind_total(out) if failure is None else None
        return total, failure, servers

    def syscalls(self, name, mode, tx):
        """System calls of the proxy process (all threads) during one pgbench run, counted by
        strace -c -f attached to the running proxy after the pool fill."""
        out = os.path.join(self.workdir, f"strace-{name}-{mode}-{tx}.txt")
        err = out + ".stderr"

        def attach(proxy):
            threads = thread_count(proxy.pid)
            errf = open(err, "w")
            strace = subprocess.Popen(["strace", "-c", "-f", "-p", str(proxy.pid), "-o", out],
                                      stdout=subprocess.DEVNULL, stderr=errf)
            errf.close()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and strace.poll() is None:
                said = tail(err, 1000)  # "attached with N threads", or one line per thread
                if " attached with " in said or said.count(" attached") >= threads:
                    break
                time.sleep(0.05)
            else:
                strace.kill()
                strace.wait()
                raise BenchError(f"strace did not attach to {proxy.name}:\n{tail(err)}")

            def detach(_proxy):
                strace.send_signal(signal.SIGINT)
                try:
                    strace.wait(60)
                except subprocess.TimeoutExpired:
                    strace.kill()
                    strace.wait()
                    raise BenchError(f"strace did not detach from {proxy.name}")
                return parse_strace(out)
            return detach

        counts, failure, servers = self.measured_run(name, mode, tx, [], attach)
        return (counts if failure is None else None), failure, servers

    def subtract(self, kind, measure):
        """kind 'instructions' or 'syscalls'. Per proxy and mode: a run of 1 transaction per
        client subtracted from a run of N per client, divided by clients * (N - 1)."""
        n, clients = self.args.transactions, self.args.clients
        table = {}
        for mode in self.args.modes:
            for name in PROXIES:
                got = {}
                failure = None
                for tx in (1, n):
                    log(f"{kind}: {name} {mode}, {tx} transaction(s) per client")
                    t0 = time.monotonic()
                    value, fail, servers = measure(name, mode, tx)
                    secs = time.monotonic() - t0
                    total = value["total"] if isinstance(value, dict) else value
                    self.runs.append({"kind": kind, "proxy": name, "mode": mode, "tx": tx,
                                      "total": total, "servers": servers, "secs": secs,
                                      "failure": fail})
                    log(f"  total {total}, servers {servers}, {secs:.0f} s"
                        + (f", FAILED: {fail}" if fail else ""))
                    got[tx] = value
                    if fail:
                        failure = fail
                        break
                if failure:
                    table[(name, mode)] = {"failure": failure}
                    continue
                per = clients * (n - 1)
                if kind == "instructions":
                    table[(name, mode)] = {"value": (got[n] - got[1]) / per}
                else:
                    names = set(got[n]) | set(got[1])
                    table[(name, mode)] = {
                        "value": (got[n]["total"] - got[1]["total"]) / per,
                        "by_call": {c: (got[n].get(c, 0) - got[1].get(c, 0)) / per
                                    for c in names if c != "total"}}
        return table

    def memory(self, name):
        """VmRSS of a fresh proxy: no clients, idle_clients logged-in idle clients, and after one
        query on each of them (still connected)."""
        n = self.args.idle_clients
        proxy = self.new_proxy(name, n)
        rss = {}
        try:
            self._measure_memory(proxy, n, rss)
        except BenchError as e:
            rss["failure"] = re.sub(r"\s+", " ", str(e))[:300]
            log(f"memory: {name}: FAILED: {e}")
        finally:
            self.retire(proxy)
        log(f"memory: {name}: " + ", ".join(f"{k} {v / 1024:.1f} MiB" for k, v in rss.items()
                                            if k != "failure"))
        return rss

    def _measure_memory(self, proxy, n, rss):
        """Fills rss (KiB) with 'start', 'idle' and 'queried' as far as it gets."""
        name = proxy.name
        proxy.start()
        rss["start"] = vm_rss_kib(proxy.pid)
        clients = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(HERE, "idle_clients.py"), "--host", proxy.host,
             "--port", str(proxy.port), "--user", pgcluster.USER, "--dbname",
             pgcluster.DBNAME, "--count", str(n)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        try:
            line = clients.stdout.readline().strip()
            if line != f"ready {n}":
                raise BenchError(f"{n} idle clients could not log in to {name}: {line}\n"
                                 f"{name} log tail:\n{tail(proxy.log_path)}")
            rss["idle"] = vm_rss_kib(proxy.pid)
            try:
                clients.stdin.write("query\n")
                clients.stdin.flush()
            except BrokenPipeError:
                pass  # the readline below reports what the client program said
            line = clients.stdout.readline().strip()
            if line != f"queried {n}":
                raise BenchError(f"one query on each of {n} clients failed through {name}: "
                                 f"{line}\n{name} log tail:\n{tail(proxy.log_path)}")
            rss["queried"] = vm_rss_kib(proxy.pid)
            clients.stdin.write("close\n")
            clients.stdin.flush()
            clients.wait(120)
        finally:
            if clients.poll() is None:
                clients.kill()
                clients.wait()


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def num(v, nd=0):
    return f"{v:,.{nd}f}"


def cell(entry, nd):
    if "failure" in entry:
        return "fails"
    return num(entry["value"], nd)


def ratio_cell(o, b, nd=2):
    if "failure" in o or "failure" in b or not b["value"]:
        return "-"
    return f"{o['value'] / b['value']:.{nd}f}"


def markdown(args, meta, instr, sysc, mem):
    n, c = args.transactions, args.clients
    md = [f"Run {meta['date']} on {meta['machine']}. {meta['versions']}.",
          f"`pgbench -n -S -M <protocol> -c {c} -j 2 -t N`, transaction mode, pool size "
          f"{args.pool_size}, trust client authentication on both proxies; per transaction = "
          f"(run with N = {n}) − (run with N = 1), divided by {c} × {n - 1}."
          + (" TLS on both legs: pgbench sslmode=require; Ouroboros listen.tls and "
             "databases.*.tls mode require; PgBouncer client_tls_sslmode and server_tls_sslmode "
             "require; PostgreSQL ssl = on." if args.tls else ""), "",
          "| measure | protocol | Ouroboros | PgBouncer | Ouroboros / PgBouncer |",
          "|---|---|--:|--:|--:|"]
    for label, table, nd in (("user-space instructions / transaction", instr, 0),
                             ("system calls / transaction", sysc, 1)):
        if table is None:
            continue
        for mode in args.modes:
            o, b = table[("ouroboros", mode)], table[("pgbouncer", mode)]
            md.append(f"| {label} | {mode} | {cell(o, nd)} | {cell(b, nd)} | "
                      f"{ratio_cell(o, b)} |")
    k = args.idle_clients

    def rss(name, state, scale=1024.0):  # KiB measured; MiB shown, KiB per client
        m = mem[name]
        if state == "per_client" and "idle" in m:
            return {"value": (m["idle"] - m["start"]) / k}
        if state in m:
            return {"value": m[state] / scale}
        return {"failure": m.get("failure", "?")}
    for label, state, proto in () if mem is None else (("RSS MiB, no clients", "start", "-"),
                                (f"RSS MiB, {k:,} idle clients", "idle", "-"),
                                (f"RSS MiB, {k:,} clients after one query each", "queried",
                                 "simple"),
                                ("RSS KiB per idle client (idle − no clients)", "per_client",
                                 "-")):
        o, b = rss("ouroboros", state), rss("pgbouncer", state)
        md.append(f"| {label} | {proto} | {cell(o, 1)} | {cell(b, 1)} | {ratio_cell(o, b)} |")
    uneven = sorted({(r["kind"], r["proxy"], r["mode"]) for r in meta["runs"]
                     for q in meta["runs"]
                     if (q["kind"], q["proxy"], q["mode"]) == (r["kind"], r["proxy"], r["mode"])
                     and q["servers"] != r["servers"]})
    if uneven:
        md += ["", "Caution: the subtracted runs held different numbers of server connections "
               "(their logins do not cancel) for: "
               + "; ".join(f"{k} {p} {m}" for k, p, m in uneven) + "."]
    failures = [(name, mode, t[(name, mode)]["failure"]) for t in (instr, sysc) if t
                for mode in args.modes for name in PROXIES if "failure" in t[(name, mode)]]
    failures += [(name, "memory", mem[name]["failure"]) for name in PROXIES
                 if mem and "failure" in mem[name]]
    if failures:
        md += ["", "Failed runs:", ""]
        seen = set()
        for name, mode, reason in failures:
            if (name, mode) not in seen:
                seen.add((name, mode))
                md.append(f"- {name}, {mode}: `{reason}`")
    if sysc:
        md += ["", "<details><summary>System calls per transaction by call</summary>", "",
               "| protocol | proxy | calls per transaction |", "|---|---|---|"]
    for mode in args.modes if sysc else ():
        for name in PROXIES:
            e = sysc[(name, mode)]
            if "by_call" in e:
                calls = sorted(((v, k) for k, v in e["by_call"].items() if abs(v) >= 0.05),
                               reverse=True)
                md.append(f"| {mode} | {name} | "
                          + ", ".join(f"{k} {v:.2f}" for v, k in calls) + " |")
    if sysc:
        md += ["", "</details>"]
    md += ["", "<details><summary>Every run (totals per whole run)</summary>",
           "", "| measure | proxy | protocol | tx per client | total | server connections | "
           "wall s (shared machine) |", "|---|---|---|--:|--:|--:|--:|"]
    for r in meta["runs"]:
        total = "failed" if r["failure"] else num(r["total"])
        md.append(f"| {r['kind']} | {r['proxy']} | {r['mode']} | {r['tx']} | {total} | "
                  f"{r['servers']} | {r['secs']:.0f} |")
    md += ["", "</details>"]
    return "\n".join(md) + "\n"


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(prog="instructions.sh", description=__doc__.splitlines()[0])
    p.add_argument("out", nargs="?", help="write the markdown table to this file")
    p.add_argument("--transactions", type=int, default=300,
                   help="transactions per client of the long run (default 300)")
    p.add_argument("--clients", type=int, default=20, help="pgbench clients (default 20)")
    p.add_argument("--pool-size", type=int, default=10, help="server pool of both proxies")
    p.add_argument("--idle-clients", type=int, default=10000, help="idle clients (default 10000)")
    p.add_argument("--modes", default="simple,extended,prepared",
                   help="pgbench -M protocols, comma separated")
    p.add_argument("--logs", help="copy every proxy and PostgreSQL log into this directory")
    p.add_argument("--profiles", help="copy the callgrind profiles into this directory "
                   "(for callgrind_annotate)")
    p.add_argument("--measures", default=None,
                   help="what to measure, comma separated: instructions, syscalls, memory "
                        "(default all three; without memory under --tls)")
    p.add_argument("--tls", action="store_true",
                   help="TLS on both legs, as pgbench_compare --tls sets it up: PostgreSQL with "
                        "ssl = on, both proxies requiring TLS from clients and towards "
                        "PostgreSQL, pgbench with sslmode=require (no memory measure: the idle "
                        "clients speak plain text)")
    a = p.parse_args(argv)
    a.modes = [m for m in re.split(r"[,\s]+", a.modes) if m]
    if any(m not in MODES for m in a.modes) or not a.modes:
        p.error(f"--modes takes {', '.join(MODES)}")
    if a.measures is None:
        a.measures = [m for m in MEASURES if not (a.tls and m == "memory")]
    else:
        a.measures = [m for m in re.split(r"[,\s]+", a.measures) if m]
    if any(m not in MEASURES for m in a.measures) or not a.measures:
        p.error(f"--measures takes {', '.join(MEASURES)}")
    if a.tls and "memory" in a.measures:
        p.error("--tls measures no memory (tests/bench/idle_clients.py speaks plain text)")
    if a.transactions < 2 or a.clients < 1 or a.pool_size < 1 or a.idle_clients < 1:
        p.error("--transactions must be >= 2, the other counts >= 1")
    return a


def main(argv):
    global PGBENCH_SSLMODE
    args = parse_args(argv)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)
    binaries = {
        "ouroboros": os.path.abspath(os.environ.get("OUROBOROS_BIN") or os.path.join(
            SOURCE_DIR, "build", "src", "app", "ouroboros")),
        "pgbouncer": os.path.abspath(os.environ.get("PGBOUNCER_BIN", "/usr/sbin/pgbouncer")),
    }
    for b in binaries.values():
        if not (os.path.isfile(b) and os.access(b, os.X_OK)):
            log(f"missing binary {b} (set OUROBOROS_BIN / PGBOUNCER_BIN)")
            return 2
    for tool in [t for t, m in (("valgrind", "instructions"), ("strace", "syscalls"))
                 if m in args.measures]:
        if shutil.which(tool) is None:
            log(f"missing {tool} (deploy/install-deps.sh installs it)")
            return 2
    import resource
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if "memory" in args.measures and soft != resource.RLIM_INFINITY \
            and soft < args.idle_clients + 200:
        log(f"ulimit -n is {soft}: {args.idle_clients} idle clients need "
            f"{args.idle_clients + 200} (run through instructions.sh, or lower --idle-clients)")
        return 2

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="ouro-instr-")
    os.chmod(workdir, 0o755)  # the postgres OS user reaches the cluster and pgbouncer dirs
    tls = None
    if args.tls:
        try:
            tls = TlsFiles(os.path.join(workdir, "tls"))
        except BenchError as e:
            log(f"error: {e}")
            shutil.rmtree(workdir, ignore_errors=True)
            return 1
        PGBENCH_SSLMODE = "require"
    cluster = pgcluster.PgCluster(os.path.join(workdir, "pg"),
                                  **(tls.postgres_options() if tls else {}))
    bench = Bench(args, workdir, cluster, binaries, tls)
    try:
        log(f"starting PostgreSQL in {cluster.base_dir}")
        cluster.start()
        # Both proxies log in to PostgreSQL without a password check (loopback, throwaway
        # cluster): server logins are outside what is measured, and this keeps them fast under
        # valgrind. The clients' logins to the proxies are trust too.
        trust_proxy_logins(cluster, pgcluster.DBNAME, pgcluster.USER)
        init = subprocess.run([bench.pgbench, "-i", "-s", "1", "-q", "-h", cluster.host, "-p",
                               str(cluster.port), "-U", pgcluster.USER, pgcluster.DBNAME],
                              env=pgbench_env(), capture_output=True, text=True, timeout=600)
        if init.returncode != 0:
            raise BenchError(f"pgbench -i failed:\n{init.stdout}\n{init.stderr}")

        versions = [Ouroboros.version(binaries["ouroboros"]),
                    PgBouncer.version(binaries["pgbouncer"])]
        versions.append(f"PostgreSQL {cluster.psql('SHOW server_version').strip()}")

        if tls and cluster.psql("SHOW ssl").strip() != "on":
            raise BenchError("--tls: PostgreSQL did not start with ssl = on")
        instr = sysc = mem = None
        if "instructions" in args.measures:
            instr = bench.subtract("instructions", bench.instructions)
        if "syscalls" in args.measures:
            sysc = bench.subtract("syscalls", bench.syscalls)
        if "memory" in args.measures:
            mem = {name: bench.memory(name) for name in PROXIES}

        meta = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                "machine": machine_note(), "versions": ", ".join(versions), "runs": bench.runs}
        md = markdown(args, meta, instr, sysc, mem)
        print(md)
        if args.out:
            with open(args.out, "w") as f:
                f.write(md)
            log(f"markdown written to {args.out}")
        log(f"done in {time.monotonic() - started:.0f} s")
        return 0
    except Interrupted as e:
        log(f"interrupted ({e}); cleaning up")
        return 130
    except (BenchError, pgcluster.PgClusterError, subprocess.TimeoutExpired) as e:
        log(f"error: {e}")
        return 1
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        bench.cleanup()
        if args.logs:
            try:
                os.makedirs(args.logs, exist_ok=True)
                for root, _, files in os.walk(workdir):
                    for fn in files:
                        if fn.endswith((".log", ".stdout")):
                            rel = os.path.relpath(os.path.join(root, fn), workdir)
                            shutil.copy(os.path.join(root, fn),
                                        os.path.join(args.logs, rel.replace(os.sep, "_")))
            except OSError as e:
                log(f"cannot copy logs: {e}")
        if args.profiles:
            try:
                shutil.copytree(bench.profiles, args.profiles, dirs_exist_ok=True)
            except OSError as e:
                log(f"cannot copy profiles: {e}")
        remove_cluster(cluster, workdir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
