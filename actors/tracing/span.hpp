#pragma once

#include "actors/tracing/trace_context.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace lpa::tracing {

// OTLP's SpanKind and Status.StatusCode, with their protocol numbers.
enum class span_kind : int { internal = 1, server = 2, client = 3, producer = 4, consumer = 5 };
enum class status_code : int { unset = 0, ok = 1, error = 2 };

using attribute_value = std::variant<std::string, int64_t, bool>;
using attribute = std::pair<std::string, attribute_value>;

// A finished span, as the exporter sends it.
struct span_data {
  span_context context;
  std::optional<span_id> parent;
  std::string name;
  span_kind kind = span_kind::internal;
  std::chrono::system_clock::time_point start;
  std::chrono::system_clock::time_point end;
  std::vector<attribute> attributes;
  status_code status = status_code::unset;
  std::string status_message;
  std::vector<span_context> links;
};

class otlp_exporter;

// A span in progress. It ends (once) at end() or when destroyed; a sampled span then goes to
// the exporter, if there is one. Move-only.
class span {
public:
  span(span_data data, std::shared_ptr<otlp_exporter> exporter);
  span(span&& other) noexcept;
  span& operator=(span&& other) noexcept;
  span(const span&) = delete;
  span& operator=(const span&) = delete;
  ~span();

  const span_context& context() const { return data_.context; }
  std::string trace_id_hex() const { return to_hex(data_.context.trace); }
  std::string traceparent() const { return format_traceparent(data_.context); }

  // Sets (or replaces) an attribute.
  void set_attribute(std::string key, attribute_value value);
  void add_link(const span_context& linked);
  size_t link_count() const { return data_.links.size(); }
  void set_status(status_code code, std::string message = {});
  // Ends the span at `at` (now, unless it ended earlier than it is reported).
  void end(std::chrono::system_clock::time_point at = std::chrono::system_clock::now());

private:
  span_data data_;
  std::shared_ptr<otlp_exporter> exporter_;
  bool ended_ = false;
};

// Starts spans. Without an exporter spans still get ids (so traceparent headers and log lines
// carry them) but nothing is sent.
class tracer {
public:
  explicit tracer(std::shared_ptr<otlp_exporter> exporter = nullptr);

  // A span of a new trace, or a child of `parent` (same trace and flags), starting at `start`
  // (now, unless it began before it could be created, e.g. in a queue).
  span start_span(std::string name, span_kind kind,
                  const std::optional<span_context>& parent = std::nullopt,
                  std::chrono::system_clock::time_point start
                  = std::chrono::system_clock::now()) const;

  bool exporting() const { return exporter_ != nullptr; }

private:
  std::shared_ptr<otlp_exporter> exporter_;
};

using tracer_ptr = std::shared_ptr<const tracer>;

// OpenTelemetry SDKs' default link limit per span.
inline constexpr size_t max_span_links = 128;

// Links a batch's span to the trace of each W3C traceparent given (each trace once, malformed
// ones skipped, at most max_span_links links; attribute links.dropped counts the rest). Returns
// the distinct trace ids, comma-separated, for the batch's log line, which lists them all.
std::string link_traces(span& batch, const std::vector<std::string>& traceparents);

} // namespace lpa::tracing
