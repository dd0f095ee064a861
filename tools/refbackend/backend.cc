#include "tools/refbackend/backend.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "lib/core/status_macros.h"

namespace dsar::refbackend {

using connector::v1::ApplyConsentChangeRequest;
using connector::v1::ApplyConsentChangeResponse;
using connector::v1::EraseSubjectDataRequest;
using connector::v1::EraseSubjectDataResponse;
using connector::v1::ListEndedRelationshipsRequest;
using connector::v1::ListEndedRelationshipsResponse;
using connector::v1::SubjectIdentity;
using connector::v1::SubjectRecord;
using google::protobuf::util::TimeUtil;

IdentifierSets SplitIdentifiers(const SubjectIdentity& subject) {
  IdentifierSets out;
  for (const auto& id : subject.identifiers()) {
    if (id.value().empty()) continue;
    switch (id.type()) {
      case connector::v1::IDENTIFIER_TYPE_EMAIL:
        out.emails.push_back(id.value());
        break;
      case connector::v1::IDENTIFIER_TYPE_CUSTOMER_ID:
        out.customer_ids.push_back(id.value());
        break;
      case connector::v1::IDENTIFIER_TYPE_PHONE:
        out.phones.push_back(id.value());
        break;
      default:
        break;
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Backend>> Backend::Open(const BackendOptions& options,
                                                       Clock* clock) {
  std::unique_ptr<Backend> backend = options.kind == Kind::kBooking
                                         ? NewBookingBackend(options, clock)
                                         : NewCrmBackend(options, clock);
  store::StoreOptions store_options;
  store_options.path = options.db_path;
  store_options.read_pool_size = 4;
  store_options.migrations = &backend->Migrations();
  ASSIGN_OR_RETURN(backend->store_, store::Store::Open(store_options));
  Backend* b = backend.get();
  RETURN_IF_ERROR(b->store_->WriteAndWait([b](store::WriteTxn& txn) -> absl::Status {
    SQLite::Statement& seeded = txn.Prepare("SELECT value FROM meta WHERE key = 'seeded'");
    if (seeded.executeStep()) return absl::OkStatus();
    RETURN_IF_ERROR(b->Seed(txn));
    SQLite::Statement& mark = txn.Prepare("INSERT INTO meta (key, value) VALUES ('seeded', ?)");
    mark.bind(1, absl::StrCat("seed=", b->options_.seed, " people=", b->options_.people));
    mark.exec();
    return absl::OkStatus();
  }));
  return backend;
}

std::vector<int64_t> Backend::FindSubject(PrepareFn prepare, const SubjectIdentity& subject) const {
  IdentifierSets ids = SplitIdentifiers(subject);
  std::vector<int64_t> out;
  auto lookup = [&](const char* column, const std::vector<std::string>& values) {
    if (values.empty()) return;
    SQLite::Statement& q =
        prepare(absl::StrCat("SELECT id FROM ", PeopleTable(), " WHERE ", column, " = ?"));
    for (const auto& v : values) {
      q.reset();
      q.bind(1, v);
      while (q.executeStep()) out.push_back(q.getColumn(0).getInt64());
    }
    q.reset();
  };
  lookup("email", ids.emails);
  lookup("customer_id", ids.customer_ids);
  lookup("phone", ids.phones);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<connector::v1::SubjectIdentifier> Backend::IdentifiersOf(
    PrepareFn prepare, const std::vector<int64_t>& ids) const {
  std::vector<connector::v1::SubjectIdentifier> out;
  SQLite::Statement& q = prepare(
      absl::StrCat("SELECT email, customer_id, phone FROM ", PeopleTable(), " WHERE id = ?"));
  auto add = [&](connector::v1::IdentifierType type, const SQLite::Column& c) {
    if (c.isNull()) return;
    const std::string value = c.getString();
    for (const auto& id : out) {
      if (id.type() == type && id.value() == value) return;
    }
    auto& id = out.emplace_back();
    id.set_type(type);
    id.set_value(value);
  };
  for (int64_t person : ids) {
    q.reset();
    q.bind(1, person);
    if (q.executeStep()) {
      add(connector::v1::IDENTIFIER_TYPE_EMAIL, q.getColumn(0));
      add(connector::v1::IDENTIFIER_TYPE_CUSTOMER_ID, q.getColumn(1));
      add(connector::v1::IDENTIFIER_TYPE_PHONE, q.getColumn(2));
    }
  }
  q.reset();
  return out;
}

absl::StatusOr<ExportCursor> Backend::StartExport(const SubjectIdentity& subject) {
  if (SplitIdentifiers(subject).empty()) {
    return absl::InvalidArgumentError("subject has no e-mail, customer id or phone");
  }
  ExportCursor cursor;
  RETURN_IF_ERROR(store_->Read([&](store::ReadTxn& txn) {
    auto prepare = [&](absl::string_view sql) -> SQLite::Statement& { return txn.Prepare(sql); };
    cursor.person_ids = FindSubject(prepare, subject);
    cursor.resolved = IdentifiersOf(prepare, cursor.person_ids);
    return absl::OkStatus();
  }));
  return cursor;
}

namespace {

// The row's columns (after the id) as a JSON object.
nlohmann::json RowToJson(SQLite::Statement& q) {
  nlohmann::json obj = nlohmann::json::object();
  for (int i = 1; i < q.getColumnCount(); ++i) {
    SQLite::Column c = q.getColumn(i);
    std::string name = q.getColumnName(i);
    if (c.isNull()) {
      obj[name] = nullptr;
    } else if (c.isInteger()) {
      obj[name] = c.getInt64();
    } else if (c.isFloat()) {
      obj[name] = c.getDouble();
    } else {
      obj[name] = c.getString();
    }
  }
  return obj;
}

}  // namespace

absl::StatusOr<std::vector<SubjectRecord>> Backend::NextExportBatch(ExportCursor& cursor,
                                                                    int max_records) {
  std::vector<SubjectRecord> out;
  const auto& categories = Categories();
  const std::string system = options_.kind == Kind::kBooking ? "booking" : "crm";
  RETURN_IF_ERROR(store_->Read([&](store::ReadTxn& txn) {
    while (!cursor.done() && static_cast<int>(out.size()) < max_records) {
      const Category& cat = categories[cursor.category];
      SQLite::Statement& q = txn.Prepare(cat.sql);
      q.bind(1, static_cast<int64_t>(cursor.person_ids[cursor.person]));
      q.bind(2, static_cast<int64_t>(cursor.last_id));
      q.bind(3, max_records - static_cast<int>(out.size()));
      int rows = 0;
      while (q.executeStep()) {
        ++rows;
        int64_t id = q.getColumn(0).getInt64();
        cursor.last_id = id;
        nlohmann::json content = RowToJson(q);
        SubjectRecord& r = out.emplace_back();
        r.set_record_id(absl::StrCat(cat.table, "/", id));
        r.set_system(system);
        r.set_category(cat.name);
        if (content.contains("created_at_us") && content["created_at_us"].is_number_integer()) {
          *r.mutable_create_time() =
              TimeUtil::MicrosecondsToTimestamp(content["created_at_us"].get<int64_t>());
        }
        r.set_json(content.dump());
      }
      q.reset();
      if (static_cast<int>(out.size()) < max_records || rows == 0) {
        // This category is exhausted for this person: move on.
        cursor.last_id = 0;
        if (++cursor.category == categories.size()) {
          cursor.category = 0;
          ++cursor.person;
        }
      }
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<EraseSubjectDataResponse> Backend::Erase(const EraseSubjectDataRequest& request) {
  if (request.task_id().empty()) return absl::InvalidArgumentError("task_id is required");
  if (SplitIdentifiers(request.subject()).empty()) {
    return absl::InvalidArgumentError("subject has no e-mail, customer id or phone");
  }
  const int64_t now_us = absl::ToUnixMicros(clock_->Now());
  EraseSubjectDataResponse response;
  RETURN_IF_ERROR(store_->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    SQLite::Statement& find =
        txn.Prepare("SELECT kind, response, ready_at_us FROM processed_tasks WHERE task_id = ?");
    find.bind(1, request.task_id());
    if (find.executeStep()) {
      std::string kind = find.getColumn(0).getString();
      std::string stored = find.getColumn(1).getString();
      int64_t ready_at = find.getColumn(2).getInt64();
      find.reset();
      if (kind != "erase") {
        return absl::InvalidArgumentError("task_id was used for another operation");
      }
      if (!response.ParseFromString(stored)) return absl::InternalError("corrupt stored result");
      response.set_replayed(true);
      if (now_us < ready_at) {
        EraseSubjectDataResponse pending;
        pending.set_state(connector::v1::OPERATION_STATE_IN_PROGRESS);
        pending.set_replayed(true);
        response = pending;
      }
      return absl::OkStatus();
    }
    find.reset();
    auto prepare = [&](absl::string_view sql) -> SQLite::Statement& { return txn.Prepare(sql); };
    std::vector<int64_t> ids = FindSubject(prepare, request.subject());
    // Read before the erasure removes them.
    for (auto& id : IdentifiersOf(prepare, ids)) {
      *response.add_resolved_identifiers() = std::move(id);
    }
    RETURN_IF_ERROR(EraseIn(txn, ids, response));
    response.set_state(connector::v1::OPERATION_STATE_DONE);
    SQLite::Statement& insert = txn.Prepare(
        "INSERT INTO processed_tasks (task_id, kind, response, ready_at_us, created_at_us) "
        "VALUES (?, 'erase', ?, ?, ?)");
    std::string bytes = response.SerializeAsString();
    insert.bind(1, request.task_id());
    insert.bind(2, bytes.data(), static_cast<int>(bytes.size()));
    insert.bind(3, static_cast<int64_t>(now_us + absl::ToInt64Microseconds(options_.async_erase)));
    insert.bind(4, static_cast<int64_t>(now_us));
    insert.exec();
    if (options_.async_erase > absl::ZeroDuration()) {
      EraseSubjectDataResponse pending;
      pending.set_state(connector::v1::OPERATION_STATE_IN_PROGRESS);
      response = pending;
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<ApplyConsentChangeResponse> Backend::ApplyConsent(
    const ApplyConsentChangeRequest& request) {
  if (request.task_id().empty()) return absl::InvalidArgumentError("task_id is required");
  if (SplitIdentifiers(request.subject()).empty()) {
    return absl::InvalidArgumentError("subject has no e-mail, customer id or phone");
  }
  if (request.purpose().empty()) return absl::InvalidArgumentError("purpose is required");
  if (request.action() != connector::v1::CONSENT_ACTION_GIVEN &&
      request.action() != connector::v1::CONSENT_ACTION_WITHDRAWN) {
    return absl::InvalidArgumentError("action must be GIVEN or WITHDRAWN");
  }
  const int64_t now_us = absl::ToUnixMicros(clock_->Now());
  const int64_t change_us =
      request.has_change_time() ? TimeUtil::TimestampToMicroseconds(request.change_time()) : now_us;
  ApplyConsentChangeResponse response;
  RETURN_IF_ERROR(store_->WriteAndWait([&](store::WriteTxn& txn) -> absl::Status {
    SQLite::Statement& find =
        txn.Prepare("SELECT kind, response FROM processed_tasks WHERE task_id = ?");
    find.bind(1, request.task_id());
    if (find.executeStep()) {
      std::string kind = find.getColumn(0).getString();
      std::string stored = find.getColumn(1).getString();
      find.reset();
      if (kind != "consent") {
        return absl::InvalidArgumentError("task_id was used for another operation");
      }
      if (!response.ParseFromString(stored)) return absl::InternalError("corrupt stored result");
      response.set_replayed(true);
      return absl::OkStatus();
    }
    find.reset();
    std::vector<int64_t> ids =
        FindSubject([&](absl::string_view sql) -> SQLite::Statement& { return txn.Prepare(sql); },
                    request.subject());
    ASSIGN_OR_RETURN(int64_t affected,
                     ConsentIn(txn, ids, request.purpose(),
                               request.action() == connector::v1::CONSENT_ACTION_GIVEN, change_us));
    response.set_state(connector::v1::OPERATION_STATE_DONE);
    response.set_affected_count(affected);
    response.set_no_matching_record(ids.empty());
    SQLite::Statement& insert = txn.Prepare(
        "INSERT INTO processed_tasks (task_id, kind, response, ready_at_us, created_at_us) "
        "VALUES (?, 'consent', ?, 0, ?)");
    std::string bytes = response.SerializeAsString();
    insert.bind(1, request.task_id());
    insert.bind(2, bytes.data(), static_cast<int>(bytes.size()));
    insert.bind(3, static_cast<int64_t>(now_us));
    insert.exec();
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<ListEndedRelationshipsResponse> Backend::ListEnded(
    const ListEndedRelationshipsRequest& request) {
  if (!request.has_end_time_before()) {
    return absl::InvalidArgumentError("end_time_before is required");
  }
  int page_size = request.page_size() <= 0 ? 100 : std::min(request.page_size(), 1000);
  int64_t after_end = 0, after_id = 0;
  if (!request.page_token().empty()) {
    std::vector<std::string> parts = absl::StrSplit(request.page_token(), ':');
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &after_end) ||
        !absl::SimpleAtoi(parts[1], &after_id)) {
      return absl::InvalidArgumentError("page_token is malformed");
    }
  }
  const int64_t before = TimeUtil::TimestampToMicroseconds(request.end_time_before());
  ListEndedRelationshipsResponse response;
  RETURN_IF_ERROR(store_->Read([&](store::ReadTxn& txn) {
    SQLite::Statement& q = txn.Prepare(
        absl::StrCat("SELECT id, ended_at_us, email, customer_id, phone FROM ", PeopleTable(),
                     " WHERE ended_at_us > 0 AND ended_at_us < ? AND (ended_at_us > ? OR "
                     "(ended_at_us = ? AND id > ?)) AND customer_id IS NOT NULL "
                     "ORDER BY ended_at_us, id LIMIT ?"));
    q.bind(1, static_cast<int64_t>(before));
    q.bind(2, static_cast<int64_t>(after_end));
    q.bind(3, static_cast<int64_t>(after_end));
    q.bind(4, static_cast<int64_t>(after_id));
    q.bind(5, page_size + 1);
    int n = 0;
    while (q.executeStep()) {
      if (++n > page_size) {
        response.set_next_page_token(absl::StrCat(after_end, ":", after_id));
        break;
      }
      after_id = q.getColumn(0).getInt64();
      after_end = q.getColumn(1).getInt64();
      auto* rel = response.add_relationships();
      *rel->mutable_end_time() = TimeUtil::MicrosecondsToTimestamp(after_end);
      auto add = [&](connector::v1::IdentifierType type, int column) {
        if (q.getColumn(column).isNull()) return;
        auto* id = rel->mutable_subject()->add_identifiers();
        id->set_type(type);
        id->set_value(q.getColumn(column).getString());
      };
      add(connector::v1::IDENTIFIER_TYPE_EMAIL, 2);
      add(connector::v1::IDENTIFIER_TYPE_CUSTOMER_ID, 3);
      add(connector::v1::IDENTIFIER_TYPE_PHONE, 4);
    }
    q.reset();
    return absl::OkStatus();
  }));
  return response;
}

void Backend::KeepUnderLegalHold(store::WriteTxn& txn, int64_t id,
                                 connector::v1::EraseSubjectDataResponse& out) const {
  for (const Category& cat : Categories()) {
    SQLite::Statement& q = txn.Prepare(cat.sql);
    q.bind(1, id);
    q.bind(2, int64_t{0});
    q.bind(3, 1000000);
    while (q.executeStep()) {
      auto* k = out.add_kept_records();
      k->set_record_id(absl::StrCat(cat.table, "/", q.getColumn(0).getInt64()));
      k->set_category(cat.name);
      k->set_reason(connector::v1::KEEP_REASON_LEGAL_HOLD);
      k->set_detail("legal hold on the customer account");
    }
    q.reset();
  }
}

int64_t Backend::ExecForPerson(store::WriteTxn& txn, const char* sql, int64_t id) {
  SQLite::Statement& q = txn.Prepare(sql);
  q.bind(1, id);
  return static_cast<int64_t>(q.exec());
}

int64_t Backend::UpsertConsent(store::WriteTxn& txn, const char* owner_column, int64_t id,
                               const std::string& purpose, bool given, int64_t now_us) {
  // Only a change newer than the one held: reordered or retried deliveries
  // end on the latest state.
  SQLite::Statement& upsert =
      txn.Prepare(absl::StrCat("INSERT INTO consents (", owner_column,
                               ", purpose, given, changed_at_us) "
                               "VALUES (?, ?, ?, ?) ON CONFLICT (",
                               owner_column,
                               ", purpose) DO UPDATE SET "
                               "given = excluded.given, changed_at_us = excluded.changed_at_us "
                               "WHERE excluded.changed_at_us > consents.changed_at_us"));
  upsert.bind(1, id);
  upsert.bind(2, purpose);
  upsert.bind(3, given ? 1 : 0);
  upsert.bind(4, now_us);
  const int64_t changed = upsert.exec();
  upsert.reset();
  return changed;
}

}  // namespace dsar::refbackend
