// SPDX-License-Identifier: GPL-2.0-or-later
// nf_tables over netlink: a socket, the ruleset generation id, whole-table replacement in one
// NFNL_MSG_BATCH_BEGIN..END transaction (all or nothing), and a dump of a live policyc table.
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backends/nft/nft_linearize.h"

struct mnl_socket;

namespace policyc::backends::nft {

class NftSocket {
  public:
    NftSocket();
    ~NftSocket();
    NftSocket(const NftSocket&) = delete;
    NftSocket& operator=(const NftSocket&) = delete;
    /// Empty when the socket is usable, else why not.
    const std::string& error() const { return error_; }
    mnl_socket* get() const { return sock_; }
    uint32_t portid() const { return portid_; }
    uint32_t nextSeq() { return seq_++; }

  private:
    mnl_socket* sock_ = nullptr;
    uint32_t portid_ = 0;
    uint32_t seq_ = 0;
    std::string error_;
};

/// What the kernel refused: the object (index into NftRuleset::objects) when known, and for a
/// rule the expression its extended ACK points into.
struct BatchError {
    std::optional<size_t> object;
    std::optional<size_t> expression;  // index in the rule's NFTA_RULE_EXPRESSIONS
    int errnum = 0;
    std::string message;
    std::string kernelMessage;  // NLMSGERR_ATTR_MSG, if the kernel sent one
};

/// The extended ACK (NETLINK_EXT_ACK) of an NLMSG_ERROR message: the kernel's text and the
/// offset, from the start of the refused message's nlmsghdr, of the attribute it refused.
struct ExtAck {
    std::string message;
    std::optional<uint32_t> offset;
};
ExtAck parseExtAck(const nlmsghdr* error);

/// Which element of a NEWRULE message's NFTA_RULE_EXPRESSIONS holds byte `offset` of it (the
/// start of the refused expression, as the kernel reports it); nullopt if none does.
std::optional<size_t> expressionAt(const nlmsghdr* rule, uint32_t offset);

/// The current ruleset generation (NFT_MSG_GETGEN); nothing on failure (message in `error`).
/// Sends one request and runs `cb` on every answer until DONE or the ACK.
bool talk(NftSocket& sock, const nlmsghdr* nlh, mnl_cb_t cb, void* data, std::string& error);

std::optional<uint32_t> generationId(NftSocket& sock, std::string& error);

/// Whether table `policyc` of `family` exists; nothing on failure.
std::optional<bool> tableExists(NftSocket& sock, uint16_t family, std::string& error);

/// Commit: the kernel applies the batch. Check: the batch goes without its END message, so the
/// kernel processes and validates every message, then aborts (what `nft --check` does).
enum class BatchMode { Commit, Check };

/// One transaction: for every family in `replace`, the `policyc` table is created if absent and
/// deleted (so nothing of it survives); then `ruleset`'s objects are added. With `genid`, the
/// kernel refuses the whole batch if the ruleset changed since that generation (ERESTART).
bool replaceTables(NftSocket& sock, const std::vector<uint16_t>& replace, const NftRuleset& ruleset,
                   std::optional<uint32_t> genid, BatchError& error,
                   BatchMode mode = BatchMode::Commit);

/// One object as the NEW* message a batch carries it in (a set without its elements), and an
/// object read back from one: how a saved state is kept on disk.
std::vector<uint8_t> objectMessage(const NftObject& o);
std::optional<NftObject> objectFromMessage(const std::vector<uint8_t>& msg, uint16_t family);

/// One element of a set as policyc's tables use them: a key, an interval's end key, flags.
/// (libnftnl 1.2.4 cannot parse back the NEWSETELEM message it builds for a set, so elements
/// are kept this way.)
struct SetElement {
    std::vector<uint8_t> key;
    std::vector<uint8_t> keyEnd;
    std::optional<uint32_t> flags;
};
/// nullopt when an element carries more (data, verdicts, timeouts, expressions ...).
std::optional<std::vector<SetElement>> setElements(const NftObject& set);
void addSetElements(NftObject& set, const std::vector<SetElement>& elements);

/// The live `policyc` tables of those `families` that exist, as dumpTable gives them.
bool dumpOwnTables(NftSocket& sock, const std::vector<uint16_t>& families, NftRuleset& into,
                   std::string& error);

/// The live `policyc` table of `family` as objects replaceTables can add back (handles and
/// counters of the kernel's copy dropped). False with `error` on failure.
bool dumpTable(NftSocket& sock, uint16_t family, NftRuleset& into, std::string& error);

}  // namespace policyc::backends::nft
