#!/usr/bin/python3
"""A throwaway PostgreSQL 15 cluster for the integration tests.

Importable (``PgCluster``) and a CLI used by the CTest fixture:

    pgcluster.py start DIR   # (re)create a cluster in DIR, write DIR/conninfo.json
    pgcluster.py stop DIR    # stop it (tolerant if not running) and remove DIR

The cluster listens on 127.0.0.1 on a free port with SCRAM for TCP connections and trust on its
Unix socket. It has the superuser ``postgres`` (password ``postgres_pw``) and the ordinary role
``ouro`` (password ``ouro_pw``) owning the database ``ouro``. PostgreSQL refuses to run as root, so
when we are root every server command runs as the ``postgres`` OS user via runuser.
"""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PG_BIN_DIR = os.environ.get("OUROBOROS_PG_BIN", "/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "postgres_pw"
USER = "ouro"
PASSWORD = "ouro_pw"
DBNAME = "ouro"
OS_USER = "postgres"  # the OS account the server runs as when we are root

# sun_path is 108 bytes; PostgreSQL appends "/.s.PGSQL.NNNNN".
_MAX_SOCKET_DIR_LEN = 80


def free_port(host="127.0.0.1"):
    """A TCP port on host that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _is_root():
    return os.geteuid() == 0


def _as_server_user(cmd):
    return ["runuser", "-u", OS_USER, "--"] + cmd if _is_root() else cmd


def _chown_to_server_user(path):
    if _is_root():
        pw = pwd.getpwnam(OS_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _pid_alive(pid):
    """True if pid is a live process (a zombie waiting to be reaped does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class PgClusterError(RuntimeError):
    pass


class PgCluster:
    def __init__(self, base_dir, bin_dir=PG_BIN_DIR, extra_conf="", hba_host_lines=None,
                 data_files=None):
        """extra_conf: lines appended to postgresql.conf (e.g. ssl = on); hba_host_lines: replace
        the TCP lines of pg_hba.conf (the Unix socket stays trust); data_files: {name: path}
        copied into the data directory, readable by the server only (certificates, keys)."""
        self.base_dir = os.path.abspath(base_dir)
        self.bin_dir = bin_dir
        self.extra_conf = extra_conf
        self.hba_host_lines = hba_host_lines
        self.data_files = data_files or {}
        self.data_dir = os.path.join(self.base_dir, "data")
        self.log_file = os.path.join(self.base_dir, "postgres.log")
        self.conninfo_path = os.path.join(self.base_dir, "conninfo.json")
        self.host = "127.0.0.1"
        self.port = None
        self.socket_dir = None
        self._load_existing()

    # ----- paths and connection strings -----

    def bin(self, name):
        return os.path.join(self.bin_dir, name)

    def _load_existing(self):
        """Picks up port and socket dir of a cluster created earlier in base_dir."""
        if os.path.exists(self.conninfo_path):
            with open(self.conninfo_path) as f:
                info = json.load(f)
            self.port = info["port"]
            self.socket_dir = info["socket_dir"]

    def info(self):
        return {
            "host": self.host,
            "port": self.port,
            "superuser": SUPERUSER,
            "superuser_password": SUPERUSER_PASSWORD,
            "user": USER,
            "password": PASSWORD,
            "dbname": DBNAME,
            "data_dir": self.data_dir,
            "socket_dir": self.socket_dir,
            "bin_dir": self.bin_dir,
            "log_file": self.log_file,
        }

    def dsn(self, user=USER, password=PASSWORD, dbname=DBNAME, **extra):
        """libpq key/value DSN for a TCP connection straight to PostgreSQL (SCRAM)."""
        parts = {"host": self.host, "port": self.port, "user": user, "dbname": dbname}
        if password is not None:
            parts["password"] = password
        parts.update(extra)
        return " ".join(f"{k}={_quote(v)}" for k, v in parts.items())

    def superuser_dsn(self, dbname=DBNAME, **extra):
        return self.dsn(SUPERUSER, SUPERUSER_PASSWORD, dbname, **extra)

    def socket_dsn(self, user=SUPERUSER, dbname="postgres"):
        """DSN over the Unix socket (trust auth), for administration."""
        return f"host={_quote(self.socket_dir)} port={self.port} user={user} dbname={dbname}"

    # ----- lifecycle -----

    def _run(self, cmd, check=True, as_server_user=True, timeout=120, **kw):
        full = _as_server_user(cmd) if as_server_user else cmd
        proc = subprocess.run(full, cwd=self.base_dir, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, **kw)
        if check and proc.returncode != 0:
            raise PgClusterError(f"{' '.join(full)} failed ({proc.returncode}):\n{proc.stdout}"
                                 + self._log_tail())
        return proc

    def _log_tail(self, n=40):
        try:
            with open(self.log_file, errors="replace") as f:
                lines = f.readlines()[-n:]
            return "\n--- postgres.log (tail) ---\n" + "".join(lines)
        except OSError:
            return ""

    def psql(self, sql, dbname="postgres", check=True):
        """Runs sql as the superuser over the Unix socket; returns stdout (unaligned, tuples only)."""
        proc = self._run([self.bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                          "-h", self.socket_dir, "-p", str(self.port), "-U", SUPERUSER,
                          "-d", dbname, "-c", sql], check=check, as_server_user=False)
        return proc.stdout

    def is_running(self):
        if not os.path.isdir(self.data_dir):
            return False
        proc = self._run([self.bin("pg_ctl"), "status", "-D", self.data_dir], check=False)
        return proc.returncode == 0

    def _postmaster_pid(self):
        try:
            with open(os.path.join(self.data_dir, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def start(self):
        """Creates and starts a fresh cluster, replacing whatever an earlier run left in base_dir."""
        if os.path.exists(self.base_dir):
            self.destroy()
        os.makedirs(self.base_dir)
        os.chmod(self.base_dir, 0o755)
        _chown_to_server_user(self.base_dir)
        if _is_root() and subprocess.run(_as_server_user(["test", "-w", self.base_dir]),
                                         cwd="/").returncode != 0:
            raise PgClusterError(f"the {OS_USER} OS user cannot reach {self.base_dir}: "
                                 "every parent directory must be searchable by others")
        self._make_socket_dir()
        self._initdb()
        last_error = None
        for _ in range(5):  # the free port can be taken between probing and binding: retry
            self.port = free_port(self.host)
            self._write_port_conf()
            try:
                self._pg_ctl_start()
                break
            except PgClusterError as e:
                last_error = e
        else:
            raise last_error
        self._create_role_and_db()
        self._write_conninfo()
        return self

    def _make_socket_dir(self):
        sock = os.path.join(self.base_dir, "sock")
        if len(sock) > _MAX_SOCKET_DIR_LEN:
            sock = tempfile.mkdtemp(prefix="ouro-pgsock-")
        else:
            os.makedirs(sock, exist_ok=True)
        os.chmod(sock, 0o755)
        _chown_to_server_user(sock)
        self.socket_dir = sock

    def _initdb(self):
        pwfile = os.path.join(self.base_dir, "pwfile")
        with open(pwfile, "w") as f:
            f.write(SUPERUSER_PASSWORD + "\n")
        _chown_to_server_user(pwfile)
        try:
            self._run([self.bin("initdb"), "-D", self.data_dir, "-U", SUPERUSER,
                       "--auth-host=scram-sha-256", "--auth-local=trust",
                       f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        finally:
            os.unlink(pwfile)
        with open(os.path.join(self.data_dir, "postgresql.conf"), "a") as f:
            f.write("\n# ouroboros test cluster\n"
                    "listen_addresses = '127.0.0.1'\n"
                    f"unix_socket_directories = '{self.socket_dir}'\n"
                    "max_connections = 300\n"
                    "fsync = off\n"
                    "synchronous_commit = off\n"
                    "full_page_writes = off\n"
                    "password_encryption = 'scram-sha-256'\n"
                    "logging_collector = off\n"
                    "log_min_messages = warning\n"
                    "log_connections = off\n"
                    "include_if_exists = 'port.conf'\n")
            if self.extra_conf:
                f.write(self.extra_conf.rstrip("\n") + "\n")
        if self.hba_host_lines is not None:
            with open(os.path.join(self.data_dir, "pg_hba.conf"), "w") as f:
                f.write("local all all trust\n" + "".join(line + "\n" for line in self.hba_host_lines))
        for name, source in self.data_files.items():
            target = os.path.join(self.data_dir, name)
            shutil.copyfile(source, target)
            os.chmod(target, 0o600)
            _chown_to_server_user(target)

    def _write_port_conf(self):
        path = os.path.join(self.data_dir, "port.conf")
        with open(path, "w") as f:
            f.write(f"port = {self.port}\n")
        _chown_to_server_user(path)

    def _pg_ctl_start(self):
        # The log file is opened by pg_ctl running as the server user: it must be able to write it.
        self._run([self.bin("pg_ctl"), "-D", self.data_dir, "-l", self.log_file, "-w",
                   "-t", "60", "start"])

    def _create_role_and_db(self):
        self.psql(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
        self.psql(f"CREATE DATABASE {DBNAME} OWNER {USER}")

    def _write_conninfo(self):
        tmp = self.conninfo_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.info(), f, indent=2)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.conninfo_path)

    def stop(self, mode="fast"):
        """Stops the server; does nothing if it is not running."""
        if not os.path.isdir(self.data_dir) or not self.is_running():
            return
        proc = self._run([self.bin("pg_ctl"), "-D", self.data_dir, "-m", mode, "-w", "-t", "60",
                          "stop"], check=False)
        if proc.returncode != 0 and self.is_running():
            raise PgClusterError(f"pg_ctl stop failed:\n{proc.stdout}")

    def start_again(self):
        """Starts the existing (stopped) cluster on its old port."""
        if self.port is None:
            raise PgClusterError(f"no cluster in {self.base_dir}")
        if not self.is_running():
            self._pg_ctl_start()
        return self

    def restart(self):
        self.stop()
        return self.start_again()

    def destroy(self):
        """Stops the server however it can and removes base_dir (and an out-of-tree socket dir)."""
        if os.path.isdir(self.data_dir):
            try:
                self.stop(mode="immediate")
            except (PgClusterError, subprocess.TimeoutExpired, OSError):
                pass
            pid = self._postmaster_pid()
            if pid is not None and _pid_alive(pid):
                # Only the postmaster recorded in this cluster's own postmaster.pid.
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10
                while _pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
        if self.socket_dir and not self.socket_dir.startswith(self.base_dir + os.sep):
            shutil.rmtree(self.socket_dir, ignore_errors=True)
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.port = None


def _quote(value):
    s = str(value)
    if s and all(c not in s for c in " '\\"):
        return s
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print(f"usage: {argv[0]} start|stop DIR", file=sys.stderr)
        return 2
    cluster = PgCluster(argv[2])
    if argv[1] == "start":
        try:
            cluster.start()
        except Exception:
            cluster.destroy()
            raise
        print(f"PostgreSQL running on {cluster.host}:{cluster.port}; conninfo in "
              f"{cluster.conninfo_path}")
    else:
        cluster.destroy()
        print(f"PostgreSQL in {cluster.base_dir} stopped and removed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
