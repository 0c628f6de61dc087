// core/json_read.cpp — JSON parsing with a nesting limit and duplicate-key refusal, and short value
// descriptions for messages. Files are read through core/regular_file.h (regular files only).
#include "core/json_read.h"

#include <set>
#include <vector>

#include "core/error.h"         // defines: UserError
#include "core/regular_file.h"  // defines: read_regular_file

namespace ssm {

using nlohmann::json;

namespace {

// Thrown from the parser callback, caught in parse_json_text and turned into a UserError: the
// callback cannot know the file's name.
struct Refused {
  std::string why;
};

}  // namespace

nlohmann::json parse_json_text(std::string_view text, const std::string& what) {
  // One set of keys per open object, innermost last (arrays open none).
  std::vector<std::set<std::string>> open_objects;
  const json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        // `depth` counts the containers around this one; the new one is one deeper.
        if (depth + 1 > kMaxJsonDepth) {
          throw Refused{absl::StrCat(" nests deeper than ", kMaxJsonDepth, " levels")};
        }
        if (event == json::parse_event_t::object_start) open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.back().insert(parsed.get<std::string>()).second) {
          throw Refused{absl::StrCat(" holds the key \"", parsed.get<std::string>(), "\" twice in one object")};
        }
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), check);
  } catch (const Refused& r) {
    throw UserError(absl::StrCat(what, r.why));
  } catch (const json::exception& e) {
    throw UserError(absl::StrCat(what, " is not valid JSON (", e.what(), ")"));
  }
}

namespace {

// Python's json module writes float('inf') as a bare Infinity (allow_nan), which is not JSON;
// transformers 5 writes {"__float__": "Infinity"} instead. The bare tokens, outside strings, are
// rewritten into the latter so both spellings reach the reader as one.
std::string python_floats_as_objects(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    bool replaced = false;
    for (const char* token : {"-Infinity", "Infinity", "NaN"}) {
      const std::string t(token);
      if (text.compare(i, t.size(), t) == 0) {
        out += absl::StrCat(R"({"__float__":")", t, R"("})");
        i += t.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += c;
  }
  return out;
}

}  // namespace

namespace {

std::string read_json_text(const std::string& path, size_t max_bytes) {
  return read_regular_file(path, absl::StrCat("cannot read '", path, "'"), static_cast<int64_t>(max_bytes),
                           "a JSON file here");
}

}  // namespace

nlohmann::json read_json_file(const std::string& path, size_t max_bytes) {
  return parse_json_text(read_json_text(path, max_bytes), path + ": the file");
}

nlohmann::json read_python_json_file(const std::string& path, size_t max_bytes) {
  return parse_json_text(python_floats_as_objects(read_json_text(path, max_bytes)), path + ": the file");
}

std::string describe_json(const nlohmann::json& value) {
  // A short flat array or object is printed ([0.0, 0.1]); anything nested or long is only named,
  // so describing never recurses and never prints a file's worth of text.
  if (value.is_structured()) {
    bool flat = value.size() <= 8;
    for (const json& item : value) flat = flat && !item.is_structured();
    if (!flat) {
      if (value.is_array()) return absl::StrCat("an array of ", value.size());
      return absl::StrCat("an object of ", value.size(), value.size() == 1 ? " key" : " keys");
    }
  }
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  constexpr size_t kMax = 80;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

}  // namespace ssm
