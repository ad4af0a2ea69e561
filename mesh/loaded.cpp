#include "loaded.hpp"

#include <cctype>
#include <sstream>

namespace steer::mesh {

namespace {

// One section of vici's raw text: key=value, key=[a b], name {...}.
struct Section {
	std::map<std::string, std::string> values;
	std::map<std::string, std::vector<std::string>> lists;
	std::vector<std::pair<std::string, Section>> sections;
};

class RawReader {
public:
	explicit RawReader(std::string_view t) : t_(t) {}

	// Reads entries until '}' (consumed) or the end when top is true.
	Result<Section> section(bool top)
	{
		Section s;
		for (;;) {
			skip_spaces();
			if (at_end())
				return top ? Result<Section>(s) : bad("unterminated section");
			if (t_[i_] == '}') {
				if (top)
					return bad("unbalanced '}'");
				++i_;
				return s;
			}
			if (auto st = entry(s); !st)
				return st.error();
		}
	}

private:
	Status entry(Section &s)
	{
		size_t start = i_;
		while (!at_end() && t_[i_] != '=' && t_[i_] != ' ' && t_[i_] != '{' && t_[i_] != '}')
			++i_;
		std::string name(t_.substr(start, i_ - start));
		if (name.empty())
			return bad("expected a name").error();
		if (!at_end() && t_[i_] == '=') {
			++i_;
			if (!at_end() && t_[i_] == '[')
				return list(s.lists[name]);
			s.values[name] = value();
			return {};
		}
		skip_spaces();
		if (at_end() || t_[i_] != '{')
			return bad("expected '=' or '{' after \"" + name + "\"").error();
		++i_;
		auto sub = section(false);
		if (!sub)
			return sub.error();
		s.sections.emplace_back(name, std::move(*sub));
		return {};
	}

	Status list(std::vector<std::string> &out)
	{
		size_t close = t_.find(']', i_);
		if (close == std::string_view::npos)
			return bad("unterminated list").error();
		std::istringstream items(std::string(t_.substr(i_ + 1, close - i_ - 1)));
		for (std::string item; items >> item;)
			out.push_back(item);
		i_ = close + 1;
		return {};
	}

	// A scalar may hold spaces ("class=pre-shared key"): it ends before
	// '}' or before a space followed by the next "name=" or "name {".
	std::string value()
	{
		size_t start = i_;
		while (!at_end() && t_[i_] != '}' && !(t_[i_] == ' ' && next_is_entry(i_ + 1)))
			++i_;
		return std::string(t_.substr(start, i_ - start));
	}

	bool next_is_entry(size_t j) const
	{
		while (j < t_.size() && t_[j] != ' ' && t_[j] != '=' && t_[j] != '{' && t_[j] != '}')
			++j;
		if (j < t_.size() && t_[j] == '=')
			return true;
		return j + 1 < t_.size() && t_[j] == ' ' && t_[j + 1] == '{';
	}

	void skip_spaces()
	{
		while (!at_end() && std::isspace(static_cast<unsigned char>(t_[i_])))
			++i_;
	}
	bool at_end() const { return i_ >= t_.size(); }
	Result<Section> bad(const std::string &why) const
	{
		return plain_error("swanctl --list-conns --raw: " + why + " at offset " + std::to_string(i_));
	}

	std::string_view t_;
	size_t i_ = 0;
};

LoadedConn conn_of(const Section &s)
{
	LoadedConn c;
	auto list = [&s](const char *k) {
		auto it = s.lists.find(k);
		return it == s.lists.end() ? std::vector<std::string>{} : it->second;
	};
	c.local_addrs = list("local_addrs");
	c.remote_addrs = list("remote_addrs");
	for (const auto &[name, sub] : s.sections) {
		if (name != "children")
			continue;
		for (const auto &[child, cs] : sub.sections) {
			LoadedChild lc;
			if (auto it = cs.lists.find("local-ts"); it != cs.lists.end())
				lc.local_ts = it->second;
			if (auto it = cs.lists.find("remote-ts"); it != cs.lists.end())
				lc.remote_ts = it->second;
			c.children[child] = lc;
		}
	}
	return c;
}

std::vector<std::string> words(std::string v)
{
	if (!v.empty() && v.front() == '{' && v.back() == '}')
		v = v.substr(1, v.size() - 2);
	std::istringstream in(v);
	std::vector<std::string> out;
	for (std::string w; in >> w;)
		out.push_back(w);
	return out;
}

// A conn with also= is the subnet child of the conn it names; the others
// are connections with their host-to-host child "<name>-host".
Loaded libreswan_loaded(const std::map<std::string, std::map<std::string, std::string>> &conns)
{
	Loaded loaded;
	auto get = [](const std::map<std::string, std::string> &kv, const char *k) {
		auto it = kv.find(k);
		return it == kv.end() ? std::string() : it->second;
	};
	for (const auto &[name, kv] : conns)
		if (get(kv, "also").empty())
			loaded[name] = LoadedConn{words(get(kv, "left")), words(get(kv, "right")),
				{{name + "-host", LoadedChild{{"dynamic"}, {"dynamic"}}}}};
	for (const auto &[name, kv] : conns) {
		std::string parent = get(kv, "also");
		if (parent.empty() || !loaded.count(parent))
			continue;
		auto side = [&](const char *one, const char *many) {
			auto w = words(get(kv, one));
			return w.empty() ? words(get(kv, many)) : w;
		};
		loaded[parent].children[name] = LoadedChild{side("leftsubnet", "leftsubnets"),
			side("rightsubnet", "rightsubnets")};
	}
	return loaded;
}

} // namespace

Result<Loaded> parse_swanctl_raw(std::string_view text)
{
	const std::string_view event = "list-conn event ", reply = "list-conns reply ";
	Loaded loaded;
	bool replied = false;
	std::istringstream lines{std::string(text)};
	for (std::string line; std::getline(lines, line);) {
		std::string_view l = line;
		if (l.find_first_not_of(" \t\r") == std::string_view::npos)
			continue;
		if (l.substr(0, reply.size()) == reply) {
			replied = true;
			continue;
		}
		if (l.substr(0, event.size()) != event)
			return plain_error("swanctl --list-conns --raw: unexpected line \"" + line + "\"");
		l.remove_prefix(event.size());
		if (l.empty() || l.front() != '{')
			return plain_error("swanctl --list-conns --raw: no '{' in \"" + line + "\"");
		auto top = RawReader(l.substr(1)).section(false);
		if (!top)
			return top.error();
		for (const auto &[conn, cs] : top->sections)
			loaded[conn] = conn_of(cs);
	}
	if (!replied)
		return plain_error("swanctl --list-conns --raw: no \"list-conns reply\" (cut short?)");
	return loaded;
}

// libreswan: "conn NAME" then indented key=value lines.
Result<Loaded> parse_libreswan_conf(std::string_view text)
{
	std::map<std::string, std::map<std::string, std::string>> conns;
	std::string current;
	std::istringstream lines{std::string(text)};
	for (std::string line; std::getline(lines, line);) {
		size_t first = line.find_first_not_of(" \t");
		if (first == std::string::npos || line[first] == '#')
			continue;
		if (first == 0) {
			if (line.compare(0, 5, "conn ") != 0)
				return plain_error("libreswan conf: unexpected line \"" + line + "\"");
			current = line.substr(5);
			conns[current];
			continue;
		}
		size_t eq = line.find('=', first);
		if (current.empty() || eq == std::string::npos)
			return plain_error("libreswan conf: unexpected line \"" + line + "\"");
		conns[current][line.substr(first, eq - first)] = line.substr(eq + 1);
	}
	return libreswan_loaded(conns);
}

} // namespace steer::mesh
