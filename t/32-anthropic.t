#!/usr/bin/perl
#
# The anthropic dialect end to end: clients speak OpenAI Chat Completions,
# the model lives on Anthropic's Messages API (the mock replays recorded
# Anthropic traffic and checks the native request as strictly as the API).

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP;
use Test::More;

module_path();

my $KEY = 'sk-ant-test-key';
my $mock = start_mock(key => $KEY);

$ENV{LLM_TEST_ANTHROPIC_KEY} = $KEY;

my $ng = start_nginx(<<'EOF', mock => $mock);
    llm_provider ant dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_TEST_ANTHROPIC_KEY;

    llm_provider beta dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_TEST_ANTHROPIC_KEY
                 anthropic_version=2099-01-01
                 anthropic_beta=some-feature-2025-01-01;

    llm_model with-beta provider=beta
              upstream_model=fixture=anthropic/messages-text.response.json;
    llm_model text provider=ant
              upstream_model=fixture=anthropic/messages-text.stream.sse;
    llm_model text-jsonl provider=ant
              upstream_model=fixture=anthropic/messages-text.stream.jsonl;
    llm_model thinking provider=ant
              upstream_model=fixture=anthropic/messages-thinking.stream.sse;
    llm_model nonstream provider=ant max_tokens=1234
              upstream_model=fixture=anthropic/messages-text.response.json;
    llm_model bad provider=ant
              upstream_model=fixture=anthropic/error-400-invalid-request.json;
    llm_model missing provider=ant
              upstream_model=fixture=anthropic/error-404-not-found.json;
    llm_model overloaded provider=ant
              'upstream_model=status=529,body={"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}';
    llm_model midstream provider=ant
              'upstream_model=status=200,ctype=text/event-stream,body=event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"m","usage":{"input_tokens":5,"output_tokens":1}}}\n\nevent: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\nevent: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    llm_model cut provider=ant
              upstream_model=fixture=anthropic/messages-text.stream.sse,cut_after=4;

    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions { llm_chat; }
    }
EOF

my $port = $ng->{port};

my @MSG = (
    { role => 'system', content => 'Be brief.' },
    { role => 'developer', content => 'Answer in English.' },
    { role => 'user', content => 'Hello' },
    { role => 'user', content => [ { type => 'text', text => 'there' } ] },
);

# what the recording says, event by event
sub anthropic_expect {
    my ($rel) = @_;
    my (%want, $stop);
    $want{text} = '';
    $want{thinking} = '';
    for my $ev (@{ fixture_chunks($rel) }) {
        my $t = $ev->{type} // '';
        if ($t eq 'message_start') {
            my $u = $ev->{message}{usage};
            $want{prompt} = ($u->{input_tokens} // 0)
                            + ($u->{cache_read_input_tokens} // 0)
                            + ($u->{cache_creation_input_tokens} // 0);
        } elsif ($t eq 'content_block_delta') {
            my $d = $ev->{delta};
            $want{text} .= $d->{text} if ($d->{type} // '') eq 'text_delta';
            $want{thinking} .= $d->{thinking}
                if ($d->{type} // '') eq 'thinking_delta';
        } elsif ($t eq 'message_delta') {
            $stop = $ev->{delta}{stop_reason};
            $want{completion} = $ev->{usage}{output_tokens};
        }
    }
    my %map = (end_turn => 'stop', stop_sequence => 'stop',
               max_tokens => 'length', tool_use => 'tool_calls',
               refusal => 'content_filter');
    $want{finish} = $map{$stop // ''} // 'stop';
    return \%want;
}

for my $case (['text', 'anthropic/messages-text.stream.sse'],
              ['text-jsonl', 'anthropic/messages-text.stream.jsonl'],
              ['thinking', 'anthropic/messages-thinking.stream.sse'])
{
    my ($model, $rel) = @$case;
    my $want = anthropic_expect($rel);

    for my $usage (0, 1) {
        subtest "$model stream, include_usage=$usage" => sub {
            my ($r, $chunks, $done) = chat_stream($port, $model, \@MSG, $usage);
            is($r->{status}, 200, 'status 200');
            ok($done, 'ends with [DONE]');
            my $acc = accumulate_stream($chunks);
            is($acc->{content} // '', $want->{text}, 'text as recorded');
            is($acc->{reasoning_content} // '', $want->{thinking},
               'thinking as reasoning_content');
            is($acc->{finish_reason}, $want->{finish}, 'finish_reason');
            ok(!grep({ ($_->{model} // '') ne $model } @$chunks),
               "every chunk carries the client's model");
            my @u = grep { $_->{usage} } @$chunks;
            if ($usage) {
                is(scalar @u, 1, 'one usage chunk');
                is($u[0]{usage}{prompt_tokens}, $want->{prompt},
                   'prompt tokens: input + cache');
                is($u[0]{usage}{completion_tokens}, $want->{completion},
                   'completion tokens');
            } else {
                is(scalar @u, 0, 'no usage chunk unless asked');
            }
        };
    }
}

subtest 'what Anthropic received' => sub {
    my $req = mock_requests($mock)->[0];
    is($req->{path}, '/v1/messages', 'POST /v1/messages');
    is($req->{headers}{'x-api-key'}, $KEY, 'x-api-key');
    ok($req->{headers}{'anthropic-version'}, 'anthropic-version');
    ok(!exists $req->{headers}{authorization}, 'no Authorization header');
    my $b = $req->{body};
    is($b->{model}, 'fixture=anthropic/messages-text.stream.sse',
       'the upstream model');
    like($b->{system} // '', qr/Be brief\..*Answer in English\./s,
         'system and developer messages in system');
    is(scalar @{ $b->{messages} }, 1, 'the two user turns merged into one');
    is($b->{messages}[0]{role}, 'user', 'a user turn');
    ok($b->{max_tokens} > 0, 'max_tokens sent (Anthropic requires it)');
    ok($b->{stream}, 'stream');
};

subtest 'anthropic-version and anthropic-beta are configurable' => sub {
    my $first = mock_requests($mock)->[0];
    is($first->{headers}{'anthropic-version'}, '2023-06-01',
       'the default anthropic-version');
    ok(!exists $first->{headers}{'anthropic-beta'}, 'no anthropic-beta');

    my $r = chat($port, { model => 'with-beta', messages => \@MSG });
    is($r->{status}, 200, 'status 200');
    my $req = mock_requests($mock)->[-1];
    is($req->{headers}{'anthropic-version'}, '2099-01-01',
       'the configured anthropic-version');
    is($req->{headers}{'anthropic-beta'}, 'some-feature-2025-01-01',
       'the configured anthropic-beta');
};

subtest 'non-stream' => sub {
    my $r = chat($port, { model => 'nonstream', messages => \@MSG });
    is($r->{status}, 200, 'status 200');
    my $j = json_or_undef($r->{content}) // {};
    my $fx = decode_json(read_fixture('anthropic/messages-text.response.json'));
    my $text = join '', map { $_->{text} } grep { $_->{type} eq 'text' }
                        @{ $fx->{content} };
    is($j->{object}, 'chat.completion', 'a chat.completion');
    is($j->{model}, 'nonstream', "the client's model");
    is($j->{choices}[0]{message}{content}, $text, 'the text');
    is($j->{choices}[0]{finish_reason}, 'stop', 'end_turn is stop');
    my $u = $fx->{usage};
    is($j->{usage}{prompt_tokens},
       $u->{input_tokens} + ($u->{cache_read_input_tokens} // 0)
       + ($u->{cache_creation_input_tokens} // 0), 'prompt tokens');
    is($j->{usage}{completion_tokens}, $u->{output_tokens},
       'completion tokens');
    my $req = mock_requests($mock)->[-1];
    is($req->{body}{max_tokens}, 1234, "llm_model's max_tokens");
};

subtest 'errors' => sub {
    my $r = chat($port, { model => 'bad', messages => \@MSG });
    is($r->{status}, 400, 'a 400 stays a 400');
    my $e = (json_or_undef($r->{content}) // {})->{error} // {};
    is($e->{type}, 'invalid_request_error', 'type');
    ok(length($e->{message} // ''), "Anthropic's message kept");

    $r = chat($port, { model => 'missing', messages => \@MSG });
    is($r->{status}, 404, 'status 404');
    is((json_or_undef($r->{content}) // {})->{error}{type},
       'not_found_error', 'not_found_error');

    $r = chat($port, { model => 'overloaded', messages => \@MSG });
    is($r->{status}, 503, '529 becomes 503');
    like((json_or_undef($r->{content}) // {})->{error}{message} // '',
         qr/Overloaded/, 'message kept');
};

subtest 'a stream error after the start' => sub {
    my ($r, $chunks, $done) = chat_stream($port, 'midstream', \@MSG, 0);
    is($r->{status}, 200, 'the stream had started');
    ok($done, 'still ends with [DONE]');
    my ($err) = grep { $_->{error} } @$chunks;
    ok($err, 'an error frame');
    like($err->{error}{message} // '', qr/Overloaded/, "Anthropic's message");
    is(accumulate_stream([ grep { !$_->{error} } @$chunks ])->{content},
       'Hel', 'the text before it');
    like($ng->error_log, qr/\[error\].*llm: stream from provider "ant" failed/,
         'logged as an error');
};

subtest 'a cut stream' => sub {
    my ($r, $chunks, $done) = chat_stream($port, 'cut', \@MSG, 0);
    ok($done, 'ends with [DONE]');
    is(($chunks->[-1]{error} // {})->{code}, 'stream_truncated',
       'stream_truncated');
};

done_testing();
