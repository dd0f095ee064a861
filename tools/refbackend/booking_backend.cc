// The booking system: people, their bookings and payments, and consents.
//
// Erasure deletes the person and their consents and anonymises bookings and
// payments (kept for statistics: date, amount, region; person, guest name,
// card digits and payer e-mail removed). A person under legal hold keeps
// every record, each reported with reason LEGAL_HOLD.
#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/refbackend/backend.h"
#include "tools/refbackend/synthetic.h"

namespace dsar::refbackend {
namespace {

using connector::v1::EraseSubjectDataResponse;

constexpr const char* kCommonSchema = R"sql(
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE processed_tasks (
    task_id       TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    response      BLOB NOT NULL,
    ready_at_us   INTEGER NOT NULL,
    created_at_us INTEGER NOT NULL
  );
)sql";

class BookingBackend final : public Backend {
 public:
  BookingBackend(BackendOptions options, Clock* clock) : Backend(std::move(options), clock) {}

  connector::v1::DescribeResponse Describe() const override {
    connector::v1::DescribeResponse d;
    d.set_system("booking");
    d.set_display_name("Reference booking platform");
    auto add_category = [&](const char* name, const char* description, const char* retention) {
      auto* c = d.add_categories();
      c->set_name(name);
      c->set_description(description);
      c->set_retention(retention);
    };
    add_category("identity", "name, e-mail, phone, customer number, region",
                 "until erasure or 12 months after the relationship ends");
    add_category("booking", "booking date, amount, region, guest name",
                 "anonymised on erasure; statistics kept");
    add_category("payment", "amount, time, card's last four digits, payer e-mail",
                 "anonymised on erasure; statistics kept");
    add_category("consent", "consent state per purpose", "until erasure");
    d.add_purposes("booking");
    d.add_purposes("marketing");
    d.set_country("SE");
    d.set_processor("Example Booking AB (synthetic)");
    auto* sub = d.add_sub_processors();
    sub->set_name("Example Hosting AB (synthetic)");
    sub->set_country("SE");
    sub->set_service("hosting");
    auto* pay = d.add_sub_processors();
    pay->set_name("Example Payments Ltd (synthetic)");
    pay->set_country("IE");
    pay->set_service("payment processing");
    d.add_operations(connector::v1::OPERATION_EXPORT);
    d.add_operations(connector::v1::OPERATION_ERASE);
    d.add_operations(connector::v1::OPERATION_CONSENT);
    d.add_operations(connector::v1::OPERATION_ENDED_RELATIONSHIPS);
    d.set_version("refbackend-booking/1");
    return d;
  }

 protected:
  const std::vector<store::Migration>& Migrations() const override {
    static const std::vector<store::Migration>* const m = new std::vector<store::Migration>{
        {1, "common", kCommonSchema},
        {2, "booking", R"sql(
          CREATE TABLE people (
            id            INTEGER PRIMARY KEY,
            customer_id   TEXT,
            name          TEXT,
            email         TEXT,
            phone         TEXT,
            region        TEXT NOT NULL,
            created_at_us INTEGER NOT NULL,
            ended_at_us   INTEGER NOT NULL,
            legal_hold    INTEGER NOT NULL
          );
          CREATE INDEX people_by_email ON people (email);
          CREATE INDEX people_by_customer ON people (customer_id);
          CREATE INDEX people_by_phone ON people (phone);
          CREATE INDEX people_by_end ON people (ended_at_us, id);
          CREATE TABLE bookings (
            id            INTEGER PRIMARY KEY,
            person_id     INTEGER,
            booking_date  TEXT NOT NULL,
            amount_cents  INTEGER NOT NULL,
            region        TEXT NOT NULL,
            guest_name    TEXT,
            created_at_us INTEGER NOT NULL
          );
          CREATE INDEX bookings_by_person ON bookings (person_id, id);
          CREATE TABLE payments (
            id            INTEGER PRIMARY KEY,
            booking_id    INTEGER NOT NULL,
            person_id     INTEGER,
            amount_cents  INTEGER NOT NULL,
            card_last4    TEXT,
            payer_email   TEXT,
            created_at_us INTEGER NOT NULL
          );
          CREATE INDEX payments_by_person ON payments (person_id, id);
          CREATE TABLE consents (
            id            INTEGER PRIMARY KEY,
            person_id     INTEGER NOT NULL,
            purpose       TEXT NOT NULL,
            given         INTEGER NOT NULL,
            changed_at_us INTEGER NOT NULL,
            UNIQUE (person_id, purpose)
          );
        )sql"},
    };
    return *m;
  }

  const std::vector<Category>& Categories() const override {
    static const std::vector<Category>* const c = new std::vector<Category>{
        {"identity", "people",
         "SELECT id, customer_id, name, email, phone, region, created_at_us, ended_at_us "
         "FROM people WHERE id = ?1 AND id > ?2 LIMIT ?3"},
        {"booking", "bookings",
         "SELECT id, booking_date, amount_cents, region, guest_name, created_at_us "
         "FROM bookings WHERE person_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"},
        {"payment", "payments",
         "SELECT id, booking_id, amount_cents, card_last4, payer_email, created_at_us "
         "FROM payments WHERE person_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"},
        {"consent", "consents",
         "SELECT id, purpose, given, changed_at_us FROM consents "
         "WHERE person_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"},
    };
    return *c;
  }

  const char* PeopleTable() const override { return "people"; }

  absl::Status Seed(store::WriteTxn& txn) override {
    SyntheticRandom rng(options_.seed);
    SQLite::Statement& person = txn.Prepare(
        "INSERT INTO people (id, customer_id, name, email, phone, region, created_at_us, "
        "ended_at_us, legal_hold) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    SQLite::Statement& booking = txn.Prepare(
        "INSERT INTO bookings (person_id, booking_date, amount_cents, region, guest_name, "
        "created_at_us) VALUES (?, ?, ?, ?, ?, ?)");
    SQLite::Statement& payment = txn.Prepare(
        "INSERT INTO payments (booking_id, person_id, amount_cents, card_last4, payer_email, "
        "created_at_us) VALUES (?, ?, ?, ?, ?, ?)");
    SQLite::Statement& consent = txn.Prepare(
        "INSERT INTO consents (person_id, purpose, given, changed_at_us) VALUES (?, ?, ?, ?)");
    for (int i = 1; i <= options_.people; ++i) {
      SyntheticPerson p = MakePerson(i, rng);
      person.reset();
      person.bind(1, static_cast<int64_t>(i));
      person.bind(2, p.customer_id);
      person.bind(3, p.name);
      person.bind(4, p.email);
      person.bind(5, p.phone);
      person.bind(6, p.region);
      person.bind(7, static_cast<int64_t>(p.created_at_us));
      person.bind(8, static_cast<int64_t>(p.relationship_ended_at_us));
      person.bind(9, p.legal_hold ? 1 : 0);
      person.exec();
      int bookings = static_cast<int>(rng.Between(1, 4));
      for (int b = 0; b < bookings; ++b) {
        int64_t at = p.created_at_us + rng.Between(0, 300) * kDayUs;
        int64_t amount = rng.Between(5, 500) * 100;
        booking.reset();
        booking.bind(1, static_cast<int64_t>(i));
        booking.bind(2, DateOf(at + rng.Between(1, 60) * kDayUs));
        booking.bind(3, static_cast<int64_t>(amount));
        booking.bind(4, p.region);
        booking.bind(5, p.name);
        booking.bind(6, static_cast<int64_t>(at));
        booking.exec();
        int64_t booking_id = txn.db().getLastInsertRowid();
        payment.reset();
        payment.bind(1, static_cast<int64_t>(booking_id));
        payment.bind(2, static_cast<int64_t>(i));
        payment.bind(3, static_cast<int64_t>(amount));
        payment.bind(4, absl::StrFormat("%04d", static_cast<int>(rng.Below(10000))));
        payment.bind(5, p.email);
        payment.bind(6, static_cast<int64_t>(at + kDayUs));
        payment.exec();
      }
      for (const char* purpose : {"booking", "marketing"}) {
        consent.reset();
        consent.bind(1, static_cast<int64_t>(i));
        consent.bind(2, purpose);
        consent.bind(3, std::string(purpose) == "booking" || p.marketing_consent ? 1 : 0);
        consent.bind(4, static_cast<int64_t>(p.created_at_us));
        consent.exec();
      }
    }
    booking.reset();
    payment.reset();
    consent.reset();
    person.reset();
    return absl::OkStatus();
  }

  absl::Status EraseIn(store::WriteTxn& txn, const std::vector<int64_t>& ids,
                       EraseSubjectDataResponse& out) override {
    int64_t deleted = 0, anonymised = 0;
    for (int64_t id : ids) {
      SQLite::Statement& hold = txn.Prepare("SELECT legal_hold FROM people WHERE id = ?");
      hold.bind(1, static_cast<int64_t>(id));
      bool on_hold = hold.executeStep() && hold.getColumn(0).getInt() != 0;
      hold.reset();
      if (on_hold) {
        KeepUnderLegalHold(txn, id, out);
        continue;
      }
      auto run = [&](const char* sql) { return ExecForPerson(txn, sql, id); };
      anonymised +=
          run("UPDATE bookings SET person_id = NULL, guest_name = NULL WHERE person_id = ?");
      anonymised +=
          run("UPDATE payments SET person_id = NULL, card_last4 = NULL, payer_email = NULL "
              "WHERE person_id = ?");
      deleted += run("DELETE FROM consents WHERE person_id = ?");
      deleted += run("DELETE FROM people WHERE id = ?");
    }
    out.set_deleted_count(deleted);
    out.set_anonymised_count(anonymised);
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> ConsentIn(store::WriteTxn& txn, const std::vector<int64_t>& ids,
                                    const std::string& purpose, bool given,
                                    int64_t now_us) override {
    int64_t affected = 0;
    for (int64_t id : ids) affected += UpsertConsent(txn, "person_id", id, purpose, given, now_us);
    return affected;
  }
};

}  // namespace

std::unique_ptr<Backend> NewBookingBackend(BackendOptions options, Clock* clock) {
  return std::make_unique<BookingBackend>(std::move(options), clock);
}

// Shared with crm_backend.cc.
const char* CommonSchema() { return kCommonSchema; }

}  // namespace dsar::refbackend
