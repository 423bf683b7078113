#include "client/lib/row_files.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <absl/strings/str_cat.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

namespace aves::client {
namespace {

namespace v1 = data::v1;

// The CSV reader: one record at a time, quotes spanning lines.
class CsvFile final : public RowFile {
 public:
  explicit CsvFile(std::string path) : path_(std::move(path)), in_(path_) {}

  absl::Status ReadHeader() {
    if (!in_) return absl::NotFoundError(absl::StrCat("cannot open ", path_));
    std::vector<std::optional<std::string>> fields;
    absl::StatusOr<bool> got = Record(&fields);
    if (!got.ok()) return got.status();
    if (!*got) return absl::InvalidArgumentError(path_ + ": no header row");
    for (auto& field : fields) header_.push_back(field.value_or(""));
    for (size_t i = 0; i < header_.size(); ++i) position_[header_[i]] = i;
    return absl::OkStatus();
  }

  const std::vector<std::string>& columns() const override { return header_; }

  absl::StatusOr<bool> Next(const std::vector<std::string>& columns,
                            v1::Row* row) override {
    std::vector<std::optional<std::string>> fields;
    absl::StatusOr<bool> got = Record(&fields);
    if (!got.ok() || !*got) return got;
    if (fields.size() != header_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ":", record_line_, ": ", fields.size(),
                       " fields for ", header_.size(), " header columns"));
    }
    for (const std::string& column : columns) {
      const std::optional<std::string>& field = fields[position_.at(column)];
      if (field.has_value()) {
        row->add_cells()->set_string_value(*field);
      } else {
        row->add_cells()->set_null_value({});
      }
    }
    return true;
  }

  std::optional<int64_t> CountRows() const override {
    CsvFile counter(path_);
    std::vector<std::optional<std::string>> fields;
    int64_t records = 0;
    while (true) {
      absl::StatusOr<bool> got = counter.Record(&fields);
      if (!got.ok()) return std::nullopt;
      if (!*got) break;
      ++records;
    }
    return records > 0 ? records - 1 : 0;  // minus the header
  }

 private:
  // One record; false at the end of the file.
  absl::StatusOr<bool> Record(std::vector<std::optional<std::string>>* out) {
    out->clear();
    int c = in_.get();
    if (c == EOF) return false;
    record_line_ = ++line_;
    std::string field;
    bool quoted = false;     // the field began with a quote
    bool in_quotes = false;  // inside its quotes now
    while (true) {
      if (c == EOF) {
        if (in_quotes) {
          return absl::InvalidArgumentError(absl::StrCat(
              path_, ":", record_line_, ": a quoted field never ends"));
        }
        break;
      }
      const char ch = static_cast<char>(c);
      if (in_quotes) {
        if (ch == '"') {
          if (in_.peek() == '"') {
            field.push_back('"');
            in_.get();
          } else {
            in_quotes = false;
          }
        } else {
          if (ch == '\n') ++line_;
          field.push_back(ch);
        }
      } else if (ch == '"' && field.empty() && !quoted) {
        quoted = in_quotes = true;
      } else if (ch == ',') {
        out->push_back(quoted || !field.empty()
                           ? std::optional<std::string>(std::move(field))
                           : std::nullopt);
        field.clear();
        quoted = false;
      } else if (ch == '\n' || ch == '\r') {
        if (ch == '\r' && in_.peek() == '\n') in_.get();
        break;
      } else {
        field.push_back(ch);
      }
      c = in_.get();
    }
    out->push_back(quoted || !field.empty()
                       ? std::optional<std::string>(std::move(field))
                       : std::nullopt);
    return true;
  }

  std::string path_;
  std::ifstream in_;
  std::vector<std::string> header_;
  std::map<std::string, size_t> position_;
  int64_t line_ = 0;
  int64_t record_line_ = 0;
};

// JSON lines: typed cells from JSON values (numbers with no fraction that
// fit int64 as int64_value, objects and arrays as json_value).
class JsonLinesFile final : public RowFile {
 public:
  explicit JsonLinesFile(std::string path)
      : path_(std::move(path)), in_(path_) {}

  absl::Status Prime() {
    if (!in_) return absl::NotFoundError(absl::StrCat("cannot open ", path_));
    absl::StatusOr<bool> got = ReadObject();
    if (!got.ok()) return got.status();
    if (*got) {
      for (const auto& [key, value] : pending_->fields())
        columns_.push_back(key);
      // A protobuf map has no order: sorted keys keep a file's columns the
      // same from run to run (a resumed load must name the same columns).
      std::sort(columns_.begin(), columns_.end());
    }
    return absl::OkStatus();
  }

  const std::vector<std::string>& columns() const override { return columns_; }

  absl::StatusOr<bool> Next(const std::vector<std::string>& columns,
                            v1::Row* row) override {
    if (!pending_.has_value()) {
      absl::StatusOr<bool> got = ReadObject();
      if (!got.ok() || !*got) return got;
    }
    const google::protobuf::Struct object = *std::move(pending_);
    pending_.reset();
    for (const std::string& column : columns) {
      v1::Cell* cell = row->add_cells();
      auto found = object.fields().find(column);
      if (found == object.fields().end()) {
        cell->set_null_value({});
        continue;
      }
      const google::protobuf::Value& value = found->second;
      switch (value.kind_case()) {
        case google::protobuf::Value::kNullValue:
          cell->set_null_value({});
          break;
        case google::protobuf::Value::kBoolValue:
          cell->set_bool_value(value.bool_value());
          break;
        case google::protobuf::Value::kNumberValue: {
          const double number = value.number_value();
          // The range first: casting a double past int64's is undefined.
          if (std::abs(number) < 9.007199254740992e15 &&
              number == static_cast<double>(static_cast<int64_t>(number))) {
            cell->set_int64_value(static_cast<int64_t>(number));
          } else {
            cell->set_double_value(number);
          }
          break;
        }
        case google::protobuf::Value::kStringValue:
          cell->set_string_value(value.string_value());
          break;
        default: {
          std::string json;
          (void)google::protobuf::util::MessageToJsonString(value, &json);
          cell->set_json_value(json);
        }
      }
    }
    return true;
  }

  std::optional<int64_t> CountRows() const override {
    std::ifstream in(path_);
    std::string line;
    int64_t rows = 0;
    while (std::getline(in, line))
      if (line.find_first_not_of(" \t\r") != std::string::npos) ++rows;
    return rows;
  }

 private:
  absl::StatusOr<bool> ReadObject() {
    std::string line;
    while (std::getline(in_, line)) {
      ++line_;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      google::protobuf::Struct object;
      if (!google::protobuf::util::JsonStringToMessage(line, &object).ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path_, ":", line_, ": not a JSON object"));
      }
      pending_ = std::move(object);
      return true;
    }
    return false;
  }

  std::string path_;
  std::ifstream in_;
  std::vector<std::string> columns_;
  std::optional<google::protobuf::Struct> pending_;
  int64_t line_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RowFile>> RowFile::Open(
    const std::string& path, const std::string& format) {
  if (format == "csv") {
    auto file = std::make_unique<CsvFile>(path);
    if (absl::Status header = file->ReadHeader(); !header.ok()) return header;
    return file;
  }
  if (format == "jsonl") {
    auto file = std::make_unique<JsonLinesFile>(path);
    if (absl::Status primed = file->Prime(); !primed.ok()) return primed;
    return file;
  }
  return absl::InvalidArgumentError("--format wants csv or jsonl");
}

}  // namespace aves::client
