#pragma once
// Test support for the session module: frontend message builders (the protocol module only
// encodes what the proxy synthesises), a splitter for message streams, a small PostgreSQL
// backend model (FakePg) that answers extended- and simple-protocol messages the way a real
// server does, and a harness (Pooler) wiring StatementRewriter / ServerStatements / ReplyQueue
// exactly like ClientConnection::relay and ServerConnection::on_readable do.
//
// The oracle: the replies a client receives through the Pooler must equal the replies a FakePg
// session of its own would have sent for the client's unmodified messages.
// The model's own checks: doctest's REQUIRE/FAIL in the unit tests; the session fuzz target
// defines SIM_REQUIRE and SIM_FAIL itself before including this header.
#ifndef SIM_REQUIRE
#include <doctest/doctest.h>
#define SIM_REQUIRE(...) REQUIRE(__VA_ARGS__)
#define SIM_FAIL(...) FAIL(__VA_ARGS__)
#endif

#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "protocol/messages.h"
#include "session/reply_queue.h"
#include "session/server_statements.h"
#include "session/statement_registry.h"
#include "session/statement_rewriter.h"

namespace ouroboros::session::test {

namespace pr = ouroboros::protocol;

// ---- message builders ----

// A buffer for one message: reserved once, where growing from empty reallocated several times
// per message (the fuzz target builds thousands of messages per input).
inline Bytes message_buffer() {
  Bytes out;
  out.reserve(128);
  return out;
}

inline Bytes parse(std::string_view name, std::string_view query, std::vector<std::uint32_t> types = {}) {
  Bytes out = message_buffer();
  pr::encode_parse(out, name, query, types);
  return out;
}

inline Bytes bind(std::string_view statement, std::vector<std::string> params = {}, std::string_view portal = "") {
  Bytes out = message_buffer();
  pr::MessageWriter w(out, pr::frontend::kBind);
  w.cstring(portal).cstring(statement);
  w.int16(0);  // all parameters in text
  w.int16(static_cast<std::int16_t>(params.size()));
  for (const auto& p : params) {
    w.int32(static_cast<std::int32_t>(p.size()));
    w.bytes(as_bytes(p));
  }
  w.int16(1).int16(0);  // one result format: text
  w.finish();
  return out;
}

inline Bytes describe(char kind, std::string_view name) {
  Bytes out = message_buffer();
  pr::MessageWriter w(out, pr::frontend::kDescribe);
  w.int8(static_cast<std::uint8_t>(kind)).cstring(name);
  w.finish();
  return out;
}

inline Bytes execute(std::string_view portal = "", std::int32_t max_rows = 0) {
  Bytes out = message_buffer();
  pr::MessageWriter w(out, pr::frontend::kExecute);
  w.cstring(portal).int32(max_rows);
  w.finish();
  return out;
}

inline Bytes close_statement(std::string_view name) {
  Bytes out = message_buffer();
  pr::encode_close(out, 'S', name);
  return out;
}

inline Bytes sync_msg() {
  Bytes out = message_buffer();
  pr::encode_sync(out);
  return out;
}

inline Bytes flush_msg() {
  Bytes out = message_buffer();
  pr::encode_flush(out);
  return out;
}

inline Bytes query(std::string_view sql) {
  Bytes out = message_buffer();
  pr::encode_query(out, sql);
  return out;
}

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) append(out, p);
  return out;
}

// ---- splitting ----

// One message of a stream, as views into it: what the model and the fuzz target walk, without
// copying (the fuzz target runs thousands of messages per input; copying them made malloc/free
// half its time under ASan).
struct MsgView {
  char type = 0;
  ByteView body;
  ByteView raw;  // type, length and body
  std::string_view text() const { return as_chars(body); }
};

// Calls f(MsgView) for each message of a well-framed stream (a broken frame fails the check).
template <class F>
void for_each_message(ByteView bytes, F&& f) {
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    SIM_REQUIRE(bytes.size() - pos >= 5);
    std::uint32_t len = (std::uint32_t(bytes[pos + 1]) << 24) | (std::uint32_t(bytes[pos + 2]) << 16) |
                        (std::uint32_t(bytes[pos + 3]) << 8) | std::uint32_t(bytes[pos + 4]);
    SIM_REQUIRE(len >= 4);
    SIM_REQUIRE(bytes.size() - pos >= 1 + len);
    f(MsgView{static_cast<char>(bytes[pos]), bytes.subspan(pos + 5, len - 4), bytes.subspan(pos, 1 + len)});
    pos += 1 + len;
  }
}

// A message with its own copy of the bytes, for tests that keep messages past their stream.
struct Msg {
  char type = 0;
  Bytes body;
  Bytes raw;  // type, length and body
  Msg() = default;
  explicit Msg(const MsgView& m) : type(m.type), body(m.body.begin(), m.body.end()), raw(m.raw.begin(), m.raw.end()) {}
  std::string_view text() const { return as_chars(body); }
  operator MsgView() const { return MsgView{type, body, raw}; }
};

inline std::vector<Msg> split(ByteView bytes) {
  std::vector<Msg> out;
  for_each_message(bytes, [&](const MsgView& m) { out.emplace_back(m); });
  return out;
}

// "1 2 D C Z": the message types of a stream, for readable failure messages.
inline std::string types(ByteView bytes) {
  std::string out;
  for (const Msg& m : split(bytes)) {
    if (!out.empty()) out += ' ';
    out += m.type;
  }
  return out;
}

// A readable rendering of a backend or frontend stream: type plus printable body characters.
inline std::string render(ByteView bytes) {
  std::string out;
  for (const Msg& m : split(bytes)) {
    out += '[';
    out += m.type;
    for (std::uint8_t c : m.body) {
      if (c >= 32 && c < 127) out += static_cast<char>(c);
      else if (c == 0) out += '|';
    }
    out += "] ";
  }
  return out;
}

inline std::optional<std::string> sqlstate_of(const MsgView& m) {
  if (m.type != 'E') return std::nullopt;
  auto fields = pr::decode_error_fields(m.body);
  if (!fields) return std::nullopt;
  return std::string(fields->sqlstate());
}

// ---- a PostgreSQL backend model ----

// Query text conventions: a query containing "syntax error" fails at Parse (42601); one containing
// "1/0" fails at Execute (22012); one containing "tbl" fails at Parse (42P01) once drop_table()
// ran. An Execute returns one DataRow holding the statement's query text, so the client can
// tell exactly which statement ran; a Describe returns the query text as the column name.
class FakePg {
 public:
  struct Stmt {
    std::string query;
    std::vector<std::uint32_t> types;
    bool stale = false;  // its plan was invalidated by DDL: Bind/Describe fail with 0A000
  };

  std::map<std::string, Stmt, std::less<>> statements;
  std::map<std::string, std::string, std::less<>> portals;  // portal -> query
  bool ignore_till_sync = false;
  char status = 'I';
  bool table_dropped = false;
  std::vector<Msg> received;  // every message, ignored ones included (if keep_received)
  bool keep_received = true;

  // ALTER TABLE: every cached plan that exists now must not change its result type.
  void ddl() {
    for (auto& [name, s] : statements) s.stale = true;
  }
  void drop_table() { table_dropped = true; }

  Bytes feed(ByteView in) {
    Bytes out;
    out.reserve(512);  // (a batch's answers, without reallocating message by message)
    for_each_message(in, [&](const MsgView& m) {
      if (keep_received) received.emplace_back(m);
      handle(m, out);
    });
    return out;
  }

 private:
  void error(Bytes& out, std::string_view code, const std::string& message, bool extended) {
    pr::ErrorSpec e;
    e.severity = "ERROR";
    e.sqlstate = code;
    e.message = message;
    pr::encode_error_response(out, e);
    if (extended) ignore_till_sync = true;
    if (status == 'T') status = 'E';
  }

  static std::string quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

  static void row_description(Bytes& out, std::string_view column) {
    pr::MessageWriter w(out, pr::backend::kRowDescription);
    w.int16(1).cstring(column).int32(0).int16(0).int32(25).int16(-1).int32(-1).int16(0);
    w.finish();
  }

  static void empty(Bytes& out, char type) {
    pr::MessageWriter w(out, type);
    w.finish();
  }

  bool aborted(Bytes& out, bool extended) {
    if (status != 'E') return false;
    error(out, "25P02", "current transaction is aborted, commands ignored until end of transaction block", extended);
    return true;
  }

  void handle(const MsgView& m, Bytes& out) {
    if (ignore_till_sync && m.type != 'S') return;  // PostgreSQL skips everything (Query too) until Sync
    switch (m.type) {
      case 'P': {
        auto p = pr::decode_parse(m.body);
        SIM_REQUIRE(p);
        if (aborted(out, true)) return;
        if (p->query.find("syntax error") != std::string_view::npos)
          return error(out, "42601", "syntax error at or near \"error\"", true);
        if (table_dropped && p->query.find("tbl") != std::string_view::npos)
          return error(out, "42P01", "relation \"tbl\" does not exist", true);
        if (!p->statement.empty() && statements.contains(p->statement))
          return error(out, "42P05", "prepared statement " + quoted(p->statement) + " already exists", true);
        statements[std::string(p->statement)] = Stmt{std::string(p->query), p->parameter_types, false};
        return empty(out, pr::backend::kParseComplete);
      }
      case 'B': {
        auto b = pr::decode_bind(m.body);
        SIM_REQUIRE(b);
        if (aborted(out, true)) return;
        auto it = statements.find(b->statement);
        if (it == statements.end())
          return error(out, "26000",
                       b->statement.empty() ? std::string("unnamed prepared statement does not exist")
                                            : "prepared statement " + quoted(b->statement) + " does not exist",
                       true);
        if (it->second.stale) return error(out, "0A000", std::string(kCachedPlanChanged), true);
        portals[std::string(b->portal)] = it->second.query;
        return empty(out, pr::backend::kBindComplete);
      }
      case 'D': {
        auto d = pr::decode_describe(m.body);
        SIM_REQUIRE(d);
        if (aborted(out, true)) return;
        if (d->kind == 'S') {
          auto it = statements.find(d->name);
          if (it == statements.end())
            return error(out, "26000", "prepared statement " + quoted(d->name) + " does not exist", true);
          if (it->second.stale) return error(out, "0A000", std::string(kCachedPlanChanged), true);
          pr::MessageWriter w(out, pr::backend::kParameterDescription);
          w.int16(static_cast<std::int16_t>(it->second.types.size()));
          for (auto t : it->second.types) w.int32(static_cast<std::int32_t>(t));
          w.finish();
          return row_description(out, it->second.query);
        }
        auto it = portals.find(d->name);
        if (it == portals.end()) return error(out, "34000", "portal " + quoted(d->name) + " does not exist", true);
        return row_description(out, it->second);
      }
      case 'E': {
        auto e = pr::decode_execute(m.body);
        SIM_REQUIRE(e);
        if (aborted(out, true)) return;
        auto it = portals.find(e->portal);
        if (it == portals.end()) return error(out, "34000", "portal " + quoted(e->portal) + " does not exist", true);
        if (it->second.find("1/0") != std::string::npos) return error(out, "22012", "division by zero", true);
        pr::MessageWriter w(out, pr::backend::kDataRow);
        w.int16(1).int32(static_cast<std::int32_t>(it->second.size())).bytes(as_bytes(it->second));
        w.finish();
        pr::encode_command_complete(out, "SELECT 1");
        return;
      }
      case 'C': {
        auto c = pr::decode_close(m.body);
        SIM_REQUIRE(c);  // (allowed in an aborted transaction, as in PostgreSQL)
        if (c->kind == 'S') statements.erase(std::string(c->name));
        else portals.erase(std::string(c->name));
        return empty(out, pr::backend::kCloseComplete);
      }
      case 'S':
        ignore_till_sync = false;
        if (status == 'I') portals.clear();
        pr::encode_ready_for_query(out, status);
        return;
      case 'H':
        return;
      case 'Q': {
        auto q = pr::decode_query(m.body);
        SIM_REQUIRE(q);
        simple_query(std::string(*q), out);
        pr::encode_ready_for_query(out, status);
        return;
      }
      default:
        SIM_FAIL("FakePg got an unexpected message type ", m.type);
    }
  }

  void simple_query(const std::string& sql, Bytes& out) {
    if (sql == "ROLLBACK" || sql == "COMMIT") {
      pr::encode_command_complete(out, sql == "COMMIT" && status == 'E' ? "ROLLBACK" : sql);
      status = 'I';
      return;
    }
    if (aborted(out, false)) return;
    if (sql == "BEGIN") {
      status = 'T';
      pr::encode_command_complete(out, "BEGIN");
    } else if (sql == "DEALLOCATE ALL" || sql == "DISCARD ALL") {
      statements.clear();
      pr::encode_command_complete(out, sql);
    } else if (sql.rfind("DEALLOCATE ", 0) == 0) {
      std::string name = sql.substr(11);
      if (statements.erase(name) == 0)
        return error(out, "26000", "prepared statement " + quoted(name) + " does not exist", false);
      pr::encode_command_complete(out, "DEALLOCATE");
    } else if (sql.find("1/0") != std::string::npos) {
      error(out, "22012", "division by zero", false);
    } else {
      pr::encode_command_complete(out, "SELECT 1");
    }
  }
};

// ---- the proxy's wiring, without sockets ----

struct SimServer {
  explicit SimServer(std::size_t capacity) : prepared(capacity) {}
  FakePg pg;
  ServerStatements prepared;
  ReplyQueue replies;
  char transaction_status = 'I';  // from the last ReadyForQuery, as ServerConnection tracks it
  Bytes pending;                  // rewritten bytes not yet delivered to the server
  Bytes sent;                     // everything delivered to the server
};

struct SimClient {
  ClientStatements statements;
  Bytes received;
  FakePg reference;  // the client's own PostgreSQL session, fed its unmodified messages
  Bytes expected;    // what `reference` answered
};

struct Pooler {
  StatementRegistry registry;
  StatementStats stats;
  StatementRewriter rewriter{registry, stats};
  bool caching = true;
  Bytes server_scratch_;  // rewrite()'s buffers, kept between calls as a connection keeps its own
  Bytes to_client_;

  // ClientConnection::relay: the client's messages go through the rewriter (SQL DEALLOCATE of a
  // name intercepted first); the proxy's own due answers go to the client at once.
  void rewrite(SimClient& c, SimServer& s, ByteView bytes) {
    append(c.expected, c.reference.feed(bytes));
    OutgoingBytes to_server(server_scratch_);  // views of the messages until it is sent
    Bytes& to_client = to_client_;
    to_client.clear();
    for_each_message(bytes, [&](const MsgView& m) {
      if (m.type == 'Q' && caching) {
        const std::string_view sql = m.text().substr(0, m.text().size() - 1);
        if (sql.starts_with("DEALLOCATE ") && sql != "DEALLOCATE ALL" &&
            rewriter.deallocate(std::string(sql.substr(11)), s.transaction_status, c.statements, s.replies, to_client))
          return;
      }
      Rewritten r = rewriter.on_client_message(m.type, m.body, m.raw, caching, c.statements, s.prepared, s.replies,
                                               to_server, to_client);
      SIM_REQUIRE(!r.malformed);
    });
    append(c.received, to_client);
    append(s.pending, to_server.bytes());
  }

  // ServerConnection::on_readable: the server runs what it was sent; every reply is routed.
  void deliver(SimClient& c, SimServer& s) {
    append(s.sent, s.pending);
    const Bytes replies = s.pg.feed(s.pending);
    s.pending.clear();  // (keeps its capacity for the next batch)
    for_each_message(replies, [&](const MsgView& m) {
      Route route = s.replies.on_server_message(m.type, m.type == 'E' || m.type == 'Z' ? ByteView(m.body) : ByteView());
      if (m.type == 'Z') {
        SIM_REQUIRE(!m.body.empty());
        s.transaction_status = static_cast<char>(m.body[0]);
      }
      if (m.type == 'C') {
        auto tag = pr::decode_command_complete(m.body);
        if (tag && (*tag == "DISCARD ALL" || *tag == "DEALLOCATE ALL")) {
          s.prepared.clear();
          c.statements.clear();
        }
      }
      if (route.forward) append(c.received, m.raw);
      append(c.received, route.answers);
      for (auto id : route.not_prepared) s.prepared.forget(id, false);
      for (auto id : route.found_prepared) s.prepared.found(id, session::server_statement_name(id));
      StatementRewriter::forget_names(route, c.statements);
      for (auto id : route.not_closed) s.prepared.queue_close({id, session::server_statement_name(id)});
      if (route.stale_statement != 0) s.prepared.forget(route.stale_statement, true);
    });
  }

  void send(SimClient& c, SimServer& s, ByteView bytes) {
    rewrite(c, s, bytes);
    deliver(c, s);
  }
};

// The messages the server received, rendered, for checks on what the proxy sent.
inline std::string server_saw(const SimServer& s) { return render(s.sent); }

}  // namespace ouroboros::session::test
