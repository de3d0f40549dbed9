"""Shared pieces of the fault-injection suite (test_faults_*.py, ctest label `faults`) and of the
reload-lifetime tests: writers that keep a ledger of what they were told, the ledger check
against the table, the proxy's resource baseline (RSS, file descriptors) read from /proc, freezing
a private PostgreSQL with SIGSTOP, and a TCP relay that can hold PostgreSQL's replies back.
Every loop here is bounded in count and in time; every address is 127.0.0.1."""
import os
import select
import signal
import socket
import struct
import threading
import time

import psycopg

from ouro_testlib import ConnectionClosed, message, parse_fields, wait_for

# RSS may stay above the baseline by this much (the allocator keeps freed pages; an ASan build
# runs with a small quarantine, see small_asan_quarantine_env). A leaked buffer per connection,
# per COPY or per pipeline in these tests is far larger.
RSS_MARGIN_KB = 24 * 1024
BASELINE_DEADLINE = 45.0

# SQLSTATEs a client may be told when its server went away: connection failures (class 08),
# administrator shutdown/crash (57P01..57P03), a cancel (57014: query_timeout while PostgreSQL
# was frozen) and too many connections while PostgreSQL restarts (53300).
CLEAN_FAILURES = ("08", "57P01", "57P02", "57P03", "57014", "53300")


def clean_failure(sqlstate):
    return sqlstate is not None and any(sqlstate.startswith(p) for p in CLEAN_FAILURES)


# ---------------------------------------------------------------------------------------------
# Writers and their ledger
# ---------------------------------------------------------------------------------------------

class Ledger:
    """What the clients were told: ids acknowledged (the INSERT returned), ids whose outcome is
    unknown (an error came back, or the connection broke), and the errors themselves."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = []
        self.unknown = []
        self.errors = []  # (sqlstate or None, message, connection broken) of failed INSERTs
        self.connect_errors = []  # messages of failed connection attempts (no INSERT sent)

    def ack(self, i):
        with self.lock:
            self.acked.append(i)

    def connect_failed(self, error):
        with self.lock:
            self.connect_errors.append(str(error).strip())

    def fail(self, i, error, broken=False):
        with self.lock:
            self.unknown.append(i)
            self.errors.append((getattr(error, "sqlstate", None), str(error).strip(), broken))


def create_ledger_table(conn, table):
    # No unique constraint on purpose: a write applied twice must show up as a duplicate.
    conn.execute(f"CREATE TABLE {table} (id bigint NOT NULL, writer int NOT NULL)")


def check_ledger(conn, table, ledger):
    """No acknowledged write lost, none applied twice, nothing in the table nobody wrote."""
    rows = [r[0] for r in conn.execute(f"SELECT id FROM {table}").fetchall()]
    seen = {}
    for i in rows:
        seen[i] = seen.get(i, 0) + 1
    duplicates = sorted(i for i, n in seen.items() if n > 1)
    assert not duplicates, f"writes applied twice: {duplicates[:20]}"
    lost = sorted(set(ledger.acked) - set(seen))
    assert not lost, f"acknowledged writes lost: {lost[:20]} ({len(lost)} of {len(ledger.acked)})"
    strangers = sorted(set(seen) - set(ledger.acked) - set(ledger.unknown))
    assert not strangers, f"rows no client wrote: {strangers[:20]}"
    return len(rows)


class Writers:
    """`count` threads, each on its own connection (reconnecting after a broken one), running
    autocommit INSERTs of unique ids until stopped, `max_rounds` reached or `max_seconds` passed."""

    def __init__(self, dsn, table, count=8, first_id=0, max_rounds=100_000, max_seconds=90.0,
                 reconnect=True):
        self.dsn = dsn
        self.first_id = first_id * 1_000_000_000
        self.table = table
        self.count = count
        self.max_rounds = max_rounds
        self.max_seconds = max_seconds
        self.reconnect = reconnect
        self.ledger = Ledger()
        self.stop_event = threading.Event()
        self.threads = []
        self.crashes = []  # unexpected Python exceptions (test bugs), reported at join
        self.progress = [0] * count

    def _run(self, w):
        end = time.monotonic() + self.max_seconds
        conn = None
        try:
            for n in range(self.max_rounds):
                if self.stop_event.is_set() or time.monotonic() > end:
                    return
                i = self.first_id + w * 10_000_000 + n
                try:
                    if conn is None or conn.closed:
                        conn = psycopg.connect(self.dsn, autocommit=True, prepare_threshold=None)
                    conn.execute(f"INSERT INTO {self.table} VALUES (%s, %s)", (i, w))
                    self.ledger.ack(i)
                    self.progress[w] += 1
                except psycopg.OperationalError as e:
                    # A failed connect never sent the INSERT: nothing unknown about it.
                    if conn is None:
                        self.ledger.connect_failed(e)
                    else:
                        broken = conn.closed or conn.broken
                        self.ledger.fail(i, e, broken)
                        if broken:
                            conn.close()
                            conn = None
                    if not self.reconnect:
                        return
                    self.stop_event.wait(0.05)  # do not spin while the database is away
                except psycopg.Error as e:
                    self.ledger.fail(i, e)
        except BaseException as e:  # a bug in the test, reported by join()
            self.crashes.append(repr(e))
        finally:
            if conn is not None:
                conn.close()

    def start(self):
        for w in range(self.count):
            t = threading.Thread(target=self._run, args=(w,), name=f"writer-{w}", daemon=True)
            self.threads.append(t)
            t.start()
        return self

    def total(self):
        return sum(self.progress)

    def wait_progress(self, more_than, deadline=30.0):
        """Waits until the writers together were acknowledged more than `more_than` writes."""
        wait_for(lambda: self.total() > more_than, deadline,
                  message=f"writers to get past {more_than} acknowledged writes "
                         f"(errors so far: {self.ledger.errors[:5]} "
                         f"{self.ledger.connect_errors[:5]})")

    def stop(self, timeout=60.0):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout)
            assert not t.is_alive(), f"{t.name} still running {timeout}s after stop"
        assert not self.crashes, f"writer threads failed: {self.crashes}"
        return self.ledger


# ---------------------------------------------------------------------------------------------
# The proxy's resources
# ---------------------------------------------------------------------------------------------

def _socket_inodes(pid):
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _remote_ports_by_inode(pid):
    ports = {}
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{name}") as f:
                next(f)
                for line in f:
                    cols = line.split()
                    ports[int(cols[9])] = int(cols[2].rsplit(":", 1)[1], 16)
        except OSError:
            continue
    return ports


def resources(px, backend_port):
    """(file descriptors not connected to PostgreSQL, connections to PostgreSQL, RSS in KiB)."""
    fds = len(os.listdir(f"/proc/{px.pid}/fd"))
    ports = _remote_ports_by_inode(px.pid)
    backend = sum(1 for inode in _socket_inodes(px.pid) if ports.get(inode) == backend_port)
    return fds - backend, backend, px.rss_kb()


class Baseline:
    """The proxy's resources with no client connected, after a warm-up under the test's load."""

    def __init__(self, px, backend_port, max_servers):
        self.px = px
        self.backend_port = backend_port
        self.max_servers = max_servers
        # Quiet: the warm-up's clients are gone once the descriptors stop changing.
        self.fds, _, self.rss_kb = self._settled()

    def _settled(self):
        last = None

        def stable():
            nonlocal last
            now = resources(self.px, self.backend_port)
            same = last is not None and now[0] == last[0]
            last = now
            return same
        wait_for(stable, 20, interval=0.3, message="the proxy's descriptors to settle")
        return last

    def assert_back(self, what=""):
        """Polls until the proxy is back to the baseline: as many descriptors (apart from its
        connections to PostgreSQL, at most the pool's size), RSS within RSS_MARGIN_KB."""
        self.px.assert_alive()
        seen = []

        def back():
            fds, servers, rss = resources(self.px, self.backend_port)
            seen.append((fds, servers, rss))
            return fds <= self.fds and servers <= self.max_servers and rss <= self.rss_kb + RSS_MARGIN_KB
        try:
            wait_for(back, BASELINE_DEADLINE, interval=0.2, message="baseline")
        except AssertionError:
            fds, servers, rss = seen[-1]
            raise AssertionError(
                f"{what}: the proxy did not return to its baseline within {BASELINE_DEADLINE}s: "
                f"{fds} descriptors (baseline {self.fds}), {servers} connections to PostgreSQL "
                f"(pool allows {self.max_servers}), RSS {rss} KiB (baseline {self.rss_kb} KiB "
                f"+ {RSS_MARGIN_KB} KiB); log:\n{self.px.log_tail()}") from None
        self.px.assert_alive()


def assert_serves(px, dbname, deadline=30.0):
    """The pool recovered: a new client gets an answer within the deadline."""
    last = []

    def answers():
        try:
            with psycopg.connect(px.dsn(dbname=dbname), autocommit=True,
                                 prepare_threshold=None) as conn:
                return conn.execute("SELECT 42").fetchone() == (42,)
        except psycopg.Error as e:
            last.append(str(e).strip())
            return False
    wait_for(answers, deadline, interval=0.2,
             message=f"the proxy to serve again (last error: {last[-1:]}); log:\n{px.log_tail()}")


# ---------------------------------------------------------------------------------------------
# Freezing PostgreSQL (private clusters only)
# ---------------------------------------------------------------------------------------------

def cluster_pids(cluster):
    """The postmaster of a private cluster and all its children."""
    with open(os.path.join(cluster.data_dir, "postmaster.pid")) as f:
        postmaster = int(f.readline().strip())
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == postmaster:
            pids.append(int(entry))
    return pids


class Frozen:
    """`with Frozen(cluster):` stops every process of the cluster (SIGSTOP) and always resumes
    them (SIGCONT), children first stopped after the postmaster so none is forked unseen."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.pids = []

    def __enter__(self):
        postmaster, *_ = cluster_pids(self.cluster)
        os.kill(postmaster, signal.SIGSTOP)
        self.pids = cluster_pids(self.cluster)
        for pid in self.pids[1:]:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        return self

    def __exit__(self, *exc):
        for pid in reversed(self.pids):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


# ---------------------------------------------------------------------------------------------
# A relay between the proxy and PostgreSQL that can hold PostgreSQL's replies back
# ---------------------------------------------------------------------------------------------

class HoldingRelay:
    """Listens on 127.0.0.1 and relays each connection to PostgreSQL. While `hold` is set, what
    PostgreSQL sends is kept back (counted in `held_bytes`) until release()."""

    def __init__(self, backend_host, backend_port):
        self.backend = (backend_host, backend_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.hold = threading.Event()
        self.held_bytes = 0
        self.connections = 0
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.closing.is_set():
            ready, _, _ = select.select([self.listener], [], [], 0.1)
            if not ready:
                continue
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.backend, timeout=10)
            self.connections += 1
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client, server):
        held = bytearray()
        try:
            while not self.closing.is_set():
                ready, _, _ = select.select([client, server], [], [], 0.05)
                if client in ready:
                    data = client.recv(65536)
                    if not data:
                        return
                    server.sendall(data)
                if server in ready:
                    data = server.recv(65536)
                    if not data:
                        return
                    held += data
                    if self.hold.is_set():
                        self.held_bytes += len(data)
                if held and not self.hold.is_set():
                    client.sendall(held)
                    held.clear()
        except OSError:
            return
        finally:
            client.close()
            server.close()

    def release(self):
        self.hold.clear()

    def close(self):
        self.closing.set()
        self.listener.close()
        self.thread.join(5)


# ---------------------------------------------------------------------------------------------
# Raw protocol pieces
# ---------------------------------------------------------------------------------------------

def extended_insert(table, i, writer=0):
    """Parse/Bind/Execute/Sync of one INSERT of id i (unnamed statement, text parameters)."""
    sql = f"INSERT INTO {table} VALUES ($1, $2)".encode() + b"\0"
    parse = message(b"P", b"\0" + sql + struct.pack("!H", 0))
    values = [str(i).encode(), str(writer).encode()]
    bind_payload = b"\0\0" + struct.pack("!H", 0) + struct.pack("!H", len(values))
    for v in values:
        bind_payload += struct.pack("!i", len(v)) + v
    bind_payload += struct.pack("!H", 0)
    bind = message(b"B", bind_payload)
    execute = message(b"E", b"\0" + struct.pack("!I", 0))
    return parse + bind + execute + message(b"S")


def extended_query(sql):
    """Parse/Bind/Execute/Sync of a statement without parameters."""
    parse = message(b"P", b"\0" + sql.encode() + b"\0" + struct.pack("!H", 0))
    bind = message(b"B", b"\0\0" + struct.pack("!HHH", 0, 0, 0))
    return parse + bind + message(b"E", b"\0" + struct.pack("!I", 0)) + message(b"S")


def read_sync_groups(raw, groups, deadline_s=60.0):
    """Reads the replies of `groups` Sync-terminated requests until all are answered or the
    connection ends. Returns (answered, last_error): per answered group (completed, error fields
    or None), and the error that came without a ReadyForQuery (a FATAL before the close)."""
    out = []
    completed, error = False, None
    end = time.monotonic() + deadline_s
    raw.sock.settimeout(5)
    while len(out) < groups and time.monotonic() < end:
        try:
            mtype, payload = raw.read_message()
        except socket.timeout:
            continue
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
            break
        if mtype == b"C":
            completed = True
        elif mtype == b"E":
            error = parse_fields(payload)
        elif mtype == b"Z":
            out.append((completed, error))
            completed, error = False, None
    return out, error
