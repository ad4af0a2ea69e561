// One owner per libnftnl / libmnl object. libnftnl hands back raw pointers
// whose ownership moves silently (nftnl_rule_add_expr takes the expression,
// nftnl_set_elem_add the element); holding each in a unique_ptr until the
// moment it is handed over keeps every early return leak-free.
#pragma once

#include <memory>

extern "C" {
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
}

namespace steer::nft {

// Calls Fn on the pointer; Fn's parameter may be const (libnftnl's frees are).
template <auto Fn>
struct FreeWith {
	template <typename T>
	void operator()(T *p) const
	{
		Fn(p);
	}
};

using TablePtr = std::unique_ptr<nftnl_table, FreeWith<nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, FreeWith<nftnl_chain_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, FreeWith<nftnl_rule_free>>;
using ExprPtr = std::unique_ptr<nftnl_expr, FreeWith<nftnl_expr_free>>;
using SetPtr = std::unique_ptr<nftnl_set, FreeWith<nftnl_set_free>>;
using ElemPtr = std::unique_ptr<nftnl_set_elem, FreeWith<nftnl_set_elem_free>>;
using GenPtr = std::unique_ptr<nftnl_gen, FreeWith<nftnl_gen_free>>;
using UdataPtr = std::unique_ptr<nftnl_udata_buf, FreeWith<nftnl_udata_buf_free>>;
using SocketPtr = std::unique_ptr<mnl_socket, FreeWith<mnl_socket_close>>;

} // namespace steer::nft
