#pragma once
// Rewrites one client's extended-protocol messages for the server it currently holds, so named
// prepared statements survive transaction pooling: a client's statement name maps to a
// proxy-wide statement; a server lacking it gets a Parse injected (its reply hidden); a Parse the
// server already has is answered by the proxy without a round trip; Close only drops the
// client's own mapping. With caching off every message goes through unchanged, but replies are
// still tracked in order.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/bytes.h"
#include "common/outgoing_bytes.h"
#include "protocol/messages.h"
#include "session/reply_queue.h"
#include "session/server_statements.h"
#include "session/statement_registry.h"

namespace ouroboros::session {

// A client's statement names, valid on whatever server it holds.
using ClientStatements = std::unordered_map<std::string, std::shared_ptr<const PreparedStatement>>;

struct StatementStats {
  std::uint64_t client_parses = 0;  // named Parse messages from clients
  std::uint64_t server_parses = 0;  // Parse messages the servers really ran for them
  std::uint64_t hits = 0;           // client Parses answered without a round trip
  std::uint64_t evictions = 0;      // statements closed on a server to stay within the limit
  std::uint64_t sql_prepares = 0;   // SQL-level PREPARE/EXECUTE seen in transaction/statement mode
};

// Where one message's bytes go.
struct Rewritten {
  bool malformed = false;  // the message could not be decoded (the caller ends the session)
};

class StatementRewriter {
 public:
  StatementRewriter(StatementRegistry& registry, StatementStats& stats) : registry_(registry), stats_(stats) {}

  // One complete client message (`raw` = type byte, length and body). Appends what the server
  // must receive to `to_server` (`raw` itself as a view when passed on unchanged: it must stay
  // valid until `to_server` is sent), answers already due to `to_client`, and expectations to `replies`.
  // `parsed`, `bound`: the message's Parse fields or Bind names when the caller decoded them
  // already (else decoded here).
  Rewritten on_client_message(char type, ByteView body, ByteView raw, bool caching, ClientStatements& client,
                              ServerStatements& server, ReplyQueue& replies, OutgoingBytes& to_server, Bytes& to_client,
                              const protocol::Parse* parsed = nullptr, const protocol::BindNames* bound = nullptr);

  // The client ran DEALLOCATE of a name: true (and the mapping is gone, answered by the proxy)
  // when it was one of its protocol-level statements.
  void count_sql_prepare() { ++stats_.sql_prepares; }
  // The proxy answers one message itself, in its place in the pipeline.
  void answer(Expectation::Kind kind, Expectation::Answer answer, ReplyQueue& replies, Bytes& to_client);
  // Answers a Query with ERROR 0A000 in its place in the pipeline (the server never sees it).
  void refuse(std::string message, std::string detail, ReplyQueue& replies, Bytes& to_client);
  bool deallocate(const std::string& name, char transaction_status, ClientStatements& client, ReplyQueue& replies,
                  Bytes& to_client);
  // A Route's names_not_prepared: the client's names for statements PostgreSQL never created.
  // Applies what the server did not do: drops names whose Parse failed or was skipped, and gives
  // back names whose Close was skipped.
  static void forget_names(const Route& route, ClientStatements& client);

 private:
  // Makes sure the server has `statement`, injecting a hidden Parse (and a Close for an evicted
  // or stale statement) when it does not.
  void ensure_prepared(const PreparedStatement& statement, ServerStatements& server, ReplyQueue& replies,
                       OutgoingBytes& to_server, Bytes& to_client);
  void send_pending_closes(ServerStatements& server, ReplyQueue& replies, OutgoingBytes& to_server, Bytes& to_client);
  void send_parse(const PreparedStatement& statement, Expectation::Fate fate, ServerStatements& server,
                  ReplyQueue& replies, OutgoingBytes& to_server, Bytes& to_client,
                  std::shared_ptr<const std::string> client_name = nullptr);

  StatementRegistry& registry_;
  StatementStats& stats_;
};

}  // namespace ouroboros::session
