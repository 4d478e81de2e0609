// CDS Hooks routes on cpp-httplib: thin adapters from HTTP to CdsHooksService.
#include "plugin/cds/cds_routes.h"

#include <httplib.h>

#include <string>

namespace collabcare::cds {
namespace {

// CDS Hooks clients may run in a browser (e.g. a sandbox). Calls carry a bearer token, never
// cookies, so any origin may call.
void AllowCors(httplib::Response& res) {
  res.set_header("Access-Control-Allow-Origin", "*");
  res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
  res.set_header("Access-Control-Max-Age", "600");
}

void Send(const HttpReply& reply, httplib::Response& res) {
  AllowCors(res);
  res.status = reply.status;
  res.set_header("Cache-Control", "no-store");
  if (reply.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  if (!reply.body.empty()) res.set_content(reply.body, "application/json");
}

}  // namespace

void RegisterCdsHooks(httplib::Server& server, CdsHooksService& cds) {
  // Service ids are lowercase words and hyphens; anything else is no route of ours.
  constexpr char kService[] = R"(/cds-services/([a-z0-9-]{1,64}))";
  constexpr char kFeedback[] = R"(/cds-services/([a-z0-9-]{1,64})/feedback)";
  server.Get("/cds-services", [&cds](const httplib::Request&, httplib::Response& res) {
    Send(cds.Discovery(), res);
  });
  server.Post(kService, [&cds](const httplib::Request& req, httplib::Response& res) {
    Send(cds.Call(req.matches[1].str(), req.get_header_value("Authorization"), req.body), res);
  });
  server.Post(kFeedback, [&cds](const httplib::Request& req, httplib::Response& res) {
    Send(cds.Feedback(req.matches[1].str(), req.get_header_value("Authorization"), req.body), res);
  });
  for (const char* pattern : {"/cds-services", kService, kFeedback}) {
    server.Options(pattern, [](const httplib::Request&, httplib::Response& res) {
      AllowCors(res);
      res.status = 204;
    });
  }
}

}  // namespace collabcare::cds
