// Path templates: what they match, what they bind, and what they refuse to parse.
#include "plugin/http/path_template.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace collabcare::http {
namespace {

PathTemplate Parsed(absl::string_view text) {
  absl::StatusOr<PathTemplate> t = PathTemplate::Parse(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status();
  return t.ok() ? *t : *PathTemplate::Parse("/unused");
}

TEST(PathTemplateTest, BindsTheResourceName) {
  PathTemplate t = Parsed("/v1/{name=episodes/*/goals/*}:restate");
  std::optional<PathMatch> m = t.Match("/v1/episodes/e1/goals/g-2:restate");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->field, "name");
  EXPECT_EQ(m->value, "episodes/e1/goals/g-2");
  EXPECT_EQ(t.text(), "/v1/{name=episodes/*/goals/*}:restate");
}

TEST(PathTemplateTest, BindsAParentBeforeACollection) {
  PathTemplate t = Parsed("/v1/{parent=episodes/*}/goals");
  std::optional<PathMatch> m = t.Match("/v1/episodes/E/goals");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->field, "parent");
  EXPECT_EQ(m->value, "episodes/E");
  EXPECT_FALSE(t.Match("/v1/episodes/E/goals/G"));
  EXPECT_FALSE(t.Match("/v1/episodes/E/hypotheses"));
  EXPECT_FALSE(t.Match("/v1/episodes/E/goals/"));
}

TEST(PathTemplateTest, BindsANestedField) {
  std::optional<PathMatch> m =
      Parsed("/v1/{goal.name=episodes/*/goals/*}").Match("/v1/episodes/E/goals/G");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->field, "goal.name");
  EXPECT_EQ(m->value, "episodes/E/goals/G");
}

TEST(PathTemplateTest, VerbMustMatchExactly) {
  PathTemplate watch = Parsed("/v1/{name=episodes/*}:watch");
  EXPECT_TRUE(watch.Match("/v1/episodes/E:watch"));
  EXPECT_FALSE(watch.Match("/v1/episodes/E"));
  EXPECT_FALSE(watch.Match("/v1/episodes/E:watchit"));
  PathTemplate get = Parsed("/v1/{name=episodes/*}");
  EXPECT_FALSE(get.Match("/v1/episodes/E:watch"));  // a verb is not part of an id
}

TEST(PathTemplateTest, LiteralTemplatesBindNothing) {
  PathTemplate me = Parsed("/v1/me");
  std::optional<PathMatch> m = me.Match("/v1/me");
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->field.empty());
  EXPECT_FALSE(me.Match("/v1/me/"));
  EXPECT_FALSE(me.Match("/v1/you"));
  EXPECT_FALSE(me.Match("v1/me"));
}

TEST(PathTemplateTest, WildcardsTakeOnlyPlainIds) {
  PathTemplate t = Parsed("/v1/{name=episodes/*}");
  for (const char* path : {"/v1/episodes/..", "/v1/episodes/.", "/v1/episodes/", "/v1/episodes/a b",
                           "/v1/episodes/a%2Fb", "/v1/episodes/a\\b", "/v1/episodes/a;b"}) {
    EXPECT_FALSE(t.Match(path)) << path;
  }
  EXPECT_TRUE(t.Match("/v1/episodes/id_0.1-x~"));
  EXPECT_TRUE(IsIdSegment("id000001"));
  EXPECT_FALSE(IsIdSegment(".."));
}

TEST(PathTemplateTest, MalformedTemplatesAreRefused) {
  for (const char* text : {"v1/x", "/v1/{name=episodes/*", "/v1/{a}/{b}", "/v1/x/", "/v1//x",
                           "/v1/{Name}", "/v1/x:", "/v1/x:a-b", "/"}) {
    absl::StatusOr<PathTemplate> t = PathTemplate::Parse(text);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

}  // namespace
}  // namespace collabcare::http
