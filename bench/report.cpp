// SPDX-License-Identifier: MIT
// bench_report: reads the benchmarks' JSON lines and
//   * prints (and writes with --md) the markdown tables: spawn latency per
//     method and parent RSS with the ratio to `floor`, the memory reads
//     ("benchmark":"read"), and every goal with PASS/FAIL;
//   * writes a gnuplot script (--gnuplot FILE, drawing --png FILE) of spawn
//     latency against parent RSS;
//   * exits 3 if a spawn method is missing at one of the --rss-mib points
//     or a read method is missing, and with --check-goals exits 1 if a goal
//     fails ("sample" lines: their own table and goal, sample_report).
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

// The spawn methods every full run must contain, in table order.
const std::vector<std::string> kMethods = {"floor",
                                           "floor_pidfd_signals",
                                           "floor_suspended",
                                           "taskport",
                                           "taskport_hook",
                                           "taskport_suspended",
                                           "posix_spawn_pidfd",
                                           "fork_exec_pidfd",
                                           "boost_v2_default",
                                           "boost_v2_vfork",
                                           "rust_std",
                                           "rust_std_pre_exec"};
// The other libraries' ways of spawning: taskport must be below each.
const std::vector<std::string> kPeers = {"posix_spawn_pidfd", "boost_v2_vfork",    "boost_v2_default",
                                         "rust_std",          "rust_std_pre_exec", "fork_exec_pidfd"};
// The read methods (read_taskport.cpp), each present once.
const std::vector<std::string> kReadMethods = {"read_many",
                                               "read_many_floor",
                                               "process_vm_readv_per_value",
                                               "pread_per_value",
                                               "read_many_dense",
                                               "read_many_dense_floor",
                                               "process_vm_readv_per_value_dense",
                                               "pread_per_value_dense",
                                               "block_read",
                                               "block_read_single",
                                               "block_read_2_threads",
                                               "memcpy"};

struct Point {
  double median = 0, p10 = 0, p90 = 0;
  long n = 0;
};

// A flat JSON object: string keys, string or number values.
using Object = std::map<std::string, std::string>;

std::optional<Object> parse_line(const std::string& s) {
  Object obj;
  std::size_t i = 0;
  auto ws = [&] {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  };
  auto str = [&]() -> std::optional<std::string> {
    if (i >= s.size() || s[i] != '"') return std::nullopt;
    std::string out;
    for (++i; i < s.size() && s[i] != '"'; ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      out += s[i];
    }
    if (i >= s.size()) return std::nullopt;
    ++i;
    return out;
  };
  ws();
  if (i >= s.size() || s[i] != '{') return std::nullopt;
  ++i;
  for (;;) {
    ws();
    if (i < s.size() && s[i] == '}') return obj;
    auto key = str();
    if (!key) return std::nullopt;
    ws();
    if (i >= s.size() || s[i] != ':') return std::nullopt;
    ++i;
    ws();
    std::string value;
    if (i < s.size() && s[i] == '"') {
      auto v = str();
      if (!v) return std::nullopt;
      value = *v;
    } else {
      while (i < s.size() && s[i] != ',' && s[i] != '}' && !std::isspace(static_cast<unsigned char>(s[i])))
        value += s[i++];
    }
    obj[*key] = value;
    ws();
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && s[i] == '}') return obj;
    return std::nullopt;
  }
}

std::string rss_label(long mib) {
  if (mib >= 1024 && mib % 1024 == 0) return std::to_string(mib / 1024) + " GiB";
  return std::to_string(mib) + " MiB";
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string us(double v) { return v >= 100 ? fmt("%.0f", v) : fmt("%.1f", v); }

std::string ratio(double v) { return v >= 10 ? fmt("%.0f×", v) : fmt("%.2f×", v); }

double number(const std::map<std::string, Object>& reads, const std::string& method, const std::string& key) {
  auto it = reads.find(method);
  if (it == reads.end()) return 0;
  auto v = it->second.find(key);
  return v == it->second.end() ? 0 : std::atof(v->second.c_str());
}

// The read tables and the read goals (each from the medians of the JSON
// lines). Returns true if a goal fails (a missing method fails its goals).
bool read_tables(const std::map<std::string, Object>& reads, std::ostringstream& md) {
  if (reads.empty()) return false;
  auto med = [&](const std::string& m) { return number(reads, m, "median_us"); };
  auto ns = [&](const std::string& m) { return number(reads, m, "ns_per_value"); };
  auto cell = [&](const std::string& m) {
    return reads.count(m) ? us(med(m)) + " µs (" + fmt("%.0f", ns(m)) + " ns/value)" : std::string("missing");
  };
  const long values = static_cast<long>(number(reads, "read_many", "values"));
  md << "\nMemory reads (" << values << " × 8 B; medians):\n\n"
     << "| read method | values over 64 MiB (~1 per page) | over 1 MiB (~40 per page) |\n|---|--:|--:|\n"
     << "| read_many | " << cell("read_many") << " | " << cell("read_many_dense") << " |\n"
     << "| floor: raw process_vm_readv of read_many's iovecs | " << cell("read_many_floor") << " | "
     << cell("read_many_dense_floor") << " |\n"
     << "| process_vm_readv per value | " << cell("process_vm_readv_per_value") << " | "
     << cell("process_vm_readv_per_value_dense") << " |\n"
     << "| pread /proc/pid/mem per value | " << cell("pread_per_value") << " | "
     << cell("pread_per_value_dense") << " |\n";
  const double block_mib = number(reads, "block_read", "bytes") / (1 << 20);
  md << "\n| block (" << fmt("%.0f", block_mib)
     << " MiB) | median | bandwidth | × memcpy |\n|---|--:|--:|--:|\n";
  const double copy = med("memcpy");
  for (const char* m : {"block_read", "block_read_single", "block_read_2_threads", "memcpy"}) {
    md << "| " << m << " | " << (reads.count(m) ? us(med(m)) + " µs" : "missing") << " | "
       << fmt("%.0f", number(reads, m, "mib_per_s")) << " MiB/s | "
       << (med(m) > 0 ? fmt("%.0f%%", 100 * copy / med(m)) : "—") << " |\n";
  }
  struct ReadGoal {
    std::string text;
    double value;  // 0: missing
    bool at_most;
    double limit;
    bool percent;
  };
  auto ratio_of = [&](const std::string& a, const std::string& b) {
    return med(a) > 0 && med(b) > 0 ? med(a) / med(b) : 0.0;
  };
  const std::vector<ReadGoal> goals = {
      {"read_many ≤ 1.1 × its floor (~1 value per page)", ratio_of("read_many", "read_many_floor"), true, 1.1,
       false},
      {"read_many ≤ 1.1 × its floor (~40 values per page)",
       ratio_of("read_many_dense", "read_many_dense_floor"), true, 1.1, false},
      {"read_many ≥ 10× process_vm_readv per value (~40 values per page)",
       ratio_of("process_vm_readv_per_value_dense", "read_many_dense"), false, 10, false},
      {"block read (Task::read) ≥ 70% of memcpy bandwidth", ratio_of("memcpy", "block_read"), false, 0.7,
       true},
  };
  bool any_fail = false;
  md << "\n| read goal | measured | result |\n|---|--:|---|\n";
  for (const auto& g : goals) {
    const bool ok = g.value > 0 && (g.at_most ? g.value <= g.limit : g.value >= g.limit);
    any_fail = any_fail || !ok;
    md << "| " << g.text << " | "
       << (g.value <= 0 ? "missing"
           : g.percent  ? fmt("%.0f%%", 100 * g.value)
                        : ratio(g.value))
       << " | " << (ok ? "**PASS**" : "**FAIL**") << " |\n";
  }
  return any_fail;
}

// The "sample" benchmark (sample_taskport.cpp): its table and its goal,
// "taskport ≤ 1.5 × floor" on the medians. `fail` is set if the goal fails
// or a method is missing.
std::string sample_report(const std::map<std::string, Object>& lines, bool& fail) {
  std::ostringstream md;
  md << "\nProfiler sample (suspend + registers of every thread + resume): median µs [p10–p90].\n\n"
     << "| method | threads | sample µs | per thread µs | stop | registers | resume |\n"
     << "|---|--:|--:|--:|--:|--:|--:|\n";
  auto get = [&](const char* method) -> const Object* {
    auto it = lines.find(method);
    return it == lines.end() ? nullptr : &it->second;
  };
  auto num = [](const Object& o, const char* key) {
    auto it = o.find(key);
    return it == o.end() ? 0.0 : std::atof(it->second.c_str());
  };
  for (const char* method : {"taskport", "floor"}) {
    const Object* o = get(method);
    if (!o) {
      md << "| " << method << " | missing | | | | | |\n";
      continue;
    }
    md << "| " << method << " | " << fmt("%.0f", num(*o, "threads")) << " | " << us(num(*o, "median_us"))
       << " [" << us(num(*o, "p10_us")) << "–" << us(num(*o, "p90_us")) << "] | "
       << fmt("%.2f", num(*o, "per_thread_us")) << " | " << us(num(*o, "stop_us")) << " | "
       << us(num(*o, "registers_us")) << " | " << us(num(*o, "resume_us")) << " |\n";
  }
  const Object* ours = get("taskport");
  const Object* floor = get("floor");
  md << "\n| sample goal | measured | result |\n|---|--:|---|\n| sample: taskport ≤ 1.5 × floor | ";
  if (!ours || !floor || num(*floor, "median_us") <= 0) {
    md << "missing | **FAIL** |\n";
    fail = true;
    return md.str();
  }
  const double r = num(*ours, "median_us") / num(*floor, "median_us");
  md << ratio(r) << " | " << (r <= 1.5 ? "**PASS**" : "**FAIL**") << " |\n";
  fail = fail || r > 1.5;
  return md.str();
}

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "bench_report: " << why
            << "\nusage: bench_report --in FILE.jsonl --rss-mib 16,1024,4096 [--md FILE] "
               "[--gnuplot FILE --png FILE] [--title TEXT] [--check-goals]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string in, md_path, gp_path, png_path, title = "taskport spawn latency vs parent RSS";
  std::vector<long> rss_points;
  bool check_goals = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--in") in = value();
    else if (a == "--md") md_path = value();
    else if (a == "--gnuplot") gp_path = value();
    else if (a == "--png") png_path = value();
    else if (a == "--title") title = value();
    else if (a == "--check-goals") check_goals = true;
    else if (a == "--rss-mib") {
      std::stringstream ss(value());
      std::string item;
      while (std::getline(ss, item, ',')) rss_points.push_back(std::atol(item.c_str()));
    } else usage("unknown argument " + a);
  }
  if (in.empty() || rss_points.empty()) usage("--in and --rss-mib are required");
  if (gp_path.empty() != png_path.empty()) usage("--gnuplot and --png go together");

  std::ifstream f(in);
  if (!f) usage("cannot read " + in);
  std::map<std::pair<std::string, long>, Point> data;  // (method, rss) -> point; a later line wins
  std::map<std::string, Object> reads;                 // read method -> its line
  std::map<std::string, Object> samples;               // "sample" lines by method; a later line wins
  std::string line;
  int lineno = 0, bad = 0;
  while (std::getline(f, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto obj = parse_line(line);
    if (!obj || !obj->count("benchmark") || !obj->count("method") || !obj->count("parent_rss_mib") ||
        !obj->count("median_us") || !obj->count("p10_us") || !obj->count("p90_us") || !obj->count("n")) {
      std::cerr << in << ":" << lineno << ": not a measurement line\n";
      ++bad;
      continue;
    }
    if ((*obj)["benchmark"] == "read") reads[(*obj)["method"]] = *obj;
    if ((*obj)["benchmark"] == "sample") samples[(*obj)["method"]] = *obj;
    if ((*obj)["benchmark"] != "spawn") continue;
    Point p{std::atof((*obj)["median_us"].c_str()), std::atof((*obj)["p10_us"].c_str()),
            std::atof((*obj)["p90_us"].c_str()), std::atol((*obj)["n"].c_str())};
    data[{(*obj)["method"], std::atol((*obj)["parent_rss_mib"].c_str())}] = p;
  }

  auto get = [&](const std::string& m, long rss) -> const Point* {
    auto it = data.find({m, rss});
    return it == data.end() ? nullptr : &it->second;
  };

  std::vector<std::string> missing;
  for (const auto& m : kMethods)
    for (long rss : rss_points)
      if (!get(m, rss)) missing.push_back(m + "@" + rss_label(rss));
  for (const auto& m : kReadMethods)
    if (!reads.count(m)) missing.push_back(m);

  std::ostringstream md;
  // Table 1: latency and ratio to floor.
  md << "Spawn latency: median µs [p10–p90], and the median's ratio to `floor`.\n\n| method |";
  for (long rss : rss_points) md << " " << rss_label(rss) << " µs | × floor |";
  md << "\n|---|";
  for (std::size_t k = 0; k < rss_points.size(); ++k) md << "--:|--:|";
  md << "\n";
  for (const auto& m : kMethods) {
    md << "| " << m << " |";
    for (long rss : rss_points) {
      const Point* p = get(m, rss);
      const Point* fl = get("floor", rss);
      if (!p) {
        md << " missing | |";
        continue;
      }
      md << " " << us(p->median) << " [" << us(p->p10) << "–" << us(p->p90) << "] |";
      md << " " << (fl && fl->median > 0 ? ratio(p->median / fl->median) : "—") << " |";
    }
    md << "\n";
  }

  // Table 2: the goals.
  struct Goal {
    std::string text, num, den;
    bool at_every_point;  // else only at 4 GiB
    bool at_most;         // ratio num/den must be <= limit (else >= limit)
    double limit;
    bool strict = false;  // < limit (at_most) instead of <=
  };
  std::vector<Goal> goals = {
      {"taskport ≤ 1.2 × floor", "taskport", "floor", true, true, 1.2},
      {"taskport ≤ 1.1 × floor_pidfd_signals (the floor + the guarantees)", "taskport", "floor_pidfd_signals",
       true, true, 1.1},
  };
  for (const auto& peer : kPeers)
    goals.push_back({"taskport < " + peer, "taskport", peer, true, true, 1.0, true});
  goals.push_back(
      {"fork + exec + pidfd_open ≥ 50 × taskport (4 GiB)", "fork_exec_pidfd", "taskport", false, false, 50});
  goals.push_back(
      {"Rust std with pre_exec ≥ 50 × taskport (4 GiB)", "rust_std_pre_exec", "taskport", false, false, 50});
  bool any_fail = false;
  md << "\nGoals (ratio of medians):\n\n| goal |";
  for (long rss : rss_points) md << " " << rss_label(rss) << " |";
  md << " result |\n|---|";
  for (std::size_t k = 0; k < rss_points.size(); ++k) md << "--:|";
  md << "---|\n";
  for (const auto& g : goals) {
    md << "| " << g.text << " |";
    bool evaluated = false, pass = true;
    for (long rss : rss_points) {
      bool applies = g.at_every_point || rss == 4096;
      const Point* a = get(g.num, rss);
      const Point* b = get(g.den, rss);
      if (!applies) {
        md << " |";
        continue;
      }
      if (!a || !b || b->median <= 0) {
        md << " missing |";
        pass = false;
        evaluated = true;
        continue;
      }
      double r = a->median / b->median;
      bool ok = g.at_most ? (g.strict ? r < g.limit : r <= g.limit) : r >= g.limit;
      md << " " << ratio(r) << (ok ? "" : " ✗") << " |";
      evaluated = true;
      pass = pass && ok;
    }
    if (!evaluated) md << " n/a (no 4 GiB point) |\n";
    else {
      md << (pass ? " **PASS** |\n" : " **FAIL** |\n");
      any_fail = any_fail || !pass;
    }
  }
  any_fail = read_tables(reads, md) || any_fail;
  md << sample_report(samples, any_fail);
  if (!missing.empty()) {
    md << "\nMissing measurements:";
    for (const auto& m : missing) md << " " << m;
    md << "\n";
  }

  std::cout << md.str();
  if (!md_path.empty()) std::ofstream(md_path) << md.str();

  if (!gp_path.empty()) {
    std::ofstream gp(gp_path);
    gp << "set terminal pngcairo size 1100,680 font 'sans,10'\n"
       << "set output '" << png_path << "'\n"
       << "set title '" << title << "'\n"
       << "set logscale xy 2\nset logscale y 10\n"
       << "set xlabel 'parent RSS (touched pages)'\n"
       << "set ylabel \"time until the handle is held and exec is known (µs)\\nmedian; bars p10–p90\"\n"
       << "set xtics (";
    for (std::size_t k = 0; k < rss_points.size(); ++k)
      gp << (k ? ", " : "") << "'" << rss_label(rss_points[k]) << "' " << rss_points[k];
    gp << ")\nset xrange [" << rss_points.front() * 0.7 << ":" << rss_points.back() * 1.4 << "]\n"
       << "set grid ytics mytics xtics\nset key outside right top\n";
    std::vector<std::string> plotted;
    for (std::size_t k = 0; k < kMethods.size(); ++k) {
      std::string block = "$m" + std::to_string(k);
      bool any = false;
      for (long rss : rss_points) any = any || get(kMethods[k], rss);
      if (!any) continue;
      gp << block << " << EOD\n";
      for (long rss : rss_points)
        if (const Point* p = get(kMethods[k], rss))
          gp << rss << " " << p->median << " " << p->p10 << " " << p->p90 << "\n";
      gp << "EOD\n";
      std::string name = kMethods[k];
      for (auto& c : name)
        if (c == '_') c = ' ';
      // Fixed colours (gnuplot's default palette repeats after 8), one per
      // method of kMethods in order (they repeat if methods are added): the
      // floors in black and greys, the taskport family in blues and drawn
      // thicker.
      static const char* const kColors[] = {"#000000", "#737373", "#bdbdbd", "#08519c", "#3182bd", "#6baed6",
                                            "#31a354", "#de2d26", "#fd8d3c", "#8c510a", "#756bb1", "#c51b8a"};
      const char* colour = kColors[k % (sizeof kColors / sizeof kColors[0])];
      const bool ours = kMethods[k].rfind("taskport", 0) == 0;
      plotted.push_back(block + " using 1:2:3:4 with yerrorlines lw " + (ours ? "3" : "1.5") + " pt " +
                        std::to_string(k + 1) + " lc rgb '" + colour + "' title '" + name + "'");
    }
    gp << "plot ";
    for (std::size_t k = 0; k < plotted.size(); ++k) gp << (k ? ", \\\n     " : "") << plotted[k];
    gp << "\n";
  }

  if (bad) return 3;
  if (!missing.empty()) {
    std::cerr << "bench_report: missing measurements:";
    for (const auto& m : missing) std::cerr << " " << m;
    std::cerr << "\n";
    return 3;
  }
  return check_goals && any_fail ? 1 : 0;
}
