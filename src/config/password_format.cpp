#include "config/password_format.h"

#include <cctype>

namespace ouroboros::config {
namespace {

constexpr std::string_view kMd5Prefix = "md5";
constexpr std::string_view kScramPrefix = "SCRAM-SHA-256$";

bool is_base64_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
}

// Decoded length of standard padded base64, or nullopt if it is not well formed.
std::optional<std::size_t> base64_decoded_size(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  while (padding < 2 && text[text.size() - 1 - padding] == '=') ++padding;
  for (std::size_t i = 0; i < text.size() - padding; ++i) {
    if (!is_base64_char(text[i])) return std::nullopt;
  }
  return text.size() / 4 * 3 - padding;
}

std::optional<std::string> scram_problem(std::string_view rest) {
  const std::string shape =
      "expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> (base64 parts)";
  const std::size_t dollar = rest.find('$');
  if (dollar == std::string_view::npos) return "malformed SCRAM verifier: " + shape;
  const std::string_view head = rest.substr(0, dollar);
  const std::string_view keys = rest.substr(dollar + 1);
  const std::size_t head_colon = head.find(':');
  const std::size_t keys_colon = keys.find(':');
  if (head_colon == std::string_view::npos || keys_colon == std::string_view::npos)
    return "malformed SCRAM verifier: " + shape;

  const std::string_view iterations = head.substr(0, head_colon);
  bool iterations_ok = !iterations.empty() && iterations.size() <= 9 && iterations.front() != '0';
  for (char c : iterations)
    iterations_ok = iterations_ok && std::isdigit(static_cast<unsigned char>(c));
  if (!iterations_ok)
    return "malformed SCRAM verifier: the iteration count must be a positive integer; " + shape;

  if (!base64_decoded_size(head.substr(head_colon + 1)))
    return "malformed SCRAM verifier: the salt is not valid base64; " + shape;
  const auto stored_key = base64_decoded_size(keys.substr(0, keys_colon));
  const auto server_key = base64_decoded_size(keys.substr(keys_colon + 1));
  if (!stored_key || !server_key)
    return "malformed SCRAM verifier: the keys are not valid base64; " + shape;
  if (*stored_key != 32 || *server_key != 32)
    return "malformed SCRAM verifier: StoredKey and ServerKey must be 32 bytes each; " + shape;
  return std::nullopt;
}

}  // namespace

PasswordCheck check_password_format(std::string_view password) {
  PasswordCheck check;
  if (password.starts_with(kScramPrefix)) {
    check.format = PasswordFormat::ScramSha256;
    check.problem = scram_problem(password.substr(kScramPrefix.size()));
  } else if (password.starts_with(kMd5Prefix)) {
    check.format = PasswordFormat::Md5;
    const std::string_view hex = password.substr(kMd5Prefix.size());
    bool ok = hex.size() == 32;
    for (char c : hex)
      ok = ok && (std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f'));
    if (!ok) {
      check.problem =
          "invalid md5 password hash: expected 'md5' followed by 32 lowercase hex digits "
          "(md5 of password + user name); a plain-text password must not start with 'md5'";
    }
  }
  return check;
}

}  // namespace ouroboros::config
