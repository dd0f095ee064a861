// dsarctl requests ...: dsar.v1.PrivacyRequestService.
#include <sodium.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "dsar/v1/privacy_request.grpc.pb.h"
#include "tools/dsarctl/commands.h"

namespace dsar::dsarctl {
namespace {

using v1::PrivacyRequestService;

constexpr absl::string_view kCollection = "privacyRequests/";

std::string FullName(const std::string& name) {
  return absl::StartsWith(name, kCollection) ? name : absl::StrCat(kCollection, name);
}

std::string ShortName(absl::string_view name) {
  absl::ConsumePrefix(&name, kCollection);
  return std::string(name);
}

std::string Label(const google::protobuf::EnumDescriptor* type, int value) {
  return EnumLabel(type, value);
}

// Parses an optional RFC 3339 flag into `out`; false (after printing) when bad.
bool TimeFlag(Cli& cli, const char* flag, const std::string& text, google::protobuf::Timestamp* out,
              int* code) {
  if (text.empty()) return true;
  absl::Time t;
  if (!ParseTimeFlag(text, &t)) {
    *code = cli.Usage(absl::StrCat(flag, ": expected RFC 3339, e.g. 2026-01-31T12:00:00Z"));
    return false;
  }
  SetTimestamp(t, out);
  return true;
}

void PrintRequest(Cli& cli, const v1::PrivacyRequest& r) {
  std::vector<std::string> identifier_types;
  for (int t : r.identifier_types()) {
    identifier_types.push_back(Label(v1::SubjectIdentifierType_descriptor(), t));
  }
  KeyValues kv = {
      {"request", ShortName(r.name())},
      {"type", Label(v1::PrivacyRequestType_descriptor(), r.type())},
      {"state", Label(v1::PrivacyRequestState_descriptor(), r.state())},
      {"source", Label(v1::PrivacyRequestSource_descriptor(), r.source())},
      {"identifiers", absl::StrJoin(identifier_types, ", ")},
      {"requester",
       absl::StrCat(Label(v1::RequesterRelation_descriptor(), r.requester().relation()),
                    r.requester().channel().empty() ? "" : " via ", r.requester().channel())},
      {"filed by", r.creator()},
      {"received", FormatTime(r.receive_time())},
      {"due (processor)", FormatTime(r.due_time())},
      {"due (GDPR)", FormatTime(r.gdpr_due_time())},
      {"clock paused", YesNo(r.clock_paused())},
      {"verified", r.has_verification() ? absl::StrCat(Label(v1::VerificationMethod_descriptor(),
                                                             r.verification().method()),
                                                       " by ", r.verification().verifier(), " at ",
                                                       FormatTime(r.verification().verify_time()))
                                        : ""},
      {"closed", FormatTime(r.close_time())},
      {"duplicates", absl::StrCat(r.duplicate_count())},
      {"only systems", absl::StrJoin(r.only_systems(), ", ")},
  };
  if (r.has_extension()) {
    kv.push_back({"extended", absl::StrCat(r.extension().count(), "x: ", r.extension().reason())});
  }
  if (r.has_rejection()) {
    kv.push_back(
        {"rejected", absl::StrCat(Label(v1::RejectionReason_descriptor(), r.rejection().reason()),
                                  ": ", r.rejection().detail())});
  }
  if (!r.cancel_reason().empty()) kv.push_back({"cancelled", r.cancel_reason()});
  if (!r.failure_reason().empty()) kv.push_back({"failed", r.failure_reason()});
  if (r.has_export_bundle()) {
    const auto& b = r.export_bundle();
    kv.push_back({"export", absl::StrCat(Label(v1::ExportBundleState_descriptor(), b.state()), ", ",
                                         b.record_count(), " records, ", HumanBytes(b.size_bytes()),
                                         ", expires ", FormatTime(b.expire_time()), ", ",
                                         b.download_count(), " downloads")});
  }
  PrintKeyValues(cli.out(), kv);
  if (r.systems_size() > 0) {
    cli.out() << "\n";
    Table systems({"SYSTEM", "PHASE", "STATE", "ATTEMPTS", "RECORDS", "DELETED", "ANONYMISED",
                   "KEPT", "TASK", "NOTE"});
    for (const auto& s : r.systems()) {
      systems.AddRow({s.connector(), Label(v1::TaskPhase_descriptor(), s.phase()),
                      Label(v1::ConnectorTaskState_descriptor(), s.state()),
                      absl::StrCat(s.attempts()), absl::StrCat(s.record_count()),
                      absl::StrCat(s.deleted_count()), absl::StrCat(s.anonymised_count()),
                      absl::StrCat(s.kept_records_size()), s.task_id(),
                      s.last_error().empty() ? s.skip_reason() : s.last_error()});
    }
    systems.Print(cli.out());
  }
  if (r.history_size() > 0) {
    cli.out() << "\n";
    Table history({"TIME", "FROM", "TO", "BY", "DETAIL"});
    for (const auto& h : r.history()) {
      history.AddRow(
          {FormatTime(h.change_time()), Label(v1::PrivacyRequestState_descriptor(), h.from_state()),
           Label(v1::PrivacyRequestState_descriptor(), h.to_state()), h.actor(), h.detail()});
    }
    history.Print(cli.out());
  }
}

// Prints a response holding one request (table or JSON).
template <typename Response>
int PrintOne(Cli& cli, const Response& response) {
  if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
  } else {
    PrintRequest(cli, response.privacy_request());
  }
  return kExitOk;
}

struct ListOptions {
  SubjectFlags subject;
  std::string state, type, due_before, page_token;
  int page_size = 0;
  bool all = false;
};

int List(Cli& cli, const ListOptions& o) {
  v1::ListPrivacyRequestsRequest base;
  if (o.subject.given()) {
    if (auto s = ReadSubjectFlags(o.subject, base.mutable_subject(), /*required=*/true); !s.ok()) {
      return cli.Usage(std::string(s.message()));
    }
  }
  if (!o.state.empty()) {
    base.set_state(static_cast<v1::PrivacyRequestState>(
        *ParseEnumLabel(v1::PrivacyRequestState_descriptor(), o.state)));
  }
  if (!o.type.empty()) {
    base.set_type(static_cast<v1::PrivacyRequestType>(
        *ParseEnumLabel(v1::PrivacyRequestType_descriptor(), o.type)));
  }
  int code = kExitOk;
  if (!TimeFlag(cli, "--due-before", o.due_before, base.mutable_due_before(), &code)) return code;
  if (o.due_before.empty()) base.clear_due_before();
  base.set_page_size(o.page_size);
  auto stub = PrivacyRequestService::NewStub(cli.channel());
  v1::ListPrivacyRequestsResponse merged;
  auto status = FetchPages(
      o.all, o.page_token,
      [&](const std::string& token, v1::ListPrivacyRequestsResponse* page) {
        v1::ListPrivacyRequestsRequest request = base;
        request.set_page_token(token);
        return stub->ListPrivacyRequests(cli.Context().get(), request, page);
      },
      &merged);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(merged) << "\n";
    return kExitOk;
  }
  Table table(
      {"REQUEST", "TYPE", "STATE", "RECEIVED", "DUE", "GDPR DUE", "PAUSED", "SYSTEMS", "EXPORT"});
  for (const auto& r : merged.privacy_requests()) {
    int done = 0;
    for (const auto& s : r.systems()) {
      done += s.state() == v1::CONNECTOR_TASK_STATE_DONE ||
              s.state() == v1::CONNECTOR_TASK_STATE_SKIPPED;
    }
    table.AddRow({ShortName(r.name()), Label(v1::PrivacyRequestType_descriptor(), r.type()),
                  Label(v1::PrivacyRequestState_descriptor(), r.state()),
                  FormatTime(r.receive_time()), FormatTime(r.due_time()),
                  FormatTime(r.gdpr_due_time()), YesNo(r.clock_paused()),
                  r.systems_size() == 0 ? "" : absl::StrCat(done, "/", r.systems_size()),
                  r.has_export_bundle()
                      ? Label(v1::ExportBundleState_descriptor(), r.export_bundle().state())
                      : ""});
  }
  table.Print(cli.out());
  cli.MorePages(merged.next_page_token());
  return kExitOk;
}

int Show(Cli& cli, const std::string& name) {
  v1::GetPrivacyRequestRequest request;
  request.set_name(FullName(name));
  v1::GetPrivacyRequestResponse response;
  auto status = PrivacyRequestService::NewStub(cli.channel())
                    ->GetPrivacyRequest(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  return PrintOne(cli, response);
}

struct CreateOptions {
  std::string type, identifiers_file, relation = "data-subject", channel, reference, received_at,
                                      callback_url, verified_method, verification_note, request_id;
  std::vector<std::string> emails, customer_ids, phones;
};

// Identifiers come from flags or, to keep them out of argv, from a file (or
// "-" for stdin) of "email: ...", "customer-id: ...", "phone: ..." lines.
absl::Status ReadIdentifiers(const CreateOptions& o, v1::CreatePrivacyRequestRequest* request) {
  auto add = [&](v1::SubjectIdentifierType type, const std::string& value) {
    auto* id = request->add_identifiers();
    id->set_type(type);
    id->set_value(value);
  };
  for (const auto& v : o.emails) add(v1::SUBJECT_IDENTIFIER_TYPE_EMAIL, v);
  for (const auto& v : o.customer_ids) add(v1::SUBJECT_IDENTIFIER_TYPE_CUSTOMER_ID, v);
  for (const auto& v : o.phones) add(v1::SUBJECT_IDENTIFIER_TYPE_PHONE, v);
  if (o.identifiers_file.empty()) return absl::OkStatus();
  std::ifstream file;
  std::istream* in = &std::cin;
  if (o.identifiers_file != "-") {
    file.open(o.identifiers_file);
    if (!file) return absl::InvalidArgumentError(o.identifiers_file + ": cannot open");
    in = &file;
  }
  std::string line;
  int number = 0;
  while (std::getline(*in, line)) {
    ++number;
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text[0] == '#') continue;
    auto colon = text.find(':');
    auto type = colon == absl::string_view::npos
                    ? std::nullopt
                    : ParseEnumLabel(v1::SubjectIdentifierType_descriptor(),
                                     absl::StripAsciiWhitespace(text.substr(0, colon)));
    if (!type) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--identifiers-file line ", number, ": expected \"email|customer-id|phone: value\""));
    }
    add(static_cast<v1::SubjectIdentifierType>(*type),
        std::string(absl::StripAsciiWhitespace(text.substr(colon + 1))));
  }
  return absl::OkStatus();
}

int Create(Cli& cli, const CreateOptions& o) {
  v1::CreatePrivacyRequestRequest request;
  request.set_request_id(o.request_id.empty() ? Cli::NewRequestId() : o.request_id);
  request.set_type(static_cast<v1::PrivacyRequestType>(
      *ParseEnumLabel(v1::PrivacyRequestType_descriptor(), o.type)));
  if (auto s = ReadIdentifiers(o, &request); !s.ok()) return cli.Usage(std::string(s.message()));
  request.mutable_requester()->set_relation(static_cast<v1::RequesterRelation>(
      *ParseEnumLabel(v1::RequesterRelation_descriptor(), o.relation)));
  request.mutable_requester()->set_channel(o.channel);
  request.mutable_requester()->set_reference(o.reference);
  request.set_status_callback_url(o.callback_url);
  int code = kExitOk;
  if (!TimeFlag(cli, "--received-at", o.received_at, request.mutable_receive_time(), &code)) {
    return code;
  }
  if (o.received_at.empty()) request.clear_receive_time();
  if (!o.verified_method.empty()) {
    request.mutable_verification()->set_method(static_cast<v1::VerificationMethod>(
        *ParseEnumLabel(v1::VerificationMethod_descriptor(), o.verified_method)));
    request.mutable_verification()->set_note(o.verification_note);
  }
  v1::CreatePrivacyRequestResponse response;
  auto status = PrivacyRequestService::NewStub(cli.channel())
                    ->CreatePrivacyRequest(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  if (!cli.json() && response.duplicate()) {
    cli.err() << "dsarctl: an open request of this type for this person exists; it is shown "
                 "below and the filing was linked to it\n";
  }
  return PrintOne(cli, response);
}

struct VerifyOptions {
  std::string name, method, note, verified_at, request_id;
};

int Verify(Cli& cli, const VerifyOptions& o) {
  v1::VerifyIdentityRequest request;
  request.set_request_id(o.request_id.empty() ? Cli::NewRequestId() : o.request_id);
  request.set_name(FullName(o.name));
  auto* v = request.mutable_verification();
  v->set_method(static_cast<v1::VerificationMethod>(
      *ParseEnumLabel(v1::VerificationMethod_descriptor(), o.method)));
  v->set_note(o.note);
  int code = kExitOk;
  if (!TimeFlag(cli, "--verified-at", o.verified_at, v->mutable_verify_time(), &code)) return code;
  if (o.verified_at.empty()) v->clear_verify_time();
  v1::VerifyIdentityResponse response;
  auto status = PrivacyRequestService::NewStub(cli.channel())
                    ->VerifyIdentity(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  return PrintOne(cli, response);
}

struct ExtendOptions {
  std::string name, reason, notified_at, gdpr_due, processor_due, request_id;
};

int Extend(Cli& cli, const ExtendOptions& o) {
  v1::ExtendPrivacyRequestRequest request;
  request.set_request_id(o.request_id.empty() ? Cli::NewRequestId() : o.request_id);
  request.set_name(FullName(o.name));
  request.set_reason(o.reason);
  int code = kExitOk;
  if (!TimeFlag(cli, "--notified-at", o.notified_at, request.mutable_subject_notify_time(),
                &code) ||
      !TimeFlag(cli, "--gdpr-due", o.gdpr_due, request.mutable_gdpr_due_time(), &code) ||
      !TimeFlag(cli, "--processor-due", o.processor_due, request.mutable_processor_due_time(),
                &code)) {
    return code;
  }
  if (o.gdpr_due.empty()) request.clear_gdpr_due_time();
  if (o.processor_due.empty()) request.clear_processor_due_time();
  v1::ExtendPrivacyRequestResponse response;
  auto status = PrivacyRequestService::NewStub(cli.channel())
                    ->ExtendPrivacyRequest(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  return PrintOne(cli, response);
}

struct RejectOptions {
  std::string name, reason, detail, request_id;
};

int Reject(Cli& cli, const RejectOptions& o) {
  v1::RejectPrivacyRequestRequest request;
  request.set_request_id(o.request_id.empty() ? Cli::NewRequestId() : o.request_id);
  request.set_name(FullName(o.name));
  request.set_reason(static_cast<v1::RejectionReason>(
      *ParseEnumLabel(v1::RejectionReason_descriptor(), o.reason)));
  request.set_detail(o.detail);
  v1::RejectPrivacyRequestResponse response;
  auto status = PrivacyRequestService::NewStub(cli.channel())
                    ->RejectPrivacyRequest(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  return PrintOne(cli, response);
}

struct CancelOptions {
  std::string name, reason, request_id;
};

int Cancel(Cli& cli, const CancelOptions& o) {
  v1::CancelPrivacyRequestRequest request;
  request.set_request_id(o.request_id.empty() ? Cli::NewRequestId() : o.request_id);
  request.set_name(FullName(o.name));
  request.set_reason(o.reason);
  v1::CancelPrivacyRequestResponse response;
  auto status = PrivacyRequestService::NewStub(cli.channel())
                    ->CancelPrivacyRequest(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  return PrintOne(cli, response);
}

struct DownloadOptions {
  std::string name, to, recipient = "data-subject", recipient_name;
  bool force = false;
};

// Streams the export bundle to a temporary file (owner-only permissions),
// hashing as it goes, and renames it to --to only when the server's digest
// matches what arrived: exit 7 (and no file) on a mismatch.
int Download(Cli& cli, const DownloadOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(o.to, ec) && !o.force) {
    return cli.Usage(o.to + " exists; choose another --to or add --force");
  }
  const std::string tmp = o.to + ".part";
  const mode_t old_umask = umask(077);
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  umask(old_umask);
  if (!out) return cli.Error(kExitError, tmp + ": cannot create");
  v1::DownloadExportRequest request;
  request.set_name(FullName(o.name));
  request.set_recipient(static_cast<v1::DisclosureRecipient>(
      *ParseEnumLabel(v1::DisclosureRecipient_descriptor(), o.recipient)));
  request.set_recipient_name(o.recipient_name);
  auto ctx = cli.Context(/*streaming=*/true);
  auto reader = PrivacyRequestService::NewStub(cli.channel())->DownloadExport(ctx.get(), request);
  crypto_hash_sha256_state sha;
  crypto_hash_sha256_init(&sha);
  int64_t received = 0;
  bool have_digest = false;
  v1::ExportDigest digest;
  v1::DownloadExportResponse part;
  while (reader->Read(&part)) {
    if (part.has_digest()) {
      digest = part.digest();
      have_digest = true;
      continue;
    }
    const std::string& chunk = part.chunk();
    crypto_hash_sha256_update(&sha, reinterpret_cast<const unsigned char*>(chunk.data()),
                              chunk.size());
    out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    received += static_cast<int64_t>(chunk.size());
  }
  grpc::Status status = reader->Finish();
  bool written = static_cast<bool>(out);
  out.close();
  written = written && !out.fail();
  if (!status.ok()) {
    fs::remove(tmp, ec);
    return cli.Fail(status);
  }
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&sha, hash);
  const std::string hex =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(hash), sizeof hash));
  if (!written) {
    fs::remove(tmp, ec);
    return cli.Error(kExitError, tmp + ": write failed");
  }
  if (!have_digest || digest.sha256() != hex || digest.size_bytes() != received) {
    fs::remove(tmp, ec);
    return cli.Error(
        kExitCheckFailed,
        absl::StrCat("export digest mismatch: got ", received, " bytes with sha256 ", hex,
                     ", server says ", digest.size_bytes(), " bytes with ",
                     have_digest ? digest.sha256() : "(no digest)", "; nothing was saved"));
  }
  fs::rename(tmp, o.to, ec);
  if (ec) return cli.Error(kExitError, o.to + ": " + ec.message());
  if (cli.json()) {
    cli.out() << "{\"file\":\"" << absl::CEscape(o.to)
              << "\",\"digest\":" << ToJson(digest, /*pretty=*/false) << ",\"verified\":true}\n";
  } else {
    PrintKeyValues(cli.out(),
                   {{"file", o.to},
                    {"size", absl::StrCat(HumanBytes(received), " (", received, " bytes)")},
                    {"records", absl::StrCat(digest.record_count())},
                    {"sha256", hex},
                    {"digest", "verified"},
                    {"disclosure", digest.disclosure_id()}});
  }
  return kExitOk;
}

CLI::Validator EnumChoice(const google::protobuf::EnumDescriptor* type) {
  return CLI::IsMember(EnumLabels(type));
}

void AddRequestId(CLI::App* sub, std::string* request_id) {
  sub->add_option("--request-id", *request_id, "Idempotency key (default: a fresh one)");
}

}  // namespace

void AddRequestCommands(CLI::App& app, Cli& cli) {
  CLI::App* group =
      app.add_subcommand("requests",
                         "Data-subject requests: list, show, file, verify, extend, reject, cancel, "
                         "download the export");
  group->require_subcommand(1);

  auto list = std::make_shared<ListOptions>();
  CLI::App* l = group->add_subcommand("list", "The tenant's requests, newest first");
  l->add_option("--state", list->state, "Only this state")
      ->check(EnumChoice(v1::PrivacyRequestState_descriptor()));
  l->add_option("--type", list->type, "Only this type")
      ->check(EnumChoice(v1::PrivacyRequestType_descriptor()));
  l->add_option("--due-before", list->due_before, "Only those due before this time (RFC 3339)");
  AddSubjectFlags(l, &list->subject);  // only this person's requests
  l->add_option("--page-size", list->page_size, "Requests per page");
  l->add_option("--page-token", list->page_token, "Continue from a previous page");
  l->add_flag("--all", list->all, "Fetch every page");
  l->callback([&cli, list] { cli.SetAction([&cli, list] { return List(cli, *list); }); });

  auto show = std::make_shared<std::string>();
  CLI::App* s = group->add_subcommand("show", "One request: state, clocks, systems, history");
  s->add_option("name", *show, "Request id or privacyRequests/<id>")->required();
  s->callback([&cli, show] { cli.SetAction([&cli, show] { return Show(cli, *show); }); });

  auto create = std::make_shared<CreateOptions>();
  CLI::App* c = group->add_subcommand(
      "create", "File a request (identifiers by flag, or --identifiers-file - from stdin)");
  c->add_option("--type", create->type, "access, portability or erasure")
      ->required()
      ->check(EnumChoice(v1::PrivacyRequestType_descriptor()));
  c->add_option("--email", create->emails, "The person's e-mail address (repeatable)");
  c->add_option("--customer-id", create->customer_ids, "The person's customer id (repeatable)");
  c->add_option("--phone", create->phones, "The person's phone number, E.164 (repeatable)");
  c->add_option("--identifiers-file", create->identifiers_file,
                "File (\"-\": stdin) of \"email: ...\", \"customer-id: ...\", \"phone: ...\" "
                "lines; keeps identifiers out of the process list");
  c->add_option("--requester", create->relation, "Who asked (default data-subject)")
      ->check(EnumChoice(v1::RequesterRelation_descriptor()));
  c->add_option("--channel", create->channel, "How the request arrived, e.g. email, phone");
  c->add_option("--reference", create->reference, "Your case or ticket reference");
  c->add_option("--received-at", create->received_at, "When it was received (default now)");
  c->add_option("--callback-url", create->callback_url, "Status callback URL (https)");
  c->add_option("--verified", create->verified_method, "Identity already verified by this method")
      ->check(EnumChoice(v1::VerificationMethod_descriptor()));
  c->add_option("--verification-note", create->verification_note, "How (no personal data)");
  AddRequestId(c, &create->request_id);
  c->callback([&cli, create] { cli.SetAction([&cli, create] { return Create(cli, *create); }); });

  auto verify = std::make_shared<VerifyOptions>();
  CLI::App* v = group->add_subcommand("verify", "Record that the person's identity was verified");
  v->add_option("name", verify->name, "Request id")->required();
  v->add_option("--method", verify->method, "How the identity was verified")
      ->required()
      ->check(EnumChoice(v1::VerificationMethod_descriptor()));
  v->add_option("--note", verify->note, "Note (no personal data)");
  v->add_option("--verified-at", verify->verified_at, "When (default now)");
  AddRequestId(v, &verify->request_id);
  v->callback([&cli, verify] { cli.SetAction([&cli, verify] { return Verify(cli, *verify); }); });

  auto extend = std::make_shared<ExtendOptions>();
  CLI::App* e = group->add_subcommand("extend", "Extend the GDPR deadline (Art. 12(3))");
  e->add_option("name", extend->name, "Request id")->required();
  e->add_option("--reason", extend->reason, "Why (no personal data)")->required();
  e->add_option("--notified-at", extend->notified_at, "When the person was told")->required();
  e->add_option("--gdpr-due", extend->gdpr_due, "New GDPR due time (default the latest allowed)");
  e->add_option("--processor-due", extend->processor_due, "New processor due time");
  AddRequestId(e, &extend->request_id);
  e->callback([&cli, extend] { cli.SetAction([&cli, extend] { return Extend(cli, *extend); }); });

  auto reject = std::make_shared<RejectOptions>();
  CLI::App* r = group->add_subcommand("reject", "Refuse a request (Art. 12(5))");
  r->add_option("name", reject->name, "Request id")->required();
  r->add_option("--reason", reject->reason, "Why")
      ->required()
      ->check(EnumChoice(v1::RejectionReason_descriptor()));
  r->add_option("--detail", reject->detail, "Explanation (no personal data)");
  AddRequestId(r, &reject->request_id);
  r->callback([&cli, reject] { cli.SetAction([&cli, reject] { return Reject(cli, *reject); }); });

  auto cancel = std::make_shared<CancelOptions>();
  CLI::App* x = group->add_subcommand("cancel", "Withdraw a request");
  x->add_option("name", cancel->name, "Request id")->required();
  x->add_option("--reason", cancel->reason, "Why (no personal data)");
  AddRequestId(x, &cancel->request_id);
  x->callback([&cli, cancel] { cli.SetAction([&cli, cancel] { return Cancel(cli, *cancel); }); });

  auto download = std::make_shared<DownloadOptions>();
  CLI::App* d = group->add_subcommand(
      "download",
      "Save a completed request's export to a file, checking its digest (exit 7 on "
      "a mismatch)");
  d->add_option("name", download->name, "Request id")->required();
  d->add_option("--to", download->to, "File to write (created owner-only)")->required();
  d->add_option("--recipient", download->recipient, "Who receives it (default data-subject)")
      ->check(EnumChoice(v1::DisclosureRecipient_descriptor()));
  d->add_option("--recipient-name", download->recipient_name,
                "Name of an agent or controller receiving it");
  d->add_flag("--force", download->force, "Overwrite --to if it exists");
  d->callback(
      [&cli, download] { cli.SetAction([&cli, download] { return Download(cli, *download); }); });
}

}  // namespace dsar::dsarctl
