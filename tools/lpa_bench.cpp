// lpa-bench: a load generator for LogisticPackageApiService (see usage below and README,
// "Benchmarks"). Prints one line of key=value pairs (tools/bench.sh reads it) or, with --json,
// one JSON object.
//
// Closed loop (default): CLIENTS threads each send one call at a time for SECONDS seconds.
// Open loop (--rate R): calls are scheduled R per second for SECONDS seconds and sent on
// schedule without waiting for replies (gRPC's callback API). Each call's latency runs from its
// scheduled send time, so a server that queues cannot hide it by slowing the sender down
// (coordinated omission).

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <grpcpp/grpcpp.h>

#include "logistic_package_api.grpc.pb.h"
#include "tools/grpc_client.hpp"

namespace {

namespace v1 = hablof::logistic_package_api::v1;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

const char* const usage
    = R"(usage: lpa-bench [--addr HOST:PORT] [--seconds S] [--clients N | --rate R]
                 [--deadline-ms D] [--mix create=W,describe=W,list=W,update=W]
                 [--idempotency-keys] [--ids-out FILE] [--json]
                 [--tls-ca FILE] [--tls-cert FILE --tls-key FILE]
  Closed loop (default): N clients (8) each send one call at a time for S seconds (10).
  Open loop (--rate R): R calls per second on a fixed schedule for S seconds, not waiting for
    replies; latency counts from each call's scheduled send time.
  --deadline-ms   deadline of each call (5000)
  --mix           weights of the methods (default create=100); describe and update use ids
                  created earlier in the run (a create is sent while there are none)
  --idempotency-keys  send a unique idempotency-key metadata with each create
  --ids-out FILE  one line per create: "<idempotency-key or -> <status code> <id or 0>"
  --json          one JSON object instead of the key=value line
  --tls-ca/--tls-cert/--tls-key  TLS (and mTLS) to the server, as lpa-cli
  Exit code: 0 when every call returned OK, 1 otherwise (the report is printed either way),
  2 on a usage error.
)";

// ---- options ----

enum class method { create, describe, list, update };
constexpr std::array<method, 4> methods{method::create, method::describe, method::list,
                                        method::update};

const char* name_of(method m) {
  switch (m) {
  case method::create:
    return "create";
  case method::describe:
    return "describe";
  case method::list:
    return "list";
  case method::update:
    return "update";
  }
  return "?";
}

using method_mix = std::array<int, methods.size()>; // weights, indexed by method

struct options {
  std::string addr = "127.0.0.1:8082";
  int clients = 8;
  int seconds = 10;
  double rate = 0; // calls per second; 0: closed loop
  milliseconds deadline{5000};
  method_mix mix{100, 0, 0, 0};
  bool idempotency_keys = false;
  bool json = false;
  std::string ids_out;
  lpa::client::tls_files tls;
};

struct help_requested {};

template <class T>
T parse_positive(const std::string& flag, const std::string& text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value > 0))
    throw std::invalid_argument(flag + " expects a positive number, got '" + text + "'");
  return value;
}

// "create=70,describe=20,list=5,update=5"; methods left out weigh 0.
method_mix parse_mix(const std::string& text) {
  method_mix mix{};
  std::istringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    auto eq = item.find('=');
    auto name = item.substr(0, eq);
    auto m = std::find_if(methods.begin(), methods.end(),
                          [&](method candidate) { return name == name_of(candidate); });
    if (eq == std::string::npos || m == methods.end())
      throw std::invalid_argument("--mix: expected METHOD=WEIGHT with METHOD one of create, "
                                  "describe, list, update, got '"
                                  + item + "'");
    int weight = 0;
    auto value = item.substr(eq + 1);
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), weight);
    if (ec != std::errc() || end != value.data() + value.size() || weight < 0)
      throw std::invalid_argument("--mix: weight of " + name + " must be an integer >= 0");
    mix[static_cast<size_t>(m - methods.begin())] = weight;
  }
  if (std::all_of(mix.begin(), mix.end(), [](int w) { return w == 0; }))
    throw std::invalid_argument("--mix: at least one weight must be positive");
  return mix;
}

// Sets the option `flag`, which takes a value.
void set_option(options& o, const std::string& flag, const std::string& value) {
  if (flag == "--addr")
    o.addr = value;
  else if (flag == "--clients")
    o.clients = parse_positive<int>(flag, value);
  else if (flag == "--seconds")
    o.seconds = parse_positive<int>(flag, value);
  else if (flag == "--rate")
    o.rate = parse_positive<double>(flag, value);
  else if (flag == "--deadline-ms")
    o.deadline = milliseconds{parse_positive<int>(flag, value)};
  else if (flag == "--mix")
    o.mix = parse_mix(value);
  else if (flag == "--ids-out")
    o.ids_out = value;
  else if (lpa::client::is_tls_flag(flag))
    lpa::client::set_tls_file(o.tls, flag, value);
  else
    throw std::invalid_argument("unknown option " + flag);
}

// Throws help_requested for --help, std::invalid_argument for anything it does not know.
options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h")
      throw help_requested{};
    if (flag == "--idempotency-keys")
      o.idempotency_keys = true;
    else if (flag == "--json")
      o.json = true;
    else if (i + 1 < argc)
      set_option(o, flag, argv[++i]);
    else
      throw std::invalid_argument(flag + " needs a value");
  }
  return o;
}

// ---- what the calls return ----

struct call_result {
  method m;
  grpc::StatusCode code;
  double latency_ms;
};

// For --ids-out: what the client was told about one create.
struct create_result {
  std::string key; // "-" without --idempotency-keys
  grpc::StatusCode code;
  uint64_t id; // 0 unless OK
};

// Ids created in this run, for describe and update.
class id_pool {
public:
  void add(uint64_t id) {
    std::lock_guard lock{mutex_};
    ids_.push_back(id);
  }
  // 0 while there are none.
  uint64_t pick(std::mt19937_64& rng) {
    std::lock_guard lock{mutex_};
    if (ids_.empty())
      return 0;
    return ids_[std::uniform_int_distribution<size_t>(0, ids_.size() - 1)(rng)];
  }

private:
  std::mutex mutex_;
  std::vector<uint64_t> ids_;
};

// Everything the calls report, from any thread.
class recorder {
public:
  void add(const call_result& r) {
    std::lock_guard lock{mutex_};
    calls_.push_back(r);
  }
  void add(const create_result& r) {
    std::lock_guard lock{mutex_};
    creates_.push_back(r);
  }
  // Only once every call is done.
  const std::vector<call_result>& calls() const { return calls_; }
  const std::vector<create_result>& creates() const { return creates_; }

private:
  std::mutex mutex_;
  std::vector<call_result> calls_;
  std::vector<create_result> creates_;
};

// ---- sending one call ----

// Shared by every call of a run.
struct workload {
  const options& opts;
  v1::LogisticPackageApiService::Stub& stub;
  id_pool ids;
  recorder results;
  std::string key_prefix; // unique to this run
  std::atomic<uint64_t> sequence{0};
};

// What to send next: a method of the mix and, for describe and update, a created id.
struct call_plan {
  method m;
  uint64_t id = 0;
  uint64_t n = 0; // this call's sequence number in the run
};

call_plan plan_call(workload& w, std::mt19937_64& rng) {
  const auto& mix = w.opts.mix;
  std::discrete_distribution<size_t> pick_method(mix.begin(), mix.end());
  call_plan plan{methods[pick_method(rng)]};
  plan.n = w.sequence++;
  if (plan.m == method::describe || plan.m == method::update || plan.m == method::list) {
    plan.id = w.ids.pick(rng);
    if (plan.id == 0 && plan.m != method::list)
      plan.m = method::create; // nothing to describe or update yet
  }
  return plan;
}

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

// A call in flight: gRPC needs its context and messages until the reply.
template <class Req, class Rep>
struct in_flight {
  grpc::ClientContext ctx;
  Req req;
  Rep rep;
};

using service = v1::LogisticPackageApiService::StubInterface::async_interface;

template <class Req, class Rep>
using async_method
    = void (service::*)(grpc::ClientContext*, const Req*, Rep*, std::function<void(grpc::Status)>);

// Sends `req` without waiting; `done` gets the status and the reply on a gRPC thread.
template <class Req, class Rep>
void send(workload& w, async_method<Req, Rep> m, Req req, const std::string& idempotency_key,
          std::function<void(const grpc::Status&, const Rep&)> done) {
  auto call = std::make_shared<in_flight<Req, Rep>>();
  call->req = std::move(req);
  call->ctx.set_deadline(std::chrono::system_clock::now() + w.opts.deadline);
  if (!idempotency_key.empty())
    call->ctx.AddMetadata("idempotency-key", idempotency_key);
  (w.stub.async()->*m)(&call->ctx, &call->req, &call->rep,
                       [call, done = std::move(done)](grpc::Status s) { done(s, call->rep); });
}

// Sends the call `plan` describes; `done` runs once it is answered and recorded. Latency counts
// from `since`.
void start_call(workload& w, const call_plan& plan, clock_type::time_point since,
                const std::function<void()>& done) {
  auto record = [&w, m = plan.m, since, done](const grpc::Status& s) {
    w.results.add(call_result{m, s.error_code(), ms_since(since)});
    done();
  };
  switch (plan.m) {
  case method::create: {
    v1::CreatePackageV1Request req;
    req.set_title("bench-" + std::to_string(plan.n % 100000));
    req.set_material("cardboard");
    req.set_maximumvolume(1500.5f);
    req.set_reusable(plan.n % 2 == 0);
    std::string key = w.opts.idempotency_keys ? w.key_prefix + std::to_string(plan.n) : "";
    send<v1::CreatePackageV1Request, v1::CreatePackageV1Response>(
        w, &service::CreatePackageV1, std::move(req), key,
        [&w, key, record](const grpc::Status& s, const v1::CreatePackageV1Response& rep) {
          uint64_t id = s.ok() ? rep.id() : 0;
          if (id != 0)
            w.ids.add(id);
          w.results.add(create_result{key.empty() ? "-" : key, s.error_code(), id});
          record(s);
        });
    return;
  }
  case method::describe: {
    v1::DescribePackageV1Request req;
    req.set_packageid(plan.id);
    send<v1::DescribePackageV1Request, v1::DescribePackageV1Response>(
        w, &service::DescribePackageV1, std::move(req), "",
        [record](const grpc::Status& s, const auto&) { record(s); });
    return;
  }
  case method::list: {
    v1::ListPackagesV1Request req;
    req.set_limit(10);
    req.set_cursor(plan.id);
    send<v1::ListPackagesV1Request, v1::ListPackagesV1Response>(
        w, &service::ListPackagesV1, std::move(req), "",
        [record](const grpc::Status& s, const auto&) { record(s); });
    return;
  }
  case method::update: {
    v1::UpdatePackageV1Request req;
    req.set_packageid(plan.id);
    req.set_title("bench-upd-" + std::to_string(plan.n % 100000));
    send<v1::UpdatePackageV1Request, v1::UpdatePackageV1Response>(
        w, &service::UpdatePackageV1, std::move(req), "",
        [record](const grpc::Status& s, const auto&) { record(s); });
    return;
  }
  }
}

// ---- the two loops ----

// Counts calls in flight, so a loop can wait for the last reply. The notification happens under
// the lock: the waiter cannot return, and destroy the counter, before finished() is done with it.
class in_flight_count {
public:
  void started() {
    std::lock_guard lock{mutex_};
    ++count_;
  }
  void finished() {
    std::lock_guard lock{mutex_};
    if (--count_ == 0)
      all_done_.notify_all();
  }
  void wait_for_all() {
    std::unique_lock lock{mutex_};
    all_done_.wait(lock, [this] { return count_ == 0; });
  }

private:
  std::mutex mutex_;
  std::condition_variable all_done_;
  size_t count_ = 0;
};

// One closed-loop client: the next call once the previous one is answered.
void run_client(workload& w, clock_type::time_point end, uint64_t seed) {
  std::mt19937_64 rng{seed};
  while (clock_type::now() < end) {
    in_flight_count pending;
    pending.started();
    start_call(w, plan_call(w, rng), clock_type::now(), [&pending] { pending.finished(); });
    pending.wait_for_all();
  }
}

void run_closed_loop(workload& w) {
  auto end = clock_type::now() + std::chrono::seconds{w.opts.seconds};
  std::vector<std::thread> clients;
  for (int i = 0; i < w.opts.clients; ++i)
    clients.emplace_back([&w, end, i] { run_client(w, end, static_cast<uint64_t>(i) + 1); });
  for (auto& c : clients)
    c.join();
}

void run_open_loop(workload& w) {
  std::mt19937_64 rng{1};
  in_flight_count pending;
  const auto start = clock_type::now();
  const auto calls = static_cast<uint64_t>(w.opts.rate * w.opts.seconds);
  const std::chrono::duration<double> interval{1.0 / w.opts.rate};
  for (uint64_t i = 0; i < calls; ++i) {
    auto scheduled = start + std::chrono::duration_cast<clock_type::duration>(interval * i);
    std::this_thread::sleep_until(scheduled); // the schedule itself, not a wait for replies
    pending.started();
    start_call(w, plan_call(w, rng), scheduled, [&pending] { pending.finished(); });
  }
  pending.wait_for_all();
}

// ---- the report ----

struct latency_summary {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};

// Nearest-rank percentiles of OK calls' latencies.
latency_summary summarize(std::vector<double> ms) {
  latency_summary s;
  if (ms.empty())
    return s;
  std::sort(ms.begin(), ms.end());
  auto at = [&](double p) {
    auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(ms.size())));
    return ms[std::min(ms.size(), std::max<size_t>(rank, 1)) - 1];
  };
  return {at(0.5), at(0.9), at(0.99), at(0.999), ms.back()};
}

struct tally {
  std::map<std::string, size_t> codes; // status code name -> calls
  std::vector<double> ok_latencies_ms;

  void add(const call_result& r) {
    ++codes[lpa::status_code_name(r.code)];
    if (r.code == grpc::StatusCode::OK)
      ok_latencies_ms.push_back(r.latency_ms);
  }
  size_t ok() const { return ok_latencies_ms.size(); }
  size_t total() const {
    size_t n = 0;
    for (const auto& [code, count] : codes)
      n += count;
    return n;
  }
};

struct report {
  const options& opts;
  double elapsed_s;
  std::map<std::string, tally> per_method; // only methods that were called
  tally all;

  double goodput() const { return static_cast<double>(all.ok()) / elapsed_s; }
};

report make_report(const workload& w, double elapsed_s) {
  report r{w.opts, elapsed_s, {}, {}};
  for (const auto& call : w.results.calls()) {
    r.per_method[name_of(call.m)].add(call);
    r.all.add(call);
  }
  return r;
}

std::string codes_text(const tally& t) {
  std::string out;
  for (const auto& [code, count] : t.codes)
    out += (out.empty() ? "" : ",") + code + ":" + std::to_string(count);
  return out.empty() ? "none" : out;
}

// " deadline_exceeded=N resource_exhausted=N unavailable=N" (always, 0 when none), then any other
// non-OK code seen, as lower-case keys.
std::string code_keys_text(const tally& t) {
  std::map<std::string, size_t> counts{
      {"DEADLINE_EXCEEDED", 0}, {"RESOURCE_EXHAUSTED", 0}, {"UNAVAILABLE", 0}};
  for (const auto& [code, count] : t.codes)
    if (code != "OK")
      counts[code] = count;
  std::string out;
  for (const auto& [code, count] : counts) {
    std::string key = code;
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out += " " + key + "=" + std::to_string(count);
  }
  return out;
}

// One line; the first keys are the ones tools/bench.sh has always read.
void print_text(const report& r) {
  auto lat = summarize(r.all.ok_latencies_ms);
  std::cout << "ok=" << r.all.ok() << " errors=" << r.all.total() - r.all.ok()
            << " per_second=" << r.goodput() << " p50_ms=" << lat.p50 << " p99_ms=" << lat.p99
            << " ok_per_second=" << r.goodput() << code_keys_text(r.all) << " p90_ms=" << lat.p90
            << " p999_ms=" << lat.p999 << " max_ms=" << lat.max
            << " mode=" << (r.opts.rate > 0 ? "open" : "closed") << " offered_rate=" << r.opts.rate
            << " clients=" << (r.opts.rate > 0 ? 0 : r.opts.clients)
            << " seconds=" << r.opts.seconds << " elapsed_s=" << r.elapsed_s
            << " codes=" << codes_text(r.all) << std::endl;
}

std::string json_tally(const tally& t) {
  std::ostringstream out;
  out << "{\"counts\":{";
  const char* sep = "";
  for (const auto& [code, count] : t.codes) {
    out << sep << '"' << code << "\":" << count;
    sep = ",";
  }
  auto lat = summarize(t.ok_latencies_ms);
  out << "},\"latency_ms\":{\"p50\":" << lat.p50 << ",\"p90\":" << lat.p90 << ",\"p99\":" << lat.p99
      << ",\"p99.9\":" << lat.p999 << ",\"max\":" << lat.max << "}}";
  return out.str();
}

void print_json(const report& r) {
  std::cout << "{\"mode\":\"" << (r.opts.rate > 0 ? "open" : "closed") << "\""
            << ",\"offered_rate\":" << r.opts.rate
            << ",\"clients\":" << (r.opts.rate > 0 ? 0 : r.opts.clients)
            << ",\"seconds\":" << r.opts.seconds << ",\"elapsed_seconds\":" << r.elapsed_s
            << ",\"deadline_ms\":" << r.opts.deadline.count() << ",\"methods\":{";
  const char* sep = "";
  for (const auto& [name, t] : r.per_method) {
    std::cout << sep << '"' << name << "\":" << json_tally(t);
    sep = ",";
  }
  std::cout << "},\"total\":" << json_tally(r.all) << ",\"goodput\":" << r.goodput() << "}"
            << std::endl;
}

void write_ids(const std::string& path, const std::vector<create_result>& creates) {
  std::ofstream out(path);
  for (const auto& c : creates)
    out << c.key << ' ' << lpa::status_code_name(c.code) << ' ' << c.id << '\n';
  out.close();
  if (!out)
    throw std::runtime_error("cannot write --ids-out '" + path + "'");
}

// Unique to this run: keys of two runs must not collide.
std::string run_key_prefix() {
  std::random_device entropy;
  std::ostringstream out;
  out << "lpa-bench-" << ::getpid() << '-' << std::hex << entropy() << entropy() << '-';
  return out.str();
}

} // namespace

int main(int argc, char** argv) {
  options o;
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  try {
    o = parse(argc, argv);
    credentials = lpa::client::channel_credentials(o.tls);
  } catch (const help_requested&) {
    std::cout << usage;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "lpa-bench: " << e.what() << "\n" << usage;
    return 2;
  }
  auto stub = v1::LogisticPackageApiService::NewStub(grpc::CreateChannel(o.addr, credentials));
  workload w{o, *stub, {}, {}, run_key_prefix()};
  auto start = clock_type::now();
  if (o.rate > 0)
    run_open_loop(w);
  else
    run_closed_loop(w);
  auto r = make_report(w, std::chrono::duration<double>(clock_type::now() - start).count());
  try {
    if (!o.ids_out.empty())
      write_ids(o.ids_out, w.results.creates());
  } catch (const std::exception& e) {
    std::cerr << "lpa-bench: " << e.what() << "\n";
    return 1;
  }
  if (o.json)
    print_json(r);
  else
    print_text(r);
  return r.all.ok() == r.all.total() ? 0 : 1;
}
