#include "render.hpp"

namespace steer::mesh {

namespace {

constexpr const char *proposals = "aes128-sha256-modp2048";
constexpr const char *libreswan_proposals = "aes128-sha2_256-modp2048";

std::string join(const std::vector<config::Cidr> &list, const char *sep)
{
	std::string out;
	for (const auto &c : list)
		out += (out.empty() ? "" : sep) + c.text;
	return out;
}

std::string header(const MeshView &v, const Peer &p, const char *comment)
{
	std::string h = std::string(comment) + " ipsec-steer mesh: " + v.self.text + " <-> " + p.address.text;
	h += " (leases: " + join(p.subnets, ", ") + ").\n";
	h += std::string(comment) + " Written by `ipsec-steer mesh`; rewritten or removed with the lease.\n";
	return h;
}

// swanctl's local/remote auth rounds.
std::string swan_ends(const MeshView &v, const Peer &p, const AuthMaterial &a)
{
	std::string auth = a.psk.empty() ? "pubkey" : "psk";
	std::string s = "\t\tlocal {\n\t\t\tauth = " + auth + "\n\t\t\tid = " + v.self.text + "\n";
	if (a.psk.empty())
		s += "\t\t\tcerts = " + a.cert + "\n";
	s += "\t\t}\n\t\tremote {\n\t\t\tauth = " + auth + "\n\t\t\tid = " + p.address.text + "\n";
	if (a.psk.empty())
		s += "\t\t\tcacerts = " + a.ca + "\n";
	return s + "\t\t}\n";
}

// Each side starts its children when it loads the connection: the host
// that learns of the pair last always finds the other ready (the first one
// got NO_PROPOSAL_CHOSEN and gave up). A trap alone is not enough:
// kernel-libipsec drops trapped packets without an acquire. DPD restarts a
// pair whose peer went away and came back.
constexpr const char *start_action = "start";

std::string swan_children(const MeshView &v, const Peer &p)
{
	std::string action = std::string("\t\t\t\tstart_action = ") + start_action +
		"\n\t\t\t\tdpd_action = restart\n";
	std::string s = "\t\tchildren {\n";
	if (v.host_to_host)
		s += "\t\t\t" + host_child(p) + " {\n\t\t\t\tesp_proposals = " + std::string(proposals) + "\n" +
			action + "\t\t\t}\n";
	if (!v.local_subnets.empty()) {
		s += "\t\t\t" + subnet_child(p) + " {\n";
		s += "\t\t\t\tlocal_ts = " + join(v.local_subnets, ",") + "\n";
		s += "\t\t\t\tremote_ts = " + join(p.subnets, ",") + "\n";
		s += "\t\t\t\tesp_proposals = " + std::string(proposals) + "\n" + action + "\t\t\t}\n";
	}
	return s + "\t\t}\n";
}

std::string swan_secrets(const MeshView &v, const Peer &p, const AuthMaterial &a)
{
	std::string s = "secrets {\n";
	if (!a.psk.empty()) {
		s += "\tike-" + p.name + " {\n\t\tid-local = " + v.self.text + "\n\t\tid-remote = " +
			p.address.text + "\n\t\tsecret = \"" + a.psk + "\"\n\t}\n";
	} else {
		s += "\tprivate-" + p.name + " {\n\t\tfile = " + a.key + "\n\t}\n";
	}
	return s + "}\n";
}

std::string stem(const std::string &path)
{
	size_t slash = path.rfind('/');
	std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
	size_t dot = base.rfind('.');
	return dot == std::string::npos || dot == 0 ? base : base.substr(0, dot);
}

std::string libreswan_subnets(const char *side, const std::vector<config::Cidr> &list)
{
	if (list.size() == 1)
		return "\t" + std::string(side) + "subnet=" + list.front().text + "\n";
	return "\t" + std::string(side) + "subnets={" + join(list, " ") + "}\n";
}

} // namespace

std::string peer_of_file(const std::string &file_name)
{
	std::string prefix = file_prefix;
	if (file_name.compare(0, prefix.size(), prefix) != 0)
		return {};
	for (const char *ext : {".conf", ".secrets"}) {
		std::string e = ext;
		if (file_name.size() > prefix.size() + e.size() &&
			file_name.compare(file_name.size() - e.size(), e.size(), e) == 0)
			return file_name.substr(prefix.size(), file_name.size() - prefix.size() - e.size());
	}
	return {};
}

Result<std::string> psk_from_file_text(const std::string &text)
{
	std::string psk = text;
	while (!psk.empty() && (psk.back() == '\n' || psk.back() == '\r' || psk.back() == ' ' ||
		psk.back() == '\t'))
		psk.pop_back();
	if (psk.empty())
		return plain_error("the PSK file is empty");
	if (psk.find_first_of("\"\\\n\r") != std::string::npos)
		return plain_error("the PSK holds a quote, backslash or line break; use a 0x or 0s "
			"(base64) encoded secret");
	return psk;
}

std::string host_child(const Peer &p) { return p.name + "-host"; }
std::string subnet_child(const Peer &p) { return p.name + "-subnet"; }

bool initiates_pair(const config::IpAddress &self, const config::IpAddress &peer)
{
	return self.family < peer.family || (self.family == peer.family && self.bytes < peer.bytes);
}

std::vector<ConfFile> render_strongswan(const MeshView &v, const Peer &p, const AuthMaterial &a)
{
	std::string s = header(v, p, "#");
	s += "connections {\n\t" + p.name + " {\n\t\tversion = 2\n";
	s += "\t\tlocal_addrs = " + v.self.text + "\n\t\tremote_addrs = " + p.address.text + "\n";
	// AES-CBC + HMAC-SHA256 with MODP-2048 (PFS): what kernel ESP and
	// kernel-libipsec (which has no AEAD without the openssl plugin) both do.
	s += "\t\tproposals = " + std::string(proposals) + "\n\t\tdpd_delay = 30s\n";
	s += swan_ends(v, p, a) + swan_children(v, p) + "\t}\n}\n";
	s += swan_secrets(v, p, a);
	return {{file_prefix + p.name + ".conf", s, true}};
}

std::vector<ConfFile> render_libreswan(const MeshView &v, const Peer &p, const AuthMaterial &a)
{
	std::string s = header(v, p, "#");
	s += "conn " + p.name + "\n\ttype=tunnel\n";
	s += "\tleft=" + v.self.text + "\n\tright=" + p.address.text + "\n";
	if (!a.psk.empty()) {
		s += "\tleftid=" + v.self.text + "\n\trightid=" + p.address.text + "\n\tauthby=secret\n";
	} else {
		// libreswan keeps certificates in its NSS database: the host
		// certificate must be imported there under its file's stem.
		s += "\tleftcert=" + stem(a.cert) + "\n\tleftid=%fromcert\n\trightid=%fromcert\n";
		s += "\trightca=%same\n\tauthby=rsasig\n";
	}
	// The strongSwan side's proposals in libreswan's spelling (a mesh may
	// mix both daemons); esp= with a DH group is PFS on every rekey.
	s += "\tike=" + std::string(libreswan_proposals) + "\n\tesp=" + libreswan_proposals + "\n";
	s += "\tauto=start\n";
	if (!v.local_subnets.empty()) {
		s += "\nconn " + subnet_child(p) + "\n\talso=" + p.name + "\n";
		s += libreswan_subnets("left", v.local_subnets) + libreswan_subnets("right", p.subnets);
	}
	std::vector<ConfFile> files{{file_prefix + p.name + ".conf", s, false}};
	if (!a.psk.empty())
		files.push_back({file_prefix + p.name + ".secrets",
			v.self.text + " " + p.address.text + " : PSK \"" + a.psk + "\"\n", true});
	return files;
}

} // namespace steer::mesh
