// Fault injection on package-history under a load of LPA_FAULT_EVENTS (default 50,000) events
// produced straight to the topic: every test ends with the history compared to what was
// produced (each event recorded once, each package's state at its last seq). Each test also
// checks that its fault really happened.
#include "tests/support/api_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/history_fixture.hpp"
#include "tests/support/running_stages.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <random>
#include <thread>

using namespace lpa::test;

namespace {

constexpr size_t packages = 500; // events per package = fault_events() / packages
const std::string m = "logistic_package_api_history_";

uint64_t rounds() {
  return std::max<uint64_t>(1, fault_events() / packages);
}

// Produces the rounds from a thread, ten at a time, while the test injects faults.
class load {
public:
  explicit load(history_fixture& f) {
    thread_ = std::thread{[this, &f] {
      for (uint64_t seq = 1; seq <= rounds(); seq += 10) {
        auto part = f.produce_rounds(packages, seq, std::min(seq + 9, rounds()));
        produced_.insert(produced_.end(), part.begin(), part.end());
      }
    }};
  }
  std::vector<committed_event> finish() {
    thread_.join();
    return produced_;
  }

private:
  std::vector<committed_event> produced_;
  std::thread thread_;
};

std::vector<std::pair<std::string, caf::actor>> stages(lpa::history::history_service& h) {
  return running_stages(h.system(), h.supervisor());
}

double metric(int port, const std::string& series) {
  int status = 0;
  return metric_value(http_get(port, "/metrics", status), series);
}

// Waits (bounded) until a child process serves /metrics on `port`.
bool await_listening(int port) {
  for (int i = 0; i < 300; ++i) {
    try {
      int status = 0;
      http_get(port, "/metrics", status);
      return true;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(100ms); // the child is starting: nothing to await but the port
    }
  }
  return false;
}

// The package-history binary as a child process against the fixture's databases and broker.
struct child_history {
  pid_t pid = 0;
  int metrics_port = 0;
};

child_history spawn_history(history_fixture& f) {
  child_history child;
  child.metrics_port = free_port();
  child.pid = spawn_with_settings(
      LPA_HISTORY_BIN, {
                           "LPA_CONFIG=" LPA_SOURCE_DIR "/config/config.yaml",
                           "LPA_HISTORY_DSN=" + f.dsn,
                           "LPA_KAFKA_BROKERS=" + f.p.cfg.kafka.brokers,
                           "LPA_LOG_LEVEL=warn",
                           "LPA_HISTORY_METRICS_HOST=127.0.0.1",
                           "LPA_HISTORY_METRICS_PORT=" + std::to_string(child.metrics_port),
                           "LPA_HISTORY_STATUS_HOST=127.0.0.1",
                           "LPA_HISTORY_STATUS_PORT=0",
                           "LPA_HISTORY_API_HOST=127.0.0.1",
                           "LPA_HISTORY_API_PORT=0",
                           "LPA_HISTORY_WINDOW=2000",
                       });
  return child;
}

} // namespace

TEST_CASE("Killing the consumer and the writers repeatedly loses nothing and applies nothing "
          "twice",
          "[fault][history]") {
  history_fixture f;
  auto h = f.start_history();
  load produced{f};
  std::mt19937 rng{42};
  int kills = 0;
  for (int round = 0; round < 30; ++round) {
    const std::string kind = round % 2 == 0 ? "kafka-consumer" : "writer";
    std::vector<caf::actor> targets;
    for (auto& [name, handle] : stages(*h))
      if (name.rfind(kind, 0) == 0)
        targets.push_back(handle);
    if (!targets.empty()) {
      caf::anon_send_exit(targets[rng() % targets.size()], caf::exit_reason::kill);
      ++kills;
    }
    std::this_thread::sleep_for(150ms); // pacing between kills, not synchronization
  }
  auto committed = produced.finish();
  INFO(kills << " kills");
  CHECK(kills >= 20);
  f.expect_history_of(committed);
  CHECK(metric(h->metrics_port(), m + "events_recorded_total") == committed.size());
  CHECK(metric(h->metrics_port(),
               "logistic_package_api_actor_restarts_total{actor=\"kafka-consumer\"}")
        >= 1);
  CHECK(metric(h->metrics_port(), "logistic_package_api_actor_restarts_total{actor=\"writer-1\"}")
            + metric(h->metrics_port(),
                     "logistic_package_api_actor_restarts_total{actor=\"writer-2\"}")
        >= 1);
}

TEST_CASE("kill -9 of package-history, restarted several times, loses nothing",
          "[fault][history]") {
  history_fixture f;
  load produced{f};
  std::mt19937 rng{7};
  for (int i = 0; i < 4; ++i) {
    auto child = spawn_history(f);
    std::this_thread::sleep_for(std::chrono::milliseconds{1500 + rng() % 1500});
    ::kill(child.pid, SIGKILL);
    CHECK(wait_exit(child.pid) == 128 + SIGKILL);
  }
  auto committed = produced.finish();
  auto survivor = spawn_history(f); // rejoins the group and reads from the committed offsets
  f.expect_history_of(committed);
  ::kill(survivor.pid, SIGTERM);
  CHECK(wait_exit(survivor.pid) == 0);
}

TEST_CASE("Two instances rebalancing under load: one joins, the other leaves, nothing is lost",
          "[fault][history]") {
  history_fixture f;
  auto first = f.start_history();
  load produced{f};
  REQUIRE(await_metric(first->metrics_port(), m + "events_recorded_total",
                       [](double v) { return v > 0; }));
  auto second = spawn_history(f);
  REQUIRE(await_listening(second.metrics_port));
  // It got partitions (cooperative-sticky: the first gave some up) and records events.
  CHECK(await_metric(second.metrics_port, m + "events_recorded_total",
                     [](double v) { return v > 0; }));
  auto first_rebalances = metric(first->metrics_port(), m + "rebalances_total");
  CHECK(first_rebalances >= 2); // assigned, then some revoked
  first->drain();               // it leaves: the second takes every partition
  CHECK(first->wait());
  auto committed = produced.finish();
  f.expect_history_of(committed);
  ::kill(second.pid, SIGTERM);
  CHECK(wait_exit(second.pid) == 0);
}
