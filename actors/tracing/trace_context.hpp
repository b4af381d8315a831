#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lpa::tracing {

using trace_id = std::array<uint8_t, 16>;
using span_id = std::array<uint8_t, 8>;

// Where a span sits: its trace, its own id and the W3C trace flags (bit 0: sampled).
struct span_context {
  trace_id trace{};
  span_id span{};
  uint8_t flags = 0x01;

  bool sampled() const { return (flags & 0x01) != 0; }
  // A span's context, not the all-zero default.
  bool valid() const { return trace != trace_id{}; }
};

// Lowercase hex of the bytes, as OTLP/JSON and W3C traceparent spell ids.
std::string to_hex(const trace_id& id);
std::string to_hex(const span_id& id);

// Random non-zero ids.
trace_id new_trace_id();
span_id new_span_id();

// A W3C traceparent header, "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>": its
// context, or nothing when it is malformed (uppercase hex, version ff, all-zero ids). A future
// version is read by its version-00 prefix, as the W3C rules ask.
std::optional<span_context> parse_traceparent(std::string_view header);

// The traceparent header of `ctx` (version 00).
std::string format_traceparent(const span_context& ctx);

} // namespace lpa::tracing
