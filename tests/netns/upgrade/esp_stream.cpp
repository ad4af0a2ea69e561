#include "esp_stream.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cstring>

#include "netns.hpp"

namespace steer::test {

namespace {

// Frames handed to one sendmmsg call.
constexpr size_t batch = 64;

Result<Fd> packet_socket(const std::string &netns, const std::string &ifname, uint16_t proto, int &ifindex)
{
	Fd fd;
	Status st = ns::run_in_netns(netns, [&]() -> Status {
		fd.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(proto)));
		if (!fd.valid())
			return sys_error(errno, "AF_PACKET socket", ifname);
		ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
		if (ifindex == 0)
			return sys_error(errno, "no such interface", netns + "/" + ifname);
		sockaddr_ll sll{};
		sll.sll_family = AF_PACKET;
		sll.sll_protocol = htons(proto);
		sll.sll_ifindex = ifindex;
		if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&sll), sizeof(sll)) != 0)
			return sys_error(errno, "bind AF_PACKET", ifname);
		return {};
	});
	if (!st)
		return st.error();
	return fd;
}

} // namespace

Result<std::unique_ptr<EspStream>> EspStream::open(const std::string &netns, const std::string &ifname,
						   std::vector<uint8_t> frame, size_t seq_offset)
{
	int ifindex = 0;
	// Protocol 0: this socket sends only, so receiving costs it nothing.
	auto fd = packet_socket(netns, ifname, 0, ifindex);
	if (!fd)
		return fd.error();
	int one = 1;
	// Straight to the driver: a qdisc could drop or reorder under load.
	if (::setsockopt(fd->get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) != 0)
		return sys_error(errno, "PACKET_QDISC_BYPASS");
	return std::unique_ptr<EspStream>(new EspStream(std::move(*fd), ifindex, std::move(frame), seq_offset));
}

EspStream::EspStream(Fd fd, int ifindex, std::vector<uint8_t> frame, size_t seq_offset)
	: fd_(std::move(fd)), ifindex_(ifindex), frame_(std::move(frame)), seq_offset_(seq_offset)
{
}

EspStream::~EspStream()
{
	stop();
}

void EspStream::start()
{
	stop_ = false;
	sender_ = std::thread([this] { run(); });
}

void EspStream::stop()
{
	stop_ = true;
	if (sender_.joinable())
		sender_.join();
}

void EspStream::run()
{
	sockaddr_ll to{};
	to.sll_family = AF_PACKET;
	to.sll_protocol = htons(ETH_P_IP);
	to.sll_ifindex = ifindex_;
	to.sll_halen = ETH_ALEN;
	std::vector<std::vector<uint8_t>> frames(batch, frame_);
	std::vector<iovec> iov(batch);
	std::vector<mmsghdr> msgs(batch);
	uint32_t seq = 1;
	size_t first = 0; // frames before it in this batch are already sent
	while (!stop_.load(std::memory_order_relaxed)) {
		if (first == 0) {
			for (size_t i = 0; i < batch; i++, seq++) {
				uint32_t be = htonl(seq);
				std::memcpy(frames[i].data() + seq_offset_, &be, sizeof(be));
				iov[i] = {frames[i].data(), frames[i].size()};
				msgs[i] = {};
				msgs[i].msg_hdr.msg_name = &to;
				msgs[i].msg_hdr.msg_namelen = sizeof(to);
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
			}
		}
		int n = ::sendmmsg(fd_.get(), &msgs[first], static_cast<unsigned>(batch - first), 0);
		if (n < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)) {
			refused_.fetch_add(1, std::memory_order_relaxed);
			continue;
		}
		if (n < 0) {
			failure_ = std::string("sendmmsg: ") + std::strerror(errno);
			failed_.store(true, std::memory_order_release);
			return;
		}
		sent_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
		first = (first + static_cast<size_t>(n)) % batch;
	}
}

Result<EspTap> EspTap::open(const std::string &netns, const std::string &ifname, uint32_t dst_be, uint8_t proto)
{
	int ifindex = 0;
	// ETH_P_ALL: such taps see a frame before tc and netfilter ingress do
	// (a per-protocol tap would only see what those let through).
	auto fd = packet_socket(netns, ifname, ETH_P_ALL, ifindex);
	if (!fd)
		return fd.error();
	// Offsets from the Ethernet header: ethertype at 12, IPv4 protocol at
	// 23, destination at 30.
	sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 5),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, proto, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 30),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(dst_be), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 64),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	sock_fprog prog{static_cast<unsigned short>(sizeof(code) / sizeof(code[0])), code};
	if (::setsockopt(fd->get(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
		return sys_error(errno, "SO_ATTACH_FILTER");
	int one = 1;
	if (::setsockopt(fd->get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0)
		return sys_error(errno, "PACKET_IGNORE_OUTGOING");
	EspTap tap;
	tap.fd_ = std::move(*fd);
	// Frames that matched between bind and filter are not the stream's.
	(void)tap.take_count();
	return tap;
}

Result<uint64_t> EspTap::take_count() const
{
	tpacket_stats st{};
	socklen_t len = sizeof(st);
	if (::getsockopt(fd_.get(), SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0)
		return sys_error(errno, "PACKET_STATISTICS");
	return static_cast<uint64_t>(st.tp_packets); // includes tp_drops
}

} // namespace steer::test
