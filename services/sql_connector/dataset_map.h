// The dataset map (dsar.config.v1.DatasetMap, text proto): parsing, checks of
// its own consistency, and checks against the database's catalogue, ending in
// the DatasetPlan the connector works from.
//
// It exists so that a wrong map stops dsar-sql-connector at start with every
// problem named as `file:line: path: reason`, instead of failing requests one
// by one later: unknown tables and columns, columns the map does not
// classify, a type that does not fit the use (a keyed hash on an integer, SET
// NULL on a NOT NULL column), a cycle in join paths, a table no identity
// column reaches. Errors are INVALID_ARGUMENT (NOT_FOUND for an unreadable
// file).
#ifndef DSAR_SERVICES_SQL_CONNECTOR_DATASET_MAP_H_
#define DSAR_SERVICES_SQL_CONNECTOR_DATASET_MAP_H_

#include <google/protobuf/text_format.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dsar/config/v1/dataset_map.pb.h"
#include "services/sql_connector/sql_engine.h"

namespace dsar::sql_connector {

// A validated map, with the join structure resolved.
struct DatasetPlan {
  config::v1::DatasetMap map;
  // Per table (map order): the index of its join parent, or -1 for a table
  // reached by its identity columns.
  std::vector<int> parent;
  // Table indexes, every table after its parent (exports) ...
  std::vector<int> parents_first;
  // ... and every table before its parent (erasures: children go first, so
  // join columns still lead to them and foreign keys hold).
  std::vector<int> children_first;
  std::map<std::string, int> index;  // table name -> index
  std::string state_table;           // the connector's processed-tasks table
  bool uses_keyed_hash = false;

  const config::v1::DatasetTable& table(int i) const { return map.tables(i); }
};

class ParsedMap {
 public:
  // Parses `text` (named `source_name` in errors) and checks the map's own
  // consistency.
  static absl::StatusOr<ParsedMap> Parse(absl::string_view text, absl::string_view source_name);
  static absl::StatusOr<ParsedMap> Load(const std::string& path);

  // Checks the map against `catalogue` and returns the plan.
  absl::StatusOr<DatasetPlan> Plan(const Catalogue& catalogue) const;

  const config::v1::DatasetMap& map() const { return map_; }

 private:
  ParsedMap() = default;
  std::string source_;
  config::v1::DatasetMap map_;
  std::shared_ptr<google::protobuf::TextFormat::ParseInfoTree> tree_;
  std::vector<int> parent_;
  std::vector<int> parents_first_;
};

}  // namespace dsar::sql_connector

#endif  // DSAR_SERVICES_SQL_CONNECTOR_DATASET_MAP_H_
