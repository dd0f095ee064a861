// Every dsar.v1 method, through the real server, refuses a request holding a
// google.protobuf.Timestamp outside 1970..2200 with INVALID_ARGUMENT naming
// the field (google.rpc.BadRequest), and changes nothing. The methods and
// fields are found by reflection, so a Timestamp added to any request later
// is covered without touching this test.
#include "services/request_bounds.h"

#include <SQLiteCpp/Database.h>
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "dsar/v1/consent.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "services/call_gate.h"
#include "tests/testing/grpc_probe.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_dsard.h"

namespace dsar {
namespace {

using ::dsar::testing::IsOk;
using ::dsar::testing::TestDsard;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Sets every singular Timestamp reachable through singular message fields
// (depth <= 3) to `seconds`; returns their paths.
void SetEveryTimestamp(Message* m, int64_t seconds, const std::string& prefix,
                       std::vector<std::string>* paths, int depth = 0) {
  if (depth > 3) return;
  const Descriptor* d = m->GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated()) continue;
    const std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    Message* child = m->GetReflection()->MutableMessage(m, f);
    if (child->GetDescriptor()->full_name() == "google.protobuf.Timestamp") {
      child->GetReflection()->SetInt64(child, child->GetDescriptor()->FindFieldByName("seconds"),
                                       seconds);
      paths->push_back(path);
    } else {
      SetEveryTimestamp(child, seconds, path, paths, depth + 1);
      if (paths->empty() || paths->back().rfind(path, 0) != 0) {
        m->GetReflection()->ClearField(m, f);  // no Timestamp below: leave it unset
      }
    }
  }
}

struct CallOutcome {
  grpc::Status status;
  std::set<std::string> fields;  // BadRequest field violations
};

CallOutcome Call(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                 const Message& request) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Bearer ") + testing::kDpoToken);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer in(&slice, 1);
  grpc::ByteBuffer out;
  absl::Notification done;
  CallOutcome outcome;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &in, &out, [&](grpc::Status s) {
    outcome.status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  google::rpc::Status details;
  if (details.ParseFromString(outcome.status.error_details())) {
    for (const auto& any : details.details()) {
      google::rpc::BadRequest bad;
      if (any.UnpackTo(&bad)) {
        for (const auto& v : bad.field_violations()) outcome.fields.insert(v.field());
      }
    }
  }
  return outcome;
}

class RequestBoundsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_THAT(dsard_.Start(), IsOk()); }

  // (method, request type) of every unary dsar.v1 method whose request can
  // hold a Timestamp.
  std::vector<std::pair<std::string, const Descriptor*>> MethodsWithTimestamps() {
    std::vector<std::pair<std::string, const Descriptor*>> out;
    auto services = ::dsar::testing::ListServicesByReflection(dsard_.channel());
    EXPECT_THAT(services, IsOk());
    for (const auto& name : *services) {
      if (name.rfind("dsar.v1.", 0) != 0) continue;
      const auto* service =
          google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
      if (service == nullptr) continue;
      for (int i = 0; i < service->method_count(); ++i) {
        const auto* m = service->method(i);
        if (m->server_streaming() || m->client_streaming()) continue;
        std::unique_ptr<Message> probe(google::protobuf::MessageFactory::generated_factory()
                                           ->GetPrototype(m->input_type())
                                           ->New());
        std::vector<std::string> paths;
        SetEveryTimestamp(probe.get(), 0, "", &paths);
        if (!paths.empty()) out.push_back({"/" + name + "/" + m->name(), m->input_type()});
      }
    }
    return out;
  }

  int64_t Count(const std::string& table) {
    SQLite::Database db(dsard_.DatabasePath(), SQLite::OPEN_READONLY);
    return db.execAndGet("SELECT count(*) FROM " + table).getInt64();
  }

  TestDsard dsard_;
};

TEST_F(RequestBoundsTest, EveryTimestampOutsideTheBoundsIsRefusedNamingItsField) {
  const auto methods = MethodsWithTimestamps();
  // RecordConsent's give_time, breaches' aware and notify times, privacy
  // requests' receive and due times, the deadline queries' ranges at least.
  ASSERT_GE(methods.size(), 6u);
  const std::vector<const char*> tables = {"consent_events", "privacy_requests", "breaches",
                                           "audit_events", "idempotency_keys"};
  std::vector<int64_t> before;
  for (const char* t : tables) before.push_back(Count(t));
  const int64_t year_1 = -62135596800;  // 0001-01-01T00:00:00Z
  const int64_t year_2200 = kLatestTimestampSeconds;
  for (const auto& [method, type] : methods) {
    for (int64_t seconds : {year_1, int64_t{-1}, year_2200, int64_t{253402300800}}) {
      std::unique_ptr<Message> request(
          google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
      std::vector<std::string> paths;
      SetEveryTimestamp(request.get(), seconds, "", &paths);
      const FieldDescriptor* id = type->FindFieldByName("request_id");
      if (id != nullptr) request->GetReflection()->SetString(request.get(), id, "bounds-1");
      CallOutcome outcome = Call(dsard_.channel(), method, *request);
      EXPECT_EQ(outcome.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << method << " at " << seconds;
      for (const auto& path : paths) {
        EXPECT_TRUE(outcome.fields.count(path)) << method << ": " << path << " not named";
      }
    }
  }
  for (size_t i = 0; i < tables.size(); ++i) EXPECT_EQ(Count(tables[i]), before[i]) << tables[i];
}

TEST_F(RequestBoundsTest, TimesWithinTheBoundsPassTheCheck) {
  v1::RecordConsentRequest request;
  for (int64_t seconds : {int64_t{0}, int64_t{1767225600}, kLatestTimestampSeconds - 1}) {
    request.mutable_give_time()->set_seconds(seconds);
    request.mutable_give_time()->set_nanos(999999999);
    EXPECT_THAT(CheckRequestBounds(request), IsOk()) << seconds;
  }
  request.mutable_give_time()->set_seconds(1767225600);
  request.mutable_give_time()->set_nanos(-1);
  EXPECT_FALSE(CheckRequestBounds(request).ok());
}

}  // namespace
}  // namespace dsar
