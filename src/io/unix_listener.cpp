#include "io/unix_listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ouroboros::io {

namespace {
// Whether some process accepts connections on `path` (a connect to a Unix socket answers at once).
bool someone_listens(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  bool listening = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return listening;
}
}  // namespace

UnixListener::UnixListener(EventLoop& loop, OnAccept on_accept)
    : loop_(loop), on_accept_(std::move(on_accept)), handle_(this) {
  uv_pipe_init(loop.raw(), &handle_.get()->pipe, 0);
  handle_.mark_initialized();
}

std::string UnixListener::socket_path(const std::string& dir, std::uint16_t port) {
  std::string path = dir;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path + "/.s.PGSQL." + std::to_string(port);
}

std::string UnixListener::listen(const std::string& dir, std::uint16_t port, int backlog) {
  std::string path = socket_path(dir, port);
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    return "Unix socket path \"" + path + "\" is too long (at most " +
           std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes)";
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return "\"" + path + "\" exists and is not a socket";
    if (someone_listens(path)) return "Unix socket \"" + path + "\" is in use by another process";
    ::unlink(path.c_str());  // stale: left by a process that is gone
  }
  if (int rc = uv_pipe_bind(&handle_.get()->pipe, path.c_str()); rc != 0)
    return "bind Unix socket \"" + path + "\": " + uv_strerror(rc);
  path_ = path;
  ::chmod(path.c_str(), 0777);  // like PostgreSQL's default unix_socket_permissions
  int rc = uv_listen(handle_.as_stream(), backlog, [](uv_stream_t* s, int status) {
    if (auto* self = UvHandle<UvStreamHandle>::owner_of_handle<UnixListener>(
            reinterpret_cast<uv_handle_t*>(s)))
      self->on_connection(status);
  });
  if (rc != 0) {
    close();
    return "listen on Unix socket \"" + path + "\": " + uv_strerror(rc);
  }
  return "";
}

void UnixListener::close() {
  handle_.close();
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
}

void UnixListener::on_connection(int status) {
  if (status != 0) return;
  auto transport = std::make_unique<TcpTransport>(loop_, true);
  if (uv_accept(handle_.as_stream(), transport->stream()) != 0) return;
  transport->mark_connected();
  on_accept_(std::move(transport));
}

}  // namespace ouroboros::io
