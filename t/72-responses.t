#!/usr/bin/perl
#
# llm_responses on the wire: OpenAI's error object for every bad input;
# the request taken into the internal form (instructions, items, function
# calls and their outputs, tools, text.format, reasoning, limits) as each
# provider gets it; the response object and its typed event stream from
# an openai, an anthropic and a gemini provider, tool calls included;
# a stream that fails after it started ends in response.failed;
# previous_response_id with the response store (scoped by the client's
# key, store: false honoured) and without one; the native passthrough to
# OpenAI's own /responses; usage in the log.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP qw(decode_json encode_json);
use Test::More;

module_path();

my $KEY = 'sk-mock-provider-key';
my $mock = start_mock(key => $KEY);
$ENV{LLM_T72_KEY} = $KEY;

my $providers = <<'EOF';
    log_format rsp 'model=$llm_model provider=$llm_provider '
                   'stream=$llm_stream status=$status '
                   'prompt=$llm_prompt_tokens completion=$llm_completion_tokens '
                   'finish=$llm_finish_reason attempts=$llm_attempts';

    llm_provider oai dialect=openai url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_T72_KEY;
    llm_provider native dialect=openai url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_T72_KEY responses=on;
    llm_provider ant dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_T72_KEY;
    llm_provider gem dialect=gemini url=http://127.0.0.1:%%MOCK%%/v1beta
                 api_key=env:LLM_T72_KEY;

    llm_model o-demo provider=oai upstream_model=gpt-demo;
    llm_model o-echo provider=oai upstream_model=echo=1;
    llm_model o-cut provider=oai upstream_model=events=10,cut_after=4;
    llm_model o-len provider=oai
        'upstream_model=body={"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Cut sh"},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}';
    llm_model o-tool provider=oai
        upstream_model=fixture=openai/chat-tool-call.stream.sse;
    llm_model o-tool-whole provider=oai
        upstream_model=fixture=openai/chat-tool-call.response.json;
    llm_model a-demo provider=ant upstream_model=claude-demo;
    llm_model a-tool provider=ant
        upstream_model=fixture=anthropic/messages-text-then-tool-use.stream.jsonl;
    llm_model g-demo provider=gem upstream_model=gemini-demo;
    llm_model n-demo provider=native upstream_model=gpt-native;
    llm_model n-fail provider=native upstream_model=gpt-fail;
    llm_model o-500 provider=oai upstream_model=status=500;
    llm_model o-garbage provider=oai 'upstream_model=body=data: {not json';
    llm_model fallback candidates=o-500,a-demo;
EOF

my $ng = start_nginx($providers . <<'EOF', mock => $mock);
    llm_retry tries=1;
    llm_responses_store zone=responses:1m lifetime=1h;

    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 8k;
        access_log %%PREFIX%%/rsp.log rsp;

        location /v1/responses { llm_responses; }

        location /decorated/v1/responses {
            llm_responses;
            llm_prepend_message system "House rule.";
        }
    }
EOF

my $port = $ng->{port};

sub responses {
    my ($body, %h) = @_;
    return http_post_json($port, $h{path} // '/v1/responses', $body,
                          map { $_ => $h{$_} } grep { $_ ne 'path' } keys %h);
}

sub last_upstream { return mock_requests($mock)->[-1] }

# the events of a stream, decoded; every data line is JSON
sub events_of {
    my ($res) = @_;
    return map { { event => $_->{event}, data => decode_json($_->{data}) } }
           sse_named_events($res->{content} // '');
}

# every stream: event names equal types, sequence numbers 0, 1, 2, ...,
# no [DONE], one terminal event, last
sub is_typed_stream {
    my ($res, $terminal, $name) = @_;
    my @ev = events_of($res);
    subtest $name => sub {
        is($res->{status}, 200, 'status 200') or diag($res->{content});
        like($res->{headers}{'content-type'} // '', qr{^text/event-stream},
             'an event stream');
        is($res->{headers}{'x-accel-buffering'}, 'no', 'not buffered');
        unlike($res->{content}, qr/\[DONE\]/, 'no [DONE]');
        is_deeply([ map { $_->{event} } @ev ],
                  [ map { $_->{data}{type} } @ev ], 'event names are types');
        is_deeply([ map { $_->{data}{sequence_number} } @ev ],
                  [ 0 .. $#ev ], 'sequence numbers 0, 1, 2, ...');
        is($ev[0]{event}, 'response.created', 'response.created first');
        is($ev[1]{event}, 'response.in_progress', 'then in_progress');
        is($ev[-1]{event}, $terminal, "$terminal last");
        is(scalar(grep { $_->{event} =~ /^response\.(completed|incomplete|failed)$/ }
                  @ev), 1, 'one terminal event');
        is($ev[-1]{data}{response}{id}, $ev[0]{data}{response}{id},
           'one response id');
    };
    return @ev;
}

sub text_of {
    my ($resp) = @_;
    return join '', map { $_->{text} } grep { $_->{type} eq 'output_text' }
                    map { @{ $_->{content} // [] } }
                    grep { $_->{type} eq 'message' } @{ $resp->{output} };
}

# --- every bad input: OpenAI's error object, never a hang or a page

is_openai_error(responses('{"model": "o-demo", '), 400, 'invalid_request_error',
                'invalid_json', undef, 'invalid JSON');
is_openai_error(responses('[1]'), 400, 'invalid_request_error', undef, undef,
                'not an object');
is_openai_error(responses({ input => 'hi' }), 400, 'invalid_request_error',
                'missing_required_parameter', 'model', 'no model');
is_openai_error(responses({ model => 'o-demo' }), 400,
                'invalid_request_error', 'missing_required_parameter',
                'input', 'no input');
is_openai_error(responses({ model => 'o-demo', input => 7 }), 400,
                'invalid_request_error', 'invalid_type', 'input',
                'input of the wrong type');
is_openai_error(responses({ model => 'o-demo',
                            input => [{ role => 'robot', content => 'x' }] }),
                400, 'invalid_request_error', 'invalid_value',
                'input[0].role', 'an unknown role');
is_openai_error(responses({ model => 'o-demo',
                            input => [{ role => 'user',
                                        content => [{ type => 'input_audio' }] }] }),
                400, 'invalid_request_error', 'invalid_value',
                'input[0].content[0]', 'an unknown part');
is_openai_error(responses({ model => 'o-demo',
                            input => [{ type => 'function_call', name => 'f',
                                        arguments => '{}' }] }),
                400, 'invalid_request_error', 'missing_required_parameter',
                'input[0].call_id', 'a function call without its call_id');
is_openai_error(responses({ model => 'o-demo', input => 'hi',
                            stream => 'yes' }),
                400, 'invalid_request_error', 'invalid_type', 'stream',
                'stream not a boolean');
is_openai_error(responses({ model => 'o-demo', input => 'hi',
                            background => JSON::PP::true }),
                400, 'invalid_request_error', 'unsupported_parameter',
                'background', 'background refused');
is_openai_error(responses({ model => 'o-demo', input => 'hi',
                            text => { format => { type => 'yaml' } } }),
                400, 'invalid_request_error', 'invalid_value',
                'text.format.type', 'an unknown text format');
is_openai_error(responses({ model => 'o-demo', input => 'hi',
                            temperature => 3 }),
                400, 'invalid_request_error', undef, 'temperature',
                'temperature out of range');
is_openai_error(responses({ model => 'no-such-model', input => 'hi' }),
                404, 'invalid_request_error', 'model_not_found', 'model',
                'an unknown model');
is_openai_error(responses({ model => 'o-demo', input => 'x' x 9000 }),
                413, 'invalid_request_error', undef, undef,
                'a body over client_max_body_size');

my $err = is_openai_error(
    responses({ model => 'o-demo', input => 'hi',
                tools => [{ type => 'web_search' }] }),
    400, 'invalid_request_error', undef, undef,
    'a hosted tool for a provider that cannot run it');
like($err->{message}, qr/tool type 'web_search'.*responses=on/,
     'the message names the tool and where it runs');

$err = is_openai_error(
    responses({ model => 'o-demo', input => 'hi',
                previous_response_id => 'resp_nowhere' }),
    400, 'invalid_request_error', 'previous_response_not_found',
    'previous_response_id', 'an unknown previous_response_id');
like($err->{message}, qr/resp_nowhere/, 'the message names the id');

# --- the internal form each provider gets

my $r = responses({
    model => 'o-demo',
    instructions => 'Be brief.',
    input => [
        { role => 'user', content => [
            { type => 'input_text', text => 'Weather in Paris?' },
            { type => 'input_image', image_url => 'https://x/y.png',
              detail => 'low' } ] },
        { type => 'reasoning', id => 'rs_1', summary => [] },
        { type => 'message', role => 'assistant', id => 'msg_1',
          status => 'completed',
          content => [{ type => 'output_text', text => 'Let me look.',
                        annotations => [] }] },
        { type => 'function_call', id => 'fc_1', call_id => 'call_1',
          name => 'get_weather', arguments => '{"city":"Paris"}' },
        { type => 'function_call', call_id => 'call_2',
          name => 'get_time', arguments => '{}' },
        { type => 'function_call_output', call_id => 'call_1',
          output => '{"temp":21}' },
        { type => 'function_call_output', call_id => 'call_2',
          output => [{ type => 'input_text', text => 'noon' }] },
    ],
    tools => [{ type => 'function', name => 'get_weather',
                description => 'Weather', strict => JSON::PP::true,
                parameters => { type => 'object',
                                properties => { city => { type => 'string' } } } },
              { type => 'function', name => 'get_time', parameters => undef }],
    tool_choice => { type => 'function', name => 'get_weather' },
    parallel_tool_calls => JSON::PP::false,
    text => { format => { type => 'json_schema', name => 'w', strict => JSON::PP::true,
                          schema => { type => 'object' } } },
    reasoning => { effort => 'low', summary => 'auto' },
    max_output_tokens => 300,
    temperature => 0.5,
    top_p => 0.9,
    metadata => { app => 'test' },
    safety_identifier => 'user-7',
    store => JSON::PP::false,
    include => ['reasoning.encrypted_content'],
    truncation => 'disabled',
});
is($r->{status}, 200, 'a whole conversation of items is answered')
    or diag($r->{content});

my $sent = last_upstream()->{body};
is(last_upstream()->{path}, '/v1/chat/completions',
   'an openai provider is asked through Chat Completions');
is_deeply($sent->{messages}, [
    { role => 'system', content => 'Be brief.' },
    { role => 'user', content => [
        { type => 'text', text => 'Weather in Paris?' },
        { type => 'image_url', image_url => { url => 'https://x/y.png',
                                              detail => 'low' } } ] },
    { role => 'assistant', content => 'Let me look.', tool_calls => [
        { id => 'call_1', type => 'function',
          function => { name => 'get_weather', arguments => '{"city":"Paris"}' } },
        { id => 'call_2', type => 'function',
          function => { name => 'get_time', arguments => '{}' } } ] },
    { role => 'tool', tool_call_id => 'call_1', content => '{"temp":21}' },
    { role => 'tool', tool_call_id => 'call_2', content => 'noon' },
], 'instructions first; items as messages; calls joined to the assistant '
   . 'turn; outputs as tool messages; reasoning dropped');
is_deeply($sent->{tools}, [
    { type => 'function', function => {
        name => 'get_weather', description => 'Weather', strict => JSON::PP::true,
        parameters => { type => 'object',
                        properties => { city => { type => 'string' } } } } },
    { type => 'function', function => { name => 'get_time' } } ],
    'function tools nested');
is_deeply($sent->{tool_choice},
          { type => 'function', function => { name => 'get_weather' } },
          'tool_choice of a function');
is_deeply($sent->{response_format},
          { type => 'json_schema', json_schema => {
              name => 'w', schema => { type => 'object' },
              strict => JSON::PP::true } },
          'text.format json_schema → response_format');
is($sent->{reasoning_effort}, 'low', 'reasoning.effort → reasoning_effort');
is($sent->{max_completion_tokens}, 300,
   'max_output_tokens → max_completion_tokens');
is($sent->{temperature}, 0.5, 'temperature');
is($sent->{top_p}, 0.9, 'top_p');
ok(!$sent->{parallel_tool_calls}, 'parallel_tool_calls false');
is($sent->{user}, 'user-7', 'safety_identifier → user');

my $obj = decode_json($r->{content});
is($obj->{instructions}, 'Be brief.', 'instructions echoed');
is($obj->{temperature}, 0.5, 'temperature echoed');
is($obj->{max_output_tokens}, 300, 'max_output_tokens echoed');
is_deeply($obj->{metadata}, { app => 'test' }, 'metadata echoed');
is_deeply($obj->{reasoning}, { effort => 'low', summary => 'auto' },
          'reasoning echoed');
is($obj->{text}{format}{type}, 'json_schema', 'text.format echoed');
is($obj->{tools}[0]{name}, 'get_weather', 'tools echoed as sent');
ok(!$obj->{store}, 'store: false echoed');

responses({ model => 'a-demo', input => 'Hi', instructions => 'Be kind.',
            max_output_tokens => 50 });
$sent = last_upstream();
is($sent->{path}, '/v1/messages', 'an anthropic provider gets Messages');
is($sent->{body}{system}, 'Be kind.', 'instructions as its system');
is($sent->{body}{max_tokens}, 50, 'max_output_tokens as max_tokens');

# --- the response object, from each provider

for my $m (qw(o-demo a-demo g-demo)) {
    $r = responses({ model => $m, input => 'Hello there' });
    my $o = json_or_undef($r->{content}) // {};
    subtest "a whole response from $m" => sub {
        is($r->{status}, 200, 'status 200');
        like($o->{id} // '', qr/^resp_[0-9a-f]{32}$/, 'a resp_ id');
        is($o->{object}, 'response', 'object response');
        is($o->{status}, 'completed', 'completed');
        is($o->{model}, $m, "the client's model name");
        ok(exists $o->{error} && !defined $o->{error}, 'error null');
        ok(exists $o->{incomplete_details}
           && !defined $o->{incomplete_details}, 'incomplete_details null');
        is($o->{output}[0]{type}, 'message', 'a message item');
        is($o->{output}[0]{role}, 'assistant', 'from the assistant');
        like($o->{output}[0]{id} // '', qr/^msg_/, 'a msg_ id');
        like(text_of($o), qr/You said: "Hello there"/, 'the answer');
        is($o->{output}[0]{content}[0]{type}, 'output_text', 'output_text');
        is_deeply($o->{output}[0]{content}[0]{annotations}, [],
                  'no annotations');
        ok($o->{usage}{input_tokens} > 0, 'input tokens');
        ok($o->{usage}{output_tokens} > 0, 'output tokens');
        is($o->{usage}{total_tokens},
           $o->{usage}{input_tokens} + $o->{usage}{output_tokens}, 'total');
        ok(exists $o->{usage}{input_tokens_details}{cached_tokens},
           'input_tokens_details');
        ok(exists $o->{usage}{output_tokens_details}{reasoning_tokens},
           'output_tokens_details');
        ok(!exists $o->{output_text}, 'no output_text (the SDK adds it)');
        is_deeply([ @{$o}{qw(tool_choice truncation parallel_tool_calls)} ],
                  [ 'auto', 'disabled', JSON::PP::true ],
                  "OpenAI's defaults echoed");
    };
}

$r = responses({ model => 'o-len', input => 'Hello' });
$obj = decode_json($r->{content});
is($obj->{status}, 'incomplete', 'length: incomplete');
is_deeply($obj->{incomplete_details}, { reason => 'max_output_tokens' },
          'incomplete_details says why');

# --- the typed stream, from each provider

for my $m (qw(o-demo a-demo g-demo)) {
    $r = responses({ model => $m, input => 'Hello there',
                     stream => JSON::PP::true });
    my @ev = is_typed_stream($r, 'response.completed', "a stream from $m");
    my @types = map { $_->{event} } @ev;
    is_deeply([ grep { $_ ne 'response.output_text.delta' } @types ], [
        'response.created', 'response.in_progress',
        'response.output_item.added', 'response.content_part.added',
        'response.output_text.done', 'response.content_part.done',
        'response.output_item.done', 'response.completed' ],
        "$m: the events of a text answer, in order");
    my @deltas = grep { $_->{event} eq 'response.output_text.delta' } @ev;
    ok(@deltas > 3, "$m: token by token");
    my $text = join '', map { $_->{data}{delta} } @deltas;
    my ($done) = grep { $_->{event} eq 'response.output_text.done' } @ev;
    is($done->{data}{text}, $text, "$m: the done text is the deltas'");
    my $final = $ev[-1]{data}{response};
    is(text_of($final), $text, "$m: the final response holds it");
    is($final->{status}, 'completed', "$m: completed");
    ok($final->{usage}{input_tokens} > 0 && $final->{usage}{output_tokens} > 0,
       "$m: usage at the end");
    ok(!defined $ev[0]{data}{response}{usage}, "$m: no usage at the start");
    my $item = $ev[2]{data}{item}{id};
    ok(!grep({ defined $_->{data}{item_id} && $_->{data}{item_id} ne $item }
             @ev), "$m: every event names the item");
}

# --- tool calls, streamed and whole

$r = responses({ model => 'o-tool', input => 'Weather?', stream => JSON::PP::true,
                 tools => [{ type => 'function', name => 'get_weather' }] });
my @ev = is_typed_stream($r, 'response.completed', 'a streamed tool call');
my ($added) = grep { $_->{event} eq 'response.output_item.added' } @ev;
is($added->{data}{item}{type}, 'function_call', 'a function_call item');
ok(length $added->{data}{item}{call_id}, 'with its call_id');
ok(length $added->{data}{item}{name}, 'and name');
my $args = join '', map { $_->{data}{delta} }
           grep { $_->{event} eq 'response.function_call_arguments.delta' } @ev;
my ($argsdone) = grep { $_->{event} eq 'response.function_call_arguments.done' } @ev;
is($argsdone->{data}{arguments}, $args, 'the arguments, whole, at the end');
ok(eval { decode_json($args); 1 }, 'JSON arguments, nothing lost');
is($argsdone->{data}{name}, $added->{data}{item}{name}, 'done names the call');
my $fc = $ev[-1]{data}{response}{output}[-1];
is($fc->{type}, 'function_call', 'the final output holds the call');
is($fc->{arguments}, $args, 'with its arguments');
is($fc->{status}, 'completed', 'completed');

$r = responses({ model => 'o-tool-whole', input => 'Weather?' });
$obj = decode_json($r->{content});
($fc) = grep { $_->{type} eq 'function_call' } @{ $obj->{output} };
ok($fc && length $fc->{call_id} && length $fc->{name},
   'a whole function_call item');
ok(eval { decode_json($fc->{arguments}); 1 }, 'its arguments a JSON string');

$r = responses({ model => 'a-tool', input => 'Weather?', stream => JSON::PP::true,
                 tools => [{ type => 'function', name => 'get_weather',
                             parameters => { type => 'object' } }] });
@ev = is_typed_stream($r, 'response.completed',
                      'text then a tool call from Anthropic');
is_deeply([ map { $_->{data}{item}{type} }
            grep { $_->{event} eq 'response.output_item.added' } @ev ],
          [ 'message', 'function_call' ], 'a message item, then the call');
is_deeply([ map { $_->{data}{output_index} }
            grep { $_->{event} eq 'response.output_item.added' } @ev ],
          [ 0, 1 ], 'at output indexes 0 and 1');
my ($msgdone) = grep { $_->{event} eq 'response.output_item.done' } @ev;
is($msgdone->{data}{output_index}, 0, 'the message is done before the call');

# --- a stream that breaks after it started: response.failed

$r = responses({ model => 'o-cut', input => 'Hello', stream => JSON::PP::true });
@ev = is_typed_stream($r, 'response.failed', 'a stream cut after it started');
my $failed = $ev[-1]{data}{response};
is($failed->{status}, 'failed', 'status failed');
like($failed->{error}{message} // '', qr/ended before it was complete/,
     'the error says what happened');
ok(length $failed->{error}{code}, 'with a code');
is($failed->{output}[0]{status}, 'incomplete', 'the partial item incomplete');
ok(!grep({ $_->{event} eq 'response.completed' } @ev), 'never completed');

# --- a provider's failure before the start: an error object, stream or not

for my $stream (0, 1) {
    my $kind = $stream ? 'a stream' : 'a whole response';
    is_openai_error(responses({ model => 'o-500', input => 'Hello',
                                stream => $stream ? JSON::PP::true
                                                  : JSON::PP::false }),
                    500, undef, undef, undef,
                    "a provider's 500 for $kind");
}

is_openai_error(responses({ model => 'o-garbage', input => 'Hello' }), 502,
                undef, undef, undef, 'a provider answering garbage');

$r = responses({ model => 'o-garbage', input => 'Hello',
                 stream => JSON::PP::true });
@ev = is_typed_stream($r, 'response.failed', 'a garbage stream');
unlike($r->{content}, qr/\{not json/, 'nothing of the garbage');
ok(length $ev[-1]{data}{response}{error}{message}, 'the failure says why');

# --- templates and decorators see the internal form

responses({ model => 'o-demo', input => 'Hi' },
          path => '/decorated/v1/responses');
is(last_upstream()->{body}{messages}[0]{content}, 'House rule.',
   'a decorator prepends its message');

# --- previous_response_id and the store

$r = responses({ model => 'o-demo', instructions => 'Be terse.',
                 input => 'My name is Ada.' },
               Authorization => 'Bearer client-a');
my $first = decode_json($r->{content});
my $answer = text_of($first);

$r = responses({ model => 'a-demo', input => 'What is my name?',
                 previous_response_id => $first->{id}, stream => JSON::PP::true },
               Authorization => 'Bearer client-a');
@ev = is_typed_stream($r, 'response.completed',
                      'a stream that continues a stored response');
is($ev[0]{data}{response}{previous_response_id}, $first->{id},
   'previous_response_id echoed');
$sent = last_upstream()->{body};
is_deeply($sent->{messages}, [
    { role => 'user', content => [{ type => 'text', text => 'My name is Ada.' }] },
    { role => 'assistant', content => [{ type => 'text', text => $answer }] },
    { role => 'user', content => [{ type => 'text', text => 'What is my name?' }] } ],
    'the stored conversation, then the new input (without the old '
    . 'instructions), to another provider')
    or diag(explain($sent->{messages}));

my $second = $ev[-1]{data}{response};
$r = responses({ model => 'o-demo', input => 'And again?',
                 previous_response_id => $second->{id} },
               Authorization => 'Bearer client-a');
is($r->{status}, 200, 'a stored stream continues too');
is(scalar @{ last_upstream()->{body}{messages} }, 5,
   'three turns and two answers');

is_openai_error(responses({ model => 'o-demo', input => 'Who am I?',
                            previous_response_id => $first->{id} },
                          Authorization => 'Bearer client-b'),
                400, 'invalid_request_error', 'previous_response_not_found',
                'previous_response_id',
                "another client's response is not found");

$r = responses({ model => 'o-demo', input => 'Forget this.',
                 store => JSON::PP::false });
is_openai_error(responses({ model => 'o-demo', input => 'x',
                            previous_response_id =>
                                decode_json($r->{content})->{id} }),
                400, 'invalid_request_error', 'previous_response_not_found',
                'previous_response_id', 'store: false keeps nothing');

$r = responses({ model => 'o-tool-whole', input => 'Weather?',
                 tools => [{ type => 'function', name => 'get_weather' }] },
               Authorization => 'Bearer client-a');
$obj = decode_json($r->{content});
($fc) = grep { $_->{type} eq 'function_call' } @{ $obj->{output} };
$r = responses({ model => 'o-demo', previous_response_id => $obj->{id},
                 input => [{ type => 'function_call_output',
                             call_id => $fc->{call_id}, output => 'sunny' }] },
               Authorization => 'Bearer client-a');
is($r->{status}, 200, 'a tool result continues a stored call');
my $msgs = last_upstream()->{body}{messages};
is($msgs->[1]{tool_calls}[0]{id}, $fc->{call_id},
   'the stored call, with its id');
is($msgs->[1]{tool_calls}[0]{function}{arguments}, $fc->{arguments},
   'and its arguments');
is_deeply($msgs->[2], { role => 'tool', tool_call_id => $fc->{call_id},
                        content => 'sunny' }, 'then its result');

# the store is in shared memory: a reload keeps it

# (not under valgrind: see LLMTest::Nginx::reload)
if (!$ng->{valgrind}) {
    ok($ng->reload, 'nginx reloaded');
}

$r = responses({ model => 'o-demo', input => 'Still there?',
                 previous_response_id => $first->{id} },
               Authorization => 'Bearer client-a');
is($r->{status}, 200, 'a stored response outlives a reload');
is(last_upstream()->{body}{messages}[0]{content}, 'My name is Ada.',
   'with its conversation');

# --- a failed candidate: the next one answers, in the same format

$r = responses({ model => 'fallback', input => 'Hello', stream => JSON::PP::true });
@ev = is_typed_stream($r, 'response.completed', 'a fallback after a 500');
is($ev[-1]{data}{response}{model}, 'a-demo',
   'the model that answered, as chat names it');

# --- the native passthrough to OpenAI's own /responses

my $body = '{"model":"n-demo","input":"Search the web",'
         . '"tools":[{"type":"web_search"}],"include":["x.y"]}';
$r = responses($body);
is($r->{status}, 200, 'a hosted tool goes to OpenAI itself');
$sent = last_upstream();
is($sent->{path}, '/v1/responses', "at OpenAI's /responses");
(my $want = $body) =~ s/"n-demo"/"gpt-native"/;
my $canon = JSON::PP->new->canonical;
is($canon->encode($sent->{body}), $canon->encode(decode_json($want)),
   "the client's body, the model replaced");
is($sent->{headers}{authorization}, "Bearer $KEY", "the provider's key");
$obj = decode_json($r->{content});
is($obj->{id}, 'resp_mock' . $sent->{n}, "OpenAI's own response, relayed");

$r = responses({ model => 'n-demo', input => 'Hello', stream => JSON::PP::true });
@ev = is_typed_stream($r, 'response.completed', 'a relayed stream');
like(text_of($ev[-1]{data}{response}), qr/You said: "Hello"/,
     'as OpenAI sent it');

$r = responses({ model => 'n-fail', input => 'Hello there',
                 stream => JSON::PP::true });
@ev = is_typed_stream($r, 'response.failed',
                      "OpenAI's own failure after the start");
is($ev[-1]{data}{response}{error}{message}, 'The model crashed.',
   'relayed as it came');

responses({ model => 'n-demo', input => [{ role => 'user', content => 'x' }],
            previous_response_id => 'resp_openai_side' });
is(last_upstream()->{body}{previous_response_id}, 'resp_openai_side',
   "an id the store does not hold goes to OpenAI, which may");

# --- usage in the log

my @log = split /\n/, slurp("$ng->{prefix}/rsp.log");
my ($line) = grep { /model=o-demo .*stream=1 / } @log;
like($line // '', qr/prompt=[1-9]\d* completion=[1-9]\d* finish=stop/,
     'a translated stream logs its usage');
($line) = grep { /model=n-demo .*stream=1 / } @log;
like($line // '', qr/prompt=[1-9]\d* completion=[1-9]\d* finish=stop/,
     'a relayed stream logs its usage');

# --- without a store, previous_response_id is refused, saying why

my $bare = start_nginx($providers . <<'EOF', mock => $mock);
    server {
        listen 127.0.0.1:%%PORT%%;
        location /v1/responses { llm_responses; }
    }
EOF

$err = is_openai_error(
    http_post_json($bare->{port}, '/v1/responses',
                   { model => 'o-demo', input => 'x',
                     previous_response_id => $first->{id} }),
    400, 'invalid_request_error', 'previous_response_not_found',
    'previous_response_id', 'no store: previous_response_id refused');
like($err->{message}, qr/llm_responses_store is not configured/,
     'the message says so');
is(http_post_json($bare->{port}, '/v1/responses',
                  { model => 'o-demo', input => 'x',
                    store => JSON::PP::false })->{status},
   200, 'store: false always works');

# --- nginx -t

my $bad = nginx_test_config(<<'EOF');
    llm_provider p dialect=anthropic url=http://127.0.0.1:9/v1 api_key=x
                 responses=on;
EOF
like($bad, qr/responses=on needs dialect=openai/,
     'responses=on only for an openai provider');
$bad = nginx_test_config("    llm_responses_store zone=r:1m lifetime=soon;\n");
like($bad, qr/invalid parameter "lifetime=soon"/, 'a bad lifetime');
$bad = nginx_test_config("    llm_responses_store lifetime=1h;\n");
like($bad, qr/needs zone=NAME:SIZE/, 'a store needs its zone');

done_testing();
