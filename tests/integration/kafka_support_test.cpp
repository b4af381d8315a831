// The Kafka test support against real clients: the in-process mock cluster, the topic reader, the
// history checker, and the lpa-kafka-broker executable.

#include <catch2/catch.hpp>

#include <librdkafka/rdkafkacpp.h>

#include "kafka_proto.pb.h"
#include "tests/support/history_checker.hpp"
#include "tests/support/mock_kafka.hpp"
#include "tests/support/topic_reader.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

namespace pb = hablof::proto::v1;
using namespace std::chrono_literals;
using lpa::test::check_history;
using lpa::test::committed_event;
using lpa::test::consumed_event;
using lpa::test::mock_kafka;
using lpa::test::topic_reader;
using clock_type = std::chrono::steady_clock;

const std::string events_topic = "omp-package-events";

// `count` events spread round-robin over `packages` packages, with per-package seqs from 1.
std::vector<committed_event> make_history(size_t count, uint64_t packages) {
  std::vector<committed_event> history;
  std::map<uint64_t, uint64_t> seqs;
  for (size_t i = 0; i < count; ++i) {
    uint64_t package = i % packages + 1;
    history.push_back({i + 1, package, ++seqs[package]});
  }
  return history;
}

std::string traceparent_of(uint64_t event_id) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "00-%032llx-%016llx-01",
                static_cast<unsigned long long>(event_id),
                static_cast<unsigned long long>(event_id + 1));
  return buf;
}

std::string payload_of(const committed_event& ev) {
  return R"({"id":)" + std::to_string(ev.package_id) + R"(,"seq":)" + std::to_string(ev.package_seq)
         + "}";
}

const char* type_of(const committed_event& ev) {
  return ev.package_seq == 1 ? "Created" : "Updated";
}

constexpr int64_t created_unix_us = 1700000000123456;

struct delivery_counter : RdKafka::DeliveryReportCb {
  int delivered = 0;
  std::vector<std::string> failures;
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR)
      ++delivered;
    else
      failures.push_back(message.errstr());
  }
};

struct outage_watcher : RdKafka::EventCb {
  std::atomic<int> connection_errors{0};
  void event_cb(RdKafka::Event& event) override {
    if (event.type() == RdKafka::Event::EVENT_ERROR
        && (event.err() == RdKafka::ERR__TRANSPORT
            || event.err() == RdKafka::ERR__ALL_BROKERS_DOWN))
      ++connection_errors;
  }
};

// Produces events the way the relay does: key = package id, PackageEvent value, headers.
class test_producer {
public:
  explicit test_producer(const std::string& bootstrap, bool idempotent = false) {
    std::unique_ptr<RdKafka::Conf> conf{RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL)};
    set(*conf, "bootstrap.servers", bootstrap);
    set(*conf, "enable.idempotence", idempotent ? "true" : "false");
    set(*conf, "linger.ms", "5");
    set(*conf, "reconnect.backoff.ms", "50");
    set(*conf, "reconnect.backoff.max.ms", "500");
    std::string errstr;
    if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&deliveries_), errstr)
            != RdKafka::Conf::CONF_OK
        || conf->set("event_cb", static_cast<RdKafka::EventCb*>(&outages_), errstr)
               != RdKafka::Conf::CONF_OK)
      throw std::runtime_error(errstr);
    producer_.reset(RdKafka::Producer::create(conf.get(), errstr));
    if (!producer_)
      throw std::runtime_error("producer: " + errstr);
  }

  ~test_producer() { producer_->flush(5000); }

  void send(const committed_event& ev) {
    pb::PackageEvent value;
    value.set_id(ev.event_id);
    value.set_packageid(ev.package_id);
    value.set_type(ev.package_seq == 1 ? pb::Created : pb::Updated);
    value.mutable_created()->set_seconds(created_unix_us / 1000000);
    value.mutable_created()->set_nanos(static_cast<int32_t>(created_unix_us % 1000000 * 1000));
    value.set_payload(payload_of(ev));
    std::string bytes = value.SerializeAsString();
    std::string key = std::to_string(ev.package_id);

    for (;;) {
      RdKafka::Headers* headers = RdKafka::Headers::create();
      headers->add("event-id", std::to_string(ev.event_id));
      headers->add("event-type", type_of(ev));
      headers->add("package-seq", std::to_string(ev.package_seq));
      if (ev.event_id % 2 == 0)
        headers->add("traceparent", traceparent_of(ev.event_id));
      RdKafka::ErrorCode err = producer_->produce(
          events_topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, bytes.data(),
          bytes.size(), key.data(), key.size(), 0, headers, nullptr);
      if (err == RdKafka::ERR_NO_ERROR)
        return; // the headers belong to librdkafka now
      delete headers;
      if (err != RdKafka::ERR__QUEUE_FULL)
        throw std::runtime_error("produce: " + RdKafka::err2str(err));
      producer_->poll(100);
    }
  }

  // Serves callbacks until pred() holds or the timeout passes; returns pred().
  bool poll_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    while (!pred() && clock_type::now() < deadline)
      producer_->poll(50);
    return pred();
  }

  // Waits for every outstanding delivery report.
  bool flush(std::chrono::milliseconds timeout) {
    producer_->flush(static_cast<int>(timeout.count()));
    producer_->poll(0);
    return producer_->outq_len() == 0;
  }

  const delivery_counter& deliveries() const { return deliveries_; }
  const outage_watcher& outages() const { return outages_; }

private:
  static void set(RdKafka::Conf& conf, const std::string& name, const std::string& value) {
    std::string errstr;
    if (conf.set(name, value, errstr) != RdKafka::Conf::CONF_OK)
      throw std::runtime_error(name + ": " + errstr);
  }

  delivery_counter deliveries_;
  outage_watcher outages_;
  std::unique_ptr<RdKafka::Producer> producer_;
};

size_t distinct_events(const std::vector<consumed_event>& events) {
  std::set<uint64_t> ids;
  for (const consumed_event& ev : events)
    ids.insert(ev.event_id);
  return ids.size();
}

std::function<bool(const std::vector<consumed_event>&)> has_distinct(size_t count) {
  return [count](const std::vector<consumed_event>& events) {
    return distinct_events(events) >= count;
  };
}

void require_clean(const topic_reader& reader) {
  for (const std::string& e : reader.errors())
    UNSCOPED_INFO(e);
  REQUIRE(reader.errors().empty());
}

void require_history_ok(const std::vector<committed_event>& committed,
                        const std::vector<consumed_event>& consumed) {
  auto report = check_history(committed, consumed);
  INFO(report.summary());
  for (const std::string& e : report.examples)
    UNSCOPED_INFO(e);
  REQUIRE(report.ok());
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// A child process with its stdout on a pipe.
class child_process {
public:
  explicit child_process(std::vector<std::string> argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (std::string& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      throw std::runtime_error("posix_spawn " + argv[0] + " failed");
    }
    out_ = fds[0];
  }

  ~child_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0)
      ::close(out_);
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // The next line of stdout without its newline; nullopt at EOF or when the timeout passes.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      auto left
          = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left.count() <= 0)
        return std::nullopt;
      pollfd pfd{out_, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
        continue;
      char chunk[256];
      ssize_t n = ::read(out_, chunk, sizeof(chunk));
      if (n <= 0)
        return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // Everything left on stdout until EOF.
  std::string read_rest() {
    char chunk[256];
    ssize_t n;
    while ((n = ::read(out_, chunk, sizeof(chunk))) > 0)
      buffer_.append(chunk, static_cast<size_t>(n));
    return std::exchange(buffer_, {});
  }

  void signal(int sig) { ::kill(pid_, sig); }

  // Waits for the exit and returns the raw wait status.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
};

} // namespace

TEST_CASE("a thousand events go through the mock cluster and come back in order") {
  mock_kafka kafka;
  kafka.create_topic(events_topic, 3);
  auto history = make_history(1000, 50);
  {
    test_producer producer(kafka.bootstrap());
    for (const committed_event& ev : history)
      producer.send(ev);
    REQUIRE(producer.flush(60s));
    REQUIRE(producer.deliveries().failures.empty());
    REQUIRE(producer.deliveries().delivered == 1000);
  }

  topic_reader reader(kafka.bootstrap(), events_topic);
  auto consumed = reader.read_until(has_distinct(1000), 60s);
  REQUIRE(consumed.size() == 1000);
  require_clean(reader);

  auto report = check_history(history, consumed);
  INFO(report.summary());
  CHECK(report.ok());
  CHECK(report.duplicated == 0);
  CHECK(report.consumed == 1000);

  // Decoded faithfully, one partition per key, offsets in order per partition.
  std::map<std::string, int32_t> partition_of_key;
  std::map<int32_t, int64_t> last_offset;
  for (const consumed_event& ev : consumed) {
    const committed_event& expected = history.at(ev.event_id - 1);
    CHECK(ev.package_id == expected.package_id);
    CHECK(ev.key == std::to_string(expected.package_id));
    CHECK(ev.type == type_of(expected));
    CHECK(ev.payload == payload_of(expected));
    CHECK(ev.created_unix_us == created_unix_us);
    CHECK(ev.traceparent == (ev.event_id % 2 == 0 ? traceparent_of(ev.event_id) : ""));
    auto [it, inserted] = partition_of_key.emplace(ev.key, ev.partition);
    CHECK(it->second == ev.partition);
    auto last = last_offset.find(ev.partition);
    if (last != last_offset.end())
      CHECK(ev.offset > last->second);
    last_offset[ev.partition] = ev.offset;
  }
  CHECK(last_offset.size() == 3);

  // A continuous reader: a later call returns the same events and nothing new.
  CHECK(reader.read_until(has_distinct(1000), 1s).size() == 1000);
}

TEST_CASE("events produced while every broker is down arrive once the brokers are back") {
  mock_kafka kafka(3);
  kafka.create_topic(events_topic, 3);
  auto history = make_history(400, 20);
  std::vector<committed_event> before(history.begin(), history.begin() + 200);
  std::vector<committed_event> during(history.begin() + 200, history.end());

  topic_reader reader(kafka.bootstrap(), events_topic);
  test_producer producer(kafka.bootstrap(), /*idempotent=*/true);
  for (const committed_event& ev : before)
    producer.send(ev);
  REQUIRE(producer.flush(60s));
  REQUIRE(producer.deliveries().delivered == 200);
  REQUIRE(reader.read_until(has_distinct(200), 60s).size() >= 200);

  kafka.set_down(true);
  int errors_before = producer.outages().connection_errors;
  for (const committed_event& ev : during)
    producer.send(ev);
  // Await the producer noticing the outage, then bring the brokers back.
  auto down_at = clock_type::now();
  REQUIRE(producer.poll_until([&] { return producer.outages().connection_errors > errors_before; },
                              30s));
  std::cerr << "producer noticed the outage after " << seconds_since(down_at) << " s\n";
  CHECK(producer.deliveries().delivered == 200);
  // Nor does the reader get anything while the brokers are down.
  CHECK(reader.read_until(has_distinct(201), 500ms).size() == 200);

  kafka.set_down(false);
  auto up_at = clock_type::now();
  REQUIRE(producer.flush(120s));
  std::cerr << "delivered the backlog " << seconds_since(up_at)
            << " s after the brokers came back\n";
  CHECK(producer.deliveries().failures.empty());
  CHECK(producer.deliveries().delivered == 400);

  auto consumed = reader.read_until(has_distinct(400), 60s);
  std::cerr << "read the backlog " << seconds_since(up_at) << " s after the brokers came back\n";
  require_clean(reader);
  auto report = check_history(history, consumed);
  std::cerr << report.summary() << "\n";
  require_history_ok(history, consumed);
}

TEST_CASE("produce requests failed by the cluster are retried") {
  mock_kafka kafka;
  kafka.create_topic(events_topic, 3);
  auto history = make_history(30, 5);
  kafka.fail_produce(5, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  test_producer producer(kafka.bootstrap());
  for (const committed_event& ev : history)
    producer.send(ev);
  REQUIRE(producer.flush(60s));
  CHECK(producer.deliveries().failures.empty());
  CHECK(producer.deliveries().delivered == 30);

  topic_reader reader(kafka.bootstrap(), events_topic);
  auto consumed = reader.read_until(has_distinct(30), 60s);
  require_clean(reader);
  require_history_ok(history, consumed);
}

TEST_CASE("lpa-kafka-broker serves producers and consumers and stops on SIGTERM") {
  child_process broker(
      {LPA_KAFKA_BROKER_BIN, "--brokers", "2", "--topic", events_topic, "--partitions", "2"});
  auto line = broker.read_line(30s);
  REQUIRE(line);
  const std::string prefix = "bootstrap: ";
  REQUIRE(line->rfind(prefix, 0) == 0);
  std::string bootstrap = line->substr(prefix.size());
  INFO("bootstrap " << bootstrap);
  REQUIRE_FALSE(bootstrap.empty());
  CHECK(bootstrap.find(',') != std::string::npos); // two brokers

  {
    auto history = make_history(1, 1);
    test_producer producer(bootstrap);
    producer.send(history[0]);
    REQUIRE(producer.flush(30s));
    REQUIRE(producer.deliveries().delivered == 1);

    topic_reader reader(bootstrap, events_topic);
    auto consumed = reader.read_until(has_distinct(1), 30s);
    require_clean(reader);
    require_history_ok(history, consumed);
    REQUIRE(consumed.size() == 1);
    CHECK(consumed[0].partition < 2);
  }

  broker.signal(SIGTERM);
  int status = broker.wait();
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(broker.read_rest().empty()); // exactly one line on stdout
}

TEST_CASE("lpa-kafka-broker --help prints usage and exits with 0") {
  child_process help({LPA_KAFKA_BROKER_BIN, "--help"});
  auto line = help.read_line(10s);
  REQUIRE(line);
  CHECK(line->find("lpa-kafka-broker") == 0);
  int status = help.wait();
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
