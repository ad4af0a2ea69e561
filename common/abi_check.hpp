// Layout checks of the structs shared with the BPF programs. Any change to
// bpf/steer_abi.h that moves a field breaks the build here, not a map dump.
#pragma once

#include <cstddef>

extern "C" {
#include "steer_abi.h"
}

static_assert(sizeof(steer_addr) == 16);
static_assert(sizeof(steer_gw_key) == 24);
static_assert(offsetof(steer_gw_key, family) == 4);
static_assert(offsetof(steer_gw_key, address) == 8);
static_assert(sizeof(steer_gw_value) == 16);
static_assert(offsetof(steer_gw_value, ike_port) == 8);
static_assert(offsetof(steer_gw_value, gateway_id) == 12);
static_assert(sizeof(steer_counter) == 16);
static_assert(sizeof(steer_frag_key) == 40);
static_assert(offsetof(steer_frag_key, id) == 4);
static_assert(offsetof(steer_frag_key, src) == 8);
static_assert(sizeof(steer_frag_value) == 16);
static_assert(sizeof(steer_decision) == 24);
static_assert(sizeof(steer_return_value) == 36);
static_assert(offsetof(steer_return_value, family) == 16);
static_assert(offsetof(steer_return_value, address) == 20);
static_assert(STEER_CLASS_MAX == 11, "class numbers are stable; append only");
