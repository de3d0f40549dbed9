#include "config/hba_rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace ouroboros::config {
namespace {

struct Token {
  std::string text;
  bool quoted = false;
  bool is(std::string_view keyword) const { return !quoted && text == keyword; }
};
using Field = std::vector<Token>;  // comma-separated tokens: "a,b", "\"a b\", c"

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

// Splits one line (comment already allowed) into fields; "" or an error message.
std::string split_fields(std::string_view line, std::vector<Field>& fields) {
  std::size_t pos = 0;
  auto skip_space = [&] {
    while (pos < line.size() && is_space(line[pos])) ++pos;
  };
  while (true) {
    skip_space();
    if (pos >= line.size() || line[pos] == '#') return "";
    Field field;
    while (true) {
      Token token;
      bool in_quote = false;
      while (pos < line.size()) {
        char c = line[pos];
        if (in_quote) {
          if (c == '"') {
            if (pos + 1 < line.size() && line[pos + 1] == '"') {
              token.text += '"';  // "" inside quotes is a literal quote
              pos += 2;
              continue;
            }
            in_quote = false;
          } else {
            token.text += c;
          }
          ++pos;
          continue;
        }
        if (is_space(c) || c == ',' || c == '#') break;
        if (c == '"') {
          in_quote = true;
          token.quoted = true;
        } else {
          token.text += c;
        }
        ++pos;
      }
      if (in_quote) return "unterminated quoted name";
      if (token.text.empty() && !token.quoted) return "empty name in a comma-separated list";
      field.push_back(std::move(token));
      if (pos < line.size() && line[pos] == ',') {
        ++pos;
        skip_space();
        continue;
      }
      break;
    }
    fields.push_back(std::move(field));
  }
}

std::optional<HbaConnectionType> connection_type(const Token& token, std::string& error) {
  if (token.is("local")) return HbaConnectionType::Local;
  if (token.is("host")) return HbaConnectionType::Host;
  if (token.is("hostssl")) return HbaConnectionType::HostSsl;
  if (token.is("hostnossl")) return HbaConnectionType::HostNoSsl;
  if (token.is("hostgssenc") || token.is("hostnogssenc")) {
    error = "connection type \"" + token.text +
            "\" is not supported by the proxy (no GSSAPI encryption)";
  } else if (token.is("include") || token.is("include_if_exists") || token.is("include_dir")) {
    error = "\"" + token.text + "\" is not supported by the proxy: put every rule in one file";
  } else {
    error = "invalid connection type \"" + token.text +
            "\" (expected local, host, hostssl or hostnossl)";
  }
  return std::nullopt;
}

std::optional<HbaMethod> method(const Token& token, std::string& error) {
  if (token.is("trust")) return HbaMethod::Trust;
  if (token.is("reject")) return HbaMethod::Reject;
  if (token.is("md5")) return HbaMethod::Md5;
  if (token.is("scram-sha-256")) return HbaMethod::ScramSha256;
  if (token.is("cert")) return HbaMethod::Cert;
  error = "authentication method \"" + token.text +
          "\" is not supported by the proxy (use scram-sha-256, md5, cert, trust or reject)";
  return std::nullopt;
}

// A database or user column. `database`: the column accepts "sameuser" and "replication".
std::optional<HbaNameList> name_list(const Field& field, bool database, std::string& error) {
  HbaNameList list;
  for (const Token& token : field) {
    if (!token.quoted && !token.text.empty() && token.text[0] == '+') {
      error = "group membership (\"" + token.text +
              "\") is not supported by the proxy; list the user names";
      return std::nullopt;
    }
    if (!token.quoted && !token.text.empty() && token.text[0] == '@') {
      error = "reading names from a file (\"" + token.text +
              "\") is not supported by the proxy; list the names";
      return std::nullopt;
    }
    if (token.is("all")) {
      list.all = true;
    } else if (database && token.is("sameuser")) {
      list.same_user = true;
    } else if (database && (token.is("samerole") || token.is("samegroup"))) {
      error = "\"" + token.text +
              "\" is not supported by the proxy (no role membership); list the databases";
      return std::nullopt;
    } else if (database && token.is("replication")) {
      // Matches replication connections only, which the proxy refuses anyway: never matches.
    } else {
      list.names.push_back(token.text);
    }
  }
  return list;
}

bool parse_ip(const std::string& text, bool& ipv6, std::array<std::uint8_t, 16>& out) {
  out.fill(0);
  if (inet_pton(AF_INET, text.c_str(), out.data()) == 1) {
    ipv6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), out.data()) == 1) {
    ipv6 = true;
    return true;
  }
  return false;
}

std::optional<HbaNetwork> cidr(const std::string& text, std::string& error) {
  auto slash = text.find('/');
  HbaNetwork network;
  if (!parse_ip(text.substr(0, slash), network.ipv6, network.address)) {
    error = "invalid IP address \"" + text.substr(0, slash) + "\"";
    return std::nullopt;
  }
  int max_bits = network.ipv6 ? 128 : 32;
  std::string bits_text = text.substr(slash + 1);
  int bits = -1;
  auto [end, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
  if (ec != std::errc() || end != bits_text.data() + bits_text.size() || bits < 0 ||
      bits > max_bits) {
    error = "invalid CIDR mask in address \"" + text + "\" (0 to " + std::to_string(max_bits) +
            " bits)";
    return std::nullopt;
  }
  for (int i = 0; i < bits; ++i) network.mask[i / 8] |= static_cast<std::uint8_t>(0x80 >> (i % 8));
  for (std::size_t i = 0; i < 16; ++i) network.address[i] &= network.mask[i];
  return network;
}

std::optional<HbaRule> parse_rule(const std::vector<Field>& fields, std::string& error) {
  HbaRule rule;
  auto single = [&](std::size_t index, const char* what) -> const Token* {
    if (index >= fields.size()) {
      error = std::string("missing ") + what;
      return nullptr;
    }
    if (fields[index].size() != 1) {
      error = std::string("a list is not allowed for the ") + what;
      return nullptr;
    }
    return &fields[index][0];
  };
  const Token* type = single(0, "connection type");
  if (!type) return std::nullopt;
  auto parsed_type = connection_type(*type, error);
  if (!parsed_type) return std::nullopt;
  rule.type = *parsed_type;
  if (fields.size() < 2) return error = "missing database name", std::nullopt;
  auto databases = name_list(fields[1], true, error);
  if (!databases) return std::nullopt;
  rule.databases = std::move(*databases);
  if (fields.size() < 3) return error = "missing user name", std::nullopt;
  auto users = name_list(fields[2], false, error);
  if (!users) return std::nullopt;
  rule.users = std::move(*users);

  std::size_t next = 3;
  if (rule.type != HbaConnectionType::Local) {
    const Token* address = single(next++, "IP address");
    if (!address) return std::nullopt;
    if (address->is("samehost") || address->is("samenet")) {
      error = "\"" + address->text +
              "\" is not supported by the proxy; give the addresses in CIDR notation";
      return std::nullopt;
    }
    if (!address->is("all")) {
      if (address->text.find('/') != std::string::npos) {
        rule.network = cidr(address->text, error);
        if (!rule.network) return std::nullopt;
      } else {
        HbaNetwork network;
        if (!parse_ip(address->text, network.ipv6, network.address)) {
          error = "invalid IP address \"" + address->text +
                  "\" (host names are not supported: give an address in CIDR notation)";
          return std::nullopt;
        }
        const Token* mask = single(next++, "IP mask (or write the address in CIDR notation)");
        if (!mask) return std::nullopt;
        bool mask_ipv6 = false;
        if (!parse_ip(mask->text, mask_ipv6, network.mask)) {
          error = "invalid IP mask \"" + mask->text + "\"";
          return std::nullopt;
        }
        if (mask_ipv6 != network.ipv6) {
          error = "IP address and mask do not match (one is IPv4, the other IPv6)";
          return std::nullopt;
        }
        for (std::size_t i = 0; i < 16; ++i) network.address[i] &= network.mask[i];
        rule.network = network;
      }
    }
  }
  const Token* method_token = single(next++, "authentication method");
  if (!method_token) return std::nullopt;
  auto parsed_method = method(*method_token, error);
  if (!parsed_method) return std::nullopt;
  rule.method = *parsed_method;
  if (rule.method == HbaMethod::Cert && rule.type != HbaConnectionType::HostSsl) {
    error = "cert authentication is only supported on hostssl connections";
    return std::nullopt;
  }
  if (next < fields.size()) {
    error =
        "authentication options (\"" + fields[next][0].text + "\") are not supported by the proxy";
    return std::nullopt;
  }
  return rule;
}

bool list_matches(const HbaNameList& list, const std::string& name, const std::string& user) {
  if (list.all || (list.same_user && name == user)) return true;
  return std::find(list.names.begin(), list.names.end(), name) != list.names.end();
}

std::string host_info(const ConnectionFacts& facts) {
  return facts.is_unix ? "[local]" : facts.peer_ip;
}

std::string encryption(const ConnectionFacts& facts) {
  return facts.is_tls ? "SSL encryption" : "no encryption";
}

}  // namespace

bool HbaNetwork::contains(const std::string& ip) const {
  bool client_ipv6 = false;
  std::array<std::uint8_t, 16> client{};
  if (!parse_ip(ip, client_ipv6, client) || client_ipv6 != ipv6) return false;
  for (std::size_t i = 0; i < 16; ++i)
    if ((client[i] & mask[i]) != address[i]) return false;
  return true;
}

HbaParseResult parse_hba(std::string_view text, std::string file) {
  HbaParseResult result;
  result.rules.file = std::move(file);
  int line_number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    ++line_number;
    start = end + 1;
    std::vector<Field> fields;
    std::string error = split_fields(line, fields);
    if (error.empty() && fields.empty()) continue;
    std::optional<HbaRule> rule;
    if (error.empty()) rule = parse_rule(fields, error);
    if (!rule) {
      result.errors.push_back({line_number, error});
      continue;
    }
    rule->line = line_number;
    result.rules.rules.push_back(std::move(*rule));
  }
  return result;
}

const HbaRule* match_hba(const HbaRules& rules, const ConnectionFacts& facts,
                         const std::string& database, const std::string& user) {
  for (const HbaRule& rule : rules.rules) {
    switch (rule.type) {
      case HbaConnectionType::Local:
        if (!facts.is_unix) continue;
        break;
      case HbaConnectionType::Host:
        if (facts.is_unix) continue;
        break;
      case HbaConnectionType::HostSsl:
        if (facts.is_unix || !facts.is_tls) continue;
        break;
      case HbaConnectionType::HostNoSsl:
        if (facts.is_unix || facts.is_tls) continue;
        break;
    }
    if (rule.network && !rule.network->contains(facts.peer_ip)) continue;
    if (!list_matches(rule.databases, database, user)) continue;
    if (!list_matches(rule.users, user, user)) continue;
    return &rule;
  }
  return nullptr;
}

std::string hba_reject_message(const ConnectionFacts& facts, const std::string& database,
                               const std::string& user) {
  return "pg_hba.conf rejects connection for host \"" + host_info(facts) + "\", user \"" + user +
         "\", database \"" + database + "\", " + encryption(facts);
}

std::string hba_no_entry_message(const ConnectionFacts& facts, const std::string& database,
                                 const std::string& user) {
  return "no pg_hba.conf entry for host \"" + host_info(facts) + "\", user \"" + user +
         "\", database \"" + database + "\", " + encryption(facts);
}

bool cert_accepts(const ConnectionFacts& facts, const std::string& user) {
  return facts.is_tls && facts.client_cert_cn && *facts.client_cert_cn == user;
}

std::string_view hba_method_name(HbaMethod method) {
  switch (method) {
    case HbaMethod::Trust:
      return "trust";
    case HbaMethod::Reject:
      return "reject";
    case HbaMethod::Md5:
      return "md5";
    case HbaMethod::ScramSha256:
      return "scram-sha-256";
    case HbaMethod::Cert:
      return "cert";
  }
  return "?";
}

}  // namespace ouroboros::config
