#include "map_layout.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cstring>

namespace steer {

namespace {

// Deeper than any map key or value we define; stops a malformed BTF loop.
constexpr int max_depth = 16;

const btf_type *resolved(const struct btf *btf, uint32_t &id)
{
	const btf_type *t = btf__type_by_id(btf, id);
	while (t && (btf_is_typedef(t) || btf_is_mod(t))) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	return t;
}

std::string layout_at(const struct btf *btf, uint32_t id, int depth);

std::string composite_layout(const struct btf *btf, const btf_type *t, int depth)
{
	std::string out = (btf_kind(t) == BTF_KIND_UNION ? "u" : "s") + std::to_string(t->size) + "{";
	const btf_member *m = btf_members(t);
	for (uint32_t i = 0; i < btf_vlen(t); i++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);
		out += std::string(name ? name : "") + "@" + std::to_string(btf_member_bit_offset(t, i));
		if (uint32_t bits = btf_member_bitfield_size(t, i))
			out += ":" + std::to_string(bits);
		out += "=" + layout_at(btf, m->type, depth + 1) + ";";
	}
	return out + "}";
}

std::string layout_at(const struct btf *btf, uint32_t id, int depth)
{
	const btf_type *t = resolved(btf, id);
	if (!t || depth > max_depth)
		return "?";
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		return std::string(btf_int_encoding(t) & BTF_INT_SIGNED ? "i" : "u") + std::to_string(t->size) +
		       (btf_int_bits(t) == t->size * 8 ? "" : ":" + std::to_string(btf_int_bits(t)));
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		return "e" + std::to_string(t->size);
	case BTF_KIND_PTR:
		return "p";
	case BTF_KIND_ARRAY:
		return "a" + std::to_string(btf_array(t)->nelems) + "[" +
		       layout_at(btf, btf_array(t)->type, depth + 1) + "]";
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return composite_layout(btf, t, depth);
	default:
		return "k" + std::to_string(btf_kind(t));
	}
}

std::string type_name(uint32_t type)
{
	const char *name = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(type));
	return name ? name : std::to_string(type);
}

void note(std::string &out, const std::string &what)
{
	out += (out.empty() ? "" : ", ") + what;
}

void note_change(std::string &out, const char *what, uint32_t have, uint32_t want)
{
	if (have != want)
		note(out, std::string(what) + " " + std::to_string(have) + " -> " + std::to_string(want));
}

void note_btf(std::string &out, const char *what, const std::string &have, const std::string &want)
{
	if (have == want)
		return;
	note(out, have.empty() ? std::string("no ") + what + " BTF" : std::string(what) + " BTF differs");
}

} // namespace

std::string btf_layout(const struct btf *btf, uint32_t type_id)
{
	if (!btf || type_id == 0)
		return "";
	return layout_at(btf, type_id, 0);
}

std::string layout_difference(const MapLayout &have, const MapLayout &want)
{
	std::string out;
	if (have.type != want.type)
		note(out, "type " + type_name(have.type) + " -> " + type_name(want.type));
	note_change(out, "key size", have.key_size, want.key_size);
	note_change(out, "value size", have.value_size, want.value_size);
	note_change(out, "max_entries", have.max_entries, want.max_entries);
	note_change(out, "flags", have.map_flags, want.map_flags);
	note_btf(out, "key", have.key_btf, want.key_btf);
	note_btf(out, "value", have.value_btf, want.value_btf);
	return out;
}

std::optional<CounterFields> counter_fields(const struct btf *btf, uint32_t value_type_id)
{
	if (!btf || value_type_id == 0)
		return std::nullopt;
	const btf_type *t = resolved(btf, value_type_id);
	if (!t || btf_kind(t) != BTF_KIND_STRUCT)
		return std::nullopt;
	CounterFields f;
	const btf_member *m = btf_members(t);
	for (uint32_t i = 0; i < btf_vlen(t); i++, m++) {
		uint32_t type_id = m->type;
		const btf_type *mt = resolved(btf, type_id);
		uint32_t bit_offset = btf_member_bit_offset(t, i);
		bool plain = mt && btf_is_int(mt) && (mt->size == 4 || mt->size == 8) &&
			     bit_offset % 8 == 0 && btf_member_bitfield_size(t, i) == 0;
		const char *name = btf__name_by_offset(btf, m->name_off);
		if (!plain || !name)
			continue;
		if (std::strcmp(name, "packets") == 0)
			f.packets_offset = bit_offset / 8, f.packets_size = mt->size;
		else if (std::strcmp(name, "bytes") == 0)
			f.bytes_offset = bit_offset / 8, f.bytes_size = mt->size;
	}
	if (!f.packets_size || !f.bytes_size)
		return std::nullopt;
	return f;
}

} // namespace steer
