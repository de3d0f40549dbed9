"""A client killed (SIGKILL) in the middle of a transaction holding locks must not leave an open
transaction or a lock behind on the server."""
import select
import signal
import subprocess
import sys
import uuid

from ouro_testlib import wait_for

CHILD = r"""
import sys, psycopg
conn = psycopg.connect(sys.argv[1])
conn.execute("SELECT id FROM {table} WHERE id = 1 FOR UPDATE")
conn.execute("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
print(conn.info.backend_pid, flush=True)
sys.stdin.read()  # hold the transaction open until killed
"""


def test_killed_client_leaves_no_transaction_or_lock(pg, proxy):
    px = proxy()
    table = f"kill_victim_{uuid.uuid4().hex[:8]}"
    app = f"ouro_killed_{uuid.uuid4().hex[:8]}"
    with px.connect() as setup:
        setup.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v text)")
        setup.execute(f"INSERT INTO {table} VALUES (1, 'a'), (2, 'b')")
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(table=table),
                              px.dsn(application_name=app)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready, _, _ = select.select([child.stdout], [], [], 30)
        assert ready, "child did not report its backend pid"
        line = child.stdout.readline().decode().strip()
        assert line.isdigit(), (line, child.stderr.read1(4096) if child.poll() is not None else "")
        backend_pid = int(line)
        # Precondition: the transaction is open and holds its locks, seen from the server.
        state = pg.super_query("SELECT state, application_name FROM pg_stat_activity "
                               "WHERE pid = %s", (backend_pid,))
        assert state == [("idle in transaction", app)]
        locks = pg.super_query(
            "SELECT mode FROM pg_locks WHERE pid = %s AND relation = %s::regclass AND granted",
            (backend_pid, table), dbname="ouro")
        assert ("AccessExclusiveLock",) in locks
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdin.close()
        child.stdout.close()
        child.stderr.close()

    def cleaned_up():
        open_txn = pg.super_query(
            "SELECT pid FROM pg_stat_activity WHERE (application_name = %s OR pid = %s) "
            "AND state LIKE 'idle in transaction%%'", (app, backend_pid))
        held = pg.super_query(
            "SELECT pid, mode FROM pg_locks WHERE pid = %s OR relation = %s::regclass",
            (backend_pid, table), dbname="ouro")
        return not open_txn and not held

    wait_for(cleaned_up, 20, interval=0.1,
             message=f"backend {backend_pid} to end its transaction and release its locks")
    # Another client can take the same lock and sees the rows unchanged.
    with px.connect(autocommit=False) as conn:
        conn.execute("SET lock_timeout = '10s'")
        conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (2,)
        conn.rollback()
        conn.execute(f"DROP TABLE {table}")
        conn.commit()
    px.assert_alive()
