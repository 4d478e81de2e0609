// Wraps mapped resources into a FHIR transaction Bundle for a host EHR (DESIGN.md "Host EHRs",
// profile fhir-r4). Pure: no I/O.
#ifndef COLLABCARE_ADAPTERS_FHIR_BUNDLE_H_
#define COLLABCARE_ADAPTERS_FHIR_BUNDLE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/canonical.h"
#include "adapters/fhir/mapping.h"

namespace collabcare::fhir {

// "urn:uuid:…": a name-based (version 5, SHA-1) UUID of "{record_identifier}|{key}": the meta.tag
// code that keys a Provenance or AuditEvent (mapping.h), stable across bundles.
std::string UuidForKey(const CanonicalUrls& urls, absl::string_view key);

// "urn:uuid:…": the fullUrl of `key`'s Bundle entry, also a version 5 UUID stable across bundles,
// but of "bundle-entry|{record_identifier}|{key}" so that it never equals UuidForKey(key).
// Servers rewrite every string equal to an entry's fullUrl into the created resource's
// reference (Medplum does, inside meta.tag too); were the two equal, the tag would be stored as
// "Provenance/<id>" and the `_tag` conditional create of a retry would match nothing.
std::string EntryUuidForKey(const CanonicalUrls& urls, absl::string_view key);

// A transaction Bundle holding `resources` in order (fhir-facts.md 5.6):
//  - each entry's fullUrl is EntryUuidForKey(key) (never equal to a tag code);
//  - a resource with a business identifier is a conditional update
//    `PUT {type}?identifier={system}|{key}` (creates it once, then updates it: idempotent);
//  - a Provenance or AuditEvent (keyed by meta.tag) is `POST {type}` with
//    `ifNoneExist: _tag={system}|{key}` (append-only, created once);
//  - every logical reference to a collabcare resource (type + identifier) gains a `reference`:
//    the entry's urn:uuid when the target is in the bundle, else the conditional reference
//    `{type}?identifier={system}|{value}` that the server resolves in the transaction.
// INVALID_ARGUMENT for a resource that is not a JSON object or two resources with one key.
absl::StatusOr<std::string> TransactionBundle(const std::vector<FhirResource>& resources,
                                              const CanonicalUrls& urls);

// `{type}?identifier={system}|{value}` with the value percent-encoded as a URL query needs.
std::string ConditionalUrl(absl::string_view type, absl::string_view param,
                           absl::string_view system, absl::string_view value);

}  // namespace collabcare::fhir

#endif  // COLLABCARE_ADAPTERS_FHIR_BUNDLE_H_
