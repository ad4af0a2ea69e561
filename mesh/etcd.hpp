// etcd v3 through its JSON gateway (etcd 3.4: POST /v3/kv/range, POST
// /v3/watch): the request bodies and the parsing of the answers, pure.
// Keys and values travel base64-encoded; int64 fields come as strings.
// http.hpp sends them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace steer::mesh::etcd {

std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

// The range_end that makes [key, range_end) every key starting with key.
std::string prefix_end(std::string_view key);

struct KeyValue {
	std::string key, value;
	int64_t mod_revision = 0;
};

struct RangeResponse {
	int64_t revision = 0;        // header.revision: the store's revision of this view
	std::vector<KeyValue> kvs;
};

// POST /v3/kv/range body for every key under prefix_dir.
std::string range_request(std::string_view prefix_dir);
// Error when the body is not a complete answer (an "error", "more": true).
Result<RangeResponse> parse_range_response(std::string_view body);

// POST /v3/watch body: watch every key under prefix_dir from start_revision.
std::string watch_request(std::string_view prefix_dir, int64_t start_revision);

struct Event {
	enum Type { put, del } type = put;
	KeyValue kv;                 // del: key and mod_revision only
};

// One message of the watch stream (one JSON document per line).
struct WatchMessage {
	int64_t revision = 0;        // header.revision
	bool created = false;        // the watch is set up
	bool canceled = false;       // the server ended the watch
	int64_t compact_revision = 0;  // > 0: start_revision was compacted; re-list
	std::string cancel_reason;
	std::vector<Event> events;
};
// Error for a gateway error object ({"error": ...}) or text that is not a
// watch response.
Result<WatchMessage> parse_watch_message(std::string_view line);

// Splits a byte stream into lines: feed() appends, next_line() pops.
class LineBuffer {
public:
	void feed(std::string_view bytes) { buf_.append(bytes); }
	bool next_line(std::string &line);
	size_t pending() const { return buf_.size(); }

private:
	std::string buf_;
};

} // namespace steer::mesh::etcd
