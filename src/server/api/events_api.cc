// The live event stream, GET /api/v1/events (docs/api.md, "Live events"). The WebSocket itself is
// accepted by App::Upgrade and fed through EventHub; the route here answers plain requests, so the
// path has an entry in the route table, the OpenAPI document and the role × tenant walk.

#include "server/api/services.h"

namespace vigil::server::api {

void RegisterEventRoutes(Router& router, Services& /*s*/) {
  router.Add({"GET", kEventsPath, domain::RoleSet::All(), false, false, [](Ctx&) -> Result<Reply> {
                return Status(ErrorCode::kInvalidArgument,
                              "this is a WebSocket endpoint: send an Upgrade: websocket request");
              }});
}

}  // namespace vigil::server::api
