#!/usr/bin/perl
#
# The anthropic dialect's tool calls, images, JSON output and thinking end
# to end: every recorded Anthropic tool and thinking stream replayed
# through nginx (whole events and 1-byte pieces), the tool calls rebuilt
# as the OpenAI SDK does and compared with the recording; a two-turn tool
# conversation against the mock's strict checks; the 400s of the check.

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

my $JSON_MSG = '{"id":"msg_j","type":"message","role":"assistant",'
    . '"content":[{"type":"tool_use","id":"toolu_j","name":"llm_json_response",'
    . '"input":{"city":"Lima","country":"Peru"}}],"stop_reason":"tool_use",'
    . '"usage":{"input_tokens":5,"output_tokens":7}}';

# nginx unescapes \" in quoted strings: the quotes go as \u0022
my $JSON_SSE = join '',
    map { "event: $_->[0]\\ndata: $_->[1]\\n\\n" }
    ['message_start', '{"type":"message_start","message":{"id":"msg_k","type":"message","role":"assistant","content":[],"model":"m","usage":{"input_tokens":5,"output_tokens":1}}}'],
    ['content_block_start', '{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_k","name":"llm_json_response","input":{}}}'],
    ['content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}'],
    ['content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\u0022city\u0022: \u0022Li"}}'],
    ['content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"ma\u0022}"}}'],
    ['content_block_stop', '{"type":"content_block_stop","index":0}'],
    ['message_delta', '{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}'],
    ['message_stop', '{"type":"message_stop"}'];

my $conf = <<'EOF';
    llm_provider ant dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_TEST_ANTHROPIC_KEY;

    llm_model text-then-tool provider=ant
              upstream_model=fixture=anthropic/messages-text-then-tool-use.stream.jsonl;
    llm_model text-then-tool-1 provider=ant
              upstream_model=fixture=anthropic/messages-text-then-tool-use.stream.jsonl,split=1;
    llm_model no-args provider=ant
              upstream_model=fixture=anthropic/messages-tool-no-args.stream.jsonl;
    llm_model no-args-1 provider=ant
              upstream_model=fixture=anthropic/messages-tool-no-args.stream.jsonl,split=1;
    llm_model server-tool provider=ant
              upstream_model=fixture=anthropic/messages-server-and-client-tool.stream.sse;
    llm_model server-tool-1 provider=ant
              upstream_model=fixture=anthropic/messages-server-and-client-tool.stream.sse,split=1;
    llm_model thinking provider=ant
              upstream_model=fixture=anthropic/messages-thinking.stream.sse;
    llm_model thinking-1 provider=ant
              upstream_model=fixture=anthropic/messages-thinking.stream.sse,split=1;
    llm_model tool-use provider=ant
              upstream_model=fixture=anthropic/messages-tool-use.response.json;
    llm_model answer provider=ant
              upstream_model=fixture=anthropic/messages-text.response.json;
    llm_model answer-stream provider=ant
              upstream_model=fixture=anthropic/messages-text.stream.sse;
    llm_model json provider=ant
              'upstream_model=body=%%JSON_MSG%%';
    llm_model json-stream provider=ant
              'upstream_model=ctype=text/event-stream,body=%%JSON_SSE%%';

    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions { llm_chat; }
    }
EOF

$conf =~ s/%%JSON_MSG%%/$JSON_MSG/;
$conf =~ s/%%JSON_SSE%%/$JSON_SSE/;

my $ng = start_nginx($conf, mock => $mock);
my $port = $ng->{port};

my @USER = ({ role => 'user', content => 'What is the weather?' });

sub tool {
    my ($name, $params) = @_;
    return { type => 'function',
             function => { name => $name, description => "the $name tool",
                           parameters => $params // { type => 'object',
                                                      properties => {} } } };
}

# the client tool calls of a recording: id, name, parsed input
sub recorded_calls {
    my ($rel) = @_;
    my (@calls, %by_block);
    for my $ev (@{ fixture_chunks($rel) }) {
        my $t = $ev->{type} // '';
        if ($t eq 'content_block_start'
            && $ev->{content_block}{type} eq 'tool_use')
        {
            push @calls, { id => $ev->{content_block}{id},
                           name => $ev->{content_block}{name}, json => '' };
            $by_block{ $ev->{index} } = $calls[-1];
        } elsif ($t eq 'content_block_delta'
                 && $ev->{delta}{type} eq 'input_json_delta'
                 && $by_block{ $ev->{index} })
        {
            $by_block{ $ev->{index} }{json} .= $ev->{delta}{partial_json};
        }
    }
    $_->{input} = decode_json(length $_->{json} ? $_->{json} : '{}')
        for @calls;
    return \@calls;
}

sub recorded_text {
    my ($rel, $kind) = @_;
    return join '', map { $_->{delta}{$kind} // '' }
        grep { ($_->{type} // '') eq 'content_block_delta' }
        @{ fixture_chunks($rel) };
}

# the tool names a recording calls, declared so the request is valid
sub tools_for {
    my ($rel) = @_;
    return [ map { tool($_->{name}) } @{ recorded_calls($rel) } ];
}

my $json = JSON::PP->new->canonical;

for my $case (['text-then-tool', 'anthropic/messages-text-then-tool-use.stream.jsonl'],
              ['no-args', 'anthropic/messages-tool-no-args.stream.jsonl'],
              ['server-tool', 'anthropic/messages-server-and-client-tool.stream.sse'],
              ['thinking', 'anthropic/messages-thinking.stream.sse'])
{
    my ($name, $rel) = @$case;
    my $want = recorded_calls($rel);

    for my $model ($name, "$name-1") {
        subtest "$model: the recording, rebuilt by the SDK accumulator" => sub {
            my $body = { model => $model, messages => \@USER,
                         stream => JSON::PP::true };
            my $tools = tools_for($rel);
            $body->{tools} = $tools if @$tools;
            my $r = chat($port, $body);
            is($r->{status}, 200, 'status 200');
            my ($chunks, $done) = sse_json($r->{content} // '');
            ok($done, 'ends with [DONE]');
            ok(!grep({ $_->{error} } @$chunks), 'no error frame');
            my $acc = accumulate_stream($chunks);
            is($acc->{content} // '', recorded_text($rel, 'text'),
               'text as recorded');
            is($acc->{reasoning_content} // '', recorded_text($rel, 'thinking'),
               'thinking as reasoning_content');
            my $calls = $acc->{tool_calls} // [];
            is(scalar @$calls, scalar @$want, scalar(@$want) . ' tool calls');
            for my $i (0 .. $#$want) {
                my $c = $calls->[$i] // {};
                is($c->{index}, $i, "call $i: index $i (tools only)");
                is($c->{id}, $want->[$i]{id}, "call $i: id");
                is($c->{type}, 'function', "call $i: type");
                is($c->{function}{name}, $want->[$i]{name}, "call $i: name");
                my $args = json_or_undef($c->{function}{arguments} // '');
                is($json->encode($args // 'not JSON'),
                   $json->encode($want->[$i]{input}),
                   "call $i: arguments parse to the recorded input");
            }
            is($acc->{finish_reason}, @$want ? 'tool_calls' : 'stop',
               'finish_reason');
            # each tool's first delta names it, and only that one
            my @named = grep { defined $_->{id} }
                        map { @{ $_->{choices}[0]{delta}{tool_calls} // [] } }
                        grep { @{ $_->{choices} // [] } } @$chunks;
            is(scalar @named, scalar @$want, 'one naming delta per call');
            ok(!grep({ ($_->{function}{arguments} // 'x') ne '' } @named),
               'the naming delta has arguments ""');
        };
    }
}

subtest 'server tools stay at Anthropic' => sub {
    my $r = chat($port, { model => 'server-tool', messages => \@USER,
                          stream => JSON::PP::true,
                          tools => tools_for('anthropic/messages-server-and-client-tool.stream.sse') });
    unlike($r->{content}, qr/srvtoolu_|tool_search_tool/,
           'no server tool id or name reaches the client');
};

subtest 'non-stream tool call' => sub {
    my $r = chat($port, { model => 'tool-use', messages => \@USER,
                          tools => [ tool('final_result') ] });
    is($r->{status}, 200, 'status 200');
    my $m = (json_or_undef($r->{content}) // {})->{choices}[0] // {};
    my $fx = decode_json(read_fixture('anthropic/messages-tool-use.response.json'));
    my ($use) = grep { $_->{type} eq 'tool_use' } @{ $fx->{content} };
    my $c = $m->{message}{tool_calls}[0] // {};
    is($c->{id}, $use->{id}, 'id');
    is($c->{type}, 'function', 'type');
    is($c->{function}{name}, $use->{name}, 'name');
    is($json->encode(json_or_undef($c->{function}{arguments} // '') // 0),
       $json->encode($use->{input}), 'arguments: the input as a JSON string');
    is($m->{finish_reason}, 'tool_calls', 'finish_reason tool_calls');
};

# turn 2 of a conversation: the client sends the call and its result back
sub second_turn {
    my ($model, $call, %o) = @_;
    return chat($port, {
        model => $model,
        messages => [ @USER,
                      { role => 'assistant', content => $o{text},
                        tool_calls => [ $call ] },
                      { role => 'tool', tool_call_id => $o{result_id} // $call->{id},
                        content => '{"temperature": 21}' },
                      ($o{then} ? { role => 'user', content => $o{then} } : ()) ],
        ($o{no_tools} ? () : (tools => [ tool($call->{function}{name}) ])),
        ($o{stream} ? (stream => JSON::PP::true) : ()) });
}

subtest 'a two-turn tool conversation, non-stream' => sub {
    my $r = chat($port, { model => 'tool-use', messages => \@USER,
                          tools => [ tool('final_result') ] });
    my $call = (json_or_undef($r->{content}) // {})->{choices}[0]{message}{tool_calls}[0];
    ok($call, 'turn 1: a tool call');

    $r = second_turn('answer', $call, then => 'Thanks.');
    is($r->{status}, 200, 'turn 2: the strict mock took it')
        or diag($r->{content});
    like((json_or_undef($r->{content}) // {})->{choices}[0]{message}{content} // '',
         qr/\S/, 'turn 2: a text answer');

    my $b = mock_requests($mock)->[-1]{body};
    my @m = @{ $b->{messages} };
    is(join(',', map { $_->{role} } @m), 'user,assistant,user',
       'roles alternate');
    is($m[1]{content}[0]{type}, 'tool_use', 'the call as tool_use');
    is($m[1]{content}[0]{id}, $call->{id}, 'its id');
    is($json->encode($m[1]{content}[0]{input}),
       $json->encode(decode_json($call->{function}{arguments})),
       'its input: the parsed arguments');
    is($m[2]{content}[0]{type}, 'tool_result', 'the result in the user turn');
    is($m[2]{content}[0]{tool_use_id}, $call->{id}, 'paired by id');
    is($m[2]{content}[1]{text}, 'Thanks.', 'the user text after it');

    my $n = scalar @{ mock_requests($mock) };
    $r = second_turn('answer', $call, result_id => 'toolu_other');
    is($r->{status}, 400, 'a result for an unknown call: 400');
    is((json_or_undef($r->{content}) // {})->{error}{param},
       'messages[2].tool_call_id', 'naming the tool message');
    is(scalar @{ mock_requests($mock) }, $n, 'nothing went upstream');

    $r = second_turn('answer', $call, no_tools => 1);
    is($r->{status}, 200, 'without tools in turn 2: accepted')
        or diag($r->{content});
    $b = mock_requests($mock)->[-1]{body};
    is($b->{tools}[0]{name}, $call->{function}{name},
       'the called tool declared for Anthropic');
    is_deeply($b->{tool_choice}, { type => 'none' }, 'not to be called');
};

subtest 'a two-turn tool conversation, streamed' => sub {
    my $rel = 'anthropic/messages-text-then-tool-use.stream.jsonl';
    my $r = chat($port, { model => 'text-then-tool', messages => \@USER,
                          stream => JSON::PP::true, tools => tools_for($rel) });
    my $acc = accumulate_stream((sse_json($r->{content}))[0]);
    my $call = $acc->{tool_calls}[0];
    ok($call, 'turn 1: a tool call');

    $r = second_turn('answer-stream', $call, text => $acc->{content},
                     stream => 1);
    is($r->{status}, 200, 'turn 2: the strict mock took it')
        or diag($r->{content});
    my ($chunks, $done) = sse_json($r->{content} // '');
    ok($done && length(accumulate_stream($chunks)->{content} // ''),
       'turn 2: a streamed text answer');
    my @m = @{ mock_requests($mock)->[-1]{body}{messages} };
    is(join(',', map { $_->{type} } @{ $m[1]{content} }), 'text,tool_use',
       "the assistant's text, then its call");
    is($m[2]{content}[0]{tool_use_id}, $call->{id}, 'the result paired');
};

subtest 'images' => sub {
    my $r = chat($port, { model => 'answer', messages => [
        { role => 'user', content => [
            { type => 'text', text => 'What is this?' },
            { type => 'image_url',
              image_url => { url => 'data:image/png;base64,iVBORw0KGgo=' } },
            { type => 'image_url',
              image_url => { url => 'https://example.com/cat.jpg' } } ] } ] });
    is($r->{status}, 200, 'status 200') or diag($r->{content});
    my $c = mock_requests($mock)->[-1]{body}{messages}[0]{content};
    is_deeply($c->[1]{source}, { type => 'base64', media_type => 'image/png',
                                 data => 'iVBORw0KGgo=' }, 'data: → base64');
    is_deeply($c->[2]{source}, { type => 'url',
                                 url => 'https://example.com/cat.jpg' },
              'https → url');
};

subtest 'response_format: the JSON tool' => sub {
    my $rf = { type => 'json_schema',
               json_schema => { name => 'place', schema => {
                   type => 'object', properties => { city => { type => 'string' } } } } };
    my $r = chat($port, { model => 'json', messages => \@USER,
                          response_format => $rf });
    is($r->{status}, 200, 'status 200') or diag($r->{content});
    my $ch = (json_or_undef($r->{content}) // {})->{choices}[0] // {};
    is_deeply(json_or_undef($ch->{message}{content} // ''),
              { city => 'Lima', country => 'Peru' }, 'the input as content');
    ok(!$ch->{message}{tool_calls}, 'no tool call');
    is($ch->{finish_reason}, 'stop', 'finish_reason stop');
    my $b = mock_requests($mock)->[-1]{body};
    is($b->{tools}[0]{name}, 'llm_json_response', 'the JSON tool sent');
    is_deeply($b->{tools}[0]{input_schema}, $rf->{json_schema}{schema},
              'with the schema');
    is_deeply($b->{tool_choice}, { type => 'tool', name => 'llm_json_response' },
              'forced');

    $r = chat($port, { model => 'json-stream', messages => \@USER,
                       stream => JSON::PP::true,
                       response_format => { type => 'json_object' } });
    my ($chunks, $done) = sse_json($r->{content} // '');
    my $acc = accumulate_stream($chunks);
    ok($done, 'stream: [DONE]');
    is($acc->{content}, '{"city": "Lima"}', 'stream: the input as content');
    ok(!$acc->{tool_calls}, 'stream: no tool call');
    is($acc->{finish_reason}, 'stop', 'stream: finish_reason stop');
};

subtest 'reasoning_effort: thinking' => sub {
    my $r = chat($port, { model => 'thinking', messages => \@USER,
                          stream => JSON::PP::true, reasoning_effort => 'low',
                          temperature => 0.3 });
    is($r->{status}, 200, 'the strict mock took it') or diag($r->{content});
    my $b = mock_requests($mock)->[-1]{body};
    is_deeply($b->{thinking}, { type => 'enabled', budget_tokens => 2048 },
              'low: 2048 tokens');
    ok($b->{max_tokens} > 2048, 'max_tokens above the budget');
    ok(!exists $b->{temperature}, 'no temperature with thinking');
};

subtest 'what Anthropic cannot honour: 400 before any upstream request' => sub {
    my @cases = (
        [ { n => 2 }, 'n' ],
        [ { logprobs => JSON::PP::true }, 'logprobs' ],
        [ { logit_bias => { 50256 => -100 } }, 'logit_bias' ],
        [ { reasoning_effort => 'extreme' }, 'reasoning_effort' ],
        [ { reasoning_effort => 'low', response_format => { type => 'json_object' } },
          'response_format' ],
        [ { reasoning_effort => 'low', tools => [ tool('f') ],
            tool_choice => 'required' }, 'tool_choice' ],
        [ { messages => [ @USER, { role => 'assistant', tool_calls => [
              { id => 'c1', type => 'function',
                function => { name => 'f', arguments => '{"a":' } } ] } ],
            tools => [ tool('f') ] },
          'messages[1].tool_calls[0].function.arguments' ],
        [ { messages => [ { role => 'user', content => [
              { type => 'image_url', image_url => { url => 'file:///etc/passwd' } } ] } ] },
          'messages[0].content[0].image_url.url' ],
    );
    my $before = scalar @{ mock_requests($mock) };
    for my $c (@cases) {
        my ($extra, $param) = @$c;
        my $r = chat($port, { model => 'answer', messages => \@USER, %$extra });
        is($r->{status}, 400, "$param: 400");
        my $e = (json_or_undef($r->{content}) // {})->{error} // {};
        is($e->{param}, $param, "$param: named");
        is($e->{type}, 'invalid_request_error', "$param: invalid_request_error");
        ok(length($e->{message} // ''), "$param: a message");
    }
    is(scalar @{ mock_requests($mock) }, $before, 'nothing went upstream');

    my $r = chat($port, { model => 'answer', messages => \@USER, n => 1,
                          seed => 7, presence_penalty => 0.5,
                          frequency_penalty => 0.5, top_logprobs => 0 });
    is($r->{status}, 200, 'dropped parameters: 200');
    my $b = mock_requests($mock)->[-1]{body};
    ok(!grep({ exists $b->{$_} } qw(n seed presence_penalty frequency_penalty
                                    top_logprobs)), 'none of them sent');
};

subtest "the OpenAI Node SDK's own accumulator" => sub {
    my $sdk = $ENV{OPENAI_SDK_DIR} // repo_root() . '/build/sdk';
    plan skip_all => "no OpenAI Node SDK in $sdk (./build.sh deps)"
        unless -f "$sdk/node_modules/openai/package.json";
    local $ENV{OPENAI_SDK_DIR} = $sdk;

    my %rel = ('text-then-tool' => 'anthropic/messages-text-then-tool-use.stream.jsonl',
               'no-args-1' => 'anthropic/messages-tool-no-args.stream.jsonl',
               'server-tool' => 'anthropic/messages-server-and-client-tool.stream.sse');
    my %tools = map { $_ => tools_for($rel{$_}) } keys %rel;
    my $root = repo_root();
    my $arg = encode_json(\%tools);
    $arg =~ s/'/'\\''/g;
    my $out = `node $root/t/sdk/anthropic-tools.cjs http://127.0.0.1:$port/v1 '$arg' @{[ sort keys %rel ]}`;
    my $got = json_or_undef($out) // { fatal => "not JSON: $out" };
    ok(!$got->{fatal}, 'the SDK script ran') or diag($got->{fatal});

    for my $model (sort keys %rel) {
        my $want = recorded_calls($rel{$model});
        my $calls = $got->{$model}{message}{tool_calls} // [];
        is(scalar @$calls, scalar @$want, "$model: the calls");
        for my $i (0 .. $#$want) {
            is($calls->[$i]{id}, $want->[$i]{id}, "$model: call $i id");
            is($calls->[$i]{function}{name}, $want->[$i]{name},
               "$model: call $i name");
            is_deeply(json_or_undef($calls->[$i]{function}{arguments} // ''),
                      $want->[$i]{input}, "$model: call $i arguments");
        }
        is($got->{$model}{finish}, 'tool_calls', "$model: finish_reason");
    }
    is($got->{n}{name}, 'BadRequestError', 'n: 2 is a BadRequestError');
    is($got->{n}{param}, 'n', 'naming n');
};

done_testing();
