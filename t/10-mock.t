#!/usr/bin/perl
# Self-test of the mock provider (t/mock/provider.py) and of t/lib/LLMTest.pm.
# Talks to the mock directly; needs neither nginx nor the module.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json encode_json);
use Encode ();

my $KEY = 'sk-mock-test';
my $mock = start_mock(key => $KEY);
my $port = $mock->port;
my %auth = (Authorization => "Bearer $KEY");

# POST a chat request to the mock with the given scenario as the model.
sub scenario {
    my ($model, %extra) = @_;
    return chat($port, { model => $model, messages => [ { role => 'user', content => 'hi' } ],
                         %extra }, %auth);
}

# Decode a chunked HTTP body (as far as it is well formed).
sub dechunk {
    my ($body) = @_;
    my $out = '';
    while ($body =~ s/\A([0-9a-fA-F]+)\r\n//) {
        my $size = hex $1;
        last if $size == 0 || length($body) < $size;
        $out .= substr($body, 0, $size, '');
        $body =~ s/\A\r\n//;
    }
    return $out;
}

# Close record for a connection, waiting a little for it to be logged.
sub close_of {
    my ($conn) = @_;
    my $rec;
    wait_for(sub { ($rec) = grep { $_->{conn} == $conn } @{ mock_closes($mock) }; $rec }, 5);
    return $rec;
}

subtest 'auth and validation' => sub {
    my $r = chat($port, { model => 'demo-1', messages => [] });
    is($r->{status}, 401, 'no key -> 401');
    is_deeply(decode_json($r->{content}),
              { error => { message => 'Incorrect API key provided', type => 'invalid_request_error',
                           param => undef, code => 'invalid_api_key' } }, '401 body');
    $r = chat($port, { model => 'demo-1', messages => [] }, Authorization => 'Bearer wrong');
    is($r->{status}, 401, 'wrong key -> 401');

    $r = http_post_json($port, '/v1/chat/completions', '{"model": "x", ', %auth);
    is($r->{status}, 400, 'invalid JSON -> 400');
    is(decode_json($r->{content})->{error}{type}, 'invalid_request_error', 'OpenAI error envelope');
    $r = http_post_json($port, '/v1/chat/completions', { model => 'demo-1' }, %auth);
    is($r->{status}, 400, 'missing messages -> 400');
    is(decode_json($r->{content})->{error}{param}, 'messages', 'param=messages');
    $r = http_post_json($port, '/v1/chat/completions', { messages => [] }, %auth);
    is($r->{status}, 400, 'missing model -> 400');

    $r = scenario('fixture=openai/chat-text.response.json,dealy_ms=5');
    is($r->{status}, 400, 'unknown scenario key -> 400');
    like(decode_json($r->{content})->{error}{message}, qr/dealy_ms/, 'names the key');

    $r = http_get($port, '/v1/models', %auth);
    is($r->{status}, 200, 'GET /v1/models');
    is_deeply(decode_json($r->{content}), { object => 'list', data => [] }, 'models list');
};

subtest 'fixture .sse replayed byte-for-byte' => sub {
    my $r = scenario('fixture=openai/chat-tool-call.stream.sse', stream => JSON::PP::true);
    is($r->{status}, 200, 'status 200');
    like($r->{headers}{'content-type'}, qr{^text/event-stream}, 'event-stream');
    is($r->{headers}{'transfer-encoding'}, 'chunked', 'chunked by default');
    ok($r->{content} eq read_fixture('openai/chat-tool-call.stream.sse'), 'body identical to fixture');

    my ($chunks, $done) = sse_json($r->{content});
    ok($done, 'ends with [DONE]');
    my $acc = accumulate_stream($chunks);
    is($acc->{finish_reason}, 'tool_calls', 'finish_reason');
    is($acc->{tool_calls}[0]{function}{name}, 'get_capital', 'tool name');
    is_deeply(decode_json($acc->{tool_calls}[0]{function}{arguments}), { country => 'UK' },
              'arguments concatenated');
    like($acc->{tool_calls}[0]{id}, qr/^call_/, 'tool call id');
    ok($acc->{usage}{total_tokens} > 0, 'usage from the usage chunk');

    # Gemini fixture: CRLF separators must survive.
    $r = scenario('fixture=google/text.stream.sse');
    ok($r->{content} eq read_fixture('google/text.stream.sse'), 'CRLF fixture identical');
    my @events = sse_events($r->{content});
    is(scalar @events, 3, 'three CRLF-separated events');
};

subtest '.stream.jsonl framing' => sub {
    my $r = scenario('fixture=mistral/chat-text.stream.jsonl');
    my @lines = grep { length } split /\n/, read_fixture('mistral/chat-text.stream.jsonl');
    my @events = sse_events($r->{content});
    is(scalar @events, @lines + 1, 'one event per line plus [DONE]');
    is($events[-1], '[DONE]', 'terminated with [DONE]');
    is_deeply([ @events[0 .. $#lines] ], \@lines, 'payloads are the lines');
    like($r->{content}, qr/\Adata: \{.*\}\n\ndata: /, 'data: <line>\n\n framing');

    $r = scenario('fixture=anthropic/messages-text.stream.jsonl');
    like($r->{content}, qr/\Aevent: message_start\ndata: \{"type":"message_start"/,
         'anthropic jsonl gets event: lines');
    unlike($r->{content}, qr/\[DONE\]/, 'no [DONE] for anthropic');
};

subtest '.json with meta status, status/retry_after, body' => sub {
    my $r = scenario('fixture=openai/error-400-unsupported-value.json');
    is($r->{status}, 400, 'status from .meta.json');
    is($r->{content}, read_fixture('openai/error-400-unsupported-value.json'), 'body = fixture');
    is($r->{headers}{'content-length'}, length $r->{content}, 'Content-Length');

    $r = scenario('fixture=openai/chat-text.response.json');
    is($r->{status}, 200, 'no meta -> 200');

    $r = scenario('status=429,retry_after=7');
    is($r->{status}, 429, 'status=429');
    is($r->{headers}{'retry-after'}, '7', 'Retry-After');
    is(decode_json($r->{content})->{error}{code}, 'rate_limit_exceeded', 'synthesized error');

    $r = scenario('fixture=openai/error-insufficient-quota.json,status=429');
    is($r->{status}, 429, 'status overrides the fixture');

    $r = scenario('status=502,body=<html>bad gateway, really</html>');
    is($r->{status}, 502, 'status=502');
    is($r->{content}, '<html>bad gateway, really</html>', 'literal body keeps commas');
    like($r->{headers}{'content-type'}, qr{text/html}, 'html content type');
};

subtest 'synthesized stream, echo, demo' => sub {
    my $r = scenario('events=4', stream => JSON::PP::true,
                     stream_options => { include_usage => JSON::PP::true });
    my ($chunks, $done) = sse_json($r->{content});
    ok($done, '[DONE]');
    is(scalar @$chunks, 7, 'role + 4 content + finish + usage');
    my $acc = accumulate_stream($chunks);
    is($acc->{content}, 'tok0 tok1 tok2 tok3 ', 'content');
    is($acc->{model}, 'mock-upstream-model', 'model');
    like($acc->{id}, qr/^chatcmpl-mock\d+$/, 'id');
    is($acc->{finish_reason}, 'stop', 'finish_reason');
    is($acc->{usage}{completion_tokens}, 4, 'usage');
    is_deeply($chunks->[-1]{choices}, [], 'usage chunk has choices: []');

    $r = scenario('events=2');
    ($chunks) = sse_json($r->{content});
    ok(!grep({ exists $_->{usage} } @$chunks), 'no usage without include_usage');

    my $body = { model => 'echo=1', messages => [ { role => 'user', content => "x\x{e9}" } ],
                 temperature => 0.5 };
    $r = chat($port, $body, %auth);
    my $resp = decode_json($r->{content});
    is($resp->{object}, 'chat.completion', 'echo returns chat.completion');
    is_deeply(decode_json(Encode::encode('UTF-8', $resp->{choices}[0]{message}{content})),
              $body, 'echo content is the request body');

    $r = chat($port, { model => 'demo-1', messages => [ { role => 'user', content => 'hello world' } ] },
              %auth);
    $resp = decode_json($r->{content});
    my $text = $resp->{choices}[0]{message}{content};
    like($text, qr/^Hello! I am the demo model behind ngx_http_llm_module\. You said: "hello world"$/,
         'demo reply');
    is($resp->{model}, 'demo-1', 'demo model name');
    is_deeply($resp->{usage}, { prompt_tokens => 2, completion_tokens => 12, total_tokens => 14 },
              'demo usage = word counts');

    $r = chat($port, { model => 'demo-1', stream => JSON::PP::true,
                       stream_options => { include_usage => JSON::PP::true },
                       messages => [ { role => 'user', content => 'hello world' } ] }, %auth);
    ($chunks, $done) = sse_json($r->{content});
    $acc = accumulate_stream($chunks);
    is($acc->{content}, $text, 'demo stream accumulates to the same text');
    is($acc->{role}, 'assistant', 'role');
    is($acc->{usage}{total_tokens}, 14, 'demo stream usage');
    ok(@$chunks > 10, 'one chunk per word');
};

subtest 'framing options' => sub {
    my $r = scenario('fixture=openai/chat-text-after-tool.stream.sse,te=length,split=7');
    is($r->{headers}{'content-length'}, length $r->{content}, 'te=length');
    ok($r->{content} eq read_fixture('openai/chat-text-after-tool.stream.sse'), 'same bytes');

    $r = scenario('events=3,te=close');
    is($r->{status}, 200, 'te=close');
    ok(!exists $r->{headers}{'content-length'} && !exists $r->{headers}{'transfer-encoding'},
       'no length, no chunking');
    my (undef, $done) = sse_json($r->{content});
    ok($done, 'complete body read until close');

    $r = scenario('fixture=deepseek/chat-tool-call.stream.jsonl,keepalive_comments=2');
    like($r->{content}, qr/\A: keep-alive\n\n: keep-alive\n\ndata: /, 'keep-alive comments first');
    my @lines = grep { length } split /\n/, read_fixture('deepseek/chat-tool-call.stream.jsonl');
    is(scalar(sse_events($r->{content})), @lines + 1, 'comments are not events');

    $r = scenario('bad_sse=1');
    my @events = sse_events($r->{content});
    is_deeply([ @events[1, 2] ], [ '{not json', '[DONE]' ], 'bad_sse payloads');

    # cut_after: 3 events, then an abrupt close (no terminating chunk, no [DONE]).
    my $s = raw_request($port, request_bytes('/v1/chat/completions',
        { model => 'events=5,cut_after=3', messages => [] }, %auth));
    my ($raw, $eof) = read_until($s, qr/(?!)/, 10);
    ok($eof, 'server closed the connection');
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    like($head, qr/^HTTP\/1.1 200/, 'status line');
    unlike($body, qr/\r\n0\r\n\r\n\z/, 'no chunked terminator');
    my @cut = sse_events(dechunk($body));
    is(scalar @cut, 3, 'three events');
    ok(!grep({ $_ eq '[DONE]' } @cut), 'no [DONE]');

    $s = raw_request($port, request_bytes('/v1/chat/completions',
        { model => 'events=5,bad_chunked=1', messages => [] }, %auth));
    ($raw, $eof) = read_until($s, qr/(?!)/, 10);
    ok($eof, 'bad_chunked closes');
    like($raw, qr/\r\n\r\n[0-9a-f]+\r\ndata: .*?\r\nzz\r\n\z/s, 'invalid chunk size after one event');

    # HTTP/1.0 request: a stream is close-delimited, not chunked.
    my $req10 = request_bytes('/v1/chat/completions',
        { model => 'events=2', messages => [] }, %auth);
    $req10 =~ s{HTTP/1.1}{HTTP/1.0};
    $s = raw_request($port, $req10);
    ($raw, $eof) = read_until($s, qr/(?!)/, 10);
    ok($eof, 'HTTP/1.0: closed at the end');
    ($head, $body) = split /\r\n\r\n/, $raw, 2;
    unlike($head, qr/chunked/i, 'HTTP/1.0: not chunked');
    is((sse_events($body))[-1], '[DONE]', 'HTTP/1.0: complete stream');

    $r = scenario('fixture=openai/chat-tool-call.stream.sse,header_delay_ms=100,delay_ms=10');
    is($r->{status}, 200, 'delays still deliver the stream');
};

subtest 'request log, keep-alive, chunked request body' => sub {
    my $s = raw_request($port, request_bytes('/v1/chat/completions',
        { model => 'demo-1', messages => [] }, 'X-Test' => 'one', %auth));
    read_until($s, qr/"usage":\{[^}]*\}\}\z/, 10);
    # second request on the same connection, chunked request body
    my $json = encode_json({ model => 'echo=1', messages => [ { role => 'user', content => 'c' } ] });
    my $chunked = join('', map { sprintf("%x\r\n%s\r\n", length, $_) }
                           (substr($json, 0, 10), substr($json, 10))) . "0\r\n\r\n";
    print $s "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer $KEY\r\n"
           . "Transfer-Encoding: chunked\r\n\r\n$chunked";
    my $raw = read_until($s, qr/"usage":\{[^}]*\}\}\z/, 10);
    like($raw, qr/^HTTP\/1.1 200/, 'second response on the same connection');
    close $s;

    my @reqs = @{ mock_requests($mock) }[-2, -1];
    is($reqs[0]{conn}, $reqs[1]{conn}, 'same connection id (keep-alive)');
    is($reqs[1]{n}, $reqs[0]{n} + 1, 'sequence numbers');
    is($reqs[0]{method}, 'POST', 'method');
    is($reqs[0]{path}, '/v1/chat/completions', 'path');
    is($reqs[0]{headers}{'x-test'}, 'one', 'headers lowercased');
    is($reqs[0]{headers}{authorization}, "Bearer $KEY", 'authorization logged');
    is_deeply($reqs[1]{body}, decode_json($json), 'chunked body parsed');
    is($reqs[1]{path}, '/openai/v1/chat/completions', 'any path prefix');

    my $close = close_of($reqs[0]{conn});
    is($close->{by}, 'client', 'client close logged');
    is($close->{requests}, 2, 'two requests on it');

    my $r = http_post_json($port, '/v1/chat/completions', 'not json', %auth);
    is(mock_requests($mock)->[-1]{body}, 'not json', 'raw body logged when not JSON');
};

subtest 'client disconnect mid-stream is logged' => sub {
    my $s = raw_request($port, request_bytes('/v1/chat/completions',
        { model => 'events=50,delay_ms=20', messages => [] }, %auth));
    my $got = read_until($s, sub { (() = $_[0] =~ /data: /g) >= 5 }, 10);
    ok((() = $got =~ /data: /g) >= 5, 'received some events');
    close $s;
    my $conn = mock_requests($mock)->[-1]{conn};
    my $close = close_of($conn);
    ok($close, 'close event logged');
    is($close->{by}, 'client', 'closed by client');
    like($close->{reason} // '', qr/eof while streaming|BrokenPipe|ConnectionReset/, 'reason');

    $s = raw_request($port, request_bytes('/v1/chat/completions',
        { model => 'hang=1', messages => [] }, %auth));
    ok(wait_for(sub { (mock_requests($mock)->[-1]{body}{model} // '') eq 'hang=1' }, 5),
       'hang request logged');
    $conn = mock_requests($mock)->[-1]{conn};
    close $s;
    $close = close_of($conn);
    is($close->{reason}, 'eof while hanging', 'hang: peer close noticed');

    $s = raw_request($port, request_bytes('/v1/chat/completions',
        { model => 'events=2,te=close', messages => [] }, %auth));
    read_until($s, qr/(?!)/, 10);
    $conn = mock_requests($mock)->[-1]{conn};
    is(close_of($conn)->{by}, 'server', 'te=close: closed by server');
};

subtest 'TLS and SNI' => sub {
    plan skip_all => 'curl not found' unless grep { -x "$_/curl" } split /:/, $ENV{PATH};
    my $tls = start_mock(tls => 1);
    my $p = $tls->port;
    my $out = `curl -sk --resolve api.test:$p:127.0.0.1 https://api.test:$p/v1/models 2>&1`;
    is($out, '{"object":"list","data":[]}', 'HTTPS GET /v1/models');
    my $req = mock_requests($tls)->[0];
    is($req->{sni}, 'api.test', 'SNI logged');
    $tls->stop;
};

subtest 'demo mode flag' => sub {
    my $demo = start_mock(demo => 1);
    my $r = chat($demo->port, { model => 'fixture=openai/chat-text.response.json',
                                messages => [ { role => 'user', content => 'ping' } ] });
    like(decode_json($r->{content})->{choices}[0]{message}{content}, qr/You said: "ping"/,
         '--demo ignores scenarios');
};

subtest 'accumulate_stream follows the SDK' => sub {
    my @chunks = (
        { id => 'a', model => 'm', choices => [ { index => 0, delta => { role => 'assistant', content => undef,
            tool_calls => [ { index => 0, id => 'c1', type => 'function',
                              function => { name => 'f', arguments => '' } } ] } } ] },
        { id => 'a', model => 'm', choices => [ { index => 0, delta => {
            tool_calls => [ { index => 1, id => 'c2', type => 'function',
                              function => { name => 'g', arguments => '{}' } } ] } } ] },
        { id => 'a', model => 'm', choices => [ { index => 0, delta => {
            tool_calls => [ { index => 0, function => { arguments => '{"x":' } } ] } } ] },
        { id => 'a', model => 'm', choices => [ { index => 0, delta => { reasoning_content => 'r1' } } ] },
        { id => 'a', model => 'm', choices => [ { index => 0, delta => {
            reasoning_content => 'r2', tool_calls => [ { index => 0, function => { arguments => '1}' } } ] },
            finish_reason => 'tool_calls' } ] },
        { id => 'a', model => 'm', choices => [], usage => { total_tokens => 3 } },
    );
    my $acc = accumulate_stream(\@chunks);
    is($acc->{content}, undef, 'content stays null');
    is($acc->{reasoning_content}, 'r1r2', 'reasoning concatenated');
    is_deeply($acc->{tool_calls}, [
        { index => 0, id => 'c1', type => 'function', function => { name => 'f', arguments => '{"x":1}' } },
        { index => 1, id => 'c2', type => 'function', function => { name => 'g', arguments => '{}' } },
    ], 'tool calls merged by index');
    is($acc->{finish_reason}, 'tool_calls', 'finish_reason');
    is($acc->{usage}{total_tokens}, 3, 'usage');
    ok(!eval { accumulate_stream([ { choices => [ { index => 0, delta => {
        tool_calls => [ { id => 'x', function => { name => 'f' } } ] } } ] },
        { choices => [ { index => 0, delta => { tool_calls => [ { function => { arguments => '{}' } } ] } } ] } ]); 1 },
       'tool_call delta without index dies (as in the SDK)');
};

done_testing;
