// SPDX-License-Identifier: GPL-2.0-or-later
#include "compiler/source.h"

namespace policyc {

uint32_t SourceManager::add(std::string path, std::string text) {
    files_.push_back(File{std::move(path), std::move(text)});
    return static_cast<uint32_t>(files_.size());
}

std::string_view SourceManager::path(uint32_t id) const {
    if (id == 0 || id > files_.size()) return {};
    return files_[id - 1].path;
}

std::string_view SourceManager::lineText(uint32_t id, uint32_t line) const {
    if (id == 0 || id > files_.size() || line == 0) return {};
    std::string_view text = files_[id - 1].text;
    size_t pos = 0;
    for (uint32_t l = 1; l < line; ++l) {
        pos = text.find('\n', pos);
        if (pos == std::string_view::npos) return {};
        ++pos;
    }
    size_t end = text.find('\n', pos);
    std::string_view out = text.substr(pos, end == std::string_view::npos ? text.npos : end - pos);
    if (!out.empty() && out.back() == '\r') out.remove_suffix(1);
    return out;
}

}  // namespace policyc
