// End to end: the real collabcare-server binary with --dev --http_listen=127.0.0.1:0 answers
// /healthz and the JSON API with the same development tokens as its gRPC port, and ends an open
// watch stream cleanly on SIGTERM.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "plugin/identity/identity.h"
#include "tests/testing/server_process.h"

namespace collabcare {
namespace {

using json = nlohmann::json;

class HttpServerE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/collabcare-http-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/web");
    std::ofstream(dir_ + "/web/index.html") << "<!doctype html><title>app</title>";
    server_ = std::make_unique<testutil::ServerProcess>(
        COLLABCARE_SERVER_BINARY, dir_,
        std::vector<std::string>{"--dev", "--log_level=warning", "--http_listen=127.0.0.1:0",
                                 "--http_port_file=" + dir_ + "/http_port",
                                 "--web_root=" + dir_ + "/web", "--smart_client_id=e2e-app",
                                 "--frame_ancestors='self',https://ehr.example"});
    ASSERT_NO_FATAL_FAILURE(server_->Start());
    ASSERT_TRUE(testutil::WaitFor(
        [&] {
          std::ifstream in(dir_ + "/http_port");
          return static_cast<bool>(in >> http_port_) && http_port_ > 0;
        },
        std::chrono::seconds(10)));
    auto dev = identity::LoadDevIdentity(dir_);
    ASSERT_TRUE(dev.ok()) << dev.status();
    dev_ = *dev;
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<httplib::Client> Client() {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", http_port_);
    client->set_connection_timeout(5);
    client->set_read_timeout(10);
    return client;
  }
  httplib::Headers As(const std::string& who) {
    identity::TokenClaims claims;
    claims.fhir_user = who;
    auto token = identity::MintToken(dev_.private_key_pem, dev_.key_id, claims, absl::Now());
    EXPECT_TRUE(token.ok());
    return {{"Authorization", "Bearer " + token.value_or("")}};
  }

  std::string dir_;
  int http_port_ = 0;
  identity::DevIdentity dev_;
  std::unique_ptr<testutil::ServerProcess> server_;
};

TEST_F(HttpServerE2eTest, AnswersHealthAppAndApi) {
  auto health = Client()->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body), json({{"status", "SERVING"}}));

  auto index = Client()->Get("/app/index.html");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_THAT(index->get_header_value("Content-Security-Policy"),
              ::testing::HasSubstr("frame-ancestors 'self' https://ehr.example;"));
  auto config = Client()->Get("/app/config.json");
  ASSERT_TRUE(config);
  EXPECT_EQ(json::parse(config->body)["clientId"], "e2e-app");
  auto no_jwks = Client()->Get("/.well-known/jwks.json");  // no --host_private_key
  ASSERT_TRUE(no_jwks);
  EXPECT_EQ(no_jwks->status, 404);

  auto me = Client()->Get("/v1/me", As("Practitioner/9"));
  ASSERT_TRUE(me);
  EXPECT_EQ(me->status, 200);
  EXPECT_EQ(json::parse(me->body)["person"], "Practitioner/9");
  auto anonymous = Client()->Get("/v1/episodes");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);

  const json create = {{"episode",
                        {{"participants",
                          {{{"person", "Practitioner/9"}, {"role", "THERAPIST"}},
                           {{"person", "Patient/1"}, {"role", "CLIENT"}}}},
                         {"format", "CLIENT_LED"},
                         {"modality", "INDIVIDUAL"}}}};
  auto created =
      Client()->Post("/v1/episodes", As("Practitioner/9"), create.dump(), "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 200) << created->body;
  const std::string episode = json::parse(created->body)["name"];
  auto goal = Client()->Post(("/v1/" + episode + "/goals").c_str(), As("Patient/1"),
                             R"({"goal":{"words":"sleep through the night"}})", "application/json");
  ASSERT_TRUE(goal);
  EXPECT_EQ(goal->status, 200) << goal->body;
  auto list = Client()->Get("/v1/episodes", As("Patient/1"));
  ASSERT_TRUE(list);
  EXPECT_EQ(json::parse(list->body)["episodes"][0]["name"], episode);
}

TEST_F(HttpServerE2eTest, SigtermEndsAnOpenWatchStreamAndExitsCleanly) {
  const json create = {{"episode",
                        {{"participants",
                          {{{"person", "Practitioner/9"}, {"role", "THERAPIST"}},
                           {{"person", "Patient/1"}, {"role", "CLIENT"}}}},
                         {"format", "THERAPIST_LED"},
                         {"modality", "INDIVIDUAL"}}}};
  auto created =
      Client()->Post("/v1/episodes", As("Practitioner/9"), create.dump(), "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 200) << created->body;
  const std::string episode = json::parse(created->body)["name"];
  absl::Notification first_event, ended;
  std::string received;
  std::thread watcher([&] {
    auto client = Client();
    client->set_read_timeout(30);
    client->Get(
        ("/v1/" + episode + ":watch").c_str(), As("Patient/1"),
        [&](const char* data, size_t length) {
          received.append(data, length);
          if (!first_event.HasBeenNotified() && received.find("\n\n") != std::string::npos) {
            first_event.Notify();
          }
          return true;
        });
    ended.Notify();
  });
  ASSERT_TRUE(first_event.WaitForNotificationWithTimeout(absl::Seconds(10)));
  const int status = server_->Kill(SIGTERM);
  EXPECT_TRUE(ended.WaitForNotificationWithTimeout(absl::Seconds(10)));
  watcher.join();
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_THAT(received, ::testing::HasSubstr("id: 1\n"));
}

}  // namespace
}  // namespace collabcare
