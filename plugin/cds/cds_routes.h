// Puts the CDS Hooks service on an httplib::Server: the discovery, service and feedback
// endpoints under /cds-services, with CORS for browser-based CDS clients.
#ifndef COLLABCARE_PLUGIN_CDS_CDS_ROUTES_H_
#define COLLABCARE_PLUGIN_CDS_CDS_ROUTES_H_

#include "plugin/cds/cds_service.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace collabcare::cds {

// Registers GET /cds-services, POST /cds-services/{id}, POST /cds-services/{id}/feedback and
// OPTIONS on all three. `cds` is not owned and must outlive the server. Handlers run on the
// server's worker threads and block on the store (see CdsHooksService).
void RegisterCdsHooks(httplib::Server& server, CdsHooksService& cds);

}  // namespace collabcare::cds

#endif  // COLLABCARE_PLUGIN_CDS_CDS_ROUTES_H_
