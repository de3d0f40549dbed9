#pragma once
// Recognises the three ways a password may be written in the configuration.
#include <optional>
#include <string>
#include <string_view>

namespace ouroboros::config {

enum class PasswordFormat { Plain, Md5, ScramSha256 };

struct PasswordCheck {
  PasswordFormat format = PasswordFormat::Plain;
  std::optional<std::string> problem;  // set when it looks like a hash/verifier but is malformed
};

// "md5..." must be "md5" + 32 lowercase hex digits; "SCRAM-SHA-256$..." must be
// SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey b64>:<ServerKey b64> with 32-byte keys;
// anything else is plain text.
PasswordCheck check_password_format(std::string_view password);

}  // namespace ouroboros::config
