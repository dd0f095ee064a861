// dsarctl consent ...: dsar.v1.ConsentService.
#include "dsar/v1/consent.grpc.pb.h"
#include "tools/dsarctl/commands.h"

namespace dsar::dsarctl {
namespace {

using v1::ConsentService;

KeyValues ReceiptValues(const v1::ConsentReceipt& r) {
  return {{"receipt", r.receipt_id()},
          {"state", EnumLabel(v1::ConsentState_descriptor(), r.state())},
          {"tenant", r.tenant()},
          {"subject", r.subject_pseudonym()},
          {"purpose", r.purpose()},
          {"notice version", r.notice_version()},
          {"language", r.language()},
          {"lawful basis", EnumLabel(v1::LawfulBasis_descriptor(), r.lawful_basis())},
          {"channel", r.channel()},
          {"recorded by", r.actor()},
          {"given", FormatTime(r.give_time())},
          {"recorded", FormatTime(r.record_time())},
          {"withdrawn", FormatTime(r.withdraw_time())},
          {"withdrawal channel", r.withdrawal_channel()}};
}

struct CheckOptions {
  SubjectFlags subject;
  std::string purpose;
};

int Check(Cli& cli, CheckOptions o) {
  v1::CheckConsentRequest request;
  if (auto s = ReadSubjectFlags(o.subject, request.mutable_subject(), /*required=*/true); !s.ok()) {
    return cli.Usage(std::string(s.message()));
  }
  request.set_purpose(o.purpose);
  v1::CheckConsentResponse response;
  auto status =
      ConsentService::NewStub(cli.channel())->CheckConsent(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
    return kExitOk;
  }
  PrintKeyValues(cli.out(), {{"state", EnumLabel(v1::ConsentState_descriptor(), response.state())},
                             {"receipt", response.receipt_id()},
                             {"notice version", response.notice_version()},
                             {"current notice version", response.current_notice_version()},
                             {"reconsent required", YesNo(response.reconsent_required())},
                             {"changed", FormatTime(response.change_time())}});
  return kExitOk;
}

struct HistoryOptions {
  SubjectFlags subject;
  std::string purpose, page_token;
  int page_size = 0;
  bool all = false;
};

int History(Cli& cli, HistoryOptions o) {
  v1::SubjectIdentifier subject;
  if (auto s = ReadSubjectFlags(o.subject, &subject, /*required=*/true); !s.ok()) {
    return cli.Usage(std::string(s.message()));
  }
  auto stub = ConsentService::NewStub(cli.channel());
  v1::ListConsentEventsResponse merged;
  auto status = FetchPages(
      o.all, o.page_token,
      [&](const std::string& token, v1::ListConsentEventsResponse* page) {
        v1::ListConsentEventsRequest request;
        *request.mutable_subject() = subject;
        request.set_purpose(o.purpose);
        request.set_page_size(o.page_size);
        request.set_page_token(token);
        return stub->ListConsentEvents(cli.Context().get(), request, page);
      },
      &merged);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(merged) << "\n";
    return kExitOk;
  }
  Table table({"TIME", "ACTION", "PURPOSE", "RECEIPT", "NOTICE", "LANGUAGE", "BASIS", "CHANNEL",
               "ACTOR", "REASON"});
  for (const auto& e : merged.events()) {
    table.AddRow({FormatTime(e.occur_time()), EnumLabel(v1::ConsentAction_descriptor(), e.action()),
                  e.purpose(), e.receipt_id(), e.notice_version(), e.language(),
                  EnumLabel(v1::LawfulBasis_descriptor(), e.lawful_basis()), e.channel(), e.actor(),
                  e.reason()});
  }
  table.Print(cli.out());
  cli.MorePages(merged.next_page_token());
  return kExitOk;
}

struct ReceiptOptions {
  std::string receipt_id;
  bool kantara = false;
};

int Receipt(Cli& cli, const ReceiptOptions& o) {
  v1::GetConsentReceiptRequest request;
  request.set_receipt_id(o.receipt_id);
  v1::GetConsentReceiptResponse response;
  auto status = ConsentService::NewStub(cli.channel())
                    ->GetConsentReceipt(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  if (o.kantara) {
    cli.out() << response.kantara_json() << "\n";
  } else if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
  } else {
    KeyValues values = ReceiptValues(response.receipt());
    // Where each change reached each system: "booking withdrawn: done".
    for (const auto& p : response.receipt().propagation()) {
      values.push_back({absl::StrCat("propagation ", p.connector(), " ",
                                     EnumLabel(v1::ConsentAction_descriptor(), p.action())),
                        EnumLabel(v1::ConnectorTaskState_descriptor(), p.state())});
    }
    PrintKeyValues(cli.out(), values);
  }
  return kExitOk;
}

struct RecordOptions {
  SubjectFlags subject;
  std::string purpose, notice_version, language, lawful_basis = "consent", channel, given_at,
                                                 request_id;
};

int Record(Cli& cli, RecordOptions o) {
  v1::RecordConsentRequest request;
  if (auto s = ReadSubjectFlags(o.subject, request.mutable_subject(), /*required=*/true); !s.ok()) {
    return cli.Usage(std::string(s.message()));
  }
  request.set_request_id(o.request_id.empty() ? Cli::NewRequestId() : o.request_id);
  request.set_purpose(o.purpose);
  request.set_notice_version(o.notice_version);
  request.set_language(o.language);
  auto basis = ParseEnumLabel(v1::LawfulBasis_descriptor(), o.lawful_basis);
  if (!basis) return cli.Usage("--lawful-basis: unknown value " + o.lawful_basis);
  request.set_lawful_basis(static_cast<v1::LawfulBasis>(*basis));
  request.set_channel(o.channel);
  if (!o.given_at.empty()) {
    absl::Time t;
    if (!ParseTimeFlag(o.given_at, &t)) {
      return cli.Usage("--given-at: expected RFC 3339, e.g. 2026-01-31T12:00:00Z");
    }
    SetTimestamp(t, request.mutable_give_time());
  }
  v1::RecordConsentResponse response;
  auto status = ConsentService::NewStub(cli.channel())
                    ->RecordConsent(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
  } else {
    PrintKeyValues(cli.out(), ReceiptValues(response.receipt()));
  }
  return kExitOk;
}

struct WithdrawOptions {
  SubjectFlags subject;
  std::string purpose, channel, reason, request_id;
};

int Withdraw(Cli& cli, WithdrawOptions o) {
  v1::WithdrawConsentRequest request;
  if (auto s = ReadSubjectFlags(o.subject, request.mutable_subject(), /*required=*/true); !s.ok()) {
    return cli.Usage(std::string(s.message()));
  }
  request.set_request_id(o.request_id.empty() ? Cli::NewRequestId() : o.request_id);
  request.set_purpose(o.purpose);
  request.set_channel(o.channel);
  request.set_reason(o.reason);
  v1::WithdrawConsentResponse response;
  auto status = ConsentService::NewStub(cli.channel())
                    ->WithdrawConsent(cli.Context().get(), request, &response);
  if (!status.ok()) return cli.Fail(status);
  if (cli.json()) {
    cli.out() << ToJson(response) << "\n";
  } else {
    PrintKeyValues(cli.out(), ReceiptValues(response.receipt()));
  }
  return kExitOk;
}

void AddSubjectAndPurpose(CLI::App* sub, SubjectFlags* subject, std::string* purpose) {
  sub->add_option("purpose", *purpose, "Purpose, e.g. marketing")->required();
  AddSubjectFlags(sub, subject);
}

}  // namespace

void AddConsentCommands(CLI::App& app, Cli& cli) {
  CLI::App* group = app.add_subcommand("consent", "Consent ledger: check, history, receipts");
  group->require_subcommand(1);

  auto check = std::make_shared<CheckOptions>();
  CLI::App* c =
      group->add_subcommand("check", "Whether a subject's data may be processed for a purpose");
  AddSubjectAndPurpose(c, &check->subject, &check->purpose);
  c->callback([&cli, check] { cli.SetAction([&cli, check] { return Check(cli, *check); }); });

  auto history = std::make_shared<HistoryOptions>();
  CLI::App* h = group->add_subcommand("history", "A subject's consent events, newest first");
  AddSubjectFlags(h, &history->subject);
  h->add_option("--purpose", history->purpose, "Only this purpose");
  h->add_option("--page-size", history->page_size, "Events per page (1-1000, default 100)");
  h->add_option("--page-token", history->page_token, "Continue from a previous page");
  h->add_flag("--all", history->all, "Fetch every page");
  h->callback(
      [&cli, history] { cli.SetAction([&cli, history] { return History(cli, *history); }); });

  auto receipt = std::make_shared<ReceiptOptions>();
  CLI::App* r = group->add_subcommand("receipt", "Show a consent receipt");
  r->add_option("receipt_id", receipt->receipt_id, "Receipt id, e.g. rcpt_...")->required();
  r->add_flag("--kantara", receipt->kantara, "Print the Kantara Consent Receipt v1.1 JSON");
  r->callback(
      [&cli, receipt] { cli.SetAction([&cli, receipt] { return Receipt(cli, *receipt); }); });

  auto record = std::make_shared<RecordOptions>();
  CLI::App* rc = group->add_subcommand("record", "Record that a subject gave consent");
  AddSubjectAndPurpose(rc, &record->subject, &record->purpose);
  rc->add_option("--notice-version", record->notice_version,
                 "The tenant's current notice version for the purpose")
      ->required();
  rc->add_option("--language", record->language,
                 "BCP 47 tag the consent was collected in, e.g. sv-SE")
      ->required();
  rc->add_option("--lawful-basis", record->lawful_basis, "Lawful basis (default consent)")
      ->check(CLI::IsMember(EnumLabels(v1::LawfulBasis_descriptor())));
  rc->add_option("--channel", record->channel, "Collection channel, e.g. web-booking")->required();
  rc->add_option("--given-at", record->given_at, "When consent was given (RFC 3339; default now)");
  rc->add_option("--request-id", record->request_id, "Idempotency key (default: a fresh one)");
  rc->callback([&cli, record] { cli.SetAction([&cli, record] { return Record(cli, *record); }); });

  auto withdraw = std::make_shared<WithdrawOptions>();
  CLI::App* w =
      group->add_subcommand("withdraw", "Withdraw a subject's consent (effective at once)");
  AddSubjectAndPurpose(w, &withdraw->subject, &withdraw->purpose);
  w->add_option("--channel", withdraw->channel, "Withdrawal channel, e.g. dpo-request")->required();
  w->add_option("--reason", withdraw->reason, "Reason (no personal data)");
  w->add_option("--request-id", withdraw->request_id, "Idempotency key (default: a fresh one)");
  w->callback(
      [&cli, withdraw] { cli.SetAction([&cli, withdraw] { return Withdraw(cli, *withdraw); }); });
}

}  // namespace dsar::dsarctl
