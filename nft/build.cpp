#include "build.hpp"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <new>

#include "batch_writer.hpp"
#include "nftnl_ptr.hpp"
#include "rule_expr.hpp"

namespace steer::nft {

namespace {

// nft's datatype ids (nftables src/datatype.h) and concatenation shift.
constexpr uint32_t type_ipv4_addr = 7, type_ipv6_addr = 8, type_bits = 6;
// nft's byte order ids for NFTNL_UDATA_SET_KEYBYTEORDER.
constexpr uint32_t byteorder_invalid = 0, byteorder_big_endian = 2;

// Element messages stop before their element list reaches
// element_list_limit (the list is one attribute with a 16-bit length) and
// reserve element_room (libnftnl writes without bounds checks).
constexpr size_t element_list_limit = 60 * 1024;
constexpr size_t element_room = element_list_limit + 4096;

template <typename Ptr, typename T>
Ptr make(T *(*alloc)())
{
	T *p = alloc();
	if (!p)
		throw std::bad_alloc();
	return Ptr(p);
}

// --- table ---------------------------------------------------------------

void add_table_messages(BatchWriter &w, const Ruleset &rs)
{
	const std::string name = "table inet " + rs.table;
	auto bare = make<TablePtr>(nftnl_table_alloc);
	nftnl_table_set_str(bare.get(), NFTNL_TABLE_NAME, rs.table.c_str());

	nlmsghdr *nlh = w.start(NFT_MSG_NEWTABLE, NLM_F_CREATE);
	nftnl_table_nlmsg_build_payload(nlh, bare.get());
	w.finish(nlh, "create " + name + " if absent (so that deleting it cannot fail)");

	nlh = w.start(NFT_MSG_DELTABLE, 0);
	nftnl_table_nlmsg_build_payload(nlh, bare.get());
	w.finish(nlh, "delete " + name);

	auto table = make<TablePtr>(nftnl_table_alloc);
	nftnl_table_set_str(table.get(), NFTNL_TABLE_NAME, rs.table.c_str());
	nftnl_table_set_u32(table.get(), NFTNL_TABLE_FLAGS, 0);
	auto ud = UdataPtr(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
	if (!ud)
		throw std::bad_alloc();
	if (!rs.comment.empty()) {
		nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_TABLE_COMMENT, rs.comment.c_str());
		nftnl_table_set_data(table.get(), NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud.get()),
			nftnl_udata_buf_len(ud.get()));
	}
	nlh = w.start(NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
	nftnl_table_nlmsg_build_payload(nlh, table.get());
	w.finish(nlh, "add " + name + " comment \"" + rs.comment + "\"");
}

// --- sets ----------------------------------------------------------------

uint32_t key_len(KeyType t)
{
	return t == KeyType::ipv4_addr ? 4 : 16;
}

} // namespace

void put_key_element(nlmsghdr *nlh, const std::vector<uint8_t> &key)
{
	nlattr *elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	nlattr *k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put(nlh, NFTA_DATA_VALUE, key.size(), key.data());
	mnl_attr_nest_end(nlh, k);
	mnl_attr_nest_end(nlh, elem);
}

void put_set(nlmsghdr *nlh, const std::string &table, const Set &s, uint32_t set_id)
{
	auto set = make<SetPtr>(nftnl_set_alloc);
	nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, table.c_str());
	nftnl_set_set_str(set.get(), NFTNL_SET_NAME, s.name.c_str());
	nftnl_set_set_u32(set.get(), NFTNL_SET_ID, set_id);
	uint32_t type = 0, len = 0;
	std::array<uint8_t, NFT_REG32_COUNT> fields{};
	for (size_t i = 0; i < s.key.size(); i++) {
		type = (type << type_bits) | (s.key[i] == KeyType::ipv4_addr ? type_ipv4_addr : type_ipv6_addr);
		fields[i] = static_cast<uint8_t>(key_len(s.key[i]));
		len += key_len(s.key[i]);
	}
	const bool concat = s.key.size() > 1;
	// A hash set (flags 0, no size: the kernel picks its resizable hash)
	// is what nft makes of `type ipv4_addr . ipv4_addr` without flags.
	nftnl_set_set_u32(set.get(), NFTNL_SET_FLAGS,
		s.interval ? NFT_SET_INTERVAL | (concat ? NFT_SET_CONCAT : 0) : 0);
	nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_TYPE, type);
	nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_LEN, len);
	// The per-field lengths make the kernel pick the pipapo backend.
	if (s.interval && concat)
		nftnl_set_set_data(set.get(), NFTNL_SET_DESC_CONCAT, fields.data(), fields.size());
	// nft reads the key's byte order back from here to print elements;
	// a concatenation has none of its own (its fields carry theirs).
	auto ud = UdataPtr(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
	if (!ud)
		throw std::bad_alloc();
	nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_KEYBYTEORDER,
		concat ? byteorder_invalid : byteorder_big_endian);
	nftnl_set_set_data(set.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud.get()),
		nftnl_udata_buf_len(ud.get()));
	nftnl_set_nlmsg_build_payload(nlh, set.get());
}

namespace {

void add_set_message(BatchWriter &w, const Ruleset &rs, const Set &s, uint32_t set_id)
{
	nlmsghdr *nlh = w.start(NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL);
	put_set(nlh, rs.table, s, set_id);
	w.finish(nlh, "add set " + s.name);
}

// --- set elements --------------------------------------------------------

using Bytes16 = std::array<uint8_t, 16>;

// The first and last address of a prefix, in the field's key length.
struct Span {
	Bytes16 lo{}, hi{};
};

Span span(const config::Cidr &c)
{
	Span s;
	size_t len = c.address.family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < len; i++) {
		int bits = std::clamp(c.prefix - static_cast<int>(i * 8), 0, 8);
		uint8_t mask = static_cast<uint8_t>(0xff00 >> bits);
		s.lo[i] = c.address.bytes[i] & mask;
		s.hi[i] = s.lo[i] | static_cast<uint8_t>(~mask);
	}
	return s;
}

// One kernel element: a key, maybe a key end, flags, and the model
// element it came from.
struct Piece {
	std::vector<uint8_t> key, key_end;
	uint32_t flags = 0;
	bool open = false;   // the interval runs to the last address
	std::string origin;
};

// An interval set of one field is a sorted run of start keys and
// "interval end" keys (the first address after the range), as nft sends
// it: a leading end marker at 0 unless a range starts there, and no end
// after a range that reaches the last address (flagged open in userdata).
std::vector<Piece> single_field_pieces(const Set &s)
{
	const size_t len = key_len(s.key[0]);
	struct Ranged {
		Span sp;
		size_t index;
	};
	std::vector<Ranged> ranges;
	ranges.reserve(s.elements.size());
	for (size_t i = 0; i < s.elements.size(); i++)
		ranges.push_back({span(s.elements[i].fields[0]), i});
	std::sort(ranges.begin(), ranges.end(),
		[](const Ranged &a, const Ranged &b) { return a.sp.lo < b.sp.lo; });
	std::vector<Piece> out;
	out.reserve(2 * ranges.size() + 1);
	const std::vector<uint8_t> zero(len, 0);
	if (!ranges.empty() && !std::equal(zero.begin(), zero.end(), ranges[0].sp.lo.begin()))
		out.push_back({zero, {}, NFT_SET_ELEM_INTERVAL_END, false, "(interval start marker)"});
	for (const auto &r : ranges) {
		std::string text = to_text(s.elements[r.index]);
		std::vector<uint8_t> lo(r.sp.lo.begin(), r.sp.lo.begin() + len);
		std::vector<uint8_t> end(r.sp.hi.begin(), r.sp.hi.begin() + len);
		bool open = std::all_of(end.begin(), end.end(), [](uint8_t b) { return b == 0xff; });
		out.push_back({lo, {}, 0, open, text});
		if (open)
			continue;
		for (size_t i = len; i-- > 0;)  // the address after the range
			if (++end[i] != 0)
				break;
		out.push_back({end, {}, NFT_SET_ELEM_INTERVAL_END, false, text});
	}
	return out;
}

// A concatenated interval set (pipapo) takes each element as one key of
// the fields' first addresses and one key end of their last addresses.
std::vector<Piece> concat_pieces(const Set &s)
{
	std::vector<Piece> out;
	out.reserve(s.elements.size());
	for (const auto &e : s.elements) {
		Piece p;
		for (size_t i = 0; i < e.fields.size(); i++) {
			Span sp = span(e.fields[i]);
			size_t len = key_len(s.key[i]);
			p.key.insert(p.key.end(), sp.lo.begin(), sp.lo.begin() + len);
			p.key_end.insert(p.key_end.end(), sp.hi.begin(), sp.hi.begin() + len);
		}
		p.origin = to_text(e);
		out.push_back(std::move(p));
	}
	return out;
}

// A hash set takes each element as one key: the fields' first addresses
// (network addresses in a set of prefixes of one length).
std::vector<Piece> hash_pieces(const Set &s)
{
	std::vector<Piece> out;
	out.reserve(s.elements.size());
	size_t len = 0;
	for (KeyType k : s.key)
		len += key_len(k);
	for (const auto &e : s.elements) {
		Piece p;
		p.key.reserve(len);
		for (size_t i = 0; i < e.fields.size(); i++) {
			Span sp = span(e.fields[i]);
			p.key.insert(p.key.end(), sp.lo.begin(), sp.lo.begin() + key_len(s.key[i]));
		}
		p.origin = to_text(e);
		out.push_back(std::move(p));
	}
	return out;
}

ElemPtr make_element(const Piece &p)
{
	auto e = make<ElemPtr>(nftnl_set_elem_alloc);
	nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY, p.key.data(), p.key.size());
	if (!p.key_end.empty())
		nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY_END, p.key_end.data(), p.key_end.size());
	if (p.flags)
		nftnl_set_elem_set_u32(e.get(), NFTNL_SET_ELEM_FLAGS, p.flags);
	if (p.open) {
		// Only nft reads this: it prints the range as a prefix, not "a-".
		uint8_t buf[16];
		size_t n = 0;
		buf[n++] = NFTNL_UDATA_SET_ELEM_FLAGS;
		buf[n++] = sizeof(uint32_t);
		uint32_t open = NFTNL_SET_ELEM_F_INTERVAL_OPEN;
		std::memcpy(buf + n, &open, sizeof(open));
		n += sizeof(open);
		nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_USERDATA, buf, n);
	}
	return e;
}

// As many NEWSETELEM messages as the 16-bit element list length needs.
void add_element_messages(BatchWriter &w, Batch &b, const Ruleset &rs, const Set &s, uint32_t set_id)
{
	if (s.elements.empty())
		return;
	std::vector<Piece> pieces = !s.interval ? hash_pieces(s)
		: s.key.size() > 1            ? concat_pieces(s)
					      : single_field_pieces(s);
	size_t next = 0;
	while (next < pieces.size()) {
		nlmsghdr *nlh = w.start(NFT_MSG_NEWSETELEM, NLM_F_CREATE, element_room);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, rs.table.c_str());
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, s.name.c_str());
		mnl_attr_put_u32(nlh, NFTA_SET_ELEM_LIST_SET_ID, htonl(set_id));
		nlattr *list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		std::vector<ElementOrigin> origins;
		size_t first = next;
		const size_t list_start = reinterpret_cast<char *>(list) - reinterpret_cast<char *>(nlh);
		while (next < pieces.size() && nlh->nlmsg_len - list_start < element_list_limit) {
			Piece &p = pieces[next];
			uint32_t offset = nlh->nlmsg_len;
			if (p.key_end.empty() && !p.flags && !p.open) {
				put_key_element(nlh, p.key);
			} else {
				// The kernel ignores the nest type; NFTA_LIST_ELEM is what it
				// dumps and what libnftnl parses back.
				auto elem = make_element(p);
				nftnl_set_elem_nlmsg_build(nlh, elem.get(), NFTA_LIST_ELEM);
			}
			origins.push_back({offset, std::move(p.origin)});
			next++;
		}
		mnl_attr_nest_end(nlh, list);
		b.elements[nlh->nlmsg_seq] = std::move(origins);
		w.finish(nlh, "add elements to set " + s.name + " (" + std::to_string(next - first) +
				" kernel elements)");
	}
}

// --- chains --------------------------------------------------------------

uint32_t hook_number(Hook h)
{
	switch (h) {
	case Hook::prerouting: return NF_INET_PRE_ROUTING;
	case Hook::input: return NF_INET_LOCAL_IN;
	case Hook::forward: return NF_INET_FORWARD;
	case Hook::output: return NF_INET_LOCAL_OUT;
	case Hook::postrouting: return NF_INET_POST_ROUTING;
	}
	return NF_INET_LOCAL_IN;
}

void add_chain_message(BatchWriter &w, const Ruleset &rs, const Chain &c)
{
	auto chain = make<ChainPtr>(nftnl_chain_alloc);
	nftnl_chain_set_str(chain.get(), NFTNL_CHAIN_TABLE, rs.table.c_str());
	nftnl_chain_set_str(chain.get(), NFTNL_CHAIN_NAME, c.name.c_str());
	nftnl_chain_set_str(chain.get(), NFTNL_CHAIN_TYPE, std::string(to_string(c.type)).c_str());
	nftnl_chain_set_u32(chain.get(), NFTNL_CHAIN_HOOKNUM, hook_number(c.hook));
	nftnl_chain_set_s32(chain.get(), NFTNL_CHAIN_PRIO, c.priority);
	nftnl_chain_set_u32(chain.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlmsghdr *nlh = w.start(NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL);
	nftnl_chain_nlmsg_build_payload(nlh, chain.get());
	w.finish(nlh, "add chain " + c.name + " { type " + std::string(to_string(c.type)) + " hook " +
			std::string(to_string(c.hook)) + " priority " + std::to_string(c.priority) +
			"; policy accept; }");
}

void add_rule_message(BatchWriter &w, const Ruleset &rs, const Rule &r)
{
	auto rule = make<RulePtr>(nftnl_rule_alloc);
	nftnl_rule_set_str(rule.get(), NFTNL_RULE_TABLE, rs.table.c_str());
	nftnl_rule_set_str(rule.get(), NFTNL_RULE_CHAIN, r.chain.c_str());
	add_rule_expressions(rule.get(), rs, r);
	nlmsghdr *nlh = w.start(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	nftnl_rule_nlmsg_build_payload(nlh, rule.get());
	w.finish(nlh, "add rule to chain " + r.chain + ": " + to_text(r));
}

} // namespace

Result<Batch> build_replace(const Ruleset &rs, uint32_t first_seq)
{
	if (Status st = validate(rs); !st)
		return st.error();
	Batch b;
	b.table = "inet " + rs.table;
	// Room for the element lists at once (a key and 16 bytes of attribute
	// headers each, interval ends twice), not regrown message by message.
	size_t element_bytes = 0;
	for (const auto &s : rs.sets)
		for (KeyType k : s.key)
			element_bytes += s.elements.size() * (key_len(k) + (s.interval ? 2 * 16 : 16));
	b.bytes.reserve(element_bytes + element_room + 64 * object_room / 16);
	BatchWriter w(b, first_seq);
	w.begin();
	add_table_messages(w, rs);
	for (size_t i = 0; i < rs.sets.size(); i++)
		add_set_message(w, rs, rs.sets[i], static_cast<uint32_t>(i + 1));
	for (size_t i = 0; i < rs.sets.size(); i++)
		add_element_messages(w, b, rs, rs.sets[i], static_cast<uint32_t>(i + 1));
	for (const auto &c : rs.chains)
		add_chain_message(w, rs, c);
	for (const auto &r : rs.rules)
		add_rule_message(w, rs, r);
	w.end();
	return b;
}

Batch build_delete(const std::string &table, uint32_t first_seq)
{
	Batch b;
	b.table = "inet " + table;
	BatchWriter w(b, first_seq);
	w.begin();
	auto t = make<TablePtr>(nftnl_table_alloc);
	nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table.c_str());
	nlmsghdr *nlh = w.start(NFT_MSG_DELTABLE, 0);
	nftnl_table_nlmsg_build_payload(nlh, t.get());
	w.finish(nlh, "delete table inet " + table);
	w.end();
	return b;
}

namespace {

// The NFNL_BATCH_GENID attribute of the BATCH_BEGIN message, if any.
nlattr *genid_attr(Batch &b)
{
	if (b.bytes.size() < sizeof(nlmsghdr))
		return nullptr;
	auto *nlh = reinterpret_cast<nlmsghdr *>(b.bytes.data());
	auto *attr = static_cast<nlattr *>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
	const char *tail = static_cast<const char *>(mnl_nlmsg_get_payload_tail(nlh));
	for (; mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<char *>(attr))); attr = mnl_attr_next(attr))
		if (mnl_attr_get_type(attr) == NFNL_BATCH_GENID)
			return attr;
	return nullptr;
}

} // namespace

void set_generation(Batch &b, uint32_t genid)
{
	if (nlattr *a = genid_attr(b)) {
		uint32_t be = htonl(genid);
		std::memcpy(mnl_attr_get_payload(a), &be, sizeof(be));
	}
}

uint32_t generation(const Batch &b)
{
	nlattr *a = genid_attr(const_cast<Batch &>(b));
	return a ? ntohl(mnl_attr_get_u32(a)) : 0;
}

std::string Batch::describe(uint32_t seq, uint32_t offset) const
{
	auto w = what.find(seq);
	std::string out = w == what.end() ? "message " + std::to_string(seq) + " (not in this batch)" : w->second;
	auto e = elements.find(seq);
	if (e == elements.end() || offset == 0)
		return out;
	// The kernel points at the element's attribute, or inside it.
	const ElementOrigin *hit = nullptr;
	for (const auto &o : e->second)
		if (o.offset <= offset)
			hit = &o;
	return hit ? out + ": element " + hit->text : out;
}

} // namespace steer::nft
