/*
 * libFuzzer target for the "openai" dialect's stream translation
 * (src/core/llm_dialect_openai.c): provider chunks pass through, so "object"
 * is theirs.  The harness and its invariants are in fuzz_stream.h.
 */

#include "llm_openai.h"

#define FUZZ_DIALECT  llm_dialect_openai

#include "fuzz_stream.h"
