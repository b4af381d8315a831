#include "tests/support/pipeline_fixture.hpp"

#include "config/logging.hpp"
#include "db/migrator.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

namespace lpa::test {

size_t fault_events() {
  if (const char* env = std::getenv("LPA_FAULT_EVENTS"))
    return std::stoul(env);
  return 50000;
}

namespace {

settings pipeline_settings(const std::string& dsn, const std::string& brokers) {
  settings cfg;
  cfg.db.dsn = dsn;
  cfg.log.level = "warn";
  cfg.kafka.brokers = brokers;
  cfg.kafka.partitions = 3;
  auto& rt = cfg.retranslator;
  rt.metrics_host = "127.0.0.1";
  rt.metrics_port = 0;
  rt.consumers = 2;
  rt.producers = 2;
  rt.batch_size = 200;
  rt.window = 2000;
  rt.lease = 3000ms;
  rt.poll_interval = 200ms;
  rt.send_backoff_min = 50ms;
  rt.send_backoff_max = 1000ms;
  rt.cleaner_batch = 200;
  rt.cleaner_interval = 20ms;
  rt.restart_max = 1000; // fault tests kill stages on purpose
  rt.shutdown_deadline = 5000ms;
  return cfg;
}

} // namespace

pipeline_fixture::pipeline_fixture(int partitions)
    : pg(shared_postgres()), cfg(pipeline_settings(pg.dsn(), kafka.bootstrap())) {
  log::setup("lpa-test", cfg.log.level);
  kafka.create_topic(cfg.kafka.topic, partitions);
  cfg.kafka.partitions = partitions;
  pqxx::connection db{pg.dsn()};
  db::migrate(db);
  pqxx::work tx{db};
  tx.exec0("TRUNCATE package, package_event, relay_member RESTART IDENTITY");
  tx.exec0("UPDATE relay_slot SET owner = NULL, lease_until = NULL");
  tx.commit();
  reader = std::make_unique<topic_reader>(kafka.bootstrap(), cfg.kafka.topic);
}

std::vector<committed_event> pipeline_fixture::commit_round(size_t packages, uint64_t seq) {
  pqxx::connection db{pg.dsn()}; // fresh: PostgreSQL may have been restarted
  pqxx::work tx{db};
  auto rows = tx.exec_params(
      "INSERT INTO package_event (package_id, event_type, package_seq, payload)"
      " SELECT p, $2::event_type_enum, $1, jsonb_build_object('ID', p, 'Seq', $1::bigint)"
      " FROM generate_series(1, $3::bigint) p ORDER BY p"
      " RETURNING package_event_id, package_id, package_seq",
      seq, seq == 1 ? "Created" : "Updated", packages);
  tx.commit();
  std::vector<committed_event> out;
  out.reserve(rows.size());
  for (const auto& r : rows)
    out.push_back({r[0].as<uint64_t>(), r[1].as<uint64_t>(), r[2].as<uint64_t>()});
  return out;
}

std::vector<committed_event> pipeline_fixture::commit_rounds(size_t packages, uint64_t rounds) {
  std::vector<committed_event> all;
  for (uint64_t seq = 1; seq <= rounds; ++seq) {
    auto round = commit_round(packages, seq);
    all.insert(all.end(), round.begin(), round.end());
  }
  return all;
}

long long pipeline_fixture::outbox_rows() {
  pqxx::connection conn{pg.dsn()}; // fresh: PostgreSQL may have been restarted
  pqxx::read_transaction tx{conn};
  return tx.exec1("SELECT count(*) FROM package_event")[0].as<long long>();
}

long long pipeline_fixture::slots_held() {
  pqxx::connection conn{pg.dsn()};
  pqxx::read_transaction tx{conn};
  return tx.exec1("SELECT count(*) FROM relay_slot WHERE owner IS NOT NULL")[0].as<long long>();
}

std::map<std::string, long long> pipeline_fixture::slots_by_owner() {
  pqxx::connection conn{pg.dsn()};
  pqxx::read_transaction tx{conn};
  std::map<std::string, long long> out;
  for (const auto& r : tx.exec("SELECT owner, count(*) FROM relay_slot WHERE owner IS NOT NULL"
                               " AND lease_until > now() GROUP BY owner"))
    out[r[0].as<std::string>()] = r[1].as<long long>();
  return out;
}

bool pipeline_fixture::await_empty_outbox(std::chrono::seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    try {
      if (outbox_rows() == 0)
        return true;
    } catch (const std::exception&) {
      // PostgreSQL restarting: keep waiting
    }
    std::this_thread::sleep_for(100ms); // polling a table: there is no event to await
  }
  return false;
}

history_report pipeline_fixture::check(const std::vector<committed_event>& committed,
                                       std::chrono::seconds limit) {
  std::set<uint64_t> wanted;
  for (const auto& e : committed)
    wanted.insert(e.event_id);
  std::set<uint64_t> seen;
  size_t scanned = 0; // the reader returns everything so far: look at the new part only
  auto consumed = reader->read_until(
      [&](const std::vector<consumed_event>& all) {
        for (; scanned < all.size(); ++scanned)
          if (wanted.count(all[scanned].event_id) > 0)
            seen.insert(all[scanned].event_id);
        return seen.size() == wanted.size();
      },
      limit);
  auto report = check_history(committed, consumed);
  INFO(report.summary());
  CHECK(reader->errors().empty());
  return report;
}

std::unique_ptr<retranslator_service> pipeline_fixture::start_retranslator() {
  return std::make_unique<retranslator_service>(cfg, [] { return false; });
}

size_t resident_bytes() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoul(line.substr(6)) * 1024; // kB
  return 0;
}

} // namespace lpa::test
