#!/usr/bin/perl
#
# llm_messages on the wire: Anthropic's error envelope for every bad
# input, a stream that fails after it started, the client's body passed
# to Anthropic as it was sent (model replaced, its anthropic-version and
# anthropic-beta forwarded), what only Anthropic serves refused
# elsewhere, routes and fallback, decorators, the client's key from
# x-api-key, count_tokens both ways, usage in the log.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP qw(decode_json encode_json);
use Test::More;

module_path();

my $KEY = 'sk-mock-provider-key';
my $mock = start_mock(key => $KEY);
my $open = start_mock();
$ENV{LLM_T70_KEY} = $KEY;

my $ng = start_nginx(<<'EOF', mock => $mock, mock2 => $open);
    log_format msg 'model=$llm_model provider=$llm_provider '
                   'stream=$llm_stream status=$status '
                   'prompt=$llm_prompt_tokens completion=$llm_completion_tokens '
                   'finish=$llm_finish_reason attempts=$llm_attempts '
                   'error=$llm_error';

    llm_provider oai dialect=openai url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_T70_KEY;
    llm_provider ant dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_T70_KEY;
    llm_provider antbeta dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_T70_KEY anthropic_beta=provider-beta-1;
    llm_provider byo dialect=openai url=http://127.0.0.1:%%MOCK2%%/v1
                 api_key=passthrough;
    llm_provider byoant dialect=anthropic url=http://127.0.0.1:%%MOCK2%%/v1
                 api_key=passthrough;

    llm_retry tries=2 base=10ms cap=20ms;

    llm_model o-demo provider=oai upstream_model=gpt-demo;
    llm_model o-cut provider=oai upstream_model=events=10,cut_after=4;
    llm_model o-500 provider=oai upstream_model=status=500;
    llm_model o-529 provider=oai upstream_model=status=529;
    llm_model o-garbage provider=oai 'upstream_model=body=data: {not json';
    llm_model a-demo provider=ant upstream_model=claude-demo;
    llm_model a-beta provider=antbeta upstream_model=claude-beta;
    llm_model a-500 provider=ant upstream_model=id=a500,status=500;
    llm_model a-cut provider=ant
        upstream_model=fixture=anthropic/messages-text.stream.sse,cut_after=4;
    llm_model a-garbage provider=ant 'upstream_model=body=data: {not json';
    llm_model fallback candidates=a-500,o-demo;
    llm_model a-server provider=ant
        upstream_model=fixture=anthropic/messages-server-and-client-tool.stream.sse;
    llm_model a-whole provider=ant
        upstream_model=fixture=anthropic/messages-tool-use.response.json;
    llm_model a-count-bad provider=ant 'upstream_model=body={"tokens":3}';
    llm_model a-count-404 provider=ant
        upstream_model=fixture=anthropic/error-404-not-found.json;
    llm_model byo provider=byo upstream_model=byo-demo;
    llm_model byo-ant provider=byoant upstream_model=byo-claude;

    llm_template support {
        system "You support {{product}}.";
        user   "{{ question }}";
    }

    server {
        listen 127.0.0.1:%%PORT%%;
        client_max_body_size 4k;
        access_log %%PREFIX%%/msg.log msg;

        location /v1/messages { llm_messages; }

        location /decorated/v1/messages {
            llm_messages;
            llm_prepend_message system "House rule.";
        }
    }
EOF

my $port = $ng->{port};

sub messages {
    my ($body, %h) = @_;
    return http_post_json($port, $h{path} // '/v1/messages', $body,
                          map { $_ => $h{$_} } grep { $_ ne 'path' } keys %h);
}

sub ask {
    my ($model, %extra) = @_;
    return { model => $model, max_tokens => 100,
             messages => [{ role => 'user', content => 'Hello there' }],
             %extra };
}

# Anthropic's envelope, exactly: {"type":"error","error":{"type","message"}}
sub is_anthropic_error {
    my ($res, $status, $type, $like, $name) = @_;
    subtest $name => sub {
        is($res->{status}, $status, "status $status");
        like($res->{headers}{'content-type'} // '', qr{^application/json},
             'JSON');
        my $b = json_or_undef($res->{content}) // {};
        is_deeply([ sort keys %$b ], ['error', 'type'], 'type and error');
        is($b->{type}, 'error', 'type "error"');
        is_deeply([ sort keys %{ $b->{error} // {} } ], ['message', 'type'],
                  'error: type and message');
        is($b->{error}{type}, $type, "error type $type");
        like($b->{error}{message} // '', $like, 'the message says why');
    };
}

# --- every bad input: Anthropic's error, never a hang or an HTML page

is_anthropic_error(messages('{"model": "o-demo", '), 400,
                   'invalid_request_error', qr/Invalid JSON.*line 1/,
                   'invalid JSON');
is_anthropic_error(messages("{\"model\":\"o-demo\",\"max_tokens\":5,"
                            . "\"messages\":[{\"role\":\"user\","
                            . "\"content\":\"\xff\"}]}"),
                   400, 'invalid_request_error', qr/Invalid UTF-8/,
                   'invalid UTF-8');
is_anthropic_error(messages('[1]'), 400, 'invalid_request_error',
                   qr/JSON object/, 'not an object');
is_anthropic_error(messages({ max_tokens => 5, messages => [] }), 400,
                   'invalid_request_error', qr/^model: /, 'no model');
is_anthropic_error(messages(ask('o-demo', max_tokens => '5')), 400,
                   'invalid_request_error',
                   qr/^max_tokens: Input should be a valid integer/,
                   'max_tokens a string');
is_anthropic_error(messages(ask('o-demo', temperature => 1.5)), 400,
                   'invalid_request_error', qr/^temperature: .*between 0 and 1/,
                   'temperature out of range');
is_anthropic_error(messages(ask('o-demo', messages => [{ role => 'system',
                                                         content => 'x' }])),
                   400, 'invalid_request_error',
                   qr/^messages\.0\.role: Input should be 'user' or 'assistant'/,
                   'a system role in messages');
is_anthropic_error(messages(ask('o-demo', messages => [{ role => 'user',
                                 content => [{ type => 'image',
                                               source => { type => 'file' } }] }])),
                   400, 'invalid_request_error',
                   qr/^messages\.0\.content\.0: source: /, 'a bad image source');
is_anthropic_error(messages(ask('o-demo', tool_choice => { type => 'some' })),
                   400, 'invalid_request_error', qr/^tool_choice: type: /,
                   'a bad tool_choice');
is_anthropic_error(messages(ask('o-demo', thinking => { type => 'enabled',
                                                        budget_tokens => 10 })),
                   400, 'invalid_request_error',
                   qr/^thinking\.budget_tokens: .*1024/, 'a thinking budget too low');
is_anthropic_error(messages(ask('no-such-model')), 404, 'not_found_error',
                   qr/no-such-model/, 'an unknown model');
is_anthropic_error(messages('{"model":"o-demo","max_tokens":5,"messages":[{"role":'
                            . '"user","content":"' . ('x' x 5000) . '"}]}'),
                   413, 'request_too_large', qr/larger/, 'an oversized body');

my $get = http_get($port, '/v1/messages');
is_anthropic_error($get, 405, 'invalid_request_error', qr/POST/, 'GET');
is($get->{headers}{allow}, 'POST', '... with Allow: POST');

is_anthropic_error(messages(ask('o-500')), 500, 'api_error', qr/mock error/,
                   "a provider's 500, after its retries");
is_anthropic_error(messages(ask('o-529')), 503, 'overloaded_error', qr/mock/,
                   "a provider's 529 (503, as for chat clients)");
is_anthropic_error(messages(ask('o-garbage')), 502, 'api_error',
                   qr/not a JSON object|malformed|provider/i,
                   'a provider answering garbage');

# --- streams that fail after they started: an error event, no message_stop

for my $case (['o-cut', 'translated'], ['a-cut', 'relayed'],
              ['o-garbage', 'translated garbage'],
              ['a-garbage', 'relayed garbage'])
{
    my ($model, $what) = @$case;
    my $r = messages(ask($model, stream => JSON::PP::true));
    subtest "a $what stream that fails" => sub {
        my @ev = sse_named_events($r->{content} // '');
        my @names = map { $_->{event} // '' } @ev;
        if ($model =~ /cut/) {
            is($r->{status}, 200, 'it had started: 200');
            is($names[0], 'message_start', 'message_start first');
        }
        ok(!grep({ $_ eq 'message_stop' } @names), 'no message_stop');
        unlike($r->{content}, qr/\{not json/, 'nothing of the garbage');
        my ($err) = grep { ($_->{event} // '') eq 'error' } @ev;
        ok($err, 'an error event') or return diag($r->{content});
        my $d = json_or_undef($err->{data}) // {};
        is($d->{type}, 'error', '... {"type":"error"}');
        ok($d->{error}{type} && $d->{error}{message},
           "... $d->{error}{type}: $d->{error}{message}")
            if $r->{status} == 200;
        is($names[-1], 'error', 'the error ends the stream');
    };
}

# --- Anthropic gets the client's own body and headers

my $native = {
    model => 'a-beta', max_tokens => 100, stream => JSON::PP::true,
    system => [{ type => 'text', text => 'Cached rules.',
                 cache_control => { type => 'ephemeral' } }],
    messages => [{ role => 'user', content => [
        { type => 'document', source => { type => 'text',
          media_type => 'text/plain', data => 'A doc.' }, citations => { enabled => JSON::PP::true } },
        { type => 'text', text => 'Hello there' }] }],
    tools => [{ type => 'web_search_20250305', name => 'web_search',
                max_uses => 2 }],
    top_k => 5,
    unknown_future_field => { x => 1 },
};
my $raw = JSON::PP->new->canonical->encode($native);
my $r = messages($raw, 'anthropic-version' => '2023-06-01',
                 'anthropic-beta' => 'client-beta-1,client-beta-2');
is($r->{status}, 200, 'a native request to Anthropic: 200');
like($r->{content}, qr/event: message_stop/, '... streamed to its end');
my ($up) = grep { ref $_->{body} eq 'HASH' && ($_->{body}{model} // '') eq 'claude-beta' }
           @{ mock_requests($mock) };
ok($up, 'Anthropic was asked') or BAIL_OUT('no request');
(my $want = $raw) =~ s/"model":"a-beta"/"model":"claude-beta"/;
is(JSON::PP->new->canonical->encode($up->{body}),
   JSON::PP->new->canonical->encode(decode_json($want)),
   'the body as the client sent it, the model replaced');
is($up->{headers}{'anthropic-version'}, '2023-06-01',
   "the client's anthropic-version");
is($up->{headers}{'anthropic-beta'}, 'provider-beta-1,client-beta-1,client-beta-2',
   "the provider's betas, then the client's");
is($up->{headers}{'x-api-key'}, $KEY, "the provider's key");

# Anthropic's answer comes back as it was sent, server tools and all

$r = messages(ask('a-server', stream => JSON::PP::true));
is($r->{status}, 200, 'a relayed stream with server tools: 200');
is($r->{content}, read_fixture('anthropic/messages-server-and-client-tool.stream.sse'),
   '... byte for byte as Anthropic sent it');
$r = messages(ask('a-whole'));
is($r->{status}, 200, 'a relayed message: 200');
is($r->{content}, read_fixture('anthropic/messages-tool-use.response.json') . "\n",
   '... as Anthropic sent it');

# the same request to another provider: refused, naming what it cannot do
$native->{model} = 'o-demo';
is_anthropic_error(messages($native), 400, 'invalid_request_error',
                   qr/content block type 'document'.*only by Anthropic/,
                   'what only Anthropic serves, to OpenAI');
delete $native->{messages}[0]{content}[0];
$native->{messages}[0]{content} = 'Hello there';
is_anthropic_error(messages($native), 400, 'invalid_request_error',
                   qr/tool type 'web_search_20250305' \(tools\.0\) is served only by Anthropic/,
                   'a server tool, to OpenAI');

# --- routes: a failing Anthropic candidate falls back to OpenAI

$r = messages(ask('fallback'));
is($r->{status}, 200, 'fallback: 200');
my $m = json_or_undef($r->{content}) // {};
is($m->{type}, 'message', '... a Messages answer');
like($m->{content}[0]{text} // '', qr/demo model/, "... from OpenAI's");
is(mock_count($mock, 'a500'), 2, '... after the Anthropic tries');

# --- decorators: every candidate gets the same, translated, conversation

$r = messages(ask('o-demo'), path => '/decorated/v1/messages');
is($r->{status}, 200, 'decorated: 200');
my ($dec) = grep { ref $_->{body} eq 'HASH' && ($_->{body}{model} // '') eq 'gpt-demo'
                   && ($_->{body}{messages}[0]{content} // '') eq 'House rule.' }
            @{ mock_requests($mock) };
ok($dec, "OpenAI gets the location's system message");
$r = messages(ask('a-demo', system => 'Be brief.'), path => '/decorated/v1/messages');
is($r->{status}, 200, 'decorated, to Anthropic: 200');
($dec) = grep { ref $_->{body} eq 'HASH' && ($_->{body}{model} // '') eq 'claude-demo'
                && ($_->{body}{system} // '') =~ /House rule\..*Be brief\./s }
         @{ mock_requests($mock) };
ok($dec, '... and so does Anthropic, translated');

# --- templates: the gateway's "template" member works in Messages too

$r = messages({ model => 'o-demo', max_tokens => 50,
                template => { name => 'support',
                              variables => { product => 'Widgets',
                                             question => 'Does it fly?' } },
                messages => [{ role => 'user', content => 'Thanks.' }] });
is($r->{status}, 200, 'a template: 200');
($dec) = grep { ref $_->{body} eq 'HASH' && ($_->{body}{model} // '') eq 'gpt-demo'
                && JSON::PP->new->canonical->encode($_->{body}) =~ /You support Widgets/ }
         @{ mock_requests($mock) };
ok($dec, '... its messages went to the provider');
is_anthropic_error(messages({ model => 'o-demo', max_tokens => 5,
                              template => { name => 'nope' },
                              messages => [{ role => 'user', content => 'x' }] }),
                   404, 'not_found_error', qr/nope/, 'an unknown template');

# --- the client's key, as Anthropic clients send it

$r = messages(ask('byo'), 'x-api-key' => 'client-own-key');
is($r->{status}, 200, 'x-api-key passed through: 200');
($up) = grep { ref $_->{body} eq 'HASH' && ($_->{body}{model} // '') eq 'byo-demo' }
        @{ mock_requests($open) };
is($up->{headers}{authorization}, 'Bearer client-own-key',
   '... to OpenAI as Authorization');
$r = messages(ask('byo-ant'), 'x-api-key' => 'client-own-key');
is($r->{status}, 200, '... and to Anthropic');
($up) = grep { ref $_->{body} eq 'HASH' && ($_->{body}{model} // '') eq 'byo-claude' }
        @{ mock_requests($open) };
is($up->{headers}{'x-api-key'}, 'client-own-key', '... as x-api-key');
is_anthropic_error(messages(ask('byo')), 401, 'authentication_error',
                   qr/API key/, 'no key at all');

# --- count_tokens

$r = messages({ model => 'a-demo', system => 'Be brief.',
                messages => [{ role => 'user', content => 'one two three' }] },
              path => '/v1/messages/count_tokens?beta=true');
is($r->{status}, 200, 'count_tokens to Anthropic: 200');
is_deeply(json_or_undef($r->{content}), { input_tokens => 5 },
          "... Anthropic's count");
ok(!$r->{headers}{'x-llm-token-count'}, '... not an estimate');
$r = messages({ model => 'o-demo',
                messages => [{ role => 'user', content => 'one two three' }] },
              path => '/v1/messages/count_tokens');
is($r->{status}, 200, 'count_tokens for OpenAI: 200');
ok((json_or_undef($r->{content}) // {})->{input_tokens} >= 3,
   '... an estimate above the words');
is($r->{headers}{'x-llm-token-count'}, 'estimate', '... marked an estimate');
is_anthropic_error(messages({ model => 'a-count-bad',
                              messages => [{ role => 'user', content => 'x' }] },
                            path => '/v1/messages/count_tokens'),
                   502, 'api_error', qr/input_tokens/,
                   "Anthropic's count without input_tokens");
is_anthropic_error(messages({ model => 'a-count-404',
                              messages => [{ role => 'user', content => 'x' }] },
                            path => '/v1/messages/count_tokens'),
                   404, 'not_found_error', qr/model/i,
                   "Anthropic's 404 to a count");
is_anthropic_error(messages({ model => 'o-demo' }, path => '/v1/messages/count_tokens'),
                   400, 'invalid_request_error', qr/^messages: /,
                   'count_tokens without messages');
is_anthropic_error(messages({ model => 'nope', messages => [] },
                            path => '/v1/messages/count_tokens'),
                   400, 'invalid_request_error', qr/at least one message/,
                   'count_tokens with no message');

# --- usage reaches the log, relayed or translated

for my $model ('a-demo', 'o-demo') {
    messages(ask($model, stream => JSON::PP::true));
}
# the log line is written after the response went out
wait_for(sub { my $l = slurp("$ng->{prefix}/msg.log");
               $l =~ /^model=a-demo .*stream=1 status=200/m
               && $l =~ /^model=o-demo .*stream=1 status=200/m },
         10);
my @log = split /\n/, slurp("$ng->{prefix}/msg.log");
for my $model ('a-demo', 'o-demo') {
    my ($line) = grep { /^model=$model .*stream=1 status=200/ } @log;
    like($line // '', qr/prompt=[1-9]\d* completion=[1-9]\d* finish=stop/,
         "$model stream: usage and finish in the log")
        or diag(join "\n", grep { /model=$model/ } @log);
}

done_testing();
