// SPDX-License-Identifier: GPL-2.0-or-later
#include <exception>
#include <iostream>

#include "driver/cli.h"

int main(int argc, char** argv) {
    try {
        return policyc::runCli(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "policyc: internal error: " << e.what() << " (please report this)\n";
        return 70;
    }
}
