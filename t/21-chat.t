#!/usr/bin/perl
# POST /v1/chat/completions end to end with the recorded OpenAI fixtures:
# what the client gets and what the provider receives.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json);

module_path();

my $KEY  = 'sk-t21-provider-key';
my $BYOK = 'sk-t21-client-own-key';
$ENV{LLM_T21_KEY} = $KEY;

my $mock  = start_mock(key => $KEY);
my $mock2 = start_mock(key => $BYOK);

my %UPSTREAM = (
    'text'         => 'fixture=openai/chat-text.response.json',
    'tool'         => 'fixture=openai/chat-tool-call.response.json',
    'tool-stream'  => 'fixture=openai/chat-tool-call.stream.sse',
    'text-stream'  => 'fixture=openai/chat-text-after-tool.stream.sse',
    'echo'         => 'echo=1',
);

my $models = join '', map { "    llm_model $_ provider=mock 'upstream_model=$UPSTREAM{$_}';\n" }
                      sort keys %UPSTREAM;

my $ng = start_nginx(<<"EOF", mock => $mock, mock2 => $mock2);
    llm_provider mock dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T21_KEY;
    llm_provider based dialect=openai url=http://127.0.0.1:%%MOCK%%/openai/v1/ api_key=env:LLM_T21_KEY;
    llm_provider byok dialect=openai url=http://127.0.0.1:%%MOCK2%%/v1 api_key=passthrough;
$models
    llm_model based-echo provider=based upstream_model=echo=1;
    llm_model byok-echo provider=byok upstream_model=echo=1;

    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions {
            llm_chat;
            client_max_body_size 1m;
            client_body_buffer_size 16k;
        }
    }
EOF
my $port = $ng->port;

my $T = JSON::PP::true;
my $F = JSON::PP::false;
my %CLIENT_AUTH = (Authorization => 'Bearer client-secret');
my @MESSAGES = ({ role => 'system', content => 'Be brief.' },
                { role => 'user', content => 'What is the capital of the UK?' });
my @TOOLS = ({ type => 'function',
               function => { name => 'get_capital', description => 'Capital of a country',
                             parameters => { type => 'object',
                                             properties => { country => { type => 'string' } },
                                             required => ['country'] } } });

sub last_sent { return mock_requests($_[0] // $mock)->[-1] }

# Compare two accumulated streams: content, role, finish_reason and tool
# calls (id, type, name, arguments as JSON).
sub same_result {
    my ($got, $want, $what) = @_;
    is($got->{content}, $want->{content}, "$what: content");
    is($got->{role}, $want->{role}, "$what: role");
    is($got->{finish_reason}, $want->{finish_reason}, "$what: finish_reason");
    my @g = @{ $got->{tool_calls} // [] };
    my @w = @{ $want->{tool_calls} // [] };
    is(scalar @g, scalar @w, "$what: number of tool calls");
    for my $i (0 .. $#w) {
        my ($gc, $wc) = ($g[$i] // {}, $w[$i]);
        is($gc->{id}, $wc->{id}, "$what: tool call $i id");
        is($gc->{type}, $wc->{type}, "$what: tool call $i type");
        is($gc->{function}{name}, $wc->{function}{name}, "$what: tool call $i name");
        my $ga = json_or_undef($gc->{function}{arguments} // '');
        ok(defined $ga, "$what: tool call $i arguments are JSON");
        is_deeply($ga, decode_json($wc->{function}{arguments}), "$what: tool call $i arguments");
    }
}

# ---------------------------------------------------------------- non-stream

subtest 'non-stream text response' => sub {
    my $body = { model => 'text', messages => \@MESSAGES, temperature => 0.2,
                 max_tokens => 500, user => 'u-42', seed => 7 };
    my $r = chat($port, $body, %CLIENT_AUTH);
    is($r->{status}, 200, 'status 200');
    like($r->{headers}{'content-type'} // '', qr{^application/json}, 'application/json');
    my $want = decode_json(read_fixture('openai/chat-text.response.json'));
    $want->{model} = 'text';
    is_deeply(json_or_undef($r->{content}), $want, 'body = fixture with model = client name');

    my $sent = last_sent();
    is($sent->{method}, 'POST', 'POST upstream');
    is($sent->{path}, '/v1/chat/completions', 'path /v1/chat/completions');
    is($sent->{headers}{host}, "127.0.0.1:" . $mock->port, 'Host = authority of url=');
    is($sent->{headers}{authorization}, "Bearer $KEY", 'Authorization: Bearer <configured key>');
    ok(!grep({ /client-secret/ } values %{ $sent->{headers} }),
       "the client's Authorization is not forwarded");
    is($sent->{body}{model}, $UPSTREAM{text}, 'model = upstream_model');
    ok(!exists $sent->{body}{stream_options}, 'no stream_options for non-stream');
    my %rest = %{ $sent->{body} };
    delete $rest{model};
    my %client = %$body;
    delete $client{model};
    is_deeply(\%rest, \%client, 'other client fields passed unchanged');
};

subtest 'non-stream tool call response' => sub {
    my $body = { model => 'tool', messages => \@MESSAGES, tools => \@TOOLS,
                 tool_choice => 'auto', parallel_tool_calls => $F };
    my $r = chat($port, $body, %CLIENT_AUTH);
    is($r->{status}, 200, 'status 200');
    my $got = json_or_undef($r->{content});
    my $want = decode_json(read_fixture('openai/chat-tool-call.response.json'));
    $want->{model} = 'tool';
    is_deeply($got, $want, 'body = fixture with model = client name');
    is_deeply($got->{choices}[0]{message}{tool_calls}, $want->{choices}[0]{message}{tool_calls},
              'tool_calls intact');

    my $sent = last_sent()->{body};
    is_deeply($sent->{tools}, \@TOOLS, 'tools passed unchanged');
    is($sent->{tool_choice}, 'auto', 'tool_choice passed');
    ok(defined $sent->{parallel_tool_calls} && !$sent->{parallel_tool_calls},
       'parallel_tool_calls false passed');
    is_deeply($sent->{messages}, \@MESSAGES, 'messages passed unchanged');
};

# ---------------------------------------------------------------- streams

for my $model (qw(tool-stream text-stream)) {
    (my $rel = $UPSTREAM{$model}) =~ s/^fixture=//;
    my $fixture = fixture_chunks($rel);
    my $want = accumulate_stream($fixture);
    my ($fixture_usage) = map { $_->{usage} } grep { defined $_->{usage} } @$fixture;

    for my $usage_opt ('none', 'false', 'true') {
        subtest "stream $rel, include_usage $usage_opt" => sub {
            my $body = { model => $model, stream => $T, messages => \@MESSAGES,
                         temperature => 0, tools => \@TOOLS };
            $body->{stream_options} = { include_usage => $F } if $usage_opt eq 'false';
            $body->{stream_options} = { include_usage => $T } if $usage_opt eq 'true';
            my $r = chat($port, $body, %CLIENT_AUTH);

            is($r->{status}, 200, 'status 200');
            like($r->{headers}{'content-type'} // '', qr{^text/event-stream}, 'text/event-stream');
            is($r->{headers}{'cache-control'}, 'no-cache', 'Cache-Control: no-cache');
            is($r->{headers}{'x-accel-buffering'}, 'no', 'X-Accel-Buffering: no');

            my ($chunks, $done) = eval { sse_json($r->{content}) };
            ok($chunks, 'every event is JSON') or return diag $@;
            ok($done, 'last payload is [DONE]');
            my @bad = grep { ($_->{model} // '') ne $model } @$chunks;
            is(scalar @bad, 0, "every chunk's model is the client's name");

            my $got = accumulate_stream($chunks);
            same_result($got, $want, 'accumulated');

            my @usage_chunks = grep { defined $_->{usage} } @$chunks;
            if ($usage_opt eq 'true') {
                is(scalar @usage_chunks, 1, 'exactly one chunk with usage');
                is($usage_chunks[0], $chunks->[-1], 'usage chunk is the last before [DONE]');
                is_deeply($usage_chunks[0]{choices}, [], 'usage chunk has choices: []');
                is_deeply($usage_chunks[0]{usage}, $fixture_usage, "usage = the provider's");
            } else {
                is(scalar @usage_chunks, 0, 'no usage chunk when not asked');
                ok(!grep({ ref $_->{choices} eq 'ARRAY' && !@{ $_->{choices} } } @$chunks),
                   'no chunk with choices: []');
            }

            my $sent = last_sent();
            is($sent->{path}, '/v1/chat/completions', 'upstream path');
            is($sent->{headers}{authorization}, "Bearer $KEY", 'upstream key');
            is($sent->{body}{model}, $UPSTREAM{$model}, 'model = upstream_model');
            ok(JSON::PP::is_bool($sent->{body}{stream}) && $sent->{body}{stream}, 'stream: true');
            my $so = $sent->{body}{stream_options};
            ok(ref $so eq 'HASH' && JSON::PP::is_bool($so->{include_usage}) && $so->{include_usage},
               'stream_options.include_usage: true sent upstream');
            my %rest = %{ $sent->{body} };
            delete @rest{qw(model stream_options)};
            my %client = %$body;
            delete @client{qw(model stream_options)};
            is_deeply(\%rest, \%client, 'other client fields passed unchanged');
        };
    }
}

# ---------------------------------------------------------------- url base path

subtest 'url with a base path' => sub {
    my $r = chat($port, { model => 'based-echo', messages => \@MESSAGES });
    is($r->{status}, 200, 'status 200');
    my $sent = last_sent();
    is($sent->{path}, '/openai/v1/chat/completions', '<base>/chat/completions');
    is($sent->{body}{model}, 'echo=1', 'upstream_model');
    is($sent->{headers}{authorization}, "Bearer $KEY", 'key');

    $r = chat($port, { model => 'based-echo', stream => $T, messages => \@MESSAGES });
    is($r->{status}, 200, 'stream: status 200');
    is(last_sent()->{path}, '/openai/v1/chat/completions', 'stream: same path');
    my ($chunks, $done) = sse_json($r->{content});
    ok($done, 'stream ends with [DONE]');
};

subtest 'upstream= provider: path and Host' => sub {
    my $ng2 = eval { start_nginx(<<'EOF', mock => $mock) };
    upstream mock_backend { server 127.0.0.1:%%MOCK%%; keepalive 4; }
    llm_provider named dialect=openai upstream=mock_backend api_key=env:LLM_T21_KEY;
    llm_provider hosted dialect=openai upstream=mock_backend host=api.example.test api_key=env:LLM_T21_KEY;
    llm_model n provider=named upstream_model=echo=1;
    llm_model h provider=hosted upstream_model=echo=1;
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions { llm_chat; }
    }
EOF
    ok($ng2, 'nginx starts with upstream= providers') or return diag $@;
    my $r = chat($ng2->port, { model => 'n', messages => \@MESSAGES });
    is($r->{status}, 200, 'status 200');
    my $sent = last_sent();
    is($sent->{path}, '/v1/chat/completions', 'path /v1/chat/completions');
    is($sent->{headers}{host}, 'mock_backend', 'Host = the upstream block name');
    $r = chat($ng2->port, { model => 'h', messages => \@MESSAGES });
    is($r->{status}, 200, 'host=: status 200');
    is(last_sent()->{headers}{host}, 'api.example.test', 'Host = host=');
};

# ---------------------------------------------------------------- passthrough

subtest 'api_key=passthrough' => sub {
    my $before = scalar @{ mock_requests($mock2) };
    my $r = chat($port, { model => 'byok-echo', messages => \@MESSAGES },
                 Authorization => "Bearer $BYOK");
    is($r->{status}, 200, "the client's key is accepted upstream");
    my $sent = last_sent($mock2);
    is($sent->{headers}{authorization}, "Bearer $BYOK", "client's Authorization arrives as is");

    $r = chat($port, { model => 'byok-echo', stream => $T, messages => \@MESSAGES },
              Authorization => "Bearer $BYOK");
    is($r->{status}, 200, 'stream with the client key');
    is(last_sent($mock2)->{headers}{authorization}, "Bearer $BYOK", 'stream: header as is');
    my $count = scalar @{ mock_requests($mock2) };

    $r = chat($port, { model => 'byok-echo', messages => \@MESSAGES });
    is($r->{status}, 401, 'no Authorization -> 401');
    like($r->{headers}{'content-type'} // '', qr{^application/json}, 'JSON');
    my $err = json_or_undef($r->{content});
    ok(ref $err eq 'HASH' && ref $err->{error} eq 'HASH' && defined $err->{error}{message}
       && exists $err->{error}{type} && exists $err->{error}{code} && exists $err->{error}{param},
       'OpenAI error envelope') or diag $r->{content};
    is(scalar @{ mock_requests($mock2) }, $count, 'nothing sent upstream');
};

# ---------------------------------------------------------------- large body

subtest 'large request body through a temp file' => sub {
    my $unit = "Lorem ipsum \x{e9}t\x{e9} \x{1F600} \"quoted\" \\ back\nslash\t";
    my $big = $unit x int(300_000 / length($unit) + 1);
    my $body = { model => 'echo', messages => [ { role => 'user', content => $big } ] };
    my $json = JSON::PP->new->utf8->canonical->encode($body);
    ok(length($json) > 300_000, 'request body > 300 KB');
    my $r = chat($port, $json);
    is($r->{status}, 200, 'status 200');
    my $sent = last_sent();
    ok(ref $sent->{body} eq 'HASH', 'upstream got JSON');
    ok(($sent->{body}{messages}[0]{content} // '') eq $big, 'content arrived intact')
        or diag 'got ' . length($sent->{body}{messages}[0]{content} // '') . ' characters, want '
                . length($big);
    like($ng->error_log, qr/client request body is buffered to a temporary file/,
         'the body went through a temporary file');
};

done_testing;
