// Serialization of PacketBuilder layers, innermost first. Fields follow
// RFC 791 (IPv4), 8200 (IPv6), 768 (UDP), 9293 (TCP), 4303 (ESP), 4302 (AH),
// 7296 (IKEv2), 3948 (NAT-T), 792 and 4443 (ICMP, ICMPv6).
#include "packet_builder.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace steer::test {

namespace {

void put_be16(Bytes &out, uint16_t v)
{
	out.push_back(static_cast<uint8_t>(v >> 8));
	out.push_back(static_cast<uint8_t>(v));
}

void put_be32(Bytes &out, uint32_t v)
{
	put_be16(out, static_cast<uint16_t>(v >> 16));
	put_be16(out, static_cast<uint16_t>(v));
}

void put_be64(Bytes &out, uint64_t v)
{
	put_be32(out, static_cast<uint32_t>(v >> 32));
	put_be32(out, static_cast<uint32_t>(v));
}

void set_be16(Bytes &out, size_t off, uint16_t v)
{
	out[off] = static_cast<uint8_t>(v >> 8);
	out[off + 1] = static_cast<uint8_t>(v);
}

void append(Bytes &out, const Bytes &more)
{
	out.insert(out.end(), more.begin(), more.end());
}

template <typename Array>
void append(Bytes &out, const Array &more)
{
	out.insert(out.end(), more.begin(), more.end());
}

// The sum of the IPv4 or IPv6 pseudo-header (RFC 768, RFC 8200 8.1), to
// seed an upper-layer checksum. Zero when there is no enclosing IP layer.
uint32_t pseudo_header_sum(const Ipv4Options *v4, const Ipv6Options *v6, uint8_t proto,
			   size_t upper_len)
{
	Bytes pseudo;
	if (v4 != nullptr) {
		append(pseudo, v4->src);
		append(pseudo, v4->dst);
		pseudo.push_back(0);
		pseudo.push_back(proto);
		put_be16(pseudo, static_cast<uint16_t>(upper_len));
	} else if (v6 != nullptr) {
		append(pseudo, v6->src);
		append(pseudo, v6->dst);
		put_be32(pseudo, static_cast<uint32_t>(upper_len));
		put_be32(pseudo, proto);
	}
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < pseudo.size(); i += 2)
		sum += static_cast<uint32_t>(pseudo[i] << 8 | pseudo[i + 1]);
	return sum;
}

} // namespace

// ---- addresses ---------------------------------------------------------

Ipv4Addr ipv4_addr(std::string_view text)
{
	Ipv4Addr a{};
	std::string s(text);
	if (inet_pton(AF_INET, s.c_str(), a.data()) != 1)
		throw std::invalid_argument("not an IPv4 address: " + s);
	return a;
}

Ipv6Addr ipv6_addr(std::string_view text)
{
	Ipv6Addr a{};
	std::string s(text);
	if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1)
		throw std::invalid_argument("not an IPv6 address: " + s);
	return a;
}

IpAddress ip_addr(std::string_view text)
{
	if (text.find(':') != std::string_view::npos)
		return ip_addr(ipv6_addr(text));
	return ip_addr(ipv4_addr(text));
}

IpAddress ip_addr(const Ipv4Addr &a)
{
	IpAddress ip;
	ip.family = STEER_FAMILY_IPV4;
	std::copy(a.begin(), a.end(), ip.bytes.begin());
	return ip;
}

IpAddress ip_addr(const Ipv6Addr &a)
{
	IpAddress ip;
	ip.family = STEER_FAMILY_IPV6;
	std::copy(a.begin(), a.end(), ip.bytes.begin());
	return ip;
}

Ipv4Addr to_ipv4(const IpAddress &a)
{
	Ipv4Addr v4{};
	std::copy_n(a.bytes.begin(), 4, v4.begin());
	return v4;
}

Ipv6Addr to_ipv6(const IpAddress &a)
{
	return a.bytes;
}

std::string to_string(const IpAddress &a)
{
	char text[INET6_ADDRSTRLEN] = {};
	int af = a.family == STEER_FAMILY_IPV6 ? AF_INET6 : AF_INET;
	inet_ntop(af, a.bytes.data(), text, sizeof(text));
	return text;
}

steer_addr to_steer_addr(const IpAddress &a)
{
	// Both are the address bytes in network order; IPv4 in the first word.
	steer_addr s{};
	std::memcpy(&s, a.bytes.data(), sizeof(s));
	return s;
}

IpAddress from_steer_addr(uint8_t family, const steer_addr &a)
{
	IpAddress ip;
	ip.family = family;
	std::memcpy(ip.bytes.data(), &a, sizeof(a));
	if (family == STEER_FAMILY_IPV4)
		std::fill(ip.bytes.begin() + 4, ip.bytes.end(), 0);
	return ip;
}

uint16_t internet_checksum(const uint8_t *data, size_t len, uint32_t initial_sum)
{
	uint64_t sum = initial_sum;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
	if (len % 2 == 1)
		sum += static_cast<uint32_t>(data[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return static_cast<uint16_t>(~sum);
}

// ---- BuiltFrame ----------------------------------------------------------

std::optional<LayerSpan> BuiltFrame::find(LayerKind kind) const
{
	for (const LayerSpan &span : layers)
		if (span.kind == kind)
			return span;
	return std::nullopt;
}

// ---- fluent layer calls ------------------------------------------------

PacketBuilder &PacketBuilder::eth(EthOptions opts)
{
	layers_.push_back(EthLayer{opts, {}});
	return *this;
}

PacketBuilder &PacketBuilder::vlan(uint16_t vid, uint16_t tpid, uint8_t pcp)
{
	if (layers_.empty() || !std::holds_alternative<EthLayer>(layers_.back()))
		throw std::logic_error("vlan() must follow eth()");
	uint16_t tci = static_cast<uint16_t>((pcp & 7) << 13 | (vid & 0x0fff));
	std::get<EthLayer>(layers_.back()).tags.push_back({tpid, tci});
	return *this;
}

PacketBuilder &PacketBuilder::ipv4(Ipv4Options opts)
{
	layers_.push_back(Ipv4Layer{std::move(opts)});
	return *this;
}

PacketBuilder &PacketBuilder::ipv4(std::string_view src, std::string_view dst)
{
	Ipv4Options opts;
	opts.src = ipv4_addr(src);
	opts.dst = ipv4_addr(dst);
	return ipv4(std::move(opts));
}

PacketBuilder &PacketBuilder::ipv6(Ipv6Options opts)
{
	layers_.push_back(Ipv6Layer{opts});
	return *this;
}

PacketBuilder &PacketBuilder::ipv6(std::string_view src, std::string_view dst)
{
	Ipv6Options opts;
	opts.src = ipv6_addr(src);
	opts.dst = ipv6_addr(dst);
	return ipv6(opts);
}

PacketBuilder &PacketBuilder::ip(const IpAddress &src, const IpAddress &dst)
{
	if (src.family == STEER_FAMILY_IPV6) {
		Ipv6Options opts;
		opts.src = to_ipv6(src);
		opts.dst = to_ipv6(dst);
		return ipv6(opts);
	}
	Ipv4Options opts;
	opts.src = to_ipv4(src);
	opts.dst = to_ipv4(dst);
	return ipv4(std::move(opts));
}

PacketBuilder &PacketBuilder::ipv6_ext(Ipv6ExtOptions opts)
{
	if (opts.total_bytes < 8 || opts.total_bytes % 8 != 0 || opts.total_bytes > 2048)
		throw std::invalid_argument("IPv6 extension header length must be 8..2048, a multiple of 8");
	layers_.push_back(Ipv6ExtLayer{opts});
	return *this;
}

PacketBuilder &PacketBuilder::hop_by_hop(size_t total_bytes)
{
	return ipv6_ext({.kind = ipproto::hop_by_hop, .total_bytes = total_bytes});
}

PacketBuilder &PacketBuilder::routing(size_t total_bytes)
{
	return ipv6_ext({.kind = ipproto::routing, .total_bytes = total_bytes});
}

PacketBuilder &PacketBuilder::dest_opts(size_t total_bytes)
{
	return ipv6_ext({.kind = ipproto::dest_opts, .total_bytes = total_bytes});
}

PacketBuilder &PacketBuilder::ipv6_fragment(Ipv6FragmentOptions opts)
{
	layers_.push_back(Ipv6FragLayer{opts});
	return *this;
}

PacketBuilder &PacketBuilder::udp(UdpOptions opts)
{
	layers_.push_back(UdpLayer{opts});
	return *this;
}

PacketBuilder &PacketBuilder::udp(uint16_t sport, uint16_t dport)
{
	return udp(UdpOptions{.sport = sport, .dport = dport});
}

PacketBuilder &PacketBuilder::tcp(TcpOptions opts)
{
	layers_.push_back(TcpLayer{opts});
	return *this;
}

PacketBuilder &PacketBuilder::esp(EspOptions opts)
{
	layers_.push_back(EspLayer{std::move(opts)});
	return *this;
}

PacketBuilder &PacketBuilder::esp(uint32_t spi, uint32_t seq, size_t payload_len)
{
	Bytes payload(payload_len);
	for (size_t i = 0; i < payload_len; i++)
		payload[i] = static_cast<uint8_t>(0xa5 ^ i);
	return esp(EspOptions{.spi = spi, .seq = seq, .payload = std::move(payload)});
}

PacketBuilder &PacketBuilder::ah(AhOptions opts)
{
	layers_.push_back(AhLayer{opts});
	return *this;
}

PacketBuilder &PacketBuilder::ike(IkeOptions opts)
{
	layers_.push_back(IkeLayer{std::move(opts)});
	return *this;
}

PacketBuilder &PacketBuilder::non_esp_marker()
{
	return raw({0, 0, 0, 0});
}

PacketBuilder &PacketBuilder::natt_ike(IkeOptions opts)
{
	non_esp_marker();
	return ike(std::move(opts));
}

PacketBuilder &PacketBuilder::natt_keepalive()
{
	return raw({0xff});
}

PacketBuilder &PacketBuilder::icmp(IcmpOptions opts, Bytes body)
{
	layers_.push_back(IcmpLayer{opts, std::move(body)});
	return *this;
}

PacketBuilder &PacketBuilder::icmp_error(IcmpOptions opts, const PacketBuilder &inner,
					 std::optional<size_t> quote_limit)
{
	Bytes quote = inner.build();
	if (quote_limit && quote.size() > *quote_limit)
		quote.resize(*quote_limit);
	return icmp(opts, std::move(quote));
}

PacketBuilder &PacketBuilder::raw(Bytes bytes, std::optional<uint8_t> proto)
{
	layers_.push_back(RawLayer{std::move(bytes), proto});
	return *this;
}

PacketBuilder &PacketBuilder::trailer(Bytes bytes)
{
	append(trailer_, bytes);
	return *this;
}

PacketBuilder &PacketBuilder::pad_to(size_t n)
{
	pad_to_ = n;
	return *this;
}

// ---- serialization -----------------------------------------------------

LayerKind PacketBuilder::kind_of(const Layer &layer)
{
	// The variant's alternatives are listed in LayerKind's order.
	return static_cast<LayerKind>(layer.index());
}

const PacketBuilder::Layer *PacketBuilder::nearest_ip_before(size_t end) const
{
	for (size_t j = end; j-- > 0;) {
		LayerKind k = kind_of(layers_[j]);
		if (k == LayerKind::ipv4 || k == LayerKind::ipv6)
			return &layers_[j];
	}
	return nullptr;
}

PacketBuilder::Context PacketBuilder::context_of(size_t i) const
{
	Context ctx;
	ctx.enclosing_ip = nearest_ip_before(i);
	if (i + 1 >= layers_.size())
		return ctx;
	const Layer &next = layers_[i + 1];
	switch (kind_of(next)) {
	case LayerKind::ipv4:
		ctx.next_proto = ipproto::ipip;
		ctx.next_ethertype = ethertype::ipv4;
		break;
	case LayerKind::ipv6:
		ctx.next_proto = ipproto::ipv6;
		ctx.next_ethertype = ethertype::ipv6;
		break;
	case LayerKind::ipv6_ext: ctx.next_proto = std::get<Ipv6ExtLayer>(next).opts.kind; break;
	case LayerKind::ipv6_fragment: ctx.next_proto = ipproto::fragment; break;
	case LayerKind::udp: ctx.next_proto = ipproto::udp; break;
	case LayerKind::tcp: ctx.next_proto = ipproto::tcp; break;
	case LayerKind::esp: ctx.next_proto = ipproto::esp; break;
	case LayerKind::ah: ctx.next_proto = ipproto::ah; break;
	case LayerKind::icmp: {
		// ICMP's number is that of the IP family it travels in.
		const Layer *ip = nearest_ip_before(i + 1);
		if (ip != nullptr)
			ctx.next_proto = std::holds_alternative<Ipv6Layer>(*ip) ? ipproto::icmpv6 : ipproto::icmp;
		break;
	}
	case LayerKind::raw: ctx.next_proto = std::get<RawLayer>(next).proto; break;
	default: break; // ethernet, IKE: no protocol number
	}
	return ctx;
}

Bytes PacketBuilder::wrap(const Layer &layer, const Context &ctx, const Bytes &inner)
{
	return std::visit(
		[&](const auto &l) -> Bytes {
			using T = std::decay_t<decltype(l)>;
			if constexpr (std::is_same_v<T, EthLayer>)
				return wrap_eth(l, ctx, inner);
			else if constexpr (std::is_same_v<T, Ipv4Layer>)
				return wrap_ipv4(l, ctx, inner);
			else if constexpr (std::is_same_v<T, Ipv6Layer>)
				return wrap_ipv6(l, ctx, inner);
			else if constexpr (std::is_same_v<T, Ipv6ExtLayer>)
				return wrap_ipv6_ext(l, ctx, inner);
			else if constexpr (std::is_same_v<T, Ipv6FragLayer>)
				return wrap_ipv6_frag(l, ctx, inner);
			else if constexpr (std::is_same_v<T, UdpLayer>)
				return wrap_udp(l, ctx, inner);
			else if constexpr (std::is_same_v<T, TcpLayer>)
				return wrap_tcp(l, ctx, inner);
			else if constexpr (std::is_same_v<T, EspLayer>)
				return wrap_esp(l, inner);
			else if constexpr (std::is_same_v<T, AhLayer>)
				return wrap_ah(l, ctx, inner);
			else if constexpr (std::is_same_v<T, IkeLayer>)
				return wrap_ike(l, inner);
			else if constexpr (std::is_same_v<T, IcmpLayer>)
				return wrap_icmp(l, ctx, inner);
			else {
				Bytes out = l.bytes;
				append(out, inner);
				return out;
			}
		},
		layer);
}

BuiltFrame PacketBuilder::build_layers() const
{
	// Serialize from the innermost layer out; each layer's header length is
	// what it added in front of the bytes it wrapped.
	Bytes packet;
	std::vector<size_t> header_lens(layers_.size());
	for (size_t i = layers_.size(); i-- > 0;) {
		size_t inner_size = packet.size();
		packet = wrap(layers_[i], context_of(i), packet);
		header_lens[i] = packet.size() - inner_size;
	}
	BuiltFrame frame;
	size_t offset = 0;
	for (size_t i = 0; i < layers_.size(); i++) {
		frame.layers.push_back({kind_of(layers_[i]), offset, header_lens[i]});
		offset += header_lens[i];
	}
	append(packet, trailer_);
	if (packet.size() < pad_to_)
		packet.resize(pad_to_, 0);
	frame.bytes = std::move(packet);
	return frame;
}

Bytes PacketBuilder::wrap_eth(const EthLayer &l, const Context &ctx, const Bytes &inner)
{
	Bytes out;
	append(out, l.opts.dst);
	append(out, l.opts.src);
	for (const auto &tag : l.tags) {
		put_be16(out, tag[0]);
		put_be16(out, tag[1]);
	}
	put_be16(out, l.opts.ethertype.value_or(ctx.next_ethertype.value_or(ethertype::local)));
	append(out, inner);
	return out;
}

Bytes PacketBuilder::wrap_ipv4(const Ipv4Layer &l, const Context &ctx, const Bytes &inner)
{
	const Ipv4Options &o = l.opts;
	Bytes options = o.options;
	while (options.size() % 4 != 0)
		options.push_back(0); // EOL
	size_t hdr_len = 20 + options.size();
	uint8_t ihl = o.ihl_words.value_or(static_cast<uint8_t>(hdr_len / 4));
	uint16_t frag = static_cast<uint16_t>((o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) |
					      (o.frag_offset & 0x1fff));
	Bytes out;
	out.push_back(static_cast<uint8_t>((o.version & 15) << 4 | (ihl & 15)));
	out.push_back(o.tos);
	put_be16(out, o.tot_len.value_or(static_cast<uint16_t>(hdr_len + inner.size())));
	put_be16(out, o.id);
	put_be16(out, frag);
	out.push_back(o.ttl);
	out.push_back(o.proto.value_or(ctx.next_proto.value_or(ipproto::experimental)));
	put_be16(out, 0); // checksum, below
	append(out, o.src);
	append(out, o.dst);
	append(out, options);
	set_be16(out, 10, o.checksum.value_or(internet_checksum(out.data(), out.size())));
	append(out, inner);
	return out;
}

Bytes PacketBuilder::wrap_ipv6(const Ipv6Layer &l, const Context &ctx, const Bytes &inner)
{
	const Ipv6Options &o = l.opts;
	uint32_t first_word = static_cast<uint32_t>(o.version & 15) << 28 |
			      static_cast<uint32_t>(o.traffic_class) << 20 | (o.flow_label & 0xfffff);
	Bytes out;
	put_be32(out, first_word);
	put_be16(out, o.payload_len.value_or(static_cast<uint16_t>(inner.size())));
	out.push_back(o.next_header.value_or(ctx.next_proto.value_or(ipproto::no_next)));
	out.push_back(o.hop_limit);
	append(out, o.src);
	append(out, o.dst);
	append(out, inner);
	return out;
}

Bytes PacketBuilder::wrap_ipv6_ext(const Ipv6ExtLayer &l, const Context &ctx, const Bytes &inner)
{
	const Ipv6ExtOptions &o = l.opts;
	Bytes out;
	out.push_back(o.next_header.value_or(ctx.next_proto.value_or(ipproto::no_next)));
	out.push_back(o.len_field.value_or(static_cast<uint8_t>(o.total_bytes / 8 - 1)));
	if (o.kind == ipproto::routing) {
		// An unassigned routing type with Segments Left 0 is skipped by
		// every node (RFC 8200 4.4), so it is harmless filler.
		out.push_back(253); // routing type
		out.push_back(0);   // segments left
	} else {
		// One PadN option fills the header (RFC 8200 4.2).
		out.push_back(1);
		out.push_back(static_cast<uint8_t>(o.total_bytes - 4));
	}
	out.resize(o.total_bytes, 0);
	append(out, inner);
	return out;
}

Bytes PacketBuilder::wrap_ipv6_frag(const Ipv6FragLayer &l, const Context &ctx, const Bytes &inner)
{
	const Ipv6FragmentOptions &o = l.opts;
	Bytes out;
	out.push_back(o.next_header.value_or(ctx.next_proto.value_or(ipproto::no_next)));
	out.push_back(0); // reserved
	put_be16(out, static_cast<uint16_t>((o.offset & 0x1fff) << 3 | (o.more ? 1 : 0)));
	put_be32(out, o.id);
	append(out, inner);
	return out;
}

Bytes PacketBuilder::wrap_udp(const UdpLayer &l, const Context &ctx, const Bytes &inner)
{
	const UdpOptions &o = l.opts;
	uint16_t length = o.length.value_or(static_cast<uint16_t>(8 + inner.size()));
	Bytes out;
	put_be16(out, o.sport);
	put_be16(out, o.dport);
	put_be16(out, length);
	put_be16(out, 0); // checksum, below
	append(out, inner);
	uint16_t sum = o.checksum.value_or(0);
	if (!o.checksum && ctx.enclosing_ip != nullptr) {
		const auto *v4 = std::get_if<Ipv4Layer>(ctx.enclosing_ip);
		const auto *v6 = std::get_if<Ipv6Layer>(ctx.enclosing_ip);
		uint32_t seed = pseudo_header_sum(v4 ? &v4->opts : nullptr, v6 ? &v6->opts : nullptr,
						  ipproto::udp, out.size());
		sum = internet_checksum(out.data(), out.size(), seed);
		if (sum == 0)
			sum = 0xffff; // 0 means "no checksum" (RFC 768)
	}
	set_be16(out, 6, sum);
	return out;
}

Bytes PacketBuilder::wrap_tcp(const TcpLayer &l, const Context &ctx, const Bytes &inner)
{
	const TcpOptions &o = l.opts;
	Bytes out;
	put_be16(out, o.sport);
	put_be16(out, o.dport);
	put_be32(out, o.seq);
	put_be32(out, 0);    // ack
	out.push_back(0x50); // data offset 5 words
	out.push_back(o.flags);
	put_be16(out, 65535); // window
	put_be16(out, 0);     // checksum, below
	put_be16(out, 0);     // urgent pointer
	append(out, inner);
	if (ctx.enclosing_ip != nullptr) {
		const auto *v4 = std::get_if<Ipv4Layer>(ctx.enclosing_ip);
		const auto *v6 = std::get_if<Ipv6Layer>(ctx.enclosing_ip);
		uint32_t seed = pseudo_header_sum(v4 ? &v4->opts : nullptr, v6 ? &v6->opts : nullptr,
						  ipproto::tcp, out.size());
		set_be16(out, 16, internet_checksum(out.data(), out.size(), seed));
	}
	return out;
}

Bytes PacketBuilder::wrap_esp(const EspLayer &l, const Bytes &inner)
{
	Bytes out;
	put_be32(out, l.opts.spi);
	put_be32(out, l.opts.seq);
	append(out, l.opts.payload);
	append(out, inner);
	return out;
}

Bytes PacketBuilder::wrap_ah(const AhLayer &l, const Context &ctx, const Bytes &inner)
{
	const AhOptions &o = l.opts;
	size_t hdr_len = 12 + o.icv_len;
	Bytes out;
	out.push_back(o.next_header.value_or(ctx.next_proto.value_or(ipproto::no_next)));
	out.push_back(o.payload_len_field.value_or(static_cast<uint8_t>(hdr_len / 4 - 2)));
	put_be16(out, 0); // reserved
	put_be32(out, o.spi);
	put_be32(out, o.seq);
	for (size_t i = 0; i < o.icv_len; i++)
		out.push_back(static_cast<uint8_t>(0x5a ^ i));
	append(out, inner);
	return out;
}

Bytes PacketBuilder::wrap_ike(const IkeLayer &l, const Bytes &inner)
{
	const IkeOptions &o = l.opts;
	Bytes out;
	put_be64(out, o.spi_i);
	put_be64(out, o.spi_r);
	out.push_back(o.next_payload);
	out.push_back(o.version);
	out.push_back(o.exchange);
	out.push_back(o.flags);
	put_be32(out, o.message_id);
	put_be32(out, o.length.value_or(static_cast<uint32_t>(28 + o.body.size() + inner.size())));
	append(out, o.body);
	append(out, inner);
	return out;
}

Bytes PacketBuilder::wrap_icmp(const IcmpLayer &l, const Context &ctx, const Bytes &inner)
{
	const IcmpOptions &o = l.opts;
	Bytes out;
	out.push_back(o.type);
	out.push_back(o.code);
	put_be16(out, 0); // checksum, below
	put_be32(out, o.rest);
	append(out, l.body);
	append(out, inner);
	uint16_t sum = o.checksum.value_or(0);
	if (!o.checksum) {
		// ICMPv6 covers a pseudo-header (RFC 4443 2.3); ICMPv4 does not.
		const auto *v6 = ctx.enclosing_ip ? std::get_if<Ipv6Layer>(ctx.enclosing_ip) : nullptr;
		uint32_t seed = v6 ? pseudo_header_sum(nullptr, &v6->opts, ipproto::icmpv6, out.size()) : 0;
		sum = internet_checksum(out.data(), out.size(), seed);
	}
	set_be16(out, 2, sum);
	return out;
}

} // namespace steer::test
