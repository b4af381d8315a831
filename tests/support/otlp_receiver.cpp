#include "tests/support/otlp_receiver.hpp"

#include <httplib.h>

#include <stdexcept>

namespace lpa::test {

otlp_receiver::otlp_receiver(std::vector<int> scripted_statuses)
    : server_(std::make_unique<httplib::Server>()),
      scripted_(scripted_statuses.begin(), scripted_statuses.end()) {
  server_->Post("/v1/traces", [this](const httplib::Request& req, httplib::Response& res) {
    std::unique_lock lock{mutex_};
    ++arrivals_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !holding_; });
    request r{req.path, req.get_header_value("Content-Type"), 200,
              nlohmann::json::parse(req.body, nullptr, false)};
    if (!scripted_.empty()) {
      r.answered = scripted_.front();
      scripted_.pop_front();
    }
    res.status = r.answered;
    res.set_content(r.answered == 200 ? "{}" : R"({"message":"scripted"})", "application/json");
    requests_.push_back(std::move(r));
    changed_.notify_all();
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0)
    throw std::runtime_error("otlp_receiver: cannot bind a loopback port");
  // Bound: connections queue in the backlog until the loop accepts them.
  thread_ = std::thread{[this] { server_->listen_after_bind(); }};
  // httplib 0.11's stop() does nothing before the loop runs, and it offers no event to await.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
}

otlp_receiver::~otlp_receiver() {
  release();
  server_->stop();
  thread_.join();
}

std::string otlp_receiver::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

void otlp_receiver::hold() {
  std::lock_guard lock{mutex_};
  holding_ = true;
}

void otlp_receiver::release() {
  {
    std::lock_guard lock{mutex_};
    holding_ = false;
  }
  changed_.notify_all();
}

bool otlp_receiver::await_arrivals(size_t n, std::chrono::milliseconds limit) {
  std::unique_lock lock{mutex_};
  return changed_.wait_for(lock, limit, [&] { return arrivals_ >= n; });
}

bool otlp_receiver::await_requests(size_t n, std::chrono::milliseconds limit) {
  std::unique_lock lock{mutex_};
  return changed_.wait_for(lock, limit, [&] { return requests_.size() >= n; });
}

nlohmann::json otlp_receiver::await_span(const std::function<bool(const nlohmann::json&)>& matches,
                                         std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::unique_lock lock{mutex_};
  while (true) {
    const size_t count = requests_.size();
    for (const auto& span : spans_of(requests_))
      if (matches(span))
        return span;
    if (!changed_.wait_until(lock, deadline, [&] { return requests_.size() > count; }))
      return nullptr;
  }
}

std::vector<otlp_receiver::request> otlp_receiver::requests() const {
  std::lock_guard lock{mutex_};
  return requests_;
}

std::vector<nlohmann::json> otlp_receiver::spans() const {
  std::lock_guard lock{mutex_};
  return spans_of(requests_);
}

std::vector<nlohmann::json> otlp_receiver::spans_of(const std::vector<request>& requests) {
  std::vector<nlohmann::json> out;
  for (const auto& r : requests) {
    if (r.answered != 200 || !r.body.is_object())
      continue;
    for (const auto& rs : r.body.value("resourceSpans", nlohmann::json::array())) {
      std::string service;
      const auto resource = rs.value("resource", nlohmann::json::object());
      for (const auto& attr : resource.value("attributes", nlohmann::json::array()))
        if (attr.value("key", "") == "service.name")
          service = attr["value"].value("stringValue", "");
      for (const auto& ss : rs.value("scopeSpans", nlohmann::json::array()))
        for (auto span : ss.value("spans", nlohmann::json::array())) {
          span["service"] = service;
          out.push_back(std::move(span));
        }
    }
  }
  return out;
}

nlohmann::json span_attribute(const nlohmann::json& span, const std::string& key) {
  for (const auto& a : span.value("attributes", nlohmann::json::array()))
    if (a["key"] == key)
      return a["value"];
  return nullptr;
}

} // namespace lpa::test
