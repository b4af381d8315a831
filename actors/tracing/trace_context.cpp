#include "actors/tracing/trace_context.hpp"

#include <algorithm>
#include <random>

namespace lpa::tracing {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";
constexpr size_t version00_size = 55; // 2 + 1 + 32 + 1 + 16 + 1 + 2

template <size_t N>
std::string hex_of(const std::array<uint8_t, N>& bytes) {
  std::string out;
  out.reserve(2 * N);
  for (uint8_t b : bytes) {
    out += hex_digits[b >> 4];
    out += hex_digits[b & 0x0f];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1; // W3C allows lowercase only
}

// Reads 2 * N lowercase hex digits; false on any other character.
template <size_t N>
bool read_hex(std::string_view text, std::array<uint8_t, N>& out) {
  if (text.size() != 2 * N)
    return false;
  for (size_t i = 0; i < N; ++i) {
    int hi = hex_value(text[2 * i]);
    int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

template <size_t N>
bool all_zero(const std::array<uint8_t, N>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

template <size_t N>
std::array<uint8_t, N> random_nonzero_bytes() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::array<uint8_t, N> out{};
  do {
    for (size_t i = 0; i < N; i += 8) {
      uint64_t r = rng();
      for (size_t j = 0; j < 8 && i + j < N; ++j)
        out[i + j] = static_cast<uint8_t>(r >> (8 * j));
    }
  } while (all_zero(out));
  return out;
}

} // namespace

std::string to_hex(const trace_id& id) {
  return hex_of(id);
}

std::string to_hex(const span_id& id) {
  return hex_of(id);
}

trace_id new_trace_id() {
  return random_nonzero_bytes<16>();
}

span_id new_span_id() {
  return random_nonzero_bytes<8>();
}

std::optional<span_context> parse_traceparent(std::string_view header) {
  if (header.size() < version00_size)
    return std::nullopt;
  std::array<uint8_t, 1> version{};
  if (!read_hex(header.substr(0, 2), version) || version[0] == 0xff)
    return std::nullopt;
  // Version 00 is exactly 55 characters; later versions may append "-<more>".
  if (version[0] == 0 ? header.size() != version00_size
                      : header.size() > version00_size && header[version00_size] != '-')
    return std::nullopt;
  if (header[2] != '-' || header[35] != '-' || header[52] != '-')
    return std::nullopt;
  span_context ctx;
  std::array<uint8_t, 1> flags{};
  if (!read_hex(header.substr(3, 32), ctx.trace) || !read_hex(header.substr(36, 16), ctx.span)
      || !read_hex(header.substr(53, 2), flags))
    return std::nullopt;
  if (all_zero(ctx.trace) || all_zero(ctx.span))
    return std::nullopt;
  ctx.flags = flags[0];
  return ctx;
}

std::string format_traceparent(const span_context& ctx) {
  std::string flags{hex_digits[ctx.flags >> 4], hex_digits[ctx.flags & 0x0f]};
  return "00-" + to_hex(ctx.trace) + "-" + to_hex(ctx.span) + "-" + flags;
}

} // namespace lpa::tracing
