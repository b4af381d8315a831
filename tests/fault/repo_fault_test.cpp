// Fault injection on the API server: RepoActors killed under load, PostgreSQL stopped under
// load. Every call must come back in time with OK or UNAVAILABLE, and the database must hold
// exactly what was acknowledged.
#include "tests/support/api_fixture.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace lpa::test;
using Stub = v1::LogisticPackageApiService::Stub;

namespace {

constexpr auto call_deadline = 2000ms;
// Slack for scheduling on a loaded 2-core machine; a hung call would take far longer.
constexpr auto deadline_slack = 1000ms;

struct outcome {
  grpc::StatusCode code;
  std::chrono::milliseconds took;
  uint64_t id;
};

outcome timed_create(api_fixture& f, const std::string& title) {
  v1::CreatePackageV1Request req;
  req.set_title(title);
  req.set_material("m");
  req.set_maximumvolume(1);
  v1::CreatePackageV1Response rep;
  auto started = std::chrono::steady_clock::now();
  auto status = f.call(&Stub::CreatePackageV1, req, &rep, call_deadline);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                                    - started);
  return {status.error_code(), took, rep.id()};
}

// Client threads creating packages until `stop`, keeping every outcome.
class load {
public:
  load(api_fixture& f, int threads) {
    for (int t = 0; t < threads; ++t)
      workers_.emplace_back([this, &f, t] {
        for (int i = 0; !stop_; ++i) {
          auto o = timed_create(f, "t" + std::to_string(t) + "-" + std::to_string(i));
          std::lock_guard<std::mutex> guard{mutex_};
          outcomes_.push_back(o);
          changed_.notify_all();
        }
      });
  }
  ~load() { finish(); }

  std::vector<outcome> finish() {
    stop_ = true;
    for (auto& w : workers_)
      if (w.joinable())
        w.join();
    return outcomes_;
  }

  size_t count(grpc::StatusCode code) {
    std::lock_guard<std::mutex> guard{mutex_};
    return count_locked(code);
  }

  // Waits until at least n calls answered `code`; false when `until` passed first.
  bool await(grpc::StatusCode code, size_t n, std::chrono::steady_clock::time_point until) {
    std::unique_lock<std::mutex> guard{mutex_};
    return changed_.wait_until(guard, until, [&] { return count_locked(code) >= n; });
  }

private:
  size_t count_locked(grpc::StatusCode code) const {
    return std::count_if(outcomes_.begin(), outcomes_.end(),
                         [code](const outcome& o) { return o.code == code; });
  }

  std::condition_variable changed_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<outcome> outcomes_;
  std::vector<std::thread> workers_;
};

std::set<uint64_t> ids(pqxx::connection& conn, const std::string& query) {
  pqxx::read_transaction tx{conn};
  std::set<uint64_t> out;
  for (const auto& row : tx.exec(query))
    out.insert(row[0].as<uint64_t>());
  return out;
}

// Every call answered OK or UNAVAILABLE within its deadline; every OK'd create is stored with
// exactly one Created event; no event exists without its package.
void check_outcomes(api_fixture& f, const std::vector<outcome>& outcomes) {
  pqxx::connection conn{f.pg.dsn()}; // fresh: PostgreSQL may have restarted under the fixture's
  auto packages = ids(conn, "SELECT package_id FROM package");
  auto created = ids(conn, "SELECT package_id FROM package_event WHERE event_type = 'Created'");
  size_t ok = 0;
  for (const auto& o : outcomes) {
    INFO("status code " << o.code << " after " << o.took.count() << " ms");
    REQUIRE((o.code == grpc::StatusCode::OK || o.code == grpc::StatusCode::UNAVAILABLE));
    REQUIRE(o.took < call_deadline + deadline_slack);
    if (o.code == grpc::StatusCode::OK) {
      ++ok;
      REQUIRE(packages.count(o.id) == 1);
      REQUIRE(created.count(o.id) == 1);
    }
  }
  CHECK(ok > 0);
  pqxx::read_transaction tx{conn};
  CHECK(tx.exec1("SELECT count(*) FROM package_event e WHERE NOT EXISTS"
                 " (SELECT 1 FROM package p WHERE p.package_id = e.package_id)")[0]
            .as<long long>()
        == 0);
  CHECK(tx.exec1("SELECT count(*) FROM package_event")[0].as<long long>()
        == static_cast<long long>(packages.size()));
}

// Creates until one succeeds, bounded; returns whether one did.
bool await_recovery(api_fixture& f, std::chrono::seconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until)
    if (timed_create(f, "probe").code == grpc::StatusCode::OK)
      return true;
  return false;
}

std::vector<caf::actor> running_repo_actors(api_fixture& f) {
  caf::scoped_actor self{f.server->system()};
  std::vector<caf::actor> out;
  self->request(f.server->repo(), caf::duration{1s}, caf::get_atom_v)
      .receive([&](std::vector<caf::actor>& xs) { out = std::move(xs); }, [&](caf::error&) {});
  return out;
}

} // namespace

TEST_CASE("RepoActors killed repeatedly under 8 client threads: every call returns OK or "
          "UNAVAILABLE in time and every OK is stored with its event",
          "[fault]") {
  api_fixture f;
  load clients{f, 8};
  int kills = 0;
  for (int round = 0; round < 15; ++round) {
    // Each round kills only once the restarted RepoActors served a call, so restarts (with a
    // growing backoff) interleave with served calls however slow the machine is.
    REQUIRE(clients.await(grpc::StatusCode::OK, clients.count(grpc::StatusCode::OK) + 1,
                          std::chrono::steady_clock::now() + 20s));
    for (auto& actor : running_repo_actors(f)) {
      caf::anon_send_exit(actor, caf::exit_reason::kill);
      ++kills;
    }
  }
  auto outcomes = clients.finish();
  INFO(outcomes.size() << " calls, " << kills << " kills");
  // Rounds that found a RepoActor still restarting kill fewer.
  CHECK(kills >= 10);
  check_outcomes(f, outcomes);
  // After the last restart, calls succeed again.
  REQUIRE(await_recovery(f, 10s));
  for (int i = 0; i < 20; ++i)
    REQUIRE(timed_create(f, "after").code == grpc::StatusCode::OK);
}

TEST_CASE("PostgreSQL stopped mid-load: UNAVAILABLE while down, full recovery after, same "
          "process",
          "[fault]") {
  api_fixture f;
  load clients{f, 4};
  auto now = [] { return std::chrono::steady_clock::now(); };
  REQUIRE(clients.await(grpc::StatusCode::OK, 50, now() + 30s));

  f.pg.stop();
  CHECK(clients.await(grpc::StatusCode::UNAVAILABLE, 20, now() + 30s));
  int status = 0;
  http_get(f.server->status_port(), "/ready", status);
  CHECK(status == 503);

  f.pg.start();
  auto ok_before = clients.count(grpc::StatusCode::OK);
  CHECK(clients.await(grpc::StatusCode::OK, ok_before + 50, now() + 60s));
  auto outcomes = clients.finish();
  check_outcomes(f, outcomes);
}

TEST_CASE("After a PostgreSQL restart, idle RepoActors answer their first requests on fresh "
          "connections",
          "[fault]") {
  api_fixture f;
  auto id = f.create("box", "wood", 1);
  auto describe = [&] {
    v1::DescribePackageV1Request req;
    req.set_packageid(id);
    v1::DescribePackageV1Response rep;
    return f.call(&Stub::DescribePackageV1, req, &rep).error_code();
  };
  for (int i = 0; i < 8; ++i) // every reader has a connection now
    REQUIRE(describe() == grpc::StatusCode::OK);

  f.pg.stop();
  f.pg.start();
  int status = 0;
  for (int i = 0; i < 300 && status != 200; ++i) {
    http_get(f.server->status_port(), "/ready", status);
    if (status != 200)
      std::this_thread::sleep_for(100ms); // polling: no event to await
  }
  REQUIRE(status == 200);
  // The readers sat idle through the restart: their connections are dead, yet nothing fails.
  for (int i = 0; i < 20; ++i)
    CHECK(describe() == grpc::StatusCode::OK);
  v1::ListPackagesV1Request list;
  v1::ListPackagesV1Response page;
  CHECK(f.call(&Stub::ListPackagesV1, list, &page).ok());
  CHECK(timed_create(f, "after restart").code == grpc::StatusCode::OK);
}
