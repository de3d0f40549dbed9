#include "sql/lexer.h"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

using namespace ouroboros::sql;

namespace {

using Lexed = std::vector<std::pair<TokenKind, std::string>>;

// Significant tokens as (kind, text) pairs.
Lexed lex(std::string_view sql) {
  Lexed out;
  for (const Token& t : tokenize(sql)) {
    if (is_significant(t)) out.emplace_back(t.kind, std::string(t.text));
  }
  return out;
}

// The single token `sql` lexes to, whitespace included.
Token only_token(std::string_view sql) {
  const auto tokens = tokenize(sql);
  REQUIRE(tokens.size() == 1);
  return tokens[0];
}

constexpr auto Id = TokenKind::Identifier;
constexpr auto Str = TokenKind::String;
constexpr auto Num = TokenKind::Number;
constexpr auto Op = TokenKind::Operator;
constexpr auto Punct = TokenKind::Punctuation;

}  // namespace

TEST_CASE("lexer: a simple statement, and tokens tile the input") {
  const std::string sql = "SELECT a, b FROM t1 WHERE x >= 10;";
  CHECK(lex(sql) == Lexed{{Id, "SELECT"},
                          {Id, "a"},
                          {Punct, ","},
                          {Id, "b"},
                          {Id, "FROM"},
                          {Id, "t1"},
                          {Id, "WHERE"},
                          {Id, "x"},
                          {Op, ">="},
                          {Num, "10"},
                          {TokenKind::Semicolon, ";"}});
  std::string joined;
  for (const Token& t : tokenize(sql)) joined += t.text;
  CHECK(joined == sql);
  // Views point into the input: no copies.
  CHECK(tokenize(sql)[0].text.data() == sql.data());
}

TEST_CASE("lexer: single-quoted strings double their quotes") {
  CHECK(lex("SELECT 'it''s'") == Lexed{{Id, "SELECT"}, {Str, "'it''s'"}});
  CHECK(lex("'a' 'b'") == Lexed{{Str, "'a'"}, {Str, "'b'"}});
  CHECK(lex("''") == Lexed{{Str, "''"}});
  // standard_conforming_strings: a backslash is an ordinary character in a plain string.
  CHECK(lex(R"('a\' || 'b')") == Lexed{{Str, R"('a\')"}, {Op, "||"}, {Str, "'b'"}});
}

TEST_CASE("lexer: E'' strings take backslash escapes") {
  CHECK(lex(R"(E'\'')") == Lexed{{Str, R"(E'\'')"}});
  CHECK(lex(R"(e'a\\' x)") == Lexed{{Str, R"(e'a\\')"}, {Id, "x"}});
  CHECK(lex(R"(E'it''s\n')") == Lexed{{Str, R"(E'it''s\n')"}});
  // Not a prefix when part of a longer word.
  CHECK(lex("tE'x'") == Lexed{{Id, "tE"}, {Str, "'x'"}});
}

TEST_CASE("lexer: prefixed strings and Unicode forms") {
  CHECK(lex("B'0101' X'1F' N'abc' b'1'") ==
        Lexed{{Str, "B'0101'"}, {Str, "X'1F'"}, {Str, "N'abc'"}, {Str, "b'1'"}});
  CHECK(lex(R"(U&'d\0061t''a' UESCAPE '!')") ==
        Lexed{{Str, R"(U&'d\0061t''a')"}, {Id, "UESCAPE"}, {Str, "'!'"}});
  CHECK(lex(R"(U&"d;x")") == Lexed{{TokenKind::QuotedIdentifier, R"(U&"d;x")"}});
  // U& without a quote after it is an identifier and an operator.
  CHECK(lex("u&1") == Lexed{{Id, "u"}, {Op, "&"}, {Num, "1"}});
}

TEST_CASE("lexer: quoted identifiers") {
  CHECK(lex(R"(SELECT "a;b")") == Lexed{{Id, "SELECT"}, {TokenKind::QuotedIdentifier, R"("a;b")"}});
  CHECK(lex(R"("say ""hi""".x)") ==
        Lexed{{TokenKind::QuotedIdentifier, R"("say ""hi""")"}, {Punct, "."}, {Id, "x"}});
}

TEST_CASE("lexer: dollar quotes versus parameters") {
  CHECK(lex("$tag$ ; $tag$") == Lexed{{Str, "$tag$ ; $tag$"}});
  CHECK(lex("$$it's$$") == Lexed{{Str, "$$it's$$"}});
  CHECK(lex("$a$ $b$ inner $b$ $a$ x") == Lexed{{Str, "$a$ $b$ inner $b$ $a$"}, {Id, "x"}});
  // A different tag does not close; the first exact delimiter does.
  CHECK(lex("$x$ $xy$ $x$") == Lexed{{Str, "$x$ $xy$ $x$"}});
  CHECK(lex("$1") == Lexed{{TokenKind::Parameter, "$1"}});
  CHECK(lex("$12+$3") ==
        Lexed{{TokenKind::Parameter, "$12"}, {Op, "+"}, {TokenKind::Parameter, "$3"}});
  CHECK(lex("$$") == Lexed{{Str, "$$"}});
  CHECK(lex("$_t1$x$_t1$") == Lexed{{Str, "$_t1$x$_t1$"}});
  // Identifiers may contain '$', so no dollar quote starts inside one.
  CHECK(lex("a$b$ c") == Lexed{{Id, "a$b$"}, {Id, "c"}});
  CHECK(lex("$ x") == Lexed{{TokenKind::Unknown, "$"}, {Id, "x"}});
}

TEST_CASE("lexer: comments") {
  CHECK(lex("SELECT 1 -- one; two\n;") ==
        Lexed{{Id, "SELECT"}, {Num, "1"}, {TokenKind::Semicolon, ";"}});
  const auto tokens = tokenize("/* a /* b */ ; */x");
  REQUIRE(tokens.size() == 2);
  CHECK(tokens[0].kind == TokenKind::Comment);
  CHECK(tokens[0].text == "/* a /* b */ ; */");
  CHECK(tokens[1].text == "x");
  // A comment start ends an operator run.
  CHECK(lex("a*/*c*/b") == Lexed{{Id, "a"}, {Op, "*"}, {Id, "b"}});
  CHECK(lex("a+--c\nb") == Lexed{{Id, "a"}, {Op, "+"}, {Id, "b"}});
}

TEST_CASE("lexer: numbers") {
  CHECK(lex("1 1.5 .5 1. 1e10 1.5E-3 2e+7") == Lexed{{Num, "1"},
                                                     {Num, "1.5"},
                                                     {Num, ".5"},
                                                     {Num, "1."},
                                                     {Num, "1e10"},
                                                     {Num, "1.5E-3"},
                                                     {Num, "2e+7"}});
  CHECK(lex("0x1F 0o17 0b101 1_000_000") ==
        Lexed{{Num, "0x1F"}, {Num, "0o17"}, {Num, "0b101"}, {Num, "1_000_000"}});
  CHECK(lex("t1 x2y") == Lexed{{Id, "t1"}, {Id, "x2y"}});
  CHECK(lex("1..5") == Lexed{{Num, "1"}, {Op, ".."}, {Num, "5"}});
  CHECK(lex("1e") == Lexed{{Num, "1"}, {Id, "e"}});
  CHECK(lex("a.b") == Lexed{{Id, "a"}, {Punct, "."}, {Id, "b"}});
}

TEST_CASE("lexer: operators follow PostgreSQL's trailing-sign rule") {
  CHECK(lex("a=-1") == Lexed{{Id, "a"}, {Op, "="}, {Op, "-"}, {Num, "1"}});
  CHECK(lex("a @- b") == Lexed{{Id, "a"}, {Op, "@-"}, {Id, "b"}});
  CHECK(lex("x::int") == Lexed{{Id, "x"}, {Op, "::"}, {Id, "int"}});
  CHECK(lex("a <> b != c ->> d") ==
        Lexed{{Id, "a"}, {Op, "<>"}, {Id, "b"}, {Op, "!="}, {Id, "c"}, {Op, "->>"}, {Id, "d"}});
  CHECK(lex("f(a => 1)[2]") == Lexed{{Id, "f"},
                                     {Punct, "("},
                                     {Id, "a"},
                                     {Op, "=>"},
                                     {Num, "1"},
                                     {Punct, ")"},
                                     {Punct, "["},
                                     {Num, "2"},
                                     {Punct, "]"}});
}

TEST_CASE("lexer: unterminated input becomes one final token") {
  for (const char* sql :
       {"'abc", "E'abc\\'", "E'\\", "\"abc", "$$abc", "$t$abc$t", "/* a /* b */", "U&'x", "B'01"}) {
    CAPTURE(sql);
    const Token t = only_token(sql);
    CHECK_FALSE(t.terminated);
    CHECK(t.text == sql);
  }
  const auto tokens = tokenize("SELECT 'open; DROP TABLE x");
  REQUIRE(tokens.size() == 3);
  CHECK(tokens[2].kind == Str);
  CHECK_FALSE(tokens[2].terminated);
  CHECK(only_token("-- to the end").kind == TokenKind::Comment);
}

TEST_CASE("lexer: multibyte identifiers stay whole") {
  CHECK(lex("SELECT çava FROM tablé") ==
        Lexed{{Id, "SELECT"}, {Id, "çava"}, {Id, "FROM"}, {Id, "tablé"}});
}
