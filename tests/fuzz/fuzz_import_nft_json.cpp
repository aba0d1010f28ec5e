// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer entry point of the "import_nft_json" target (the body is in targets.cpp).
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    policyc::fuzz::importNftJsonOne(data, size);
    return 0;
}
