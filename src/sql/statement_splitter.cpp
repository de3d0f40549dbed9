#include "sql/statement_splitter.h"

namespace ouroboros::sql {

std::optional<Statement> StatementSplitter::next() {
  if (start_ >= sql_.size()) return std::nullopt;
  Statement statement;
  while (auto token = lexer_.next()) {
    const std::size_t end =
        static_cast<std::size_t>(token->text.data() - sql_.data()) + token->text.size();
    if (token->kind == TokenKind::Semicolon && paren_depth_ == 0 && begin_depth_ == 0) {
      statement.text = sql_.substr(start_, end - start_);
      start_ = end;
      words_seen_ = 0;
      prefix_failed_ = false;
      routine_body_possible_ = false;
      return statement;
    }
    if (!is_significant(*token) || token->kind == TokenKind::Semicolon) continue;
    statement.empty = false;
    if (is_symbol(*token, "(")) {
      ++paren_depth_;
    } else if (is_symbol(*token, ")")) {
      // Unbalanced closing parentheses are a syntax error; don't let them hide later splits.
      if (paren_depth_ > 0) --paren_depth_;
    } else if (token->kind == TokenKind::Identifier) {
      see_word(*token);
    } else {
      prefix_failed_ = prefix_failed_ || !routine_body_possible_;
    }
  }
  statement.text = sql_.substr(start_);
  start_ = sql_.size();
  return statement;
}

void StatementSplitter::see_word(const Token& word) {
  if (!routine_body_possible_ && !prefix_failed_) {
    // Match CREATE [OR REPLACE] FUNCTION|PROCEDURE one word at a time.
    const int index = words_seen_++;
    if ((index == 1 || index == 3) && (is_word(word, "function") || is_word(word, "procedure"))) {
      routine_body_possible_ = true;
      return;
    }
    const bool on_track = (index == 0 && is_word(word, "create")) ||
                          (index == 1 && is_word(word, "or")) ||
                          (index == 2 && is_word(word, "replace"));
    prefix_failed_ = !on_track;
    return;
  }
  if (!routine_body_possible_ || paren_depth_ > 0) return;
  // BEGIN ATOMIC ... END encloses semicolons; CASE ... END inside it must not close it early.
  if (is_word(word, "begin")) {
    ++begin_depth_;
  } else if (is_word(word, "case") && begin_depth_ > 0) {
    ++begin_depth_;
  } else if (is_word(word, "end") && begin_depth_ > 0) {
    --begin_depth_;
  }
}

std::size_t count_statements(std::string_view sql) {
  std::size_t count = 0;
  StatementSplitter splitter(sql);
  while (auto statement = splitter.next()) {
    if (!statement->empty) ++count;
  }
  return count;
}

}  // namespace ouroboros::sql
