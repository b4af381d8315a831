// Fault injection on the retranslator under a load of LPA_FAULT_EVENTS (default 50,000) events:
// every test ends with the history checker: 0 lost, 0 reordered per package, duplicates printed.
// Each test also checks that its fault really happened.
#include "tests/support/api_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/pipeline_fixture.hpp"
#include "tests/support/running_stages.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <iostream>
#include <random>
#include <thread>

using namespace lpa::test;

namespace {

constexpr size_t packages = 2500; // events per package = fault_events() / packages

size_t rounds() {
  return std::max<size_t>(1, fault_events() / packages);
}

void expect_clean_history(pipeline_fixture& p, const std::vector<committed_event>& committed) {
  auto report = p.check(committed, 300s);
  std::cout << "history: " << report.summary() << std::endl;
  for (const auto& example : report.examples)
    std::cout << "  " << example << std::endl;
  CHECK(report.consumed >= report.committed);
  CHECK(report.lost == 0);
  CHECK(report.reordered == 0);
  CHECK(report.unknown == 0);
}

// Commits the rounds from a thread while the test injects faults.
class committer {
public:
  explicit committer(pipeline_fixture& p) : p_(p) {
    thread_ = std::thread{[this] {
      for (uint64_t seq = 1; seq <= rounds(); ++seq) {
        for (;;) {
          try {
            auto round = p_.commit_round(packages, seq);
            std::lock_guard<std::mutex> guard{mutex_};
            committed_.insert(committed_.end(), round.begin(), round.end());
            break;
          } catch (const std::exception&) {
            // PostgreSQL restarting in that test: the API would answer UNAVAILABLE; retry
            std::this_thread::sleep_for(200ms);
          }
        }
      }
    }};
  }
  std::vector<committed_event> finish() {
    thread_.join();
    return committed_;
  }

private:
  pipeline_fixture& p_;
  std::mutex mutex_;
  std::vector<committed_event> committed_;
  std::thread thread_;
};

std::vector<std::pair<std::string, caf::actor>> stages(lpa::retranslator_service& relay) {
  return running_stages(relay.system(), relay.supervisor());
}

// The retranslator binary as a child process against the fixture's database and broker.
struct child_relay {
  pid_t pid = 0;
  int metrics_port = 0;
};

child_relay spawn_retranslator(pipeline_fixture& p) {
  child_relay child;
  child.metrics_port = free_port();
  child.pid = spawn_with_settings(
      LPA_RETRANSLATOR_BIN,
      {
          "LPA_CONFIG=" LPA_SOURCE_DIR "/config/config.yaml",
          "LPA_DB_DSN=" + p.cfg.db.dsn,
          "LPA_KAFKA_BROKERS=" + p.cfg.kafka.brokers,
          "LPA_LOG_LEVEL=warn",
          "LPA_RETRANSLATOR_METRICS_HOST=127.0.0.1",
          "LPA_RETRANSLATOR_METRICS_PORT=" + std::to_string(child.metrics_port),
          "LPA_RETRANSLATOR_LEASE=" + std::to_string(p.cfg.retranslator.lease.count()) + "ms",
          "LPA_RETRANSLATOR_POLL_INTERVAL=200ms",
          "LPA_RETRANSLATOR_BATCH_SIZE=200",
          "LPA_RETRANSLATOR_WINDOW=2000",
          "LPA_RETRANSLATOR_CLEANER_INTERVAL=10ms",
          "LPA_RETRANSLATOR_CLEANER_BATCH=200",
      });
  return child;
}

const std::string sent_total = "logistic_package_api_retranslator_events_sent_total";
const std::string in_flight_gauge = "logistic_package_api_retranslator_events_processing";

// The value of one series of a /metrics endpoint; -1 if absent.
double metric(int port, const std::string& series) {
  int status = 0;
  return metric_value(http_get(port, "/metrics", status), series);
}

double metric(lpa::retranslator_service& relay, const std::string& series) {
  return metric(relay.metrics_port(), series);
}

bool await_slots(pipeline_fixture& p,
                 const std::function<bool(const std::map<std::string, long long>&)>& holds,
                 std::chrono::seconds limit = 60s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (holds(p.slots_by_owner()))
      return true;
    std::this_thread::sleep_for(50ms); // polling a table: there is no event to await
  }
  return false;
}

// Both retranslators hold a fair share: about half of the 256 slots each.
bool shared_evenly(const std::map<std::string, long long>& owners) {
  return owners.size() == 2 && owners.begin()->second >= 100 && owners.rbegin()->second >= 100;
}

} // namespace

TEST_CASE("Killing every kind of stage repeatedly loses and reorders nothing", "[fault]") {
  pipeline_fixture p;
  auto relay = p.start_retranslator();
  committer writes{p};
  std::mt19937 rng{42};
  const std::vector<std::string> kinds{"consumer", "producer",    "sender",
                                       "cleaner",  "slot-keeper", "listener"};
  int kills = 0;
  for (int round = 0; round < 42; ++round) {
    const auto& kind = kinds[round % kinds.size()];
    auto running = stages(*relay);
    std::vector<caf::actor> targets;
    for (auto& [name, handle] : running)
      if (name.rfind(kind, 0) == 0)
        targets.push_back(handle);
    if (!targets.empty()) {
      caf::anon_send_exit(targets[rng() % targets.size()], caf::exit_reason::kill);
      ++kills;
    }
    std::this_thread::sleep_for(100ms); // pacing between kills, not synchronization
  }
  auto committed = writes.finish();
  INFO(kills << " kills");
  CHECK(kills >= 30);
  CHECK(metric(*relay, "logistic_package_api_actor_restarts_total{actor=\"sender\"}") >= 1);
  expect_clean_history(p, committed);
  CHECK(p.await_empty_outbox(120s));
}

TEST_CASE("kill -9 of the retranslator process, restarted several times, loses nothing",
          "[fault]") {
  pipeline_fixture p;
  committer writes{p};
  std::mt19937 rng{7};
  for (int i = 0; i < 4; ++i) {
    auto child = spawn_retranslator(p);
    std::this_thread::sleep_for(std::chrono::milliseconds{800 + rng() % 1200});
    ::kill(child.pid, SIGKILL);
    CHECK(wait_exit(child.pid) == 128 + SIGKILL);
  }
  auto committed = writes.finish();
  auto survivor = spawn_retranslator(p); // takes the killed ones' slots once their leases end
  expect_clean_history(p, committed);
  CHECK(p.await_empty_outbox(120s));
  ::kill(survivor.pid, SIGTERM);
  CHECK(wait_exit(survivor.pid) == 0); // SIGTERM: drained, exit 0
  CHECK(p.slots_held() == 0);          // and every slot released
}

TEST_CASE("Two retranslators on one database share the slots and keep order per package",
          "[fault]") {
  pipeline_fixture p;
  auto first = p.start_retranslator();
  auto second = p.start_retranslator();
  committer writes{p};
  CHECK(await_slots(p, shared_evenly));
  auto committed = writes.finish();
  expect_clean_history(p, committed);
  CHECK(p.await_empty_outbox(120s));
  CHECK(metric(*first, sent_total) > 0);
  CHECK(metric(*second, sent_total) > 0);
}

TEST_CASE("A retranslator joining and leaving under load: the slots are rebalanced, nothing is "
          "lost or reordered",
          "[fault][slots]") {
  pipeline_fixture p;
  auto first = p.start_retranslator();
  committer writes{p};
  REQUIRE(await_metric(first->metrics_port(), sent_total, [](double v) { return v > 0; }));
  auto joining = spawn_retranslator(p);
  CHECK(await_slots(p, shared_evenly)); // it joined: the first one handed half its slots over
  CHECK(await_metric(joining.metrics_port, sent_total, [](double v) { return v > 0; }));
  ::kill(joining.pid, SIGTERM); // it leaves cleanly: its slots are released at once
  CHECK(wait_exit(joining.pid) == 0);
  CHECK(await_slots(
      p, [](const auto& owners) { return owners.size() == 1 && owners.begin()->second == 256; }));
  auto committed = writes.finish();
  expect_clean_history(p, committed);
  CHECK(p.await_empty_outbox(120s));
}

TEST_CASE("A retranslator frozen (SIGSTOP) past its lease loses its slots to the other, which "
          "goes on, after SIGCONT the slots are shared again",
          "[fault][slots]") {
  pipeline_fixture p;
  auto live = p.start_retranslator();
  auto frozen = spawn_retranslator(p);
  committer writes{p};
  REQUIRE(await_slots(p, shared_evenly));
  ::kill(frozen.pid, SIGSTOP);
  auto sent_before = metric(*live, sent_total);
  // Its leases (3 s) run out; the live one takes every slot and delivers for both.
  CHECK(await_metric(live->metrics_port(), "logistic_package_api_retranslator_slots_owned",
                     [](double v) { return v == 256; }));
  CHECK(metric(*live, "logistic_package_api_retranslator_slot_takeovers_total") >= 100);
  CHECK(await_metric(live->metrics_port(), sent_total,
                     [&](double v) { return v > sent_before + 1000; }));
  ::kill(frozen.pid, SIGCONT);
  CHECK(await_slots(p, shared_evenly)); // it learnt it lost them, and rejoined
  auto committed = writes.finish();
  expect_clean_history(p, committed);
  CHECK(p.await_empty_outbox(120s));
  ::kill(frozen.pid, SIGTERM);
  CHECK(wait_exit(frozen.pid) == 0);
}

TEST_CASE("A stale owner whose records waited in librdkafka while its slots were taken over: "
          "after SIGCONT its deletes are fenced and nothing is reordered",
          "[fault][slots]") {
  pipeline_fixture p;
  auto stale = spawn_retranslator(p);
  REQUIRE(await_slots(
      p, [](const auto& owners) { return owners.size() == 1 && owners.begin()->second == 256; }));
  auto first = p.commit_rounds(packages, 2);
  REQUIRE(p.check(first).ok());
  REQUIRE(p.await_empty_outbox(60s));
  auto deletes_before
      = metric(stale.metrics_port, "logistic_package_api_retranslator_commit_to_ack_seconds_count");
  REQUIRE(deletes_before >= 5000);
  // Kafka goes away: the stale owner reads the next rounds and they wait in its librdkafka queue.
  p.kafka.set_down(true);
  auto second = p.commit_round(packages, 3);
  REQUIRE(await_metric(stale.metrics_port, in_flight_gauge, [](double v) { return v >= 2000; }));
  auto sent_stale = metric(stale.metrics_port, sent_total); // it cannot answer while stopped
  ::kill(stale.pid, SIGSTOP);
  p.kafka.set_down(false);
  // Another retranslator takes the slots after the stale lease expired and delivers everything.
  auto successor = p.start_retranslator();
  auto committed = first;
  committed.insert(committed.end(), second.begin(), second.end());
  CHECK(p.await_empty_outbox(120s));
  CHECK(metric(*successor, "logistic_package_api_retranslator_slot_takeovers_total") == 256);
  ::kill(stale.pid, SIGCONT);
  // Its queued records go out now (duplicates), but it deletes nothing: its epoch is stale.
  CHECK(await_metric(stale.metrics_port, sent_total,
                     [&](double v) { return v >= sent_stale + 2000; }));
  CHECK(metric(stale.metrics_port, "logistic_package_api_retranslator_commit_to_ack_seconds_count")
        == deletes_before);
  const size_t with_duplicates = committed.size() + 2000;
  p.reader->read_until([&](const auto& all) { return all.size() >= with_duplicates; }, 60s);
  auto report = p.check(committed, 120s);
  std::cout << "history: " << report.summary() << std::endl;
  CHECK(report.lost == 0);
  CHECK(report.reordered == 0);
  CHECK(report.duplicated >= 2000);
  ::kill(stale.pid, SIGTERM);
  CHECK(wait_exit(stale.pid) == 0);
}

TEST_CASE("An event refused for good holds back only its slot, then goes out in order once the "
          "cause is gone",
          "[fault]") {
  pipeline_fixture p;
  auto relay = p.start_retranslator();
  // A package with e1, then e2 too large for Kafka (refused by librdkafka), then e3.
  const uint64_t poisoned = 100000;
  auto insert = [&](uint64_t seq, const std::string& payload_sql) {
    pqxx::connection db{p.pg.dsn()};
    pqxx::work tx{db};
    auto id = tx.exec_params1("INSERT INTO package_event (package_id, event_type, package_seq,"
                              " payload) VALUES ($2, 'Updated', $1, "
                                  + payload_sql + ") RETURNING package_event_id",
                              seq, poisoned)[0]
                  .as<uint64_t>();
    tx.commit();
    return committed_event{id, poisoned, seq};
  };
  std::vector<committed_event> held_back{insert(1, "'{}'")};
  REQUIRE(p.check(held_back).ok());
  held_back.push_back(insert(2, "jsonb_build_object('blob', repeat('x', 1500000))"));
  held_back.push_back(insert(3, "'{}'"));
  // Refused, backed off, refused again: the slot sends from e2 each time and never passes it.
  REQUIRE(await_metric(relay->metrics_port(),
                       "logistic_package_api_retranslator_events_failed_total",
                       [](double v) { return v >= 2; }));
  // Other packages, in other slots, flow meanwhile.
  auto others = p.commit_rounds(50, 1);
  auto delivered = others;
  delivered.push_back(held_back[0]); // the checker counts anything not listed as a stranger
  REQUIRE(p.check(delivered).ok());
  for (const auto& e : p.reader->events())
    CHECK((e.package_id != poisoned || e.package_seq == 1));
  // The cause is removed (an operator shrinks the payload): e2 and e3 go out, in order.
  {
    pqxx::connection db{p.pg.dsn()};
    pqxx::work tx{db};
    tx.exec_params0("UPDATE package_event SET payload = '{}' WHERE package_event_id = $1",
                    held_back[1].event_id);
    tx.commit();
  }
  auto all = held_back;
  all.insert(all.end(), others.begin(), others.end());
  expect_clean_history(p, all);
  CHECK(p.await_empty_outbox(60s));
}

// Commits the load while `fault` runs against a live retranslator, then checks the history;
// returns the retranslator for further checks.
template <class Fault>
std::unique_ptr<lpa::retranslator_service> under_load(pipeline_fixture& p, Fault fault) {
  auto relay = p.start_retranslator();
  committer writes{p};
  // The fault strikes once the pipeline is delivering.
  REQUIRE(await_metric(relay->metrics_port(), sent_total, [](double v) { return v > 0; }));
  fault(*relay);
  auto committed = writes.finish();
  expect_clean_history(p, committed);
  CHECK(p.await_empty_outbox(120s));
  return relay;
}

TEST_CASE("Kafka unavailable for a while, then back: nothing lost or reordered", "[fault]") {
  pipeline_fixture p;
  under_load(p, [&](lpa::retranslator_service& relay) {
    const std::string errors = "logistic_package_api_retranslator_kafka_errors_total";
    auto before = metric(relay, errors);
    p.kafka.set_down(true);
    // The outage is seen: the client reports errors, and events wait in flight.
    CHECK(await_metric(relay.metrics_port(), errors, [&](double v) { return v > before; }));
    CHECK(await_metric(relay.metrics_port(), in_flight_gauge, [](double v) { return v >= 1000; }));
    std::this_thread::sleep_for(3s); // the outage lasts: nothing may time out meanwhile
    p.kafka.set_down(false);
    p.kafka.fail_produce(20, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  });
}

TEST_CASE("Records Kafka refuses for good are sent again after a backoff: nothing lost or "
          "reordered",
          "[fault]") {
  pipeline_fixture p;
  auto relay = under_load(p, [&](lpa::retranslator_service&) {
    p.kafka.fail_produce(10, RD_KAFKA_RESP_ERR_INVALID_RECORD);
  });
  CHECK(metric(*relay, "logistic_package_api_retranslator_events_failed_total") > 0);
  // The gap-less producer failed fatally and was replaced in place, not restarted.
  CHECK(metric(*relay, "logistic_package_api_retranslator_producer_resets_total") >= 1);
  CHECK(metric(*relay, "logistic_package_api_actor_restarts_total{actor=\"sender\"}") == 0);
}

TEST_CASE("A fatal Kafka producer error replaces the producer: nothing lost or reordered",
          "[fault]") {
  pipeline_fixture p;
  // A sequence gap is fatal for an idempotent producer: it refuses everything afterwards.
  auto relay = under_load(p, [&](lpa::retranslator_service&) {
    p.kafka.fail_produce(1, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  });
  CHECK(metric(*relay, "logistic_package_api_retranslator_producer_resets_total") >= 1);
}

TEST_CASE("PostgreSQL restarted under load: nothing lost or reordered", "[fault]") {
  pipeline_fixture p;
  auto relay = under_load(p, [&](lpa::retranslator_service&) {
    p.pg.stop();
    std::this_thread::sleep_for(2s); // the database stays away for two seconds
    p.pg.start();
  });
  // The restart was seen: statements failed on the lost connections.
  CHECK(metric(*relay, "logistic_package_api_retranslator_db_errors_total") > 0);
}

TEST_CASE("Broker down with a growing backlog: in flight stays within the window, memory flat",
          "[fault][backpressure]") {
  pipeline_fixture p;
  p.cfg.retranslator.window = 500;
  p.cfg.retranslator.batch_size = 100;
  p.kafka.set_down(true);
  auto relay = p.start_retranslator();
  p.commit_rounds(packages, 2);
  // Wait until the window is full: the consumers read all they may.
  REQUIRE(await_metric(relay->metrics_port(), in_flight_gauge, [](double v) { return v >= 500; }));
  auto rss_full_window = resident_bytes();
  double max_gauge = 0;
  for (uint64_t seq = 3; seq <= 2 + rounds(); ++seq) {
    p.commit_round(packages, seq); // the backlog keeps growing
    max_gauge = std::max(max_gauge, metric(*relay, in_flight_gauge));
  }
  auto rss_growth
      = static_cast<long long>(resident_bytes()) - static_cast<long long>(rss_full_window);
  std::cout << "backpressure: backlog " << p.outbox_rows() << " events, max in-flight gauge "
            << max_gauge << ", RSS growth " << rss_growth / 1024 << " KiB" << std::endl;
  CHECK(max_gauge <= 500);
  CHECK(max_gauge > 0); // the window really filled
  CHECK(p.outbox_rows() >= static_cast<long long>(packages * rounds()));
  // The stated bound (README): RSS grows less than 32 MiB while the backlog grows by
  // LPA_FAULT_EVENTS events, because nothing beyond the window is held in memory.
  CHECK(rss_growth < 32LL * 1024 * 1024);
  p.kafka.set_down(false);
  CHECK(p.await_empty_outbox(180s));
}
