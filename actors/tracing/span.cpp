#include "actors/tracing/span.hpp"

#include "actors/tracing/otlp_exporter.hpp"

#include <set>

namespace lpa::tracing {

span::span(span_data data, std::shared_ptr<otlp_exporter> exporter)
    : data_(std::move(data)), exporter_(std::move(exporter)) {}

span::span(span&& other) noexcept
    : data_(std::move(other.data_)), exporter_(std::move(other.exporter_)), ended_(other.ended_) {
  other.ended_ = true;
}

span& span::operator=(span&& other) noexcept {
  if (this != &other) {
    end();
    data_ = std::move(other.data_);
    exporter_ = std::move(other.exporter_);
    ended_ = other.ended_;
    other.ended_ = true;
  }
  return *this;
}

span::~span() {
  end();
}

void span::set_attribute(std::string key, attribute_value value) {
  for (auto& [existing, old] : data_.attributes)
    if (existing == key) {
      old = std::move(value);
      return;
    }
  data_.attributes.emplace_back(std::move(key), std::move(value));
}

void span::add_link(const span_context& linked) {
  data_.links.push_back(linked);
}

void span::set_status(status_code code, std::string message) {
  data_.status = code;
  data_.status_message = std::move(message);
}

void span::end(std::chrono::system_clock::time_point at) {
  if (ended_)
    return;
  ended_ = true;
  data_.end = at;
  if (exporter_ && data_.context.sampled())
    exporter_->enqueue(std::move(data_));
  exporter_.reset(); // an ended span does not keep the exporter alive
}

tracer::tracer(std::shared_ptr<otlp_exporter> exporter) : exporter_(std::move(exporter)) {}

span tracer::start_span(std::string name, span_kind kind, const std::optional<span_context>& parent,
                        std::chrono::system_clock::time_point start) const {
  span_data data;
  data.name = std::move(name);
  data.kind = kind;
  data.start = start;
  data.context.span = new_span_id();
  if (parent) {
    data.context.trace = parent->trace;
    data.context.flags = parent->flags;
    data.parent = parent->span;
  } else {
    data.context.trace = new_trace_id();
  }
  return span{std::move(data), exporter_};
}

std::string link_traces(span& batch, const std::vector<std::string>& traceparents) {
  std::set<trace_id> seen;
  std::string trace_ids;
  size_t dropped = 0;
  for (const auto& header : traceparents) {
    auto ctx = parse_traceparent(header);
    if (!ctx || !seen.insert(ctx->trace).second)
      continue;
    if (batch.link_count() < max_span_links)
      batch.add_link(*ctx);
    else
      ++dropped;
    trace_ids += (trace_ids.empty() ? "" : ",") + to_hex(ctx->trace);
  }
  if (dropped > 0)
    batch.set_attribute("links.dropped", static_cast<int64_t>(dropped));
  return trace_ids;
}

} // namespace lpa::tracing
