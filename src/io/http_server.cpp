#include "io/http_server.h"

#include <exception>
#include <string_view>

#include "io/http_request.h"
#include "io/timer.h"

namespace ouroboros::io {

namespace {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return status < 400 ? "OK" : "Error";
  }
}

HttpResponse error_response(int status) {
  HttpResponse response;
  response.status = status;
  response.body = std::string(reason_phrase(status)) + "\n";
  return response;
}

Bytes serialize(const HttpResponse& response, bool with_body) {
  int status = response.status >= 100 && response.status <= 599 ? response.status : 500;
  std::string head = "HTTP/1.1 " + std::to_string(status) + " ";
  head += reason_phrase(status);
  head += "\r\n";
  if (!response.content_type.empty()) {
    head += "Content-Type: ";
    for (char c : response.content_type)  // no header injection from a handler's content type
      if (!is_http_control(c)) head += c;
    head += "\r\n";
  }
  head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  if (status == 405) head += "Allow: GET, HEAD\r\n";
  head += "Connection: close\r\n\r\n";
  Bytes out;
  out.reserve(head.size() + (with_body ? response.body.size() : 0));
  append(out, as_bytes(head));
  if (with_body) append(out, as_bytes(response.body));
  return out;
}

}  // namespace

// One accepted connection: reads the head, answers, waits until the answer is sent.
class HttpServer::Connection final : public TransportHandler {
 public:
  Connection(HttpServer& server, std::unique_ptr<TcpTransport> transport)
      : server_(server), transport_(std::move(transport)), timer_(server.loop_) {
    transport_->set_handler(this);
    // One byte over the head limit is how an oversized head is recognised.
    transport_->set_input_limit(server_.limits_.max_header_bytes + 1);
    // With a high-water mark of 0, on_drained() reports that every queued byte was written (an
    // answer written at once is handled in answer()).
    transport_->set_high_water(0);
    timer_.start(server_.limits_.idle_timeout, [this] { server_.retire(this); });
    transport_->start_reading();
  }
  ~Connection() override { shut(); }

  // Stops every callback to this object. Idempotent.
  void shut() {
    timer_.stop();
    transport_->set_handler(nullptr);
    transport_->close();  // a no-op once close_after_flush() took the socket over
  }

  void on_readable(InputBuffer& input) override {
    if (answered_) return;
    std::string_view data = as_chars(input.view());
    const std::size_t limit = server_.limits_.max_header_bytes;
    std::size_t end = find_head_end(data, scanned_ > 2 ? scanned_ - 2 : 0);
    scanned_ = data.size();
    if (end == std::string_view::npos) {
      if (data.size() > limit) answer(error_response(431), true);
      return;
    }
    if (end > limit) {
      answer(error_response(431), true);
      return;
    }
    HttpRequest request;
    int status = parse_head(data.substr(0, end), request);
    input.consume(input.size());
    if (status != 0) {
      answer(error_response(status), true);
      return;
    }
    HttpResponse response;
    try {
      response = server_.handler_(request);
    } catch (const std::exception&) {
      response = error_response(500);
    } catch (...) {
      response = error_response(500);
    }
    answer(response, request.method != "HEAD");
  }

  void on_drained() override {
    if (!answered_) return;
    // Everything is written: send FIN and let the socket close itself.
    transport_->close_after_flush();
    server_.retire(this);
  }

  void on_transport_closed(std::string_view) override { server_.retire(this); }

 private:
  void answer(const HttpResponse& response, bool with_body) {
    answered_ = true;
    transport_->stop_reading();
    if (!transport_->is_open()) return;  // the handler closed the server
    // The idle timeout now bounds how long a client may take to read the answer.
    timer_.start(server_.limits_.idle_timeout, [this] { server_.retire(this); });
    transport_->write(serialize(response, with_body));  // a failure calls on_transport_closed
    // Written at once (nothing was queued): there will be no on_drained() to wait for.
    if (transport_->is_open() && transport_->queued_bytes() == 0) on_drained();
  }

  HttpServer& server_;
  std::unique_ptr<TcpTransport> transport_;
  Timer timer_;
  std::size_t scanned_ = 0;  // bytes already searched for the end of the head
  bool answered_ = false;
};

HttpServer::HttpServer(EventLoop& loop, Handler handler, Limits limits)
    : loop_(loop),
      handler_(std::move(handler)),
      limits_(limits),
      listener_(loop, [this](std::unique_ptr<TcpTransport> t) { on_accept(std::move(t)); }),
      self_(std::make_shared<HttpServer*>(this)) {}

HttpServer::~HttpServer() {
  listener_.close();
  connections_.clear();
  retired_.clear();
}

std::string HttpServer::listen(const std::string& host, std::uint16_t port) {
  return listener_.listen(host, port);
}

void HttpServer::close() {
  listener_.close();
  while (!connections_.empty()) retire(connections_.begin()->first);
}

void HttpServer::on_accept(std::unique_ptr<TcpTransport> transport) {
  if (connections_.size() >= limits_.max_connections) return;  // the transport closes here
  auto connection = std::make_unique<Connection>(*this, std::move(transport));
  Connection* key = connection.get();
  connections_.emplace(key, std::move(connection));
}

void HttpServer::retire(Connection* connection) {
  auto it = connections_.find(connection);
  if (it == connections_.end()) return;
  connection->shut();
  if (retired_.empty()) {
    loop_.defer([weak = std::weak_ptr<HttpServer*>(self_)] {
      if (auto self = weak.lock()) (*self)->free_retired();
    });
  }
  retired_.push_back(std::move(it->second));
  connections_.erase(it);
}

void HttpServer::free_retired() {
  retired_.clear();
}

}  // namespace ouroboros::io
