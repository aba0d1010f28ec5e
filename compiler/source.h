// SPDX-License-Identifier: GPL-2.0-or-later
// Source files and spans: every IR element and diagnostic points back into the .pol text.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace policyc {

/// A file position range. Line and column are 1-based; column counts bytes. `file == 0` means
/// "no source" (imported or live input, or an element the compiler made up without a cause).
struct SourceSpan {
    uint32_t file = 0;
    uint32_t line = 0;
    uint32_t column = 0;
    uint32_t endLine = 0;
    uint32_t endColumn = 0;  // inclusive: the last byte of the spanned text

    bool valid() const { return file != 0 && line != 0; }
    /// Spans are metadata: two IR values that differ only in where they came from are equal.
    bool operator==(const SourceSpan&) const { return true; }
};

/// Owns the text of every file read, so diagnostics can quote source lines long after parsing.
class SourceManager {
  public:
    struct File {
        std::string path;
        std::string text;
    };

    /// Registers a file's contents and returns its id (never 0).
    uint32_t add(std::string path, std::string text);
    const File& file(uint32_t id) const { return files_.at(id - 1); }
    std::string_view path(uint32_t id) const;
    /// The text of line `line` (1-based) without its newline, or empty when out of range.
    std::string_view lineText(uint32_t id, uint32_t line) const;
    uint32_t fileCount() const { return static_cast<uint32_t>(files_.size()); }

  private:
    std::deque<File> files_;  // deque: references stay valid as files are added during includes
    mutable std::vector<std::vector<size_t>> lineStarts_;  // by lineText(), per file, lazily
};

}  // namespace policyc
