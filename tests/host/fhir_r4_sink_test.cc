// The fhir-r4 sink against a loopback HTTP server: what goes over the wire is bundle.cc's text,
// byte for byte, so decimals keep their precision.
#include <memory>
#include <string>
#include <vector>

#include "adapters/host/fhir_client.h"
#include "adapters/host/http_transport.h"
#include "adapters/host/sync/host_sink.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/host/host_test_util.h"
#include "tests/testing/fakes.h"

namespace collabcare::host {
namespace {

TEST(FhirR4SinkTest, SendsBundleTextWithDecimalsAsMapped) {
  testutil::TestServer server;
  std::vector<std::string> bodies;
  server.server().Post("/fhir", [&](const httplib::Request& req, httplib::Response& res) {
    bodies.push_back(req.body);
    res.set_content(R"({"resourceType":"Bundle","type":"transaction-response"})",
                    "application/fhir+json");
  });
  server.Start();
  std::unique_ptr<HttpTransport> transport = NewCurlTransport({}).value();
  testing::FakeClock clock;
  FhirClientOptions options;
  options.base_url = server.url() + "/fhir";
  std::unique_ptr<FhirClient> client =
      NewFhirClient(options, transport.get(), nullptr, &clock).value();
  std::unique_ptr<HostSink> sink = NewFhirR4Sink(FhirR4SinkOptions(), client.get());

  const std::vector<fhir::FhirResource> resources = {
      {"Observation", "episodes/e1/goals/g1/ratings/r1", false,
       R"({"resourceType":"Observation","status":"final",)"
       R"("valueQuantity":{"value":1.50,"unit":"h"}})"}};
  ASSERT_TRUE(sink->Push(store::OutboxEntry(), resources).ok());
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_NE(bodies[0].find(R"("value":1.50,)"), std::string::npos) << bodies[0];
  const nlohmann::json sent = nlohmann::json::parse(bodies[0]);
  EXPECT_EQ(sent["type"], "transaction");
  EXPECT_EQ(sent["entry"][0]["request"]["method"], "PUT");
}

}  // namespace
}  // namespace collabcare::host
