#include "session/request_tracker.h"

namespace ouroboros::session {

namespace fe = protocol::frontend;

void RequestTracker::on_client_message(char type, ByteView body, const protocol::Parse* parse,
                                       std::optional<std::string_view> text, const sql::QueryShape& shape,
                                       const protocol::BindNames* bind) {
  switch (type) {
    case fe::kParse:
      if (parse) {
        ExtendedTexts& texts = extended();
        // assign() reuses the strings' capacity: a client sending the same unnamed Parse in every
        // batch allocates nothing here.
        auto keep = [&](StatementText& to) {
          to.sql.assign(parse->query);
          to.shape = shape;
        };
        if (texts.batch.sql.empty()) keep(texts.batch);
        if (parse->statement.empty()) keep(texts.unnamed);
        else if (texts.statement_text.size() < kMaxTrackedStatements)
          keep(texts.statement_text[std::string(parse->statement)]);
      }
      return;
    case fe::kBind: {
      std::optional<protocol::BindNames> decoded;
      if (!bind && (decoded = protocol::decode_bind_names(body))) bind = &*decoded;
      if (bind) {
        ExtendedTexts& texts = extended();
        texts.batch_statement.assign(bind->statement);
        const StatementText* bound = nullptr;
        if (bind->statement.empty()) {
          bound = &texts.unnamed;
        } else if (auto it = texts.statement_text.find(texts.batch_statement); it != texts.statement_text.end()) {
          bound = &it->second;
        }
        if (bound) {
          texts.batch.sql.assign(bound->sql);
          texts.batch.shape = bound->shape;
        }
      }
      return;
    }
    case fe::kClose:
      if (auto close = protocol::decode_close(body); close && close->kind == 'S' && extended_)
        extended_->statement_text.erase(std::string(close->name));
      return;
    case fe::kQuery:
      if (text) {
        std::string sql = std::move(spare_text_);
        sql.assign(*text);
        requests_.push_back({std::move(sql), {}, {}, 0, wait_, shape});
      }
      wait_ = std::chrono::microseconds(0);
      return;
    case fe::kSync:
      if (extended_) {
        requests_.push_back({std::move(extended_->batch.sql), std::move(extended_->batch_statement), {}, 0, wait_,
                             extended_->batch.shape});
        // The next batch's text goes into the storage a finished request gave back (recycle()).
        extended_->batch.sql = std::move(spare_text_);
        extended_->batch.sql.clear();
        extended_->batch.shape = {};
        extended_->batch_statement.clear();
      } else {
        requests_.push_back({{}, {}, {}, 0, wait_, {}});
      }
      wait_ = std::chrono::microseconds(0);
      return;
    case fe::kFunctionCall:
      requests_.push_back({"<function call>", {}, {}, 0, wait_, {}});
      return;
    default:
      return;
  }
}

void RequestTracker::error(const protocol::ErrorFields& fields) {
  if (requests_.empty() || requests_.front().error) return;
  requests_.front().error = std::make_unique<RequestError>(
      RequestError{std::string(fields.sqlstate()), std::string(fields.severity()), std::string(fields.message()),
                   std::string(fields.detail()), std::string(fields.hint())});
}

}  // namespace ouroboros::session
