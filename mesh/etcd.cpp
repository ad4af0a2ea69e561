#include "etcd.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

namespace steer::mesh::etcd {

namespace {

using json = nlohmann::json;

constexpr std::string_view alphabet =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c)
{
	size_t at = alphabet.find(c);
	return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

// int64 fields are strings in the gateway's JSON ("12"); absent means 0.
Result<int64_t> int64_field(const json &obj, const char *name)
{
	auto it = obj.find(name);
	if (it == obj.end() || it->is_null())
		return int64_t{0};
	if (it->is_number_integer())
		return it->get<int64_t>();
	if (!it->is_string())
		return plain_error(std::string("etcd: \"") + name + "\" is not an integer");
	std::string s = it->get<std::string>();
	int64_t v = 0;
	auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
	if (ec != std::errc() || end != s.data() + s.size())
		return plain_error(std::string("etcd: \"") + name + "\" \"" + s + "\" is not an integer");
	return v;
}

Result<std::string> bytes_field(const json &obj, const char *name)
{
	auto it = obj.find(name);
	if (it == obj.end() || it->is_null())
		return std::string();
	if (!it->is_string())
		return plain_error(std::string("etcd: \"") + name + "\" is not a base64 string");
	return base64_decode(it->get<std::string>());
}

Result<KeyValue> key_value(const json &kv)
{
	if (!kv.is_object())
		return plain_error("etcd: a kv is not an object");
	auto key = bytes_field(kv, "key");
	auto value = bytes_field(kv, "value");
	auto rev = int64_field(kv, "mod_revision");
	if (!key || !value || !rev)
		return !key ? key.error() : !value ? value.error() : rev.error();
	return KeyValue{*key, *value, *rev};
}

Result<int64_t> header_revision(const json &obj)
{
	auto h = obj.find("header");
	if (h == obj.end() || !h->is_object())
		return plain_error("etcd: answer without a header");
	return int64_field(*h, "revision");
}

Error gateway_error(const json &v)
{
	const json &e = v.contains("error") ? v["error"] : v;
	std::string msg = e.is_object() && e.contains("message") && e["message"].is_string()
		? e["message"].get<std::string>() : e.dump();
	return plain_error("etcd: " + msg);
}

Result<json> object_of(std::string_view text)
{
	json v = json::parse(text, nullptr, false);
	if (v.is_discarded() || !v.is_object())
		return plain_error("etcd: answer is not a JSON object: " + std::string(text.substr(0, 200)));
	if (v.contains("error") || v.contains("code"))
		return gateway_error(v);
	return v;
}

Result<std::vector<Event>> events_of(const json &result)
{
	std::vector<Event> events;
	auto list = result.find("events");
	if (list == result.end() || list->is_null())
		return events;
	if (!list->is_array())
		return plain_error("etcd: \"events\" is not a list");
	for (const auto &e : *list) {
		auto kv = key_value(e.value("kv", json::object()));
		if (!kv)
			return kv.error();
		// The gateway omits the enum's zero value: no "type" is PUT.
		bool del = e.contains("type") && e["type"] == "DELETE";
		events.push_back({del ? Event::del : Event::put, *kv});
	}
	return events;
}

} // namespace

std::string base64_encode(std::string_view bytes)
{
	std::string out;
	uint32_t acc = 0;
	int bits = 0;
	for (unsigned char c : bytes) {
		acc = (acc << 8) | c;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out += alphabet[(acc >> bits) & 0x3f];
		}
	}
	if (bits > 0)
		out += alphabet[(acc << (6 - bits)) & 0x3f];
	while (out.size() % 4)
		out += '=';
	return out;
}

Result<std::string> base64_decode(std::string_view text)
{
	std::string out;
	uint32_t acc = 0;
	int bits = 0;
	size_t end = text.find_last_not_of('=');
	end = end == std::string_view::npos ? 0 : end + 1;
	if (text.size() % 4 != 0 || text.size() - end > 2)
		return plain_error("etcd: bad base64 \"" + std::string(text.substr(0, 40)) + "\"");
	for (size_t i = 0; i < end; ++i) {
		int v = sextet(text[i]);
		if (v < 0)
			return plain_error("etcd: bad base64 \"" + std::string(text.substr(0, 40)) + "\"");
		acc = (acc << 6) | static_cast<uint32_t>(v);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out += static_cast<char>((acc >> bits) & 0xff);
		}
	}
	return out;
}

std::string prefix_end(std::string_view key)
{
	std::string end(key);
	while (!end.empty()) {
		auto &last = reinterpret_cast<unsigned char &>(end.back());
		if (last < 0xff) {
			++last;
			return end;
		}
		end.pop_back();
	}
	return std::string(1, '\0');  // every key
}

std::string range_request(std::string_view prefix_dir)
{
	json body = {{"key", base64_encode(prefix_dir)}, {"range_end", base64_encode(prefix_end(prefix_dir))}};
	return body.dump();
}

Result<RangeResponse> parse_range_response(std::string_view body)
{
	auto v = object_of(body);
	if (!v)
		return v.error();
	auto rev = header_revision(*v);
	if (!rev)
		return rev.error();
	if (v->value("more", false))
		return plain_error("etcd: range answer is partial (\"more\": true)");
	RangeResponse r{*rev, {}};
	if (auto kvs = v->find("kvs"); kvs != v->end() && kvs->is_array())
		for (const auto &kv : *kvs) {
			auto parsed = key_value(kv);
			if (!parsed)
				return parsed.error();
			r.kvs.push_back(*parsed);
		}
	return r;
}

std::string watch_request(std::string_view prefix_dir, int64_t start_revision)
{
	json create = {{"key", base64_encode(prefix_dir)},
		{"range_end", base64_encode(prefix_end(prefix_dir))},
		{"start_revision", std::to_string(start_revision)}};
	return json{{"create_request", create}}.dump();
}

Result<WatchMessage> parse_watch_message(std::string_view line)
{
	auto v = object_of(line);
	if (!v)
		return v.error();
	auto result = v->find("result");
	if (result == v->end() || !result->is_object())
		return plain_error("etcd: watch message without \"result\": " + std::string(line.substr(0, 200)));
	WatchMessage m;
	auto rev = header_revision(*result);
	auto compact = int64_field(*result, "compact_revision");
	auto events = events_of(*result);
	if (!rev || !compact || !events)
		return !rev ? rev.error() : !compact ? compact.error() : events.error();
	m.revision = *rev;
	m.compact_revision = *compact;
	m.events = std::move(*events);
	m.created = result->value("created", false);
	m.canceled = result->value("canceled", false);
	if (auto r = result->find("cancel_reason"); r != result->end() && r->is_string())
		m.cancel_reason = r->get<std::string>();
	return m;
}

bool LineBuffer::next_line(std::string &line)
{
	size_t nl = buf_.find('\n');
	if (nl == std::string::npos)
		return false;
	line.assign(buf_, 0, nl);
	buf_.erase(0, nl + 1);
	return true;
}

} // namespace steer::mesh::etcd
