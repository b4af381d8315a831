// lpa-bench: a closed-loop load generator for CreatePackageV1. CLIENTS threads each send one call
// at a time for SECONDS seconds; prints calls per second and latency percentiles as one line of
// key=value pairs (tools/bench.sh reads it).
//
//   lpa-bench [--addr HOST:PORT] [--clients N] [--seconds S]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "logistic_package_api.grpc.pb.h"

namespace {

namespace v1 = hablof::logistic_package_api::v1;
using clock_type = std::chrono::steady_clock;

struct options {
  std::string addr = "127.0.0.1:8082";
  int clients = 8;
  int seconds = 10;
};

const char* const usage = "usage: lpa-bench [--addr HOST:PORT] [--clients N] [--seconds S]\n"
                          "  CLIENTS threads each send one CreatePackageV1 at a time for SECONDS\n"
                          "  seconds (defaults: 127.0.0.1:8082, 8 clients, 10 seconds).\n";

struct help_requested {};

// Throws help_requested for --help, std::invalid_argument for anything it does not know.
options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h")
      throw help_requested{};
    if (i + 1 >= argc)
      throw std::invalid_argument(flag + " needs a value");
    std::string value = argv[++i];
    if (flag == "--addr")
      o.addr = value;
    else if (flag == "--clients")
      o.clients = std::max(1, std::atoi(value.c_str()));
    else if (flag == "--seconds")
      o.seconds = std::max(1, std::atoi(value.c_str()));
    else
      throw std::invalid_argument("unknown option " + flag);
  }
  return o;
}

struct client_result {
  std::vector<double> latencies_ms;
  size_t errors = 0;
};

client_result run_client(const std::shared_ptr<grpc::Channel>& channel, clock_type::time_point end,
                         int client) {
  auto stub = v1::LogisticPackageApiService::NewStub(channel);
  client_result r;
  for (uint64_t n = 0; clock_type::now() < end; ++n) {
    v1::CreatePackageV1Request req;
    req.set_title("bench-" + std::to_string(client) + "-" + std::to_string(n % 100000));
    req.set_material("cardboard");
    req.set_maximumvolume(1500.5f);
    req.set_reusable(n % 2 == 0);
    v1::CreatePackageV1Response rep;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds{5});
    auto started = clock_type::now();
    auto status = stub->CreatePackageV1(&ctx, req, &rep);
    if (status.ok())
      r.latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(clock_type::now() - started).count());
    else
      ++r.errors;
  }
  return r;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty())
    return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))];
}

} // namespace

int main(int argc, char** argv) {
  options o;
  try {
    o = parse(argc, argv);
  } catch (const help_requested&) {
    std::cout << usage;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "lpa-bench: " << e.what() << "\n" << usage;
    return 2;
  }
  auto channel = grpc::CreateChannel(o.addr, grpc::InsecureChannelCredentials());
  auto start = clock_type::now();
  auto end = start + std::chrono::seconds{o.seconds};
  std::vector<client_result> results(static_cast<size_t>(o.clients));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.clients; ++i)
    threads.emplace_back([&, i] { results[static_cast<size_t>(i)] = run_client(channel, end, i); });
  for (auto& t : threads)
    t.join();
  auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  std::vector<double> all;
  size_t errors = 0;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_ms.begin(), r.latencies_ms.end());
    errors += r.errors;
  }
  std::sort(all.begin(), all.end());
  std::cout << "ok=" << all.size() << " errors=" << errors << " per_second=" << all.size() / elapsed
            << " p50_ms=" << percentile(all, 0.5) << " p99_ms=" << percentile(all, 0.99)
            << std::endl;
  return errors == 0 ? 0 : 1;
}
