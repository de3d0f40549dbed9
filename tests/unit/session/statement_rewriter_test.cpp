// StatementRewriter end to end: client messages go through the rewriter to simulated PostgreSQL
// servers (FakePg), their replies back through ReplyQueue, wired as the proxy wires them (see
// sim.h). Checks what each server receives and that every client receives exactly what a
// PostgreSQL session of its own would have sent.
#include <doctest/doctest.h>

#include <string>

#include "sim.h"

using namespace ouroboros;
using namespace ouroboros::session;
using namespace ouroboros::session::test;

namespace {

// The client received exactly what its own PostgreSQL session would have sent, nothing pending.
void check_same_as_postgres(const SimClient& c, const SimServer& s) {
  INFO("expected: " << render(c.expected));
  INFO("received: " << render(c.received));
  CHECK(c.received == c.expected);
  CHECK(s.replies.empty());
  CHECK(s.replies.pending_ready() == 0);
  CHECK(s.pending.empty());
}

std::string server_names(const SimServer& s) {
  std::string out;
  for (const auto& [name, stmt] : s.pg.statements) out += name + "=" + stmt.query + ";";
  return out;
}

Bytes run(std::string_view name, std::vector<std::string> params = {}) {
  return cat({bind(name, std::move(params)), execute(), sync_msg()});
}

}  // namespace

TEST_CASE("rewriter: a named statement is prepared under its proxy name") {
  Pooler p;
  SimServer a(10);
  SimClient c;
  p.send(c, a, cat({parse("s1", "SELECT $1::int", {23}), bind("s1", {"5"}), describe('P', ""), execute(), sync_msg()}));
  check_same_as_postgres(c, a);
  CHECK(types(c.received) == "1 2 T D C Z");
  auto sent = split(a.sent);
  REQUIRE(sent.size() == 5);
  auto parsed = protocol::decode_parse(sent[0].body);
  REQUIRE(parsed);
  CHECK(parsed->statement == "_ouroboros_1");
  CHECK(parsed->query == "SELECT $1::int");
  CHECK(parsed->parameter_types == std::vector<std::uint32_t>{23});
  auto bound = protocol::decode_bind(sent[1].body);
  REQUIRE(bound);
  CHECK(bound->statement == "_ouroboros_1");
  REQUIRE(bound->parameters.size() == 1);
  CHECK(as_chars(*bound->parameters[0]) == "5");
  REQUIRE(bound->result_formats.size() == 1);
  CHECK(sent[2].raw == describe('P', ""));  // untouched
  CHECK(sent[3].raw == execute());
  CHECK(server_names(a) == "_ouroboros_1=SELECT $1::int;");
  CHECK(p.stats.client_parses == 1);
  CHECK(p.stats.server_parses == 1);
  CHECK(p.stats.hits == 0);
}

TEST_CASE("rewriter: unnamed statements and portals pass through untouched") {
  Pooler p;
  SimServer a(10);
  SimClient c;
  Bytes msgs = cat({parse("", "SELECT 1"), bind("", {}, ""), describe('S', ""), describe('P', ""), execute(), sync_msg()});
  p.send(c, a, msgs);
  check_same_as_postgres(c, a);
  CHECK(a.sent == msgs);
  CHECK(p.stats.client_parses == 0);
}

TEST_CASE("rewriter: with caching off every message passes unchanged and replies still track") {
  Pooler p;
  p.caching = false;
  SimServer a(10);
  SimClient c;
  Bytes msgs = cat({parse("s1", "SELECT 1"), bind("s1"), execute(), close_statement("s1"), sync_msg(),
                    query("SELECT 2")});
  p.send(c, a, msgs);
  check_same_as_postgres(c, a);
  CHECK(a.sent == msgs);
  CHECK(a.prepared.size() == 0);
}

TEST_CASE("rewriter: a statement follows its client to another server (injected Parse, reply hidden)") {
  Pooler p;
  SimServer a(10), b(10);
  SimClient c;
  p.send(c, a, cat({parse("s1", "SELECT 'x'"), bind("s1"), execute(), sync_msg()}));
  p.send(c, b, cat({bind("s1"), execute(), sync_msg()}));  // the next transaction lands on b
  p.send(c, b, cat({describe('S', "s1"), bind("s1"), execute(), sync_msg()}));
  p.send(c, a, cat({bind("s1"), execute(), sync_msg()}));  // a still has it: nothing injected
  CHECK(c.received == c.expected);
  CHECK(types(c.received) == "1 2 D C Z 2 D C Z t T 2 D C Z 2 D C Z");
  CHECK(render(b.sent) ==
        "[P_ouroboros_1|SELECT 'x'|||] [B|_ouroboros_1||||||||] [E|||||] [S] "
        "[DS_ouroboros_1|] [B|_ouroboros_1||||||||] [E|||||] [S] ");
  CHECK(types(a.sent) == "P B E S B E S");
  CHECK(p.stats.client_parses == 1);
  CHECK(p.stats.server_parses == 2);
  CHECK(a.replies.empty());
  CHECK(b.replies.empty());
}

TEST_CASE("rewriter: two clients share one statement on one server") {
  Pooler p;
  SimServer a(10);
  SimClient c1, c2;
  p.send(c1, a, cat({parse("q", "SELECT shared"), bind("q"), execute(), sync_msg()}));
  Bytes before = a.sent;
  // Another client, another name, the same text: answered by the proxy, no round trip for it.
  p.send(c2, a, cat({parse("mine", "SELECT shared"), bind("mine"), execute(), sync_msg()}));
  check_same_as_postgres(c1, a);
  check_same_as_postgres(c2, a);
  Bytes after(a.sent.begin() + static_cast<std::ptrdiff_t>(before.size()), a.sent.end());
  CHECK(render(after) == "[B|_ouroboros_1||||||||] [E|||||] [S] ");
  CHECK(p.stats.client_parses == 2);
  CHECK(p.stats.server_parses == 1);
  CHECK(p.stats.hits == 1);

  // c1 closes its name: only its mapping goes; the server keeps the statement for c2.
  p.send(c1, a, cat({close_statement("q"), sync_msg()}));
  CHECK(types(a.sent).substr(types(before).size()) == " B E S S");
  p.send(c2, a, run("mine"));
  check_same_as_postgres(c1, a);
  check_same_as_postgres(c2, a);
  CHECK(a.pg.statements.count("_ouroboros_1") == 1);
  // c1 now gets what PostgreSQL says for an unknown statement.
  p.send(c1, a, run("q"));
  check_same_as_postgres(c1, a);
  CHECK(sqlstate_of(split(c1.received)[split(c1.received).size() - 2]) == "26000");
}

TEST_CASE("rewriter: two clients using the same name for different queries never see each other's") {
  Pooler p;
  SimServer a(10), b(10);
  SimClient c1, c2;
  p.send(c1, a, cat({parse("stmt", "SELECT one"), sync_msg()}));
  p.send(c2, a, cat({parse("stmt", "SELECT two"), sync_msg()}));
  p.send(c1, b, run("stmt"));
  p.send(c2, b, run("stmt"));
  p.send(c2, a, run("stmt"));
  p.send(c1, a, run("stmt"));
  check_same_as_postgres(c1, a);
  check_same_as_postgres(c2, a);
  CHECK(render(c1.received).find("SELECT two") == std::string::npos);
  CHECK(render(c2.received).find("SELECT one") == std::string::npos);
  CHECK(a.pg.statements.size() == 2);
  CHECK(b.pg.statements.size() == 2);
}

TEST_CASE("rewriter: a Parse the server already has is answered in pipeline order") {
  Pooler p;
  SimServer a(10);
  SimClient c1, c2;
  p.send(c1, a, cat({parse("x", "SELECT x"), sync_msg()}));
  // c2's pipeline: a real Bind/Execute first, then a Parse that is a hit; the proxy's
  // ParseComplete must come after the CommandComplete.
  p.send(c2, a, cat({parse("y", "SELECT y"), bind("y"), execute(), parse("x2", "SELECT x"), bind("x2"), execute(),
                     sync_msg()}));
  check_same_as_postgres(c2, a);
  CHECK(types(c2.received) == "1 2 D C 1 2 D C Z");
  CHECK(p.stats.hits == 1);
}

TEST_CASE("rewriter: over the limit the least recently used statement is closed on the server") {
  Pooler p;
  SimServer a(2);
  SimClient c;
  p.send(c, a, cat({parse("s1", "SELECT 1"), parse("s2", "SELECT 2"), sync_msg()}));
  p.send(c, a, run("s1"));  // s2 is now the least recently used
  Bytes before = a.sent;
  p.send(c, a, cat({parse("s3", "SELECT 3"), bind("s3"), execute(), sync_msg()}));
  Bytes after(a.sent.begin() + static_cast<std::ptrdiff_t>(before.size()), a.sent.end());
  CHECK(render(after) == "[CS_ouroboros_2|] [P_ouroboros_3|SELECT 3|||] [B|_ouroboros_3||||||||] [E|||||] [S] ");
  CHECK(p.stats.evictions == 1);
  check_same_as_postgres(c, a);
  CHECK(a.pg.statements.size() == 2);

  // s2 is prepared again when it is used; s1 goes.
  p.send(c, a, run("s2"));
  check_same_as_postgres(c, a);
  CHECK(p.stats.evictions == 2);
  CHECK(a.pg.statements.count("_ouroboros_1") == 0);
  CHECK(a.pg.statements.count("_ouroboros_2") == 1);

  // A rotation of 5 statements over 2 slots keeps working.
  for (int round = 0; round < 3; ++round)
    for (int i = 1; i <= 3; ++i) p.send(c, a, run("s" + std::to_string(i)));
  p.send(c, a, cat({parse("s4", "SELECT 4"), parse("s5", "SELECT 5"), bind("s4"), execute(), bind("s5"), execute(),
                    bind("s1"), execute(), bind("s4"), execute(), sync_msg()}));
  check_same_as_postgres(c, a);
  CHECK(a.pg.statements.size() <= 2);
  CHECK(a.prepared.size() == a.pg.statements.size());
}

TEST_CASE("rewriter: a pipeline with an error in the middle") {
  Pooler p;
  SimServer a(10), b(10);
  SimClient c, other;
  p.send(other, a, cat({parse("o", "SELECT hit"), sync_msg()}));
  p.send(c, a, cat({parse("good", "SELECT good"), parse("bad", "SELECT 1/0"), sync_msg()}));
  // On server b: injected Parses for good and bad, the error at bad's Execute, the rest skipped
  // (a Parse that would be a hit on a, a new Parse, Binds needing injected Parses), then a
  // second pipeline after the Sync.
  p.send(other, b, run("o"));
  p.send(c, b, cat({bind("good"), execute(), bind("bad"), execute(), bind("good"), execute(),
                    parse("fresh", "SELECT fresh"), sync_msg(), bind("good"), execute(), sync_msg()}));
  check_same_as_postgres(c, b);
  CHECK(types(c.received).substr(types(c.received).size() - 19) == "2 D C 2 E Z 2 D C Z");
  // Both of c's statements are really prepared on b; "fresh" was never run there.
  CHECK(b.pg.statements.count("_ouroboros_2") == 1);
  CHECK(b.pg.statements.count("_ouroboros_3") == 1);
  CHECK(b.prepared.size() == b.pg.statements.size());
  CHECK(b.pg.statements.size() == 3);  // o, good, bad

  // An injected Parse that fails (the table went away): the client sees the error in place of its
  // Bind's reply, and the statement is not believed prepared.
  p.send(c, a, cat({parse("t", "SELECT * FROM tbl"), sync_msg()}));
  SimServer fresh(10);
  fresh.pg.drop_table();
  c.reference.drop_table();  // PostgreSQL would fail this statement too
  p.send(c, fresh, cat({bind("t"), execute(), sync_msg()}));
  auto got = split(c.received);
  REQUIRE(got.size() >= 2);
  CHECK(sqlstate_of(got[got.size() - 2]) == "42P01");
  CHECK(fresh.prepared.size() == 0);
  CHECK(fresh.replies.empty());
}

TEST_CASE("rewriter: a Flush pipeline (asyncpg style) and a Sync after the error") {
  Pooler p;
  SimServer a(10), b(10);
  SimClient c;
  p.send(c, a, cat({parse("s", "SELECT s", {25}), describe('S', "s"), flush_msg()}));
  CHECK(types(c.received) == "1 t T");
  p.send(c, b, cat({bind("s", {"v"}), execute(), flush_msg()}));
  p.send(c, b, sync_msg());
  // An error with only a Flush after it: the proxy drops what the server would ignore.
  p.send(c, b, cat({bind("nope"), execute(), flush_msg()}));
  CHECK(b.replies.skipping());
  Bytes before = b.sent;
  p.send(c, b, cat({parse("s2", "SELECT s2"), bind("s"), execute(), flush_msg()}));
  CHECK(b.sent == before);  // nothing reached the server
  p.send(c, b, sync_msg());
  CHECK_FALSE(b.replies.skipping());
  p.send(c, b, cat({bind("s", {"w"}), execute(), sync_msg()}));
  check_same_as_postgres(c, b);
  CHECK(types(c.received) == "1 t T 2 D C Z E Z 2 D C Z");
}

TEST_CASE("rewriter: SQL DEALLOCATE of a protocol statement is answered by the proxy") {
  Pooler p;
  SimServer a(10), b(10);
  SimClient c;
  p.send(c, a, cat({parse("_pg3_0", "SELECT d"), sync_msg()}));
  p.send(c, b, query("DEALLOCATE _pg3_0"));  // the client's statement never ran on b
  check_same_as_postgres(c, b);
  CHECK(b.sent.empty());
  CHECK(c.statements.empty());
  // Inside a transaction the ReadyForQuery says so.
  p.send(c, a, cat({parse("_pg3_1", "SELECT e"), sync_msg()}));
  p.send(c, a, query("BEGIN"));
  p.send(c, a, query("DEALLOCATE _pg3_1"));
  p.send(c, a, query("COMMIT"));
  check_same_as_postgres(c, a);
  CHECK(render(c.received).find("[CDEALLOCATE|] [ZT]") != std::string::npos);
  // A name it does not know goes to the server, which answers as usual.
  p.send(c, a, query("DEALLOCATE unknown"));
  check_same_as_postgres(c, a);
}

TEST_CASE("rewriter: DEALLOCATE ALL and DISCARD ALL from the client") {
  for (std::string sql : {"DEALLOCATE ALL", "DISCARD ALL"}) {
    CAPTURE(sql);
    Pooler p;
    SimServer a(10);
    SimClient c, other;
    p.send(other, a, cat({parse("o", "SELECT o"), sync_msg()}));
    p.send(c, a, cat({parse("s", "SELECT s"), run("s")}));
    p.send(c, a, query(sql));
    CHECK(a.pg.statements.empty());
    CHECK(a.prepared.size() == 0);
    CHECK(c.statements.empty());
    // The client's statements are gone, as in PostgreSQL; preparing again really prepares.
    p.send(c, a, run("s"));
    p.send(c, a, cat({parse("s", "SELECT s"), run("s")}));
    check_same_as_postgres(c, a);
    CHECK(a.pg.statements.size() == 1);
    // Another client's statement is prepared again on its next use.
    p.send(other, a, run("o"));
    check_same_as_postgres(other, a);
  }
}

TEST_CASE("rewriter: Close of a client statement is answered by the proxy in order") {
  Pooler p;
  SimServer a(10);
  SimClient c;
  p.send(c, a, cat({parse("s", "SELECT s"), bind("s"), execute(), close_statement("s"), sync_msg()}));
  check_same_as_postgres(c, a);
  CHECK(types(c.received) == "1 2 D C 3 Z");
  CHECK(types(a.sent) == "P B E S");
  CHECK(a.pg.statements.size() == 1);  // kept for other clients
  // Close of a name the client does not have (or a portal) goes to the server.
  p.send(c, a, cat({close_statement("never"), sync_msg()}));
  check_same_as_postgres(c, a);
}

TEST_CASE("rewriter: a refused query is answered in its place in the pipeline") {
  Pooler p;
  SimServer a(10);
  SimClient c;
  p.rewrite(c, a, cat({parse("s", "SELECT s"), bind("s"), execute(), sync_msg()}));
  Bytes to_client;
  p.rewriter.refuse("transaction blocks are not allowed", "use another mode", a.replies, to_client);
  CHECK(to_client.empty());  // earlier replies first
  CHECK(a.replies.pending_ready() == 2);
  p.deliver(c, a);
  CHECK(types(c.received) == "1 2 D C Z E Z");
  auto got = split(c.received);
  CHECK(sqlstate_of(got[5]) == "0A000");
  CHECK(a.replies.empty());
  CHECK(a.replies.pending_ready() == 0);
  // With nothing pending, the refusal is due at once.
  p.rewriter.refuse("no", "", a.replies, to_client);
  CHECK(types(to_client) == "E Z");
}

TEST_CASE("rewriter: a stale plan after DDL: the error reaches the client, the next use succeeds") {
  Pooler p;
  SimServer a(10);
  SimClient c;
  p.send(c, a, cat({parse("s", "SELECT * FROM t"), run("s")}));
  a.pg.ddl();
  p.send(c, a, run("s"));
  auto got = split(c.received);
  REQUIRE(got.size() >= 2);
  CHECK(sqlstate_of(got[got.size() - 2]) == "0A000");
  CHECK(got.back().type == 'Z');
  CHECK(a.replies.empty());
  Bytes before = a.sent;
  p.send(c, a, run("s"));
  Bytes after(a.sent.begin() + static_cast<std::ptrdiff_t>(before.size()), a.sent.end());
  // The stale statement is closed (reply hidden) and prepared afresh before the Bind.
  CHECK(render(after) ==
        "[CS_ouroboros_1|] [P_ouroboros_1|SELECT * FROM t|||] [B|_ouroboros_1||||||||] [E|||||] [S] ");
  CHECK(types(c.received).substr(types(c.received).size() - 7) == "2 D C Z");
  CHECK(a.replies.empty());
  CHECK(a.prepared.size() == 1);

  // Inside a transaction: the error is the client's, the transaction fails, the next one works.
  a.pg.ddl();
  p.send(c, a, query("BEGIN"));
  p.send(c, a, run("s"));
  got = split(c.received);
  CHECK(sqlstate_of(got[got.size() - 2]) == "0A000");
  CHECK(render(got.back().raw) == "[ZE] ");
  p.send(c, a, query("ROLLBACK"));
  p.send(c, a, run("s"));
  CHECK(types(c.received).substr(types(c.received).size() - 7) == "2 D C Z");
  CHECK(a.replies.empty());
}

TEST_CASE("rewriter: a stale plan found by Describe") {
  Pooler p;
  SimServer a(10);
  SimClient c;
  p.send(c, a, cat({parse("s", "SELECT * FROM t"), sync_msg()}));
  a.pg.ddl();
  p.send(c, a, cat({describe('S', "s"), sync_msg()}));
  CHECK(types(c.received) == "1 Z E Z");
  p.send(c, a, cat({describe('S', "s"), sync_msg()}));
  CHECK(types(c.received) == "1 Z E Z t T Z");
  CHECK(a.replies.empty());
}

// ---- found defects (see the report); each is a real divergence from PostgreSQL ----

// An eviction Close the proxy injects after a failing message of the same pipeline is skipped
// by the server. The proxy must notice and close it later; otherwise, when that statement is
// needed again, it would Parse it under a name the server still has (42P05).
TEST_CASE("rewriter: an eviction Close skipped after an error is sent again later") {
  Pooler p;
  SimServer a(2);
  SimClient c;
  p.send(c, a, cat({parse("a", "SELECT a"), parse("bad", "SELECT 1/0"), sync_msg()}));
  // bad fails at Execute; the proxy has already queued Close(_ouroboros_1) + Parse(c) behind it.
  p.send(c, a, cat({bind("bad"), execute(), parse("c", "SELECT c"), sync_msg()}));
  CHECK(a.pg.statements.count("_ouroboros_1") == 1);  // the Close was skipped by the server
  p.send(c, a, run("a"));
  INFO("server saw: " << server_saw(a));
  check_same_as_postgres(c, a);  // PostgreSQL: 2 D C Z for a; the proxy: ERROR 42P05
}

// A stale plan reported while nothing up to a Sync is queued (Bind + Flush): the proxy must not
// send its Close for the stale statement while the server still skips to the client's Sync (the
// server would ignore it, the ReadyForQuery would meet a hidden Close and be dropped, and the
// client would hang); the Close goes after the Sync.
TEST_CASE("rewriter: stale plan reported after Bind + Flush, then Sync") {
  Pooler p;
  SimServer a(10);
  SimClient c;
  p.send(c, a, cat({parse("s", "SELECT * FROM t"), sync_msg()}));
  a.pg.ddl();
  c.reference.ddl();
  p.send(c, a, cat({bind("s"), execute(), flush_msg()}));
  CHECK(a.replies.skipping());
  p.send(c, a, sync_msg());
  INFO("server saw: " << server_saw(a));
  check_same_as_postgres(c, a);  // expected: E Z; seen: E (no ReadyForQuery)
}

// A client Close of its statement, pipelined after a message that fails, is skipped by
// PostgreSQL (the statement survives): the client's name comes back when the skip is seen.
TEST_CASE("rewriter: a Close skipped after an error keeps the client's statement") {
  Pooler p;
  SimServer a(10);
  SimClient c;
  p.send(c, a, cat({parse("s", "SELECT s"), parse("bad", "SELECT 1/0"), sync_msg()}));
  p.send(c, a, cat({bind("bad"), execute(), close_statement("s"), sync_msg()}));
  p.send(c, a, run("s"));  // PostgreSQL: s still exists
  check_same_as_postgres(c, a);
}

// A Parse that PostgreSQL rejects leaves no statement under that name, and the proxy drops the
// client's mapping when the error comes: a later Bind of the name gets 26000 "prepared statement
// does not exist" (not the Parse's error again from an injected Parse).
TEST_CASE("rewriter: a rejected Parse leaves no client name behind") {
  Pooler p;
  SimServer a(10);
  SimClient c;
  p.send(c, a, cat({parse("s", "SELECT syntax error"), sync_msg()}));
  p.send(c, a, run("s"));
  check_same_as_postgres(c, a);
}

// ---- randomised: many clients, few servers, small caches ----

namespace {

struct Lcg {
  std::uint64_t state;
  std::uint32_t next(std::uint32_t bound) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>((state >> 33) % bound);
  }
};

// Random pipelines of Parse / Bind+Execute / Describe / Close, ended by Sync or by Flush and a
// later Sync, from clients that move between servers after every pipeline. `errors` adds a
// statement that fails at Execute. Every client must get exactly what PostgreSQL would send.
void random_traffic(std::uint64_t seed, std::size_t capacity, bool errors, bool closes) {
  Lcg rng{seed};
  Pooler p;
  std::vector<SimServer> servers;
  for (int i = 0; i < 3; ++i) servers.emplace_back(capacity);
  std::vector<SimClient> clients(4);
  std::vector<std::string> texts = {"SELECT a", "SELECT b", "SELECT c", "SELECT d", "SELECT e", "SELECT f"};
  if (errors) texts.push_back("SELECT 1/0");
  for (int step = 0; step < 400; ++step) {
    CAPTURE(step);
    SimClient& c = clients[rng.next(clients.size())];
    SimServer& s = servers[rng.next(servers.size())];
    Bytes pipeline;
    int ops = 1 + static_cast<int>(rng.next(5));
    // What the client's own session will have when the pipeline runs (no errors assumed).
    std::map<std::string, std::string> known;
    for (const auto& [name, st] : c.reference.statements) known[name] = st.query;
    for (int i = 0; i < ops; ++i) {
      std::string name = "s" + std::to_string(rng.next(4));
      bool has = known.count(name) > 0;
      switch (rng.next(closes ? 4 : 3)) {
        case 0:
          if (has) break;  // PostgreSQL would say 42P05; the proxy documents a difference
          known[name] = texts[rng.next(texts.size())];
          append(pipeline, parse(name, known[name]));
          break;
        case 1:
          if (!has) break;
          append(pipeline, bind(name));
          append(pipeline, execute());
          break;
        case 2:
          if (!has) break;
          append(pipeline, describe('S', name));
          break;
        case 3:
          if (!has) break;
          append(pipeline, close_statement(name));
          known.erase(name);
          break;
      }
    }
    if (rng.next(3) == 0) {
      append(pipeline, flush_msg());
      p.send(c, s, pipeline);
      p.send(c, s, sync_msg());
    } else {
      append(pipeline, sync_msg());
      p.send(c, s, pipeline);
    }
    INFO("server saw: " << server_saw(s));
    check_same_as_postgres(c, s);
    CHECK(s.prepared.size() <= capacity);
    CHECK(s.pg.statements.size() <= capacity);
    if (c.received != c.expected) break;
  }
  std::uint64_t parses = 0;
  for (auto& s : servers)
    for (auto& m : s.pg.received) parses += m.type == 'P';
  CHECK(p.stats.server_parses == parses);
  CHECK(p.stats.client_parses >= p.stats.hits);
}

}  // namespace

TEST_CASE("rewriter: random pipelines, clients moving between servers, without errors") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    random_traffic(seed, 2, false, true);
    random_traffic(seed, 1, false, true);
    random_traffic(seed, 50, false, true);
  }
}

TEST_CASE("rewriter: random pipelines with errors at Execute, no evictions, no Close") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    random_traffic(seed, 50, true, false);
  }
}

// The same with evictions: hits the skipped-eviction-Close defect above.
TEST_CASE("rewriter: random pipelines with errors at Execute and evictions") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    random_traffic(seed, 2, true, false);
  }
}

// ---- found by fuzz_session (tests/fuzz/session_fuzzer.cpp) ----

// PostgreSQL refuses to redefine a statement name (42P05) and keeps the old statement; the proxy
// used to answer ParseComplete and silently point the name at the new text.
TEST_CASE("rewriter: a Parse of a name the client already has fails with 42P05") {
  Pooler p;
  SimServer a(10);
  SimClient c;
  p.send(c, a, cat({parse("s", "SELECT 1"), sync_msg()}));
  p.send(c, a, cat({parse("s", "SELECT 2"), bind("s"), execute(), sync_msg()}));
  check_same_as_postgres(c, a);
  CHECK(types(c.received) == "1 Z E Z");
  // The name still means the first text, and the transaction-less session goes on.
  p.send(c, a, run("s"));
  check_same_as_postgres(c, a);
  CHECK(render(c.received).find("SELECT 1") != std::string::npos);
  // A syntax error is found before the name is looked at, as in PostgreSQL.
  p.send(c, a, cat({parse("s", "syntax error"), sync_msg()}));
  check_same_as_postgres(c, a);
}

// A skipped named Parse (an earlier message of its pipeline failed) creates nothing either.
TEST_CASE("rewriter: a named Parse skipped after an error leaves no client name behind") {
  Pooler p;
  SimServer a(10);
  SimClient c;
  p.send(c, a, cat({bind("missing"), parse("s", "SELECT 1"), sync_msg()}));
  p.send(c, a, run("s"));
  check_same_as_postgres(c, a);
  CHECK(c.statements.empty());
}

// After an error the server skips everything up to Sync, a DEALLOCATE of a client's statement
// too; the proxy used to answer it (CommandComplete + ReadyForQuery) in the middle of the skip.
TEST_CASE("rewriter: DEALLOCATE sent while the server skips to Sync is not answered") {
  Pooler p;
  SimServer a(10);
  SimClient c;
  p.send(c, a, cat({parse("a", "SELECT 1"), sync_msg()}));
  p.send(c, a, cat({bind("missing"), flush_msg()}));
  REQUIRE(a.replies.skipping());
  p.send(c, a, query("DEALLOCATE a"));
  p.send(c, a, sync_msg());
  check_same_as_postgres(c, a);
  p.send(c, a, run("a"));  // still there, as in PostgreSQL
  check_same_as_postgres(c, a);
}

// The proxy's own ReadyForQuery carries the status of the latest one before it, also when the
// requests before it were still running when it was queued (a pipelined BEGIN).
TEST_CASE("rewriter: a DEALLOCATE answered behind a pipelined BEGIN reports the transaction") {
  Pooler p;
  SimServer a(10);
  SimClient c;
  p.send(c, a, cat({parse("a", "SELECT 1"), sync_msg()}));
  p.rewrite(c, a, cat({query("BEGIN"), query("DEALLOCATE a")}));
  p.deliver(c, a);
  check_same_as_postgres(c, a);
  CHECK(render(c.received).find("[CDEALLOCATE|] [ZT]") != std::string::npos);
  p.send(c, a, query("COMMIT"));
  check_same_as_postgres(c, a);
}

// Found by fuzz_session. A Parse of a name the client already has is sent under that statement's
// server name, for the server to refuse with 42P05. When the statement's own Parse was still in
// flight and the server skipped it (an earlier error), the server did not have that name and
// created it with the other text: _ouroboros_1 meant "SELECT 1" on that server while the proxy
// meant "SELECT 2" by it. The next client of "SELECT 2" there got 42P05, or, pipelining past it,
// the rows of "SELECT 1".
TEST_CASE("rewriter: a duplicate Parse never leaves another text under a proxy name") {
  Pooler p;
  SimServer a(10), b(10);
  SimClient first, second;
  p.send(first, a, cat({parse("s", "SELECT 2"), sync_msg()}));
  // On server b the injected Parse of _ouroboros_1 is skipped; the duplicate Parse comes after.
  p.rewrite(first, b, cat({bind("missing"), bind("s"), sync_msg()}));
  p.rewrite(first, b, cat({parse("s", "SELECT 1"), sync_msg()}));
  p.deliver(first, b);
  INFO("server b saw: " << server_saw(b));
  CHECK(server_names(b).find("=SELECT 1;") == std::string::npos);
  // Another client of the same text on server b, pipelining past its Parse.
  p.send(second, b, cat({parse("t", "SELECT 2"), sync_msg(), bind("t"), execute(), sync_msg()}));
  check_same_as_postgres(second, b);
  CHECK(types(second.received) == "1 Z 2 D C Z");
  CHECK(render(second.received).find("SELECT 2] [CSELECT 1") != std::string::npos);
  // The server had no _ouroboros_1, so it accepted the duplicate Parse (PostgreSQL answers 42P05:
  // the known limitation of messages pipelined behind an error). The client was told its name
  // now means "SELECT 1", and so it does.
  CHECK(types(first.received) == "1 Z E Z 1 Z");
  p.send(first, b, run("s"));
  CHECK(render(first.received).ends_with("[2] [D||||SELECT 1] [CSELECT 1|] [ZI] "));
}

// The same with the statement still held by another client (its entry alive): the server gets
// its own text back under the proxy name, and the proxy knows the server has it.
TEST_CASE("rewriter: after a duplicate Parse the server keeps the statement others hold") {
  Pooler p;
  SimServer b(1);
  SimClient holder, first;
  p.send(holder, b, cat({parse("t", "SELECT 2"), sync_msg()}));
  p.send(holder, b, cat({parse("u", "SELECT 3"), sync_msg()}));  // evicts _ouroboros_1
  p.rewrite(first, b, cat({bind("missing"), parse("s", "SELECT 2"), sync_msg()}));
  p.rewrite(first, b, cat({parse("s", "SELECT 1"), sync_msg()}));
  p.deliver(first, b);
  INFO("server b saw: " << server_saw(b));
  CHECK(server_names(b).find("_ouroboros_1=SELECT 2;") != std::string::npos);
  p.send(holder, b, run("t"));
  p.send(holder, b, run("u"));
  check_same_as_postgres(holder, b);
}

// Found by fuzz_session. After an error, PostgreSQL skips a Parse and a Close of the same new
// name: the name never existed. The proxy gave the name back for the skipped Close, so a later
// Bind ran the statement where PostgreSQL answers 26000.
TEST_CASE("rewriter: a name parsed and closed in a skipped stretch does not come back") {
  Pooler p;
  SimServer a(10);
  SimClient c;
  p.send(c, a, cat({bind("missing"), parse("s", "SELECT 1"), close_statement("s"), sync_msg()}));
  CHECK(c.statements.empty());
  p.send(c, a, run("s"));
  check_same_as_postgres(c, a);
  // Closed, parsed again and closed again: the name was there before, so it stays.
  p.send(c, a, cat({parse("s", "SELECT 1"), sync_msg()}));
  p.send(c, a,
         cat({bind("missing"), close_statement("s"), parse("s", "SELECT 2"), close_statement("s"),
              sync_msg()}));
  p.send(c, a, run("s"));
  check_same_as_postgres(c, a);
  CHECK(render(c.received).ends_with("[D||||SELECT 1] [CSELECT 1|] [ZI] "));
}
