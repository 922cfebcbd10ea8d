#!/usr/bin/perl
# Edge cases from both sides that must not reach the client unchecked: a
# provider's redirect or impossible status, invalid UTF-8 or a wrong shape
# relayed by the openai dialect, invalid UTF-8 from the client, an invalid
# tool_choice for every dialect alike, a body cut short of its
# Content-Length, and a provider error that echoes the key.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json encode_json);

module_path();

my $KEY = 'sk-test-robustness-0123456789';
$ENV{LLM_T68_KEY} = $KEY;

my $mock  = start_mock(key => $KEY);
my $mock2 = start_mock(key => $KEY);

my $GOOD = 'data: {"id":"c1","object":"chat.completion.chunk","created":1,'
         . '"model":"m","choices":[{"index":0,"delta":{"content":"hi"},'
         . '"finish_reason":null}]}\n\n';

# client model name => mock scenario (the upstream model name)
my %models = (
    'redirect'    => 'id=redirect,status=302,body=',
    'weird'       => 'id=weird,status=999,body=',
    'utf8-body'   => 'id=utf8-body,raw=1,body={"id":"x","object":"chat.completion",'
                   . '"created":1,"model":"m","choices":[{"index":0,"message":{"role":'
                   . '"assistant","content":"bad \xff\xfe"},"finish_reason":"stop"}]}',
    'utf8-stream' => "id=utf8-stream,raw=1,body=$GOOD"
                   . 'data: {"id":"c1","object":"chat.completion.chunk","created":1,'
                   . '"model":"m","choices":[{"index":0,"delta":{"content":"\xff\xfe"},'
                   . '"finish_reason":null}]}\n\ndata: [DONE]\n\n',
    'nope-stream' => "id=nope-stream,raw=1,body=$GOOD"
                   . 'data: {"choices":"nope"}\n\ndata: [DONE]\n\n',
    'short'       => 'id=short,fixture=openai/chat-text.response.json,short_by=10',
    'echo401'     => "id=echo401,status=401,body={\"error\":{\"message\":\"Incorrect "
                   . "API key provided: $KEY. Check it.\",\"type\":"
                   . '"invalid_request_error","param":null,"code":"invalid_api_key"}}',
    'echo200'     => "id=echo200,body={\"error\":{\"message\":\"key $KEY refused\"}}",
    'echostream'  => "id=echostream,raw=1,body=$GOOD"
                   . "data: {\"error\":{\"message\":\"bad key $KEY\",\"type\":"
                   . '"invalid_request_error","code":"invalid_api_key"}}\n\n',
    'backup'      => 'id=backup,seq=ok',
);

# nginx turns "\n" into a newline and keeps "\xff" for the mock's raw=1
my $model_conf = join '', map {
    "    llm_model $_ provider=mock 'upstream_model=$models{$_}';\n"
} sort keys %models;

my $ng = start_nginx(<<"EOF", mock => $mock, mock2 => $mock2);
    log_format llm 'model=\$llm_model status=\$status '
                   'attempts=\$llm_attempts error=\$llm_error';

    llm_provider mock dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T68_KEY;
    llm_provider mock2 dialect=openai url=http://127.0.0.1:%%MOCK2%%/v1 api_key=env:LLM_T68_KEY;
    llm_provider an dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T68_KEY;
    llm_provider gm dialect=gemini url=http://127.0.0.1:%%MOCK%%/v1beta api_key=env:LLM_T68_KEY;

    llm_retry tries=2 base=10ms cap=20ms;

$model_conf
    llm_model fallback2 provider=mock2 'upstream_model=id=fallback2,seq=ok';
    llm_model redirect-then-backup candidates=redirect,fallback2;
    llm_model tc-openai provider=mock 'upstream_model=id=tc-openai';
    llm_model tc-anthropic provider=an 'upstream_model=id=tc-anthropic';
    llm_model tc-gemini provider=gm 'upstream_model=id=tc-gemini';
    llm_model emb provider=mock type=embedding upstream_model=id=emb;

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%PREFIX%%/llm.log llm;

        location = /v1/chat/completions { llm_chat; }
        location = /v1/embeddings       { llm_embeddings; }
    }
EOF
my $port = $ng->port;

my @MSG = ({ role => 'user', content => 'hi' });

sub post { return chat($port, { model => $_[0], messages => \@MSG, @_[1 .. $#_] }) }

# ---------------------------------------------------------------- statuses

subtest 'a redirect from the provider is a broken response, retried' => sub {
    my $res = post('redirect');
    is_openai_error($res, 502, 'api_error', 'invalid_upstream_response', undef,
                    '302 without Location: 502');
    ok(!exists $res->{headers}{location}, 'no Location reaches the client');
    is(mock_count($mock, 'redirect'), 2, 'retried like a 5xx (tries=2)');

    $res = post('redirect-then-backup');
    is($res->{status}, 200, 'a route falls back to the next candidate')
        or diag($res->{content});
    is(mock_count($mock2, 'fallback2'), 1, 'the next candidate answered');
};

subtest 'a status outside 100-599 is a broken response' => sub {
    my $res = post('weird');
    is_openai_error($res, 502, 'api_error', 'invalid_upstream_response', undef,
                    'HTTP 999: 502');
    like($ng->error_log, qr/provider answered with status 999/, 'logged');
};

# ---------------------------------------------- relayed bytes meet the bar

subtest 'invalid UTF-8 in a 200 JSON body is not relayed' => sub {
    my $res = post('utf8-body');
    is_openai_error($res, 502, 'api_error', 'invalid_upstream_response', undef,
                    'invalid UTF-8: 502');
    unlike($res->{content}, qr/[\x80-\xff]/, 'no raw byte above 0x7f relayed');
};

sub stream_raw {
    my ($model) = @_;
    return http_post_json($port, '/v1/chat/completions',
                          { model => $model, messages => \@MSG, stream => JSON::PP::true });
}

sub ends_with_error_frame {
    my ($res, $code, $name) = @_;
    subtest $name => sub {
        is($res->{status}, 200, 'the stream had started');
        my @events = sse_events($res->{content});
        is($events[-1], '[DONE]', 'ends with [DONE]');
        my $first = json_or_undef($events[0]);
        is($first && $first->{choices}[0]{delta}{content}, 'hi',
           'the good chunk before it came through');
        my $err = json_or_undef($events[-2] // '');
        is($err && $err->{error}{code}, $code, "an error frame: $code")
            or diag($res->{content});
        is(scalar @events, 3, 'nothing of the bad event is relayed');
    };
}

subtest 'invalid UTF-8 in a stream frame ends the stream' => sub {
    my $res = stream_raw('utf8-stream');
    ends_with_error_frame($res, 'invalid_upstream_response', 'error frame');
    unlike($res->{content}, qr/[\x80-\xff]/, 'no raw byte above 0x7f relayed');
};

subtest 'a frame with "choices":"nope" ends the stream' => sub {
    ends_with_error_frame(stream_raw('nope-stream'), 'invalid_upstream_response',
                          'error frame');
};

# ------------------------------------------------ invalid UTF-8 from clients

subtest 'invalid UTF-8 from the client: 400 naming the byte, every dialect' => sub {
    for my $model (qw(tc-openai tc-anthropic tc-gemini)) {
        my $body = qq({"model":"$model","messages":[{"role":"user","content":"a\xff\xfe"}]});
        my $off = index($body, "\xff");
        my $err = is_openai_error(
            http_post_json($port, '/v1/chat/completions', $body), 400,
            'invalid_request_error', 'invalid_json', 'null', "$model: 400");
        like($err->{message}, qr/Invalid UTF-8 .*\(byte $off\)/, "$model: names byte $off");
        is(mock_count($mock, $model), 0, "$model: nothing sent upstream");
    }

    my $body = qq({"model":"emb","input":["ok","\xc0\xaf"]});
    my $off = index($body, "\xc0");
    my $err = is_openai_error(http_post_json($port, '/v1/embeddings', $body), 400,
                              'invalid_request_error', 'invalid_json', 'null',
                              'embeddings: 400');
    like($err->{message}, qr/Invalid UTF-8 .*\(byte $off\)/, "embeddings: names byte $off");
};

# ------------------------------------------ tool_choice, once for every dialect

subtest 'an invalid tool_choice: the same 400 for every dialect' => sub {
    my @tools = ({ type => 'function', function => { name => 'f', parameters => {} } });
    for my $model (qw(tc-openai tc-anthropic tc-gemini)) {
        for my $choice ('sometimes', { function => { name => 'f' } }) {
            my $what = ref $choice ? 'an object without type' : "\"$choice\"";
            my $res = post($model, tools => \@tools, tool_choice => $choice);
            my $err = is_openai_error($res, 400, 'invalid_request_error',
                                      ref $choice ? 'missing_required_parameter'
                                                  : 'invalid_value',
                                      ref $choice ? 'tool_choice.type' : 'tool_choice',
                                      "$model, $what: 400");
        }
        is(mock_count($mock, $model), 0, "$model: nothing sent upstream");
    }
};

# ----------------------------------------------------- a body cut short

subtest 'a body cut short of its Content-Length' => sub {
    my $res = post('short');
    is_openai_error($res, 502, 'api_error', 'invalid_upstream_response', undef,
                    'invalid_upstream_response, as the README says');
    is(mock_count($mock, 'short'), 2, 'retried (tries=2)');
};

# ------------------------------------------------ the key is never echoed

subtest 'a provider error that echoes the key is masked' => sub {
    my $res = post('echo401');
    my $err = is_openai_error($res, 401, 'authentication_error', 'invalid_api_key',
                              undef, '401 passed on');
    unlike($res->{content}, qr/\Q$KEY\E/, 'the key is not in the answer');
    like($err->{message}, qr/provided: \[redacted\]\. Check it\./,
         'the rest of the message is kept');

    $res = post('echo200');
    is_openai_error($res, 502, 'api_error', undef, undef, 'an error in a 200: 502');
    unlike($res->{content}, qr/\Q$KEY\E/, '200 error: the key is not in the answer');

    $res = stream_raw('echostream');
    is($res->{status}, 200, 'stream started');
    like($res->{content}, qr/bad key \[redacted\]/, 'stream error frame masked');
    unlike($res->{content}, qr/\Q$KEY\E/, 'stream: the key is not in the answer');

    unlike($ng->error_log, qr/\Q$KEY\E/, 'the key is not in the error log');
};

done_testing();
