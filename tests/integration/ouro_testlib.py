"""Helpers for the integration tests: the PostgreSQL cluster's connection info, running the proxy
binary, a minimal raw PostgreSQL wire-protocol client (for what drivers will not send), and /proc
sampling. The fixtures that use these live in conftest.py."""
import base64
import copy
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import signal
import socket
import struct
import subprocess
import threading
import time

import yaml

SOURCE_DIR = os.environ.get("OUROBOROS_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_BIN = os.path.join(SOURCE_DIR, "build", "src", "app", "ouroboros")
LISTEN_RE = re.compile(r"listening on (\S+):(\d+)")
SANITIZER_MARKERS = ("AddressSanitizer", "runtime error", "LeakSanitizer", "UndefinedBehaviorSanitizer")
PROXY_START_DEADLINE = 15.0
PROXY_STOP_DEADLINE = 20.0


def proxy_binary():
    """Path of the proxy binary, or None if it is not built."""
    path = os.environ.get("OUROBOROS_BIN") or DEFAULT_BIN
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def running_in_ci():
    """CI=true (any value but empty/0/false/no): a missing test dependency is a failure there."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing_dependency(what):
    """A test cannot run because `what` is missing: it fails under CI=true (deploy/install-deps.sh
    installs every test dependency) and is skipped elsewhere, saying so."""
    import pytest
    if running_in_ci():
        pytest.fail(f"{what} (CI=true: a missing test dependency fails; deploy/install-deps.sh "
                    "installs it)", pytrace=False)
    pytest.skip(f"{what} (a failure under CI=true)")


def sanitized_build():
    """True when the proxy under test is an ASan/UBSan build (CMake sets OUROBOROS_SANITIZE=ON
    in the tests' environment for -DOUROBOROS_SANITIZE=ON)."""
    return os.environ.get("OUROBOROS_SANITIZE", "").upper() in ("ON", "1", "TRUE", "YES")


def quote_dsn(value):
    s = str(value)
    if s and all(c not in s for c in " '\\"):
        return s
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def make_dsn(**parts):
    return " ".join(f"{k}={quote_dsn(v)}" for k, v in parts.items() if v is not None)


def _ephemeral_ports():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port(host="127.0.0.1"):
    """A TCP port on host that nothing listens on right now, taken from below the kernel's
    ephemeral range: a listener started later with port 0 (the proxy's own, in most tests) is
    never given the same port, which a port from bind(host, 0) could be."""
    low, _ = _ephemeral_ports()
    candidates = list(range(10000, low))
    random.shuffle(candidates)
    for port in candidates[:200]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free TCP port on {host} below the ephemeral range ({low})")


_refusing_sockets = []


def refused_port(host="127.0.0.1"):
    """A TCP port on host that refuses connections for the rest of this test process: bound, so no
    other process (a proxy or PostgreSQL of a test running in parallel) can take it, and never
    listening. For a backend that must stay unreachable; free_port() only says "free right now"."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    _refusing_sockets.append(s)
    return s.getsockname()[1]


def wait_for(predicate, deadline_s, interval=0.05, message="condition"):
    """Polls predicate() until it returns a truthy value (returned) or the deadline passes."""
    end = time.monotonic() + deadline_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= end:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {message}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# PostgreSQL cluster
# ---------------------------------------------------------------------------------------------

class PgInfo:
    """The shared cluster, as described by conninfo.json (written by tests/support/pgcluster.py)."""

    def __init__(self, info):
        self.raw = info
        self.host = info["host"]
        self.port = int(info["port"])
        self.superuser = info["superuser"]
        self.superuser_password = info["superuser_password"]
        self.user = info["user"]
        self.password = info["password"]
        self.dbname = info["dbname"]
        self.bin_dir = info["bin_dir"]
        self.socket_dir = info.get("socket_dir")

    @classmethod
    def load(cls, path):
        with open(path) as f:
            return cls(json.load(f))

    def bin(self, name):
        return os.path.join(self.bin_dir, name)

    def dsn(self, user=None, password=None, dbname=None, **extra):
        return make_dsn(host=self.host, port=self.port, user=user or self.user,
                        password=password if password is not None else self.password,
                        dbname=dbname or self.dbname, connect_timeout=10, **extra)

    def super_dsn(self, dbname=None, **extra):
        return self.dsn(self.superuser, self.superuser_password, dbname, **extra)

    def connect_super(self, dbname=None):
        """A direct autocommit superuser connection to PostgreSQL (not through the proxy)."""
        import psycopg
        return psycopg.connect(self.super_dsn(dbname), autocommit=True)

    def super_query(self, sql, params=None, dbname=None):
        with self.connect_super(dbname) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description is not None else []


# ---------------------------------------------------------------------------------------------
# The proxy process
# ---------------------------------------------------------------------------------------------

def deep_merge(base, overrides):
    """Returns base updated recursively by overrides; an override value of None deletes the key."""
    out = copy.deepcopy(base)
    for key, value in (overrides or {}).items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def default_config(pg):
    backend = {"host": pg.host, "port": pg.port}
    return {
        "listen": {"host": "127.0.0.1", "port": 0},
        "auth": {"type": "scram-sha-256", "users": {pg.user: {"password": pg.password}}},
        "pool": {"mode": "session", "size": 20},
        "databases": {pg.dbname: dict(backend), "*": dict(backend)},
        "logging": {"level": "info", "format": "text"},
        "limits": {"max_message_size": "64MB", "max_client_connections": 1000,
                   "buffer_high_water": "1MB"},
        "timeouts": {"client_login_timeout": "60s", "server_connect_timeout": "15s"},
        # The default metrics port (9930) would collide between tests running in parallel;
        # tests that scrape set a free port of their own.
        "metrics": {"host": "127.0.0.1", "port": 0},
    }


class ProxyProcess:
    """One running `ouroboros --config FILE`, stderr (and stdout) captured to a log file."""

    def __init__(self, binary, config, workdir, name="proxy", env=None):
        self.binary = binary
        self.env = dict(os.environ, **(env or {}))
        self.config = config
        self.workdir = workdir
        self.config_path = os.path.join(workdir, f"{name}.yaml")
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.proc = None
        self.stopped = False
        self.host = None
        self.port = None
        self.user = None
        self.password = None
        self.dbname = None

    def start(self):
        with open(self.config_path, "w") as f:
            yaml.safe_dump(self.config, f, default_flow_style=False, sort_keys=False)
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen([self.binary, "--config", self.config_path],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         cwd=self.workdir, env=self.env)
        finally:
            log.close()
        end = time.monotonic() + PROXY_START_DEADLINE
        while True:
            m = LISTEN_RE.search(self.log_text())
            if m:
                self.host, self.port = m.group(1), int(m.group(2))
                break
            if self.proc.poll() is not None:
                self.stopped = True
                raise AssertionError(f"proxy exited with {self.proc.returncode} before listening;"
                                     f" config:\n{self.config_text()}\nlog:\n{self.log_text()}")
            if time.monotonic() >= end:
                self.kill()
                self.stopped = True
                raise AssertionError(f"proxy did not log 'listening on HOST:PORT' within "
                                     f"{PROXY_START_DEADLINE}s; log:\n{self.log_text()}")
            time.sleep(0.02)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def config_text(self):
        with open(self.config_path) as f:
            return f.read()

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])

    def dsn(self, user="ouro", password="ouro_pw", dbname="ouro", **extra):
        return make_dsn(host=self.host, port=self.port, user=user, password=password,
                        dbname=dbname, connect_timeout=10, **extra)

    def connect(self, user="ouro", password="ouro_pw", dbname="ouro", autocommit=True, **extra):
        import psycopg
        return psycopg.connect(self.dsn(user, password, dbname, **extra), autocommit=autocommit)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def assert_alive(self):
        assert self.alive(), (f"proxy died (exit code {self.proc.returncode}); log:\n"
                              f"{self.log_tail()}")

    def rss_kb(self):
        return vm_rss_kb(self.pid)

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def sanitizer_reports(self):
        text = self.log_text()
        return [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKERS)]

    def stop(self):
        """SIGTERM, wait, and check the exit was clean (code 0, no sanitizer reports)."""
        if self.proc is None or self.stopped:
            return
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=PROXY_STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"proxy did not exit within {PROXY_STOP_DEADLINE}s of "
                                     f"SIGTERM; log:\n{self.log_tail()}")
            assert self.proc.returncode == 0, (
                f"proxy exited with {self.proc.returncode} after SIGTERM; log:\n{self.log_tail()}")
        else:
            raise AssertionError(f"proxy had already exited with {self.proc.returncode} before "
                                 f"it was stopped; log:\n{self.log_tail()}")
        reports = self.sanitizer_reports()
        assert not reports, "sanitizer reports in the proxy log:\n" + "\n".join(reports[:20])

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def small_asan_quarantine_env():
    """Environment for a proxy whose RSS is measured: an AddressSanitizer build keeps freed memory
    in a quarantine (256 MB by default) that shows up as RSS without being the proxy's buffering;
    shrink it. No effect on a build without ASan."""
    base = os.environ.get("ASAN_OPTIONS", "")
    extra = "quarantine_size_mb=8:thread_local_quarantine_size_kb=64"
    return {"ASAN_OPTIONS": f"{base}:{extra}" if base else extra}


def vm_rss_kb(pid):
    """Resident set size of pid in KiB (VmRSS from /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


class RssSampler:
    """Samples a process's VmRSS in a background thread until stopped; keeps the maximum."""

    def __init__(self, pid, interval=0.05):
        self.pid = pid
        self.interval = interval
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append(vm_rss_kb(self.pid))
            except (OSError, AssertionError):
                return
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def max_kb(self):
        return max(self.samples) if self.samples else 0


# ---------------------------------------------------------------------------------------------
# Raw wire protocol
# ---------------------------------------------------------------------------------------------

PROTOCOL_3_0 = 196608
SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102


def startup_packet(params, protocol=PROTOCOL_3_0):
    body = struct.pack("!I", protocol)
    for k, v in params.items():
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def message(type_byte, payload=b""):
    return type_byte + struct.pack("!I", len(payload) + 4) + payload


def query_message(sql):
    return message(b"Q", sql.encode() + b"\0")


def parse_fields(payload):
    """Fields of an ErrorResponse/NoticeResponse payload as {code letter: value}."""
    fields = {}
    for part in payload.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return fields


class ServerError(Exception):
    def __init__(self, fields):
        super().__init__(f"{fields.get('S')} {fields.get('C')}: {fields.get('M')}")
        self.fields = fields
        self.sqlstate = fields.get("C")


class ConnectionClosed(Exception):
    pass


class RawConn:
    """A blocking raw-socket PostgreSQL protocol client (no TLS), for tests that need exact bytes."""

    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = bytearray()
        self.backend_pid = None
        self.secret_key = None
        self.parameters = {}

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise ConnectionClosed(f"connection closed with {len(self.buf)} bytes buffered")
            self.buf += chunk

    def read_byte(self):
        self._fill(1)
        b = bytes(self.buf[:1])
        del self.buf[:1]
        return b

    def read_message(self):
        """(type byte, payload) of the next message from the server."""
        self._fill(5)
        mtype = bytes(self.buf[:1])
        (length,) = struct.unpack("!I", self.buf[1:5])
        if length < 4:
            raise AssertionError(f"server sent message {mtype!r} with length {length}")
        self._fill(1 + length)
        payload = bytes(self.buf[5:1 + length])
        del self.buf[:1 + length]
        return mtype, payload

    def read_until_eof_or_error(self, deadline_s=10.0):
        """Reads everything until the server closes; returns (ErrorResponse fields or None, eof)."""
        end = time.monotonic() + deadline_s
        error = None
        while True:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return error, True
            except socket.timeout:
                return error, False
            if not chunk:
                return error, True
            self.buf += chunk
            while len(self.buf) >= 5 and self.buf[:1] == b"E":
                (length,) = struct.unpack("!I", self.buf[1:5])
                if len(self.buf) < 1 + length:
                    break
                error = parse_fields(bytes(self.buf[5:1 + length]))
                del self.buf[:1 + length]

    def startup(self, user, password, dbname, params=None, ssl_request=False,
                gssenc_request=False):
        """Sends startup (optionally after GSSENCRequest/SSLRequest, expecting 'N') and
        authenticates (trust, cleartext, md5, SCRAM-SHA-256); reads until ReadyForQuery.
        Raises ServerError on an ErrorResponse."""
        if gssenc_request:
            self.send(struct.pack("!II", 8, GSSENC_REQUEST_CODE))
            answer = self.read_byte()
            assert answer == b"N", f"GSSENCRequest answered {answer!r}, expected b'N'"
        if ssl_request:
            self.send(struct.pack("!II", 8, SSL_REQUEST_CODE))
            answer = self.read_byte()
            assert answer == b"N", f"SSLRequest answered {answer!r}, expected b'N'"
        all_params = {"user": user}
        if dbname is not None:
            all_params["database"] = dbname
        all_params.update(params or {})
        self.send(startup_packet(all_params))
        scram = None
        while True:
            mtype, payload = self.read_message()
            if mtype == b"E":
                raise ServerError(parse_fields(payload))
            if mtype == b"R":
                (code,) = struct.unpack("!I", payload[:4])
                if code == 0:
                    continue
                if code == 3:
                    self.send(message(b"p", password.encode() + b"\0"))
                elif code == 5:
                    salt = payload[4:8]
                    inner = hashlib.md5((password + user).encode()).hexdigest()
                    outer = hashlib.md5(inner.encode() + salt).hexdigest()
                    self.send(message(b"p", b"md5" + outer.encode() + b"\0"))
                elif code == 10:
                    mechanisms = [m for m in payload[4:].split(b"\0") if m]
                    assert b"SCRAM-SHA-256" in mechanisms, mechanisms
                    scram = ScramClient(password)
                    first = scram.client_first()
                    self.send(message(b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first))
                                      + first))
                elif code == 11:
                    self.send(message(b"p", scram.client_final(payload[4:])))
                elif code == 12:
                    scram.verify_server_final(payload[4:])
                else:
                    raise AssertionError(f"unsupported authentication request {code}")
            elif mtype == b"S":
                k, v, _ = payload.split(b"\0", 2)
                self.parameters[k.decode()] = v.decode()
            elif mtype == b"K":
                self.backend_pid, self.secret_key = struct.unpack("!II", payload)
            elif mtype == b"Z":
                return self
            elif mtype == b"N":
                continue
            else:
                raise AssertionError(f"unexpected message {mtype!r} during startup")

    def simple_query(self, sql):
        """Runs sql with the simple protocol; returns rows (lists of str/None) of all results.
        Raises ServerError (after ReadyForQuery, or at the close that follows a FATAL) on an
        ErrorResponse."""
        self.send(query_message(sql))
        rows, error = [], None
        while True:
            try:
                mtype, payload = self.read_message()
            except ConnectionClosed:
                if error and error.fields.get("S") in ("FATAL", "PANIC"):
                    raise error  # the server ended the session with this error
                raise
            if mtype == b"D":
                (n,) = struct.unpack("!H", payload[:2])
                pos, row = 2, []
                for _ in range(n):
                    (ln,) = struct.unpack("!i", payload[pos:pos + 4])
                    pos += 4
                    if ln < 0:
                        row.append(None)
                    else:
                        row.append(payload[pos:pos + ln].decode())
                        pos += ln
                rows.append(row)
            elif mtype == b"E":
                error = ServerError(parse_fields(payload))
            elif mtype == b"Z":
                if error:
                    raise error
                return rows

    def terminate(self):
        try:
            self.send(message(b"X"))
        except OSError:
            pass
        self.close()


class ScramClient:
    """Client side of SCRAM-SHA-256 (RFC 5802/7677) without channel binding."""

    def __init__(self, password):
        self.password = password.encode()
        self.nonce = base64.b64encode(secrets.token_bytes(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"

    def client_first(self):
        return ("n,," + self.first_bare).encode()

    def client_final(self, server_first):
        server_first = server_first.decode()
        attrs = dict(part.split("=", 1) for part in server_first.split(","))
        assert attrs["r"].startswith(self.nonce), "server nonce does not extend ours"
        salt = base64.b64decode(attrs["s"])
        iterations = int(attrs["i"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password, salt, iterations)
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        final_bare = f"c=biws,r={attrs['r']}"
        auth_message = f"{self.first_bare},{server_first},{final_bare}".encode()
        signature = hmac.new(stored_key, auth_message, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        self.expected_server_signature = hmac.new(server_key, auth_message, "sha256").digest()
        return f"{final_bare},p={base64.b64encode(proof).decode()}".encode()

    def verify_server_final(self, server_final):
        text = server_final.decode()
        assert text.startswith("v="), f"SCRAM server-final: {text!r}"
        assert base64.b64decode(text[2:]) == self.expected_server_signature, \
            "SCRAM server signature does not verify"


def raw_connect(proxy, user="ouro", password="ouro_pw", dbname="ouro", params=None, **kw):
    return RawConn(proxy.host, proxy.port).startup(user, password, dbname, params, **kw)


def connect_error_sqlstate(host, port, user, password, dbname, timeout=15):
    """Connects with asyncpg (which, unlike libpq/psycopg, exposes the SQLSTATE of a failed
    connection) and returns the SQLSTATE of the error it gets, or None if it connected."""
    import asyncio
    import asyncpg

    async def attempt():
        try:
            conn = await asyncpg.connect(host=host, port=port, user=user, password=password,
                                         database=dbname, timeout=timeout)
        except asyncpg.PostgresError as e:
            return e.sqlstate
        await conn.close()
        return None

    return asyncio.run(attempt())


def first_query_error_sqlstate(host, port, user, password, dbname, timeout=15):
    """Connects with asyncpg and runs SELECT 1; returns the SQLSTATE of the error that ends either
    step, or None if both succeed. A login may complete without a server, so a client that needs
    a server only learns at its first query that none can be had."""
    import asyncio
    import asyncpg

    async def attempt():
        try:
            conn = await asyncpg.connect(host=host, port=port, user=user, password=password,
                                         database=dbname, timeout=timeout)
        except asyncpg.PostgresError as e:
            return e.sqlstate
        try:
            await conn.fetchval("SELECT 1", timeout=timeout)
        except asyncpg.PostgresError as e:
            return e.sqlstate
        finally:
            conn.terminate()
        return None

    return asyncio.run(attempt())
