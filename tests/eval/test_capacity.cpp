// tests/eval/test_capacity.cpp — measure_capacity as a library call (what a sweep uses): both arms,
// the derived defaults, the report folder with every file and the numbers in report.md; and the
// report plumbing it rests on (SVG, CSV, atomic writes).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "eval/capacity.h"
#include "eval/capacity_report.h"
#include "eval/eval_text.h"
#include "eval/plots.h"
#include "eval/report_io.h"
#include "tests/support/eval_fixtures.h"
#include "tests/support/testing.h"

using namespace ssm;
using namespace ssm::testing;
namespace fs = std::filesystem;

namespace {

EvalModel tiny_eval_model() {
  EvalModel m;
  m.model = std::make_unique<Mamba2Model>(tiny_mamba2(2));
  m.tokenizer = std::make_unique<ByteTokenizer>();
  m.train_length = 64;
  m.description = "tiny test model";
  return m;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("measure_capacity: baseline and mitigated arms, defaults from the training length, a full report") {
  EvalModel m = tiny_eval_model();
  CapacityOptions o;
  o.passkey.samples = 2;
  o.recall.max_length = 600;
  o.loss_sequences = {fit_to_length(*m.tokenizer, synthetic_prompt("capital"), 512)};
  o.loss.bucket = 32;
  o.loss.smooth = 2;
  o.mitigations.scan.retention_scale = 0.99;
  o.mitigations.scan.insertion_scale = 0.75;
  o.mitigations.state_norm = true;
  std::vector<std::string> log;
  o.log = [&](const std::string& line) { log.push_back(line); };
  const CapacityResult r = measure_capacity(m, o);

  REQUIRE(r.arms.size() == 2);
  CHECK(r.arms[0].name == "baseline");
  CHECK(r.arms[0].mitigations.describe() == "none");
  CHECK(r.arms[1].mitigations.describe() == "RRI λ=0.99 γ=0.75, state norm (every 128 tokens)");
  CHECK_FALSE(r.arms[1].mitigations.thresholds.empty());  // recorded on the newlines reference
  // Start at the shortest prompt (a 64-token training length cannot hold one), resolution 64/8.
  const int64_t shortest = shortest_passkey_prompt(*m.tokenizer, false);
  CHECK(shortest == 93 + 37 + 90);
  CHECK(r.options.recall.start == shortest);
  CHECK(r.options.recall.resolution == 8);
  CHECK(r.options.loss.train_length == 64);
  CHECK(r.state_elements == 2 * 4 * 8 * 8);
  for (const CapacityArm& a : r.arms) {
    CHECK(a.recall.probes.front().length == shortest);
    CHECK(a.passkey.lengths.size() == a.recall.probes.size());
    CHECK(a.loss.length == 512);
    CHECK(a.loss.bucket_loss.size() == 16);
    CHECK(a.states.tokens == 4 * 64);  // the first sequence cut to 4x the training length
  }
  CHECK(log.size() >= 6);
  CHECK(r.options.loss_sequences.empty());  // inputs are not kept in the result

  const fs::path dir = fs::temp_directory_path() / "ssmlab_test_capacity";
  fs::remove_all(dir);
  write_capacity_report(dir.string(), r);
  for (const char* f : {"report.md", "summary.json", "comparison.csv", "passkey_accuracy.svg", "position_loss.svg",
                        "state_norm.svg", "first_token_retention.svg"}) {
    CHECK_MESSAGE(fs::exists(dir / f), f);
  }
  for (const char* arm : {"baseline", "mitigated"}) {
    for (const char* f : {"passkey_samples.csv", "passkey_heatmap.svg", "passkey_last_r.svg", "position_loss.csv",
                          "position_loss.svg", "state_moments.csv", "retention.csv", "inputs.csv", "outliers.csv",
                          "histograms.csv", "L0_state_mean.svg", "L1_first_token_retention.svg", "L1_histogram.svg"}) {
      CHECK_MESSAGE(fs::exists(dir / arm / f), arm << "/" << f);
    }
  }
  const std::string md = slurp(dir / "report.md");
  for (const CapacityArm& a : r.arms) {
    CHECK(md.find(a.recall.verdict()) != std::string::npos);
    CHECK(md.find(a.loss.verdict()) != std::string::npos);
  }
  CHECK(md.find("Training length: **64** tokens") != std::string::npos);
  // The first paragraph says what was found, in plain words, before any table.
  const size_t verdict = md.find("**Verdict.** Trained on sequences of 64 tokens, ");
  REQUIRE(verdict != std::string::npos);
  CHECK(verdict < md.find("| quantity |"));
  const std::string first = r.arms[0].loss.collapse.onset
                                ? "collapses at position " + std::to_string(*r.arms[0].loss.collapse.onset)
                                : "does not collapse";
  CHECK(md.find(first, verdict) != std::string::npos);
  CHECK(md.find("With " + r.arms[1].mitigations.describe() + ", ", verdict) != std::string::npos);
  const nlohmann::json summary = nlohmann::json::parse(slurp(dir / "summary.json"));
  CHECK(summary["arms"].size() == 2);
  CHECK(summary["arms"][0]["t_recall"] == r.arms[0].recall.t_recall);
  CHECK(summary["train_length"] == 64);
  const std::string table = capacity_summary_table(r);
  CHECK(table.find("T_forget verdict") != std::string::npos);
  CHECK(table.find("mitigated") != std::string::npos);
}

TEST_CASE("capacity refuses inputs it cannot use") {
  EvalModel m = tiny_eval_model();
  CapacityOptions o;
  CHECK_THROWS_WITH_AS(measure_capacity(m, o), doctest::Contains("loss_sequences is empty"), UserError);
  o.loss_sequences = {some_text(300)};
  o.recall.start = 100;  // shorter than any passkey prompt
  CHECK_THROWS_WITH_AS(measure_capacity(m, o), doctest::Contains("too short"), UserError);
}

TEST_CASE("A long line is thinned to a few points per pixel column, its extremes kept; long legends widen the canvas") {
  // 20000 points over ~500 px: a slow ramp with one spike up and one dip down.
  Series s{"T_train 1024: collapse at 44160 tokens (a long legend entry)", {}};
  for (int i = 0; i < 20000; ++i) s.points.emplace_back(i, i == 12345 ? 100.0 : i == 777 ? -50.0 : i * 1e-3);
  LinePlot p{"thinning", "t", "y", {s}};
  const std::string svg = p.to_svg();
  const size_t d = svg.find("<path d=\"");
  REQUIRE(d != std::string::npos);
  const std::string path = svg.substr(d, svg.find('"', d + 9) - d);
  const auto vertices = std::count(path.begin(), path.end(), 'L') + 1;
  CHECK(vertices < 4 * 2 * 600);  // at most four per half-pixel column of a < 600 px plot
  CHECK(vertices > 2 * 400);      // but every column keeps its points
  // The spike and the dip are drawn at the plot's top and bottom (y = 0 and 100 pixels apart).
  double y_min = 1e9, y_max = -1e9;
  for (size_t at = path.find_first_of("ML"); at != std::string::npos; at = path.find_first_of("ML", at + 1)) {
    double x = 0, y = 0;
    REQUIRE(std::sscanf(path.c_str() + at + 1, "%lf %lf", &x, &y) == 2);
    y_min = std::min(y_min, y), y_max = std::max(y_max, y);
  }
  CHECK(y_max - y_min > 300);  // the full height of the plot area (about 340 px less the padding)
  double width = 0;
  REQUIRE(std::sscanf(svg.c_str() + svg.find("width=\"") + 7, "%lf", &width) == 1);
  CHECK(width > 760);  // the legend entry needs more than the default canvas
}

TEST_CASE("SVG output is well formed: escaping, log axes, markers, heatmap cells") {
  LinePlot p{"loss <by> position", "t", "loss", {{"layer 0", {{1, 1}, {10, 2}}}, {"layer 1", {{1, 3}, {10, 1}}}}};
  p.marker_x = 5;
  p.marker_label = "training length";
  p.marker_y = 2.5;
  p.marker_y_label = "threshold";
  p.log_x = true;
  p.log_y = true;
  const std::string svg = p.to_svg();
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(svg.find("layer 1") != std::string::npos);
  CHECK(svg.find("loss &lt;by&gt; position") != std::string::npos);
  CHECK(svg.find("threshold") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(std::count(svg.begin(), svg.end(), '<') == std::count(svg.begin(), svg.end(), '>'));
  // Curves that coincide stay distinguishable: the first solid, the second dashed and drawn after.
  const size_t first_path = svg.find("<path d="), second_path = svg.find("<path d=", first_path + 1);
  REQUIRE(second_path != std::string::npos);
  CHECK(svg.substr(first_path, svg.find("/>", first_path) - first_path).find("stroke-dasharray") == std::string::npos);
  CHECK(svg.substr(second_path, svg.find("/>", second_path) - second_path).find("stroke-dasharray=\"7 4\"") !=
        std::string::npos);
  Heatmap h;
  h.col_labels = {"1K", "2K"};
  h.row_labels = {"0.5", "1.0"};
  h.values = {{1.0, std::nan("")}, {0.0, 0.5}};
  const std::string hs = h.to_svg();
  CHECK(hs.find("#eeeeee") != std::string::npos);  // the empty cell
  CHECK(rdylgn_colour(-0.2) == "#a50026");          // vmin: the darkest red
  CHECK(rdylgn_colour(1.2) == "#006837");           // vmax: the darkest green
  CHECK(rdylgn_colour(1.0) != rdylgn_colour(1.2));  // accuracy 1 is a soft green, as the paper draws it
}

TEST_CASE("report files: RFC 4180 CSV, markdown escaping, atomic writes that name the path") {
  CHECK(csv_field("plain") == "plain");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"\n") == "\"say \"\"hi\"\"\n\"");
  CHECK(csv_table({"a", "b"}, {{"1", "x,y"}}) == "a,b\n1,\"x,y\"\n");
  CHECK(markdown_table({"k", "v"}, {{"a|b", "1"}}) == "| k | v |\n| --- | --- |\n| a\\|b | 1 |\n");
  CHECK(format_number(std::nan("")) == "");
  CHECK(format_number(1.25e-9) == "1.25e-09");
  const fs::path dir = fs::temp_directory_path() / "ssmlab_test_report_io";
  fs::remove_all(dir);
  const ReportTarget target{dir.string(), "arm_", "", 0};
  const std::string path = target.path("x.csv");
  CHECK(path == (dir / "arm_x.csv").string());
  write_text_file(path, "one\n");
  write_text_file(path, "two\n");
  CHECK(slurp(path) == "two\n");
  CHECK_FALSE(fs::exists(path + ".tmp"));
  CHECK_THROWS_WITH_AS(write_text_file((dir / "no" / "such" / "f").string(), "x"), doctest::Contains("cannot write"),
                       UserError);
}
