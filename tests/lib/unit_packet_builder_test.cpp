// The packet builder writes what the RFCs say: lengths, next headers and
// checksums derived from the layers, overrides where asked.
#include <gtest/gtest.h>

#include <cstring>

#include "packet_builder.hpp"

namespace steer::test {
namespace {

uint16_t be16_at(const Bytes &b, size_t off)
{
	return static_cast<uint16_t>(b[off] << 8 | b[off + 1]);
}

uint32_t be32_at(const Bytes &b, size_t off)
{
	return static_cast<uint32_t>(be16_at(b, off)) << 16 | be16_at(b, off + 2);
}

// The sum of a pseudo-header as RFC 768 / RFC 8200 8.1 define it.
uint32_t pseudo_sum(const Bytes &frame, size_t l3, bool v6, uint8_t proto, size_t len)
{
	uint32_t sum = 0;
	size_t addr_off = v6 ? 8 : 12, addr_len = v6 ? 32 : 8;
	for (size_t i = 0; i < addr_len; i += 2)
		sum += be16_at(frame, l3 + addr_off + i);
	return sum + proto + static_cast<uint32_t>(len >> 16) + static_cast<uint32_t>(len & 0xffff);
}

TEST(AddressHelpers, ParseAndPrint)
{
	EXPECT_EQ(ipv4_addr("198.51.100.1"), (Ipv4Addr{198, 51, 100, 1}));
	Ipv6Addr v6 = ipv6_addr("2001:db8::1");
	EXPECT_EQ(v6[0], 0x20);
	EXPECT_EQ(v6[1], 0x01);
	EXPECT_EQ(v6[15], 1);
	EXPECT_EQ(to_string(ip_addr("2001:db8::1")), "2001:db8::1");
	EXPECT_EQ(to_string(ip_addr("198.51.100.1")), "198.51.100.1");
	EXPECT_EQ(ip_addr("198.51.100.1").family, STEER_FAMILY_IPV4);
	EXPECT_EQ(ip_addr("::1").family, STEER_FAMILY_IPV6);
	EXPECT_THROW(ipv4_addr("198.51.100"), std::invalid_argument);
	EXPECT_THROW(ipv6_addr("2001:db8:::1"), std::invalid_argument);
	EXPECT_THROW(ip_addr("gateway"), std::invalid_argument);
}

TEST(AddressHelpers, SteerAddrIsNetworkOrderWithIpv4First)
{
	steer_addr s = to_steer_addr(ip_addr("198.51.100.1"));
	uint8_t bytes[16];
	std::memcpy(bytes, &s, sizeof(bytes));
	EXPECT_EQ(bytes[0], 198);
	EXPECT_EQ(bytes[3], 1);
	EXPECT_EQ(s.addr[1], 0u);
	EXPECT_EQ(s.addr[3], 0u);
	EXPECT_EQ(from_steer_addr(STEER_FAMILY_IPV4, s), ip_addr("198.51.100.1"));
	IpAddress v6 = ip_addr("2001:db8::42");
	EXPECT_EQ(from_steer_addr(STEER_FAMILY_IPV6, to_steer_addr(v6)), v6);
}

TEST(PacketBuilder, EthernetAndTags)
{
	Bytes plain = PacketBuilder().eth().ipv4("192.0.2.1", "198.51.100.1").build();
	EXPECT_EQ(be16_at(plain, 12), 0x0800);
	EXPECT_EQ(plain.size(), 14u + 20u);

	Bytes tagged = PacketBuilder().eth().vlan(100, ethertype::vlan, 5).ipv6("::1", "::2").build();
	EXPECT_EQ(be16_at(tagged, 12), 0x8100);
	EXPECT_EQ(be16_at(tagged, 14), (5 << 13) | 100);
	EXPECT_EQ(be16_at(tagged, 16), 0x86dd);

	Bytes qinq = PacketBuilder().eth().qinq(7).vlan(8).ipv4("192.0.2.1", "192.0.2.2").build();
	EXPECT_EQ(be16_at(qinq, 12), 0x88a8);
	EXPECT_EQ(be16_at(qinq, 16), 0x8100);
	EXPECT_EQ(be16_at(qinq, 20), 0x0800);

	Bytes arp = PacketBuilder().eth({.ethertype = ethertype::arp}).raw(Bytes(28, 0)).build();
	EXPECT_EQ(be16_at(arp, 12), 0x0806);
}

TEST(PacketBuilder, Ipv4HeaderFields)
{
	Ipv4Options o;
	o.src = ipv4_addr("192.0.2.1");
	o.dst = ipv4_addr("198.51.100.1");
	o.id = 0x4242;
	o.mf = true;
	o.df = true;
	o.frag_offset = 0x123;
	o.ttl = 9;
	o.options = {0x94, 4, 0, 0, 1}; // padded to 8
	BuiltFrame f = PacketBuilder().eth().ipv4(o).esp(0x1000, 1, 10).build_layers();
	const Bytes &b = f.bytes;
	EXPECT_EQ(b[14], 0x47) << "version 4, IHL 7";
	EXPECT_EQ(be16_at(b, 16), 28 + 18);
	EXPECT_EQ(be16_at(b, 18), 0x4242);
	EXPECT_EQ(be16_at(b, 20), 0x4000 | 0x2000 | 0x123);
	EXPECT_EQ(b[22], 9);
	EXPECT_EQ(b[23], ipproto::esp);
	EXPECT_EQ(internet_checksum(b.data() + 14, 28), 0) << "header checksum verifies";
	EXPECT_EQ(b[14 + 20 + 4], 1);
	EXPECT_EQ(b[14 + 20 + 5], 0) << "EOL padding";
	ASSERT_EQ(f.layers.size(), 3u);
	EXPECT_EQ(f.layers[2].kind, LayerKind::esp);
	EXPECT_EQ(f.layers[2].offset, 14u + 28u);
}

TEST(PacketBuilder, Ipv4Overrides)
{
	Ipv4Options o;
	o.tot_len = 1000;
	o.ihl_words = 3;
	o.version = 7;
	o.proto = 99;
	o.checksum = 0xbeef;
	Bytes b = PacketBuilder().eth().ipv4(o).udp(1, 2).build();
	EXPECT_EQ(b[14], 0x73);
	EXPECT_EQ(be16_at(b, 16), 1000);
	EXPECT_EQ(b[23], 99);
	EXPECT_EQ(be16_at(b, 24), 0xbeef);
}

TEST(PacketBuilder, UdpLengthAndChecksum)
{
	Bytes v4 = PacketBuilder().eth().ipv4("192.0.2.1", "198.51.100.1").udp(500, 4500).raw({1, 2, 3}).build();
	EXPECT_EQ(be16_at(v4, 34), 500);
	EXPECT_EQ(be16_at(v4, 36), 4500);
	EXPECT_EQ(be16_at(v4, 38), 11);
	EXPECT_EQ(internet_checksum(v4.data() + 34, 11, pseudo_sum(v4, 14, false, 17, 11)), 0);

	Bytes v6 = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").udp(500, 500).ike().build();
	EXPECT_EQ(be16_at(v6, 18), 8 + 28) << "payload length";
	EXPECT_EQ(v6[20], ipproto::udp);
	EXPECT_EQ(internet_checksum(v6.data() + 54, 36, pseudo_sum(v6, 14, true, 17, 36)), 0);

	Bytes forced = PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.2")
			       .udp({.sport = 1, .dport = 2, .length = 3, .checksum = 0})
			       .build();
	EXPECT_EQ(be16_at(forced, 38), 3);
	EXPECT_EQ(be16_at(forced, 40), 0);
}

TEST(PacketBuilder, KeepalivePaddedTo60)
{
	Bytes b = PacketBuilder().eth().ipv4("192.0.2.1", "198.51.100.1").udp(4500, 4500).natt_keepalive()
			  .pad_to(60)
			  .build();
	ASSERT_EQ(b.size(), 60u);
	EXPECT_EQ(be16_at(b, 16), 29) << "IPv4 length excludes the padding";
	EXPECT_EQ(be16_at(b, 38), 9);
	EXPECT_EQ(b[42], 0xff);
	EXPECT_EQ(b[43], 0);
}

TEST(PacketBuilder, Ipv6ExtensionHeaders)
{
	BuiltFrame f = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").hop_by_hop(16).routing()
			       .dest_opts(8)
			       .ipv6_fragment({.offset = 185, .more = true, .id = 0xabcdef01})
			       .esp(0x1000, 1, 0)
			       .build_layers();
	const Bytes &b = f.bytes;
	EXPECT_EQ(b[20], ipproto::hop_by_hop);
	EXPECT_EQ(be16_at(b, 18), 16 + 8 + 8 + 8 + 8);
	size_t off = 54;
	EXPECT_EQ(b[off], ipproto::routing);
	EXPECT_EQ(b[off + 1], 1) << "16 bytes: length 1";
	EXPECT_EQ(b[off + 2], 1) << "PadN";
	EXPECT_EQ(b[off + 3], 12);
	off += 16;
	EXPECT_EQ(b[off], ipproto::dest_opts);
	EXPECT_EQ(b[off + 1], 0);
	off += 8;
	EXPECT_EQ(b[off], ipproto::fragment);
	off += 8;
	EXPECT_EQ(b[off], ipproto::esp);
	EXPECT_EQ(be16_at(b, off + 2), (185 << 3) | 1);
	EXPECT_EQ(be32_at(b, off + 4), 0xabcdef01u);
	EXPECT_EQ(f.find(LayerKind::esp)->offset, off + 8);
	EXPECT_THROW(PacketBuilder().hop_by_hop(12), std::invalid_argument);
}

TEST(PacketBuilder, EspAhIke)
{
	Bytes esp = PacketBuilder().ipv4("192.0.2.1", "192.0.2.2").esp({.spi = 0x01020304, .seq = 5, .payload = {9}})
			    .build();
	EXPECT_EQ(be32_at(esp, 20), 0x01020304u);
	EXPECT_EQ(be32_at(esp, 24), 5u);
	EXPECT_EQ(esp.size(), 29u);

	Bytes ah = PacketBuilder().ipv4("192.0.2.1", "192.0.2.2").ah({.spi = 7}).tcp({}).build();
	EXPECT_EQ(ah[9], ipproto::ah);
	EXPECT_EQ(ah[20], ipproto::tcp);
	EXPECT_EQ(ah[21], 4) << "(12 + 12) / 4 - 2";
	EXPECT_EQ(be32_at(ah, 24), 7u);

	IkeOptions ike;
	ike.message_id = 3;
	ike.body = Bytes(10, 0);
	Bytes natt = PacketBuilder().ipv4("192.0.2.1", "192.0.2.2").udp(4500, 4500).natt_ike(ike).build();
	EXPECT_EQ(be32_at(natt, 28), 0u) << "non-ESP marker";
	EXPECT_EQ(natt[32 + 17], 0x20) << "IKEv2";
	EXPECT_EQ(be32_at(natt, 32 + 20), 3u);
	EXPECT_EQ(be32_at(natt, 32 + 24), 38u);
}

TEST(PacketBuilder, IcmpErrorQuotesTheInnerPacket)
{
	PacketBuilder inner;
	inner.ipv4("198.51.100.1", "192.0.2.1").esp(0x1000, 1, 100);
	Bytes quote = inner.build();
	Bytes v4 = PacketBuilder().eth().ipv4("10.0.0.1", "198.51.100.1").icmp_error({.type = 3, .code = 4, .rest = 1400}, inner, 28)
			   .build();
	EXPECT_EQ(v4[23], ipproto::icmp);
	EXPECT_EQ(v4[34], 3);
	EXPECT_EQ(v4[35], 4);
	EXPECT_EQ(be32_at(v4, 38), 1400u);
	EXPECT_EQ(v4.size(), 14u + 20 + 8 + 28);
	EXPECT_TRUE(std::equal(quote.begin(), quote.begin() + 28, v4.begin() + 42));
	EXPECT_EQ(internet_checksum(v4.data() + 34, 36), 0);

	PacketBuilder inner6;
	inner6.ipv6("2001:db8::1", "2001:db8::2").udp(500, 500);
	Bytes v6 = PacketBuilder().eth().ipv6("2001:db8::9", "2001:db8::1").icmp_error({.type = 2, .rest = 1280}, inner6)
			   .build();
	EXPECT_EQ(v6[20], ipproto::icmpv6);
	size_t len = v6.size() - 54;
	EXPECT_EQ(len, 8u + 48);
	EXPECT_EQ(internet_checksum(v6.data() + 54, len, pseudo_sum(v6, 14, true, 58, len)), 0);
}

TEST(PacketBuilder, RawWithProtocolAndTrailer)
{
	Bytes b = PacketBuilder().eth().ipv6("::1", "::2").ipv6_fragment({.offset = 3}).raw({1, 2}, 17)
			  .trailer({0xee})
			  .build();
	EXPECT_EQ(b[54], 17) << "the fragment header names the raw payload's protocol";
	EXPECT_EQ(be16_at(b, 18), 10);
	EXPECT_EQ(b.back(), 0xee);
}

} // namespace
} // namespace steer::test
