// lpa-cli: a command-line client for LogisticPackageApiService and package-history's
// PackageHistoryService, for trying the services by hand.
//
// Exit codes: 0 on success, 1 when the call returns a non-OK gRPC status, 2 on a usage error.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <iomanip>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include "google/rpc/error_details.pb.h"
#include "logistic_package_api.grpc.pb.h"
#include "package_history.grpc.pb.h"
#include "tools/grpc_client.hpp"

namespace {

namespace v1 = hablof::logistic_package_api::v1;
namespace hv1 = hablof::logistic_package_api::history::v1;
using google::protobuf::util::TimeUtil;

constexpr const char* usage_text =
    R"(lpa-cli [--addr HOST:PORT] [--history-addr HOST:PORT] [--timeout MS] [--debug]
        [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] COMMAND ...
  create --title T --material M --volume CM3 [--reusable] [--idempotency-key K]
         (sends a random idempotency key unless given, and tries up to 3 times with it
          while the outcome is unknown: UNAVAILABLE or DEADLINE_EXCEEDED)
  describe ID
  list [--limit N] [--cursor ID] [--offset N]
  update ID [--title T] [--material M] [--volume CM3] [--reusable true|false]
  remove ID
  history list ID [--limit N] [--cursor C] [--all]
         (the package's events in order; --all follows NextCursor to the last page)
  history at ID TIME
         (the package as it was at TIME, RFC 3339, e.g. 2026-12-02T06:48:56Z or
          2026-12-02T08:48:56.5+02:00)
--addr is the API (default 127.0.0.1:8082, or $LPA_CLI_ADDR); history commands go to
package-history's history API at --history-addr (default 127.0.0.1:8083, or
$LPA_CLI_HISTORY_ADDR).
Any --tls-* option makes the connection TLS: --tls-ca names the CAs that signed the server's
certificate (default: the system's), --tls-cert/--tls-key a client certificate for a server
that requires one (mTLS).
)";

constexpr const char* default_addr = "127.0.0.1:8082";
constexpr const char* default_history_addr = "127.0.0.1:8083";
constexpr uint32_t default_timeout_ms = 5000;

// A bad command line; main prints it as one line and exits with 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string quote(std::string_view text) {
  return "'" + std::string(text) + "'";
}

bool is_flag(std::string_view token) {
  return token.size() > 1 && token[0] == '-' && token[1] == '-';
}

// The command-line arguments not consumed yet, program name excluded.
class arg_list {
public:
  arg_list(int argc, char** argv) : items_(argv + 1, argv + argc) {}

  bool empty() const { return items_.empty(); }
  std::string_view peek() const { return items_.front(); }

  std::string_view take() {
    std::string_view item = items_.front();
    items_.pop_front();
    return item;
  }

  // The value following `flag`; a missing value or another flag in its place is an error.
  std::string_view take_value(std::string_view flag) {
    if (empty() || is_flag(peek())) {
      throw usage_error("missing value for " + std::string(flag));
    }
    return take();
  }

  bool contains(std::string_view item) const {
    for (std::string_view candidate : items_) {
      if (candidate == item) {
        return true;
      }
    }
    return false;
  }

private:
  std::deque<std::string_view> items_;
};

usage_error unexpected(std::string_view command, std::string_view token) {
  const char* kind = is_flag(token) ? ": unknown flag " : ": unexpected argument ";
  return usage_error(std::string(command) + kind + quote(token));
}

void expect_end(const arg_list& args, std::string_view command) {
  if (!args.empty()) {
    throw unexpected(command, args.peek());
  }
}

// Parses all of `text` as a T: no sign for unsigned types, no whitespace, no trailing garbage.
template <class T>
T parse_number(std::string_view what, std::string_view text, std::string_view expected) {
  T value{};
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(text.data(), last, value);
  if (ec == std::errc::result_out_of_range) {
    throw usage_error(std::string(what) + " " + quote(text) + " is out of range");
  }
  if (ec != std::errc{} || end != last) {
    throw usage_error("invalid " + std::string(what) + " " + quote(text) + ": expected "
                      + std::string(expected));
  }
  return value;
}

uint64_t parse_count(std::string_view flag, std::string_view text) {
  return parse_number<uint64_t>(flag, text, "a non-negative integer");
}

float parse_volume(std::string_view text) {
  return parse_number<float>("--volume", text, "a number of cm³");
}

uint64_t take_id(arg_list& args, std::string_view command) {
  if (args.empty() || is_flag(args.peek())) {
    throw usage_error(std::string(command) + ": missing package ID");
  }
  return parse_number<uint64_t>("package ID", args.take(), "a non-negative integer");
}

bool parse_bool(std::string_view flag, std::string_view text) {
  if (text == "true") {
    return true;
  }
  if (text == "false") {
    return false;
  }
  throw usage_error("invalid " + std::string(flag) + " " + quote(text)
                    + ": expected true or false");
}

// ---- output formatting ----

// Width on a terminal, counting one column per UTF-8 code point (e.g. "cm³" is 3 wide).
size_t display_width(std::string_view text) {
  size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) {
      ++width;
    }
  }
  return width;
}

std::string pad(std::string_view text, size_t width) {
  size_t used = display_width(text);
  return std::string(text) + std::string(width > used ? width - used : 0, ' ');
}

std::string format_volume(float volume) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, volume);
  return ec == std::errc{} ? std::string(buf, end) : "?";
}

std::string format_bool(bool value) {
  return value ? "yes" : "no";
}

// RFC 3339 in UTC at second precision, e.g. "2024-05-01T12:30:00Z".
std::string format_time(const google::protobuf::Timestamp& ts) {
  std::time_t seconds = static_cast<std::time_t>(ts.seconds());
  std::tm utc{};
  char buf[64];
  if (gmtime_r(&seconds, &utc) == nullptr
      || std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0) {
    return "invalid time (" + std::to_string(ts.seconds()) + " s)";
  }
  return buf;
}

// RFC 3339 with the fraction the time has, e.g. "2026-12-02T06:48:56.123456Z".
std::string format_precise_time(const google::protobuf::Timestamp& ts) {
  return TimeUtil::ToString(ts);
}

using time_format = std::string (*)(const google::protobuf::Timestamp&);

// A package's fields for print_fields, its times written by `time`.
std::vector<std::pair<std::string, std::string>> package_fields(const v1::Package& p,
                                                                time_format time) {
  bool updated = p.has_updated() && p.updated().has_time();
  return {
      {"ID", std::to_string(p.id())},
      {"Title", p.title()},
      {"Material", p.material()},
      {"MaximumVolume (cm³)", format_volume(p.maximumvolume())},
      {"Reusable", format_bool(p.reusable())},
      {"Created", time(p.created())},
      {"Updated", updated ? time(p.updated().time()) : "never"},
  };
}

// Prints "Label:  value" lines with the values aligned.
void print_fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [label, value] : fields) {
    width = std::max(width, display_width(label) + 1);
  }
  for (const auto& [label, value] : fields) {
    std::cout << pad(label + ":", width + 1) << value << '\n';
  }
}

// Prints rows as left-aligned columns two spaces apart; the first row is the header.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  }
  for (const auto& row : rows) {
    for (size_t i = 0; i + 1 < row.size(); ++i) {
      std::cout << pad(row[i], widths[i] + 2);
    }
    std::cout << row.back() << '\n';
  }
}

// "error: CODE: message", then one line per google.rpc.BadRequest field violation carried in
// the binary error details.
void print_error(const grpc::Status& status) {
  std::cerr << "error: " << lpa::status_code_name(status.error_code());
  if (!status.error_message().empty()) {
    std::cerr << ": " << status.error_message();
  }
  std::cerr << '\n';

  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return;
  }
  for (const google::protobuf::Any& detail : details.details()) {
    google::rpc::BadRequest bad_request;
    if (!detail.UnpackTo(&bad_request)) {
      continue;
    }
    for (const auto& violation : bad_request.field_violations()) {
      std::cerr << "  " << violation.field() << ": " << violation.description() << '\n';
    }
  }
}

// ---- connection ----

struct options {
  std::string addr = default_addr;
  std::string history_addr = default_history_addr;
  std::chrono::milliseconds timeout{default_timeout_ms};
  bool debug = false;
  lpa::client::tls_files tls;
};

struct client {
  options opts;
  std::shared_ptr<grpc::Channel> channel; // to --addr, or to --history-addr for history commands
};

// Consumes the global options that precede the command.
options parse_global_options(arg_list& args) {
  options opts;
  if (const char* env_addr = std::getenv("LPA_CLI_ADDR"); env_addr != nullptr && *env_addr != 0) {
    opts.addr = env_addr;
  }
  if (const char* env_addr = std::getenv("LPA_CLI_HISTORY_ADDR");
      env_addr != nullptr && *env_addr != 0) {
    opts.history_addr = env_addr;
  }
  while (!args.empty() && is_flag(args.peek())) {
    std::string_view flag = args.take();
    if (flag == "--addr") {
      opts.addr = args.take_value(flag);
    } else if (flag == "--history-addr") {
      opts.history_addr = args.take_value(flag);
    } else if (flag == "--timeout") {
      uint32_t ms = parse_number<uint32_t>(flag, args.take_value(flag), "a positive integer");
      if (ms == 0) {
        throw usage_error("--timeout must be greater than 0");
      }
      opts.timeout = std::chrono::milliseconds(ms);
    } else if (flag == "--debug") {
      opts.debug = true;
    } else if (lpa::client::is_tls_flag(flag)) {
      lpa::client::set_tls_file(opts.tls, flag, args.take_value(flag));
    } else {
      throw usage_error("unknown option " + quote(flag));
    }
  }
  return opts;
}

client connect(options opts, const std::string& addr) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  try {
    credentials = lpa::client::channel_credentials(opts.tls);
  } catch (const std::runtime_error& e) {
    throw usage_error(e.what());
  }
  auto channel = grpc::CreateChannel(addr, credentials);
  return {std::move(opts), channel};
}

template <class Stub, class Request, class Response>
using rpc_method = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

// One unary call with the configured deadline and, with --debug, the log_level metadata.
template <class Stub, class Request, class Response>
grpc::Status call(const client& c, rpc_method<Stub, Request, Response> method,
                  const Request& request, Response& response,
                  const std::string& idempotency_key = {}) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + c.opts.timeout);
  if (c.opts.debug) {
    context.AddMetadata("log_level", "debug");
  }
  if (!idempotency_key.empty()) {
    context.AddMetadata("idempotency-key", idempotency_key);
  }
  Stub stub{c.channel};
  return (stub.*method)(&context, request, &response);
}

// 128 random bits as 32 hex digits.
std::string random_key() {
  std::random_device rd;
  std::ostringstream out;
  for (int i = 0; i < 4; ++i) {
    out << std::hex << std::setw(8) << std::setfill('0') << rd();
  }
  return out.str();
}

// ---- commands ----

void require(bool given, std::string_view flag) {
  if (!given) {
    throw usage_error("create: missing required " + std::string(flag));
  }
}

// The wire format reads "" as "unchanged", so an explicit empty value would be silently ignored.
std::string take_change(arg_list& args, std::string_view flag) {
  std::string_view value = args.take_value(flag);
  if (value.empty()) {
    throw usage_error("update: " + std::string(flag) + " must not be empty");
  }
  return std::string(value);
}

grpc::Status run_create(const client& c, arg_list& args) {
  v1::CreatePackageV1Request request;
  bool has_title = false, has_material = false, has_volume = false;
  std::string key = random_key();
  while (!args.empty()) {
    std::string_view token = args.take();
    if (token == "--title") {
      request.set_title(std::string(args.take_value(token)));
      has_title = true;
    } else if (token == "--material") {
      request.set_material(std::string(args.take_value(token)));
      has_material = true;
    } else if (token == "--volume") {
      request.set_maximumvolume(parse_volume(args.take_value(token)));
      has_volume = true;
    } else if (token == "--reusable") {
      request.set_reusable(true);
    } else if (token == "--idempotency-key") {
      key = std::string(args.take_value(token));
    } else {
      throw unexpected("create", token);
    }
  }
  require(has_title, "--title");
  require(has_material, "--material");
  require(has_volume, "--volume");

  // A retry with the same key returns the package the lost attempt may have created.
  auto outcome_unknown = [](const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::UNAVAILABLE
           || s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  };
  v1::CreatePackageV1Response response;
  grpc::Status status;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    status = call(c, &v1::LogisticPackageApiService::Stub::CreatePackageV1, request, response, key);
    if (!outcome_unknown(status)) {
      break;
    }
  }
  if (status.ok()) {
    std::cout << "created package " << response.id() << '\n';
  } else if (outcome_unknown(status)) {
    std::cerr << "the create may have happened: retry with --idempotency-key " << key << '\n';
  }
  return status;
}

grpc::Status run_describe(const client& c, arg_list& args) {
  v1::DescribePackageV1Request request;
  request.set_packageid(take_id(args, "describe"));
  expect_end(args, "describe");

  v1::DescribePackageV1Response response;
  grpc::Status status
      = call(c, &v1::LogisticPackageApiService::Stub::DescribePackageV1, request, response);
  if (status.ok()) {
    print_fields(package_fields(response.value(), format_time));
  }
  return status;
}

grpc::Status run_list(const client& c, arg_list& args) {
  v1::ListPackagesV1Request request;
  while (!args.empty()) {
    std::string_view token = args.take();
    if (token == "--limit") {
      request.set_limit(parse_count(token, args.take_value(token)));
    } else if (token == "--cursor") {
      request.set_cursor(parse_count(token, args.take_value(token)));
    } else if (token == "--offset") {
      request.set_offset(parse_count(token, args.take_value(token)));
    } else {
      throw unexpected("list", token);
    }
  }

  v1::ListPackagesV1Response response;
  grpc::Status status
      = call(c, &v1::LogisticPackageApiService::Stub::ListPackagesV1, request, response);
  if (status.ok()) {
    std::vector<std::vector<std::string>> rows{
        {"ID", "TITLE", "MATERIAL", "VOLUME", "REUSABLE", "CREATED"}};
    for (const v1::Package& p : response.packages()) {
      rows.push_back({std::to_string(p.id()), p.title(), p.material(),
                      format_volume(p.maximumvolume()), format_bool(p.reusable()),
                      format_time(p.created())});
    }
    print_table(rows);
    if (response.nextcursor() != 0) {
      std::cout << "next cursor: " << response.nextcursor() << '\n';
    }
  }
  return status;
}

grpc::Status run_update(const client& c, arg_list& args) {
  v1::UpdatePackageV1Request request;
  request.set_packageid(take_id(args, "update"));
  while (!args.empty()) {
    std::string_view token = args.take();
    if (token == "--title") {
      request.set_title(take_change(args, token));
    } else if (token == "--material") {
      request.set_material(take_change(args, token));
    } else if (token == "--volume") {
      float volume = parse_volume(args.take_value(token));
      if (volume == 0.0f) { // 0 means "unchanged" on the wire
        throw usage_error("update: --volume must not be 0");
      }
      request.set_maximumvolume(volume);
    } else if (token == "--reusable") {
      request.mutable_reusable()->set_reusable(parse_bool(token, args.take_value(token)));
    } else {
      throw unexpected("update", token);
    }
  }

  v1::UpdatePackageV1Response response;
  grpc::Status status
      = call(c, &v1::LogisticPackageApiService::Stub::UpdatePackageV1, request, response);
  if (status.ok()) {
    std::cout << "updated package " << request.packageid() << '\n';
  }
  return status;
}

grpc::Status run_remove(const client& c, arg_list& args) {
  v1::RemovePackageV1Request request;
  request.set_packageid(take_id(args, "remove"));
  expect_end(args, "remove");

  v1::RemovePackageV1Response response;
  grpc::Status status
      = call(c, &v1::LogisticPackageApiService::Stub::RemovePackageV1, request, response);
  if (status.ok()) {
    std::cout << "removed package " << request.packageid() << '\n';
  }
  return status;
}

// ---- history commands ----

std::string format_trace(const std::string& trace_id) {
  return trace_id.empty() ? "-" : trace_id;
}

std::vector<std::string> event_row(const hv1::PackageEvent& e) {
  std::vector<std::string> row{std::to_string(e.seq()), std::to_string(e.id()),
                               hablof::proto::v1::EventType_Name(e.type()),
                               format_precise_time(e.created())};
  if (e.has_value()) {
    const v1::Package& p = e.value();
    row.insert(row.end(), {p.title(), p.material(), format_volume(p.maximumvolume()),
                           format_bool(p.reusable())});
  } else {
    row.insert(row.end(), {"-", "-", "-", "-"});
  }
  row.push_back(format_trace(e.traceid()));
  return row;
}

grpc::Status run_history_list(const client& c, arg_list& args) {
  hv1::ListPackageEventsV1Request request;
  request.set_packageid(take_id(args, "history list"));
  bool all = false;
  while (!args.empty()) {
    std::string_view token = args.take();
    if (token == "--limit") {
      request.set_limit(parse_number<int32_t>(token, args.take_value(token), "an integer"));
    } else if (token == "--cursor") {
      request.set_cursor(std::string(args.take_value(token)));
    } else if (token == "--all") {
      all = true;
    } else {
      throw unexpected("history list", token);
    }
  }

  std::vector<std::vector<std::string>> rows{
      {"SEQ", "EVENT", "TYPE", "TIME", "TITLE", "MATERIAL", "VOLUME", "REUSABLE", "TRACE"}};
  hv1::ListPackageEventsV1Response response;
  grpc::Status status;
  do {
    response.Clear();
    status = call(c, &hv1::PackageHistoryService::Stub::ListPackageEventsV1, request, response);
    if (!status.ok()) {
      return status;
    }
    for (const hv1::PackageEvent& e : response.events()) {
      rows.push_back(event_row(e));
    }
    request.set_cursor(response.nextcursor());
  } while (all && !response.nextcursor().empty());
  if (rows.size() == 1) {
    std::cout << "no events of package " << request.packageid() << '\n';
  } else {
    print_table(rows);
  }
  if (!response.nextcursor().empty()) {
    std::cout << "next cursor: " << response.nextcursor() << '\n';
  }
  return status;
}

grpc::Status run_history_at(const client& c, arg_list& args) {
  hv1::GetPackageAtV1Request request;
  request.set_packageid(take_id(args, "history at"));
  if (args.empty() || is_flag(args.peek())) {
    throw usage_error("history at: missing TIME");
  }
  std::string_view time = args.take();
  if (!TimeUtil::FromString(std::string(time), request.mutable_time())) {
    throw usage_error("invalid TIME " + quote(time)
                      + ": expected an RFC 3339 time, e.g. 2026-12-02T06:48:56Z");
  }
  expect_end(args, "history at");

  hv1::GetPackageAtV1Response response;
  grpc::Status status
      = call(c, &hv1::PackageHistoryService::Stub::GetPackageAtV1, request, response);
  if (status.ok()) {
    const hv1::PackageEvent& e = response.event();
    auto fields = package_fields(response.value(), format_precise_time);
    fields.insert(
        fields.end(),
        {
            {"As of event",
             std::to_string(e.seq()) + " (" + hablof::proto::v1::EventType_Name(e.type()) + " at "
                 + format_precise_time(e.created()) + ", id " + std::to_string(e.id()) + ")"},
            {"Trace", format_trace(e.traceid())},
        });
    print_fields(fields);
  }
  return status;
}

using command_fn = grpc::Status (*)(const client&, arg_list&);

struct command {
  command_fn run;
  bool history; // served by the history API (--history-addr)
};

command take_command(arg_list& args) {
  static const std::pair<std::string_view, command_fn> commands[] = {
      {"create", run_create}, {"describe", run_describe}, {"list", run_list},
      {"update", run_update}, {"remove", run_remove},
  };
  static const std::pair<std::string_view, command_fn> history_commands[] = {
      {"list", run_history_list},
      {"at", run_history_at},
  };
  if (args.empty()) {
    throw usage_error("missing command");
  }
  std::string_view name = args.take();
  if (name == "history") {
    if (args.empty()) {
      throw usage_error("history: missing command (list or at)");
    }
    std::string_view sub = args.take();
    for (const auto& [command_name, run] : history_commands) {
      if (sub == command_name) {
        return {run, true};
      }
    }
    throw usage_error("unknown command 'history " + std::string(sub) + "'");
  }
  for (const auto& [command_name, run] : commands) {
    if (name == command_name) {
      return {run, false};
    }
  }
  throw usage_error("unknown command " + quote(name));
}

} // namespace

int main(int argc, char** argv) {
  arg_list args(argc, argv);
  if (args.empty()) {
    std::cerr << usage_text;
    return 2;
  }
  // "--help" is never a valid flag value (values may not start with "--"), so it works anywhere.
  if (args.contains("--help")) {
    std::cout << usage_text;
    return 0;
  }
  try {
    options opts = parse_global_options(args);
    command cmd = take_command(args);
    std::string addr = cmd.history ? opts.history_addr : opts.addr;
    grpc::Status status = cmd.run(connect(std::move(opts), addr), args);
    if (!status.ok()) {
      print_error(status);
      return 1;
    }
    return 0;
  } catch (const usage_error& e) {
    std::cerr << "lpa-cli: " << e.what() << " (see lpa-cli --help)\n";
    return 2;
  }
}
