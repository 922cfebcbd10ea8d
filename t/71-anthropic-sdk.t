#!/usr/bin/perl
#
# The official Anthropic TypeScript SDK against llm_messages, through an
# openai, an anthropic (the client's body passed through) and a gemini
# provider: text, streams rebuilt by the SDK's own accumulator, a system
# prompt and parameters, images, a two-turn tool conversation, thinking,
# count_tokens, typed errors, a stream that breaks.  The mock checks
# every request it gets as strictly as the real APIs.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP qw(decode_json);
use Test::More;

module_path();

my $root = repo_root();
my $sdk = $ENV{SDK_DIR} // "$root/build/sdk";

if (!-f "$sdk/node_modules/\@anthropic-ai/sdk/package.json") {
    fail("the Anthropic SDK is in $sdk (run ./build.sh deps)");
    done_testing();
    exit;
}

my $KEY = 'sk-mock-provider-key';
my $mock = start_mock(key => $KEY);
$ENV{LLM_TEST_KEY} = $KEY;

my $ng = start_nginx(<<'EOF', mock => $mock);
    llm_provider oai dialect=openai url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_TEST_KEY;
    llm_provider ant dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_TEST_KEY;
    llm_provider gem dialect=gemini url=http://127.0.0.1:%%MOCK%%/v1beta
                 api_key=env:LLM_TEST_KEY;

    llm_model o-demo provider=oai upstream_model=gpt-demo;
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
    llm_model a-thinking provider=ant
        upstream_model=fixture=anthropic/messages-thinking.stream.sse;

    llm_model g-demo provider=gem upstream_model=gemini-demo;
    llm_model g-tool provider=gem
              upstream_model=fixture=google/tool-call.response.json;
    llm_model g-tool-s provider=gem
              upstream_model=fixture=google/tool-call.stream.sse;
    llm_model g-cut provider=gem
              upstream_model=fixture=google/text.stream.sse,cut_after=2;

    llm_model limited provider=oai upstream_model=status=429,retry_after=9;

    server {
        listen 127.0.0.1:%%PORT%%;
        location /v1/messages { llm_messages; }
    }
EOF

$ENV{SDK_DIR} = $sdk;
my $json = `node $root/t/sdk/anthropic-sdk.cjs http://127.0.0.1:$ng->{port} o- a- g-`;
my $out = eval { decode_json($json) } // { fatal => "not JSON: $json" };

ok(!$out->{fatal}, 'the SDK script ran') or diag($out->{fatal});

my @reqs = @{ mock_requests($mock) };

# the requests the mock got for a backend's demo model, in order
my %demo = ('o-' => 'gpt-demo', 'a-' => 'claude-demo', 'g-' => 'gemini-demo');

sub sent {
    my ($p) = @_;
    return grep { my $b = $_->{body};
                  (ref $b eq 'HASH' && ($b->{model} // '') eq $demo{$p})
                  || $_->{path} =~ m{/models/\Q$demo{$p}\E:} } @reqs;
}

sub text_of {
    my ($msg) = @_;
    return join '', map { $_->{text} } grep { $_->{type} eq 'text' }
                    @{ $msg->{content} // [] };
}

my %native = ('o-' => 'openai', 'a-' => 'anthropic', 'g-' => 'gemini');

for my $p ('o-', 'a-', 'g-') {
    my $b = $out->{$p} // {};
    my $name = $native{$p};

    subtest "$name: create and stream" => sub {
        my $m = $b->{create};
        ok(!$m->{error}, 'create answered') or diag(explain($m->{error}));
        is($m->{type}, 'message', 'a message object');
        is($m->{role}, 'assistant', 'role');
        like(text_of($m), qr/You said: "Hello there"/, 'the text');
        is($m->{stop_reason}, 'end_turn', 'stop_reason');
        ok($m->{usage}{input_tokens} > 0 && $m->{usage}{output_tokens} > 0,
           'usage: input and output tokens');
        is($m->{model}, $p eq 'a-' ? 'claude-demo' : "${p}demo",
           $p eq 'a-' ? "passed through: the provider's own message"
                      : "the client's model name");

        my $s = $b->{stream};
        ok(!$s->{error}, 'stream answered') or diag(explain($s->{error}));
        is_deeply([ map { $_->{type} } @{ $s->{message}{content} } ],
                  [ map { $_->{type} } @{ $m->{content} } ],
                  'the accumulator rebuilt the same blocks');
        is(text_of($s->{message}), text_of($m), '... with the same text');
        is($s->{message}{stop_reason}, $m->{stop_reason}, '... stop_reason');
        is_deeply([ @{ $s->{message}{usage} }{qw(input_tokens output_tokens)} ],
                  [ @{ $m->{usage} }{qw(input_tokens output_tokens)} ],
                  '... and usage, input tokens included');
        my @ev = @{ $s->{events} // [] };
        is($ev[0], 'message_start', 'message_start first');
        is($ev[-1], 'message_stop', 'message_stop last');
        is(scalar(grep { $_ eq 'message_delta' } @ev), 1, 'one message_delta');
    };

    subtest "$name: system prompt, parameters, metadata" => sub {
        ok(!$b->{system}{error}, 'answered') or diag(explain($b->{system}{error}));
        my ($req) = grep { ref $_->{body} eq 'HASH'
                           && ($_->{body}{temperature}
                               // $_->{body}{generationConfig}{temperature}
                               // 0) == 0.5 }
                    sent($p);
        ok($req, 'the provider got the parameters') or return;
        my $body = $req->{body};
        if ($p eq 'o-') {
            is_deeply($body->{messages}[0], { role => 'system',
                                              content => 'Be brief.' },
                      'a system message');
            is_deeply($body->{stop}, ['END'], 'stop');
            is($body->{top_p}, 0.9, 'top_p');
            is($body->{user}, 'user-42', 'metadata.user_id as user');
        } elsif ($p eq 'g-') {
            is($body->{systemInstruction}{parts}[0]{text}, 'Be brief.',
               'systemInstruction');
            is_deeply($body->{generationConfig}{stopSequences}, ['END'],
                      'stopSequences');
        } else {
            is_deeply($body->{system}, [{ type => 'text', text => 'Be brief.' }],
                      "Anthropic gets the client's own system blocks");
            is_deeply($body->{metadata}, { user_id => 'user-42' }, 'metadata');
            is($req->{headers}{'anthropic-version'}, '2026-10-21',
               "the SDK's anthropic-version");
        }
    };

    subtest "$name: images (base64 and URL)" => sub {
        ok(!$b->{image}{error}, 'answered') or diag(explain($b->{image}{error}));
        my ($req) = grep { ref $_->{body} eq 'HASH'
                           && $_->{body}{$p eq 'g-' ? 'contents' : 'messages'} 
                           && encode_json_canon($_->{body}) =~ /iVBORw0KGgo/ }
                    sent($p);
        ok($req, 'the image reached the provider') or return;
        my $j = encode_json_canon($req->{body});
        if ($p eq 'o-') {
            like($j, qr{"url":"data:image/png;base64,iVBORw0KGgo}, 'as a data URL');
            like($j, qr{"url":"https://example.com/cat.png"}, 'the URL image');
        } elsif ($p eq 'g-') {
            like($j, qr{"inlineData":\{"data":"iVBORw0KGgo[^"]*","mimeType":"image/png"\}},
                 'as inlineData');
        } else {
            like($j, qr{"source":\{"data":"iVBORw0KGgo}, 'as it was sent');
        }
    };

    for my $case (['tools', 'whole'], ['tools_stream', 'streamed']) {
        my ($key, $how) = @$case;
        subtest "$name: a two-turn tool conversation ($how)" => sub {
            my $t = $b->{$key};
            ok(!$t->{error}, 'both turns answered') or diag(explain($t->{error}));
            my @calls = grep { $_->{type} eq 'tool_use' } @{ $t->{first}{content} };
            ok(@calls, 'the first turn is a tool call');
            is($t->{first}{stop_reason}, 'tool_use', 'stop_reason tool_use');
            for my $c (@calls) {
                ok($c->{id} && $c->{name}, "tool_use $c->{name}: id and name");
                is(ref $c->{input}, 'HASH', '... and an input object');
            }
            like(text_of($t->{second}), qr/demo model/,
                 'the tool result went back and was answered');
        };
    }

    subtest "$name: thinking" => sub {
        ok(!$b->{thinking}{error}, 'answered') or diag(explain($b->{thinking}{error}));
        my ($req) = grep { ref $_->{body} eq 'HASH'
                           && encode_json_canon($_->{body}) =~ /2048|"low"|thinking/i }
                    sent($p);
        ok($req, 'the provider was asked to think') or return;
        if ($p eq 'o-') {
            is($req->{body}{reasoning_effort}, 'low', 'reasoning_effort low');
        } elsif ($p eq 'g-') {
            ok($req->{body}{generationConfig}{thinkingConfig}{thinkingBudget},
               'a thinking budget');
        } else {
            is_deeply($req->{body}{thinking}, { type => 'enabled',
                                                budget_tokens => 2048 },
                      "the client's own thinking");
        }
    };

    subtest "$name: a stream that breaks is an SDK error" => sub {
        my $c = $b->{cut};
        ok(!$c->{completed}, 'the stream did not complete');
        ok($c->{error}, 'the SDK threw') or return;
        like("$c->{error}{type} $c->{error}{message}",
             qr/api_error|overloaded|stream|ended/i,
             'an API error: ' . $c->{error}{message});
    };

    subtest "$name: count_tokens" => sub {
        my $c = $b->{count};
        ok(!$c->{error}, 'answered') or diag(explain($c->{error}));
        if ($p eq 'a-') {
            # the mock counts the words of the system prompt and messages
            is($c->{input_tokens}, 8, "Anthropic's own count");
            my ($req) = grep { $_->{path} =~ m{/messages/count_tokens$} } @reqs;
            ok($req, 'forwarded to count_tokens');
            is($req->{body}{model}, 'claude-demo', '... with its model');
            ok(!exists $req->{body}{max_tokens}, '... and nothing else added');
        } else {
            ok($c->{input_tokens} >= 8 + 20,
               "an estimate that errs high: $c->{input_tokens}");
        }
    };
}

subtest 'errors before any provider are typed SDK errors' => sub {
    is($out->{unknown}{error}{status}, 404, 'unknown model: 404');
    is($out->{unknown}{error}{name}, 'NotFoundError', '... NotFoundError');
    is($out->{unknown}{error}{type}, 'not_found_error', '... not_found_error');
    is($out->{invalid}{error}{status}, 400, 'no max_tokens: 400');
    is($out->{invalid}{error}{type}, 'invalid_request_error',
       '... invalid_request_error');
    like($out->{invalid}{error}{message}, qr/max_tokens/, '... naming it');
    is($out->{limited}{error}{status}, 429, "the provider's 429");
    is($out->{limited}{error}{name}, 'RateLimitError', '... RateLimitError');
    is($out->{limited}{error}{type}, 'rate_limit_error', '... rate_limit_error');
};

subtest "Claude's thinking: signed, kept for Anthropic, never sent elsewhere" => sub {
    my $t = $out->{think};
    ok(!$t->{error}, 'answered') or diag(explain($t->{error}));
    my ($th) = grep { $_->{type} eq 'thinking' } @{ $t->{first}{content} };
    ok($th && length $th->{thinking}, 'a thinking block');
    ok($th && length $th->{signature}, '... with its signature');
    for my $model ('a-demo', 'o-demo', 'g-demo') {
        ok(!$t->{again}{$model}{error}, "sent back through $model")
            or diag(explain($t->{again}{$model}{error}));
    }
    my @back = grep { ref $_->{body} eq 'HASH'
                      && encode_json_canon($_->{body}) =~ /And then\?/ } @reqs;
    is(scalar @back, 3, 'three providers got the history');
    for my $req (@back) {
        my $j = encode_json_canon($req->{body});
        if ($req->{path} =~ m{/v1/messages$}) {
            like($j, qr/"signature":"\Q$th->{signature}\E"/,
                 'Anthropic got the signed block back');
        } else {
            unlike($j, qr/signature|\Q$th->{thinking}\E/,
                   "$req->{path}: no thinking block");
        }
    }
};

sub encode_json_canon {
    return JSON::PP->new->canonical->encode($_[0]);
}

done_testing();
