"""limits.max_client_connections: one client more than the limit is refused with 53300."""
from ouro_testlib import RawConn, ServerError, connect_error_sqlstate, wait_for

LIMIT = 5


def test_one_more_than_max_client_connections_gets_53300(proxy):
    px = proxy(limits={"max_client_connections": LIMIT})
    conns = [px.connect() for _ in range(LIMIT)]
    try:
        for c in conns:
            assert c.execute("SELECT 1").fetchone() == (1,)
        assert connect_error_sqlstate(px.host, px.port, "ouro", "ouro_pw", "ouro") == "53300"
        with RawConn(px.host, px.port) as raw:
            try:
                raw.startup("ouro", "ouro_pw", "ouro")
                raise AssertionError("a client over max_client_connections got in")
            except ServerError as e:
                assert e.sqlstate == "53300", e.fields
        # The ones already in are unaffected.
        assert [c.execute("SELECT 2").fetchone()[0] for c in conns] == [2] * LIMIT
        conns.pop().close()

        def can_connect():  # the freed slot becomes available once the proxy saw the close
            return connect_error_sqlstate(px.host, px.port, "ouro", "ouro_pw", "ouro") is None
        wait_for(can_connect, 15, interval=0.1, message="a slot to free up")
        conns.append(px.connect())
        assert conns[-1].execute("SELECT 3").fetchone() == (3,)
    finally:
        for c in conns:
            c.close()
    px.assert_alive()
