#include "actors/tracing/otlp_exporter.hpp"

#include "actors/tracing/otlp_json.hpp"

#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

namespace lpa::tracing {

namespace {

constexpr int default_otlp_http_port = 4318;
constexpr const char* traces_path = "/v1/traces";
constexpr auto failure_report_interval = std::chrono::seconds{30};

prometheus::Counter& counter(prometheus::Registry& registry, const std::string& name,
                             const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

// OTLP/HTTP: these answers mean "try again later"; any other failure is final.
bool is_retryable(int http_status) {
  return http_status == 429 || http_status == 502 || http_status == 503 || http_status == 504;
}

} // namespace

otlp_target traces_target(const std::string& endpoint) {
  auto scheme_end = endpoint.find("://");
  if (scheme_end == std::string::npos
      || (endpoint.compare(0, scheme_end, "http") != 0
          && endpoint.compare(0, scheme_end, "https") != 0))
    throw std::invalid_argument("OTLP endpoint must start with http:// or https://, got '"
                                + endpoint + "'");
  auto host_start = scheme_end + 3;
  auto path_start = std::min(endpoint.find('/', host_start), endpoint.size());
  otlp_target target{endpoint.substr(0, path_start), endpoint.substr(path_start)};
  while (!target.path.empty() && target.path.back() == '/')
    target.path.pop_back();
  target.path += traces_path;
  auto host = target.origin.substr(host_start);
  auto bracket = host.rfind(']'); // an IPv6 literal's colons are inside the brackets
  if (host.find(':', bracket == std::string::npos ? 0 : bracket) == std::string::npos)
    target.origin += ":" + std::to_string(default_otlp_http_port);
  return target;
}

otlp_exporter::otlp_exporter(exporter_settings settings, prometheus::Registry& registry)
    : settings_(std::move(settings)),
      exported_(counter(registry, "logistic_package_api_tracing_spans_exported_total",
                        "Spans the OTLP collector accepted")),
      dropped_(counter(registry, "logistic_package_api_tracing_spans_dropped_total",
                       "Spans dropped because the export queue was full")),
      failed_(counter(registry, "logistic_package_api_tracing_spans_failed_total",
                      "Spans the OTLP collector refused, or whose retries ran out")),
      target_(traces_target(settings_.endpoint)) {
  worker_ = std::thread{[this] { run(); }};
  spdlog::info("tracing: exporting spans to {}{} as {}", target_.origin, target_.path,
               settings_.service_name);
}

otlp_exporter::~otlp_exporter() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

void otlp_exporter::enqueue(span_data span) {
  {
    std::lock_guard lock{mutex_};
    if (queue_.size() < settings_.queue_size && !stopping_) {
      queue_.push_back(std::move(span));
      if (queue_.size() < settings_.batch_size)
        return;
    } else {
      dropped_.Increment();
      return;
    }
  }
  wake_.notify_one(); // a full batch is ready
}

void otlp_exporter::run() {
  std::unique_lock lock{mutex_};
  while (true) {
    wake_.wait_for(lock, settings_.flush_interval,
                   [&] { return stopping_ || queue_.size() >= settings_.batch_size; });
    if (queue_.empty()) {
      if (stopping_)
        return;
      continue;
    }
    auto n = std::min(queue_.size(), settings_.batch_size);
    std::vector<span_data> batch{std::make_move_iterator(queue_.begin()),
                                 std::make_move_iterator(queue_.begin() + n)};
    queue_.erase(queue_.begin(), queue_.begin() + n);
    lock.unlock();
    send(batch);
    lock.lock();
  }
}

void otlp_exporter::send(const std::vector<span_data>& batch) {
  const auto body = encode_export_request(batch, settings_.service_name);
  const auto count = static_cast<double>(batch.size());
  httplib::Client client{target_.origin};
  client.set_connection_timeout(settings_.timeout);
  client.set_read_timeout(settings_.timeout);
  client.set_write_timeout(settings_.timeout);
  auto backoff = settings_.retry_backoff_min;
  for (int attempt = 1;; ++attempt) {
    auto res = client.Post(target_.path, body, "application/json");
    if (res && res->status >= 200 && res->status < 300) {
      exported_.Increment(count);
      return;
    }
    std::string outcome = res ? "HTTP " + std::to_string(res->status)
                              : "no answer (" + httplib::to_string(res.error()) + ")";
    bool retry = (!res || is_retryable(res->status)) && attempt < settings_.max_attempts;
    if (!retry || !pause(backoff)) {
      failed_.Increment(count);
      report_failure(batch.size(), outcome, attempt);
      return;
    }
    spdlog::debug("tracing: export got {}, retrying in {} ms", outcome, backoff.count());
    backoff = std::min(backoff * 2, settings_.retry_backoff_max);
  }
}

void otlp_exporter::report_failure(size_t spans, const std::string& outcome, int attempts) {
  ++failures_since_report_;
  auto now = std::chrono::steady_clock::now();
  if (now < next_failure_report_)
    return;
  spdlog::warn("tracing: {} spans not exported to {}{}: {} after {} attempt(s) ({} failed "
               "batch(es) since the last report)",
               spans, target_.origin, target_.path, outcome, attempts, failures_since_report_);
  failures_since_report_ = 0;
  next_failure_report_ = now + failure_report_interval;
}

bool otlp_exporter::pause(std::chrono::milliseconds delay) {
  std::unique_lock lock{mutex_};
  return !wake_.wait_for(lock, delay, [&] { return stopping_; });
}

exporter_settings exporter_settings_of(const settings::tracing_t& cfg, std::string service_name) {
  exporter_settings out;
  out.endpoint = cfg.otlp_endpoint;
  out.service_name = std::move(service_name);
  out.queue_size = static_cast<size_t>(cfg.queue_size);
  out.batch_size = static_cast<size_t>(cfg.batch_size);
  out.flush_interval = cfg.flush_interval;
  out.timeout = cfg.timeout;
  return out;
}

std::shared_ptr<otlp_exporter> make_exporter(const exporter_settings& settings,
                                             prometheus::Registry& registry) {
  if (settings.endpoint.empty())
    return nullptr;
  return std::make_shared<otlp_exporter>(settings, registry);
}

} // namespace lpa::tracing
