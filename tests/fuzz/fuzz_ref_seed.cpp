// Writes seeds for fuzz_ref_classifier: frames from FrameGen (valid, near
// misses, mutations, random) in the fuzzer's record format, a few frames per
// file so fragment sequences are represented. Usage: fuzz_ref_seed DIR N
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "frame_gen.hpp"

using namespace steer::test;

int main(int argc, char **argv)
{
	if (argc != 3) {
		std::fprintf(stderr, "usage: %s DIR N\n", argv[0]);
		return 2;
	}
	std::filesystem::path dir = argv[1];
	std::filesystem::create_directories(dir);
	int n = std::atoi(argv[2]);
	GatewaySet gws = GatewaySet::realistic();
	std::vector<uint32_t> ifs = gws.public_ifindexes();
	ifs.push_back(gws.spare_ifindex());
	FrameGen gen(gws, FrameGenOptions{.seed = 20261122, .max_len = 600});
	for (int i = 0; i < n; i++) {
		std::string out;
		int frames = 1 + i % 3;
		for (int k = 0; k < frames; k++) {
			GeneratedFrame f = gen.next();
			uint8_t sel = 0;
			for (size_t j = 0; j < ifs.size(); j++)
				if (ifs[j] == f.ifindex)
					sel = uint8_t(j);
			size_t len = f.bytes.size() > 0xffff ? 0xffff : f.bytes.size();
			out.push_back(char(sel));
			out.push_back(char(len >> 8));
			out.push_back(char(len & 0xff));
			out.append(reinterpret_cast<const char *>(f.bytes.data()), len);
		}
		std::ofstream(dir / ("seed-" + std::to_string(i)), std::ios::binary) << out;
	}
	return 0;
}
