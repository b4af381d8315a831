// The retranslator's statements against a real PostgreSQL: slot reads, late commits, fenced
// deletes, slot leases and the slot count, as two retranslators (A and B) would see them.
#include "db/outbox_store.hpp"
#include "tests/support/pipeline_fixture.hpp"

#include <catch2/catch.hpp>

using namespace lpa;
using namespace lpa::test;

namespace {

// Three packages with two events each: ids 1, 2, 3 (seq 1), then 4, 5, 6 (seq 2). With the
// default 256 slots, package p is in slot p.
struct outbox_fixture : pipeline_fixture {
  outbox_fixture() { commit_rounds(3, 2); }

  db::store_settings store_settings() const { return {pg.dsn(), 2000ms, 5000ms}; }

  static std::vector<uint64_t> ids(const std::vector<db::outbox_event>& events) {
    std::vector<uint64_t> out;
    for (const auto& e : events)
      out.push_back(e.id);
    return out;
  }

  static std::vector<uint32_t> slots(const std::vector<db::slot_lease>& leases) {
    std::vector<uint32_t> out;
    for (const auto& l : leases)
      out.push_back(l.slot);
    return out;
  }

  bool exists(uint64_t id) {
    pqxx::connection db{pg.dsn()};
    pqxx::read_transaction tx{db};
    return tx.exec_params1("SELECT count(*) FROM package_event WHERE package_event_id = $1", id)[0]
               .as<int>()
           == 1;
  }

  void expire_leases_of(const std::string& relay) {
    pqxx::connection db{pg.dsn()};
    pqxx::work tx{db};
    tx.exec_params0("UPDATE relay_slot SET lease_until = now() - interval '1 second'"
                    " WHERE owner = $1",
                    relay);
    tx.exec_params0("UPDATE relay_member SET seen_until = now() - interval '1 second'"
                    " WHERE relay = $1",
                    relay);
    tx.commit();
  }

  void insert_event(pqxx::transaction_base& tx, uint64_t package, uint64_t seq) {
    tx.exec_params0("INSERT INTO package_event (package_id, event_type, package_seq, payload)"
                    " VALUES ($1, 'Updated', $2, '{}')",
                    package, seq);
  }
};

} // namespace

TEST_CASE_METHOD(outbox_fixture, "each slot is read in id order from its cursor, within limits",
                 "[outbox]") {
  db::outbox_store a{store_settings()};
  auto first = a.read({{1, 0}, {2, 0}}, {}, 10, 100);
  REQUIRE(ids(first) == std::vector<uint64_t>{1, 4, 2, 5});
  CHECK(first[0].slot == 1);
  CHECK(first[0].package_id == 1);
  CHECK(first[0].package_seq == 1);
  CHECK(first[0].type == "Created");
  CHECK(first[1].type == "Updated");
  CHECK(first[1].payload.find("\"Seq\": 2") != std::string::npos);
  CHECK(first[2].slot == 2);

  CHECK(ids(a.read({{1, 0}}, {}, 1, 100)) == std::vector<uint64_t>{1});   // per slot
  CHECK(ids(a.read({{1, 1}}, {1}, 10, 100)) == std::vector<uint64_t>{4}); // from the cursor
  CHECK(a.read({{1, 4}}, {1, 4}, 10, 100).empty());
  CHECK(ids(a.read({{3, 0}, {1, 0}, {2, 0}}, {}, 10, 3)) == std::vector<uint64_t>{3, 6, 1});
}

TEST_CASE_METHOD(outbox_fixture,
                 "an event committed after a later one was read is found below the cursor, "
                 "events in flight are not read again",
                 "[outbox]") {
  db::outbox_store a{store_settings()};
  pqxx::connection slow_conn{pg.dsn()}, fast_conn{pg.dsn()};
  pqxx::work slow{slow_conn};
  insert_event(slow, 1, 3); // takes id 7, commits last
  {
    pqxx::work fast{fast_conn};
    insert_event(fast, 1, 4); // id 8
    fast.commit();
  }
  CHECK(ids(a.read({{1, 4}}, {1, 4}, 10, 100)) == std::vector<uint64_t>{8});
  slow.commit();
  CHECK(ids(a.read({{1, 8}}, {1, 4, 8}, 10, 100)) == std::vector<uint64_t>{7});
}

TEST_CASE_METHOD(outbox_fixture,
                 "leases: a heartbeat counts live retranslators, acquisition takes free and "
                 "expired slots in a new epoch, a lost slot is no longer renewed",
                 "[outbox][slots]") {
  db::outbox_store a{store_settings()}, b{store_settings()};
  auto am = a.heartbeat("A", 30s);
  CHECK(am.live_relays == 1);
  CHECK(am.slot_count == 256);
  CHECK(am.held.empty());
  auto a_got = a.acquire("A", 10, 30s);
  REQUIRE(slots(a_got.leases) == std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(a_got.taken_over == 0);
  CHECK(b.heartbeat("B", 30s).live_relays == 2);
  CHECK(b.acquire("B", 1000, 30s).leases.size() == 246); // every free slot, none of A's
  CHECK(slots(a.heartbeat("A", 30s).held).size() == 10);

  expire_leases_of("A"); // A froze
  CHECK(b.heartbeat("B", 30s).live_relays == 1);
  auto taken = b.acquire("B", 100, 30s);
  CHECK(slots(taken.leases) == slots(a_got.leases));
  CHECK(taken.taken_over == 10);
  CHECK(taken.leases[0].epoch == a_got.leases[0].epoch + 1);
  CHECK(a.heartbeat("A", 30s).held.empty()); // A learns it lost them
  CHECK(a.release("A", a_got.leases) == 0);  // and cannot give away what is B's

  CHECK(b.release("B", {taken.leases[0]}) == 1);
  CHECK(slots(a.acquire("A", 5, 30s).leases) == std::vector<uint32_t>{0});
  b.leave("B");
  auto after = a.heartbeat("A", 30s);
  CHECK(after.live_relays == 1);
  CHECK(slots(after.held) == std::vector<uint32_t>{0});
  CHECK(a.acquire("A", 1000, 30s).leases.size() == 255);
}

TEST_CASE_METHOD(outbox_fixture,
                 "deletes are fenced: only the slot's current owner, in its current epoch, "
                 "deletes, a row another transaction holds is skipped",
                 "[outbox][slots]") {
  db::outbox_store a{store_settings()}, b{store_settings()};
  a.heartbeat("A", 30s);
  auto a_slots = a.acquire("A", 3, 30s).leases; // slots 0, 1, 2
  REQUIRE(a_slots.size() == 3);
  auto epoch_a = a_slots[1].epoch;
  auto deleted = a.delete_delivered("A", {{1, 1, epoch_a}});
  CHECK(deleted.deleted == 1);
  CHECK(deleted.commit_to_delete_seconds.size() == 1);
  CHECK_FALSE(exists(1));

  expire_leases_of("A");
  b.heartbeat("B", 30s);
  auto b_slots = b.acquire("B", 3, 30s).leases;
  REQUIRE(b_slots.size() == 3);
  auto epoch_b = b_slots[1].epoch;
  CHECK(a.delete_delivered("A", {{4, 1, epoch_a}}).deleted == 0); // stale owner: a no-op
  CHECK(exists(4));
  CHECK(b.delete_delivered("B", {{4, 1, epoch_a}}).deleted == 0); // stale epoch: a no-op
  CHECK(exists(4));

  pqxx::connection other{pg.dsn()};
  pqxx::work holding{other};
  holding.exec1("SELECT 1 FROM package_event WHERE package_event_id = 2 FOR UPDATE");
  auto mixed = b.delete_delivered("B", {{4, 1, epoch_b}, {2, 2, b_slots[2].epoch}});
  CHECK(mixed.deleted == 1); // returns at once: row 2 is skipped, not waited for
  holding.abort();
  CHECK_FALSE(exists(4));
  CHECK(exists(2));
}

TEST_CASE_METHOD(outbox_fixture,
                 "the slot count changes only while no other retranslator is alive, and moves "
                 "every waiting event with it",
                 "[outbox][slots]") {
  db::outbox_store a{store_settings()};
  a.heartbeat("A", 30s);
  pqxx::connection conn{pg.dsn()};
  CHECK(db::ensure_slot_count(conn, "B", 2) == 256); // A is alive: unchanged
  a.leave("A");
  CHECK(db::ensure_slot_count(conn, "B", 2) == 2);
  CHECK(db::ensure_slot_count(conn, "B", 2) == 2);
  {
    pqxx::work tx{conn};
    insert_event(tx, 5, 3); // written under the new count
    tx.commit();
  }
  pqxx::read_transaction tx{conn};
  CHECK(tx.exec1("SELECT count(*) FROM relay_slot")[0].as<int>() == 2);
  CHECK(tx.exec1("SELECT count(*) FROM package_event WHERE slot <> package_id % 2")[0].as<int>()
        == 0);
  tx.commit();
  db::outbox_store b{store_settings()};
  CHECK(ids(b.read({{1, 0}}, {}, 10, 100)) == std::vector<uint64_t>{1, 3, 4, 6, 7});
}

TEST_CASE_METHOD(outbox_fixture, "the oldest event's age comes from the database clock",
                 "[outbox]") {
  db::outbox_store a{store_settings()};
  {
    pqxx::connection db{pg.dsn()};
    pqxx::work tx{db};
    tx.exec0("UPDATE package_event SET created_at = now() - interval '90 seconds'"
             " WHERE package_event_id = 1");
    tx.commit();
  }
  CHECK(a.oldest_event_age_seconds() >= 90);
  CHECK(a.oldest_event_age_seconds() < 120);
}

TEST_CASE_METHOD(outbox_fixture,
                 "after the outbox held a few events, drained and was vacuumed, a backlog is "
                 "read and deleted through the indexes",
                 "[outbox]") {
  db::outbox_store a{store_settings()};
  a.heartbeat("A", 30s);
  auto leases = a.acquire("A", 4, 30s).leases; // slots 0-3: the fixture's packages 1-3
  REQUIRE(leases.size() == 4);
  auto run_each_statement = [&] {
    a.read({{0, 0}, {1, 0}, {2, 0}, {3, 0}}, {}, 100, 1000);
    a.delete_delivered("A", {{999, 1, leases[1].epoch}}); // no such event
    a.oldest_event_age_seconds();
  };
  // More runs than the five after which PostgreSQL may keep one plan for all parameter values.
  for (int run = 0; run < 8; ++run)
    run_each_statement();
  pqxx::connection admin{pg.dsn()};
  pqxx::nontransaction{admin}.exec0("DELETE FROM package_event");
  // What autovacuum does to a drained outbox: truncated to no pages, statistics of an empty table.
  pqxx::nontransaction{admin}.exec0("VACUUM ANALYZE package_event");
  run_each_statement();
  pqxx::nontransaction{admin}.exec0(
      "INSERT INTO package_event (package_id, event_type, package_seq, payload)"
      " SELECT p, 'Created', 1, '{}' FROM generate_series(1000, 40999) p");

  auto plan_of = [&](const std::string& execute) {
    pqxx::nontransaction tx{a.connection()};
    std::string plan;
    for (const auto& row : tx.exec("EXPLAIN EXECUTE " + execute))
      plan += row[0].as<std::string>() + "\n";
    return plan;
  };
  auto read_plan = plan_of("read('{0,1,2,3}', '{0,0,0,0}', '{}', 100, 1000)");
  CHECK_THAT(read_plan, Catch::Contains("Index Scan using package_event_slot_order")
                            && !Catch::Contains("Seq Scan on package_event"));
  auto delete_plan
      = plan_of("delete_delivered('A', '{1001}', '{" + std::to_string(1001 % 256) + "}', '{1}')");
  CHECK_THAT(delete_plan, Catch::Contains("Index Scan using package_event_pkey")
                              && !Catch::Contains("Seq Scan on package_event"));
  // Nothing that touches the outbox ran a plan made once for all parameter values (the oldest
  // event's age, a statement without parameters, is not prepared at all).
  pqxx::nontransaction tx{a.connection()};
  CHECK(tx.exec1("SELECT count(*) FROM pg_prepared_statements"
                 " WHERE generic_plans > 0 AND statement LIKE '%package_event%'")[0]
            .as<int>()
        == 0);
}
