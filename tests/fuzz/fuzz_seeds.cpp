// SPDX-License-Identifier: GPL-2.0-or-later
// Seed generator: compiles .pol files and writes what policyc's own encoders make of them as
// fuzz inputs: ipt_replace blobs (ipt_blob/), RTM_NEWRULE/RTM_NEWROUTE messages (rtnl/) and
// nf_tables object messages (nft_delinearize/).
// Usage: policyc_fuzz_seeds OUT_DIR FILE.pol...
#include <linux/rtnetlink.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "backends/ipt/ipt_blob.h"
#include "backends/netlink/routing_rtnl.h"
#include "compiler/compile.h"
#include "tests/fuzz/targets.h"

namespace fs = std::filesystem;
using namespace policyc;

namespace {

void write(const fs::path& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// Every device gets an index, so that every route of the samples has an encoding.
backends::netlink::InterfaceNames anyIndex() {
    return {[](const std::string& n) -> std::optional<uint32_t> {
                return uint32_t(std::hash<std::string>{}(n) % 64 + 1);
            },
            [](uint32_t i) -> std::optional<std::string> { return "if" + std::to_string(i); }};
}

void seedsOf(const ir::Host& host, const std::string& stem, const fs::path& out) {
    int n = 0;
    for (auto family : {ir::Family::V4, ir::Family::V6}) {
        for (const std::string& table : backends::ipt::tablesToLoad(host, family)) {
            Diagnostics diags;
            if (auto blob = backends::ipt::encodeTable(host, family, table, diags))
                write(out / "ipt_blob", stem + "_" + std::to_string(n++),
                      fuzz::bytesFromBlob(*blob));
        }
    }
    for (const auto& rule : host.routingRules)
        write(out / "rtnl", stem + "_" + std::to_string(n++),
              backends::netlink::encodeRule(rule, RTM_NEWRULE));
    write(out / "nft_delinearize", stem + "_" + std::to_string(n++), fuzz::nftMessagesOf(host));
    const auto names = anyIndex();
    for (const auto& route : host.routes) {
        std::string error;
        if (auto msg = backends::netlink::encodeRoute(route, RTM_NEWROUTE, names, error))
            write(out / "rtnl", stem + "_" + std::to_string(n++), *msg);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: policyc_fuzz_seeds OUT_DIR FILE.pol...\n";
        return 2;
    }
    const fs::path out = argv[1];
    for (int i = 2; i < argc; ++i) {
        SourceManager sources;
        Diagnostics diags;
        auto policy = compileFile(argv[i], sources, diags);
        if (!policy) continue;  // error cases are seeds of the compile target only
        for (const auto& host : policy->hosts)
            seedsOf(host, fs::path(argv[i]).stem().string() + "_" + host.name, out);
    }
    return 0;
}
