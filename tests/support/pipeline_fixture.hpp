#pragma once

#include "actors/retranslator/retranslator_service.hpp"
#include "config/settings.hpp"
#include "tests/support/history_checker.hpp"
#include "tests/support/mock_kafka.hpp"
#include "tests/support/test_postgres.hpp"
#include "tests/support/topic_reader.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lpa::test {

using namespace std::chrono_literals;

// How many events the fault tests push through (LPA_FAULT_EVENTS, default 50000).
size_t fault_events();

// A retranslator's world for one test process: the process's throwaway PostgreSQL (migrated),
// an in-process mock Kafka cluster with the topic, and settings that make faults show quickly.
struct pipeline_fixture {
  explicit pipeline_fixture(int partitions = 3);

  // Writes one event for each of `packages` packages (ids 1..packages) with sequence number
  // `seq`, in one transaction, the way the API would have written them; returns what was
  // committed. Throws when PostgreSQL is down.
  std::vector<committed_event> commit_round(size_t packages, uint64_t seq);
  // commit_round for seq = 1..rounds.
  std::vector<committed_event> commit_rounds(size_t packages, uint64_t rounds);

  long long outbox_rows();
  // Slots some retranslator holds a lease on (expired or not).
  long long slots_held();
  // Live slot leases per retranslator id.
  std::map<std::string, long long> slots_by_owner();
  // Waits (bounded) until every event was delivered and deleted; false on timeout.
  bool await_empty_outbox(std::chrono::seconds limit);
  // Reads the topic until every committed event was seen (or the timeout) and compares.
  history_report check(const std::vector<committed_event>& committed,
                       std::chrono::seconds limit = 120s);

  std::unique_ptr<retranslator_service> start_retranslator();

  test_postgres& pg;
  mock_kafka kafka;
  settings cfg;
  std::unique_ptr<topic_reader> reader;
};

// Current resident set size of this process in bytes (from /proc/self/status).
size_t resident_bytes();

} // namespace lpa::test
