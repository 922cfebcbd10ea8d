#!/usr/bin/perl
# A stream that fails after it started: the client gets an OpenAI error
# frame, then "data: [DONE]", and a properly terminated chunked body.
# Events are flushed as they arrive (not buffered).

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json);

module_path();

my $KEY = 'sk-test-stream-failures';
$ENV{LLM_T24_KEY} = $KEY;

my $mock = start_mock(key => $KEY);

my %models = (
    'cut'       => 'events=20,cut_after=5',
    'badchunk'  => 'events=5,bad_chunked=1',
    'badsse'    => 'bad_sse=1',
    'groqerr'   => 'fixture=groq/chat-stream-error-event.sse',
    'stall3'    => 'events=10,stall_after=3',
    'stall2'    => 'events=10,stall_after=2',
    'limited'   => 'status=429,retry_after=2',
    'good'      => 'events=4',
);
my $model_conf = join '', map {
    "    llm_model $_ provider=mock 'upstream_model=$models{$_}';\n"
} sort keys %models;

my $ng = start_nginx(<<"EOF", mock => $mock);
    llm_provider mock dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T24_KEY;
    llm_retry off;   # one attempt each: retries are t/60-retries.t
$model_conf
    server {
        listen 127.0.0.1:%%PORT%%;

        location = /v1/chat/completions {
            llm_chat;
            llm_read_timeout 120s;
        }

        location = /short/v1/chat/completions {
            llm_chat;
            llm_read_timeout 1s;
        }
    }
EOF
my $port = $ng->port;

# Strict de-chunking: (data, terminated) where terminated means the body
# ended with a well-formed last chunk "0\r\n\r\n" and nothing was malformed.
sub dechunk {
    my ($body) = @_;
    my $out = '';
    while (1) {
        return ($out, 0) unless $body =~ s/\A([0-9a-fA-F]+)(?:;[^\r\n]*)?\r\n//;
        my $size = hex $1;
        if ($size == 0) {
            return ($out, $body eq "\r\n" ? 1 : 0);
        }
        return ($out, 0) if length($body) < $size + 2;
        $out .= substr($body, 0, $size, '');
        return ($out, 0) unless $body =~ s/\A\r\n//;
    }
}

# POST a stream request over a raw socket (HTTP/1.1 keep-alive, so only a
# proper last chunk ends the response); read until the chunked body ends,
# EOF, or $seconds.
sub raw_stream {
    my ($path, $model, $seconds) = @_;
    my $s = raw_request($port, request_bytes($path, {
        model => $model, stream => JSON::PP::true,
        messages => [ { role => 'user', content => 'hi' } ] }));
    my ($raw, $eof) = read_until($s, qr/\r\n\r\n.*\r\n0\r\n\r\n\z/s, $seconds // 20);
    close $s;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    $body //= '';
    my ($status) = ($head // '') =~ m{^HTTP/1\.1 (\d{3})};
    my %h;
    for my $line (split /\r\n/, $head // '') {
        $h{lc $1} = $2 if $line =~ /^([^:]+):\s*(.*)$/;
    }
    my ($data, $terminated) = dechunk($body);
    return { status => $status // 0, headers => \%h, raw => $body, data => $data,
             terminated => $terminated, eof => $eof };
}

sub check_envelope {
    my ($err, $name) = @_;
    ok(ref $err eq 'HASH', "$name: error is an object") or return;
    is_deeply([ sort keys %$err ], [qw(code message param type)],
              "$name: error has exactly message, type, param, code");
    ok(defined $err->{message} && !ref $err->{message} && length $err->{message},
       "$name: message is a non-empty string");
}

my $log_pos = 0;
sub new_error_log {
    my $log = $ng->error_log;
    my $new = substr($log, $log_pos);
    $log_pos = length $log;
    return $new;
}

# Common checks of a failed stream; returns (normal chunks, error object).
sub failed_stream {
    my ($res, $name, %want) = @_;
    my (@chunks, $err);
    subtest $name => sub {
        is($res->{status}, 200, 'status 200 (the stream had started)');
        like($res->{headers}{'content-type'} // '', qr{^text/event-stream}, 'event-stream');
        is($res->{headers}{'transfer-encoding'}, 'chunked', 'chunked');
        ok($res->{terminated}, 'chunked body properly terminated with 0\r\n\r\n')
            or diag("raw body tail: " . substr($res->{raw}, -200));

        my @payloads = sse_events($res->{data});
        is($payloads[-1], '[DONE]', 'last event is [DONE]');
        is(scalar(grep { $_ eq '[DONE]' } @payloads), 1, 'exactly one [DONE]');
        like($res->{data}, qr/data: \{"error":\{.*\}\}\n\ndata: \[DONE\]\n\n\z/,
             'ends with data: {"error":...} then data: [DONE]');

        my @objs = map { decode_json($_) } grep { $_ ne '[DONE]' } @payloads;
        my @errs = grep { exists $_->{error} } @objs;
        is(scalar @errs, 1, 'exactly one error frame');
        is_deeply([ sort keys %{ $objs[-1] } ], ['error'], 'the error frame is the last JSON event');
        $err = $errs[0]{error} // {};
        check_envelope($err, 'error frame');
        is($err->{code}, $want{code}, "code $want{code}") if $want{code};
        is($err->{type}, $want{type}, "type $want{type}") if $want{type};
        @chunks = grep { !exists $_->{error} } @objs;
        is(scalar @chunks, $want{chunks}, "$want{chunks} events delivered before the error")
            if defined $want{chunks};
        for my $c (@chunks) {
            is($c->{object}, 'chat.completion.chunk', 'delivered event is a chunk') or last;
        }

        my $log = '';
        ok(wait_for(sub { $log .= new_error_log();
                          $log =~ /\[error\][^\n]*llm: [^\n]*(ended early|failed|invalid)/ }, 5),
           'error.log has an error-level line for the failed stream') or diag($log);
    };
    return (\@chunks, $err);
}

subtest 'truncated stream (cut_after=5)' => sub {
    my ($chunks, $err) = failed_stream(raw_stream('/v1/chat/completions', 'cut'),
                                       'cut', code => 'stream_truncated', type => 'api_error',
                                       chunks => 5);
    my $acc = accumulate_stream($chunks);
    is($acc->{role}, 'assistant', 'role delivered');
    is($acc->{content}, 'tok0 tok1 tok2 tok3 ', 'the delivered events are intact');
    is($acc->{model}, 'cut', 'client model name in the chunks');
    ok(!defined $acc->{finish_reason}, 'no finish_reason (the stream was cut)');
};

# Before the first content token nothing is sent (the commit point, see
# t/61-commit-point.t): a stream that breaks there is a plain JSON error.
subtest 'broken chunked encoding before the first token' => sub {
    my $res = chat($port, { model => 'badchunk', stream => JSON::PP::true,
                            messages => [ { role => 'user', content => 'hi' } ] });
    is($res->{status}, 502, 'status 502');
    like($res->{headers}{'content-type'} // '', qr{^application/json}, 'JSON');
    my $body = json_or_undef($res->{content} // '');
    check_envelope($body && $body->{error}, 'bad_chunked');
};

subtest 'malformed SSE event' => sub {
    my ($chunks) = failed_stream(raw_stream('/v1/chat/completions', 'badsse'),
                                 'bad_sse', code => 'invalid_upstream_response',
                                 type => 'api_error', chunks => 1);
    is(accumulate_stream($chunks)->{content}, 'ok', 'the good event came through');
};

subtest 'in-band provider error (Groq event: error)' => sub {
    my $fixture = read_fixture('groq/chat-stream-error-event.sse');
    my ($orig) = $fixture =~ /^event: error\ndata: (.*)$/m;
    $orig = decode_json($orig)->{error};
    my $n_before = grep { $_ !~ /"error"/ } sse_events($fixture);
    my ($chunks, $err) = failed_stream(raw_stream('/v1/chat/completions', 'groqerr'),
                                       'groq error event', code => 'tool_use_failed',
                                       chunks => $n_before);
    is($err->{message}, $orig->{message}, "provider's message kept");
    is($err->{type}, 'invalid_request_error', 'type from the status_code 400');
    my $acc = accumulate_stream($chunks);
    ok(length($acc->{reasoning_content} // '') > 0, 'reasoning delivered before the error');
};

subtest 'provider stalls (llm_read_timeout 1s)' => sub {
    my ($chunks) = failed_stream(raw_stream('/short/v1/chat/completions', 'stall3'),
                                 'stall', code => 'upstream_timeout', type => 'api_error',
                                 chunks => 3);
    is(accumulate_stream($chunks)->{content}, 'tok0 tok1 ', 'three events delivered');
};

subtest 'events are flushed as they arrive' => sub {
    my $s = raw_request($port, request_bytes('/v1/chat/completions', {
        model => 'stall2', stream => JSON::PP::true,
        messages => [ { role => 'user', content => 'hi' } ] }));
    my $raw = read_until($s, qr/data: [^\n]*"content":"tok0 "[^\n]*\n\n/, 10);
    like($raw, qr{^HTTP/1\.1 200}, 'status 200');
    like($raw, qr/data: [^\n]*"role":"assistant".*data: [^\n]*"content":"tok0 "/s,
         'the first two events reached the client');
    unlike($raw, qr/\[DONE\]/, 'the stream is not over');
    my $req = mock_requests($mock)->[-1];
    is($req->{body}{model}, 'events=10,stall_after=2', 'the mock got the request');
    ok(!grep({ $_->{conn} == $req->{conn} } @{ mock_closes($mock) }),
       'while the provider still holds the stream open');
    close $s;
    # the provider connection goes away with the client
    ok(wait_for(sub { grep { $_->{conn} == $req->{conn} } @{ mock_closes($mock) } }, 10),
       'provider connection closed after the client left');
};

subtest '429 to a stream request is a plain JSON 429' => sub {
    my $res = chat($port, { model => 'limited', stream => JSON::PP::true,
                            messages => [ { role => 'user', content => 'hi' } ] });
    is($res->{status}, 429, 'status 429');
    like($res->{headers}{'content-type'} // '', qr{^application/json}, 'application/json, not SSE');
    is($res->{headers}{'retry-after'}, '2', 'Retry-After');
    my $body = decode_json($res->{content});
    is_deeply([ sort keys %$body ], ['error'], 'only "error"');
    check_envelope($body->{error}, 'the 429');
    is($body->{error}{type}, 'rate_limit_error', 'rate_limit_error');
    unlike($res->{content}, qr/^data:/m, 'no SSE framing');
};

subtest 'a good stream still works and is terminated' => sub {
    my $res = raw_stream('/v1/chat/completions', 'good');
    is($res->{status}, 200, 'status 200');
    ok($res->{terminated}, 'terminated');
    my ($chunks, $done) = sse_json($res->{data});
    ok($done, '[DONE]');
    ok(!grep({ exists $_->{error} } @$chunks), 'no error frame');
    is(accumulate_stream($chunks)->{content}, 'tok0 tok1 tok2 tok3 ', 'content');
};

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alert/crit in error.log');

done_testing;
