#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (corpus/<target>/) from hand-made, real-looking
inputs: SQL, admin commands, HTTP requests, YAML configurations, server values, and protocol
messages as PostgreSQL and libpq send them. Run it after changing the inputs; commit the output.
The protocol target's seeds (corpus/protocol) are older and kept as they are."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    path = os.path.join(HERE, "corpus", target)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def msg(kind, body=b""):
    return kind.encode() + struct.pack(">i", len(body) + 4) + body


def cstr(s):
    return s.encode() + b"\0"


def record(tag, data):
    data = data.encode() if isinstance(data, str) else data
    return bytes([tag]) + struct.pack(">H", len(data)) + data


def startup(params):
    body = struct.pack(">i", 196608) + b"".join(cstr(k) + cstr(v) for k, v in params) + b"\0"
    return struct.pack(">i", len(body) + 4) + body


# ---- startup packets
write("startup", "psql", startup([("user", "alice"), ("database", "app"), ("application_name", "psql"),
                                   ("client_encoding", "UTF8")]))
write("startup", "options", startup([("user", "bob"), ("options", "-c search_path=a,b --work_mem=64MB"),
                                      ("TimeZone", "UTC"), ("DateStyle", "ISO, MDY")]))
write("startup", "quotes", startup([("user", "eve"), ("application_name", "it's \\ odd"),
                                     ("search_path", "\"$user\", public"), ("Search_Path", "x")]))

# ---- SCRAM / authenticators (first byte: mode, see scram_fuzzer.cpp)
write("scram", "verifier", b"\0SCRAM-SHA-256$4096:c2FsdA==$" + b"A" * 43 + b"=:" + b"B" * 43 + b"=")
write("scram", "base64", b"\0cmVhbGx5IGJhc2U2NA==")
write("scram", "md5_hash", b"\0md5" + b"0123456789abcdef" * 2)
write("scram", "round_trip", b"\x01rOprNGfwEbeRWgbNEkqO")
write("scram", "server", b"\x02" + record(0, "n,,n=,r=rOprNGfwEbeRWgbNEkqO")
      + record(1, "c=biws,r=rOprNGfwEbeRWgbNEkqOserver-nonce,p=" + "A" * 43 + "="))
write("scram", "client", b"\x03" + record(0, "r=client-nonce3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
      + record(1, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
sasl_initial = cstr("SCRAM-SHA-256") + struct.pack(">i", 32) + b"n,,n=,r=rOprNGfwEbeRWgbNEkqO1234"
write("scram", "client_authenticator_scram", bytes([4 + 6 * 6]) + record(0, sasl_initial)
      + record(0, "c=biws,r=rOprNGfwEbeRWgbNEkqO1234xyz,p=" + "A" * 43 + "="))
write("scram", "client_authenticator_md5", bytes([4 + 6 * 1]) + record(0, cstr("md5" + "0" * 32)))
auth = lambda code, rest=b"": struct.pack(">i", code) + rest
write("scram", "backend_scram", bytes([5 + 6 * 2]) + record(0, auth(10, cstr("SCRAM-SHA-256") + b"\0"))
      + record(0, auth(11, b"r=client-nonce3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"))
      + record(0, auth(12, b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")) + record(0, auth(0)))
write("scram", "backend_md5", bytes([5 + 6 * 0]) + record(0, auth(5, b"\x01\x02\x03\x04"))
      + record(0, auth(3)) + record(0, auth(0)))

# ---- admin console
for i, text in enumerate(["SHOW POOLS;", "show stats_totals", "PAUSE app_db;", "RESUME \"My \"\"DB\"\"\"",
                          "KILL shard.1 /* now */", "reconnect my-db;", "SHOW HELP", "RELOAD", "SHUTDOWN;",
                          "SHOW -- comment\n CLIENTS", "pause app db"]):
    write("admin_command", f"command_{i}", text)

# ---- SQL
for i, text in enumerate([
        "SELECT * FROM t WHERE id IN (1, 2, 3) AND name = 'x';",
        "INSERT INTO t VALUES (1, 'a'), (2, E'b\\'c'), (-3.5e10, $$d$$);",
        "ALTER ROLE bob PASSWORD 'secret'; SELECT dblink_connect('host=h password=p')",
        "SELECT $tag$ ; $tag$, U&'\\0041', B'101', X'1F', 0x1F, 1_000 /* a /* nested */ c */ -- x\n;",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; SELECT 3",
        "PREPARE \"Q1\" (int) AS SELECT $1; EXECUTE q1(2); DEALLOCATE PREPARE ALL; BEGIN; COMMIT AND CHAIN",
        "SELECT 1 /*traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'*/",
        "SELECT 'unterminated", "SELECT \"unterminated", "/* unterminated comment"]):
    write("sql", f"sql_{i}", text)

# ---- HTTP requests (first byte also picks the chunk size)
for i, text in enumerate(["GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9127\r\nAccept: */*\r\n\r\n",
                          "HEAD /health?verbose=1 HTTP/1.0\r\n\r\n",
                          "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
                          "GET /metrics HTTP/2.0\n\n", "GET  /x HTTP/1.1\r\n folded\r\n\r\n"]):
    write("http_request", f"request_{i}", text)

# ---- configuration
write("config", "minimal", "listen:\n  port: 6432\ndatabases:\n  app:\n    host: 127.0.0.1\n    port: 5432\n"
      "auth:\n  type: scram-sha-256\n  users:\n    alice:\n      password: ${PGPASSWORD}\n")
with open(os.path.join(HERE, "..", "..", "config", "ouroboros.yaml")) as f:
    write("config", "shipped", f.read())
write("config", "errors", "listen: {port: 70000}\ndatabases: [1, 2]\npool:\n  default_size: -1\n"
      "  idle_timeout: 5 parsecs\nauth: {type: md5, users: {x: {password: \"md5zz\"}}}\nunknown_key: ${NOPE}\n")

with open(os.path.join(HERE, "..", "..", "config", "hba.conf")) as f:
    write("config", "hba", f.read())
write("config", "hba_errors", "hostssl \"app\",b all 10.0.0.0 255.0.0.0 cert\nhost all +g ::1/129 md5\n"
      "local @f all trust # c\nhost sameuser u1,u2 samehost password\nhost \"unterminated all 1.2.3.4/32 md5\n")

# ---- client library values (first byte: type, see client_values_fuzzer.cpp)
values = {0: ["t", "false"], 1: ["-32768"], 3: ["9223372036854775807"], 4: ["-1.5e-300", "NaN", "-Infinity"],
          6: ["-123.4500", "1e-7", "NaN", "Infinity"], 7: ["\\xdeadbeef", "a\\\\b\\001"],
          8: ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"], 9: ["2024-02-29", "0044-03-15 BC", "infinity"],
          10: ["2024-02-29 23:59:59.999999", "1999-01-08 04:05:06 BC"], 11: ["2024-02-29 12:00:00+05:30", "-infinity"],
          12: ["24:00:00", "04:05:06.789"], 13: ["1 year 2 mons -3 days 04:05:06.5", "-00:00:01", "00:00:00"],
          14: ["{a,\"b c\",NULL,\"\\\"q\\\"\"}", "{}"], 15: ["{1,-2,NULL}"], 16: ["{1.5,NaN,NULL}"],
          17: ["{2024-01-01,infinity}"], 18: ["{\"1 day\",\"-00:00:01\"}"], 19: ["1.25|-0.0050", "1e5|NaN"]}
for kind, texts in values.items():
    for i, text in enumerate(texts):
        write("client_values", f"type{kind}_{i}", bytes([kind]) + text.encode())

# ---- session (first byte even: model actions as (op, arg) pairs; odd: raw records)
P, B, DS, DP, E, C, S, H, Q, DELIVER, MOVE = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11
write("session", "prepare_run", bytes([0, 4, P, 1, B, 1, E, 0, S, 0, DELIVER, 0, B, 1, E, 0, S, 0, DELIVER, 0]))
write("session", "share_and_evict", bytes([0, 0, P, 1, S, 0, DELIVER, 0, MOVE, 3, P, 5, B, 5, E, 0, S, 0,
                                           DELIVER, 0, MOVE, 0, B, 1, DS, 1, E, 0, S, 0]))
write("session", "errors_in_pipeline", bytes([0, 5, P, 0x0c, B, 0, E, 0, S, 0, P, 2, P, 2, S, 0, Q, 5,
                                              Q, 0, P, 3, Q, 4, Q, 1, DELIVER, 0]))
write("session", "discard", bytes([0, 1, P, 1, P, 2, S, 0, Q, 8, B, 1, S, 0, DELIVER, 0, Q, 7, DELIVER, 0]))
write("session", "raw", b"\x01" + record(0x40, cstr("s1") + cstr("SELECT 1") + b"\0\0")
      + record(0x41, cstr("") + cstr("s1") + b"\0\0\0\0\0\0") + record(0x44, b"")
      + record(0x80 | ord("1"), b"") + record(0x80 | ord("2"), b"")
      + record(0x80 | ord("Z"), b"I"))

# ---- reproducers of the bugs the fuzzers found (docs/testing.md)
write("startup", "repro_duplicate_parameter",
      startup([("user", "u"), ("search_path", "a"), ("SEARCH_PATH", "b"), ("TimeZone", "UTC")]))
write("config", "repro_stray_comma", "listen:\n  port: 6432\n , port: 1\n")
write("config", "repro_stray_comma_alone", "\n,\n")
write("session", "repro_duplicate_parse", bytes([0x38, 4, P, 0x3A, P, 0x7A]))
write("session", "repro_deallocate_after_begin", bytes([0, 72, DELIVER, 0, P, 5, Q, 0, Q, 5]))
write("session", "repro_deallocate_while_skipping", bytes([0, 35, B, 0, MOVE, 0, P, 9, Q, 8, Q, 5]))
write("session", "repro_skipped_parse", bytes([0, 49, E, 0, P, 2, S, 0, DELIVER, 0, DS, 2]))
write("session", "repro_move_to_same_server", bytes.fromhex("0000000400b939070040600000040001060009000b00020000"))  # a model fix: same server kept
write("session", "repro_no_cache_no_move", bytes.fromhex("00ff000008fb00004e0000000100b40022682a5b078100b0d4775e55f67f000000000001060009000b95000000050100"))  # a model fix: no moves without the cache
write("client_values", "repro_interval_years_overflow", b"\x0d1000000520500530000 years")  # the fuzzer's input
write("client_values", "repro_interval_years_wraparound", b"\x0d1537228672809129302 years")
write("client_values", "repro_interval_days_overflow",
      b"\x0d9223372036854775807 days 9223372036854775807 days 2 days")
# fuzz_session's crash, minimized: a duplicate Parse created a proxy name on a server lacking it
write("session", "repro_duplicate_parse_missing_on_server", bytes.fromhex("0023ff00004d4d49004d2a3b0001060009000b95004d"))
# a slow unit (22 s): a 3900-digit coefficient times a 1-digit one normalised the whole product per digit
write("client_values", "repro_decimal_long_times_short", b"\x13-97777777773E3888|6")

# ---- session state (records, see session_state_fuzzer.cpp: tag 0 ok, 1 last fails, 2 RFQ, 3 server)
def ok(sql):
    return record(0, sql)


def rfq(status):
    return record(2, {"I": "\0", "T": "\1", "E": "\2"}[status])


write("session_state", "set_reset", ok("SET statement_timeout = '1234ms'") + rfq("I")
      + ok("SET search_path = \"$user\", \"My Schema\", public; RESET DateStyle") + rfq("I")
      + record(3, "search_path=public\nwork_mem=1MB\nserver_version=15"))
write("session_state", "transaction", ok("BEGIN; SET LOCAL work_mem = '64MB'; SAVEPOINT a") + rfq("T")
      + ok("SET a.b = 1; ROLLBACK TO a; RELEASE a") + rfq("T") + record(1, "SELECT 1/0") + rfq("E")
      + ok("COMMIT") + rfq("I"))
write("session_state", "set_config", ok("SELECT set_config('app.user', '42', false), "
                                        "pg_catalog.set_config('app.t', $1, true)") + rfq("I"))
write("session_state", "pins", ok("CREATE TEMP TABLE t (a int) ON COMMIT DELETE ROWS; "
                                  "SELECT pg_advisory_lock(1, 2); DECLARE c CURSOR WITH HOLD FOR "
                                  "SELECT 1; LOAD 'auto_explain'") + rfq("I")
      + ok("DROP TABLE pg_temp.t; CLOSE ALL; SELECT pg_advisory_unlock_all(); DISCARD ALL") + rfq("I"))
write("session_state", "listen_prepare", ok("LISTEN jobs; NOTIFY jobs, 'x'; SELECT pg_notify('a', 'b'); "
                                            "PREPARE p (int) AS SELECT $1; EXECUTE p(1); "
                                            "DEALLOCATE PREPARE ALL; UNLISTEN *") + rfq("I"))
write("session_state", "cheap", ok("SELECT * FROM t WHERE a = 'set_config'; INSERT INTO t VALUES (1); "
                                   "COMMIT AND CHAIN") + rfq("T") + ok("END") + rfq("I"))
write("session_state", "odd", ok("SET TIME ZONE INTERVAL '+02:00' HOUR TO MINUTE; SET SESSION "
                                 "CHARACTERISTICS AS TRANSACTION READ ONLY; SELECT 1 INTO TEMP x; "
                                 "EXPLAIN ANALYZE SELECT pg_try_advisory_lock_shared(7)") + rfq("I")
      + ok("SET = 1; /* unterminated") + rfq("I"))
