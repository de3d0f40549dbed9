#!/usr/bin/python3
"""Driver of tests/bench/pgbench_compare.sh: pgbench against PostgreSQL directly, through
Ouroboros and through PgBouncer, with the proxies' CPU time per transaction.

A benchmark, not a test: nothing here judges speed. See the header of pgbench_compare.sh and
docs/performance.md for the method. Run it through the shell wrapper (it raises ulimit -n).
"""
import argparse
import datetime
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "support"))
import pgcluster  # noqa: E402  (tests/support/pgcluster.py)

TARGETS = ("direct", "ouroboros", "pgbouncer")
LISTEN_RE = re.compile(r"listening on (\S+):(\d+)")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PGBOUNCER_OS_USER = "postgres"  # PgBouncer refuses to run as root


class BenchError(RuntimeError):
    pass


class Interrupted(BaseException):
    pass


def _on_signal(signum, _frame):
    raise Interrupted(f"signal {signum}")


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError as e:
        return f"(cannot read {path}: {e})"


def cpu_split(pid):
    """(utime, stime) of a process (all its threads), in clock ticks; None if it is gone. Kept
    apart because user time is the proxy's own code and system time its syscalls."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == "Z":
        return None
    return int(fields[11]), int(fields[12])  # fields 14 and 15 of stat(5)


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks; None if it is gone."""
    split = cpu_split(pid)
    return None if split is None else sum(split)


def alive(pid):
    return cpu_ticks(pid) is not None


# ---------------------------------------------------------------------------------------------
# TLS (--tls): a throwaway CA and server certificate made with the openssl CLI
# ---------------------------------------------------------------------------------------------

class TlsFiles:
    """In `directory`: ca.crt/ca.key and server.crt/server.key (CN localhost, SAN localhost and
    127.0.0.1, signed by the CA; P-256 keys). Readable by the postgres OS user (PgBouncer)."""

    def __init__(self, directory):
        if shutil.which("openssl") is None:
            raise BenchError("--tls needs the openssl command-line tool")
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self._openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
                      "-subj", "/CN=Ouroboros bench CA", "-days", "2")
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", "server.key", "-out", "server.csr",
                      "-subj", "/CN=localhost")
        with open(os.path.join(directory, "server.ext"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        self._openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                      "-CAcreateserial", "-days", "2", "-sha256", "-extfile", "server.ext",
                      "-out", "server.crt")
        os.chmod(self.path("server.key"), 0o600)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(PGBOUNCER_OS_USER)
            os.chown(directory, pw.pw_uid, pw.pw_gid)
            for name in os.listdir(directory):
                os.chown(os.path.join(directory, name), pw.pw_uid, pw.pw_gid)

    def path(self, name):
        return os.path.join(self.dir, name)

    def _openssl(self, *args):
        proc = subprocess.run(["openssl", *args], cwd=self.dir, capture_output=True, text=True,
                              timeout=60)
        if proc.returncode != 0:
            raise BenchError(f"openssl {' '.join(args)} failed:\n{proc.stderr}")

    def postgres_options(self):
        """PgCluster keyword arguments: ssl = on with this certificate."""
        return {"extra_conf": "ssl = on\nssl_cert_file = 'server.crt'\n"
                              "ssl_key_file = 'server.key'\n",
                "data_files": {"server.crt": self.path("server.crt"),
                               "server.key": self.path("server.key")}}


def interrupt_and_wait(proc, grace_s):
    """SIGINT (both proxies shut down at once on it), then SIGKILL if it is still there after
    grace_s seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def remove_cluster(cluster, workdir):
    """The last step of every benchmark's clean-up: PostgreSQL stopped, the work directory gone;
    a failure is logged, never raised (the rest of the clean-up already ran)."""
    try:
        cluster.destroy()
    except Exception as e:
        log(f"stopping PostgreSQL: {e}")
    shutil.rmtree(workdir, ignore_errors=True)


def trust_proxy_logins(cluster, dbname, user):
    """Lets `user` log in to `dbname` over 127.0.0.1 without a password check (a throwaway
    cluster): a proxy's own server logins are then cheap, also under valgrind."""
    hba = os.path.join(cluster.data_dir, "pg_hba.conf")
    with open(hba) as f:
        rules = f.read()
    with open(hba, "w") as f:
        f.write(f"host {dbname} {user} 127.0.0.1/32 trust\n" + rules)
    cluster.psql("SELECT pg_reload_conf()")


def port_accepts(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# The proxies
# ---------------------------------------------------------------------------------------------

class Ouroboros:
    name = "ouroboros"

    def __init__(self, binary, workdir, pg, pool_size, max_clients, tls=None):
        self.binary = binary
        self.tls = tls
        self.dir = os.path.join(workdir, "ouroboros")
        os.makedirs(self.dir, exist_ok=True)
        self.config_path = os.path.join(self.dir, "ouroboros.yaml")
        self.log_path = os.path.join(self.dir, "ouroboros.log")
        self.pg = pg
        self.pool_size = pool_size
        self.max_clients = max_clients
        self.proc = None
        self.host = "127.0.0.1"
        self.port = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _config(self, port):
        backend = {"host": self.pg.host, "port": self.pg.port, "dbname": pgcluster.DBNAME}
        listen = {"host": self.host, "port": port}
        if self.tls:
            # TLS on both legs: clients must use TLS, and so does the proxy towards PostgreSQL.
            listen["tls"] = {"mode": "require", "cert_file": self.tls.path("server.crt"),
                             "key_file": self.tls.path("server.key")}
            backend["tls"] = {"mode": "require"}
        return {
            "listen": listen,
            # The password comes from the environment so the proxy logs no plain-text warning.
            "auth": {"type": "md5",
                     "users": {pgcluster.USER: {"password": "${BENCH_OURO_PASSWORD}"}}},
            "pool": {"mode": "transaction", "size": self.pool_size},
            "databases": {pgcluster.DBNAME: backend},
            "logging": {"level": "warn", "format": "text"},
            "limits": {"max_client_connections": max(1000, self.max_clients + 100)},
        }

    def start(self):
        # At level warn the proxy does not log "listening on HOST:PORT" (an info line), so we
        # pick the port ourselves; a port taken between probing and binding is retried.
        last = ""
        for _ in range(5):
            port = pgcluster.free_port(self.host)
            with open(self.config_path, "w") as f:
                yaml.safe_dump(self._config(port), f, sort_keys=False)
            logf = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen(
                    [self.binary, "--config", self.config_path], stdin=subprocess.DEVNULL,
                    stdout=logf, stderr=logf, cwd=self.dir, start_new_session=True,
                    env=dict(os.environ, BENCH_OURO_PASSWORD=pgcluster.PASSWORD))
            finally:
                logf.close()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                m = LISTEN_RE.search(tail(self.log_path, 200))
                if m:
                    port = int(m.group(2))
                if self.proc.poll() is not None:
                    break
                if port_accepts(self.host, port):
                    self.port = port
                    return self
                time.sleep(0.05)
            last = tail(self.log_path)
            self.stop()
        raise BenchError(f"ouroboros did not start; log tail:\n{last}")

    def stop(self):
        if not self.proc:
            return
        interrupt_and_wait(self.proc, 10)
        self.proc = None

    def exit_status(self):
        return None if self.proc is None else self.proc.poll()

    def version(self):
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        return out.stdout.strip()


class PgBouncer:
    name = "pgbouncer"

    def __init__(self, binary, workdir, pg, pool_size, max_clients, tls=None):
        self.binary = binary
        self.tls = tls
        self.dir = os.path.join(workdir, "pgbouncer")
        os.makedirs(self.dir, exist_ok=True)
        self.ini_path = os.path.join(self.dir, "pgbouncer.ini")
        self.auth_path = os.path.join(self.dir, "userlist.txt")
        self.log_path = os.path.join(self.dir, "pgbouncer.log")
        self.pid_path = os.path.join(self.dir, "pgbouncer.pid")
        self.stdout_path = os.path.join(self.dir, "pgbouncer.stdout")
        self.pg = pg
        self.pool_size = pool_size
        self.max_clients = max_clients
        self.runner = None  # runuser -> sh -> exec pgbouncer
        self.pid = None     # the pgbouncer process itself (from its pidfile)
        self.host = "127.0.0.1"
        self.port = None

    def _write_files(self, port):
        max_client_conn = max(1000, self.max_clients + 100)
        ini = f"""[databases]
{pgcluster.DBNAME} = host={self.pg.host} port={self.pg.port} dbname={pgcluster.DBNAME}

[pgbouncer]
listen_addr = {self.host}
listen_port = {port}
unix_socket_dir =
auth_type = md5
auth_file = {self.auth_path}
pool_mode = transaction
default_pool_size = {self.pool_size}
max_client_conn = {max_client_conn}
logfile = {self.log_path}
pidfile = {self.pid_path}
log_connections = 0
log_disconnections = 0
log_pooler_errors = 1
verbose = 0
ignore_startup_parameters = extra_float_digits
"""
        if self.tls:
            ini += f"""client_tls_sslmode = require
client_tls_key_file = {self.tls.path("server.key")}
client_tls_cert_file = {self.tls.path("server.crt")}
server_tls_sslmode = require
"""
        with open(self.ini_path, "w") as f:
            f.write(ini)
        with open(self.auth_path, "w") as f:
            f.write(f'"{pgcluster.USER}" "{pgcluster.PASSWORD}"\n')
        os.chmod(self.auth_path, 0o600)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(PGBOUNCER_OS_USER)
            for p in (self.dir, self.ini_path, self.auth_path):
                os.chown(p, pw.pw_uid, pw.pw_gid)

    def _command(self):
        nofile = 2 * max(1000, self.max_clients + 100) + 200  # max_client_conn + servers
        inner = f'ulimit -n {nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; ' \
                f'exec "$0" "$1"'
        cmd = ["sh", "-c", inner, self.binary, self.ini_path]
        if os.geteuid() == 0:
            # runuser's PAM session (pam_limits) resets the soft descriptor limit to 1024.
            cmd = ["runuser", "-u", PGBOUNCER_OS_USER, "--"] + cmd
        return cmd

    def start(self):
        last = ""
        for _ in range(5):
            port = pgcluster.free_port(self.host)
            self._write_files(port)
            for p in (self.pid_path,):
                if os.path.exists(p):
                    os.unlink(p)
            out = open(self.stdout_path, "ab")
            try:
                self.runner = subprocess.Popen(self._command(), stdin=subprocess.DEVNULL,
                                               stdout=out, stderr=out, cwd=self.dir,
                                               start_new_session=True)
            finally:
                out.close()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if self.pid is None:
                    self.pid = self._read_pidfile()
                if self.runner.poll() is not None:
                    break
                if self.pid and port_accepts(self.host, port):
                    self.port = port
                    return self
                time.sleep(0.05)
            last = tail(self.log_path) + "\n" + tail(self.stdout_path)
            self.stop()
        raise BenchError(f"pgbouncer did not start; log tail:\n{last}")

    def _read_pidfile(self):
        try:
            with open(self.pid_path) as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/comm") as f:
                return pid if f.read().strip() == "pgbouncer" else None
        except (OSError, ValueError):
            return None

    def stop(self):
        if self.pid and alive(self.pid):
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self.runner:
            try:
                self.runner.wait(10)
            except subprocess.TimeoutExpired:
                if self.pid and alive(self.pid):
                    os.kill(self.pid, signal.SIGKILL)
                self.runner.kill()
                self.runner.wait(10)
        self.runner = None
        self.pid = None

    def exit_status(self):
        if self.runner is None:
            return None
        if self.pid and not alive(self.pid):
            return self.runner.poll() if self.runner.poll() is not None else "gone"
        return None

    def version(self):
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        return out.stdout.splitlines()[0].strip() if out.stdout else "?"


# ---------------------------------------------------------------------------------------------
# pgbench
# ---------------------------------------------------------------------------------------------

PGBENCH_SSLMODE = None  # "require" with --tls


def pgbench_env():
    env = dict(os.environ, PGPASSWORD=pgcluster.PASSWORD, PGCONNECT_TIMEOUT="60")
    if PGBENCH_SSLMODE:
        env["PGSSLMODE"] = PGBENCH_SSLMODE
    return env


def parse_pgbench(out):
    def num(pattern, cast=float):
        m = re.search(pattern, out, re.M)
        return cast(m.group(1)) if m else None
    return {
        "tps": num(r"^tps = ([\d.]+) \(without initial connection time\)"),
        "latency_ms": num(r"^latency average = ([\d.]+) ms"),
        "tx": num(r"^number of transactions actually processed: (\d+)", int),
        "failed": num(r"^number of failed transactions: (\d+)", int),
        "conn_ms": num(r"^initial connection time = ([\d.]+) ms"),
    }


def run_pgbench(pgbench, host, port, clients, threads, seconds, extra=()):
    cmd = [pgbench, "-n", "-S", "-M", "simple", "-c", str(clients), "-j", str(threads),
           "-T", str(seconds), *extra, "-h", host, "-p", str(port), "-U", pgcluster.USER,
           pgcluster.DBNAME]
    timeout = seconds + 60 + clients // 5
    try:
        proc = subprocess.run(cmd, env=pgbench_env(), capture_output=True, text=True,
                              timeout=timeout)
        return proc.returncode, proc.stdout, proc.stderr, False
    except subprocess.TimeoutExpired as e:  # subprocess.run kills pgbench
        def s(b):
            return b.decode("utf-8", "replace") if isinstance(b, bytes) else (b or "")
        return None, s(e.stdout), s(e.stderr), True


# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------

def fmt(v, nd=1):
    return "-" if v is None else f"{v:,.{nd}f}"


def seconds(ticks):
    return "-" if ticks is None else f"{ticks / CLK_TCK:.2f}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def cpu_delta(before, after):
    """A run's proxy CPU ticks from two cpu_split readings: total (the headline figure), user
    and sys; all None without both readings (direct runs, or the proxy died)."""
    if before is None or after is None:
        return {"cpu_ticks": None, "user_ticks": None, "sys_ticks": None}
    user, sys_ = after[0] - before[0], after[1] - before[1]
    return {"cpu_ticks": user + sys_, "user_ticks": user, "sys_ticks": sys_}


def ms_per_1k(runs, key, tx):
    """CPU ms per 1000 transactions of `key` ticks summed over `runs`."""
    return sum(r[key] for r in runs) * 1000.0 / CLK_TCK / tx * 1000.0


def aggregate(results, clients_list):
    rows = []
    for c in clients_list:
        for t in TARGETS:
            runs = [r for r in results if r["clients"] == c and r["target"] == t and r["ok"]]
            if not runs:
                rows.append({"clients": c, "target": t, "tps": None, "latency_ms": None,
                             "cpu_per_1k": None, "user_per_1k": None, "sys_per_1k": None,
                             "n": 0})
                continue
            tps = sum(r["tps"] for r in runs) / len(runs)
            lat = sum(r["latency_ms"] for r in runs) / len(runs)
            cpu = user = sys_ = None
            tx = sum(r["tx"] for r in runs)
            if t != "direct" and tx:
                # Same transactions for all three, so user + sys == the total exactly.
                cpu = ms_per_1k(runs, "cpu_ticks", tx)
                user = ms_per_1k(runs, "user_ticks", tx)
                sys_ = ms_per_1k(runs, "sys_ticks", tx)
            rows.append({"clients": c, "target": t, "tps": tps, "latency_ms": lat,
                         "cpu_per_1k": cpu, "user_per_1k": user, "sys_per_1k": sys_,
                         "n": len(runs)})
    return rows


def ratios(rows, clients_list):
    out = []
    for c in clients_list:
        o = next(r for r in rows if r["clients"] == c and r["target"] == "ouroboros")
        b = next(r for r in rows if r["clients"] == c and r["target"] == "pgbouncer")
        out.append({"clients": c, "tps": ratio(o["tps"], b["tps"]),
                    "latency": ratio(o["latency_ms"], b["latency_ms"]),
                    "cpu": ratio(o["cpu_per_1k"], b["cpu_per_1k"]),
                    "user": ratio(o["user_per_1k"], b["user_per_1k"]),
                    "sys": ratio(o["sys_per_1k"], b["sys_per_1k"])})
    return out


def text_tables(rows, rat):
    # New columns go to the right, so the ones quoted in docs/performance.md keep their place.
    lines = [f"{'clients':>7} | {'target':<9} | {'tps':>11} | {'avg latency ms':>14} | "
             f"{'proxy CPU ms/1k tx':>18} | {'user ms/1k tx':>13} | {'sys ms/1k tx':>12}"]
    lines.append("-" * len(lines[0]))
    for r in rows:
        lines.append(f"{r['clients']:>7} | {r['target']:<9} | {fmt(r['tps']):>11} | "
                     f"{fmt(r['latency_ms'], 3):>14} | {fmt(r['cpu_per_1k'], 1):>18} | "
                     f"{fmt(r['user_per_1k'], 1):>13} | {fmt(r['sys_per_1k'], 1):>12}")
    lines.append("")
    lines.append(f"{'clients':>7} | {'tps O/B':>8} | {'latency O/B':>11} | {'CPU/tx O/B':>10} | "
                 f"{'user/tx O/B':>11} | {'sys/tx O/B':>10}")
    lines.append("-" * len(lines[-1]))
    for r in rat:
        lines.append(f"{r['clients']:>7} | {fmt(r['tps'], 2):>8} | {fmt(r['latency'], 2):>11} | "
                     f"{fmt(r['cpu'], 2):>10} | {fmt(r['user'], 2):>11} | "
                     f"{fmt(r['sys'], 2):>10}")
    return "\n".join(lines)


def markdown(rows, rat, results, meta, problems):
    md = [f"Run {meta['date']} on {meta['machine']}.",
          f"{meta['params']}",
          f"Load average (1/5/15 min): {meta['load']}.",
          f"Versions: {meta['versions']}.", "",
          "| clients | target | tps | avg latency ms | proxy CPU ms/1k tx | user ms/1k tx | "
          "sys ms/1k tx |",
          "|--------:|--------|----:|---------------:|-------------------:|--------------:|"
          "-------------:|"]
    for r in rows:
        md.append(f"| {r['clients']} | {r['target']} | {fmt(r['tps'])} | "
                  f"{fmt(r['latency_ms'], 3)} | {fmt(r['cpu_per_1k'], 1)} | "
                  f"{fmt(r['user_per_1k'], 1)} | {fmt(r['sys_per_1k'], 1)} |")
    md += ["", "Ouroboros / PgBouncer (below 1 is better for latency and CPU, above 1 for tps):", "",
           "| clients | tps | avg latency | CPU per tx | user CPU per tx | sys CPU per tx |",
           "|--------:|----:|------------:|-----------:|----------------:|---------------:|"]
    for r in rat:
        md.append(f"| {r['clients']} | {fmt(r['tps'], 2)} | {fmt(r['latency'], 2)} | "
                  f"{fmt(r['cpu'], 2)} | {fmt(r['user'], 2)} | {fmt(r['sys'], 2)} |")
    md += ["", "<details><summary>Every run (in the order run)</summary>", "",
           "| clients | round | target | tps | avg latency ms | connect ms | tx | failed | "
           "proxy CPU s | user s | sys s |",
           "|--------:|------:|--------|----:|---------------:|-----------:|---:|-------:|"
           "------------:|-------:|------:|"]
    for r in results:
        md.append(f"| {r['clients']} | {r['round']} | {r['target']} | {fmt(r.get('tps'))} | "
                  f"{fmt(r.get('latency_ms'), 3)} | {fmt(r.get('conn_ms'), 0)} | "
                  f"{r.get('tx') if r.get('tx') is not None else '-'} | "
                  f"{r.get('failed') if r.get('failed') is not None else '-'} | "
                  f"{seconds(r.get('cpu_ticks'))} | {seconds(r.get('user_ticks'))} | "
                  f"{seconds(r.get('sys_ticks'))} |")
    md += ["", "</details>"]
    if problems:
        md += ["", "Problems:", ""]
        for p in problems:
            md.append("```")
            md.append(p)
            md.append("```")
    return "\n".join(md) + "\n"


def machine_note():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()}"


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(prog="pgbench_compare.sh",
                                description="pgbench: direct vs Ouroboros vs PgBouncer")
    p.add_argument("--clients", default="20 100 500",
                   help='client counts, space or comma separated (default "20 100 500")')
    p.add_argument("--seconds", type=int, default=15, help="pgbench -T per run (default 15)")
    p.add_argument("--rounds", type=int, default=2, help="rounds over all targets (default 2)")
    p.add_argument("--pool-size", type=int, default=20, help="server pool size of both proxies")
    p.add_argument("--threads", type=int, default=2, help="pgbench -j (default 2)")
    p.add_argument("--scale", type=int, default=10, help="pgbench -i -s (default 10)")
    p.add_argument("--out", help="also write the markdown report to this file")
    p.add_argument("--logs", help="copy the proxy and PostgreSQL logs into this directory")
    p.add_argument("--tls", action="store_true",
                   help="TLS on both legs: PostgreSQL with ssl = on, both proxies requiring TLS "
                        "from clients and towards PostgreSQL, pgbench with sslmode=require")
    a = p.parse_args(argv)
    a.clients_list = [int(x) for x in re.split(r"[,\s]+", a.clients.strip()) if x]
    if not a.clients_list or min(a.clients_list) < 1 or a.seconds < 1 or a.rounds < 1 \
            or a.pool_size < 1 or a.threads < 1:
        p.error("client counts, --seconds, --rounds, --pool-size and --threads must be >= 1")
    return a


def load_average():
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv):
    global PGBENCH_SSLMODE
    args = parse_args(argv)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)

    ouro_bin = os.environ.get("OUROBOROS_BIN") or os.path.join(SOURCE_DIR, "build", "src", "app",
                                                               "ouroboros")
    bouncer_bin = os.environ.get("PGBOUNCER_BIN", "/usr/sbin/pgbouncer")
    ouro_bin, bouncer_bin = os.path.abspath(ouro_bin), os.path.abspath(bouncer_bin)
    for b in (ouro_bin, bouncer_bin):
        if not (os.path.isfile(b) and os.access(b, os.X_OK)):
            log(f"missing binary {b} (set OUROBOROS_BIN / PGBOUNCER_BIN)")
            return 2
    max_clients = max(args.clients_list)

    workdir = tempfile.mkdtemp(prefix="ouro-bench-")
    os.chmod(workdir, 0o755)  # the postgres OS user must reach the cluster and pgbouncer dirs
    proxies = {}
    results, problems = [], []
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
    load_before = load_average()
    try:
        log(f"starting PostgreSQL in {cluster.base_dir}")
        cluster.start()
        max_conn = max(700, max_clients + 2 * args.pool_size + 50)
        cluster.psql(f"ALTER SYSTEM SET max_connections = {max_conn}")
        cluster.restart()
        log(f"PostgreSQL on {cluster.host}:{cluster.port}, max_connections="
            f"{cluster.psql('SHOW max_connections').strip()}")
        pgbench = cluster.bin("pgbench")
        log(f"pgbench -i -s {args.scale}")
        init = subprocess.run([pgbench, "-i", "-s", str(args.scale), "-q", "-h", cluster.host,
                               "-p", str(cluster.port), "-U", pgcluster.USER, pgcluster.DBNAME],
                              env=pgbench_env(), capture_output=True, text=True, timeout=900)
        if init.returncode != 0:
            raise BenchError(f"pgbench -i failed:\n{init.stdout}\n{init.stderr}")

        if tls and cluster.psql("SHOW ssl").strip() != "on":
            raise BenchError("--tls: PostgreSQL did not start with ssl = on")
        proxies["ouroboros"] = Ouroboros(ouro_bin, workdir, cluster, args.pool_size,
                                         max_clients, tls).start()
        proxies["pgbouncer"] = PgBouncer(bouncer_bin, workdir, cluster, args.pool_size,
                                         max_clients, tls).start()
        endpoints = {"direct": (cluster.host, cluster.port)}
        for name, p in proxies.items():
            endpoints[name] = (p.host, p.port)
            log(f"{name} on {p.host}:{p.port} (pid {p.pid})")

        if tls:
            # Both legs really encrypted: the client leg (sslmode=require succeeded) and the
            # server leg (pg_stat_ssl of the backend that ran the query).
            for t in TARGETS:
                q = subprocess.run([cluster.bin("psql"), "-XAtq", "-h", endpoints[t][0], "-p",
                                    str(endpoints[t][1]), "-U", pgcluster.USER, "-d",
                                    pgcluster.DBNAME, "-c",
                                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"],
                                   env=pgbench_env(), capture_output=True, text=True, timeout=60)
                if q.returncode != 0 or q.stdout.strip() != "t":
                    raise BenchError(f"--tls: {t} is not TLS on both legs: "
                                     f"{q.stdout.strip()!r} {q.stderr.strip()}")
            log("TLS checked on both legs of every target")

        # Warm-up (not recorded): fills the page cache and opens the proxies' server connections.
        for t in TARGETS:
            rc, out, err, _ = run_pgbench(pgbench, *endpoints[t], min(args.pool_size, 10), 1, 3)
            if rc != 0:
                raise BenchError(f"warm-up against {t} failed (rc {rc}):\n{out}\n{err}"
                                 + (f"\n{t} log tail:\n{tail(proxies[t].log_path)}"
                                    if t in proxies else ""))

        for clients in args.clients_list:
            for rnd in range(1, args.rounds + 1):
                order = TARGETS if rnd % 2 == 1 else tuple(reversed(TARGETS))
                for t in order:
                    proxy = proxies.get(t)
                    if proxy is not None and proxy.exit_status() is not None:
                        log(f"{t} is not running; restarting it")
                        proxy.stop()
                        proxy.start()
                        endpoints[t] = (proxy.host, proxy.port)
                    log(f"clients={clients} round={rnd} target={t}")
                    before = cpu_split(proxy.pid) if proxy else None
                    rc, out, err, hung = run_pgbench(pgbench, *endpoints[t], clients,
                                                     args.threads, args.seconds)
                    after = cpu_split(proxy.pid) if proxy else None
                    r = {"clients": clients, "round": rnd, "target": t, "rc": rc}
                    r.update(parse_pgbench(out))
                    r.update(cpu_delta(before, after))
                    died = proxy is not None and proxy.exit_status() is not None
                    r["ok"] = (rc == 0 and not hung and not died and r["tps"] is not None
                               and r["latency_ms"] is not None and r["tx"]
                               and not r["failed"]
                               and (proxy is None or r["cpu_ticks"] is not None))
                    results.append(r)
                    if r["ok"]:
                        cpu = ("" if r["cpu_ticks"] is None else
                               f", proxy CPU {r['cpu_ticks'] / CLK_TCK:.2f} s (user "
                               f"{r['user_ticks'] / CLK_TCK:.2f}, sys "
                               f"{r['sys_ticks'] / CLK_TCK:.2f})")
                        log(f"  tps {r['tps']:.1f}, latency {r['latency_ms']:.3f} ms, "
                            f"{r['tx']} tx{cpu}")
                    else:
                        what = ("pgbench hung (killed after timeout)" if hung else
                                f"{t} process exited ({proxy.exit_status()})" if died else
                                f"pgbench rc={rc}, failed={r['failed']}")
                        msg = (f"clients={clients} round={rnd} target={t}: {what}\n"
                               f"--- pgbench stdout (tail) ---\n"
                               f"{chr(10).join(out.splitlines()[-25:])}\n"
                               f"--- pgbench stderr (tail) ---\n"
                               f"{chr(10).join(err.splitlines()[-25:])}")
                        if proxy is not None:
                            msg += f"\n--- {t} log (tail) ---\n{tail(proxy.log_path, 30)}"
                        problems.append(msg)
                        log("  FAILED:\n" + msg)

        rows = aggregate(results, args.clients_list)
        rat = ratios(rows, args.clients_list)
        meta = {
            "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "machine": machine_note(),
            "params": (f"`pgbench -n -S -M simple -j {args.threads} -T {args.seconds}`, "
                       f"scale {args.scale}, clients {' '.join(map(str, args.clients_list))}, "
                       f"{args.rounds} round(s), pool size {args.pool_size} "
                       f"(transaction mode) for both proxies."
                       + (" TLS on both legs: pgbench sslmode=require; Ouroboros listen.tls "
                          "mode require and databases.*.tls mode require; PgBouncer "
                          "client_tls_sslmode = require and server_tls_sslmode = require; "
                          "PostgreSQL ssl = on." if tls else "")),
            "load": f"{load_before} at the start, {load_average()} at the end",
            "versions": (f"{proxies['ouroboros'].version()}, {proxies['pgbouncer'].version()}, "
                         f"PostgreSQL {cluster.psql('SHOW server_version').strip()}"),
        }
        print(text_tables(rows, rat))
        print()
        md = markdown(rows, rat, results, meta, problems)
        print(md)
        if args.out:
            with open(args.out, "w") as f:
                f.write(md)
            log(f"markdown written to {args.out}")
        return 1 if problems else 0
    except Interrupted as e:
        log(f"interrupted ({e}); cleaning up")
        return 130
    except (BenchError, pgcluster.PgClusterError) as e:
        log(f"error: {e}")
        return 1
    finally:
        # Ignore further Ctrl-C while cleaning up, so nothing is left behind.
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        if args.logs:
            try:
                os.makedirs(args.logs, exist_ok=True)
                for src in (os.path.join(workdir, "ouroboros", "ouroboros.log"),
                            os.path.join(workdir, "pgbouncer", "pgbouncer.log"),
                            cluster.log_file):
                    if os.path.exists(src):
                        shutil.copy(src, args.logs)
            except OSError as e:
                log(f"cannot copy logs: {e}")
        for p in proxies.values():
            try:
                p.stop()
            except Exception as e:  # keep cleaning up
                log(f"stopping {p.name}: {e}")
        remove_cluster(cluster, workdir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
