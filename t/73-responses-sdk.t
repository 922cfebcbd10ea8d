#!/usr/bin/perl
#
# The official OpenAI Node SDK's Responses API (responses.create,
# responses.stream, responses.parse) against llm_responses, through an
# openai, an anthropic and a gemini provider, with the SDK this project
# pins for chat and with the current major (a stricter stream
# accumulator): text, the stream helper's final response equal to the
# non-stream answer, a two-turn function-call conversation built from
# function_call_output items (whole and streamed), structured output,
# reasoning effort, usage, previous_response_id, typed errors, a stream
# that breaks (response.failed), OpenAI's own Responses API passed
# through.  The mock checks every request it gets as the real APIs do.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP qw(decode_json);
use Test::More;

module_path();

my $root = repo_root();
my $sdk = $ENV{SDK_DIR} // "$root/build/sdk";

for my $pkg (qw(openai openai-current)) {
    next if -f "$sdk/node_modules/$pkg/package.json";
    fail("the OpenAI SDK $pkg is in $sdk (run ./build.sh deps)");
    done_testing();
    exit;
}

my $KEY = 'sk-mock-provider-key';
my $mock = start_mock(key => $KEY);
$ENV{LLM_TEST_KEY} = $KEY;

my $ng = start_nginx(<<'EOF', mock => $mock);
    llm_provider oai dialect=openai url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_TEST_KEY;
    llm_provider native dialect=openai url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_TEST_KEY responses=on;
    llm_provider ant dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_TEST_KEY;
    llm_provider gem dialect=gemini url=http://127.0.0.1:%%MOCK%%/v1beta
                 api_key=env:LLM_TEST_KEY;

    llm_responses_store zone=responses:1m;

    llm_model o-demo provider=oai upstream_model=gpt-demo;
    llm_model o-echo provider=oai upstream_model=echo=1;
    llm_model o-tool provider=oai
              upstream_model=fixture=openai/chat-tool-call.response.json;
    llm_model o-tool-s provider=oai
              upstream_model=fixture=openai/chat-tool-call.stream.sse;
    llm_model o-cut provider=oai upstream_model=events=10,cut_after=4;

    llm_model a-demo provider=ant upstream_model=claude-demo;
    llm_model a-tool provider=ant
              upstream_model=fixture=anthropic/messages-tool-use.response.json;
    llm_model a-tool-s provider=ant
        upstream_model=fixture=anthropic/messages-text-then-tool-use.stream.jsonl;
    llm_model a-cut provider=ant
        upstream_model=fixture=anthropic/messages-text.stream.sse,cut_after=4;

    llm_model g-demo provider=gem upstream_model=gemini-demo;
    llm_model g-tool provider=gem
              upstream_model=fixture=google/tool-call.response.json;
    llm_model g-tool-s provider=gem
              upstream_model=fixture=google/tool-call.stream.sse;
    llm_model g-cut provider=gem
              upstream_model=fixture=google/text.stream.sse,cut_after=2;

    llm_model a-thinking provider=ant
        upstream_model=fixture=anthropic/messages-thinking.stream.sse;

    llm_model n-demo provider=native upstream_model=gpt-native;

    server {
        listen 127.0.0.1:%%PORT%%;
        location /v1/responses { llm_responses; }
    }
EOF

my $bare = start_nginx(<<'EOF', mock => $mock);
    llm_provider oai dialect=openai url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_TEST_KEY;
    llm_model o-demo provider=oai upstream_model=gpt-demo;

    server {
        listen 127.0.0.1:%%PORT%%;
        location /v1/responses { llm_responses; }
    }
EOF

$ENV{SDK_DIR} = $sdk;
$ENV{NO_STORE_URL} = "http://127.0.0.1:$bare->{port}";

for my $pkg (qw(openai openai-current)) {
    my $json = `node $root/t/sdk/openai-responses.cjs $pkg http://127.0.0.1:$ng->{port} o- a- g-`;
    my $out = eval { decode_json($json) } // { fatal => "not JSON: $json" };

    ok(!$out->{fatal}, "$pkg: the SDK script ran") or diag($out->{fatal});

    for my $p (qw(o- a- g-)) {
        my $b = $out->{$p} // {};

        subtest "$pkg $p: responses.create" => sub {
            my $r = $b->{create};
            ok(!$r->{error}, 'no error') or diag(explain($r->{error}));
            like($r->{id} // '', qr/^resp_/, 'a response id');
            is($r->{status}, 'completed', 'completed');
            is($r->{model}, "${p}demo", "the client's model name");
            like($r->{output_text} // '', qr/You said: "Hello there"/,
                 'output_text, as the SDK joins it');
            is($r->{text}, $r->{output_text}, 'from one message item');
            ok($r->{usage}{input_tokens} > 0, 'input tokens');
            ok($r->{usage}{output_tokens} > 0, 'output tokens');
            is($r->{usage}{total_tokens},
               ($r->{usage}{input_tokens} // 0)
               + ($r->{usage}{output_tokens} // 0), 'total tokens');
        };

        subtest "$pkg $p: responses.stream" => sub {
            my $s = $b->{stream};
            ok(!$s->{error}, 'no error') or diag(explain($s->{error}));
            is($s->{types}[0], 'response.created', 'response.created first');
            is($s->{types}[-1], 'response.completed', 'completed last');
            ok((grep { $_ eq 'response.output_text.delta' }
                @{ $s->{types} // [] }) > 3, 'token by token');
            is($s->{final}{text}, $b->{create}{output_text},
               'the final response is the non-stream answer');
            is($s->{text}, $s->{final}{text}, 'the deltas make it');
            is($s->{final}{status}, 'completed', 'completed');
            is_deeply([ map { $_->{type} } @{ $s->{final}{output} // [] } ],
                      ['message'], 'one message item');
            ok($s->{final}{usage}{output_tokens} > 0, 'usage at the end');
        };

        for my $case (qw(tools tools_stream)) {
            subtest "$pkg $p: a two-turn function call ($case)" => sub {
                my $t = $b->{$case};
                ok(!$t->{error}, 'no error') or diag(explain($t->{error}));
                ok(@{ $t->{calls} // [] } >= 1, 'a function_call item');
                for my $c (@{ $t->{calls} // [] }) {
                    ok(length $c->{call_id}, 'with a call_id');
                    ok(length $c->{name}, 'a name');
                    ok(eval { decode_json($c->{arguments}); 1 },
                       'and JSON arguments');
                    like($c->{id} // '', qr/^fc_/, 'an fc_ item id');
                }
                is($t->{first}{status}, 'completed', 'completed');
                is($t->{second}{status}, 'completed',
                   'the output goes back: answered');
                like($t->{second}{output_text} // '', qr/You said/,
                     'with text');
            };
        }

        subtest "$pkg $p: structured output and reasoning" => sub {
            ok(!$b->{structured}{error}, 'json_schema accepted')
                or diag(explain($b->{structured}{error}));
            ok(!$b->{reasoning}{error}, 'reasoning.effort accepted')
                or diag(explain($b->{reasoning}{error}));
        };

        subtest "$pkg $p: previous_response_id" => sub {
            my $v = $b->{previous};
            ok(!$v->{error}, 'no error') or diag(explain($v->{error}));
            like($v->{second}{output_text} // '', qr/What is my name/,
                 'answered');
        };

        subtest "$pkg $p: a stream that breaks" => sub {
            my $c = $b->{cut};
            ok(!$c->{error}, 'the SDK reads it to its end')
                or diag(explain($c->{error}));
            is($c->{types}[-1], 'response.failed', 'response.failed last');
            is($c->{failed}{status}, 'failed', 'status failed');
            like($c->{failed}{error}{message} // '',
                 qr/ended before it was complete/, 'saying why');
            ok(length $c->{text}, 'after some text');
            ok(!grep({ $_ eq 'response.completed' } @{ $c->{types} // [] }),
               'never completed');
        };
    }

    my $parsed = $out->{parsed} // {};
    ok(!$parsed->{error}, "$pkg: responses.parse") or diag(explain($parsed));
    is($parsed->{parsed}{response_format}{type}, 'json_schema',
       "$pkg: the SDK parsed the JSON answer");

    for my $case (qw(thinking)) {
        my $t = $out->{$case}{final} // $out->{$case} // {};
        ok(!$out->{$case}{error}, "$pkg $case: no error")
            or diag(explain($out->{$case}{error}));
        is_deeply([ map { $_->{type} } @{ $t->{output} // [] } ],
                  [ 'reasoning', 'message' ],
                  "$pkg $case: a reasoning item, then the message");
        like($t->{output}[0]{summary}[0]{text} // '', qr/\S/,
             "$pkg $case: the thinking as its summary");
        ok(length $t->{text}, "$pkg $case: and the answer");
    }
    ok((grep { $_ eq 'response.reasoning_summary_text.delta' }
        @{ $out->{thinking}{types} // [] }) > 0,
       "$pkg: the thinking streamed as summary deltas");

    is($out->{nostore}{error}{status}, 400,
       "$pkg: no store: previous_response_id refused");
    is($out->{nostore}{error}{code}, 'previous_response_not_found',
       "$pkg: ... previous_response_not_found");
    like($out->{nostore}{error}{message} // '', qr/llm_responses_store/,
         "$pkg: ... saying why");
    like($out->{nostore_stateless}{text} // '', qr/What is my name/,
         "$pkg: no store: store false, the conversation as input")
        or diag(explain($out->{nostore_stateless}));

    is($out->{unknown}{error}{status}, 404, "$pkg: an unknown model: 404");
    is($out->{unknown}{error}{name}, 'NotFoundError', "$pkg: NotFoundError");
    is($out->{notfound}{error}{status}, 400, "$pkg: an unknown previous id");
    is($out->{notfound}{error}{code}, 'previous_response_not_found',
       "$pkg: previous_response_not_found");
    is($out->{notfound}{error}{param}, 'previous_response_id',
       "$pkg: param previous_response_id");
    is($out->{hosted}{error}{status}, 400,
       "$pkg: a hosted tool elsewhere than OpenAI: 400");
    like($out->{hosted}{error}{message} // '', qr/web_search/,
         "$pkg: naming it");

    is($out->{native}{status}, 'completed', "$pkg: OpenAI's own Responses")
        or diag(explain($out->{native}));
    like($out->{native}{id} // '', qr/^resp_mock/, "$pkg: relayed as it came");
    is($out->{native_stream}{final}{status}, 'completed',
       "$pkg: and its stream") or diag(explain($out->{native_stream}));
    like($out->{native_stream}{final}{text} // '', qr/You said/,
         "$pkg: read by the SDK");
}

# --- what the providers were asked

my @reqs = @{ mock_requests($mock) };

sub asked {
    my ($path_re, $text) = @_;
    return grep { ($_->{path} // '') =~ $path_re
                  && index(JSON::PP->new->canonical->encode($_->{body} // {}),
                           $text) >= 0 } @reqs;
}

my ($oai) = asked(qr{/chat/completions}, 'Think about it');
is($oai->{body}{reasoning_effort}, 'high', 'openai: reasoning_effort');
my ($ant) = asked(qr{/messages$}, 'Think about it');
ok(($ant->{body}{thinking}{budget_tokens} // 0) > 0,
   'anthropic: a thinking budget');
my ($gem) = asked(qr{generateContent}, 'Think about it');
ok(($gem->{body}{generationConfig}{thinkingConfig}{thinkingBudget} // 0) > 0,
   'gemini: a thinking budget');

($oai) = asked(qr{/chat/completions}, 'Capital of France, as JSON');
is($oai->{body}{response_format}{json_schema}{name}, 'capital',
   'openai: text.format as response_format');

($oai) = asked(qr{/chat/completions}, 'Be brief.');
is($oai->{body}{messages}[0]{role}, 'system', 'instructions as the system');

my @turn2 = asked(qr{/chat/completions}, 'What is my name?');
is(scalar @{ $turn2[0]{body}{messages} }, 3,
   'previous_response_id: the stored turn before the new input');

my ($native) = grep { ($_->{path} // '') eq '/v1/responses' } @reqs;
is($native->{body}{model}, 'gpt-native', "OpenAI's /responses, its model");
is($native->{body}{tools}[0]{type}, 'web_search', 'the hosted tool as sent');

done_testing();
