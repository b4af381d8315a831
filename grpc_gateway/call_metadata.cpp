#include "grpc_gateway/call_metadata.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <random>

namespace lpa {

namespace {

bool is_safe_request_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
  });
}

std::string new_request_id() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08llx-%06llx",
                static_cast<unsigned long long>(rng() & 0xffffffffULL),
                static_cast<unsigned long long>(++counter & 0xffffffULL));
  return buf;
}

} // namespace

std::string metadata_value(const grpc::CallbackServerContext* ctx, const char* key) {
  const auto& md = ctx->client_metadata();
  auto i = md.find(key);
  if (i == md.end())
    return {};
  return std::string{i->second.data(), i->second.size()};
}

std::string request_id_of(const grpc::CallbackServerContext* ctx) {
  auto id = metadata_value(ctx, "x-request-id");
  return is_safe_request_id(id) ? id : new_request_id();
}

bool asks_for_debug_log(const grpc::CallbackServerContext* ctx) {
  std::string level = metadata_value(ctx, "log_level");
  std::transform(level.begin(), level.end(), level.begin(),
                 [](unsigned char ch) { return std::tolower(ch); });
  return level == "debug";
}

} // namespace lpa
