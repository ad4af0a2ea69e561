#include "set_elements.hpp"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>

#include <algorithm>
#include <new>

#include "nftnl_ptr.hpp"

namespace steer::nft {

namespace {

// The element list is one attribute with a 16-bit length: a message stops
// adding elements before its list reaches this, and reserves this much
// more for the last element and the header (libnftnl writes unchecked).
constexpr size_t list_limit = 60 * 1024;
constexpr size_t room = list_limit + 4096;

size_t key_len(KeyType t) { return t == KeyType::ipv4_addr ? 4 : 16; }

// One kernel element: key, optional key end, flags.
struct Piece {
	std::vector<uint8_t> key, key_end;
	uint32_t flags = 0;
	std::string origin;
};

void prefix_bounds(const config::Cidr &c, size_t len, std::vector<uint8_t> &lo, std::vector<uint8_t> &hi)
{
	lo.assign(len, 0);
	hi.assign(len, 0);
	for (size_t i = 0; i < len; i++) {
		int bits = std::clamp(c.prefix - static_cast<int>(i * 8), 0, 8);
		auto mask = static_cast<uint8_t>(0xff00 >> bits);
		lo[i] = c.address.bytes[i] & mask;
		hi[i] = lo[i] | static_cast<uint8_t>(~mask);
	}
}

bool fits(const std::vector<KeyType> &key, const Element &e)
{
	if (e.fields.size() != key.size())
		return false;
	for (size_t i = 0; i < key.size(); i++)
		if ((key[i] == KeyType::ipv4_addr) != (e.fields[i].address.family == AF_INET))
			return false;
	return true;
}

// As nft sends an element: a single-field interval is its start and the
// first address after it (flagged interval end), omitted when the prefix
// reaches the last address; a concatenation (pipapo) is key and key end.
void append_pieces(const std::vector<KeyType> &key, const Element &e, std::vector<Piece> &out)
{
	std::string text = to_text(e);
	std::vector<uint8_t> lo, hi;
	if (key.size() == 1) {
		prefix_bounds(e.fields[0], key_len(key[0]), lo, hi);
		out.push_back({lo, {}, 0, text});
		size_t i = hi.size();
		while (i-- > 0)
			if (++hi[i] != 0)
				break;
		if (i != static_cast<size_t>(-1))   // no wrap: the range has an end
			out.push_back({hi, {}, NFT_SET_ELEM_INTERVAL_END, text});
		return;
	}
	Piece p{{}, {}, 0, text};
	for (size_t f = 0; f < key.size(); f++) {
		prefix_bounds(e.fields[f], key_len(key[f]), lo, hi);
		p.key.insert(p.key.end(), lo.begin(), lo.end());
		p.key_end.insert(p.key_end.end(), hi.begin(), hi.end());
	}
	out.push_back(std::move(p));
}

ElemPtr make_elem(const Piece &p)
{
	ElemPtr e(nftnl_set_elem_alloc());
	if (!e)
		throw std::bad_alloc();
	nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY, p.key.data(), p.key.size());
	if (!p.key_end.empty())
		nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY_END, p.key_end.data(), p.key_end.size());
	if (p.flags)
		nftnl_set_elem_set_u32(e.get(), NFTNL_SET_ELEM_FLAGS, p.flags);
	return e;
}

// Appends messages to a batch, each with the next sequence number.
class Writer {
public:
	Writer(Batch &b, uint32_t seq) : b_(b), seq_(seq) {}

	nlmsghdr *start(uint16_t type, uint16_t flags, const std::string &table, const std::string &set)
	{
		off_ = b_.bytes.size();
		b_.bytes.resize(off_ + room);
		auto *buf = reinterpret_cast<char *>(b_.bytes.data() + off_);
		nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags | NLM_F_ACK, seq_);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table.c_str());
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set.c_str());
		return nlh;
	}
	void finish(nlmsghdr *nlh, std::string what)
	{
		b_.what[nlh->nlmsg_seq] = std::move(what);
		b_.bytes.resize(off_ + NLMSG_ALIGN(nlh->nlmsg_len));
		seq_++;
	}
	void frame(bool begin)
	{
		off_ = b_.bytes.size();
		b_.bytes.resize(off_ + 64);
		auto *buf = reinterpret_cast<char *>(b_.bytes.data() + off_);
		if (begin) {
			nlmsghdr *nlh = nftnl_batch_begin(buf, seq_);
			mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(0));
			b_.begin_seq = seq_;
			finish(nlh, "the batch as a whole (generation check or commit)");
			return;
		}
		nlmsghdr *nlh = nftnl_batch_end(buf, seq_);
		b_.end_seq = seq_;
		b_.bytes.resize(off_ + NLMSG_ALIGN(nlh->nlmsg_len));
		seq_++;
	}

private:
	Batch &b_;
	uint32_t seq_;
	size_t off_ = 0;
};

// NEWSETELEM (add) or DELSETELEM (remove) messages for `pieces`, split
// where the element list would outgrow its 16-bit length.
void element_messages(Writer &w, Batch &b, const std::string &table, const std::string &set,
	const std::vector<Piece> &pieces, bool add)
{
	size_t next = 0;
	while (next < pieces.size()) {
		nlmsghdr *nlh = w.start(add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
			add ? NLM_F_CREATE : 0, table, set);
		nlattr *list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		const size_t list_start = reinterpret_cast<char *>(list) - reinterpret_cast<char *>(nlh);
		std::vector<ElementOrigin> origins;
		size_t first = next;
		while (next < pieces.size() && nlh->nlmsg_len - list_start < list_limit) {
			auto elem = make_elem(pieces[next]);
			origins.push_back({nlh->nlmsg_len, pieces[next].origin});
			nftnl_set_elem_nlmsg_build(nlh, elem.get(), NFTA_LIST_ELEM);
			next++;
		}
		mnl_attr_nest_end(nlh, list);
		b.elements[nlh->nlmsg_seq] = std::move(origins);
		w.finish(nlh, std::string(add ? "add elements to set " : "delete elements from set ") + set +
			" (" + std::to_string(next - first) + " kernel elements)");
	}
}

Result<std::vector<Piece>> pieces_of(const SetChange &c, const std::vector<Element> &list)
{
	std::vector<Piece> out;
	out.reserve(2 * list.size());
	for (const auto &e : list) {
		if (!fits(c.key, e))
			return plain_error("element " + to_text(e) + " does not fit the key of set " + c.set);
		append_pieces(c.key, e, out);
	}
	return out;
}

} // namespace

size_t kernel_elements(const std::vector<KeyType> &key, const Element &e)
{
	std::vector<Piece> out;
	append_pieces(key, e, out);
	return out.size();
}

Result<Batch> build_set_update(const std::string &table, const std::vector<SetChange> &changes,
	uint32_t first_seq)
{
	Batch b;
	b.table = "inet " + table;
	Writer w(b, first_seq);
	w.frame(true);
	// Removals before additions: an element that moves (remove + add of
	// the same key in one update) ends up present.
	for (const auto &c : changes) {
		if (c.flush) {
			nlmsghdr *nlh = w.start(NFT_MSG_DELSETELEM, 0, table, c.set);
			w.finish(nlh, "flush set " + c.set);   // no element list: every element
		}
		auto del = pieces_of(c, c.remove);
		if (!del)
			return del.error();
		element_messages(w, b, table, c.set, *del, false);
	}
	for (const auto &c : changes) {
		auto add = pieces_of(c, c.add);
		if (!add)
			return add.error();
		element_messages(w, b, table, c.set, *add, true);
	}
	w.frame(false);
	return b;
}

} // namespace steer::nft
