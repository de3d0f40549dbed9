#pragma once
// The TLS contexts the running configuration asks for: one for the listener (listen.tls), one per
// database with a tls mode other than disable. A reload loads the files again, so renewed
// certificates reach new handshakes; a context whose files fail to load keeps the previous one.
// Connections already running keep the context they started with.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "io/tls_context.h"

namespace ouroboros::proxy {

class TlsContexts {
 public:
  // Start-up: "" or the first file that failed to load.
  std::string load(const config::Config& config);
  // Reload: the problems found (the previous context stays in use for each).
  std::vector<std::string> reload(const config::Config& config);

  // Null when listen.tls.mode is disable.
  const io::TlsContext* listener() const { return listener_.get(); }
  // For a pool's database (its name, else the "*" entry); null when it has no TLS or its files
  // never loaded (then database_error() says why).
  const io::TlsContext* database(const std::string& name) const;
  std::string database_error(const std::string& name) const;

 private:
  std::shared_ptr<io::TlsContext> listener_;
  std::map<std::string, std::shared_ptr<io::TlsContext>> databases_;
  std::map<std::string, std::string> database_errors_;
};

io::TlsServerFiles listener_files(const config::ListenTlsConfig& tls);
io::TlsClientFiles database_files(const config::ServerTlsConfig& tls);

}  // namespace ouroboros::proxy
