// Both ends of the upgrade test's ESP stream: a generator that sends one
// template frame (its ESP sequence number counting up) through AF_PACKET
// with sendmmsg as fast as the path takes it, and a tap that counts the
// frames of the stream arriving on an interface without keeping them.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <memory>
#include <thread>
#include <vector>

#include "fd.hpp"
#include "result.hpp"

namespace steer::test {

class EspStream {
public:
	// frame: a whole Ethernet frame; seq_offset: where its ESP sequence
	// number (4 bytes, network order) sits.
	static Result<std::unique_ptr<EspStream>> open(const std::string &netns, const std::string &ifname,
						       std::vector<uint8_t> frame, size_t seq_offset);
	EspStream(const EspStream &) = delete;
	EspStream &operator=(const EspStream &) = delete;
	~EspStream(); // stops the sender

	void start();
	void stop();
	// Frames the kernel accepted (sendmmsg counted them as sent).
	uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
	// Send calls refused (ENOBUFS: a full backlog on the way); their
	// frames were not sent and are retried, so they are not in sent().
	uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
	// The first error other than a refusal, which ends the stream; ""
	// while none happened.
	std::string failure() const { return failed_.load(std::memory_order_acquire) ? failure_ : ""; }

private:
	EspStream(Fd fd, int ifindex, std::vector<uint8_t> frame, size_t seq_offset);
	void run();

	Fd fd_;
	int ifindex_;
	std::vector<uint8_t> frame_;
	size_t seq_offset_;
	std::thread sender_;
	std::atomic<bool> stop_{false};
	std::atomic<uint64_t> sent_{0}, refused_{0};
	std::string failure_;          // written once, before failed_ is set
	std::atomic<bool> failed_{false};
};

// Counts IPv4 frames of one protocol to one address arriving on an
// interface: an AF_PACKET socket whose filter accepts only those, never
// read, so the kernel's own count (PACKET_STATISTICS: queued + dropped for
// a full buffer) is the number that arrived.
class EspTap {
public:
	static Result<EspTap> open(const std::string &netns, const std::string &ifname, uint32_t dst_be,
				   uint8_t proto);
	// Frames counted since the last call (the kernel resets on read).
	Result<uint64_t> take_count() const;

private:
	Fd fd_;
};

} // namespace steer::test
