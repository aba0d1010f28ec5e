// SPDX-License-Identifier: GPL-2.0-or-later
// The bodies of the fuzz targets, shared by the libFuzzer binaries (fuzz_*.cpp) and the replay of
// tests/fuzz/regressions in the unit tests; plus the byte layouts the seed generator writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "backends/ipt/ipt_blob.h"

namespace policyc::fuzz {

/// compileText on the bytes as a .pol file.
void compileOne(const uint8_t* data, size_t size);
/// importIptablesSave on the bytes as iptables-save text.
void importOne(const uint8_t* data, size_t size);
/// importNftJson on the bytes as `nft -j list ruleset` output.
void importNftJsonOne(const uint8_t* data, size_t size);
/// decodeTable on a Blob read from the bytes (blobFromBytes).
void iptBlobOne(const uint8_t* data, size_t size);
/// decodeRule and decodeRoute (and the helpers that read dumped messages) on one nlmsghdr.
void rtnlOne(const uint8_t* data, size_t size);
/// nft delinearize() on the objects of a sequence of NFT_MSG_NEW{TABLE,CHAIN,SET,SETELEM,RULE}
/// messages, parsed by libnftnl as dumpRuleset() parses a dump.
void nftOne(const uint8_t* data, size_t size);
/// The nf_tables messages of `host`'s linearize(), one after another: nftOne's seeds.
std::vector<uint8_t> nftMessagesOf(const ir::Host& host);

/// The fuzz input of iptBlobOne: 1 byte (bit 0 family, bits 1-2 table), valid_hooks,
/// hook_entry[5], underflow[5], num_entries (little-endian u32 each), then the entries.
constexpr size_t kBlobHeaderBytes = 1 + 4 * (1 + 2 * backends::ipt::kNumHooks + 1);
std::optional<backends::ipt::Blob> blobFromBytes(const uint8_t* data, size_t size);
std::vector<uint8_t> bytesFromBlob(const backends::ipt::Blob& blob);

/// Which target a regressions/<name>/ directory replays; nullptr for an unknown name.
using Target = void (*)(const uint8_t*, size_t);
Target targetNamed(std::string_view name);

}  // namespace policyc::fuzz
