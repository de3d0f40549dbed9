#include "session/statement_rewriter.h"

#include "protocol/messages.h"
#include "sql/command.h"

namespace ouroboros::session {

namespace {
namespace fe = protocol::frontend;
using Kind = Expectation::Kind;
using Fate = Expectation::Fate;
using Answer = Expectation::Answer;

Expectation answered(Kind kind, Answer answer) {
  Expectation e = expectation(kind);
  e.fate = Fate::Answered;
  e.answer = answer;
  return e;
}

// Bind and Describe bodies with the statement name replaced; the rest is copied as it is.
void rewrite_bind(ByteView body, std::string_view portal, std::string_view statement_name,
                  std::string_view server_name, Bytes& out) {
  std::size_t rest = portal.size() + 1 + statement_name.size() + 1;
  protocol::MessageWriter w(out, fe::kBind);
  w.cstring(portal).cstring(server_name).bytes(body.subspan(rest));
  w.finish();
}
}  // namespace

void StatementRewriter::send_pending_closes(ServerStatements& server, ReplyQueue& replies, OutgoingBytes& to_server,
                                            Bytes& to_client) {
  for (const auto& stale : server.take_pending_closes()) {
    protocol::encode_close(to_server.copied(), 'S', stale.server_name);
    Expectation e = expectation(Kind::Close);
    e.fate = Fate::Hide;
    e.statement_id = stale.id;
    replies.expect(std::move(e), to_client);
  }
}

void StatementRewriter::send_parse(const PreparedStatement& statement, Fate fate, ServerStatements& server,
                                   ReplyQueue& replies, OutgoingBytes& to_server, Bytes& to_client,
                                   std::shared_ptr<const std::string> client_name) {
  if (auto evicted = server.add(statement.id, statement.server_name)) {
    ++stats_.evictions;
    protocol::encode_close(to_server.copied(), 'S', evicted->server_name);
    Expectation e = expectation(Kind::Close);
    e.fate = Fate::Hide;
    e.statement_id = evicted->id;
    replies.expect(std::move(e), to_client);
  }
  protocol::encode_parse(to_server.copied(), statement.server_name, statement.query, statement.parameter_types);
  Expectation e = expectation(Kind::Parse);
  e.fate = fate;
  e.statement_id = statement.id;
  e.client_name = std::move(client_name);
  replies.expect(std::move(e), to_client);
  ++stats_.server_parses;
}

void StatementRewriter::ensure_prepared(const PreparedStatement& statement, ServerStatements& server,
                                        ReplyQueue& replies, OutgoingBytes& to_server, Bytes& to_client) {
  if (server.use(statement.id)) return;
  send_parse(statement, Fate::Hide, server, replies, to_server, to_client);
}

Rewritten StatementRewriter::on_client_message(char type, ByteView body, ByteView raw, bool caching,
                                               ClientStatements& client, ServerStatements& server,
                                               ReplyQueue& replies, OutgoingBytes& to_server, Bytes& to_client,
                                               const protocol::Parse* parsed, const protocol::BindNames* bound) {
  Rewritten result;
  if (replies.skipping() && type != fe::kSync) return result;  // the server would ignore it too
  // Not while the server skips to Sync: it would ignore the Close and its reply never comes.
  if (caching && !replies.skipping() && server.has_pending_closes())
    send_pending_closes(server, replies, to_server, to_client);
  auto pass = [&](std::optional<Kind> kind, std::uint64_t statement = 0) {
    to_server.relay(raw);
    if (kind) replies.expect_reply(*kind, statement);
  };
  switch (type) {
    case fe::kParse: {
      std::optional<protocol::Parse> decoded;
      if (!parsed && (decoded = protocol::decode_parse(body))) parsed = &*decoded;
      const protocol::Parse* parse = parsed;
      if (!parse) return {true};
      if (!caching || parse->statement.empty()) {
        pass(Kind::Parse);
        return result;
      }
      ++stats_.client_parses;
      // EXECUTE of a SQL-level statement: another client's statement of that name may return
      // other columns, so the server statement (described once) is this client's alone.
      const std::uintptr_t owner =
          sql::classify(parse->query).kind == sql::CommandKind::Execute ? reinterpret_cast<std::uintptr_t>(&client) : 0;
      if (auto existing = client.find(std::string(parse->statement)); existing != client.end()) {
        // PostgreSQL reads the text (its errors come first), then refuses to redefine a name
        // (42P05) and keeps the old statement: have the server do the same under the statement's
        // own server name, so it also skips to Sync and aborts a transaction, and report the
        // error under the client's name. If the server lacks that name after all (a Parse of it
        // still in flight is skipped), it accepts: a Close and a Parse of the statement's own
        // text follow at once, so no other text ever stays under a proxy name.
        const PreparedStatement& old = *existing->second;
        ensure_prepared(old, server, replies, to_server, to_client);
        auto duplicate = std::make_shared<DuplicateParse>();
        duplicate->client_name = existing->first;
        duplicate->existing = old.id;
        duplicate->requested = registry_.intern(parse->query, parse->parameter_types, owner);
        protocol::encode_parse(to_server.copied(), old.server_name, parse->query, parse->parameter_types);
        Expectation refused = expectation(Kind::Parse);
        refused.duplicate = std::move(duplicate);
        replies.expect(std::move(refused), to_client);
        protocol::encode_close(to_server.copied(), 'S', old.server_name);
        Expectation close = expectation(Kind::Close);
        close.fate = Fate::Hide;
        replies.expect(std::move(close), to_client);
        protocol::encode_parse(to_server.copied(), old.server_name, old.query, old.parameter_types);
        Expectation restore = expectation(Kind::Parse);
        restore.fate = Fate::Hide;
        restore.restores = old.id;
        replies.expect(std::move(restore), to_client);
        return result;
      }
      auto statement = registry_.intern(parse->query, parse->parameter_types, owner);
      client[std::string(parse->statement)] = statement;
      auto name = std::make_shared<const std::string>(parse->statement);
      if (server.use(statement->id)) {
        ++stats_.hits;
        Expectation e = answered(Kind::Parse, Answer::ParseComplete);
        e.statement_id = statement->id;
        e.client_name = std::move(name);
        replies.expect(std::move(e), to_client);
      } else {
        send_parse(*statement, Fate::Forward, server, replies, to_server, to_client, std::move(name));
      }
      return result;
    }
    case fe::kBind: {
      std::optional<protocol::BindNames> decoded;
      if (!bound && (decoded = protocol::decode_bind_names(body))) bound = &*decoded;
      const protocol::BindNames* bind = bound;
      if (!bind) return {true};
      auto it = caching && !bind->statement.empty() ? client.find(std::string(bind->statement)) : client.end();
      if (it == client.end()) {
        pass(Kind::Bind);  // unnamed, or a name the server itself knows (or will reject)
        return result;
      }
      ensure_prepared(*it->second, server, replies, to_server, to_client);
      rewrite_bind(body, bind->portal, bind->statement, it->second->server_name, to_server.copied());
      replies.expect_reply(Kind::Bind, it->second->id);
      return result;
    }
    case fe::kDescribe: {
      auto describe = protocol::decode_describe(body);
      if (!describe) return {true};
      Kind kind = describe->kind == 'S' ? Kind::DescribeStatement : Kind::DescribePortal;
      auto it = caching && describe->kind == 'S' && !describe->name.empty() ? client.find(std::string(describe->name))
                                                                           : client.end();
      if (it == client.end()) {
        pass(kind);
        return result;
      }
      ensure_prepared(*it->second, server, replies, to_server, to_client);
      protocol::MessageWriter w(to_server.copied(), fe::kDescribe);
      w.int8('S').cstring(it->second->server_name);
      w.finish();
      replies.expect_reply(kind, it->second->id);
      return result;
    }
    case fe::kClose: {
      auto close = protocol::decode_close(body);
      if (!close) return {true};
      auto named = caching && close->kind == 'S' ? client.find(std::string(close->name)) : client.end();
      if (named != client.end()) {
        // The server keeps the statement for other clients; only this client's name goes (and
        // comes back if the server skips this Close after an earlier error).
        Expectation e = answered(Kind::Close, Answer::CloseComplete);
        e.closed_name = std::make_shared<const NamedStatement>(named->first, named->second);
        client.erase(named);
        replies.expect(std::move(e), to_client);
        return result;
      }
      pass(Kind::Close);
      return result;
    }
    case fe::kExecute:
      pass(Kind::Execute);
      return result;
    case fe::kSync:
      pass(Kind::Sync);
      return result;
    case fe::kQuery:
      pass(Kind::Query);
      return result;
    case fe::kFunctionCall:
      pass(Kind::FunctionCall);
      return result;
    default:
      pass(std::nullopt);  // Flush, COPY traffic: no reply of their own
      return result;
  }
}

bool StatementRewriter::deallocate(const std::string& name, char transaction_status, ClientStatements& client,
                                   ReplyQueue& replies, Bytes& to_client) {
  // After an error the server ignores everything up to Sync, this DEALLOCATE too.
  if (replies.skipping() || client.erase(name) == 0) return false;
  Expectation e = answered(Kind::Query, Answer::Deallocate);
  e.status = transaction_status;
  replies.expect(std::move(e), to_client);
  return true;
}

}  // namespace ouroboros::session

namespace ouroboros::session {

void StatementRewriter::forget_names(const Route& route, ClientStatements& client) {
  for (const auto& [name, id] : route.names_not_prepared) {
    auto it = client.find(name);
    if (it != client.end() && it->second->id == id) client.erase(it);
  }
  for (const auto& [name, statement] : route.names_restored) client.emplace(name, statement);
}

void StatementRewriter::answer(Expectation::Kind kind, Expectation::Answer answer_kind, ReplyQueue& replies,
                               Bytes& to_client) {
  replies.expect(answered(kind, answer_kind), to_client);
}

void StatementRewriter::refuse(std::string message, std::string detail, ReplyQueue& replies, Bytes& to_client) {
  Expectation e = answered(Expectation::Kind::Query, Expectation::Answer::Refuse);
  e.refusal = std::make_shared<const std::pair<std::string, std::string>>(std::move(message), std::move(detail));
  replies.expect(std::move(e), to_client);
}

}  // namespace ouroboros::session
