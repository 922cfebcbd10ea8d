#!/usr/bin/perl
#
# The official OpenAI Node SDK, pointed at the gateway: what an app
# developer actually sees: content, streams, usage, tool calls rebuilt by
# the SDK's own accumulator, typed errors, models.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP qw(decode_json);
use Test::More;

module_path();

my $root = repo_root();
my $sdk = $ENV{OPENAI_SDK_DIR} // "$root/build/sdk";

if (!-f "$sdk/node_modules/openai/package.json") {
    fail("the OpenAI Node SDK is in $sdk (run ./build.sh deps)");
    done_testing();
    exit;
}

my $mock = start_mock();

my $ng = start_nginx(<<'EOF', mock => $mock);
    llm_provider mock dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;

    llm_model demo provider=mock upstream_model=demo-1;
    llm_model tool-openai provider=mock
              upstream_model=fixture=openai/chat-tool-call.stream.sse;
    llm_model tool-mistral provider=mock
              upstream_model=fixture=mistral/chat-tool-call.stream.jsonl;
    llm_model tool-groq provider=mock
              upstream_model=fixture=groq/chat-tool-call.stream.sse;
    llm_model limited provider=mock upstream_model=status=429,retry_after=9;
    llm_model cut provider=mock upstream_model=events=10,cut_after=4;
    llm_model meta-llama/Llama-3-8B provider=mock;

    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions { llm_chat; }
        location /v1/models { llm_models; }
    }
EOF

$ENV{OPENAI_SDK_DIR} = $sdk;
my $json = `node $root/t/sdk/openai-node.cjs http://127.0.0.1:$ng->{port}/v1`;
my $out = eval { decode_json($json) } // { fatal => "not JSON: $json" };

ok(!$out->{fatal}, 'the SDK script ran') or diag($out->{fatal});

# non-stream
like($out->{nonstream}{content} // '', qr/You said: "Hello there"/,
     'non-stream: content');
is($out->{nonstream}{model}, 'demo', "non-stream: the client's model name");
is($out->{nonstream}{finish}, 'stop', 'non-stream: finish_reason');
is($out->{nonstream}{usage}{total_tokens},
   ($out->{nonstream}{usage}{prompt_tokens} // 0)
   + ($out->{nonstream}{usage}{completion_tokens} // 0),
   'non-stream: usage');

# stream with usage
is($out->{stream}{text}, $out->{nonstream}{content},
   'stream: the same text, token by token');
is($out->{stream}{model}, 'demo', "stream: the client's model name");
ok($out->{stream}{usage} && $out->{stream}{usage}{completion_tokens} > 0,
   'stream: the usage chunk the client asked for');

# tool calls, rebuilt by the SDK's own accumulator
for my $case (['tool-openai', 'openai/chat-tool-call.stream.sse'],
              ['tool-mistral', 'mistral/chat-tool-call.stream.jsonl'],
              ['tool-groq', 'groq/chat-tool-call.stream.sse'])
{
    my ($model, $fixture) = @$case;
    my $want = accumulate_stream(fixture_chunks($fixture));
    my $got = $out->{$model}{message}{tool_calls} // [];
    my $exp = $want->{tool_calls} // [];

    ok(scalar @$exp > 0, "$model: the recording has tool calls");
    is(scalar @$got, scalar @$exp, "$model: number of tool calls");

    for my $i (0 .. $#$exp) {
        is($got->[$i]{id}, $exp->[$i]{id}, "$model: call $i id");
        is($got->[$i]{function}{name}, $exp->[$i]{function}{name},
           "$model: call $i name");
        is_deeply(decode_json($got->[$i]{function}{arguments} // 'null'),
                  decode_json($exp->[$i]{function}{arguments}),
                  "$model: call $i arguments parse to the provider's");
    }

    is($out->{$model}{finish}, 'tool_calls', "$model: finish_reason");
}

# typed errors
is($out->{notfound}{name}, 'NotFoundError', 'unknown model: NotFoundError');
is($out->{notfound}{status}, 404, 'unknown model: 404');
is($out->{notfound}{code}, 'model_not_found', 'unknown model: code');

is($out->{ratelimit}{name}, 'RateLimitError', '429: RateLimitError');
is($out->{ratelimit}{retryAfter}, '9', '429: Retry-After reaches the SDK');

is($out->{badparam}{name}, 'BadRequestError', 'bad param: BadRequestError');
is($out->{badparam}{param}, 'temperature', 'bad param: names the param');

# a stream that fails half way raises, after the tokens it had
ok($out->{cut}{thrown}, 'cut stream: the SDK raises');
like($out->{cut}{message} // '', qr/ended before it was complete/,
     "cut stream: with the gateway's message");
is($out->{cut}{before}, 'tok0 tok1 tok2 ',
   'cut stream: the tokens before it');

# models
is_deeply($out->{models},
          [sort qw(cut demo limited meta-llama/Llama-3-8B tool-groq
                   tool-mistral tool-openai)],
          'models.list');
is($out->{retrieve}{id}, 'meta-llama/Llama-3-8B',
   'models.retrieve with a / in the id');
is($out->{retrieve}{owned_by}, 'mock', 'models.retrieve: owned_by');
is($out->{retrieveMissing}{status}, 404, 'models.retrieve unknown: 404');

done_testing();
