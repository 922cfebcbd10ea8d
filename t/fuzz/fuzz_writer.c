/*
 * The client-format writers (llm_writer_openai.c, llm_writer_anthropic.c,
 * llm_writer_responses.c)
 * driven by any sequence of events, stream or whole: what the dialects
 * may emit in any order.
 *
 * Input: a flags byte (bit 0: whole, bit 1: include_usage, bit 2: the
 * Anthropic Messages writer, bit 3: the Responses writer), then events,
 * each an opcode byte (low 3 bits: the event; the next 3: the choice,
 * bits 6-7: the part or the tool index) and, for text and arguments, a
 * length byte and that many bytes of text (7-bit, escaped into a JSON
 * string literal, as a dialect's literal always is: valid UTF-8).
 *
 * Invariants: a stream is frames "data: " + a JSON object or [DONE] +
 * "\n\n", [DONE] last and once; a whole response is one JSON object; a
 * failed stream ends with an error frame and [DONE]; everything freed.
 * Messages: named events, each "event: N\ndata: " + a JSON object whose
 * "type" is N + "\n\n", message_start (or an error) first, message_stop
 * last (or, for a failed stream, error), once.
 * Responses: named events likewise, each ending with its sequence_number
 * (0, 1, 2, ...), response.created first, one terminal event
 * (response.completed or .incomplete; response.failed when failed) last.
 */

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "llm_messages.h"
#include "llm_responses.h"
#include "llm_json_scan.h"
#include "fuzz_check.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
check_stream(const char *p, size_t n)
{
    int          done;
    const char  *end, *line;

    done = 0;

    while (n) {
        check(!done);
        check(n > 8 && memcmp(p, "data: ", 6) == 0);

        line = p + 6;
        end = memchr(line, '\n', n - 6);
        check(end != NULL && (size_t) (end - p) + 2 <= n && end[1] == '\n');

        if (end - line == 6 && memcmp(line, "[DONE]", 6) == 0) {
            done = 1;

        } else {
            check(line[0] == '{');
            check(llm_json_valid(line, end - line, NULL) == LLM_OK);
        }

        n -= (end + 2) - p;
        p = end + 2;
    }

    check(done);
}


/*
 * Named events (Messages, or Responses with its sequence numbers);
 * returns the last event's name
 */

static const char *
check_named(const char *p, size_t n, int responses)
{
    int          k;
    size_t       len;
    const char  *name, *data, *end;
    char         type[64], seq[48];

    name = NULL;
    len = 0;

    for (k = 0; n; k++) {
        check(n > 7 && memcmp(p, "event: ", 7) == 0);

        name = p + 7;
        data = memchr(name, '\n', n - 7);
        check(data != NULL && (size_t) (data - p) + 7 <= n
              && memcmp(data, "\ndata: ", 7) == 0);
        len = data - name;

        data += 7;
        end = memchr(data, '\n', n - (data - p));
        check(end != NULL && (size_t) (end - p) + 2 <= n && end[1] == '\n');
        check(llm_json_valid(data, end - data, NULL) == LLM_OK);

        /* "type" is the event's name */
        check(len < sizeof(type) - 12);
        snprintf(type, sizeof(type), "{\"type\":\"%.*s\"", (int) len, name);
        check(memcmp(data, type, strlen(type)) == 0);

        if (responses) {
            snprintf(seq, sizeof(seq), ",\"sequence_number\":%d}", k);
            check((size_t) (end - data) > strlen(seq)
                  && memcmp(end - strlen(seq), seq, strlen(seq)) == 0);
            check(k != 0 || (len == 16
                             && memcmp(name, "response.created", 16) == 0));

        } else if (k == 0) {
            /* an error may come first, as Anthropic's own may */
            check((len == 13 && memcmp(name, "message_start", 13) == 0)
                  || (len == 5 && memcmp(name, "error", 5) == 0));
        }

        check(!(len == 12 && memcmp(name, "message_stop", 12) == 0)
              || (size_t) (end + 2 - p) == n);

        n -= (end + 2) - p;
        p = end + 2;
    }

    return name ? name : "";
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               rc, choice, index, started;
    char              text[256];
    size_t            i, k, len;
    uint8_t           op;
    llm_buf_t         out, lit;
    llm_response_t    resp;
    const char       *last;
    llm_tool_event_t  tool;

    if (size < 1) {
        return 0;
    }

    memset(&resp, 0, sizeof(llm_response_t));
    memset(&out, 0, sizeof(llm_buf_t));
    memset(&lit, 0, sizeof(llm_buf_t));

    llm_response_init(&resp, "client \"m\"", data[0] & 2);

    if (data[0] & 4) {
        resp.writer = &llm_writer_anthropic;

    } else if (data[0] & 8) {
        resp.writer = &llm_writer_responses;
    }
    memcpy(resp.id, "chatcmpl-x", sizeof("chatcmpl-x"));
    resp.created = 7;

    if (data[0] & 1) {
        llm_response_whole(&resp);
    }

    started = 0;
    rc = LLM_OK;

    for (i = 1; i < size && rc == LLM_OK; /* void */) {
        op = data[i++];
        choice = (op >> 3) & 7;
        index = op >> 6;

        if (!started) {
            check(llm_event_start(&resp, &out) == LLM_OK);
            started = 1;
        }

        llm_buf_reset(&lit);

        if ((op & 7) == 1 || (op & 7) == 3 || (op & 7) == 2) {
            len = (i < size) ? data[i++] : 0;
            len = (len > size - i) ? size - i : len;

            /* a dialect's literals come from validated JSON: UTF-8 */
            for (k = 0; k < len; k++) {
                text[k] = (char) (data[i + k] & 0x7f);
            }

            check(llm_buf_append_json_string(&lit, text, len) == LLM_OK);
            i += len;
        }

        switch (op & 7) {

        case 1:
            rc = llm_event_text_copy(&resp, choice,
                                     (llm_part_e) (index % 3), lit.data,
                                     lit.len, &out);
            break;

        case 2:
            tool.id = "\"call_1\"";
            tool.id_len = 8;
            tool.name = lit.data;
            tool.name_len = lit.len;
            tool.args = (index & 1) ? "\"{}\"" : NULL;
            tool.args_len = (index & 1) ? 4 : 0;
            rc = llm_event_tool(&resp, choice, index, &tool, &out);
            break;

        case 3:
            rc = llm_event_tool_args(&resp, choice, index, lit.data, lit.len,
                                     &out);
            break;

        case 4:
            rc = llm_event_finish(&resp, choice,
                                  (index & 1) ? "length" : "stop", &out);
            break;

        case 5:
            if (!resp.whole) {
                rc = llm_response_fail(&resp, &out, 502, "x", "broken");
                check(rc == LLM_DONE && resp.failed);
                rc = LLM_DONE;
            }

            break;

        default:
            break;
        }
    }

    if (rc == LLM_OK) {
        check(llm_event_end(&resp, &out) == LLM_DONE);
    }

    if (resp.whole) {
        check(out.len > 0 && out.data[0] == '{');
        check(llm_json_valid(out.data, out.len, NULL) == LLM_OK);

    } else if (data[0] & 4) {
        last = check_named(out.data, out.len, 0);

        check(strncmp(last, resp.failed ? "error\n" : "message_stop\n",
                      resp.failed ? 6 : 13) == 0);

    } else if (data[0] & 8) {
        last = check_named(out.data, out.len, 1);

        check(resp.failed ? strncmp(last, "response.failed\n", 16) == 0
                          : (strncmp(last, "response.completed\n", 19) == 0
                             || strncmp(last, "response.incomplete\n", 20)
                                == 0));

        /* a failed stream was never completed (raw newlines: frames) */
        check(!resp.failed
              || memmem(out.data, out.len, "\nevent: response.completed\n",
                        27) == NULL);

    } else {
        check_stream(out.data, out.len);

        if (resp.failed) {
            check(out.len > 30
                  && memcmp(out.data + out.len - 14, "data: [DONE]\n\n", 14)
                     == 0);
        }
    }

    llm_buf_free(&lit);
    llm_buf_free(&out);
    llm_response_free(&resp);

    return 0;
}
