/*
 * libFuzzer target for the "gemini" dialect's stream translation
 * (src/core/llm_dialect_gemini.c): translated from Gemini chunks.  The
 * harness and its invariants are in fuzz_stream.h.
 */

#include "llm_dialect.h"

#define FUZZ_DIALECT  llm_dialect_gemini
#define FUZZ_CHECK_OBJECT

#include "fuzz_stream.h"
