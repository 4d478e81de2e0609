// Helpers for the FHIR mapping tests: parse mapper output and look elements up by path.
#ifndef COLLABCARE_TESTS_FHIR_FHIR_TEST_UTIL_H_
#define COLLABCARE_TESTS_FHIR_FHIR_TEST_UTIL_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "adapters/fhir/json_value.h"
#include "adapters/fhir/mapping.h"

namespace collabcare::fhir::testing {

// Parses JSON, failing the test (and returning null) when it is not valid.
JsonValue Parse(absl::string_view json);

// The element at a dotted path with indexes, e.g. "target[0].detailQuantity.value"; nullptr
// when absent.
const JsonValue* At(const JsonValue& root, absl::string_view path);

// The string (or a number's text) at `path`, or "<absent>".
std::string Text(const JsonValue& root, absl::string_view path);

// The resources of `type`, in order.
std::vector<const FhirResource*> OfType(const std::vector<FhirResource>& resources,
                                        absl::string_view type);

// Problems with FHIR's JSON rules anywhere below `v`: null, empty or whitespace-only strings,
// empty arrays or objects. Each entry is a path.
std::vector<std::string> JsonRuleViolations(const JsonValue& v, const std::string& path = "");

// Whether `xhtml` is a well-formed narrative: one <div> in the XHTML namespace, balanced tags
// from FHIR's allowed set, only the entities &amp; &lt; &gt; &quot; &#NN;.
bool IsWellFormedNarrative(absl::string_view xhtml, std::string* why);

}  // namespace collabcare::fhir::testing

#endif  // COLLABCARE_TESTS_FHIR_FHIR_TEST_UTIL_H_
