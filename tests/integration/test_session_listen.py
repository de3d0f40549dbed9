"""LISTEN / UNLISTEN / NOTIFY in transaction mode (issue 15, item 3): the pool's listening
connection holds the union of its clients' channels and delivers each notification, with the
notifying backend's pid, to exactly the clients listening to its channel, whether or not they hold
a server, between their requests. Pools are smaller than the number of clients, so clients take
turns on the same servers.

Absence is checked with a canary: notifications from one sender arrive in commit order on the
listening connection, so once a later notification on a channel the client does listen to has
arrived, an earlier one that should not reach it would have arrived before it."""
import asyncio
import uuid

import asyncpg
import pytest

from ouro_testlib import RawConn, query_message, wait_for
from pooling_helpers import connect, scratch_db, wait_log  # noqa: F401
from node_helpers import node_pg, run_node  # noqa: F401

LISTENER_APP = "ouroboros listener"


def tx_pool(size, **extra):
    return {"mode": "transaction", "size": size, "query_wait_timeout": "30s"} | extra


def chan(prefix="ch"):
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


class Inbox:
    """The notifications a psycopg connection received: (channel, payload, pid). Read without
    sending anything (an idle transaction-mode client holds no server)."""

    def __init__(self, conn):
        self.conn = conn
        self.items = []
        conn.add_notify_handler(lambda n: self.items.append((n.channel, n.payload, n.pid)))

    def poll(self):
        pgconn = self.conn.pgconn
        pgconn.consume_input()
        while (n := pgconn.notifies()) is not None:
            self.items.append((n.relname.decode(), n.extra.decode(), n.be_pid))
        return self.items

    def wait_for(self, item, deadline=20):
        wait_for(lambda: item in self.poll(), deadline, message=f"notification {item} (got {self.items})")

    def channels(self):
        return [c for c, _, _ in self.poll()]


def notify(conn, channel, payload):
    """Sends a notification; returns the pid of the backend that sent it (PostgreSQL's answer)."""
    return conn.execute("SELECT pg_backend_pid() FROM (SELECT pg_notify(%s, %s)) n",
                        (channel, payload)).fetchone()[0]


def listener_backends(pg, dbname):
    return pg.super_query("SELECT pid, state, query FROM pg_stat_activity WHERE datname = %s "
                          "AND application_name = %s", (dbname, LISTENER_APP))


def wait_listener(pg, dbname, pred, what, deadline=20):
    def check():
        rows = listener_backends(pg, dbname)
        return rows[0] if len(rows) == 1 and pred(rows[0]) else None
    return wait_for(check, deadline, message=f"the listening connection {what}")


@pytest.mark.parametrize("mode", ["transaction", "statement"])
def test_notifications_reach_exactly_the_listeners_with_the_sender_pid(pg, proxy, scratch_db, mode):
    px = proxy(pool=tx_pool(2, mode=mode))
    one, two, other = chan("one"), chan("two"), chan("other")
    clients = [connect(px, scratch_db) for _ in range(5)]
    try:
        a, b, c, d, sender = clients
        inbox = {name: Inbox(conn) for name, conn in zip("abcd", (a, b, c, d))}
        a.execute(f"LISTEN {one}")
        b.execute(f"LISTEN {one}")
        b.execute(f"LISTEN {two}")
        c.execute(f"LISTEN {two}")
        d.execute(f"LISTEN {other}")
        # Everyone runs queries on the two shared servers in between.
        for conn in clients:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        pid1 = notify(sender, one, "p1")
        pid2 = notify(sender, two, "p2")
        pid3 = notify(sender, other, "canary")
        inbox["a"].wait_for((one, "p1", pid1))
        inbox["b"].wait_for((two, "p2", pid2))
        inbox["c"].wait_for((two, "p2", pid2))
        inbox["d"].wait_for((other, "canary", pid3))
        assert inbox["a"].items == [(one, "p1", pid1)]
        assert inbox["b"].items == [(one, "p1", pid1), (two, "p2", pid2)]
        assert inbox["c"].items == [(two, "p2", pid2)]
        assert inbox["d"].items == [(other, "canary", pid3)]
        # A listener sends too; it hears its own notification, with the pid of the server that ran it.
        pid4 = notify(a, one, "from a")
        inbox["a"].wait_for((one, "from a", pid4))
        inbox["b"].wait_for((one, "from a", pid4))
        assert {row[0] for row in pg.super_query(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (scratch_db,))} >= {pid1, pid4}
    finally:
        for conn in clients:
            conn.close()
    px.assert_alive()


def test_idle_client_without_a_server_receives_while_another_holds_the_only_server(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1))
    ch = chan()
    with connect(px, scratch_db) as listener, connect(px, scratch_db) as holder:
        inbox = Inbox(listener)
        listener.execute(f"LISTEN {ch}")
        holder.execute("BEGIN")
        holder.execute("SELECT 1")  # holds the pool's only server in an open transaction
        with pg.connect_super(scratch_db) as direct:
            direct.autocommit = True
            sender_pid = direct.execute("SELECT pg_backend_pid()").fetchone()[0]
            direct.execute(f"NOTIFY {ch}, 'while busy'")
        inbox.wait_for((ch, "while busy", sender_pid))
        holder.execute("COMMIT")
    px.assert_alive()


def read_reply(raw):
    """Message types of one simple-query reply up to ReadyForQuery, plus what came first."""
    types = []
    while True:
        mtype, _ = raw.read_message()
        types.append(mtype)
        if mtype == b"Z":
            return types


def test_notification_waits_for_the_end_of_a_running_query(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(2))
    ch = chan()
    lock_key = 770015
    with RawConn(px.host, px.port, timeout=60) as raw, connect(px, scratch_db) as witness:
        raw.startup(pg.user, pg.password, scratch_db)
        raw.simple_query(f"LISTEN {ch}")
        witness_inbox = Inbox(witness)
        witness.execute(f"LISTEN {ch}")
        with pg.connect_super(scratch_db) as direct:
            direct.autocommit = True
            direct.execute("SELECT pg_advisory_lock(%s)", (lock_key,))
            # The raw client's query waits for the lock: its reply is not complete until released.
            raw.send(query_message(f"SELECT pg_advisory_xact_lock({lock_key}), 'released'"))
            wait_for(lambda: pg.super_query(
                "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                (scratch_db,)), 20, message="the raw client's query waiting for the lock")
            sender_pid = direct.execute("SELECT pg_backend_pid()").fetchone()[0]
            direct.execute(f"NOTIFY {ch}, 'during'")
            # The proxy has it once the idle witness has it.
            witness_inbox.wait_for((ch, "during", sender_pid))
            direct.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))
        types = read_reply(raw)
        assert b"A" not in types, types  # nothing inside the reply
        assert types == [b"T", b"D", b"C", b"Z"], types
        mtype, payload = raw.read_message()  # then the notification
        assert mtype == b"A"
        pid = int.from_bytes(payload[:4], "big")
        channel, rest = payload[4:].split(b"\0", 1)
        assert (pid, channel.decode(), rest.rstrip(b"\0").decode()) == (sender_pid, ch, "during")
        raw.terminate()
    px.assert_alive()


def test_listen_rolled_back_unlisten_and_unlisten_all(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1))
    a_ch, b_ch, rolled, canary = chan("a"), chan("b"), chan("rolled"), chan("canary")
    with connect(px, scratch_db) as client, connect(px, scratch_db) as sender:
        inbox = Inbox(client)
        # LISTEN in a transaction that rolls back never takes effect.
        client.execute("BEGIN")
        client.execute(f"LISTEN {rolled}")
        client.execute("ROLLBACK")
        client.execute(f"LISTEN {a_ch}")
        client.execute(f"LISTEN {b_ch}")
        notify(sender, rolled, "1")
        pid = notify(sender, a_ch, "2")
        inbox.wait_for((a_ch, "2", pid))
        assert inbox.channels() == [a_ch]
        # UNLISTEN one channel.
        client.execute(f"UNLISTEN {a_ch}")
        notify(sender, a_ch, "3")
        pid = notify(sender, b_ch, "4")
        inbox.wait_for((b_ch, "4", pid))
        assert inbox.channels() == [a_ch, b_ch]
        # UNLISTEN * stops everything; a later LISTEN works again.
        client.execute("UNLISTEN *")
        client.execute(f"LISTEN {canary}")
        notify(sender, a_ch, "5")
        notify(sender, b_ch, "6")
        pid = notify(sender, canary, "7")
        inbox.wait_for((canary, "7", pid))
        assert inbox.channels() == [a_ch, b_ch, canary]
    px.assert_alive()


def test_a_reused_server_carries_no_listen_registration(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1))
    mine, theirs = chan("mine"), chan("theirs")
    with connect(px, scratch_db) as a, connect(px, scratch_db) as b:
        a_inbox, b_inbox = Inbox(a), Inbox(b)
        cur = a.execute(f"LISTEN {mine}; SELECT pg_backend_pid()")
        assert cur.nextset()
        a_pid = cur.fetchone()[0]
        # b runs on the same (only) server right after a: no channel is registered there.
        b_pid, channels = b.execute(
            "SELECT pg_backend_pid(), array(SELECT pg_listening_channels())").fetchone()
        assert b_pid == a_pid
        assert channels == []
        b.execute(f"LISTEN {theirs}")
        notify(b, mine, "for a")
        pid = notify(b, theirs, "for b")
        b_inbox.wait_for((theirs, "for b", pid))
        a_inbox.wait_for((mine, "for a", pid))
        assert b_inbox.channels() == [theirs]
        assert a_inbox.channels() == [mine]
    px.assert_alive()


def test_a_disconnecting_clients_channels_are_unlistened(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1), logging={"level": "debug"})
    gone, stay = chan("gone"), chan("stay")
    with connect(px, scratch_db) as staying:
        staying.execute(f"LISTEN {stay}")
        with connect(px, scratch_db) as leaving:
            leaving.execute(f"LISTEN {gone}")
            leaving.execute(f"LISTEN {stay}")
            wait_listener(pg, scratch_db, lambda r: r[1] == "idle" and gone in r[2], f"listening to {gone}")
        # The listening connection UNLISTENs the channel nobody wants any more, keeps the other.
        row = wait_listener(pg, scratch_db, lambda r: r[1] == "idle" and r[2] == f'UNLISTEN "{gone}";',
                            f"unlistening {gone}")
        assert stay not in row[2]
        assert len(listener_backends(pg, scratch_db)) == 1
    px.assert_alive()


def test_unlisten_all_and_discard_all_end_the_registrations(pg, proxy, scratch_db):
    """UNLISTEN * and DISCARD ALL drop the client's channels: the client hears nothing more on
    them, and the listening connection UNLISTENs what nobody wants any more."""
    px = proxy(pool=tx_pool(1))
    first, second, canary = chan("first"), chan("second"), chan("canary")
    with connect(px, scratch_db) as client, connect(px, scratch_db) as sender:
        inbox = Inbox(client)
        client.execute(f"LISTEN {first}")
        wait_listener(pg, scratch_db, lambda r: r[1] == "idle" and first in r[2], f"listening to {first}")
        client.execute("UNLISTEN *")
        wait_listener(pg, scratch_db, lambda r: r[1] == "idle" and r[2] == f'UNLISTEN "{first}";',
                      f"unlistening {first}")
        client.execute(f"LISTEN {second}")
        wait_listener(pg, scratch_db, lambda r: r[1] == "idle" and second in r[2], f"listening to {second}")
        client.execute("DISCARD ALL")
        wait_listener(pg, scratch_db, lambda r: r[1] == "idle" and r[2] == f'UNLISTEN "{second}";',
                      f"unlistening {second}")
        client.execute(f"LISTEN {canary}")
        notify(sender, first, "1")
        notify(sender, second, "2")
        pid = notify(sender, canary, "3")
        inbox.wait_for((canary, "3", pid))
        assert inbox.channels() == [canary]
    px.assert_alive()


def test_listening_connection_killed_reconnects_and_delivery_resumes(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1, backoff={"initial": "50ms", "max": "500ms"}))
    ch = chan()
    with connect(px, scratch_db) as client, connect(px, scratch_db) as sender:
        inbox = Inbox(client)
        client.execute(f"LISTEN {ch}")
        pid = notify(sender, ch, "before")
        inbox.wait_for((ch, "before", pid))
        old = wait_listener(pg, scratch_db, lambda r: True, "running")[0]
        assert pg.super_query("SELECT pg_terminate_backend(%s)", (old,)) == [(True,)]
        # A new listening connection with the channel registered again (PostgreSQL's record).
        wait_listener(pg, scratch_db, lambda r: r[0] != old and r[1] == "idle" and f'LISTEN "{ch}"' in r[2],
                      "back after pg_terminate_backend", deadline=30)
        pid = notify(sender, ch, "after")
        inbox.wait_for((ch, "after", pid))
        assert [p for _, p, _ in inbox.items] == ["before", "after"]
    px.assert_alive()



def test_listening_connection_refused_then_admitted(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1, backoff={"initial": "50ms", "max": "300ms"}))
    ch = chan()
    with connect(px, scratch_db) as client, connect(px, scratch_db) as sender:
        inbox = Inbox(client)
        client.execute("SELECT 1")  # the pool's only server is open
        pg.super_query(f'ALTER DATABASE "{scratch_db}" CONNECTION LIMIT 1')
        try:
            # PostgreSQL refuses the listening connection: the LISTEN does not wait for it.
            client.execute(f"LISTEN {ch}")
            wait_log(px, r"listening connection failed: 53300")
            assert listener_backends(pg, scratch_db) == []
        finally:
            pg.super_query(f'ALTER DATABASE "{scratch_db}" CONNECTION LIMIT -1')
        # Retried with the pool's backoff: connected, the channel registered, delivery works.
        wait_listener(pg, scratch_db, lambda r: r[1] == "idle" and f'LISTEN "{ch}"' in r[2], "admitted")
        pid = notify(sender, ch, "after")
        inbox.wait_for((ch, "after", pid))
    px.assert_alive()

def test_asyncpg_add_listener_clients_on_a_smaller_pool(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(2))
    shared, solo = chan("shared"), chan("solo")

    async def main():
        conns = [await asyncpg.connect(host=px.host, port=px.port, user=pg.user, password=pg.password,
                                       database=scratch_db) for _ in range(5)]
        try:
            received = {i: [] for i in range(4)}
            callbacks = {}
            for i in range(4):
                def callback(_conn, pid, channel, payload, i=i):
                    received[i].append((channel, payload, pid))
                callbacks[i] = callback
                await conns[i].add_listener(shared, callback)
                if i == 0:
                    await conns[i].add_listener(solo, callback)
            for c in conns:  # interleave on the two servers
                assert await c.fetchval("SELECT 41 + 1") == 42
            sender = conns[4]
            notify_sql = "SELECT pg_backend_pid() FROM (SELECT pg_notify($1, $2)) n"

            async def wait_counts(counts):
                deadline = asyncio.get_running_loop().time() + 20
                while any(len(received[i]) < n for i, n in counts.items()):
                    assert asyncio.get_running_loop().time() < deadline, received
                    await asyncio.sleep(0.05)

            pid1 = await sender.fetchval(notify_sql, solo, "x")
            pid2 = await sender.fetchval(notify_sql, shared, "y")
            await wait_counts({0: 2, 1: 1, 2: 1, 3: 1})
            assert received[0] == [(solo, "x", pid1), (shared, "y", pid2)]
            for i in (1, 2, 3):
                assert received[i] == [(shared, "y", pid2)]
            # remove_listener runs UNLISTEN: that client hears nothing more on the channel.
            await conns[1].remove_listener(shared, callbacks[1])
            pid3 = await sender.fetchval(notify_sql, shared, "z")
            await wait_counts({0: 3, 2: 2, 3: 2})
            assert received[0][-1] == received[2][-1] == received[3][-1] == (shared, "z", pid3)
            assert received[1] == [(shared, "y", pid2)]
        finally:
            for c in conns:
                await c.close()

    asyncio.run(main())
    px.assert_alive()


def test_node_pg_notification_events_on_a_smaller_pool(pg, proxy, scratch_db, node_pg):
    px = proxy(pool=tx_pool(2))
    shared, solo = chan("shared"), chan("solo")
    result = run_node(node_pg, "listen_notify.js", px, pg, scratch_db, CLIENTS=5, SHARED=shared, SOLO=solo)
    report = f"{result}\nproxy log:\n{px.log_tail()}"
    pids = result["pids"]
    received = result["received"]
    assert received["0"] == [[solo, "x", pids["solo"]], [shared, "y", pids["shared"]]], report
    for i in ("1", "2", "3"):
        assert received[i] == [[shared, "y", pids["shared"]]], report
    # The sender listens to nothing; what it got would have arrived before the others' last one.
    assert received["4"] == [], report
    px.assert_alive()
