#include "set_elements.hpp"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>

#include <algorithm>
#include <new>

#include "batch_writer.hpp"
#include "nftnl_ptr.hpp"

namespace steer::nft {

namespace {

// The element list is one attribute with a 16-bit length: a message stops
// adding elements before its list reaches this, and reserves this much
// more for the last element and the header (libnftnl writes unchecked).
constexpr size_t list_limit = 60 * 1024;
constexpr size_t room = list_limit + 4096;

size_t key_len(KeyType t) { return t == KeyType::ipv4_addr ? 4 : 16; }

// One kernel element: its key.
struct Piece {
	std::vector<uint8_t> key;
	std::string origin;
};

bool fits(const std::vector<KeyType> &key, const Element &e)
{
	if (e.fields.size() != key.size())
		return false;
	for (size_t i = 0; i < key.size(); i++)
		if ((key[i] == KeyType::ipv4_addr) != (e.fields[i].address.family == AF_INET))
			return false;
	return true;
}

// A hash set's key: each field's first address (a subnet's network address).
Piece piece_of(const std::vector<KeyType> &key, const Element &e)
{
	Piece p{{}, to_text(e)};
	for (size_t f = 0; f < key.size(); f++) {
		const config::Cidr &c = e.fields[f];
		for (size_t i = 0; i < key_len(key[f]); i++) {
			int bits = std::clamp(c.prefix - static_cast<int>(i * 8), 0, 8);
			p.key.push_back(c.address.bytes[i] & static_cast<uint8_t>(0xff00 >> bits));
		}
	}
	return p;
}

// A set-element message of `set`, `room` reserved for its element list.
nlmsghdr *start_elements(BatchWriter &w, uint16_t type, uint16_t flags, const std::string &table,
			 const std::string &set)
{
	nlmsghdr *nlh = w.start(type, flags, room);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table.c_str());
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set.c_str());
	return nlh;
}

// NEWSETELEM (add) or DELSETELEM (remove) messages for `pieces`, split
// where the element list would outgrow its 16-bit length.
void element_messages(BatchWriter &w, Batch &b, const std::string &table, const std::string &set,
	std::vector<Piece> &pieces, bool add)
{
	size_t next = 0;
	while (next < pieces.size()) {
		nlmsghdr *nlh = start_elements(w, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			add ? NLM_F_CREATE : 0, table, set);
		nlattr *list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		const size_t list_start = reinterpret_cast<char *>(list) - reinterpret_cast<char *>(nlh);
		std::vector<ElementOrigin> origins;
		size_t first = next;
		while (next < pieces.size() && nlh->nlmsg_len - list_start < list_limit) {
			origins.push_back({nlh->nlmsg_len, std::move(pieces[next].origin)});
			put_key_element(nlh, pieces[next].key);
			next++;
		}
		mnl_attr_nest_end(nlh, list);
		b.elements[nlh->nlmsg_seq] = std::move(origins);
		w.finish(nlh, std::string(add ? "add elements to set " : "delete elements from set ") + set +
			" (" + std::to_string(next - first) + " kernel elements)");
	}
}

// The kernel sets a change touches and the elements of each, in order
// of first appearance.
struct Target {
	Set set;                       // name, key, prefix
	std::vector<Piece> pieces;
};

Result<std::vector<Target>> targets_of(const SetChange &c, const std::vector<Element> &list)
{
	std::vector<Target> out;
	for (const auto &e : list) {
		if (!fits(c.key, e))
			return plain_error("element " + to_text(e) + " does not fit the key of set " + c.set);
		std::string name = element_set(c.set, e);
		auto t = std::find_if(out.begin(), out.end(), [&](const Target &x) { return x.set.name == name; });
		if (t == out.end()) {
			Set s = is_prefix_group(c.set) ? prefix_set(c.set, e.fields.back().prefix)
						       : Set{c.set, c.key, {}, {}};
			out.push_back({std::move(s), {}});
			t = out.end() - 1;
		}
		t->pieces.push_back(piece_of(c.key, e));
	}
	return out;
}

// NEWSET without NLM_F_EXCL: creates the set, or does nothing to an
// identical one.
void ensure_set(BatchWriter &w, const std::string &table, const Set &s)
{
	nlmsghdr *nlh = w.start(NFT_MSG_NEWSET, NLM_F_CREATE);
	put_set(nlh, table, s, 0);
	w.finish(nlh, "add set " + s.name + " (if absent)");
}

// Every set of a group goes: the set of each prefix length is created if
// absent, then deleted.
void drop_group(BatchWriter &w, const std::string &table, const SetChange &c)
{
	const int max = c.key.back() == KeyType::ipv4_addr ? 32 : 128;
	for (int len = 0; len <= max; len++) {
		Set s = prefix_set(c.set, len);
		ensure_set(w, table, s);
		nlmsghdr *nlh = w.start(NFT_MSG_DELSET, 0);
		auto set = SetPtr(nftnl_set_alloc());
		if (!set)
			throw std::bad_alloc();
		nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, table.c_str());
		nftnl_set_set_str(set.get(), NFTNL_SET_NAME, s.name.c_str());
		nftnl_set_nlmsg_build_payload(nlh, set.get());
		w.finish(nlh, "delete set " + s.name + " (flush of " + c.set + ")");
	}
}

} // namespace

size_t kernel_elements(const std::vector<KeyType> &, const Element &)
{
	return 1;
}

Result<Batch> build_set_update(const std::string &table, const std::vector<SetChange> &changes,
	uint32_t first_seq)
{
	Batch b;
	b.table = "inet " + table;
	BatchWriter w(b, first_seq);
	w.begin();
	// Removals before additions: an element that moves (remove + add of
	// the same key in one update) ends up present.
	for (const auto &c : changes) {
		if (c.flush && is_prefix_group(c.set)) {
			drop_group(w, table, c);
		} else if (c.flush) {
			nlmsghdr *nlh = start_elements(w, NFT_MSG_DELSETELEM, 0, table, c.set);
			w.finish(nlh, "flush set " + c.set);   // no element list: every element
		}
		auto del = targets_of(c, c.remove);
		if (!del)
			return del.error();
		for (auto &t : *del)
			element_messages(w, b, table, t.set.name, t.pieces, false);
	}
	for (const auto &c : changes) {
		auto add = targets_of(c, c.add);
		if (!add)
			return add.error();
		for (auto &t : *add) {
			if (is_prefix_group(c.set))
				ensure_set(w, table, t.set);
			element_messages(w, b, table, t.set.name, t.pieces, true);
		}
	}
	w.end();
	return b;
}

} // namespace steer::nft
