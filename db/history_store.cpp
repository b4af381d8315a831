#include "db/history_store.hpp"

namespace lpa::db {

namespace {

std::string timestamp(int64_t micros) {
  return "(timestamptz 'epoch' + " + std::to_string(micros) + " * interval '1 microsecond')";
}

std::string nullable(pqxx::transaction_base& tx, const std::string& text, const char* cast = "") {
  return text.empty() ? std::string{"NULL"} : tx.quote(text) + cast;
}

std::string headers_json(pqxx::transaction_base& tx,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  // jsonb_build_array keeps the order; a value is text with non-printable bytes escaped as \ooo
  // (encode(.., 'escape')), whatever bytes it holds.
  std::string out = "jsonb_build_array(";
  for (size_t i = 0; i < headers.size(); ++i)
    out += (i == 0 ? "" : ", ") + std::string{"jsonb_build_array("} + tx.quote(headers[i].first)
           + "::text, encode(" + tx.quote_raw(headers[i].second) + ", 'escape'))";
  return out + ")";
}

} // namespace

history_store::history_store(const store_settings& settings) : conn_(connect(settings)) {}

std::map<uint64_t, uint64_t> history_store::applied_seqs(const std::vector<uint64_t>& package_ids) {
  std::map<uint64_t, uint64_t> out;
  if (package_ids.empty())
    return out;
  std::string ids;
  for (auto id : package_ids)
    ids += (ids.empty() ? "" : ",") + std::to_string(id);
  pqxx::nontransaction tx{*conn_};
  for (const auto& r : tx.exec("SELECT package_id, applied_seq FROM package_state"
                               " WHERE package_id = ANY('{"
                               + ids + "}'::bigint[])"))
    out[r[0].as<uint64_t>()] = r[1].as<uint64_t>();
  return out;
}

history_write_result history_store::write(const history_write& w) {
  history_write_result result;
  pqxx::work tx{*conn_};
  if (!w.events.empty()) {
    std::string sql = "INSERT INTO history_event (package_id, event_id, package_seq, event_type,"
                      " created_at, payload, traceparent, kafka_partition, kafka_offset) VALUES ";
    for (size_t i = 0; i < w.events.size(); ++i) {
      const auto& e = w.events[i];
      sql += (i == 0 ? "(" : ", (") + std::to_string(e.package_id) + ", "
             + std::to_string(e.event_id) + ", " + std::to_string(e.package_seq) + ", "
             + tx.quote(e.event_type) + ", " + timestamp(e.created_us) + ", "
             + nullable(tx, e.payload, "::jsonb") + ", " + nullable(tx, e.traceparent) + ", "
             + std::to_string(e.partition) + ", " + std::to_string(e.offset) + ")";
    }
    sql += " ON CONFLICT DO NOTHING RETURNING event_id";
    for (const auto& r : tx.exec(sql))
      result.inserted.push_back(r[0].as<uint64_t>());
  }
  if (!w.states.empty()) {
    std::string sql = "INSERT INTO package_state AS s (package_id, applied_seq, event_id,"
                      " event_type, payload, updated_at) VALUES ";
    for (size_t i = 0; i < w.states.size(); ++i) {
      const auto& e = w.states[i];
      sql += (i == 0 ? "(" : ", (") + std::to_string(e.package_id) + ", "
             + std::to_string(e.package_seq) + ", " + std::to_string(e.event_id) + ", "
             + tx.quote(e.event_type) + ", " + nullable(tx, e.payload, "::jsonb") + ", "
             + timestamp(e.created_us) + ")";
    }
    sql += " ON CONFLICT (package_id) DO UPDATE SET applied_seq = excluded.applied_seq,"
           " event_id = excluded.event_id, event_type = excluded.event_type,"
           " payload = excluded.payload, updated_at = excluded.updated_at"
           " WHERE s.applied_seq < excluded.applied_seq";
    result.states_changed = tx.exec0(sql).affected_rows();
  }
  for (const auto& r : w.rejected)
    tx.exec0("INSERT INTO history_rejected (topic, kafka_partition, kafka_offset, record_key,"
             " record_value, headers, error) VALUES ("
             + tx.quote(r.topic) + ", " + std::to_string(r.partition) + ", "
             + std::to_string(r.offset) + ", " + tx.quote_raw(r.key) + ", " + tx.quote_raw(r.value)
             + ", " + headers_json(tx, r.headers) + ", " + tx.quote(r.error)
             + ") ON CONFLICT DO NOTHING");
  tx.commit();
  return result;
}

size_t history_store::prune(int days, size_t limit) {
  pqxx::work tx{*conn_};
  auto n = tx.exec0("DELETE FROM history_event WHERE (package_id, event_id) IN"
                    " (SELECT package_id, event_id FROM history_event WHERE recorded_at < now() - "
                    + std::to_string(days) + " * interval '1 day' LIMIT " + std::to_string(limit)
                    + ")")
               .affected_rows();
  tx.commit();
  return n;
}

} // namespace lpa::db
