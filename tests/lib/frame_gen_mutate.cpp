// FrameGen: (c) mutations of valid frames and near misses, (d) random bytes.
// The mutators use the layer offsets the builder reports, so a length
// field is hit on purpose rather than by luck.
#include "frame_gen.hpp"

#include <algorithm>

namespace steer::test {

namespace {

// A length-like field of a built frame: where, how wide (bytes), and
// which bits of it (IHL is the low nibble of a byte).
struct LengthField {
	size_t offset;
	size_t width;
	uint64_t mask;
	const char *name;
};

std::vector<LengthField> length_fields(const BuiltFrame &frame)
{
	std::vector<LengthField> fields;
	for (const LayerSpan &l : frame.layers) {
		switch (l.kind) {
		case LayerKind::ipv4:
			fields.push_back({l.offset + 2, 2, 0xffff, "tot-len"});
			fields.push_back({l.offset, 1, 0x0f, "ihl"});
			break;
		case LayerKind::ipv6: fields.push_back({l.offset + 4, 2, 0xffff, "payload-len"}); break;
		case LayerKind::ipv6_ext: fields.push_back({l.offset + 1, 1, 0xff, "ext-len"}); break;
		case LayerKind::udp: fields.push_back({l.offset + 4, 2, 0xffff, "udp-len"}); break;
		case LayerKind::ah: fields.push_back({l.offset + 1, 1, 0xff, "ah-len"}); break;
		case LayerKind::ike: fields.push_back({l.offset + 24, 4, 0xffffffff, "ike-len"}); break;
		default: break;
		}
	}
	return fields;
}

uint64_t read_field(const Bytes &b, const LengthField &f)
{
	uint64_t v = 0;
	for (size_t i = 0; i < f.width; i++)
		v = v << 8 | b[f.offset + i];
	return v & f.mask;
}

void write_be(Bytes &b, size_t off, size_t width, uint64_t v)
{
	for (size_t i = width; i-- > 0;) {
		b[off + i] = static_cast<uint8_t>(v);
		v >>= 8;
	}
}

std::string family_prefix(const IpAddress &a)
{
	return a.family == STEER_FAMILY_IPV6 ? "v6/" : "v4/";
}

void write_field(Bytes &b, const LengthField &f, uint64_t value)
{
	uint64_t v = 0;
	for (size_t i = 0; i < f.width; i++)
		v = v << 8 | b[f.offset + i];
	v = (v & ~f.mask) | (value & f.mask);
	for (size_t i = f.width; i-- > 0;) {
		b[f.offset + i] = static_cast<uint8_t>(v);
		v >>= 8;
	}
}

} // namespace

// ---- (c) mutations -----------------------------------------------------

GeneratedFrame FrameGen::make_mutated()
{
	Made base = chance(70) ? make_valid(false) : make_near_miss();
	uint64_t count = between(1, 3);
	for (uint64_t i = 0; i < count; i++)
		mutate_once(base.frame, base.recipe);
	return to_generated(std::move(base), FrameOrigin::mutated);
}

void FrameGen::mutate_once(BuiltFrame &frame, std::string &recipe)
{
	Bytes &b = frame.bytes;
	switch (below(6)) {
	case 0: { // a few bytes, mostly among the headers
		uint64_t flips = between(1, 4);
		for (uint64_t i = 0; i < flips; i++) {
			size_t pos = chance(70) ? below(std::min<size_t>(b.size(), 128)) : below(b.size());
			b[pos] ^= static_cast<uint8_t>(between(1, 255));
		}
		recipe += "+flip";
		break;
	}
	case 1: // any length from min_len up: covers every cut over a run
		if (b.size() > opts_.min_len) {
			b.resize(between(opts_.min_len, b.size() - 1));
			recipe += "+trunc";
		}
		break;
	case 2:
		corrupt_length_field(frame, recipe);
		break;
	case 3: { // version and IHL nibbles of the IP header
		auto ip = frame.find(LayerKind::ipv4);
		if (!ip)
			ip = frame.find(LayerKind::ipv6);
		if (ip && ip->offset < b.size()) {
			b[ip->offset] = static_cast<uint8_t>(chance(50) ? rng_() : (b[ip->offset] & 0xf0) | below(16));
			recipe += "+verihl";
		}
		break;
	}
	case 4: { // random bytes after the start of some layer
		const LayerSpan &l = frame.layers[below(frame.layers.size())];
		for (size_t i = l.offset + l.header_len; i < b.size(); i++)
			b[i] = static_cast<uint8_t>(rng_());
		recipe += "+tail";
		break;
	}
	default: { // ethertype: another IP version, a tag, anything
		static constexpr uint16_t types[] = {0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806};
		auto eth = frame.find(LayerKind::ethernet);
		if (eth && eth->offset + eth->header_len <= b.size()) {
			uint16_t et = chance(80) ? types[below(5)] : static_cast<uint16_t>(rng_());
			size_t at = eth->offset + eth->header_len - 2;
			b[at] = static_cast<uint8_t>(et >> 8);
			b[at + 1] = static_cast<uint8_t>(et);
			recipe += "+ethertype";
		}
		break;
	}
	}
}

void FrameGen::corrupt_length_field(BuiltFrame &frame, std::string &recipe)
{
	std::vector<LengthField> fields = length_fields(frame);
	std::erase_if(fields, [&](const LengthField &f) { return f.offset + f.width > frame.bytes.size(); });
	if (fields.empty())
		return;
	const LengthField &f = fields[below(fields.size())];
	uint64_t now = read_field(frame.bytes, f);
	uint64_t value = 0;
	switch (below(4)) {
	case 0: value = rng_(); break;
	case 1: value = now + between(0, 32) - 16; break; // off by a little
	case 2: value = 0; break;
	default: value = f.mask; break;
	}
	write_field(frame.bytes, f, value);
	recipe += std::string("+") + f.name;
}

// ---- (d) random bytes --------------------------------------------------

GeneratedFrame FrameGen::make_random()
{
	if (chance(40))
		return random_ip_skeleton();
	size_t hi = chance(50) ? 80 : chance(70) ? 300 : opts_.max_len;
	size_t len = between(opts_.min_len, std::max(opts_.min_len, std::min(hi, opts_.max_len)));
	const std::vector<uint32_t> &ifs = gateways_.public_ifindexes();
	uint32_t ifindex = chance(80) ? ifs[below(ifs.size())] : gateways_.spare_ifindex();
	return GeneratedFrame{random_bytes(len), ifindex, FrameOrigin::random, "random"};
}

// Random bytes with just enough structure to get past the first checks: an
// IP ethertype, a version, mostly consistent lengths, a gateway's address
// and a protocol the classifier looks at.
GeneratedFrame FrameGen::random_ip_skeleton()
{
	static constexpr uint8_t v4_protos[] = {50, 51, 17, 17, 1, 6};
	static constexpr uint8_t v6_protos[] = {50, 51, 17, 17, 58, 0, 43, 60, 44, 44};
	const GatewayEntry &gw = gateways_.entries()[below(gateways_.entries().size())];
	bool v6 = gw.family() == STEER_FAMILY_IPV6;
	size_t hdr = 14 + (v6 ? 40 : 20);
	size_t len = between(std::max(opts_.min_len, hdr + 8), std::min<size_t>(opts_.max_len, 300));
	Bytes b = random_bytes(len);
	b[12] = v6 ? 0x86 : 0x08;
	b[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		b[14] = static_cast<uint8_t>(0x60 | (b[14] & 0x0f));
		if (chance(70))
			write_be(b, 18, 2, len - hdr); // payload length
		b[20] = chance(80) ? v6_protos[below(10)] : b[20];
		std::copy_n(gw.address.bytes.begin(), 16, b.begin() + 38);
	} else {
		b[14] = chance(70) ? 0x45 : static_cast<uint8_t>(0x40 | (b[14] & 0x0f));
		if (chance(70))
			write_be(b, 16, 2, len - 14); // total length
		if (chance(70))
			write_be(b, 20, 2, 0); // not a fragment
		b[23] = chance(80) ? v4_protos[below(6)] : b[23];
		std::copy_n(gw.address.bytes.begin(), 4, b.begin() + 30);
	}
	size_t l4 = v6 ? 54 : 14 + static_cast<size_t>(b[14] & 0x0f) * 4;
	bool udp = (v6 ? b[20] : b[23]) == 17;
	if (udp && l4 + 4 <= b.size() && chance(70))
		write_be(b, l4 + 2, 2, gateway_ports_[below(gateway_ports_.size())]);
	return GeneratedFrame{std::move(b), gw.ifindex, FrameOrigin::random, family_prefix(gw.address) + "random-skeleton"};
}

} // namespace steer::test
