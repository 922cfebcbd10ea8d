#!/usr/bin/perl
#
# The gemini dialect with tools, end to end: every recorded Google tool
# and thought stream replayed (whole and in 1-byte pieces), the tool calls
# rebuilt as the OpenAI SDK's stream accumulator does and compared with
# the recording; full two-turn tool conversations against the strict mock
# (functionCall / functionResponse pairing and names, roles, and the
# thoughtSignature Gemini 3 wants back); the check hook; blocked prompts;
# images, structured output and reasoning in the native request.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP;
use Test::More;

module_path();

my $KEY = 'gm-tools-key';
my $mock = start_mock(key => $KEY);

$ENV{LLM_TEST_GEMINI_KEY} = $KEY;

my $ng = start_nginx(<<'EOF', mock => $mock);
    llm_provider gem dialect=gemini url=http://127.0.0.1:%%MOCK%%/v1beta
                 api_key=env:LLM_TEST_GEMINI_KEY;

    llm_model tc-stream provider=gem
              upstream_model=fixture=google/tool-call.stream.sse;
    llm_model tc-stream-split provider=gem
              upstream_model=fixture=google/tool-call.stream.sse,split=1;
    llm_model after-fn provider=gem
              upstream_model=fixture=google/text-after-function-response.stream.sse,sig_from=google/tool-call.stream.sse;
    llm_model after-fn-split provider=gem
              upstream_model=fixture=google/text-after-function-response.stream.sse,split=1;
    llm_model thoughts provider=gem
              upstream_model=fixture=google/text-with-thoughts.stream.jsonl;
    llm_model thoughts-split provider=gem
              upstream_model=fixture=google/text-with-thoughts.stream.jsonl,split=1;
    llm_model tc-json provider=gem
              upstream_model=fixture=google/tool-call.response.json;
    llm_model fr-json provider=gem
              upstream_model=fixture=google/function-response-roundtrip.response.json;
    llm_model text-json provider=gem
              upstream_model=fixture=google/text.response.json;
    llm_model after-json provider=gem
              upstream_model=fixture=google/text.response.json,sig_from=google/tool-call.response.json;
    llm_model blocked provider=gem
              'upstream_model=body={"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":3}}';
    llm_model two-cands provider=gem
              'upstream_model=ctype=text/event-stream,body=data: {"candidates":[{"content":{"parts":[{"text":"a"}]},"index":0},{"content":{"parts":[{"functionCall":{"name":"f","args":{"x":1}}}]},"index":1}]}\r\n\r\ndata: {"candidates":[{"content":{"parts":[{"text":"b"}]},"finishReason":"MAX_TOKENS","index":0},{"content":{"parts":[{"text":""}]},"finishReason":"STOP","index":1}]}\r\n\r\n';
    llm_model blocked-stream provider=gem
              'upstream_model=ctype=text/event-stream,body=data: {"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"}}\r\n\r\n';

    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions { llm_chat; }
    }
EOF

my $port = $ng->{port};

# the recorded request of tool-call.stream.sse, in OpenAI terms
my @Q = ({ role => 'user',
           content => 'What is the capital of the user country? Call the tool' });
my @TOOLS = ({ type => 'function',
               function => { name => 'get_country', description => '',
                             parameters => { type => 'object', properties => {},
                                             additionalProperties => JSON::PP::false },
                             strict => JSON::PP::true } });

sub stream_body {
    my ($model, $messages, %more) = @_;
    return { model => $model, messages => $messages, stream => JSON::PP::true,
             stream_options => { include_usage => JSON::PP::true }, %more };
}

sub chat_sse {
    my ($body) = @_;
    my $r = chat($port, $body);
    my ($chunks, $done) = sse_json($r->{content} // '');
    return ($r, $chunks, $done);
}

# the functionCall parts (and their text) of a recording
sub recorded {
    my ($rel) = @_;
    my $events = $rel =~ /\.json$/ ? [ decode_json(read_fixture($rel)) ]
                                   : fixture_chunks($rel);
    my (@calls, $text, $thought);
    $text = $thought = '';
    for my $ev (@$events) {
        for my $p (@{ ($ev->{candidates}[0] // {})->{content}{parts} // [] }) {
            push @calls, $p if $p->{functionCall};
            next unless defined $p->{text};
            if ($p->{thought}) { $thought .= $p->{text} } else { $text .= $p->{text} }
        }
    }
    return { calls => \@calls, text => $text, thought => $thought,
             last => $events->[-1] };
}

sub calls_match {
    my ($got, $want, $what) = @_;
    is(scalar @{ $got // [] }, scalar @$want, "$what: number of tool calls");
    for my $k (0 .. $#$want) {
        my $tc = ($got // [])->[$k] // {};
        my $fc = $want->[$k]{functionCall};
        is($tc->{type}, 'function', "$what [$k]: type function");
        like($tc->{id} // '', qr/^call_[0-9a-f]{16}/, "$what [$k]: a minted id");
        is($tc->{function}{name}, $fc->{name}, "$what [$k]: name $fc->{name}");
        my $args = json_or_undef($tc->{function}{arguments} // '');
        is_deeply($args, $fc->{args} // {},
                  "$what [$k]: arguments parse to the recorded args");
    }
}

for my $case (['tc-stream', 'google/tool-call.stream.sse'],
              ['tc-stream-split', 'google/tool-call.stream.sse'],
              ['after-fn-split', 'google/text-after-function-response.stream.sse'],
              ['thoughts', 'google/text-with-thoughts.stream.jsonl'],
              ['thoughts-split', 'google/text-with-thoughts.stream.jsonl'])
{
    my ($model, $rel) = @$case;
    my $want = recorded($rel);

    subtest "$model: $rel replayed" => sub {
        my ($r, $chunks, $done) = chat_sse(stream_body($model, \@Q,
                                                       tools => \@TOOLS));
        is($r->{status}, 200, 'status 200');
        ok($done, 'ends with [DONE]');
        my $acc = accumulate_stream($chunks);
        calls_match($acc->{tool_calls}, $want->{calls}, $model);
        is($acc->{content} // '', $want->{text}, 'text as recorded');
        is($acc->{reasoning_content} // '', $want->{thought},
           'thoughts as reasoning_content');
        is($acc->{finish_reason}, @{ $want->{calls} } ? 'tool_calls' : 'stop',
           'finish_reason');
        my $um = $want->{last}{usageMetadata};
        is($acc->{usage}{completion_tokens},
           ($um->{candidatesTokenCount} // 0) + ($um->{thoughtsTokenCount} // 0),
           'completion tokens count the thoughts');
        is($acc->{usage}{completion_tokens_details}{reasoning_tokens},
           $um->{thoughtsTokenCount} // 0, 'reasoning_tokens');
        my @tc = grep { @{ $_->{choices} // [] }
                        && $_->{choices}[0]{delta}{tool_calls} } @$chunks;
        is(scalar @tc, scalar @{ $want->{calls} },
           'each whole functionCall is one complete delta');
    };
}

for my $case (['tc-json', 'google/tool-call.response.json'],
              ['fr-json', 'google/function-response-roundtrip.response.json'])
{
    my ($model, $rel) = @$case;
    my $want = recorded($rel);

    subtest "$model: $rel, non-stream" => sub {
        my $r = chat($port, { model => $model, messages => \@Q });
        is($r->{status}, 200, 'status 200');
        my $j = json_or_undef($r->{content}) // {};
        my $c = $j->{choices}[0] // {};
        calls_match($c->{message}{tool_calls}, $want->{calls}, $model);
        is($c->{finish_reason}, 'tool_calls', 'STOP with calls is tool_calls');
        my $um = $want->{last}{usageMetadata};
        is($j->{usage}{completion_tokens_details}{reasoning_tokens},
           $um->{thoughtsTokenCount} // 0, 'reasoning_tokens');
        my $again = json_or_undef(chat($port, { model => $model,
                                                messages => \@Q })->{content});
        is($again->{choices}[0]{message}{tool_calls}[0]{id},
           $c->{message}{tool_calls}[0]{id}, 'the id is stable');
    };
}

# the assistant message an SDK builds from a response
sub assistant_of {
    my ($msg) = @_;
    return { role => 'assistant', content => $msg->{content},
             tool_calls => [ map { { id => $_->{id}, type => 'function',
                                     function => { name => $_->{function}{name},
                                                   arguments => $_->{function}{arguments} } } }
                             @{ $msg->{tool_calls} // [] } ] };
}

subtest 'two turns, streamed, against the strict mock' => sub {
    my ($r, $chunks) = chat_sse(stream_body('tc-stream', \@Q, tools => \@TOOLS,
                                            tool_choice => 'auto'));
    my $acc = accumulate_stream($chunks);
    is($acc->{finish_reason}, 'tool_calls', 'turn 1 asks for the tool');
    my $call = $acc->{tool_calls}[0];

    my @history = (@Q, assistant_of($acc->{message}),
                   { role => 'tool', tool_call_id => $call->{id},
                     content => 'Mexico' });
    my $n = scalar @{ mock_requests($mock) };
    ($r, $chunks, my $done) = chat_sse(stream_body('after-fn', \@history,
                                                   tools => \@TOOLS));
    is($r->{status}, 200, 'turn 2 accepted by the strict mock')
        or diag($r->{content});
    ok($done, 'ends with [DONE]');
    my $want = recorded('google/text-after-function-response.stream.sse');
    is(accumulate_stream($chunks)->{content}, $want->{text}, 'the answer');

    my $req = mock_requests($mock)->[$n]{body};
    is_deeply([ map { $_->{role} } @{ $req->{contents} } ],
              [qw(user model user)], 'roles user, model, user');
    my $part = $req->{contents}[1]{parts}[0];
    is($part->{functionCall}{name}, 'get_country', 'the functionCall');
    is_deeply($part->{functionCall}{args}, {}, 'its args');
    my $sig = recorded('google/tool-call.stream.sse')->{calls}[0]{thoughtSignature};
    is($part->{thoughtSignature}, $sig,
       'the recorded thoughtSignature came back through the id');
    is_deeply($req->{contents}[2]{parts},
              [ { functionResponse => { name => 'get_country',
                                        response => { content => 'Mexico' } } } ],
              'the functionResponse, named from the call id');
    is_deeply($req->{tools}[0]{functionDeclarations}[0],
              { name => 'get_country', description => '',
                parameters => { type => 'OBJECT', properties => {} } },
              'the declaration, additionalProperties and strict removed');

    # a client that loses the signature: Gemini 3 (the mock) refuses
    my @lost = (@Q, assistant_of($acc->{message}),
                { role => 'tool', tool_call_id => 'call_lost', content => 'Mexico' });
    $lost[1]{tool_calls}[0]{id} = 'call_lost';
    $r = chat($port, stream_body('after-fn', \@lost, tools => \@TOOLS));
    ($chunks) = sse_json($r->{content} // '');
    my $err = $r->{status} == 200 ? ($chunks->[-1] // {})->{error}
                                  : (json_or_undef($r->{content}) // {})->{error};
    like(($err // {})->{message} // '', qr/thought_signature/,
         'without the signature the strict mock refuses, as Gemini 3 does');
};

subtest 'two turns, non-stream, against the strict mock' => sub {
    my @tools = ({ type => 'function',
                   function => { name => 'weather',
                                 parameters => { type => 'object',
                                     properties => { location => { type => 'string' } },
                                     required => ['location'] } } });
    my @q = ({ role => 'user', content => 'Weather in San Francisco?' });
    my $r = chat($port, { model => 'tc-json', messages => \@q, tools => \@tools,
                          tool_choice => { type => 'function',
                                           function => { name => 'weather' } } });
    my $msg = (json_or_undef($r->{content}) // {})->{choices}[0]{message} // {};
    my $id = $msg->{tool_calls}[0]{id};
    my $n = scalar @{ mock_requests($mock) };
    $r = chat($port, { model => 'after-json', tools => \@tools,
                       messages => [ @q, assistant_of($msg),
                                     { role => 'tool', tool_call_id => $id,
                                       content => '{"temp":"18C"}' } ] });
    is($r->{status}, 200, 'turn 2 accepted by the strict mock')
        or diag($r->{content});
    my $first = mock_requests($mock)->[$n - 1]{body};
    is_deeply($first->{toolConfig},
              { functionCallingConfig => { mode => 'ANY',
                                           allowedFunctionNames => ['weather'] } },
              'a named tool_choice: ANY + allowedFunctionNames');
    my $req = mock_requests($mock)->[$n]{body};
    is_deeply($req->{contents}[1]{parts}[0]{functionCall},
              { name => 'weather', args => { location => 'San Francisco' } },
              'the call, arguments parsed');
    is($req->{contents}[2]{parts}[0]{functionResponse}{name}, 'weather',
       'the result named from the call id');
};

subtest "Gemini's OpenAI-compatible extra_content signature is honoured" => sub {
    my $fx = decode_json(read_fixture('google/openai-compat-tool-call.response.json'));
    my $m = $fx->{choices}[0]{message};
    my $sig = $m->{extra_content}{google}{thought_signature};
    my $call = { %{ $m->{tool_calls}[0] }, id => 'compat-1',
                 extra_content => $m->{extra_content} };
    my $n = scalar @{ mock_requests($mock) };
    my $r = chat($port, { model => 'text-json',
                          messages => [ @Q, { role => 'assistant', content => undef,
                                              tool_calls => [$call] },
                                        { role => 'tool', tool_call_id => 'compat-1',
                                          content => '12:00' } ] });
    is($r->{status}, 200, 'accepted') or diag($r->{content});
    is(mock_requests($mock)->[$n]{body}{contents}[1]{parts}[0]{thoughtSignature},
       $sig, 'tool_calls[].extra_content.google.thought_signature is sent');
};

subtest 'the check hook: refused before any upstream request' => sub {
    my $n = scalar @{ mock_requests($mock) };
    my @bad = (@Q, { role => 'assistant', content => undef,
                     tool_calls => [ { id => 'a', type => 'function',
                                       function => { name => 'get_country',
                                                     arguments => '{"x":' } } ] },
               { role => 'tool', tool_call_id => 'a', content => 'r' });
    my $r = chat($port, { model => 'text-json', messages => \@bad });
    is($r->{status}, 400, 'invalid arguments: 400');
    my $e = (json_or_undef($r->{content}) // {})->{error} // {};
    is($e->{param}, 'messages[1].tool_calls[0].function.arguments',
       'the param names the message');
    is($e->{type}, 'invalid_request_error', 'invalid_request_error');

    $r = chat($port, { model => 'text-json', messages => \@Q, logprobs => JSON::PP::true });
    is($r->{status}, 400, 'logprobs: 400');
    $r = chat($port, { model => 'text-json', messages => \@Q, n => 9 });
    is($r->{status}, 400, 'n > 8: 400');
    $r = chat($port, { model => 'text-json', messages => [
        { role => 'user', content => [
            { type => 'image_url', image_url => { url => 'https://x.test/pic' } } ] } ] });
    is($r->{status}, 400, 'an image URL of unknown type: 400');
    like((json_or_undef($r->{content}) // {})->{error}{message} // '',
         qr/mimeType/, 'saying why');
    is(scalar @{ mock_requests($mock) }, $n, 'no upstream request made');
};

subtest 'blocked prompt: content_filter with the reason' => sub {
    my $r = chat($port, { model => 'blocked', messages => \@Q });
    is($r->{status}, 200, 'status 200');
    my $c = (json_or_undef($r->{content}) // {})->{choices}[0] // {};
    is($c->{finish_reason}, 'content_filter', 'content_filter');
    like($c->{message}{refusal} // '', qr/blockReason: SAFETY/,
         'message.refusal names the reason');

    my ($rs, $chunks, $done) = chat_sse(stream_body('blocked-stream', \@Q));
    is($rs->{status}, 200, 'stream: status 200');
    ok($done, 'stream: ends with [DONE]');
    my $acc = accumulate_stream($chunks);
    is($acc->{finish_reason}, 'content_filter', 'stream: content_filter');
    like($acc->{refusal} // '', qr/blockReason: PROHIBITED_CONTENT/,
         'stream: delta.refusal names the reason');
};

subtest 'n = 2 streamed: each choice its own finish reason' => sub {
    my @tools = ({ type => 'function', function => { name => 'f' } });
    my $n = scalar @{ mock_requests($mock) };
    my ($r, $chunks, $done) = chat_sse(stream_body('two-cands', \@Q, n => 2,
                                                   tools => \@tools));
    is($r->{status}, 200, 'status 200');
    ok($done, 'ends with [DONE]');
    is(mock_requests($mock)->[$n]{body}{generationConfig}{candidateCount}, 2,
       'candidateCount 2');
    my $acc = accumulate_stream($chunks);
    my ($c0, $c1) = @{ $acc->{choices} };
    is($c0->{message}{content}, 'ab', 'choice 0: its text');
    is($c0->{finish_reason}, 'length', 'choice 0: length');
    is($c1->{message}{tool_calls}[0]{function}{name}, 'f', 'choice 1: its call');
    is($c1->{message}{tool_calls}[0]{index}, 0, 'choice 1: tool index 0');
    is($c1->{finish_reason}, 'tool_calls', 'choice 1: tool_calls');
    my @fin = grep { defined $_->{choices}[0]{finish_reason} }
              grep { @{ $_->{choices} // [] } } @$chunks;
    is(scalar @fin, 2, 'one finish chunk per choice');
};

subtest 'images, structured output, reasoning: the native request' => sub {
    my $n = scalar @{ mock_requests($mock) };
    my $r = chat($port, { model => 'text-json', reasoning_effort => 'medium',
                          response_format => { type => 'json_schema',
                              json_schema => { name => 'a', strict => JSON::PP::true,
                                  schema => { type => 'object',
                                      properties => { n => { type => ['integer', 'null'] } },
                                      additionalProperties => JSON::PP::false } } },
                          messages => [ { role => 'user', content => [
                              { type => 'text', text => 'what is this?' },
                              { type => 'image_url',
                                image_url => { url => 'data:image/png;base64,iVBORw0KGgo=' } },
                              { type => 'image_url',
                                image_url => { url => 'https://x.test/cat.webp' } } ] } ] });
    is($r->{status}, 200, 'accepted by the strict mock') or diag($r->{content});
    my $b = mock_requests($mock)->[$n]{body};
    is_deeply($b->{contents}[0]{parts}[1],
              { inlineData => { mimeType => 'image/png', data => 'iVBORw0KGgo=' } },
              'data: URL → inlineData');
    is_deeply($b->{contents}[0]{parts}[2],
              { fileData => { mimeType => 'image/webp',
                              fileUri => 'https://x.test/cat.webp' } },
              'https URL → fileData, type from the extension');
    is($b->{generationConfig}{responseMimeType}, 'application/json', 'responseMimeType');
    is_deeply($b->{generationConfig}{responseSchema},
              { type => 'OBJECT', properties => { n => { type => 'INTEGER',
                                                         nullable => JSON::PP::true } } },
              'responseSchema converted');
    is_deeply($b->{generationConfig}{thinkingConfig},
              { thinkingBudget => 8192, includeThoughts => JSON::PP::true },
              'reasoning_effort medium → thinkingBudget 8192, includeThoughts');
};

done_testing();
