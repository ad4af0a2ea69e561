// Ruleset -> one nfnetlink batch of libnftnl-built messages. Pure: builds
// bytes, sends nothing (transport.hpp sends). Every message carries its own
// sequence number and NLM_F_ACK, and the batch records what each sequence
// number was, so the transport can name the rule or element behind every
// error the kernel acknowledges.
//
// The replace batch is atomic (nf_tables commits a batch whole or not at
// all): NEWTABLE (create if absent, so the delete cannot fail), DELTABLE,
// NEWTABLE with the comment, then sets, elements, chains and rules. If any
// message fails, the kernel aborts the batch and the previous table stays
// exactly as it was.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model.hpp"
#include "result.hpp"

namespace steer::nft {

// One set element inside a NEWSETELEM message: the offset of its
// NFTA_LIST_ELEM attribute from the start of the message (what the kernel's
// extended ACK reports as NLMSGERR_ATTR_OFFS) and the model element it
// encodes.
struct ElementOrigin {
	uint32_t offset = 0;
	std::string text;
};

struct Batch {
	std::string table;                           // "inet ipsec_steer", for error reports
	std::vector<uint8_t> bytes;                  // BATCH_BEGIN ... BATCH_END
	std::map<uint32_t, std::string> what;        // seq -> "add rule to chain input: ..."
	std::map<uint32_t, std::vector<ElementOrigin>> elements;  // seq of NEWSETELEM -> elements
	uint32_t begin_seq = 0, end_seq = 0;         // the batch's sequence range

	// Messages between BATCH_BEGIN and BATCH_END (each acknowledged).
	size_t acked_messages() const { return what.size() - 1; }
	// "add elements to set peers_v4: element 10.0.0.5", or what[seq] alone
	// when the offset names no element.
	std::string describe(uint32_t seq, uint32_t offset = 0) const;
};

// The atomic replace of table `inet rs.table` by rs; fails (err = 0) if
// validate(rs) does. Sequence numbers run from first_seq (BATCH_BEGIN).
[[nodiscard]] Result<Batch> build_replace(const Ruleset &rs, uint32_t first_seq = 1);

// The payload of a NEWSET message for s in `inet table` (key, flags,
// nft's userdata), shared with set_elements.
void put_set(nlmsghdr *nlh, const std::string &table, const Set &s, uint32_t set_id);

// Appends one NFTA_LIST_ELEM holding only a key (a hash set's element) to
// an element list, as nftnl_set_elem_nlmsg_build writes it, without its
// per-element allocations (100,000 elements per batch).
void put_key_element(nlmsghdr *nlh, const std::vector<uint8_t> &key);

// Deletes table `inet table`; the kernel answers ENOENT when it is absent.
Batch build_delete(const std::string &table, uint32_t first_seq = 1);

// The nf_tables generation the batch was planned against (NFNL_BATCH_GENID
// in BATCH_BEGIN): the kernel refuses the batch with ERESTART if another
// commit happened since. 0 (what the builder writes) means "any".
void set_generation(Batch &b, uint32_t genid);
uint32_t generation(const Batch &b);

} // namespace steer::nft
