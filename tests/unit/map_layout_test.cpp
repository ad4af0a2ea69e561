// Map layouts: which differences make a pinned map unfit, and finding the
// counter fields of an old value layout by name. BTF is built in memory.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <memory>

#include "map_layout.hpp"

namespace steer {
namespace {

struct BtfFree {
	void operator()(struct btf *b) const { btf__free(b); }
};

// One BTF with `struct <name> { fields... }` of u64/u32 members.
class Btf {
public:
	Btf() : btf_(btf__new_empty()), u64_(btf__add_int(btf_.get(), "unsigned long long", 8, 0)),
		u32_(btf__add_int(btf_.get(), "unsigned int", 4, 0))
	{
	}
	int u64() const { return u64_; }
	int u32() const { return u32_; }
	int typedef_of(const char *name, int type) { return btf__add_typedef(btf_.get(), name, type); }
	// fields: {name, type id}, laid out one after another.
	int add_struct(const char *name, std::vector<std::pair<const char *, int>> fields)
	{
		uint32_t size = 0;
		for (auto [n, t] : fields)
			size += btf__resolve_size(btf_.get(), t);
		int id = btf__add_struct(btf_.get(), name, size);
		uint32_t offset = 0;
		for (auto [n, t] : fields) {
			btf__add_field(btf_.get(), n, t, offset * 8, 0);
			offset += btf__resolve_size(btf_.get(), t);
		}
		return id;
	}
	const struct btf *get() const { return btf_.get(); }

private:
	std::unique_ptr<struct btf, BtfFree> btf_;
	int u64_, u32_;
};

TEST(MapLayout, SameFieldsUnderOtherTypeNamesAndTypedefsAreTheSameLayout)
{
	Btf a, b;
	int counter_a = a.add_struct("steer_counter", {{"packets", a.u64()}, {"bytes", a.u64()}});
	int u64_alias = b.typedef_of("__u64", b.u64());
	int counter_b = b.add_struct("renamed", {{"packets", u64_alias}, {"bytes", b.u64()}});
	EXPECT_FALSE(btf_layout(a.get(), counter_a).empty());
	EXPECT_EQ(btf_layout(a.get(), counter_a), btf_layout(b.get(), counter_b));
}

TEST(MapLayout, ReorderedRenamedOrResizedFieldsDiffer)
{
	Btf b;
	std::string base = btf_layout(b.get(), b.add_struct("c", {{"packets", b.u64()}, {"bytes", b.u64()}}));
	EXPECT_NE(base, btf_layout(b.get(), b.add_struct("c", {{"bytes", b.u64()}, {"packets", b.u64()}})));
	EXPECT_NE(base, btf_layout(b.get(), b.add_struct("c", {{"packets", b.u64()}, {"octets", b.u64()}})));
	EXPECT_NE(base, btf_layout(b.get(), b.add_struct("c", {{"packets", b.u32()}, {"bytes", b.u64()}})));
	EXPECT_EQ(btf_layout(b.get(), 0), "") << "type id 0 means no BTF";
}

MapLayout stats_layout()
{
	return {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 16, 704, 0, "u4", "s16{packets@0=u8;bytes@64=u8;}"};
}

TEST(MapLayout, EqualLayoutsHaveNoDifference)
{
	EXPECT_EQ(layout_difference(stats_layout(), stats_layout()), "");
}

TEST(MapLayout, EachDifferenceIsNamed)
{
	MapLayout have = stats_layout();
	have.type = BPF_MAP_TYPE_ARRAY;
	have.value_size = 24;
	have.max_entries = 352;
	have.map_flags = BPF_F_NO_PREALLOC;
	have.key_btf = "";
	have.value_btf = "s24{}";
	EXPECT_EQ(layout_difference(have, stats_layout()),
		  "type array -> percpu_array, value size 24 -> 16, max_entries 352 -> 704, flags 1 -> 0, "
		  "no key BTF, value BTF differs");
}

TEST(MapLayout, CounterFieldsAreFoundByName)
{
	Btf b;
	int v0 = b.add_struct("v0", {{"drops", b.u64()}, {"bytes", b.u64()}, {"packets", b.u32()}});
	auto f = counter_fields(b.get(), v0);
	ASSERT_TRUE(f.has_value());
	EXPECT_EQ(f->bytes_offset, 8u);
	EXPECT_EQ(f->bytes_size, 8u);
	EXPECT_EQ(f->packets_offset, 16u);
	EXPECT_EQ(f->packets_size, 4u);
}

TEST(MapLayout, NoCounterFieldsWithoutBothNames)
{
	Btf b;
	EXPECT_FALSE(counter_fields(b.get(), b.add_struct("v", {{"packets", b.u64()}, {"octets", b.u64()}})));
	EXPECT_FALSE(counter_fields(b.get(), b.u64()));
	EXPECT_FALSE(counter_fields(nullptr, 1));
}

} // namespace
} // namespace steer
