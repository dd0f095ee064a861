#include "services/sql_connector/dataset_map.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"

namespace dsar::sql_connector {

namespace {

using config::v1::DatasetMap;
using config::v1::DatasetTable;
using google::protobuf::Descriptor;
using google::protobuf::TextFormat;

class CollectingErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectingErrors(absl::string_view file) : file_(file) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    errors_.push_back(absl::StrCat(file_, ":", line + 1, ":", column + 1, ": ", message));
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    AddError(line, column, message);
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

// A message in the file: its parse subtree (null when absent), its type, the
// line it starts on and its path for messages ("tables[2]").
struct Where {
  const TextFormat::ParseInfoTree* tree;
  const Descriptor* type;
  int line;
  std::string path;

  Where Element(absl::string_view field_name, int index, const Descriptor* element_type) const {
    const auto* field = type->FindFieldByName(std::string(field_name));
    std::string element_path =
        absl::StrCat(path.empty() ? "" : path + ".", field_name,
                     field->is_repeated() ? absl::StrCat("[", index, "]") : std::string());
    if (tree == nullptr) return {nullptr, element_type, line, element_path};
    const int at = field->is_repeated() ? index : -1;
    const int element_line = tree->GetLocation(field, at).line + 1;
    return {tree->GetTreeForNested(field, at), element_type, element_line > 0 ? element_line : line,
            element_path};
  }
};

class Reporter {
 public:
  explicit Reporter(absl::string_view file) : file_(file) {}
  // An error about `field_name` of the message at `where` (its line when
  // set there, else the message's line).
  void Fail(const Where& where, absl::string_view field_name, absl::string_view reason,
            int index = -1) {
    const auto* field = where.type->FindFieldByName(std::string(field_name));
    int line = 0;
    if (where.tree != nullptr && field != nullptr) {
      line =
          where.tree->GetLocation(field, field->is_repeated() ? std::max(index, 0) : -1).line + 1;
    }
    if (line <= 0) line = where.line;
    std::string path = absl::StrCat(where.path.empty() ? "" : where.path + ".", field_name,
                                    index >= 0 ? absl::StrCat("[", index, "]") : "");
    errors_.push_back(line > 0 ? absl::StrCat(file_, ":", line, ": ", path, ": ", reason)
                               : absl::StrCat(file_, ": ", path, ": ", reason));
  }
  bool ok() const { return errors_.empty(); }
  absl::Status status() const { return absl::InvalidArgumentError(absl::StrJoin(errors_, "\n")); }

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

bool IsIdentity(const DatasetTable& t, const std::string& column) {
  for (const auto& id : t.identities()) {
    if (id.column() == column) return true;
  }
  return false;
}

const config::v1::DatasetColumn* MappedColumn(const DatasetTable& t, const std::string& name) {
  for (const auto& c : t.columns()) {
    if (c.name() == name) return &c;
  }
  return nullptr;
}

// Structural checks; fills `parent` and `parents_first` when they can be
// computed (names resolve, no cycle).
void CheckStructure(const DatasetMap& m, const Where& root, Reporter& r, std::vector<int>& parent,
                    std::vector<int>& parents_first) {
  if (m.system().empty()) r.Fail(root, "system", "required (the system name Describe reports)");
  std::set<std::string> categories, purposes(m.purposes().begin(), m.purposes().end());
  for (int i = 0; i < m.categories_size(); ++i) {
    Where w = root.Element("categories", i, config::v1::DatasetCategory::descriptor());
    const std::string& name = m.categories(i).name();
    if (name.empty()) r.Fail(w, "name", "required");
    if (!categories.insert(name).second) r.Fail(w, "name", "duplicate category");
  }
  if (m.tables_size() == 0) r.Fail(root, "tables", "at least one table is required");
  std::map<std::string, int> index;
  for (int i = 0; i < m.tables_size(); ++i) {
    if (!index.emplace(m.tables(i).name(), i).second) {
      Where w = root.Element("tables", i, DatasetTable::descriptor());
      r.Fail(w, "name", "duplicate table");
    }
  }
  parent.assign(m.tables_size(), -1);
  for (int i = 0; i < m.tables_size(); ++i) {
    const DatasetTable& t = m.tables(i);
    Where w = root.Element("tables", i, DatasetTable::descriptor());
    if (t.name().empty()) r.Fail(w, "name", "required");
    if (!categories.count(t.category())) {
      r.Fail(w, "category", "must be one of the map's categories");
    }
    if (t.primary_key().empty()) r.Fail(w, "primary_key", "required (a unique column)");
    if (t.erasure() == config::v1::TABLE_ERASURE_UNSPECIFIED) {
      r.Fail(w, "erasure", "required: DELETE_ROW, ANONYMISE or KEEP");
    }
    const bool joined = t.has_join();
    if (t.identities_size() == 0 && !joined) {
      r.Fail(w, "identities",
             "an identity column is missing: the table needs identities or a join to a table "
             "that has them");
    }
    if (t.identities_size() > 0 && joined) {
      r.Fail(w, "join", "a table has either identities or a join, not both");
    }
    for (int k = 0; k < t.identities_size(); ++k) {
      Where iw = w.Element("identities", k, config::v1::IdentityColumn::descriptor());
      if (t.identities(k).type() == config::v1::IDENTITY_TYPE_UNSPECIFIED) {
        r.Fail(iw, "type", "required: EMAIL, CUSTOMER_ID or PHONE");
      }
      if (t.identities(k).column().empty()) r.Fail(iw, "column", "required");
    }
    if (joined) {
      Where jw = w.Element("join", 0, config::v1::JoinPath::descriptor());
      auto p = index.find(t.join().parent());
      if (t.join().parent() == t.name()) {
        r.Fail(jw, "parent", "a table cannot join itself (a cycle in join paths)");
      } else if (p == index.end()) {
        r.Fail(jw, "parent", absl::StrCat("unknown table \"", t.join().parent(), "\" in the map"));
      } else {
        parent[i] = p->second;
      }
      if (t.join().column().empty()) r.Fail(jw, "column", "required");
      if (t.join().parent_column().empty()) r.Fail(jw, "parent_column", "required");
    }
    std::set<std::string> columns;
    for (int k = 0; k < t.columns_size(); ++k) {
      const auto& c = t.columns(k);
      Where cw = w.Element("columns", k, config::v1::DatasetColumn::descriptor());
      if (c.name().empty()) r.Fail(cw, "name", "required");
      if (!columns.insert(c.name()).second) r.Fail(cw, "name", "column listed twice");
      if (t.erasure() == config::v1::TABLE_ERASURE_ANONYMISE) {
        if (c.erasure() == config::v1::COLUMN_ERASURE_UNSPECIFIED) {
          r.Fail(cw, "erasure",
                 "required in an ANONYMISE table: KEEP, SET_NULL, MASK or KEYED_HASH");
        } else if (c.erasure() == config::v1::COLUMN_ERASURE_KEEP && IsIdentity(t, c.name())) {
          r.Fail(cw, "erasure", "an identity column cannot be kept: the person would stay found");
        }
      } else if (c.erasure() != config::v1::COLUMN_ERASURE_UNSPECIFIED) {
        r.Fail(cw, "erasure", "column erasures apply to ANONYMISE tables only");
      }
      if (!c.mask().empty() && c.erasure() != config::v1::COLUMN_ERASURE_MASK) {
        r.Fail(cw, "mask", "only for COLUMN_ERASURE_MASK");
      }
    }
    if (t.erasure() == config::v1::TABLE_ERASURE_KEEP) {
      if (t.kept_reason() == config::v1::KEPT_REASON_UNSPECIFIED) {
        r.Fail(w, "kept_reason", "required for a KEEP table: LEGAL_OBLIGATION or LEGAL_CLAIMS");
      }
    } else if (t.kept_reason() != config::v1::KEPT_REASON_UNSPECIFIED || !t.kept_detail().empty()) {
      r.Fail(w, "kept_reason", "only for KEEP tables");
    }
    if (!t.legal_hold_column().empty() && t.identities_size() == 0) {
      r.Fail(w, "legal_hold_column", "only on a table with identities");
    }
  }
  // Join paths must end at a table with identities: walk up from each table.
  std::vector<int> state(m.tables_size(), 0);  // 0 new, 1 on the path, 2 done
  std::vector<bool> reported(m.tables_size(), false);
  for (int start = 0; start < m.tables_size(); ++start) {
    std::vector<int> path;
    int at = start;
    while (at >= 0 && state[at] == 0) {
      state[at] = 1;
      path.push_back(at);
      at = parent[at];
    }
    if (at >= 0 && state[at] == 1) {  // back on the current path: a cycle
      if (!reported[at]) {
        Where w = root.Element("tables", at, DatasetTable::descriptor());
        Where jw = w.Element("join", 0, config::v1::JoinPath::descriptor());
        r.Fail(jw, "parent", "a cycle in join paths: no table of it has identities");
        reported[at] = true;
      }
    }
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      state[*it] = 2;
      parents_first.push_back(*it);
    }
  }
  for (int i = 0; i < m.consents_size(); ++i) {
    const auto& c = m.consents(i);
    Where w = root.Element("consents", i, config::v1::ConsentColumn::descriptor());
    if (!purposes.count(c.purpose())) r.Fail(w, "purpose", "must be one of the map's purposes");
    auto t = index.find(c.table());
    if (t == index.end()) {
      r.Fail(w, "table", absl::StrCat("unknown table \"", c.table(), "\" in the map"));
    } else if (m.tables(t->second).identities_size() == 0) {
      r.Fail(w, "table", "must be a table with identities");
    }
    if (c.column().empty()) r.Fail(w, "column", "required");
    if (c.changed_at_column().empty()) r.Fail(w, "changed_at_column", "required");
  }
  if (m.has_ended_relationships()) {
    const auto& e = m.ended_relationships();
    Where w = root.Element("ended_relationships", 0, config::v1::EndedRelationships::descriptor());
    auto t = index.find(e.table());
    if (t == index.end()) {
      r.Fail(w, "table", absl::StrCat("unknown table \"", e.table(), "\" in the map"));
    } else if (m.tables(t->second).identities_size() == 0) {
      r.Fail(w, "table", "must be a table with identities");
    }
    if (e.ended_at_column().empty()) r.Fail(w, "ended_at_column", "required");
  }
}

const char* FamilyName(TypeFamily f) {
  switch (f) {
    case TypeFamily::kInteger:
      return "an integer";
    case TypeFamily::kReal:
      return "a number";
    case TypeFamily::kText:
      return "a text";
    case TypeFamily::kBool:
      return "a boolean";
    case TypeFamily::kTime:
      return "a timestamp";
    case TypeFamily::kOther:
      return "another";
  }
  return "another";
}

// Checks that `column` of `table` is mapped and has one of `families` (empty:
// any), naming `field` of `where` on error.
void CheckUse(const Catalogue& catalogue, const DatasetTable& table, const std::string& column,
              std::initializer_list<TypeFamily> families, absl::string_view use, const Where& where,
              absl::string_view field, Reporter& r) {
  const ColumnInfo* info = catalogue.Find(table.name(), column);
  if (info == nullptr) {
    r.Fail(where, field,
           absl::StrCat("unknown column \"", column, "\" in table \"", table.name(), "\""));
    return;
  }
  if (MappedColumn(table, column) == nullptr) {
    r.Fail(where, field, absl::StrCat("column \"", column, "\" must also be listed in columns"));
  }
  if (families.size() == 0) return;
  for (TypeFamily f : families) {
    if (info->family == f) return;
  }
  r.Fail(where, field,
         absl::StrCat("column \"", column, "\" has type ", info->declared_type, " (",
                      FamilyName(info->family), " column); ", use, " needs ",
                      FamilyName(*families.begin()), " column"));
}

}  // namespace

absl::StatusOr<ParsedMap> ParsedMap::Parse(absl::string_view text, absl::string_view source_name) {
  ParsedMap out;
  out.source_ = std::string(source_name);
  out.tree_ = std::make_shared<TextFormat::ParseInfoTree>();
  TextFormat::Parser parser;
  CollectingErrors errors(source_name);
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(out.tree_.get());
  if (!parser.ParseFromString(std::string(text), &out.map_)) {
    if (errors.errors().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(source_name, ": cannot parse dataset map"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(errors.errors(), "\n"));
  }
  Reporter reporter(source_name);
  Where root{out.tree_.get(), DatasetMap::descriptor(), 0, ""};
  CheckStructure(out.map_, root, reporter, out.parent_, out.parents_first_);
  if (!reporter.ok()) return reporter.status();
  return out;
}

absl::StatusOr<ParsedMap> ParsedMap::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open dataset map"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::NotFoundError(absl::StrCat(path, ": cannot read dataset map"));
  return Parse(buffer.str(), path);
}

absl::StatusOr<DatasetPlan> ParsedMap::Plan(const Catalogue& catalogue) const {
  Reporter r(source_);
  Where root{tree_.get(), DatasetMap::descriptor(), 0, ""};
  const DatasetMap& m = map_;
  DatasetPlan plan;
  for (int i = 0; i < m.tables_size(); ++i) {
    const DatasetTable& t = m.tables(i);
    Where w = root.Element("tables", i, DatasetTable::descriptor());
    auto found = catalogue.tables.find(t.name());
    if (found == catalogue.tables.end()) {
      r.Fail(w, "name", absl::StrCat("unknown table \"", t.name(), "\" in the database"));
      continue;
    }
    for (int k = 0; k < t.columns_size(); ++k) {
      const auto& c = t.columns(k);
      Where cw = w.Element("columns", k, config::v1::DatasetColumn::descriptor());
      const ColumnInfo* info = catalogue.Find(t.name(), c.name());
      if (info == nullptr) {
        r.Fail(cw, "name",
               absl::StrCat("unknown column \"", c.name(), "\" in table \"", t.name(), "\""));
        continue;
      }
      switch (c.erasure()) {
        case config::v1::COLUMN_ERASURE_SET_NULL:
          if (!info->nullable) {
            r.Fail(cw, "erasure",
                   absl::StrCat("column \"", c.name(), "\" is NOT NULL: SET_NULL cannot apply"));
          }
          break;
        case config::v1::COLUMN_ERASURE_MASK:
        case config::v1::COLUMN_ERASURE_KEYED_HASH:
          if (info->family != TypeFamily::kText) {
            r.Fail(cw, "erasure",
                   absl::StrCat("column \"", c.name(), "\" has type ", info->declared_type,
                                ": MASK and KEYED_HASH need a text column"));
          }
          if (c.erasure() == config::v1::COLUMN_ERASURE_KEYED_HASH) plan.uses_keyed_hash = true;
          break;
        default:
          break;
      }
    }
    for (const auto& column : found->second) {
      if (MappedColumn(t, column.name) == nullptr) {
        r.Fail(w, "columns",
               absl::StrCat("column \"", column.name, "\" of table \"", t.name(),
                            "\" is not classified: list it (KEEP for statistics)"));
      }
    }
    CheckUse(catalogue, t, t.primary_key(), {}, "primary_key", w, "primary_key", r);
    for (int k = 0; k < t.identities_size(); ++k) {
      Where iw = w.Element("identities", k, config::v1::IdentityColumn::descriptor());
      CheckUse(catalogue, t, t.identities(k).column(), {TypeFamily::kText, TypeFamily::kInteger},
               "an identity", iw, "column", r);
    }
    if (t.has_join()) {
      Where jw = w.Element("join", 0, config::v1::JoinPath::descriptor());
      CheckUse(catalogue, t, t.join().column(), {}, "a join", jw, "column", r);
      if (parent_[i] >= 0 && catalogue.tables.count(t.join().parent())) {
        CheckUse(catalogue, m.tables(parent_[i]), t.join().parent_column(), {}, "a join", jw,
                 "parent_column", r);
      }
    }
    if (!t.legal_hold_column().empty()) {
      CheckUse(catalogue, t, t.legal_hold_column(), {TypeFamily::kBool}, "a legal hold", w,
               "legal_hold_column", r);
    }
  }
  auto table_named = [&](const std::string& name) -> const DatasetTable* {
    for (const auto& t : m.tables()) {
      if (t.name() == name && catalogue.tables.count(name)) return &t;
    }
    return nullptr;
  };
  for (int i = 0; i < m.consents_size(); ++i) {
    const auto& c = m.consents(i);
    Where w = root.Element("consents", i, config::v1::ConsentColumn::descriptor());
    const DatasetTable* t = table_named(c.table());
    if (t == nullptr) continue;
    CheckUse(catalogue, *t, c.column(), {TypeFamily::kBool}, "a consent flag", w, "column", r);
    CheckUse(catalogue, *t, c.changed_at_column(), {TypeFamily::kInteger}, "a change time", w,
             "changed_at_column", r);
  }
  if (m.has_ended_relationships()) {
    const auto& e = m.ended_relationships();
    Where w = root.Element("ended_relationships", 0, config::v1::EndedRelationships::descriptor());
    if (const DatasetTable* t = table_named(e.table()); t != nullptr) {
      CheckUse(catalogue, *t, e.ended_at_column(), {TypeFamily::kTime}, "an end time", w,
               "ended_at_column", r);
    }
  }
  if (!r.ok()) return r.status();
  plan.map = m;
  plan.parent = parent_;
  plan.parents_first = parents_first_;
  plan.children_first.assign(parents_first_.rbegin(), parents_first_.rend());
  for (int i = 0; i < m.tables_size(); ++i) plan.index[m.tables(i).name()] = i;
  plan.state_table = m.state_table().empty() ? "dsar_connector_tasks" : m.state_table();
  return plan;
}

}  // namespace dsar::sql_connector
