// Static files: which file a URL may name, content types, the CSP and the app's config.
#include "plugin/http/static_files.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace collabcare::http {
namespace {

using ::testing::HasSubstr;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/collabcare-static-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ / "web/js");
    std::ofstream(dir_ / "web/index.html") << "<html>";
    std::ofstream(dir_ / "web/js/app.js") << "1";
    std::ofstream(dir_ / "web/.git-credentials") << "x";
    std::ofstream(dir_ / "outside.txt") << "x";
    std::filesystem::create_symlink(dir_ / "outside.txt", dir_ / "web/out.txt");
    std::filesystem::create_symlink(dir_ / "web/index.html", dir_ / "web/home.html");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(StaticFilesTest, ResolvesFilesInsideTheRoot) {
  absl::StatusOr<std::filesystem::path> file = ResolveAppFile(dir_ / "web", "js/app.js");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(*file, std::filesystem::canonical(dir_ / "web/js/app.js"));
  // A link that stays inside the root is followed.
  EXPECT_TRUE(ResolveAppFile(dir_ / "web", "home.html").ok());
}

TEST_F(StaticFilesTest, RefusesEverythingElse) {
  for (const char* path :
       {"../outside.txt", "js/../../outside.txt", "./index.html", "js//app.js", "", "js", "js/",
        "missing.html", ".git-credentials", "out.txt", "js\\app.js", "/etc/passwd"}) {
    absl::StatusOr<std::filesystem::path> file = ResolveAppFile(dir_ / "web", path);
    EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound) << path;
    EXPECT_THAT(std::string(file.status().message()), ::testing::Not(HasSubstr("outside")));
  }
  EXPECT_FALSE(ResolveAppFile("", "index.html").ok());
  EXPECT_FALSE(ResolveAppFile(dir_ / "nowhere", "index.html").ok());
}

TEST(ContentTypeTest, ByExtension) {
  EXPECT_EQ(ContentTypeFor("a/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("app.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("app.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("app.js.map"), "application/json");
  EXPECT_EQ(ContentTypeFor("logo.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("font.woff2"), "font/woff2");
  EXPECT_EQ(ContentTypeFor("archive.tar"), "application/octet-stream");
}

TEST(ContentSecurityPolicyTest, StrictByDefault) {
  absl::StatusOr<std::string> csp = ContentSecurityPolicy({}, {});
  ASSERT_TRUE(csp.ok());
  EXPECT_EQ(*csp,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'");
}

TEST(ContentSecurityPolicyTest, AddsTheEhrOrigins) {
  absl::StatusOr<std::string> csp =
      ContentSecurityPolicy({"https://ehr.example/fhir/r4", "https://auth.example:8443", "'self'"},
                            {"https://ehr.example"});
  ASSERT_TRUE(csp.ok()) << csp.status();
  EXPECT_THAT(*csp, HasSubstr("connect-src 'self' https://ehr.example/fhir/r4 "
                              "https://auth.example:8443;"));
  EXPECT_THAT(*csp, HasSubstr("frame-ancestors https://ehr.example;"));
  EXPECT_TRUE(ContentSecurityPolicy({}, {"'none'"}).ok());
}

TEST(ContentSecurityPolicyTest, RefusesAnythingThatCouldAddADirective) {
  for (const char* source : {"https://ehr.example; script-src *", "*", "'unsafe-inline'",
                             "https://a.example https://b.example", "javascript:alert(1)",
                             "data:", "https://", "ftp://ehr.example", "https://ehr.example,x"}) {
    absl::StatusOr<std::string> connect = ContentSecurityPolicy({"'self'", source}, {});
    EXPECT_EQ(connect.status().code(), absl::StatusCode::kInvalidArgument) << source;
    EXPECT_THAT(std::string(connect.status().message()), HasSubstr("connect_src[1]"));
    absl::StatusOr<std::string> frame = ContentSecurityPolicy({}, {source});
    EXPECT_EQ(frame.status().code(), absl::StatusCode::kInvalidArgument) << source;
    EXPECT_THAT(std::string(frame.status().message()), HasSubstr("frame_ancestors[0]"));
  }
  EXPECT_FALSE(ContentSecurityPolicy({}, {"'self'", "'none'"}).ok());  // 'none' stands alone
}

TEST(AppConfigTest, CarriesTheSmartSettings) {
  EXPECT_EQ(nlohmann::json::parse(AppConfigJson("app-1", "launch openid", {})),
            nlohmann::json::parse(R"({"clientId":"app-1","scope":"launch openid"})"));
  EXPECT_EQ(nlohmann::json::parse(AppConfigJson("a\"b", "s", {"https://ehr.example/fhir"})),
            nlohmann::json::parse(
                R"({"clientId":"a\"b","scope":"s","fhirServers":["https://ehr.example/fhir"]})"));
}

}  // namespace
}  // namespace collabcare::http
