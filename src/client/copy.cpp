// COPY: CopyWriter (COPY ... FROM STDIN) and Connection::copy_to (COPY ... TO STDOUT).
#include "ouroboros/copy.hpp"

#include <exception>

#include "connection_state.hpp"

namespace ouroboros {
namespace {

constexpr std::size_t kFlushAt = 64 * 1024;  // bytes buffered before PQputCopyData

// "name" or "schema"."name": each dot-separated part double-quoted.
std::string quoted_table(std::string_view table) {
  if (table.empty()) throw UsageError("copy: the table name is empty");
  std::string out = "\"";
  for (const char c : table) {
    if (c == '.') {
      out += "\".\"";
    } else {
      if (c == '"') out += '"';
      if (c == '\0') throw UsageError("copy: NUL in the table name");
      out += c;
    }
  }
  return out + "\"";
}

std::string quoted_identifier(std::string_view name) {
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"') out += '"';
    if (c == '\0') throw UsageError("copy: NUL in a column name");
    out += c;
  }
  return out + "\"";
}

// Reads every remaining result so the connection is ready for the next statement; a COPY the
// caller did not expect is ended first (COPY IN: failed by the client; COPY OUT: read and dropped).
void drain(PGconn* conn) {
  while (PGresult* rest = PQgetResult(conn)) {
    const ExecStatusType status = PQresultStatus(rest);
    PQclear(rest);
    if (status == PGRES_COPY_IN) {
      PQputCopyEnd(conn, "the statement is not the kind of COPY the application asked for");
    } else if (status == PGRES_COPY_OUT) {
      char* row = nullptr;
      while (PQgetCopyData(conn, &row, 0) > 0) PQfreemem(row);
    } else if (status == PGRES_COPY_BOTH || PQstatus(conn) == CONNECTION_BAD) {
      return;
    }
  }
}

// Ends an unexpected COPY that `started` (consumed) announced, then drains.
void abandon(PGconn* conn, PGresult* started) {
  const ExecStatusType status = PQresultStatus(started);
  PQclear(started);
  if (status == PGRES_COPY_IN) {
    PQputCopyEnd(conn, "the statement is not the kind of COPY the application asked for");
  } else if (status == PGRES_COPY_OUT) {
    char* row = nullptr;
    while (PQgetCopyData(conn, &row, 0) > 0) PQfreemem(row);
  }
  drain(conn);
}

}  // namespace

namespace detail {

void append_copy_field(std::string& out, std::string_view value, CopyFormat format) {
  if (format == CopyFormat::Csv) {
    const bool quote = value.empty() || value.find_first_of(",\"\n\r") != std::string_view::npos;
    if (!quote) {
      out.append(value);
      return;
    }
    out += '"';
    for (const char c : value) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
    return;
  }
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
}

void append_copy_null(std::string& out, CopyFormat format) {
  if (format == CopyFormat::Text) out += "\\N";  // CSV: an unquoted empty field
}

}  // namespace detail

struct CopyWriter::Impl {
  Connection::State* state = nullptr;
  std::string sql;  // the COPY statement (the observation's event points into it)
  std::unique_ptr<detail::Observation> observation;
  CopyFormat format = CopyFormat::Text;
  std::string buffer;
  bool open = true;

  void close() {
    open = false;
    state->busy = nullptr;
  }

  // Sends the buffered bytes; on a broken connection ends the COPY with the error.
  void flush() {
    if (buffer.empty()) return;
    const int sent = PQputCopyData(state->conn, buffer.data(), static_cast<int>(buffer.size()));
    buffer.clear();
    if (sent != 1) fail_now();
  }

  // The COPY could not go on: the server's error (classified) when it sent one, else the
  // connection's.
  [[noreturn]] void fail_now() {
    close();
    try {
      PGresult* result = PQgetResult(state->conn);
      drain(state->conn);
      if (result == nullptr || PQresultStatus(result) != PGRES_FATAL_ERROR) {
        PQclear(result);
        state->raise(nullptr, sql);
      }
      state->raise(result, sql);
    } catch (const std::exception& error) {
      observation->failed(error);
      throw;
    }
  }
};

CopyWriter::CopyWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CopyWriter::CopyWriter(CopyWriter&&) noexcept = default;

CopyWriter::~CopyWriter() {
  if (impl_ && impl_->open) abort("CopyWriter destroyed before finish()");
}

bool CopyWriter::is_open() const noexcept {
  return impl_ && impl_->open;
}

CopyFormat CopyWriter::format() const noexcept {
  return impl_ ? impl_->format : CopyFormat::Text;
}

std::string& CopyWriter::row_buffer() {
  if (!is_open()) throw UsageError("write to a COPY that is already finished");
  return impl_->buffer;
}

CopyWriter& CopyWriter::end_row() {
  if (impl_->buffer.size() >= kFlushAt) impl_->flush();
  return *this;
}

CopyWriter& CopyWriter::write_raw(std::string_view data) {
  row_buffer().append(data);
  return end_row();
}

std::int64_t CopyWriter::finish() {
  if (!is_open()) throw UsageError("finish() on a COPY that is already finished");
  Impl& c = *impl_;
  c.flush();
  if (PQputCopyEnd(c.state->conn, nullptr) != 1) c.fail_now();
  c.close();
  PGresult* result = PQgetResult(c.state->conn);
  drain(c.state->conn);
  try {
    Result done = c.state->check(result, c.sql);
    c.observation->succeeded(done.native_handle());
    return static_cast<std::int64_t>(done.affected_rows());
  } catch (const std::exception& error) {
    c.observation->failed(error);
    throw;
  }
}

void CopyWriter::abort(std::string_view reason) noexcept {
  if (!is_open()) return;
  Impl& c = *impl_;
  c.close();
  const std::string message(reason);
  PQputCopyEnd(c.state->conn, message.c_str());
  PGresult* result = PQgetResult(c.state->conn);
  drain(c.state->conn);
  try {
    c.state->check(result, c.sql);
  } catch (const std::exception& error) {
    c.observation->failed(error);  // the server's "COPY from stdin failed" (57014)
  }
}

CopyWriter Connection::copy_from(std::string_view table, const std::vector<std::string>& columns,
                                 CopyFormat format) {
  std::string sql = "COPY " + quoted_table(table);
  if (!columns.empty()) {
    sql += " (";
    for (std::size_t i = 0; i < columns.size(); ++i)
      sql += (i ? ", " : "") + quoted_identifier(columns[i]);
    sql += ')';
  }
  sql += format == CopyFormat::Csv ? " FROM STDIN (FORMAT csv)" : " FROM STDIN (FORMAT text)";
  return copy_from_sql(sql, format);
}

CopyWriter Connection::copy_from_sql(std::string_view copy_statement, CopyFormat format) {
  if (!state_) throw UsageError("use of a moved-from Connection");
  State& s = *state_;
  s.require_open();
  auto impl = std::make_unique<CopyWriter::Impl>();
  impl->state = &s;
  impl->sql = std::string(copy_statement);
  impl->format = format;
  impl->observation = std::make_unique<detail::Observation>(
      s.observers, s.start_event(StatementKind::Copy, impl->sql, nullptr), nullptr);
  try {
    PGresult* result = PQexec(s.conn, s.text_for(impl->sql).c_str());
    if (result != nullptr && PQresultStatus(result) == PGRES_COPY_IN) {
      PQclear(result);
      s.busy = "a COPY";
      return CopyWriter(std::move(impl));
    }
    if (result != nullptr && PQresultStatus(result) != PGRES_FATAL_ERROR) {
      abandon(s.conn, result);
      throw UsageError("copy_from: the statement is not a COPY ... FROM STDIN: " + impl->sql);
    }
    s.check(result, impl->sql);  // throws the server's error
    throw UsageError("copy_from: unexpected result");
  } catch (const std::exception& error) {
    impl->observation->failed(error);
    throw;
  }
}

std::int64_t Connection::copy_to(std::string_view copy_statement,
                                 const std::function<void(std::string_view)>& on_row) {
  if (!state_) throw UsageError("use of a moved-from Connection");
  State& s = *state_;
  s.require_open();
  const Result done = s.observe(StatementKind::Copy, copy_statement, nullptr, [&](QueryEvent&) {
    PGresult* started = PQexec(s.conn, s.text_for(copy_statement).c_str());
    if (started != nullptr && PQresultStatus(started) != PGRES_COPY_OUT &&
        PQresultStatus(started) != PGRES_FATAL_ERROR) {
      abandon(s.conn, started);
      throw UsageError("copy_to: the statement is not a COPY ... TO STDOUT: " +
                       std::string(copy_statement));
    }
    if (started == nullptr || PQresultStatus(started) != PGRES_COPY_OUT)
      return s.check(started, copy_statement);  // throws the server's error
    PQclear(started);
    std::exception_ptr failure;
    char* row = nullptr;
    int length = 0;
    while ((length = PQgetCopyData(s.conn, &row, 0)) > 0) {
      if (!failure) {
        try {
          on_row(std::string_view(row, static_cast<std::size_t>(length)));
        } catch (...) {
          // Stop the server; the rest of the data is read and dropped.
          failure = std::current_exception();
          if (PGcancel* cancel = PQgetCancel(s.conn)) {
            char error[256];
            PQcancel(cancel, error, sizeof error);
            PQfreeCancel(cancel);
          }
        }
      }
      PQfreemem(row);
    }
    PGresult* result = PQgetResult(s.conn);
    drain(s.conn);
    if (failure) {
      PQclear(result);
      std::rethrow_exception(failure);
    }
    return s.check(result, copy_statement);
  });
  return static_cast<std::int64_t>(done.affected_rows());
}

}  // namespace ouroboros
