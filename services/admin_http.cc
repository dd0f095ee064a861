#include "services/admin_http.h"

#include <httplib.h>

#include <atomic>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace dsar {

absl::StatusOr<std::unique_ptr<AdminHttpServer>> AdminHttpServer::Start(const std::string& address,
                                                                        MetricsFn metrics) {
  const auto colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("admin address must be host:port: ", address));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::unique_ptr<AdminHttpServer> out(new AdminHttpServer());
  out->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *out->server_;
  // Slow clients (half a request, then nothing) hold a worker only until
  // the read timeout: 32 workers and 1 s keep a scrape or a probe waiting a
  // few seconds at most behind 64 of them (AbuseTest.SlowClientsOnTheAdmin
  // PortDoNotStarveItsProbes). No request here has a body.
  server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  server.set_read_timeout(1, 0);
  server.set_write_timeout(5, 0);
  server.set_keep_alive_timeout(1);
  server.set_keep_alive_max_count(10);
  server.set_payload_max_length(64 << 10);
  server.Get("/metrics", [metrics](const httplib::Request&, httplib::Response& response) {
    response.set_content(metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain");
  });
  const int bound =
      port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on admin address ", address));
  }
  out->port_ = bound;
  auto done = std::make_shared<std::atomic<bool>>(false);
  out->listener_ = std::thread([s = out->server_.get(), done] {
    s->listen_after_bind();
    done->store(true);
  });
  // httplib's stop() is a no-op until the accept loop runs: wait for it, so
  // that Stop() right after Start() cannot leave the listener running.
  while (!server.is_running() && !done->load()) std::this_thread::yield();
  return out;
}

AdminHttpServer::~AdminHttpServer() { Stop(); }

void AdminHttpServer::Stop() {
  if (server_) server_->stop();
  if (listener_.joinable()) listener_.join();
}

}  // namespace dsar
