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
    // Indexed once per file: one diagnostic per line of a large file must not rescan it each time.
    if (lineStarts_.size() < files_.size()) lineStarts_.resize(files_.size());
    std::vector<size_t>& starts = lineStarts_[id - 1];
    if (starts.empty()) {
        starts.push_back(0);
        for (size_t pos = text.find('\n'); pos != text.npos; pos = text.find('\n', pos + 1))
            starts.push_back(pos + 1);
    }
    if (line > starts.size()) return {};
    const size_t pos = starts[line - 1];
    size_t end = text.find('\n', pos);
    std::string_view out = text.substr(pos, end == std::string_view::npos ? text.npos : end - pos);
    if (!out.empty() && out.back() == '\r') out.remove_suffix(1);
    return out;
}

}  // namespace policyc
