/*
 * libFuzzer target for the "anthropic" dialect's stream translation
 * (src/core/llm_dialect_anthropic.c): translated from Anthropic events.  The
 * harness and its invariants are in fuzz_stream.h.
 */

#include "llm_dialect.h"

#define FUZZ_DIALECT  llm_dialect_anthropic

#include "fuzz_stream.h"
