"""Logged errors follow logging.log_literals (issue 14, item 7). PostgreSQL's own error messages
quote the values that failed (`invalid input syntax for type integer: "S3cretLeak3"`, a unique
violation's `Key (email)=(...)`, a check violation's `Failing row contains (...)`): with literals
hidden (the default) the query log hides them too, while the client still gets the full error."""
import psycopg
import pytest

from ouro_testlib import wait_for
from pooling_helpers import connect, scratch_db  # noqa: F401
from test_observability_support import json_records, wait_records

SECRET = "S3cretLeak3"


def failing(conn, sql, params=None):
    with pytest.raises(psycopg.Error) as info:
        conn.execute(sql, params)
    return info.value


def setup_table(conn):
    conn.execute("CREATE TABLE accounts (email text UNIQUE, balance int CHECK (balance >= 0))")
    conn.execute(f"INSERT INTO accounts VALUES ('alice-{SECRET}@example.com', 1)")


def provoke_errors(conn):
    """The three errors of the issue, literals in the text and as bound parameters; returns the
    errors the client received."""
    return [
        failing(conn, f"SELECT '{SECRET}'::int"),
        failing(conn, "SELECT %s::int", (SECRET,)),
        failing(conn, f"INSERT INTO accounts VALUES ('alice-{SECRET}@example.com', 2)"),
        failing(conn, "INSERT INTO accounts VALUES (%s, -5)", (f"bob-{SECRET}@example.com",)),
    ]


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_logged_errors_hide_quoted_values(proxy, scratch_db, mode):
    px = proxy(logging={"format": "json"}, pool={"mode": mode})
    with connect(px, scratch_db) as conn:
        setup_table(conn)
        errors = provoke_errors(conn)
        records = wait_records(px, "query_failed", 4)
        assert conn.execute("SELECT 1").fetchone() == (1,)
    # The client sees PostgreSQL's error exactly as PostgreSQL sent it.
    assert [e.sqlstate for e in errors] == ["22P02", "22P02", "23505", "23514"]
    assert f'invalid input syntax for type integer: "{SECRET}"' in str(errors[0])
    assert f"Key (email)=(alice-{SECRET}@example.com) already exists." == errors[2].diag.message_detail
    assert SECRET in errors[3].diag.message_detail
    # The log has the errors, with their values hidden.
    records = json_records(px, "query_failed")
    assert len(records) == 4, records
    conversion, bound, unique, check = records
    assert conversion["statement"] == "SELECT ?::int", conversion
    assert conversion["error"] == 'invalid input syntax for type integer: "?"', conversion
    assert bound["statement"] == "SELECT $1::int", bound
    assert bound["error"] == 'invalid input syntax for type integer: "?"', bound
    assert unique["sqlstate"] == "23505", unique
    assert unique["error"] == 'duplicate key value violates unique constraint "accounts_email_key"', unique
    assert unique["detail"] == "Key (email)=(?) already exists.", unique
    assert check["sqlstate"] == "23514", check
    assert check["error"] == ('new row for relation "accounts" violates check constraint '
                              '"accounts_balance_check"'), check
    assert check["detail"] == "Failing row contains (?).", check
    assert SECRET not in px.log_text()


def test_text_log_hides_quoted_values_too(proxy, scratch_db):
    px = proxy(logging={"format": "text"})
    with connect(px, scratch_db) as conn:
        setup_table(conn)
        provoke_errors(conn)
    wait_for(lambda: px.log_text().count("query_failed") >= 4, 15, message="4 query_failed lines")
    text = px.log_text()
    assert text.count("query_failed") == 4, px.log_tail()
    assert 'detail="Key (email)=(?) already exists."' in text, px.log_tail()
    assert 'detail="Failing row contains (?)."' in text, px.log_tail()
    assert SECRET not in text


def test_log_literals_keeps_the_values(proxy, scratch_db):
    px = proxy(logging={"format": "json", "log_literals": True})
    with connect(px, scratch_db) as conn:
        setup_table(conn)
        provoke_errors(conn)
        wait_records(px, "query_failed", 4)
    conversion, bound, unique, check = json_records(px, "query_failed")
    assert conversion["statement"] == f"SELECT '{SECRET}'::int", conversion
    assert conversion["error"] == f'invalid input syntax for type integer: "{SECRET}"', conversion
    assert bound["error"] == f'invalid input syntax for type integer: "{SECRET}"', bound
    assert unique["detail"] == f"Key (email)=(alice-{SECRET}@example.com) already exists.", unique
    assert check["detail"] == f"Failing row contains (bob-{SECRET}@example.com, -5).", check


def test_password_statements_hide_error_values_even_with_log_literals(proxy, scratch_db):
    # A statement that may carry a password is always redacted, and so is its error.
    px = proxy(logging={"format": "json", "log_literals": True})
    with connect(px, scratch_db) as conn:
        error = failing(conn, f"SELECT 'password {SECRET}'::int")
        assert SECRET in str(error)
        wait_records(px, "query_failed", 1)
    (record,) = json_records(px, "query_failed")
    assert record["statement"] == "SELECT ?::int", record
    assert record["error"] == 'invalid input syntax for type integer: "?"', record
    assert SECRET not in px.log_text()


def provoke_rejected_setting(px, db):
    """A client whose setting PostgreSQL rejects: in transaction mode the proxy's internal query
    that applies it fails, in session mode the server login that carries it. Either way the client
    gets PostgreSQL's error, which quotes the value (at login: libpq reports no SQLSTATE then)."""
    with pytest.raises(psycopg.Error) as info:
        with connect(px, db, options=f"-c work_mem={SECRET}") as conn:
            conn.execute("SELECT 1")
    assert f'invalid value for parameter "work_mem": "{SECRET}"' in str(info.value)


@pytest.mark.parametrize("mode, logged", [("transaction", "internal query failed"),
                                          ("session", "failed: 22023")])
def test_a_rejected_setting_is_logged_without_its_value(proxy, scratch_db, mode, logged):
    px = proxy(pool={"mode": mode})
    provoke_rejected_setting(px, scratch_db)
    wait_for(lambda: logged in px.log_text(), 15, message=f"'{logged}' in the log")
    line = next(l for l in px.log_text().splitlines() if logged in l)
    assert 'invalid value for parameter "work_mem": "?"' in line, line
    assert SECRET not in px.log_text()
    with connect(px, scratch_db) as conn:  # the pool still serves
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_rejected_setting_is_logged_with_its_value_under_log_literals(proxy, scratch_db):
    px = proxy(pool={"mode": "transaction"}, logging={"log_literals": True})
    provoke_rejected_setting(px, scratch_db)
    wait_for(lambda: "internal query failed" in px.log_text(), 15, message="the internal query's failure")
    assert f'invalid value for parameter "work_mem": "{SECRET}"' in px.log_text(), px.log_tail()
