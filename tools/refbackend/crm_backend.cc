// The CRM: contacts, notes, e-mails and document references.
//
// Erasure deletes notes, e-mails and document references (the policy's
// "documents and e-mail about the person") and anonymises the contact row,
// which keeps region and creation date for customer statistics. A contact
// under legal hold keeps everything, each record reported with LEGAL_HOLD.
#include <SQLiteCpp/Column.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/refbackend/backend.h"
#include "tools/refbackend/synthetic.h"

namespace dsar::refbackend {
namespace {

using connector::v1::EraseSubjectDataResponse;

class CrmBackend final : public Backend {
 public:
  CrmBackend(BackendOptions options, Clock* clock) : Backend(std::move(options), clock) {}

  connector::v1::DescribeResponse Describe() const override {
    connector::v1::DescribeResponse d;
    d.set_system("crm");
    d.set_display_name("Reference CRM");
    auto add_category = [&](const char* name, const char* description, const char* retention) {
      auto* c = d.add_categories();
      c->set_name(name);
      c->set_description(description);
      c->set_retention(retention);
    };
    add_category("contact", "name, e-mail, phone, customer number, company, region",
                 "anonymised on erasure; statistics kept");
    add_category("note", "service notes about the customer",
                 "at most 12 months after the relationship ends");
    add_category("email", "e-mails to and from the customer",
                 "at most 12 months after the relationship ends");
    add_category("document", "references to contracts and letters",
                 "at most 12 months after the relationship ends");
    d.add_purposes("customer_service");
    d.add_purposes("marketing");
    d.set_country("SE");
    d.set_processor("Example CRM AB (synthetic)");
    auto* sub = d.add_sub_processors();
    sub->set_name("Example Mail GmbH (synthetic)");
    sub->set_country("DE");
    sub->set_service("e-mail delivery");
    d.add_operations(connector::v1::OPERATION_EXPORT);
    d.add_operations(connector::v1::OPERATION_ERASE);
    d.add_operations(connector::v1::OPERATION_CONSENT);
    d.add_operations(connector::v1::OPERATION_ENDED_RELATIONSHIPS);
    d.set_version("refbackend-crm/1");
    return d;
  }

 protected:
  const std::vector<store::Migration>& Migrations() const override {
    static const std::vector<store::Migration>* const m = new std::vector<store::Migration>{
        {1, "common", CommonSchema()},
        {2, "crm", R"sql(
          CREATE TABLE contacts (
            id                  INTEGER PRIMARY KEY,
            customer_id         TEXT,
            name                TEXT,
            email               TEXT,
            phone               TEXT,
            company             TEXT,
            region              TEXT NOT NULL,
            newsletter_consent  INTEGER NOT NULL,
            created_at_us       INTEGER NOT NULL,
            ended_at_us         INTEGER NOT NULL,
            legal_hold          INTEGER NOT NULL
          );
          CREATE INDEX contacts_by_email ON contacts (email);
          CREATE INDEX contacts_by_customer ON contacts (customer_id);
          CREATE INDEX contacts_by_phone ON contacts (phone);
          CREATE INDEX contacts_by_end ON contacts (ended_at_us, id);
          CREATE TABLE notes (
            id            INTEGER PRIMARY KEY,
            contact_id    INTEGER NOT NULL,
            body          TEXT NOT NULL,
            created_at_us INTEGER NOT NULL
          );
          CREATE INDEX notes_by_contact ON notes (contact_id, id);
          CREATE TABLE emails (
            id            INTEGER PRIMARY KEY,
            contact_id    INTEGER NOT NULL,
            direction     TEXT NOT NULL,
            address       TEXT NOT NULL,
            subject       TEXT NOT NULL,
            body          TEXT NOT NULL,
            created_at_us INTEGER NOT NULL
          );
          CREATE INDEX emails_by_contact ON emails (contact_id, id);
          CREATE TABLE documents (
            id            INTEGER PRIMARY KEY,
            contact_id    INTEGER NOT NULL,
            title         TEXT NOT NULL,
            uri           TEXT NOT NULL,
            created_at_us INTEGER NOT NULL
          );
          CREATE INDEX documents_by_contact ON documents (contact_id, id);
          CREATE TABLE consents (
            id            INTEGER PRIMARY KEY,
            contact_id    INTEGER NOT NULL,
            purpose       TEXT NOT NULL,
            given         INTEGER NOT NULL,
            changed_at_us INTEGER NOT NULL,
            UNIQUE (contact_id, purpose)
          );
        )sql"},
    };
    return *m;
  }

  const std::vector<Category>& Categories() const override {
    static const std::vector<Category>* const c = new std::vector<Category>{
        {"contact", "contacts",
         "SELECT id, customer_id, name, email, phone, company, region, newsletter_consent, "
         "created_at_us, ended_at_us FROM contacts WHERE id = ?1 AND id > ?2 LIMIT ?3"},
        {"note", "notes",
         "SELECT id, body, created_at_us FROM notes WHERE contact_id = ?1 AND id > ?2 "
         "ORDER BY id LIMIT ?3"},
        {"email", "emails",
         "SELECT id, direction, address, subject, body, created_at_us FROM emails "
         "WHERE contact_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"},
        {"document", "documents",
         "SELECT id, title, uri, created_at_us FROM documents WHERE contact_id = ?1 "
         "AND id > ?2 ORDER BY id LIMIT ?3"},
        {"consent", "consents",
         "SELECT id, purpose, given, changed_at_us FROM consents "
         "WHERE contact_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"},
    };
    return *c;
  }

  const char* PeopleTable() const override { return "contacts"; }

  absl::Status Seed(store::WriteTxn& txn) override {
    // Draw people exactly as the booking system does, so both agree on who
    // exists; CRM content comes from a second stream.
    SyntheticRandom people_rng(options_.seed);
    SyntheticRandom rng(options_.seed ^ 0x9e3779b97f4a7c15ULL);
    SQLite::Statement& contact = txn.Prepare(
        "INSERT INTO contacts (id, customer_id, name, email, phone, company, region, "
        "newsletter_consent, created_at_us, ended_at_us, legal_hold) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    SQLite::Statement& note =
        txn.Prepare("INSERT INTO notes (contact_id, body, created_at_us) VALUES (?, ?, ?)");
    SQLite::Statement& email = txn.Prepare(
        "INSERT INTO emails (contact_id, direction, address, subject, body, created_at_us) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    SQLite::Statement& document = txn.Prepare(
        "INSERT INTO documents (contact_id, title, uri, created_at_us) VALUES (?, ?, ?, ?)");
    static const char* const kTopics[] = {"booking change", "invoice question", "complaint",
                                          "newsletter", "lost property"};
    for (int i = 1; i <= options_.people; ++i) {
      SyntheticPerson p = MakePerson(i, people_rng);
      contact.reset();
      contact.bind(1, static_cast<int64_t>(i));
      contact.bind(2, p.customer_id);
      contact.bind(3, p.name);
      contact.bind(4, p.email);
      contact.bind(5, p.phone);
      contact.bind(6,
                   absl::StrFormat("Company %03d (synthetic)", static_cast<int>(rng.Below(200))));
      contact.bind(7, p.region);
      contact.bind(8, p.marketing_consent ? 1 : 0);
      contact.bind(9, static_cast<int64_t>(p.created_at_us));
      contact.bind(10, static_cast<int64_t>(p.relationship_ended_at_us));
      contact.bind(11, p.legal_hold ? 1 : 0);
      contact.exec();
      int notes = static_cast<int>(rng.Between(0, 3));
      for (int n = 0; n < notes; ++n) {
        note.reset();
        note.bind(1, static_cast<int64_t>(i));
        note.bind(2, absl::StrCat("Spoke with ", p.name, " about ", kTopics[rng.Below(5)], "."));
        note.bind(3, static_cast<int64_t>(p.created_at_us + rng.Between(0, 400) * kDayUs));
        note.exec();
      }
      int emails = static_cast<int>(rng.Between(1, 4));
      for (int e = 0; e < emails; ++e) {
        bool inbound = rng.Below(2) == 0;
        const char* topic = kTopics[rng.Below(5)];
        email.reset();
        email.bind(1, static_cast<int64_t>(i));
        email.bind(2, inbound ? "inbound" : "outbound");
        email.bind(3, p.email);
        email.bind(4, absl::StrCat("Re: ", topic));
        email.bind(5, absl::StrCat(inbound ? "Hello, this is " : "Dear ", p.name,
                                   ", regarding your ", topic, "."));
        email.bind(6, static_cast<int64_t>(p.created_at_us + rng.Between(0, 400) * kDayUs));
        email.exec();
      }
      if (rng.Below(2) == 0) {
        document.reset();
        document.bind(1, static_cast<int64_t>(i));
        document.bind(2, absl::StrCat("Contract ", p.customer_id));
        document.bind(3, absl::StrFormat("docs://crm/contracts/%06d.pdf", i));
        document.bind(4, static_cast<int64_t>(p.created_at_us));
        document.exec();
      }
    }
    contact.reset();
    note.reset();
    email.reset();
    document.reset();
    return absl::OkStatus();
  }

  absl::Status EraseIn(store::WriteTxn& txn, const std::vector<int64_t>& ids,
                       EraseSubjectDataResponse& out) override {
    int64_t deleted = 0, anonymised = 0;
    for (int64_t id : ids) {
      SQLite::Statement& hold =
          txn.Prepare("SELECT legal_hold, customer_id IS NULL FROM contacts WHERE id = ?");
      hold.bind(1, static_cast<int64_t>(id));
      bool found = hold.executeStep();
      bool on_hold = found && hold.getColumn(0).getInt() != 0;
      hold.reset();
      if (!found) continue;
      if (on_hold) {
        KeepUnderLegalHold(txn, id, out);
        continue;
      }
      auto run = [&](const char* sql) { return ExecForPerson(txn, sql, id); };
      deleted += run("DELETE FROM notes WHERE contact_id = ?");
      deleted += run("DELETE FROM emails WHERE contact_id = ?");
      deleted += run("DELETE FROM documents WHERE contact_id = ?");
      deleted += run("DELETE FROM consents WHERE contact_id = ?");
      anonymised +=
          run("UPDATE contacts SET customer_id = NULL, name = NULL, email = NULL, phone = NULL, "
              "company = NULL, newsletter_consent = 0 WHERE id = ? AND customer_id IS NOT NULL");
    }
    out.set_deleted_count(deleted);
    out.set_anonymised_count(anonymised);
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> ConsentIn(store::WriteTxn& txn, const std::vector<int64_t>& ids,
                                    const std::string& purpose, bool given,
                                    int64_t now_us) override {
    int64_t affected = 0;
    for (int64_t id : ids) {
      const int64_t changed = UpsertConsent(txn, "contact_id", id, purpose, given, now_us);
      affected += changed;
      if (changed > 0 && purpose == "marketing") {
        SQLite::Statement& flag =
            txn.Prepare("UPDATE contacts SET newsletter_consent = ? WHERE id = ?");
        flag.bind(1, given ? 1 : 0);
        flag.bind(2, id);
        flag.exec();
      }
    }
    return affected;
  }
};

}  // namespace

std::unique_ptr<Backend> NewCrmBackend(BackendOptions options, Clock* clock) {
  return std::make_unique<CrmBackend>(std::move(options), clock);
}

}  // namespace dsar::refbackend
