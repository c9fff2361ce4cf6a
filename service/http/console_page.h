// The web console the HTTP listener serves at GET / (RestApi): one page, its HTML, script and
// style in one file, service/http/console/console.html, which the build embeds in the binary
// (console/embed.cmake), so a board that is offline serves it without any external asset.
//
//   HttpResponse page{.content_type = "text/html; charset=utf-8",
//                     .body = std::string(ConsolePage())};
//
// The page uses the daemon's open endpoints (/v2/models/stats to list the models,
// /metrics.json for its live chart) and POST /v2/models/{name}/infer with a base64 picture to
// classify, sending the bearer token the user pastes in (kept in sessionStorage) when the daemon
// requires one. Thread-safe: a view of constant data.
#ifndef PYNQ_SERVICE_HTTP_CONSOLE_PAGE_H_
#define PYNQ_SERVICE_HTTP_CONSOLE_PAGE_H_

#include <string_view>

namespace pynq::service::http {

std::string_view ConsolePage();

}  // namespace pynq::service::http

#endif  // PYNQ_SERVICE_HTTP_CONSOLE_PAGE_H_
