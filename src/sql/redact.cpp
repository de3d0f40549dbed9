#include "sql/redact.h"

#include <algorithm>

#include "sql/lexer.h"
#include "sql/statement_splitter.h"

namespace ouroboros::sql {
namespace {

// A libpq connection URI with a password: "scheme://user:secret@host". Looked for anywhere in
// the string since it may be one argument among others in a larger text.
bool has_uri_credentials(std::string_view text) {
  std::size_t scheme = text.find("://");
  while (scheme != std::string_view::npos) {
    const std::size_t authority = scheme + 3;
    const std::size_t end = text.find_first_of("/?# \t\r\n'\"", authority);
    const std::string_view host_part = text.substr(authority, end - std::min(end, authority));
    const std::size_t at = host_part.rfind('@');
    if (at != std::string_view::npos && host_part.substr(0, at).find(':') != std::string_view::npos)
      return true;
    scheme = text.find("://", authority);
  }
  return false;
}

}  // namespace

std::string redact(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  Lexer lexer(sql);
  while (auto token = lexer.next()) {
    if (is_literal(*token)) {
      out.push_back('?');
    } else {
      out.append(token->text);
    }
  }
  return out;
}

bool may_contain_password(std::string_view statement) {
  Lexer lexer(statement);
  while (auto token = lexer.next()) {
    switch (token->kind) {
      case TokenKind::Identifier:
        if (is_word(*token, "password")) return true;
        break;
      case TokenKind::QuotedIdentifier:
        // OPTIONS ("password" 'x') names the option with a quoted identifier.
        if (equals_ignore_case(token->text, "\"password\"")) return true;
        break;
      case TokenKind::String:
        if (contains_ignore_case(token->text, "password") || has_uri_credentials(token->text))
          return true;
        break;
      default:
        break;
    }
  }
  return false;
}

std::string safe_for_log(std::string_view sql, bool log_literals) {
  if (!log_literals) return redact(sql);
  std::string out;
  out.reserve(sql.size());
  StatementSplitter splitter(sql);
  while (auto statement = splitter.next()) {
    if (may_contain_password(statement->text)) {
      out.append(redact(statement->text));
    } else {
      out.append(statement->text);
    }
  }
  return out;
}

}  // namespace ouroboros::sql
