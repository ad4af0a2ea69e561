// What else lives on an interface's clsact hook, so `down` removes the
// hook only when it created nothing another tool still uses.
#pragma once

#include "result.hpp"

namespace steer::ns {

// Number of tc filters on the clsact ingress and egress hooks of ifindex
// (0 when there is no clsact qdisc).
Result<int> clsact_filter_count(int ifindex);

} // namespace steer::ns
