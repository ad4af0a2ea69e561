// `watch --metrics ADDR:PORT`: a minimal HTTP/1.0 responder for Prometheus
// scrapes. One connection at a time, answered from the watch loop (a scrape
// every few seconds is no load; no thread touches the watcher's state).
#pragma once

#include <functional>
#include <string>

#include "fd.hpp"
#include "result.hpp"

namespace steer {

class MetricsServer {
public:
	// "127.0.0.1:9573", "[::1]:9573", ":9573" (every address); port 0
	// lets the kernel pick one (address() tells which).
	static Result<MetricsServer> listen(const std::string &where);

	int fd() const { return fd_.get(); }
	// The bound address, as "HOST:PORT".
	const std::string &address() const { return bound_; }
	// Accepts one waiting connection: GET /metrics is answered with
	// body() (503 with its error when it fails), anything else with 404.
	void serve_one(const std::function<Result<std::string>()> &body) const;

private:
	MetricsServer(Fd fd, std::string bound) : fd_(std::move(fd)), bound_(std::move(bound)) {}
	Fd fd_;
	std::string bound_;
};

} // namespace steer
