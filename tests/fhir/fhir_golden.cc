// fhir_golden --out DIR: writes every resource and transaction Bundle the FHIR mappers produce
// for the golden cases (golden_cases.h), one file each, named <case>.<ResourceType>.<n>.json
// (n counts from 1 per case and type), and DIR/index.json listing them:
//   {"files": [{"file": …, "case": …, "resourceType": …, "key": …}, …]}
// An independent FHIR validator then checks every file.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/fhir/bundle.h"
#include "adapters/fhir/canonical.h"
#include "adapters/fhir/json_value.h"
#include "adapters/fhir/json_writer.h"
#include "adapters/fhir/mapping.h"
#include "tests/fhir/golden_cases.h"

namespace {

using collabcare::fhir::FhirResource;

struct Written {
  std::string file;
  std::string golden_case;
  std::string type;
  std::string key;
};

bool WriteFile(const std::filesystem::path& path, const std::string& json) {
  absl::StatusOr<collabcare::fhir::JsonValue> parsed = collabcare::fhir::ParseJson(json);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s: mapper wrote invalid JSON: %s\n", path.c_str(),
                 parsed.status().ToString().c_str());
    return false;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << collabcare::fhir::SerializeJson(*parsed, /*pretty=*/true) << "\n";
  out.close();
  if (!out) {
    std::fprintf(stderr, "%s: cannot write\n", path.c_str());
    return false;
  }
  return true;
}

int Usage() {
  std::fprintf(stderr, "usage: fhir_golden --out DIR\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--out" && i + 1 < argc) {
      out_dir = argv[++i];
    } else if (arg.rfind("--out=", 0) == 0) {
      out_dir = arg.substr(6);
    } else {
      return Usage();
    }
  }
  if (out_dir.empty()) return Usage();
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "%s: %s\n", out_dir.c_str(), ec.message().c_str());
    return 1;
  }

  const collabcare::fhir::CanonicalUrls urls;
  std::vector<Written> written;
  bool ok = true;
  const auto emit = [&](const std::string& golden_case, const std::string& type,
                        const std::string& key, const std::string& json,
                        std::map<std::string, int>& counts) {
    const std::string file = absl::StrCat(golden_case, ".", type, ".", ++counts[type], ".json");
    if (!WriteFile(std::filesystem::path(out_dir) / file, json)) {
      ok = false;
      return;
    }
    written.push_back({file, golden_case, type, key});
  };

  std::vector<FhirResource> family_sync;  // every family-episode resource, for one bundle
  for (const collabcare::fhir::testing::GoldenCase& c : collabcare::fhir::testing::GoldenCases()) {
    absl::StatusOr<std::vector<FhirResource>> resources =
        collabcare::fhir::testing::MapGoldenCase(c, urls);
    if (!resources.ok()) {
      std::fprintf(stderr, "%s: %s\n", c.name.c_str(), resources.status().ToString().c_str());
      ok = false;
      continue;
    }
    std::map<std::string, int> counts;
    for (const FhirResource& r : *resources) emit(c.name, r.type, r.key, r.json, counts);
    absl::StatusOr<std::string> bundle = collabcare::fhir::TransactionBundle(*resources, urls);
    if (!bundle.ok()) {
      std::fprintf(stderr, "%s: bundle: %s\n", c.name.c_str(), bundle.status().ToString().c_str());
      ok = false;
      continue;
    }
    emit(c.name, "Bundle", "", *bundle, counts);
    if (c.episode.name() == "episodes/e1" && c.name.rfind("audit-", 0) != 0) {
      for (FhirResource& r : *resources) family_sync.push_back(std::move(r));
    }
  }
  {
    // One transaction with the whole family episode: references between its resources become
    // urn:uuid references.
    std::map<std::string, int> counts;
    absl::StatusOr<std::string> bundle = collabcare::fhir::TransactionBundle(family_sync, urls);
    if (!bundle.ok()) {
      std::fprintf(stderr, "family-sync: bundle: %s\n", bundle.status().ToString().c_str());
      ok = false;
    } else {
      emit("family-sync", "Bundle", "", *bundle, counts);
    }
  }

  std::string index;
  collabcare::fhir::JsonWriter w(&index);
  w.BeginObject();
  w.Key("files");
  w.BeginArray();
  for (const Written& f : written) {
    w.BeginObject();
    w.Field("file", f.file);
    w.Field("case", f.golden_case);
    w.Field("resourceType", f.type);
    if (!f.key.empty()) w.Field("key", f.key);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  if (!WriteFile(std::filesystem::path(out_dir) / "index.json", index)) ok = false;
  std::fprintf(stderr, "fhir_golden: %zu files in %s\n", written.size(), out_dir.c_str());
  return ok ? 0 : 1;
}
