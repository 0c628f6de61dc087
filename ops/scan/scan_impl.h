// ops/scan/scan_impl.h — the choice every scan op offers between its two algorithms, which compute
// the same function (tests hold them equal for values and every gradient):
//   recurrent — one step at a time: the definition, and the form that streams token by token.
//   chunked   — chunks of Q steps with the state carried between chunks: the parallel form.
// Which one a model runs is LanguageModel's choice (models/language_model.h).
#pragma once

namespace ssm::ops {

enum class ScanImpl { recurrent, chunked };

}  // namespace ssm::ops
