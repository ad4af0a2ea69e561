// The etcd gateway over HTTP (libcurl): one POST for a whole answer, and a
// streaming POST for the watch. The one network-facing file of mesh/.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "result.hpp"

namespace steer::mesh {

struct CurlDeleter {
	void operator()(void *h) const;
};
using CurlPtr = std::unique_ptr<void, CurlDeleter>;

// Per-process libcurl setup (curl_global_init), once, before threads.
void http_global_init();

// POST body to url; the whole answer, or an Error naming url with curl's
// reason (err = 0) or the HTTP status. timeout_ms bounds the whole call.
[[nodiscard]] Result<std::string> http_post(const std::string &url, const std::string &body, long timeout_ms);

// POST body to url and hand each received chunk to on_data until the
// server ends the stream, on_data returns false (then: success), `stop`
// becomes true (libcurl's progress callback checks it about once a
// second, also while idle: success) or the
// connection fails (Error). TCP keepalive finds a dead peer in ~10 s.
[[nodiscard]] Status http_stream(const std::string &url, const std::string &body,
	const std::function<bool(std::string_view)> &on_data, const std::atomic<bool> &stop);

} // namespace steer::mesh
