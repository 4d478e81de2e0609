// collabctl's command line: words, `--key=value` / `--key value` options, and the option values
// that name proto enums ("let-go" for Goal::LET_GO).
#ifndef COLLABCARE_PLUGIN_CLI_ARGS_H_
#define COLLABCARE_PLUGIN_CLI_ARGS_H_

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/generated_enum_reflection.h"
#include "plugin/common/status_macros.h"

namespace collabcare::cli {

// The parsed command line. Every error is INVALID_ARGUMENT (a usage error).
class Args {
 public:
  // Parses the arguments after the program name. Options may come before, between or after the
  // words; `--` ends the options. Option names are normalised: `-q` is `quiet`, `-h` is
  // `help`, and `-` in a name reads as `_` (`--page-size` is `--page_size`). Options in
  // `kFlags` take no value; every other option takes one, as `--key=value` or `--key value`.
  static absl::StatusOr<Args> Parse(const std::vector<std::string>& argv);

  // The options that take no value.
  static const std::set<std::string>& Flags();

  const std::vector<std::string>& words() const { return words_; }

  bool Has(const std::string& key) const;
  // The value of a single-valued option (Check() rejects repeats), if given.
  std::optional<std::string> Value(const std::string& key) const;
  // Every value of a repeatable option, in order.
  std::vector<std::string> Values(const std::string& key) const;
  // Whether a flag is on: given, and not `=false`/`=0`/`=no`.
  bool Flag(const std::string& key) const;

  // INVALID_ARGUMENT for an option not in `allowed`, or one given more than once that is not
  // in `repeatable`.
  absl::Status Check(const std::set<std::string>& allowed,
                     const std::set<std::string>& repeatable) const;

 private:
  std::vector<std::string> words_;
  std::vector<std::pair<std::string, std::string>> options_;  // in command-line order
};

// Parses an enum option value: the lower-case hyphenated form of the enum value's name
// ("therapist-led", "let-go"); upper case and `_` are accepted too. The *_UNSPECIFIED value
// is never a choice. INVALID_ARGUMENT lists the choices.
absl::StatusOr<int> ParseEnumValue(const google::protobuf::EnumDescriptor& descriptor,
                                   absl::string_view option, absl::string_view value);

// The choices of an enum option, e.g. "active|paused|achieved|let-go".
std::string EnumChoices(const google::protobuf::EnumDescriptor& descriptor);

template <typename E>
absl::StatusOr<E> ParseEnumOption(absl::string_view option, absl::string_view value) {
  ASSIGN_OR_RETURN(int number,
                   ParseEnumValue(*google::protobuf::GetEnumDescriptor<E>(), option, value));
  return static_cast<E>(number);
}

// Number options; INVALID_ARGUMENT names the option.
absl::StatusOr<int64_t> ParseIntOption(absl::string_view option, absl::string_view value);
absl::StatusOr<double> ParseDoubleOption(absl::string_view option, absl::string_view value);

}  // namespace collabcare::cli

#endif  // COLLABCARE_PLUGIN_CLI_ARGS_H_
