#pragma once

#include "actors/history/history_service.hpp"
#include "db/outbox_store.hpp"
#include "tests/support/pipeline_fixture.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace RdKafka {
class Producer;
}

namespace lpa::test {

// One history_event row.
struct recorded_event {
  uint64_t package_id = 0;
  uint64_t package_seq = 0;
  std::string type;
  std::string traceparent;
  std::string payload;
};

// package-history's world for one test process: the retranslator's (pipeline_fixture: the
// service database, the mock Kafka cluster with the topic) plus the history database
// package_history in the same cluster, settings that make faults show quickly, and a producer
// that writes records the way the retranslator does.
struct history_fixture {
  explicit history_fixture(int partitions = 3);
  ~history_fixture();

  std::unique_ptr<history::history_service> start_history();

  // Produces the events encoded as the retranslator encodes them (key, value, headers), to
  // `partition`, or by key when it is -1; returns once Kafka acknowledged them.
  void produce(const std::vector<db::outbox_event>& events, int32_t partition = -1);
  void produce_raw(const std::string& key, const std::string& value,
                   const std::vector<std::pair<std::string, std::string>>& headers,
                   int32_t partition = -1);
  // Produces seq from_seq..to_seq of packages 1..packages (round by round) with fresh event ids;
  // returns what it produced.
  std::vector<committed_event> produce_rounds(size_t packages, uint64_t from_seq, uint64_t to_seq);

  // The history database: event id -> row; package id -> applied seq.
  std::map<uint64_t, recorded_event> history();
  std::map<uint64_t, uint64_t> states();
  long long count(const std::string& table);
  // Waits (bounded) until `table` has at least `rows` rows; false on timeout.
  bool await_rows(const std::string& table, long long rows, std::chrono::seconds limit = 120s);

  // Every committed event is in the history exactly once with its package and seq, nothing
  // else is, and each package's state is at its highest committed seq.
  void expect_history_of(const std::vector<committed_event>& committed);

  pipeline_fixture p;
  std::string dsn; // of package_history
  std::unique_ptr<RdKafka::Producer> producer;
  uint64_t next_event_id = 1;

private:
  void enqueue(const std::string& key, const std::string& value,
               const std::vector<std::pair<std::string, std::string>>& headers, int32_t partition);
};

// An event as the API writes it: Created at seq 1, Updated after.
db::outbox_event package_event(uint64_t event_id, uint64_t package_id, uint64_t seq);

} // namespace lpa::test
