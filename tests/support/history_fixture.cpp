#include "tests/support/history_fixture.hpp"

#include "actors/retranslator/event_encoding.hpp"

#include <catch2/catch.hpp>
#include <librdkafka/rdkafkacpp.h>
#include <pqxx/pqxx>

#include <thread>

namespace lpa::test {

history_fixture::history_fixture(int partitions)
    : p(partitions), dsn(p.pg.dsn_of_new_database("package_history")) {
  auto& h = p.cfg.history;
  h.dsn = dsn;
  h.status_host = "127.0.0.1";
  h.status_port = 0;
  h.metrics_host = "127.0.0.1";
  h.metrics_port = 0;
  p.cfg.history_api.host = "127.0.0.1";
  p.cfg.history_api.port = 0;
  h.window = 2000;
  h.batch_max = 500;
  h.gap_hold = 2000ms;
  h.retry_backoff_min = 50ms;
  h.retry_backoff_max = 1000ms;
  h.restart_max = 1000; // fault tests kill stages on purpose
}

history_fixture::~history_fixture() = default;

std::unique_ptr<history::history_service> history_fixture::start_history() {
  return std::make_unique<history::history_service>(p.cfg, [] { return false; });
}

void history_fixture::enqueue(const std::string& key, const std::string& value,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              int32_t partition) {
  std::string err;
  if (!producer) {
    std::unique_ptr<RdKafka::Conf> conf{RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL)};
    conf->set("bootstrap.servers", p.kafka.bootstrap(), err);
    conf->set("linger.ms", "1", err);
    producer.reset(RdKafka::Producer::create(conf.get(), err));
    REQUIRE(producer);
  }
  auto* h = RdKafka::Headers::create();
  for (const auto& [name, text] : headers)
    h->add(name, text);
  auto code = producer->produce(p.cfg.kafka.topic,
                                partition < 0 ? RdKafka::Topic::PARTITION_UA : partition,
                                RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                                value.size(), key.data(), key.size(), 0, h, nullptr);
  if (code != RdKafka::ERR_NO_ERROR)
    delete h;
  REQUIRE(code == RdKafka::ERR_NO_ERROR);
}

void history_fixture::produce_raw(const std::string& key, const std::string& value,
                                  const std::vector<std::pair<std::string, std::string>>& headers,
                                  int32_t partition) {
  enqueue(key, value, headers, partition);
  REQUIRE(producer->flush(30000) == RdKafka::ERR_NO_ERROR);
}

void history_fixture::produce(const std::vector<db::outbox_event>& events, int32_t partition) {
  for (const auto& e : events) {
    auto record = encode(batch_event{e, 0, 0});
    enqueue(record.key, record.value, record.headers, partition);
  }
  REQUIRE(producer->flush(30000) == RdKafka::ERR_NO_ERROR);
}

std::vector<committed_event> history_fixture::produce_rounds(size_t packages, uint64_t from_seq,
                                                             uint64_t to_seq) {
  std::vector<db::outbox_event> events;
  std::vector<committed_event> committed;
  for (uint64_t seq = from_seq; seq <= to_seq; ++seq)
    for (uint64_t package = 1; package <= packages; ++package) {
      auto id = next_event_id++;
      events.push_back(package_event(id, package, seq));
      committed.push_back({id, package, seq});
    }
  produce(events);
  return committed;
}

std::map<uint64_t, recorded_event> history_fixture::history() {
  pqxx::connection conn{dsn};
  pqxx::read_transaction tx{conn};
  std::map<uint64_t, recorded_event> out;
  for (const auto& r : tx.exec("SELECT event_id, package_id, package_seq, event_type,"
                               " coalesce(traceparent, ''), coalesce(payload::text, '')"
                               " FROM history_event"))
    out[r[0].as<uint64_t>()] = {r[1].as<uint64_t>(), r[2].as<uint64_t>(), r[3].as<std::string>(),
                                r[4].as<std::string>(), r[5].as<std::string>()};
  return out;
}

std::map<uint64_t, uint64_t> history_fixture::states() {
  pqxx::connection conn{dsn};
  pqxx::read_transaction tx{conn};
  std::map<uint64_t, uint64_t> out;
  for (const auto& r : tx.exec("SELECT package_id, applied_seq FROM package_state"))
    out[r[0].as<uint64_t>()] = r[1].as<uint64_t>();
  return out;
}

long long history_fixture::count(const std::string& table) {
  pqxx::connection conn{dsn};
  pqxx::read_transaction tx{conn};
  return tx.exec1("SELECT count(*) FROM " + table)[0].as<long long>();
}

bool history_fixture::await_rows(const std::string& table, long long rows,
                                 std::chrono::seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    try {
      if (count(table) >= rows)
        return true;
    } catch (const std::exception&) {
      // PostgreSQL restarting: keep waiting
    }
    std::this_thread::sleep_for(100ms); // polling a table: there is no event to await
  }
  return false;
}

void history_fixture::expect_history_of(const std::vector<committed_event>& committed) {
  REQUIRE(await_rows("history_event", static_cast<long long>(committed.size())));
  auto recorded = history();
  std::map<uint64_t, uint64_t> last_seq;
  size_t missing = 0, wrong = 0;
  for (const auto& e : committed) {
    auto it = recorded.find(e.event_id);
    if (it == recorded.end())
      ++missing;
    else if (it->second.package_id != e.package_id || it->second.package_seq != e.package_seq)
      ++wrong;
    last_seq[e.package_id] = std::max(last_seq[e.package_id], e.package_seq);
  }
  CHECK(missing == 0);
  CHECK(wrong == 0);
  CHECK(recorded.size() == committed.size()); // once each, nothing else
  CHECK(states() == last_seq);
}

db::outbox_event package_event(uint64_t event_id, uint64_t package_id, uint64_t seq) {
  db::outbox_event e;
  e.id = event_id;
  e.package_id = package_id;
  e.package_seq = seq;
  e.type = seq == 1 ? "Created" : "Updated";
  e.payload = "{\"ID\": " + std::to_string(package_id) + ", \"Seq\": " + std::to_string(seq) + "}";
  e.created_us = 1700000000000000 + static_cast<int64_t>(event_id);
  return e;
}

} // namespace lpa::test
