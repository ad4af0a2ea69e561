#include "rule_expr.hpp"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <new>
#include <vector>

#include "nftnl_ptr.hpp"

namespace steer::nft {

namespace {

// nft's register numbering: a 32-bit slot index is written as a 128-bit
// register when it starts one (reg 1, reg 2, ...), else as NFT_REG32_xx.
uint32_t reg32(uint32_t slot)
{
	return slot % 4 == 0 ? NFT_REG_1 + slot / 4 : NFT_REG32_00 + slot;
}

// Offsets of the address fields in the IPv4 and IPv6 headers.
uint32_t addr_offset(int family, Addr a)
{
	if (family == AF_INET)
		return a == Addr::saddr ? 12 : 16;
	return a == Addr::saddr ? 8 : 24;
}

class Encoder {
public:
	Encoder(nftnl_rule *rule, const Ruleset &rs) : rule_(rule), rs_(rs) {}

	void operator()(const expr::L4proto &e) { match_byte(NFT_META_L4PROTO, e.proto); }
	void operator()(const expr::Port &e);
	void operator()(const expr::Ipsec &e);
	void operator()(const expr::Address &e);
	void operator()(const expr::InSet &e);
	void operator()(const expr::Oifname &e);
	void operator()(const expr::Counter &) { add(make("counter")); }
	void operator()(const expr::Verdict &e);
	void operator()(const expr::Masquerade &) { add(make("masq")); }

private:
	static ExprPtr make(const char *name)
	{
		nftnl_expr *e = nftnl_expr_alloc(name);
		if (!e)
			throw std::bad_alloc();
		return ExprPtr(e);
	}
	void add(ExprPtr e) { nftnl_rule_add_expr(rule_, e.release()); }

	void meta(uint32_t key)
	{
		auto e = make("meta");
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_DREG, NFT_REG_1);
		add(std::move(e));
	}
	void cmp(uint32_t op, const void *data, uint32_t len)
	{
		auto e = make("cmp");
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e.get(), NFTNL_EXPR_CMP_DATA, data, len);
		add(std::move(e));
	}
	void payload(uint32_t base, uint32_t offset, uint32_t len, uint32_t slot = 0)
	{
		auto e = make("payload");
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_DREG, reg32(slot));
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_LEN, len);
		add(std::move(e));
	}
	// reg &= the mask of a prefix length, in place (as nft: `bitwise reg 9 =
	// (reg 9 & 0x00ffffff) ^ 0x00000000` for `ip daddr & 255.255.255.0`).
	void mask(uint32_t slot, uint32_t len, int prefix)
	{
		std::array<uint8_t, 16> m{}, zero{};
		for (uint32_t i = 0; i < len; i++) {
			int bits = std::clamp(prefix - static_cast<int>(i * 8), 0, 8);
			m[i] = static_cast<uint8_t>(0xff00 >> bits);
		}
		auto bw = make("bitwise");
		nftnl_expr_set_u32(bw.get(), NFTNL_EXPR_BITWISE_SREG, reg32(slot));
		nftnl_expr_set_u32(bw.get(), NFTNL_EXPR_BITWISE_DREG, reg32(slot));
		nftnl_expr_set_u32(bw.get(), NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(bw.get(), NFTNL_EXPR_BITWISE_MASK, m.data(), len);
		nftnl_expr_set(bw.get(), NFTNL_EXPR_BITWISE_XOR, zero.data(), len);
		add(std::move(bw));
	}
	// meta KEY == value, for one-byte keys (l4proto, nfproto).
	void match_byte(uint32_t key, uint8_t value)
	{
		meta(key);
		cmp(NFT_CMP_EQ, &value, 1);
	}
	// An address match in an inet table needs the family first, once.
	void family(int af)
	{
		if (family_ == af)
			return;
		match_byte(NFT_META_NFPROTO, af == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6);
		family_ = af;
	}

	nftnl_rule *rule_;
	const Ruleset &rs_;
	int family_ = 0;
};

void Encoder::operator()(const expr::Port &e)
{
	match_byte(NFT_META_L4PROTO, e.proto);
	payload(NFT_PAYLOAD_TRANSPORT_HEADER, e.dport ? 2 : 0, 2);
	uint16_t port = htons(e.port);
	cmp(NFT_CMP_EQ, &port, sizeof(port));
}

// Both are one-byte booleans: the packet's secpath (it was decrypted) and
// the route's xfrm bundle (it is about to be encrypted).
void Encoder::operator()(const expr::Ipsec &e)
{
	if (e.outbound) {
		auto rt = make("rt");
		nftnl_expr_set_u32(rt.get(), NFTNL_EXPR_RT_KEY, NFT_RT_XFRM);
		nftnl_expr_set_u32(rt.get(), NFTNL_EXPR_RT_DREG, NFT_REG_1);
		add(std::move(rt));
	} else {
		meta(NFT_META_SECPATH);
	}
	uint8_t value = e.exists ? 1 : 0;
	cmp(NFT_CMP_EQ, &value, 1);
}

// As nft: a whole-byte prefix loads just its bytes; any other prefix loads
// the address and masks it.
void Encoder::operator()(const expr::Address &e)
{
	const int af = e.cidr.address.family;
	const uint32_t len = af == AF_INET ? 4 : 16;
	const uint32_t offset = addr_offset(af, e.addr);
	const int p = e.cidr.prefix;
	family(af);
	if (p > 0 && p % 8 == 0) {
		payload(NFT_PAYLOAD_NETWORK_HEADER, offset, p / 8);
		cmp(NFT_CMP_EQ, e.cidr.address.bytes.data(), p / 8);
		return;
	}
	std::array<uint8_t, 16> value{};
	for (uint32_t i = 0; i < len; i++) {
		int bits = std::clamp(p - static_cast<int>(i * 8), 0, 8);
		value[i] = e.cidr.address.bytes[i] & static_cast<uint8_t>(0xff00 >> bits);
	}
	payload(NFT_PAYLOAD_NETWORK_HEADER, offset, len);
	mask(0, len, p);
	cmp(NFT_CMP_EQ, value.data(), len);
}

// The fields are loaded into consecutive registers, forming the
// concatenated key the set is looked up with; a field of a set of network
// addresses is masked in its register to the set's prefix length.
void Encoder::operator()(const expr::InSet &e)
{
	uint32_t slot = 0;
	for (const auto &f : e.fields) {
		int af = f.type == KeyType::ipv4_addr ? AF_INET : AF_INET6;
		family(af);
		uint32_t len = af == AF_INET ? 4 : 16;
		payload(NFT_PAYLOAD_NETWORK_HEADER, addr_offset(af, f.addr), len, slot);
		if (f.prefix >= 0)
			mask(slot, len, f.prefix);
		slot += len / 4;
	}
	uint32_t set_id = 0;
	for (size_t i = 0; i < rs_.sets.size(); i++)
		if (rs_.sets[i].name == e.set)
			set_id = static_cast<uint32_t>(i + 1);
	auto lookup = make("lookup");
	nftnl_expr_set_u32(lookup.get(), NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(lookup.get(), NFTNL_EXPR_LOOKUP_SET, e.set.c_str());
	nftnl_expr_set_u32(lookup.get(), NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	add(std::move(lookup));
}

// An exact name match compares all IFNAMSIZ bytes, zero padded.
void Encoder::operator()(const expr::Oifname &e)
{
	std::array<char, IFNAMSIZ> name{};
	std::copy_n(e.name.begin(), std::min(e.name.size(), name.size() - 1), name.begin());
	meta(NFT_META_OIFNAME);
	cmp(e.negate ? NFT_CMP_NEQ : NFT_CMP_EQ, name.data(), name.size());
}

void Encoder::operator()(const expr::Verdict &e)
{
	auto imm = make("immediate");
	nftnl_expr_set_u32(imm.get(), NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(imm.get(), NFTNL_EXPR_IMM_VERDICT,
		e.kind == expr::Verdict::accept ? NF_ACCEPT : NF_DROP);
	add(std::move(imm));
}

} // namespace

void add_rule_expressions(nftnl_rule *rule, const Ruleset &rs, const Rule &r)
{
	Encoder enc(rule, rs);
	for (const auto &e : r.exprs)
		std::visit(enc, e);
}

} // namespace steer::nft
