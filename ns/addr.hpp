// Interface addresses of the calling thread's network namespace.
#pragma once

#include <cstdint>
#include <vector>

#include "prefix.hpp"
#include "result.hpp"

namespace steer::ns {

// Adds p (address + prefix length) to the link, or updates it in place
// (NLM_F_REPLACE) when present. flags: IFA_F_* such as IFA_F_NODAD, so an
// IPv6 address is usable at once instead of tentative during DAD.
// To the kernel the same address with another length is another address:
// remove a stale one with delete_address.
Status ensure_address(int ifindex, const Prefix &p, uint32_t flags = 0);

// Removes it; an address (or link) that is not there is success.
Status delete_address(int ifindex, const Prefix &p);

// Every address of the link, with its prefix length.
Result<std::vector<Prefix>> list_addresses(int ifindex);

} // namespace steer::ns
