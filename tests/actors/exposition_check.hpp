#pragma once
// Checks Prometheus text exposition (format 0.0.4) line by line: what a
// scraper would refuse, plus our naming rules (actorstack_ prefix —
// prometheus-cpp's own exposer_ metrics aside — and counters end in
// _total). Returns the first problem, or "" when valid.

#include <map>
// libstdc++'s <regex> trips -Wmaybe-uninitialized under the sanitizers (a
// known false positive in std::function inside the regex compiler).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#include <sstream>
#include <string>

inline std::string exposition_problem(const std::string& text) {
  static const std::regex help{R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$)"};
  static const std::regex type{R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)"};
  static const std::regex sample{
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|[Nn][Aa][Nn]|[+-]?[Ii][Nn][Ff])( -?[0-9]+)?$)"};
  std::map<std::string, std::string> types;
  std::istringstream in{text};
  std::string line;
  std::size_t samples = 0;
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.empty()) continue;
    if (std::regex_match(line, m, help)) continue;
    if (std::regex_match(line, m, type)) {
      const std::string name = m[1];
      if (name.rfind("actorstack_", 0) != 0 && name.rfind("exposer_", 0) != 0)
        return "not actorstack_-prefixed: " + line;
      if (m[2] == "counter" && (name.size() < 6 || name.substr(name.size() - 6) != "_total"))
        return "a counter without _total: " + line;
      if (types.count(name) != 0) return "TYPE declared twice: " + line;
      types[name] = m[2];
      continue;
    }
    if (std::regex_match(line, m, sample)) {
      std::string name = m[1];
      // Summaries and histograms expose name_sum, name_count, name_bucket.
      for (const char* suffix : {"_sum", "_count", "_bucket"}) {
        const std::string sfx = suffix;
        if (types.count(name) == 0 && name.size() > sfx.size() &&
            name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0) {
          const std::string base = name.substr(0, name.size() - sfx.size());
          if (types.count(base) != 0 && (types[base] == "summary" || types[base] == "histogram")) name = base;
        }
      }
      if (types.count(name) == 0) return "a sample before its TYPE: " + line;
      ++samples;
      continue;
    }
    return "not exposition format: " + line;
  }
  return samples == 0 ? "no samples" : "";
}
