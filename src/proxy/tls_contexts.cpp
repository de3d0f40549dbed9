#include "proxy/tls_contexts.h"

namespace ouroboros::proxy {

io::TlsServerFiles listener_files(const config::ListenTlsConfig& tls) {
  io::TlsServerFiles files{tls.cert_file, tls.key_file, tls.ca_file, io::PeerCertificate::None};
  if (tls.client_certificate == config::ClientCertificate::Optional)
    files.client_certificate = io::PeerCertificate::Optional;
  if (tls.client_certificate == config::ClientCertificate::Required)
    files.client_certificate = io::PeerCertificate::Required;
  return files;
}

io::TlsClientFiles database_files(const config::ServerTlsConfig& tls) {
  bool verify =
      tls.mode == config::ServerTlsMode::VerifyCa || tls.mode == config::ServerTlsMode::VerifyFull;
  return {tls.ca_file, tls.cert_file, tls.key_file, verify};
}

std::string TlsContexts::load(const config::Config& config) {
  auto problems = reload(config);
  return problems.empty() ? std::string() : problems.front();
}

std::vector<std::string> TlsContexts::reload(const config::Config& config) {
  std::vector<std::string> problems;
  if (config.listen.tls.mode == config::ClientTlsMode::Disable) {
    listener_.reset();
  } else {
    auto result = io::TlsContext::server(listener_files(config.listen.tls));
    if (result.context)
      listener_ = std::move(result.context);
    else
      problems.push_back("listen.tls: " + result.error +
                         (listener_ ? " (the previous certificate stays in use)" : ""));
  }
  std::map<std::string, std::shared_ptr<io::TlsContext>> databases;
  std::map<std::string, std::string> errors;
  for (const auto& [name, db] : config.databases) {
    if (db.tls.mode == config::ServerTlsMode::Disable) continue;
    auto result = io::TlsContext::client(database_files(db.tls));
    if (result.context) {
      databases[name] = std::move(result.context);
      continue;
    }
    auto old = databases_.find(name);
    bool kept = old != databases_.end();
    if (kept) databases[name] = old->second;
    errors[name] = result.error;
    problems.push_back("databases." + name + ".tls: " + result.error +
                       (kept ? " (the previous files stay in use)" : ""));
  }
  databases_ = std::move(databases);
  database_errors_ = std::move(errors);
  return problems;
}

// A pool made from the "*" entry carries the client's database name.
const io::TlsContext* TlsContexts::database(const std::string& name) const {
  auto it = databases_.find(name);
  if (it == databases_.end()) it = databases_.find("*");
  return it == databases_.end() ? nullptr : it->second.get();
}

std::string TlsContexts::database_error(const std::string& name) const {
  auto it = database_errors_.find(name);
  if (it == database_errors_.end()) it = database_errors_.find("*");
  return it == database_errors_.end() ? std::string("no TLS context") : it->second;
}

}  // namespace ouroboros::proxy
