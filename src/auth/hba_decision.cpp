#include "auth/hba_decision.h"

namespace ouroboros::auth {

HbaDecision decide_hba(const config::AuthConfig& auth, const config::ConnectionFacts& facts,
                       const std::string& database, const std::string& user) {
  HbaDecision decision;
  decision.type = auth.type;
  if (!auth.hba) return decision;
  const config::HbaRule* rule = config::match_hba(*auth.hba, facts, database, user);
  if (!rule) {
    decision.allowed = false;
    decision.message = config::hba_no_entry_message(facts, database, user);
    decision.log_reason = "no line of " + auth.hba->file + " matches";
    return decision;
  }
  decision.log_reason = auth.hba->file + ":" + std::to_string(rule->line) + " (" +
                        std::string(config::hba_method_name(rule->method)) + ")";
  // The line's method replaces auth.type for this client.
  switch (rule->method) {
    case config::HbaMethod::Reject:
      decision.allowed = false;
      decision.message = config::hba_reject_message(facts, database, user);
      break;
    case config::HbaMethod::Trust:
      decision.type = config::AuthType::Trust;
      break;
    case config::HbaMethod::Md5:
      decision.type = config::AuthType::Md5;  // a SCRAM verifier is still checked with SCRAM
      break;
    case config::HbaMethod::ScramSha256:
      decision.type = config::AuthType::ScramSha256;
      break;
    case config::HbaMethod::Cert:
      if (config::cert_accepts(facts, user)) {
        decision.type = config::AuthType::Trust;  // the certificate was the proof
      } else {
        decision.allowed = false;
        decision.message = "certificate authentication failed for user \"" + user + "\"";
        decision.log_reason +=
            facts.client_cert_cn
                ? ": certificate CN \"" + *facts.client_cert_cn + "\" is not the user"
                : ": no client certificate";
      }
      break;
  }
  return decision;
}

}  // namespace ouroboros::auth
