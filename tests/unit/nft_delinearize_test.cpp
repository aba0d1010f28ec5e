// SPDX-License-Identifier: GPL-2.0-or-later
// nft read-back: delinearize(linearize(host)) gives the host's tables back for every sample and
// golden host, modulo the normalisations nft itself makes (listed at nftNormalised).
#include "backends/nft/nft_delinearize.h"

#include <doctest/doctest.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "backends/nft/nft_linearize.h"
#include "backends/text/nft_layout.h"
#include "backends/text/render.h"
#include "compiler/compile.h"
#include "compiler/ir.h"
#include "compiler/ir_print.h"

using namespace policyc;
namespace fs = std::filesystem;

namespace {

struct Case {
    std::string name;
    ir::Host host;
};

std::vector<Case> goldenHosts() {
    std::vector<fs::path> files;
    for (const char* dir : {"samples", "tests/golden/ok"})
        for (const auto& e : fs::directory_iterator(fs::path(POLICYC_SOURCE_DIR) / dir))
            if (e.path().extension() == ".pol") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<Case> out;
    for (const fs::path& file : files) {
        SourceManager sources;
        Diagnostics diags;
        auto policy = compileFile(file.string(), sources, diags);
        REQUIRE_MESSAGE(policy, file.string());
        for (const ir::Host& h : policy->hosts)
            out.push_back({file.stem().string() + "_" + h.name, h});
    }
    return out;
}

std::string cgroupRoot(const ir::Host& host) {
    const fs::path root = fs::temp_directory_path() / "policyc-delin-cgroups";
    for (const auto& t : host.tables)
        for (const auto& c : t.chains)
            for (const auto& r : c.rules)
                for (const auto& m : r.matches)
                    if (auto* cg = std::get_if<ir::CgroupMatch>(&m))
                        fs::create_directories(root / fs::path(cg->path).relative_path());
    return root.string();
}

std::string describe(const std::vector<ir::Table>& tables) {
    std::ostringstream s;
    for (const auto& t : tables) {
        s << ir::tableFamilyName(t.family) << " " << t.name << "\n";
        for (const auto& c : t.chains) {
            s << "  chain " << c.name << " policy " << static_cast<int>(c.policy) << "\n";
            for (const auto& r : c.rules) s << "    " << printRule(r) << "\n";
        }
    }
    return s.str();
}

/// In a forked child's fresh netns: `nft -f` the golden rendering, dump every table with
/// dumpRuleset, delinearize; the child reports describe() of the result and what it could not read.
/// With cgroup paths, the child also gets a private mount namespace whose /sys/fs/cgroup (where
/// nft 1.0.6 resolves them) is a tmpfs holding those directories, as netns_lib.sh's
/// nft_oracle_with_cgroups does: that proves the inode -> path read-back, not cgroup semantics.
std::string loadAndRead(const fs::path& nftFile, const std::vector<std::string>& cgroups) {
    const std::string root = "/sys/fs/cgroup";
    int fds[2];
    if (::pipe(fds) != 0) return "ERR pipe";
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        std::string r;
        const int flags = CLONE_NEWNET | (cgroups.empty() ? 0 : CLONE_NEWNS);
        if (::unshare(flags) != 0) {
            r = "ERR unshare";
        } else if (!cgroups.empty() &&
                   (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
                    ::mount("policyc-cgroup-stand-in", root.c_str(), "tmpfs", 0, nullptr) != 0)) {
            r = "ERR mount";
        } else if (!std::all_of(cgroups.begin(), cgroups.end(), [&](const std::string& d) {
                       return fs::create_directories(root + "/" + d);
                   })) {
            r = "ERR mkdir";
        } else if (std::system(("nft -f '" + nftFile.string() + "' 2>&1").c_str()) != 0) {
            r = "ERR nft -f refused " + nftFile.string();
        } else {
            backends::nft::NftSocket sock;
            backends::nft::NftRuleset rs;
            std::string err;
            if (!backends::nft::dumpRuleset(sock, rs, err)) {
                r = "ERR dump " + err;
            } else {
                const auto back = backends::nft::delinearize(rs, root);
                r = describe(back.tables);
                for (const auto& u : back.unreadable) r += "UNREADABLE " + u + "\n";
            }
        }
        (void)!::write(fds[1], r.data(), r.size());
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return out;
}

std::vector<ir::Table> nftOrder(const ir::Host& host) {
    std::vector<ir::Table> out;
    for (auto f : {ir::TableFamily::Inet, ir::TableFamily::Ip, ir::TableFamily::Ip6})
        for (const auto& t : host.tables)
            if (t.family == f && !t.chains.empty()) out.push_back(backends::nft::nftLayout(t));
    return out;
}

}  // namespace

TEST_CASE("nft delinearize kernel: golden .nft renderings loaded by nft read back as the host" *
          doctest::skip()) {
    if (::geteuid() != 0) {
        MESSAGE("skipped: loading rulesets needs root");
        std::exit(77);  // ctest's SKIP_RETURN_CODE
    }
    for (const Case& c : goldenHosts()) {
        CAPTURE(c.name);
        const auto us = c.name.rfind('_');
        const fs::path nftFile = fs::path(POLICYC_SOURCE_DIR) / "tests/golden/expected" /
                                 c.name.substr(0, us) / (c.name.substr(us + 1) + ".nft");
        REQUIRE(fs::exists(nftFile));
        std::vector<std::string> cgroups;
        for (const auto& t : c.host.tables)
            for (const auto& ch : t.chains)
                for (const auto& r : ch.rules)
                    for (const auto& m : r.matches)
                        if (auto* cg = std::get_if<ir::CgroupMatch>(&m))
                            cgroups.push_back(fs::path(cg->path).relative_path().string());
        const std::string got = loadAndRead(nftFile, cgroups);
        CHECK_EQ(got, describe(nftOrder(c.host)));
    }
}

TEST_CASE("nft delinearize: every golden host reads back as its tables") {
    for (const Case& c : goldenHosts()) {
        CAPTURE(c.name);
        const std::string root = cgroupRoot(c.host);
        const auto ruleset = backends::nft::linearize(c.host, root);
        REQUIRE(ruleset.errors.empty());
        const auto back = backends::nft::delinearize(ruleset, root);
        std::string problems;
        for (const auto& u : back.unreadable) problems += u + "\n";
        CHECK_MESSAGE(back.unreadable.empty(), problems);
        // the linearizer writes one nft table per family, inet first: tables come back in that
        // order (and a table without chains not at all)
        const std::vector<ir::Table> expected = nftOrder(c.host);
        CHECK_EQ(describe(back.tables), describe(expected));
        CHECK(back.tables == expected);
    }
}

TEST_CASE("nft delinearize: a rule it cannot read is reported and kept verbatim, not dropped") {
    ir::Host host;
    ir::Rule rule;
    rule.matches.push_back(ir::MarkMatch{false, {1, 0xffffffff}});
    rule.target = ir::Accept{};
    host.tables.push_back({ir::TableFamily::Inet, "filter", {{"INPUT", {}, {rule, rule}, {}}}, {}});
    auto ruleset = backends::nft::linearize(host);
    // the second rule gets a statement the model has no place for: a second verdict
    for (auto& o : ruleset.objects)
        if (o.kind == backends::nft::NftObject::Kind::Rule && o.ruleIndex == 1) {
            auto* e = nftnl_expr_alloc("quota");
            nftnl_rule_add_expr(o.rule.get(), e);
        }
    const auto back = backends::nft::delinearize(ruleset);
    REQUIRE(back.unreadable.size() == 1);
    CHECK_EQ(back.unreadable[0],
             "nftables table inet policyc, chain filter_input, rule #2: expression 'quota'");
    CHECK(back.verbatim == back.unreadable);
    REQUIRE(back.tables.size() == 1);
    const auto& rules = back.tables[0].chains[0].rules;
    REQUIRE(rules.size() == 2);
    CHECK(rules[0] == rule);
    // in its place, as libnftnl prints its expressions: what diff shows as drift
    const auto* kept = std::get_if<ir::OpaqueTarget>(&rules[1].target);
    REQUIRE(kept);
    CHECK(kept->ext.name == ir::kNftVerbatim);
    CHECK(rules[1].matches.empty());
    const std::string text(kept->ext.data.begin(), kept->ext.data.end());
    CHECK_EQ(text,
             "[ meta load mark => reg 1 ] [ cmp eq reg 1 0x00000001 ] [ immediate reg 0 accept ] "
             "[ quota bytes 0 consumed 0 flags 0 ]");
    ir::Host readBack;
    readBack.tables = back.tables;
    CHECK(backends::renderNft(readBack).find("\t\t" + text + "\n") != std::string::npos);
}
