// The dataset map's checks: a map that does not fit itself or the database
// is refused with file:line and a reason, before the connector serves.
#include "services/sql_connector/dataset_map.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_replace.h"

namespace dsar::sql_connector {
namespace {

using ::testing::HasSubstr;

// The catalogue of a small database: people (id, email, name, region) and
// orders (id, person_id, total, note).
Catalogue SmallCatalogue() {
  Catalogue c;
  c.tables["people"] = {{"id", TypeFamily::kInteger, "bigint", false},
                        {"email", TypeFamily::kText, "text", false},
                        {"name", TypeFamily::kText, "text", true},
                        {"region", TypeFamily::kText, "text", false}};
  c.tables["orders"] = {{"id", TypeFamily::kInteger, "bigint", false},
                        {"person_id", TypeFamily::kInteger, "bigint", true},
                        {"total", TypeFamily::kInteger, "integer", false},
                        {"note", TypeFamily::kText, "text", true}};
  return c;
}

// Line numbers below count from 1 in this text.
constexpr const char* kGoodMap = R"map(system: "shop"
categories { name: "customer" }
categories { name: "order" }
tables {
  name: "people"
  category: "customer"
  primary_key: "id"
  identities { type: IDENTITY_TYPE_EMAIL column: "email" }
  erasure: TABLE_ERASURE_ANONYMISE
  columns { name: "id" erasure: COLUMN_ERASURE_KEEP }
  columns { name: "email" erasure: COLUMN_ERASURE_KEYED_HASH }
  columns { name: "name" erasure: COLUMN_ERASURE_SET_NULL }
  columns { name: "region" erasure: COLUMN_ERASURE_KEEP }
}
tables {
  name: "orders"
  category: "order"
  primary_key: "id"
  join { parent: "people" column: "person_id" parent_column: "id" }
  erasure: TABLE_ERASURE_DELETE_ROW
  columns { name: "id" }
  columns { name: "person_id" }
  columns { name: "total" }
  columns { name: "note" }
}
)map";

absl::Status Check(const std::string& text) {
  auto map = ParsedMap::Parse(text, "shop.textproto");
  if (!map.ok()) return map.status();
  return map->Plan(SmallCatalogue()).status();
}

std::string Changed(absl::string_view from, absl::string_view to) {
  std::string out = kGoodMap;
  EXPECT_NE(out.find(std::string(from)), std::string::npos) << from;
  return absl::StrReplaceAll(out, {{from, to}});
}

TEST(DatasetMapTest, AGoodMapPlansParentsBeforeChildrenForExportAndTheReverseForErasure) {
  auto map = ParsedMap::Parse(kGoodMap, "shop.textproto");
  ASSERT_TRUE(map.ok()) << map.status();
  auto plan = map->Plan(SmallCatalogue());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->parents_first, (std::vector<int>{0, 1}));
  EXPECT_EQ(plan->children_first, (std::vector<int>{1, 0}));
  EXPECT_EQ(plan->parent, (std::vector<int>{-1, 0}));
  EXPECT_TRUE(plan->uses_keyed_hash);
  EXPECT_EQ(plan->state_table, "dsar_connector_tasks");
}

TEST(DatasetMapTest, TheShippedLoyaltyMapParses) {
  auto map = ParsedMap::Load(std::string(DSAR_SOURCE_DIR) + "/deploy/connectors/loyalty.textproto");
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_EQ(map->map().tables_size(), 4);
}

TEST(DatasetMapTest, AnUnknownTableIsRefusedWithItsLine) {
  EXPECT_THAT(Check(Changed("name: \"orders\"", "name: \"ordres\"")).message(),
              HasSubstr("shop.textproto:16: tables[1].name: unknown table \"ordres\" in the "
                        "database"));
}

TEST(DatasetMapTest, AnUnknownColumnIsRefusedWithItsLine) {
  EXPECT_THAT(Check(Changed("columns { name: \"note\" }", "columns { name: \"notes\" }")).message(),
              HasSubstr("shop.textproto:24: tables[1].columns[3].name: unknown column \"notes\""));
}

TEST(DatasetMapTest, AColumnTheMapDoesNotClassifyIsRefused) {
  EXPECT_THAT(Check(Changed("  columns { name: \"note\" }\n", "")).message(),
              HasSubstr("column \"note\" of table \"orders\" is not classified"));
}

TEST(DatasetMapTest, ATypeThatDoesNotFitTheErasureIsRefused) {
  // A keyed hash on an integer column.
  EXPECT_THAT(Check(Changed("name: \"region\" erasure: COLUMN_ERASURE_KEEP",
                            "name: \"region\" erasure: COLUMN_ERASURE_KEEP }\n  columns { name: "
                            "\"id2\" erasure: COLUMN_ERASURE_KEEP"))
                  .message(),
              HasSubstr("unknown column \"id2\""));
  EXPECT_THAT(Check(Changed("name: \"id\" erasure: COLUMN_ERASURE_KEEP",
                            "name: \"id\" erasure: COLUMN_ERASURE_KEYED_HASH"))
                  .message(),
              HasSubstr("shop.textproto:10: tables[0].columns[0].erasure: column \"id\" has type "
                        "bigint: MASK and KEYED_HASH need a text column"));
  // SET_NULL on a NOT NULL column.
  EXPECT_THAT(Check(Changed("name: \"region\" erasure: COLUMN_ERASURE_KEEP",
                            "name: \"region\" erasure: COLUMN_ERASURE_SET_NULL"))
                  .message(),
              HasSubstr("shop.textproto:13: tables[0].columns[3].erasure: column \"region\" is NOT "
                        "NULL"));
  // An unknown enum value is a parse error with line and column.
  EXPECT_THAT(Check(Changed("IDENTITY_TYPE_EMAIL", "IDENTITY_TYPE_FAX")).message(),
              HasSubstr("shop.textproto:8:"));
}

TEST(DatasetMapTest, ACycleInJoinPathsIsRefused) {
  std::string text =
      Changed("identities { type: IDENTITY_TYPE_EMAIL column: \"email\" }",
              "join { parent: \"orders\" column: \"id\" parent_column: \"person_id\" }");
  text = absl::StrReplaceAll(text, {{"name: \"email\" erasure: COLUMN_ERASURE_KEYED_HASH",
                                     "name: \"email\" erasure: COLUMN_ERASURE_MASK"}});
  absl::Status s = Check(text);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("a cycle in join paths"));
  EXPECT_THAT(s.message(), HasSubstr("shop.textproto:8: tables[0].join.parent"));
}

TEST(DatasetMapTest, ATableWithoutIdentityOrJoinIsRefused) {
  absl::Status s = Check(
      Changed("  join { parent: \"people\" column: \"person_id\" parent_column: \"id\" }\n", ""));
  EXPECT_THAT(s.message(), HasSubstr("shop.textproto:15: tables[1].identities: an identity column "
                                     "is missing"));
}

TEST(DatasetMapTest, AnIdentityColumnMissingFromTheDatabaseIsRefused) {
  EXPECT_THAT(Check(Changed("column: \"email\" }", "column: \"mail\" }")).message(),
              HasSubstr("shop.textproto:8: tables[0].identities[0].column: unknown column "
                        "\"mail\" in table \"people\""));
}

TEST(DatasetMapTest, KeepingAnIdentityColumnInAnAnonymisedTableIsRefused) {
  EXPECT_THAT(Check(Changed("name: \"email\" erasure: COLUMN_ERASURE_KEYED_HASH",
                            "name: \"email\" erasure: COLUMN_ERASURE_KEEP"))
                  .message(),
              HasSubstr("shop.textproto:11: tables[0].columns[1].erasure: an identity column "
                        "cannot be kept"));
}

TEST(DatasetMapTest, EveryProblemIsReportedAtOnce) {
  std::string text = Changed("category: \"order\"", "category: \"orderz\"");
  text = absl::StrReplaceAll(text, {{"primary_key: \"id\"\n  join", "join"}});
  absl::Status s = Check(text);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("tables[1].category: must be one of the map's categories"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("tables[1].primary_key: required"));
}

}  // namespace
}  // namespace dsar::sql_connector
