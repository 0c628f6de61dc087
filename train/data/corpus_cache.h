// train/data/corpus_cache.h — a corpus source on disk turned into a token file, once.
//
// Sources and their documents:
//   text    a file (one document) or a directory whose *.txt files, searched recursively and
//           sorted by path, are one document each
//   bible   the directory scripts/make_bible_corpus.sh writes (one book per .txt file)
//   jsonl   a .jsonl file or a directory of them (recursive, sorted); each non-empty line is a
//           JSON object whose string field `text_key` ("text" by default) is one document
//   tokens  an ssmlab token file (train/data/token_file.h), used as it is: no tokenizer, no cache
//
// Tokenizing is done once: the documents, each followed by the tokenizer's EOS, are written to
// <cache dir>/<name>-<key>.tok, where the key hashes the kind, text_key, every file's path, size
// and modification time, and the tokenizer's identity (name, vocabulary, EOS and the ids of a
// fixed probe text). A changed corpus or tokenizer gets a new entry; an unchanged one is opened
// straight away. Entries are written to a temporary name and renamed, so concurrent processes
// (the ranks of a data-parallel run) never read a partial one. A progress bar is drawn on a
// terminal. Stale entries are never deleted automatically: remove the directory to reclaim space.
#pragma once

#include <string>

#include "train/data/data_config.h"  // defines: DataSource
#include "train/data/token_file.h"  // defines: TokenFile
#include "train/text/tokenizer.h"   // defines: Tokenizer

namespace ssm {

// data.cache_dir when set, else $SSMLAB_CACHE_DIR, else $XDG_CACHE_HOME/ssmlab, else
// $HOME/.cache/ssmlab, else <temp dir>/ssmlab-cache.
std::string resolve_cache_dir(const std::string& configured);

// The token file holding `source`'s documents. `key` is its config path ("data.sources[0]") for
// messages. UserError naming the key and the file when a path is missing, a file is corrupt
// (bad JSON line, bad token file) or there is no text at all.
TokenFile corpus_token_file(const DataSource& source, const std::string& key, const Tokenizer& tokenizer,
                            const std::string& cache_dir);

}  // namespace ssm
