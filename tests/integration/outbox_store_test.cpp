// The retranslator's queries against a real PostgreSQL: claim rules, leases, renew, clean and
// release, as two retranslator processes (owners A and B) would see them.
#include "db/outbox_store.hpp"
#include "tests/support/pipeline_fixture.hpp"

#include <catch2/catch.hpp>

using namespace lpa;
using namespace lpa::test;

namespace {

// Three packages with two events each: ids 1, 2, 3 (seq 1), then 4, 5, 6 (seq 2).
struct outbox_fixture : pipeline_fixture {
  outbox_fixture() { commit_rounds(3, 2); }

  db::store_settings store_settings() const { return {pg.dsn(), 2000ms, 5000ms}; }

  static std::vector<uint64_t> ids(const std::vector<db::outbox_event>& events) {
    std::vector<uint64_t> out;
    for (const auto& e : events)
      out.push_back(e.id);
    return out;
  }

  // Seconds until the event's lease ends (DB clock); negative once it has ended.
  double lease_left(uint64_t id) {
    pqxx::connection db{pg.dsn()};
    pqxx::work tx{db};
    return tx
        .exec_params1("SELECT extract(epoch FROM locked_until - now())::float8 FROM package_event"
                      " WHERE package_event_id = $1",
                      id)[0]
        .as<double>();
  }

  void expire_leases_of_package(uint64_t package) {
    pqxx::connection db{pg.dsn()};
    pqxx::work tx{db};
    tx.exec_params0("UPDATE package_event SET locked_until = now() - interval '1 second'"
                    " WHERE package_id = $1",
                    package);
    tx.commit();
  }

  std::string owner_of(uint64_t id) {
    pqxx::connection db{pg.dsn()};
    pqxx::work tx{db};
    auto r = tx.exec_params("SELECT coalesce(locked_by, '') FROM package_event"
                            " WHERE package_event_id = $1",
                            id);
    return r.empty() ? "<deleted>" : r[0][0].as<std::string>();
  }
};

} // namespace

TEST_CASE_METHOD(outbox_fixture,
                 "a claim takes the oldest events and never splits a package "
                 "between owners",
                 "[outbox]") {
  db::outbox_store a{store_settings()}, b{store_settings()};
  auto claimed = a.claim("A", 4, 30s);
  CHECK(ids(claimed) == std::vector<uint64_t>{1, 2, 3, 4});
  CHECK(claimed[0].package_id == 1);
  CHECK(claimed[0].package_seq == 1);
  CHECK(claimed[0].type == "Created");
  CHECK(claimed[3].type == "Updated");
  CHECK(claimed[3].payload.find("\"Seq\": 2") != std::string::npos);
  CHECK(lease_left(1) > 25);
  // Events 5 and 6 are free, but their packages' earlier events are leased to A.
  CHECK(b.claim("B", 10, 30s).empty());
}

TEST_CASE_METHOD(outbox_fixture,
                 "an expired lease makes events claimable again, and the old "
                 "owner's clean then changes nothing",
                 "[outbox]") {
  db::outbox_store a{store_settings()}, b{store_settings()};
  REQUIRE(a.claim("A", 10, 30s).size() == 6);
  expire_leases_of_package(1);
  CHECK(ids(b.claim("B", 10, 30s)) == std::vector<uint64_t>{1, 4});

  auto stale = a.clean({db::outbox_outcome{"A", {1}, {4}}});
  CHECK(stale.deleted == 0);
  CHECK(stale.released == 0);
  CHECK(owner_of(1) == "B");
  CHECK(owner_of(4) == "B");

  auto done = b.clean({db::outbox_outcome{"B", {1}, {4}}, db::outbox_outcome{"A", {2, 3}, {}}});
  CHECK(done.deleted == 3);
  CHECK(done.released == 1);
  CHECK(done.commit_to_delete_seconds.size() == 3);
  CHECK(owner_of(1) == "<deleted>");
  CHECK(owner_of(4).empty()); // released: claimable by anyone
  CHECK(ids(b.claim("B", 10, 30s)) == std::vector<uint64_t>{4});
}

TEST_CASE_METHOD(outbox_fixture,
                 "renew extends only the owner's leases and skips a row another "
                 "transaction holds instead of waiting for it",
                 "[outbox]") {
  db::outbox_store a{store_settings()};
  REQUIRE(a.claim("A", 3, 10s).size() == 3);
  pqxx::connection other{pg.dsn()};
  pqxx::work holding{other};
  holding.exec1("SELECT 1 FROM package_event WHERE package_event_id = 1 FOR UPDATE");

  CHECK(a.renew("A", {1, 2}, 60s) == 1); // returns at once: row 1 is skipped
  CHECK(a.renew("B", {3}, 60s) == 0);    // not B's to renew
  holding.abort();
  CHECK(lease_left(2) > 50);
  CHECK(lease_left(1) < 11);
  CHECK(lease_left(3) < 11);
}

TEST_CASE_METHOD(outbox_fixture, "release_owner hands back every event of that owner only",
                 "[outbox]") {
  db::outbox_store a{store_settings()}, b{store_settings()};
  REQUIRE(a.claim("A", 2, 30s).size() == 2);
  REQUIRE(b.claim("B", 1, 30s).size() == 1);
  CHECK(a.release_owner("A") == 2);
  CHECK(owner_of(1).empty());
  CHECK(owner_of(2).empty());
  CHECK(owner_of(3) == "B");
  CHECK(ids(a.claim("A", 10, 30s)) == std::vector<uint64_t>{1, 2, 4, 5});
}
