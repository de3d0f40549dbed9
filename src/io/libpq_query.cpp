#include "io/libpq_query.h"

#include "io/libpq_api.h"

namespace ouroboros::io {

namespace {
std::string* find_key(std::vector<std::pair<std::string, std::string>>& conninfo, std::string_view key) {
  for (auto& [k, v] : conninfo)
    if (k == key) return &v;
  return nullptr;
}

// The conninfo key whose value libpq would look up by name: `hostaddr` when it holds a name
// (libpq wants an address there; the name to verify stays in `host`), else `host` unless it is a
// socket directory ('/', or '@' for an abstract socket). Lists are left to libpq. Null: none.
const char* name_to_look_up(std::vector<std::pair<std::string, std::string>>& conninfo) {
  for (const char* key : {"hostaddr", "host"}) {
    const std::string* value = find_key(conninfo, key);
    if (value == nullptr) continue;
    if (value->empty() || (*value)[0] == '/' || (*value)[0] == '@' ||
        value->find(',') != std::string::npos || is_ip_address(*value))
      return nullptr;
    return key;
  }
  return nullptr;
}

std::string trimmed_error(const LibpqApi& pq, PGconn* conn) {
  std::string text = conn ? pq.PQerrorMessage(conn) : "out of memory";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}
}  // namespace

LibpqQuery::LibpqQuery(EventLoop& loop, std::vector<std::pair<std::string, std::string>> conninfo,
                       std::string sql, std::vector<std::string> params, Duration timeout,
                       OnDone on_done)
    : loop_(loop),
      conninfo_(std::move(conninfo)),
      sql_(std::move(sql)),
      params_(std::move(params)),
      timeout_(timeout),
      on_done_(std::move(on_done)),
      resolver_(loop),
      timer_(loop),
      pq_(libpq_api(&load_error_)) {}

LibpqQuery::~LibpqQuery() {
  // The poll handle must stop before libpq closes the socket under it.
  poll_.reset();
  if (conn_) pq_->PQfinish(conn_);
}

void LibpqQuery::start() {
  if (!pq_) {
    loop_.defer([this] { finish(load_error_); });
    return;
  }
  // The timeout covers the name lookup too.
  timer_.start(timeout_,
               [this] { finish("timed out after " + std::to_string(timeout_.count()) + "ms"); });
  const char* key = name_to_look_up(conninfo_);
  if (key == nullptr) return connect();
  const std::string name = *find_key(conninfo_, key);
  const std::string* port = find_key(conninfo_, "port");
  resolver_.resolve(name, port && port->find(',') == std::string::npos ? *port : "5432",
                    [this, name](int status, addrinfo* addresses) { resolved(name, status, addresses); });
}

void LibpqQuery::resolved(const std::string& name, int status, addrinfo* addresses) {
  if (phase_ == Phase::Done) {  // timed out while the lookup ran
    if (addresses) uv_freeaddrinfo(addresses);
    return;
  }
  if (status != 0) {
    return finish("could not translate host name \"" + name + "\" to address: " + uv_strerror(status));
  }
  // Every address, as libpq would try them: host and hostaddr lists of the same length.
  std::string* host = find_key(conninfo_, "host");
  const std::string host_name = host ? *host : name;
  std::string hosts, hostaddrs;
  for (addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    const std::string text = address_text(*a->ai_addr);
    if (text.empty() || (',' + hostaddrs + ',').find(',' + text + ',') != std::string::npos) continue;
    hosts += (hosts.empty() ? "" : ",") + host_name;
    hostaddrs += (hostaddrs.empty() ? "" : ",") + text;
  }
  uv_freeaddrinfo(addresses);
  if (hostaddrs.empty()) return finish("could not translate host name \"" + name + "\" to address: no address");
  if (host) *host = hosts;
  else conninfo_.emplace_back("host", hosts);
  if (std::string* hostaddr = find_key(conninfo_, "hostaddr")) *hostaddr = hostaddrs;
  else conninfo_.emplace_back("hostaddr", hostaddrs);
  connect();
}

void LibpqQuery::connect() {
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [key, value] : conninfo_) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = pq_->PQconnectStartParams(keys.data(), values.data(), 0);
  if (!conn_ || pq_->PQstatus(conn_) == CONNECTION_BAD) {
    std::string error = trimmed_error(*pq_, conn_);
    loop_.defer([this, error] { finish(error); });
    return;
  }
  advance();
}

void LibpqQuery::advance() {
  switch (phase_) {
    case Phase::Connecting:
      return connect_step();
    case Phase::Flushing:
      return flush_step();
    case Phase::Reading:
      return read_step();
    case Phase::Done:
      return;
  }
}

void LibpqQuery::connect_step() {
  // The first call is made as if PQconnectPoll had asked to wait for writability: it may only be
  // called once the socket is ready, so the first step just waits.
  if (polled_fd_ < 0 && connect_writable_) {
    watch(false, true);
    connect_writable_ = false;
    return;
  }
  switch (pq_->PQconnectPoll(conn_)) {
    case PGRES_POLLING_READING:
      return watch(true, false);
    case PGRES_POLLING_WRITING:
      return watch(false, true);
    case PGRES_POLLING_FAILED:
      return finish(trimmed_error(*pq_, conn_));
    case PGRES_POLLING_OK:
      break;
    default:
      return watch(true, false);
  }
  pq_->PQsetnonblocking(conn_, 1);
  std::vector<const char*> values;
  for (const auto& p : params_) values.push_back(p.c_str());
  if (!pq_->PQsendQueryParams(conn_, sql_.c_str(), static_cast<int>(values.size()), nullptr,
                         values.data(), nullptr, nullptr, 0))
    return finish(trimmed_error(*pq_, conn_));
  phase_ = Phase::Flushing;
  flush_step();
}

void LibpqQuery::flush_step() {
  int rc = pq_->PQflush(conn_);
  if (rc < 0) return finish(trimmed_error(*pq_, conn_));
  if (rc == 1) return watch(true, true);
  phase_ = Phase::Reading;
  read_step();
}

void LibpqQuery::read_step() {
  if (!pq_->PQconsumeInput(conn_)) return finish(trimmed_error(*pq_, conn_));
  while (!pq_->PQisBusy(conn_)) {
    PGresult* res = pq_->PQgetResult(conn_);
    if (!res) {
      // Every result read: the query is done.
      return finish(have_result_ ? std::move(result_.error) : std::string("no result"));
    }
    ExecStatusType status = pq_->PQresultStatus(res);
    if (status == PGRES_TUPLES_OK && !have_result_) {
      have_result_ = true;
      result_.columns = static_cast<std::size_t>(pq_->PQnfields(res));
      for (int r = 0; r < pq_->PQntuples(res); ++r) {
        std::vector<std::optional<std::string>> row;
        for (int c = 0; c < pq_->PQnfields(res); ++c) {
          if (pq_->PQgetisnull(res, r, c)) {
            row.emplace_back(std::nullopt);
          } else {
            row.emplace_back(std::string(pq_->PQgetvalue(res, r, c),
                                         static_cast<std::size_t>(pq_->PQgetlength(res, r, c))));
          }
        }
        result_.rows.push_back(std::move(row));
      }
    } else if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      std::string error = pq_->PQresultErrorMessage(res);
      while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
      have_result_ = true;
      result_.error = error.empty() ? std::string(pq_->PQresStatus(status)) : error;
    } else if (!have_result_) {
      have_result_ = true;
      result_.error = "the query returned no rows description";
    }
    pq_->PQclear(res);
  }
  watch(true, false);
}

void LibpqQuery::watch(bool readable, bool writable) {
  int fd = pq_->PQsocket(conn_);
  if (fd < 0) return finish("libpq has no socket");
  if (fd != polled_fd_) {
    poll_ = std::make_unique<UvHandle<uv_poll_t>>(this);
    if (int rc = uv_poll_init(loop_.raw(), poll_->get(), fd); rc != 0) {
      poll_.reset();
      return finish(std::string("uv_poll_init: ") + uv_strerror(rc));
    }
    poll_->mark_initialized();
    polled_fd_ = fd;
  }
  int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  uv_poll_start(poll_->get(), events, [](uv_poll_t* handle, int, int) {
    if (auto* self = UvHandle<uv_poll_t>::owner_of<LibpqQuery>(handle)) self->advance();
  });
}

void LibpqQuery::finish(std::string error) {
  if (phase_ == Phase::Done) return;
  phase_ = Phase::Done;
  timer_.stop();
  poll_.reset();
  polled_fd_ = -1;
  if (conn_) {
    pq_->PQfinish(conn_);
    conn_ = nullptr;
  }
  Result result = std::move(result_);
  result.error = std::move(error);
  if (!result.error.empty()) result.rows.clear();
  if (auto done = std::move(on_done_)) done(std::move(result));
}

}  // namespace ouroboros::io
