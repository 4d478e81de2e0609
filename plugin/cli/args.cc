// collabctl's command-line parser and enum option values.
#include "plugin/cli/args.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/descriptor.h"

namespace collabcare::cli {
namespace {

// `-q` → `quiet`, `page-size` → `page_size`.
std::string NormalizeKey(absl::string_view key) {
  if (key == "q") return "quiet";
  if (key == "h") return "help";
  return absl::StrReplaceAll(key, {{"-", "_"}});
}

// "LET_GO" → "let-go".
std::string OptionForm(absl::string_view enum_name) {
  return absl::StrReplaceAll(absl::AsciiStrToLower(enum_name), {{"_", "-"}});
}

bool IsUnspecified(const google::protobuf::EnumValueDescriptor& value) {
  return value.number() == 0 || absl::EndsWith(value.name(), "_UNSPECIFIED");
}

}  // namespace

const std::set<std::string>& Args::Flags() {
  static const auto* const kFlags =
      new std::set<std::string>{"json", "quiet", "help", "proposed", "include_outcomes"};
  return *kFlags;
}

absl::StatusOr<Args> Args::Parse(const std::vector<std::string>& argv) {
  Args args;
  bool options_ended = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (options_ended || arg == "-" || arg.size() < 2 || arg[0] != '-') {
      args.words_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    std::string key;
    std::optional<std::string> value;
    if (arg[1] == '-') {
      absl::string_view body = absl::string_view(arg).substr(2);
      size_t eq = body.find('=');
      if (eq == absl::string_view::npos) {
        key = NormalizeKey(body);
      } else {
        key = NormalizeKey(body.substr(0, eq));
        value = std::string(body.substr(eq + 1));
      }
    } else if (arg == "-q" || arg == "-h") {
      key = NormalizeKey(absl::string_view(arg).substr(1));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option ", arg, " (options are written --name=value)"));
    }
    if (key.empty()) return absl::InvalidArgumentError(absl::StrCat("bad option ", arg));
    if (!value.has_value()) {
      if (Flags().count(key) > 0) {
        value = "true";
      } else if (i + 1 < argv.size() && !absl::StartsWith(argv[i + 1], "--")) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("option --", key, " needs a value (--", key, "=VALUE)"));
      }
    }
    args.options_.emplace_back(std::move(key), std::move(*value));
  }
  return args;
}

bool Args::Has(const std::string& key) const {
  for (const auto& [k, v] : options_) {
    if (k == key) return true;
  }
  return false;
}

std::optional<std::string> Args::Value(const std::string& key) const {
  std::optional<std::string> found;
  for (const auto& [k, v] : options_) {
    if (k == key) found = v;
  }
  return found;
}

std::vector<std::string> Args::Values(const std::string& key) const {
  std::vector<std::string> found;
  for (const auto& [k, v] : options_) {
    if (k == key) found.push_back(v);
  }
  return found;
}

bool Args::Flag(const std::string& key) const {
  std::optional<std::string> value = Value(key);
  if (!value.has_value()) return false;
  std::string lower = absl::AsciiStrToLower(*value);
  return lower != "false" && lower != "0" && lower != "no";
}

absl::Status Args::Check(const std::set<std::string>& allowed,
                         const std::set<std::string>& repeatable) const {
  std::set<std::string> seen;
  for (const auto& [key, value] : options_) {
    if (allowed.count(key) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option --", key, " for this command"));
    }
    if (!seen.insert(key).second && repeatable.count(key) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("option --", key, " given more than once"));
    }
    if (Flags().count(key) > 0) {
      std::string lower = absl::AsciiStrToLower(value);
      if (lower != "true" && lower != "false" && lower != "1" && lower != "0" && lower != "yes" &&
          lower != "no") {
        return absl::InvalidArgumentError(
            absl::StrCat("option --", key, " takes no value (or =true / =false)"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ParseEnumValue(const google::protobuf::EnumDescriptor& descriptor,
                                   absl::string_view option, absl::string_view value) {
  const std::string wanted = OptionForm(value);
  for (int i = 0; i < descriptor.value_count(); ++i) {
    const google::protobuf::EnumValueDescriptor& v = *descriptor.value(i);
    if (!IsUnspecified(v) && OptionForm(v.name()) == wanted) return v.number();
  }
  return absl::InvalidArgumentError(absl::StrCat("--", option, ": unknown value \"", value,
                                                 "\"; choose one of ", EnumChoices(descriptor)));
}

std::string EnumChoices(const google::protobuf::EnumDescriptor& descriptor) {
  std::vector<std::string> choices;
  for (int i = 0; i < descriptor.value_count(); ++i) {
    if (!IsUnspecified(*descriptor.value(i)))
      choices.push_back(OptionForm(descriptor.value(i)->name()));
  }
  return absl::StrJoin(choices, "|");
}

absl::StatusOr<int64_t> ParseIntOption(absl::string_view option, absl::string_view value) {
  int64_t number = 0;
  if (!absl::SimpleAtoi(value, &number)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", option, ": \"", value, "\" is not a whole number"));
  }
  return number;
}

absl::StatusOr<double> ParseDoubleOption(absl::string_view option, absl::string_view value) {
  double number = 0;
  if (!absl::SimpleAtod(value, &number) || !std::isfinite(number)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", option, ": \"", value, "\" is not a number"));
  }
  return number;
}

}  // namespace collabcare::cli
