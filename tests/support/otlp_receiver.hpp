#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace lpa::test {

// A real OTLP/HTTP collector stand-in: an HTTP server on a free loopback port that records every
// POST /v1/traces and answers with scripted statuses (then 200).
class otlp_receiver {
public:
  struct request {
    std::string path;
    std::string content_type;
    int answered = 0;
    nlohmann::json body;
  };

  explicit otlp_receiver(std::vector<int> scripted_statuses = {});
  ~otlp_receiver();

  otlp_receiver(const otlp_receiver&) = delete;
  otlp_receiver& operator=(const otlp_receiver&) = delete;

  // http://127.0.0.1:<port>
  std::string endpoint() const;

  // Holds every request until release(): the exporter's thread stays busy meanwhile.
  void hold();
  void release();

  // Waits until `n` requests arrived, held or not; false when `limit` passed first.
  bool await_arrivals(size_t n, std::chrono::milliseconds limit = std::chrono::seconds{10});

  // Waits until `n` requests were answered; false when `limit` passed first.
  bool await_requests(size_t n, std::chrono::milliseconds limit = std::chrono::seconds{10});

  // Waits until a span (a JSON object of some accepted request) satisfies `matches`; the span, or
  // null when `limit` passed first.
  nlohmann::json await_span(const std::function<bool(const nlohmann::json&)>& matches,
                            std::chrono::milliseconds limit = std::chrono::seconds{10});

  std::vector<request> requests() const;

  // Every span of the accepted requests, with the service.name of its resource as "service".
  std::vector<nlohmann::json> spans() const;

private:
  static std::vector<nlohmann::json> spans_of(const std::vector<request>& requests);

  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<int> scripted_;
  std::vector<request> requests_;
  size_t arrivals_ = 0;
  bool holding_ = false;
};

// The value of a span's attribute as OTLP/JSON spells it ({"stringValue": ...} and so on); null
// when the span has no such attribute.
nlohmann::json span_attribute(const nlohmann::json& span, const std::string& key);

} // namespace lpa::test
