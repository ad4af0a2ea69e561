#include "tc.hpp"

#include <linux/pkt_sched.h>
#include <netlink/route/classifier.h>

#include "nl_ptr.hpp"
#include "nl_session.hpp"

namespace steer::ns {

Result<int> clsact_filter_count(int ifindex)
{
	auto s = NlSession::open();
	if (!s)
		return s.error();
	int count = 0;
	for (uint32_t minor : {TC_H_MIN_INGRESS, TC_H_MIN_EGRESS}) {
		nl_cache *raw = nullptr;
		uint32_t parent = TC_H_MAKE(TC_H_CLSACT, minor);
		Status st = s->run("list tc filters", "ifindex " + std::to_string(ifindex), [&](nl_sock *sk) {
			return rtnl_cls_alloc_cache(sk, ifindex, parent, &raw);
		});
		NlCachePtr cache(raw);
		if (!st) {
			// No clsact qdisc: nothing there.
			if (st.error().err == EINVAL || st.error().err == ENOENT)
				continue;
			return st.error();
		}
		count += nl_cache_nitems(cache.get());
	}
	return count;
}

} // namespace steer::ns
