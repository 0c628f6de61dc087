// core/json_read.h — parsing the JSON files ssmlab reads (safetensors headers, config.json,
// trainer_state.json, shard indexes) defensively, and describing a JSON value in an error message.
//
// Three rules hold for every such file:
//   * nesting is limited (kMaxJsonDepth): nlohmann's copy and dump recurse, so a 10^6-deep array
//     would overflow the stack long after parsing succeeded; it is refused while parsing instead;
//   * a key given twice in one object is refused: readers would silently keep one of the two;
//   * error messages never dump a whole value (describe_json): a nested or long array or object
//     is named by its type and size, anything else is printed, cut to a line.
// Every defect is a UserError starting with the file's name.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>  // defines: nlohmann::json

namespace ssm {

// Deeper than any file ssmlab reads needs (a safetensors header is 3 deep, config.json about 4).
constexpr int kMaxJsonDepth = 64;

// Parses `text`; `what` begins each error's sentence: "<what> is not valid JSON (...)",
// "<what> nests deeper than 64 levels", "<what> holds the key "k" twice in one object".
nlohmann::json parse_json_text(std::string_view text, const std::string& what);

// Reads and parses a regular file of at most `max_bytes` (errors: "<path>: the file is not valid
// JSON ..."); anything else (missing, a directory, a FIFO, too large) is a UserError naming the path.
nlohmann::json read_json_file(const std::string& path, size_t max_bytes = size_t{64} << 20);

// read_json_file for files Python's json module wrote (config.json): its bare Infinity, -Infinity
// and NaN, which JSON lacks, are read as transformers 5 spells them, {"__float__": "Infinity"}.
nlohmann::json read_python_json_file(const std::string& path, size_t max_bytes = size_t{64} << 20);

// A short description of a value for an error message: `"abc"`, `5`, `null`, `[0.0,0.1]` (a
// short flat array or object), `an array of 300`, `an object of 2 keys` (nested or long ones).
std::string describe_json(const nlohmann::json& value);

}  // namespace ssm
