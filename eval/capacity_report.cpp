// eval/capacity_report.cpp — runs the measurements and writes the report folder.
#include "eval/capacity_report.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "absl/strings/str_format.h"  // defines: absl::StrFormat, absl::StrAppendFormat
#include "core/error.h"
#include "eval/plots.h"  // defines: LinePlot, Heatmap

namespace ssm {
namespace fs = std::filesystem;

namespace {

double mean_of(const std::vector<double>& v, size_t begin, size_t end) {
  if (begin >= end) return std::nan("");
  double s = 0;
  for (size_t i = begin; i < end; ++i) s += v[i];
  return s / static_cast<double>(end - begin);
}

std::string onset_text(const CapacityReport& r) {
  return r.collapse_at ? absl::StrFormat("collapse at %d tokens", *r.collapse_at)
                       : absl::StrFormat("no collapse up to %d tokens", r.document_tokens);
}

}  // namespace

CapacityReport run_capacity(LanguageModel& model, const Tokenizer& tokenizer, const std::vector<TokenId>& document,
                            const CapacityOptions& options, Device device) {
  CapacityReport r;
  r.lengths = options.passkey.lengths;
  r.passkey = run_passkey(model, tokenizer, options.passkey, device);
  for (size_t i = 0; i < r.lengths.size() && r.passkey.accuracy_by_length[i] >= 0.95; ++i) r.t_recall = r.lengths[i];

  const std::vector<double> losses = per_token_loss(model, document, options.loss_chunk, device);
  r.document_tokens = static_cast<int64_t>(document.size());
  r.bucket_loss = bucket_means(losses, options.bucket);
  r.smoothed_loss = moving_average(r.bucket_loss, options.smooth);
  r.collapse_at = collapse_onset(r.smoothed_loss, options.bucket, options.train_length);
  const size_t split = std::min(losses.size(), static_cast<size_t>(std::max<int64_t>(options.train_length, 0)));
  r.loss_within = mean_of(losses, 0, split);
  r.loss_beyond = mean_of(losses, split, losses.size());
  r.states = state_statistics(model, document, options.state_chunk, device);
  return r;
}

void write_capacity_report(const CapacityReport& r, const CapacityOptions& o) {
  const fs::path dir(o.out_dir);
  fs::create_directories(dir);
  auto open = [&](const char* name) {
    std::ofstream out(dir / name);
    SSM_USER_CHECK(out.good(), "cannot write '", (dir / name).string(), "'");
    return out;
  };

  // Passkey: per-sample CSV, heatmap, accuracy by length.
  {
    std::ofstream csv = open("passkey.csv");
    csv << "length,prompt_tokens,depth,key,generated,correct\n";
    for (const PasskeySample& s : r.passkey.samples) {
      std::string gen = s.generated;
      for (char& c : gen) c = (c == '"' || c == '\n' || c == ',') ? ' ' : c;
      csv << s.length << "," << s.tokens << "," << s.depth << "," << s.key << ",\"" << gen << "\"," << s.correct << "\n";
    }
    Heatmap heat{"Passkey retrieval accuracy", "context length (tokens)", "needle depth", {}, {}, r.passkey.accuracy_grid};
    for (int64_t L : r.lengths) heat.col_labels.push_back(std::to_string(L));
    const int64_t bins = static_cast<int64_t>(r.passkey.accuracy_grid.size());
    for (int64_t b = 0; b < bins; ++b) heat.row_labels.push_back(absl::StrFormat("%.2f", (b + 1.0) / bins));
    heat.save((dir / "passkey_heatmap.svg").string());
    LinePlot by_len{"Passkey accuracy by context length", "context length (tokens)", "accuracy", {{"accuracy", {}}}};
    for (size_t i = 0; i < r.lengths.size(); ++i) {
      by_len.series[0].points.push_back({static_cast<double>(r.lengths[i]), r.passkey.accuracy_by_length[i]});
    }
    by_len.log_x = true;
    by_len.marker_x = static_cast<double>(o.train_length);
    by_len.marker_label = "training length";
    by_len.save((dir / "passkey_by_length.svg").string());
  }
  // Loss by position.
  {
    std::ofstream csv = open("position_loss.csv");
    csv << "bucket_start,bucket_end,mean_loss,smoothed_loss\n";
    LinePlot plot{"Loss by position (" + o.model_name + ")", "token position", "loss (nats)",
                  {{"bucket mean", {}}, {absl::StrFormat("mean of last %d", o.smooth), {}}}};
    for (size_t k = 0; k < r.bucket_loss.size(); ++k) {
      const int64_t start = static_cast<int64_t>(k) * o.bucket;
      csv << start << "," << start + o.bucket << "," << r.bucket_loss[k] << "," << r.smoothed_loss[k] << "\n";
      plot.series[0].points.push_back({start + o.bucket / 2.0, r.bucket_loss[k]});
      plot.series[1].points.push_back({start + o.bucket / 2.0, r.smoothed_loss[k]});
    }
    plot.marker_x = static_cast<double>(o.train_length);
    plot.marker_label = "training length";
    plot.save((dir / "position_loss.svg").string());
  }
  // State statistics.
  {
    std::ofstream csv = open("state_norm.csv");
    csv << "position,layer,head,mean,variance,rms,frobenius\n";
    std::map<int64_t, Series> per_layer;
    std::map<std::pair<int64_t, int64_t>, std::pair<double, int>> head_mean;  // (layer, position) -> sum, count
    for (const StateStatRow& s : r.states) {
      csv << s.position << "," << s.layer << "," << s.head << "," << s.mean << "," << s.variance << "," << s.rms << ","
          << s.frobenius << "\n";
      auto& acc = head_mean[{s.layer, s.position}];
      acc.first += s.rms;
      acc.second += 1;
    }
    LinePlot plot{"Recurrent state RMS (mean over heads)", "token position", "state RMS", {}};
    for (const auto& [key, acc] : head_mean) {
      Series& s = per_layer[key.first];
      s.name = "layer " + std::to_string(key.first);
      s.points.push_back({static_cast<double>(key.second), acc.first / acc.second});
    }
    for (auto& [layer, s] : per_layer) plot.series.push_back(s);
    plot.marker_x = static_cast<double>(o.train_length);
    plot.marker_label = "training length";
    plot.save((dir / "state_norm.svg").string());
  }
  // Summary and report.
  nlohmann::json summary = {{"model", o.model_name},
                            {"train_length", o.train_length},
                            {"passkey_lengths", r.lengths},
                            {"passkey_accuracy", r.passkey.accuracy_by_length},
                            {"t_recall", r.t_recall},
                            {"document_tokens", r.document_tokens},
                            {"collapse_at", r.collapse_at ? nlohmann::json(*r.collapse_at) : nlohmann::json()},
                            {"loss_within_train_length", std::isnan(r.loss_within) ? nlohmann::json() : nlohmann::json(r.loss_within)},
                            {"loss_beyond_train_length", std::isnan(r.loss_beyond) ? nlohmann::json() : nlohmann::json(r.loss_beyond)}};
  open("summary.json") << summary.dump(2) << "\n";

  std::ofstream md = open("report.md");
  md << "# Capacity report: " << o.model_name << "\n\n"
     << "Training length: " << o.train_length << " tokens.\n\n```\n" << capacity_summary_table(r, o) << "```\n\n"
     << "## Passkey retrieval\n\n"
     << "![passkey heatmap](passkey_heatmap.svg)\n\n![accuracy by length](passkey_by_length.svg)\n\n"
     << "Protocol (paper §4): prompt = prefix + filler blocks + suffix sized to at most L tokens of the model's own "
        "tokenizer; sample i of n puts the needle \"The passkey is K. Remember it. K is the passkey.\" at depth "
        "(i+0.5)/n (" << o.passkey.samples_per_length << " samples per length); greedy decoding of "
     << o.passkey.max_new_tokens << " tokens; correct iff the 5-digit key is a substring of the output. "
     << "T_recall = the largest tested length with accuracy >= 0.95 there and at every shorter length: **"
     << r.t_recall << "**. Per-sample data: [passkey.csv](passkey.csv).\n\n"
     << "## Loss by position\n\n![loss by position](position_loss.svg)\n\n"
     << "Per-token loss along one " << r.document_tokens << "-token document, streamed " << o.loss_chunk
     << " tokens at a time with the recurrent state carried, averaged in buckets of " << o.bucket << " tokens and smoothed by a trailing mean over " << o.smooth
     << " buckets. Collapse rule (paper §3), applied to the smoothed curve: the first bucket past the training "
        "length whose value exceeds twice the largest value within it. Result: **" << onset_text(r) << "**. Data: [position_loss.csv](position_loss.csv).\n\n"
     << "## Recurrent state\n\n![state norm](state_norm.svg)\n\n"
     << "After every " << o.state_chunk << " tokens, each layer's and head's SSM state (P x N) mean, unbiased variance, "
        "RMS and Frobenius norm (paper §6). Data: [state_norm.csv](state_norm.csv).\n";
}

std::string capacity_summary_table(const CapacityReport& r, const CapacityOptions& o) {
  std::string t = absl::StrFormat("%-28s %s\n", "passkey length", "accuracy");
  for (size_t i = 0; i < r.lengths.size(); ++i) {
    absl::StrAppendFormat(&t, "%-28d %.2f\n", r.lengths[i], r.passkey.accuracy_by_length[i]);
  }
  absl::StrAppendFormat(&t, "%-28s %d\n", "T_recall (acc >= 0.95)", r.t_recall);
  absl::StrAppendFormat(&t, "%-28s %.4f\n", "loss within train length", r.loss_within);
  absl::StrAppendFormat(&t, "%-28s %.4f\n", "loss beyond train length", r.loss_beyond);
  absl::StrAppendFormat(&t, "%-28s %s\n", "state collapse", onset_text(r));
  return t;
}

}  // namespace ssm
