// steer programs at TC: clsact + one cls_bpf filter with a fixed handle and
// priority 1, replaced in place; other tools' filters are never touched.
#pragma once

#include <cstdint>
#include <optional>

#include "result.hpp"

namespace steer {

constexpr uint32_t tc_handle = 0x1573; // "IST": ours at any priority-1 slot
constexpr uint32_t tc_priority = 1;

enum class TcDirection { ingress, egress };

// Creates clsact when missing (an existing one is fine) and attaches or
// replaces our filter. Must run in the interface's network namespace.
Status tc_attach(int ifindex, TcDirection dir, int prog_fd);

// Removes only our filter; a filter or hook already gone is success. The
// clsact qdisc stays: other tools may have filters on it.
Status tc_detach(int ifindex, TcDirection dir);

// The id of the program in our filter slot, or nullopt when none is there.
Result<std::optional<uint32_t>> tc_query(int ifindex, TcDirection dir);

} // namespace steer
