#!/usr/bin/perl
# Error responses: client mistakes caught by the gateway, provider errors
# passed on in the OpenAI envelope, unreachable / slow / broken providers.
# Every error must be the full OpenAI envelope, never an nginx HTML page.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use IO::Socket::INET;
use JSON::PP qw(decode_json encode_json);

module_path();

my $KEY = 'sk-test-errors-0123';
$ENV{LLM_T23_KEY} = $KEY;

my $mock = start_mock(key => $KEY);

# A loopback port nobody listens on: bind, take the port, close.
my $dead_port = do {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp') or die "bind: $!";
    my $p = $s->sockport;
    close $s;
    $p;
};

# client model name => mock scenario (the upstream model name)
my %models = (
    'ok'            => 'fixture=openai/chat-text.response.json',
    'e400'          => 'fixture=openai/error-400-unsupported-value.json',
    'quota'         => 'fixture=openai/error-insufficient-quota.json,status=429,retry_after=7',
    'groq404'       => 'fixture=groq/error-404-model-not-found.json',
    'e401'          => 'status=401',
    'e403'          => 'status=403',
    'e500'          => 'status=500',
    'e529'          => 'status=529',
    'e503'          => 'status=503,retry_after=3',
    'e400ra'        => 'status=400,retry_after=5',
    'html502'       => 'status=502,body=<html>bad</html>',
    'hang'          => 'hang=1',
    'teclose'       => 'fixture=openai/chat-text.response.json,te=close',
    'notjson'       => 'body=not json',
    'badchunked'    => 'fixture=openai/chat-text.response.json,te=chunked,bad_chunked=1',
);

my $model_conf = join '', map {
    "    llm_model $_ provider=mock 'upstream_model=$models{$_}';\n"
} sort keys %models;

my $ng = start_nginx(<<"EOF", mock => $mock);
    log_format llmerr '\$request_uri \$status model=\$llm_model error=\$llm_error';

    llm_provider mock dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T23_KEY;
    llm_provider dead dialect=openai url=http://127.0.0.1:$dead_port/v1 api_key=env:LLM_T23_KEY;

$model_conf
    llm_model unreachable provider=dead;

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%PREFIX%%/llm.log llmerr;

        location = /v1/chat/completions {
            llm_chat;
            client_max_body_size 1k;
        }

        location = /slow/v1/chat/completions {
            llm_chat;
            llm_read_timeout 1s;
        }
    }
EOF
my $port = $ng->port;

my @MSG = ({ role => 'user', content => 'hi' });

sub post { return chat($port, @_) }

# Request line and headers (without the blank line) for a raw POST.
sub raw_post {
    my ($path, %h) = @_;
    my $head = "POST $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
             . "Content-Type: application/json\r\n";
    $head .= "$_: $h{$_}\r\n" for sort keys %h;
    return $head;
}

# Parse a raw HTTP/1.1 response (Content-Length or chunked body).
sub parse_raw {
    my ($raw) = @_;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    $body //= '';
    my ($status) = $head =~ m{^HTTP/1\.[01] (\d{3})};
    my %h;
    for my $line (split /\r\n/, $head) {
        $h{lc $1} = $2 if $line =~ /^([^:]+):\s*(.*)$/;
    }
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/\A([0-9a-fA-F]+)\r\n//) {
            my $size = hex $1;
            last if $size == 0;
            $out .= substr($body, 0, $size, '');
            $body =~ s/\A\r\n//;
        }
        $body = $out;
    }
    return { status => $status // 0, headers => \%h, content => $body };
}

# ------------------------------------------------------------ client errors

subtest 'method not allowed' => sub {
    for my $method (qw(GET PUT)) {
        my $res = HTTP::Tiny->new(timeout => 30)->request(
            $method, "http://127.0.0.1:$port/v1/chat/completions",
            { headers => { 'Content-Type' => 'application/json' },
              ($method eq 'PUT' ? (content => encode_json({ model => 'ok', messages => \@MSG })) : ()) });
        is_openai_error($res, 405, 'invalid_request_error', 'method_not_allowed', undef, "$method -> 405");
        is($res->{headers}{allow}, 'POST', "$method: Allow: POST");
    }
};

subtest 'invalid JSON' => sub {
    my $err = is_openai_error(post('{"model": "ok", "messages": [}'), 400,
                       'invalid_request_error', 'invalid_json', 'null', 'broken JSON');
    like($err->{message}, qr/line 1\b/, 'message names line 1');
    like($err->{message}, qr/column \d+/, 'message names the column');

    $err = is_openai_error(post(qq({"model": "ok",\n  "messages": [ oops ],\n  "n": 1}\n)), 400,
                    'invalid_request_error', 'invalid_json', undef, 'error on line 2');
    like($err->{message}, qr/line 2\b/, 'message names line 2');
    like($err->{message}, qr/column \d+/, 'message names a column');

    $err = is_openai_error(post('[1, 2, 3]'), 400, 'invalid_request_error', undef, undef,
                    'array body');
    like($err->{message}, qr/object/i, 'non-object: message says an object is expected');

    $err = is_openai_error(post('"just a string"'), 400, 'invalid_request_error', undef, undef,
                    'string body');

    is_openai_error(post(''), 400, 'invalid_request_error', 'invalid_json', undef, 'empty body');
};

subtest 'missing or wrong parameters' => sub {
    my @cases = (
        [ 'missing model',     { messages => \@MSG },                 'model', 'missing_required_parameter' ],
        [ 'model is a number', { model => 42, messages => \@MSG },    'model', 'invalid_type' ],
        [ 'model is an array', { model => ['ok'], messages => \@MSG }, 'model', 'invalid_type' ],
        [ 'missing messages',  { model => 'ok' },                     'messages', 'missing_required_parameter' ],
        [ 'empty messages',    { model => 'ok', messages => [] },     'messages', qr/^(invalid_value|empty_array)$/ ],
        [ 'messages object',   { model => 'ok', messages => { role => 'user' } }, 'messages', 'invalid_type' ],
        [ 'messages string',   { model => 'ok', messages => 'hi' },   'messages', 'invalid_type' ],
        [ 'message without role', { model => 'ok', messages => [ { content => 'hi' } ] },
          'messages[0].role', 'missing_required_parameter' ],
        [ 'bad role',          { model => 'ok', messages => [ { role => 'wizard', content => 'hi' } ] },
          'messages[0].role', 'invalid_value' ],
        [ 'bad role on 2nd',   { model => 'ok', messages => [ @MSG, { role => 'robot', content => 'x' } ] },
          'messages[1].role', 'invalid_value' ],
        [ 'temperature "hot"', { model => 'ok', messages => \@MSG, temperature => 'hot' },
          'temperature', 'invalid_type' ],
        [ 'temperature 5',     { model => 'ok', messages => \@MSG, temperature => 5 },
          'temperature', 'invalid_value' ],
        [ 'n 1.5',             { model => 'ok', messages => \@MSG, n => 1.5 }, 'n', 'invalid_type' ],
        [ 'stream "yes"',      { model => 'ok', messages => \@MSG, stream => 'yes' },
          'stream', 'invalid_type' ],
        [ 'stream_options without stream',
          { model => 'ok', messages => \@MSG, stream_options => { include_usage => JSON::PP::true } },
          'stream_options', 'invalid_value' ],
    );
    for my $c (@cases) {
        my ($name, $body, $param, $code) = @$c;
        is_openai_error(post($body), 400, 'invalid_request_error', $code, $param, $name);
    }
    is(scalar @{ mock_requests($mock) }, 0, 'none of these reached the provider');
};

subtest 'unknown model' => sub {
    my $err = is_openai_error(post({ model => 'no-such-model', messages => \@MSG }), 404,
                       'invalid_request_error', 'model_not_found', 'model', 'unknown model -> 404');
    like($err->{message}, qr/no-such-model/, 'message names the model');
};

subtest 'body larger than client_max_body_size' => sub {
    my $big = encode_json({ model => 'ok', messages => [ { role => 'user', content => 'x' x 3000 } ] });

    is_openai_error(post($big), 413, undef, 'request_too_large', undef, 'Content-Length body > 1k -> 413');

    # the same body, chunked
    my $chunked = '';
    for (my $i = 0; $i < length $big; $i += 500) {
        my $piece = substr($big, $i, 500);
        $chunked .= sprintf("%x\r\n%s\r\n", length $piece, $piece);
    }
    $chunked .= "0\r\n\r\n";
    my $s = raw_request($port, raw_post('/v1/chat/completions',
                                        'Transfer-Encoding' => 'chunked') . "\r\n" . $chunked);
    my ($raw, $eof) = read_until($s, qr/(?!)/, 15);
    my $res = parse_raw($raw);
    is_openai_error($res, 413, undef, 'request_too_large', undef, 'chunked body > 1k -> 413');

    # a small chunked body is fine
    my $small = encode_json({ model => 'ok', messages => \@MSG });
    $s = raw_request($port, raw_post('/v1/chat/completions', 'Transfer-Encoding' => 'chunked')
                            . "\r\n" . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $small, $small));
    ($raw) = read_until($s, qr/(?!)/, 15);
    $res = parse_raw($raw);
    is($res->{status}, 200, 'small chunked body -> 200');
};

# ------------------------------------------------------------ provider errors

subtest 'provider 400 keeps message, param, code' => sub {
    my $orig = decode_json(read_fixture('openai/error-400-unsupported-value.json'))->{error};
    my $err = is_openai_error(post({ model => 'e400', messages => \@MSG }), 400,
                       'invalid_request_error', 'unsupported_value', 'messages[0].role',
                       'replayed 400');
    is($err->{message}, $orig->{message}, 'provider message kept');
};

subtest 'provider 429 insufficient_quota with Retry-After' => sub {
    my $res = post({ model => 'quota', messages => \@MSG });
    my $err = is_openai_error($res, 429, 'rate_limit_error', 'insufficient_quota', undef, 'status 429');
    is($res->{headers}{'retry-after'}, '7', 'Retry-After: 7 passed on');
    like($err->{message}, qr/exceeded your current quota/, 'provider message kept');
};

subtest 'groq 404 model not found' => sub {
    my $orig = decode_json(read_fixture('groq/error-404-model-not-found.json'))->{error};
    my $err = is_openai_error(post({ model => 'groq404', messages => \@MSG }), 404,
                       'not_found_error', 'model_not_found', undef, 'replayed groq 404');
    is($err->{message}, $orig->{message}, 'provider message kept');
};

subtest 'error type by status' => sub {
    my @cases = (
        [ e401 => 401, 'authentication_error' ],
        [ e403 => 403, 'permission_error' ],
        [ e500 => 500, 'api_error' ],
        [ e529 => 503, 'api_error' ],
    );
    for my $c (@cases) {
        my ($model, $status, $type) = @$c;
        my $res = post({ model => $model, messages => \@MSG });
        my $err = is_openai_error($res, $status, $type, undef, undef, "$model -> $status $type");
        like($err->{message}, qr/mock error/, "$model: provider message kept");
        ok(!exists $res->{headers}{'retry-after'}, "$model: no Retry-After");
    }

    my $res = post({ model => 'e503', messages => \@MSG });
    is_openai_error($res, 503, 'api_error', undef, undef, '503 with Retry-After');
    is($res->{headers}{'retry-after'}, '3', 'Retry-After: 3 passed on with 503');

    $res = post({ model => 'e400ra', messages => \@MSG });
    is_openai_error($res, 400, 'invalid_request_error', undef, undef, '400 with Retry-After upstream');
    ok(!exists $res->{headers}{'retry-after'}, 'Retry-After not passed on with 400');

    $res = post({ model => 'html502', messages => \@MSG });
    my $err = is_openai_error($res, 502, 'api_error', undef, undef, 'HTML 502 from the provider');
    unlike($err->{message}, qr/<html>/, 'the HTML is not the message');
};

# ------------------------------------------------------------ transport failures

subtest 'provider unreachable' => sub {
    for my $stream (0, 1) {
        my $res = post({ model => 'unreachable', messages => \@MSG,
                         ($stream ? (stream => JSON::PP::true) : ()) });
        is_openai_error($res, 502, 'api_error', 'upstream_unreachable', undef,
                 'closed port -> 502' . ($stream ? ' (stream)' : ''));
    }
};

subtest 'provider too slow' => sub {
    for my $stream (0, 1) {
        my $res = http_post_json($port, '/slow/v1/chat/completions',
                                 { model => 'hang', messages => \@MSG,
                                   ($stream ? (stream => JSON::PP::true) : ()) });
        is_openai_error($res, 504, 'api_error', 'upstream_timeout', undef,
                 'hang + llm_read_timeout 1s -> 504' . ($stream ? ' (stream)' : ''));
    }
};

subtest 'provider sends garbage' => sub {
    # README (Limitations): a close-delimited non-stream response is an error.
    my $res = post({ model => 'teclose', messages => \@MSG });
    my $err = is_openai_error($res, 502, 'api_error', qr/^\w+$/, undef, 'te=close non-stream -> 502 (documented)');
    note("te=close non-stream: code $err->{code}");

    is_openai_error(post({ model => 'notjson', messages => \@MSG }), 502, 'api_error',
             'invalid_upstream_response', undef, 'non-JSON 200 -> 502');

    is_openai_error(post({ model => 'badchunked', messages => \@MSG }), 502, 'api_error',
             'invalid_upstream_response', undef, 'bad chunked non-stream -> 502');
};

subtest 'still serving, access log' => sub {
    my $res = post({ model => 'ok', messages => \@MSG });
    is($res->{status}, 200, 'a good request after all that');
    my $log = '';
    wait_for(sub { $log = slurp($ng->prefix . "/llm.log"); $log =~ /model=ok error=-\n\z/ }, 5);
    like($log, qr/ 404 model=no-such-model error=model_not_found$/m, '$llm_error model_not_found');
    like($log, qr/ 504 model=hang error=upstream_timeout$/m, '$llm_error upstream_timeout');
    like($log, qr/ 502 model=unreachable error=upstream_unreachable$/m, '$llm_error upstream_unreachable');
    like($log, qr/ 429 model=quota error=insufficient_quota$/m, '$llm_error insufficient_quota');
    unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alert/crit in error.log');
};

done_testing;
