#!/usr/bin/perl
# Keepalive to the provider through upstream{} blocks: non-stream and
# stream requests reuse one connection; without "keepalive" every request
# gets its own; a connection whose stream failed is never reused.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX ();

module_path();

my $KEY = 'sk-test-keepalive';
$ENV{LLM_T30_KEY} = $KEY;

my $mock = start_mock(key => $KEY);     # behind "keepalive 4"
my $mock2 = start_mock(key => $KEY);    # behind a block without keepalive

# A minimal provider (the mock cannot do this): every stream's
# "data: [DONE]" chunk is sent, then the terminating "0\r\n\r\n" chunk
# separately after a pause, as a provider behind a proxy may well do.
# Connections and requests are appended to a file.
my $tmp = tempdir('llm-ka-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{LLM_TEST_KEEP});
my ($late_port, $late_pid) = start_late_terminator("$tmp/late.log");

sub start_late_terminator {
    my ($log) = @_;
    my $srv = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1', LocalPort => 0,
                                    Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    return ($srv->sockport, $pid) if $pid;
    setpgrp(0, 0);
    $SIG{TERM} = sub { POSIX::_exit(0) };
    $SIG{CHLD} = 'IGNORE';
    my $note = sub {
        open my $fh, '>>', $log or return;
        print $fh "$_[0]\n";
        close $fh;
    };
    my $conns = 0;
    while (my $c = $srv->accept) {
        $conns++;
        $note->("conn $conns");
        if (fork) {      # the parent goes back to accept
            close $c;
            next;
        }
        my $in = '';
        while (1) {
            while ($in !~ /\r\n\r\n/) {
                sysread($c, $in, 65536, length $in) or POSIX::_exit(0);
            }
            my ($head, $rest) = split /\r\n\r\n/, $in, 2;
            my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
            $len //= 0;
            while (length $rest < $len) {
                sysread($c, $rest, 65536, length $rest) or POSIX::_exit(0);
            }
            $in = substr($rest, $len);
            $note->("request on $conns");
            syswrite($c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                       . "Transfer-Encoding: chunked\r\n\r\n");
            for my $text ('tok0 ', 'tok1 ', 'tok2 ') {
                my $ev = 'data: {"id":"chatcmpl-late","object":"chat.completion.chunk",'
                       . '"created":1700000000,"model":"late","choices":[{"index":0,'
                       . '"delta":{"content":"' . $text . '"},"finish_reason":null}]}' . "\n\n";
                syswrite($c, sprintf("%x\r\n%s\r\n", length $ev, $ev));
            }
            for my $ev ('data: {"id":"chatcmpl-late","object":"chat.completion.chunk",'
                        . '"created":1700000000,"model":"late","choices":[{"index":0,'
                        . '"delta":{},"finish_reason":"stop"}]}' . "\n\n",
                        "data: [DONE]\n\n") {
                syswrite($c, sprintf("%x\r\n%s\r\n", length $ev, $ev));
            }
            select(undef, undef, undef, 0.3);
            syswrite($c, "0\r\n\r\n");
        }
    }
    POSIX::_exit(0);
}

END { kill 'TERM', -$late_pid if $late_pid }

my $ng = start_nginx(<<"EOF", mock => $mock, mock2 => $mock2);
    upstream late { server 127.0.0.1:$late_port; keepalive 4; }
    upstream m  { server 127.0.0.1:%%MOCK%%;  keepalive 4; }
    upstream nk { server 127.0.0.1:%%MOCK2%%; }

    llm_provider p  dialect=openai upstream=m  api_key=env:LLM_T30_KEY;
    llm_provider pn dialect=openai upstream=nk api_key=env:LLM_T30_KEY;
    llm_provider pl dialect=openai upstream=late;

    llm_model text     provider=p  upstream_model=fixture=openai/chat-text.response.json;
    llm_model stream   provider=p  upstream_model=events=3;
    llm_model cut      provider=p  'upstream_model=events=10,cut_after=3';
    llm_model stall    provider=p  'upstream_model=events=10,stall_after=2';
    llm_model n-text   provider=pn upstream_model=fixture=openai/chat-text.response.json;
    llm_model n-stream provider=pn upstream_model=events=3;
    llm_model late     provider=pl;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /v1/chat/completions {
            llm_chat;
        }
        location = /short/v1/chat/completions {
            llm_chat;
            llm_read_timeout 1s;
        }
    }
EOF
my $port = $ng->port;

my @MSG = ({ role => 'user', content => 'hi' });

sub text_ok {
    my ($model, $name) = @_;
    my $res = chat($port, { model => $model, messages => \@MSG });
    is($res->{status}, 200, "$name: status 200") or diag($res->{content});
    my $body = eval { decode_json($res->{content}) } // {};
    is($body->{object}, 'chat.completion', "$name: a chat.completion");
}

sub stream_ok {
    my ($model, $name) = @_;
    my $res = chat($port, { model => $model, messages => \@MSG, stream => JSON::PP::true });
    is($res->{status}, 200, "$name: status 200") or diag($res->{content});
    my ($chunks, $done) = eval { sse_json($res->{content}) };
    ok($done, "$name: complete stream");
    ok(!grep({ exists $_->{error} } @{ $chunks // [] }), "$name: no error frame");
    is(accumulate_stream($chunks // [])->{content}, 'tok0 tok1 tok2 ', "$name: content");
}

sub new_requests {
    my ($m, $before) = @_;
    my $all = mock_requests($m);
    return [ @$all[$before .. $#$all] ];
}

sub uniq { my %s; return grep { !$s{$_}++ } @_ }

subtest 'keepalive: non-stream and stream requests share one connection' => sub {
    my $n = @{ mock_requests($mock) };
    text_ok('text', "non-stream $_") for 1 .. 3;
    stream_ok('stream', "stream $_") for 1 .. 3;
    my $reqs = new_requests($mock, $n);
    is(scalar @$reqs, 6, 'six requests reached the provider');
    my @conns = map { $_->{conn} } @$reqs;
    is(scalar(uniq(@conns[0 .. 2])), 1, 'the three non-stream requests on one connection')
        or diag("conns: @conns");
    is(scalar(uniq(@conns[3 .. 5])), 1, 'the three streams on one connection')
        or diag("conns: @conns");
    is(scalar(uniq(@conns)), 1, 'all six on the same connection') or diag("conns: @conns");
    is(scalar(grep { $_->{conn} == $conns[0] } @{ mock_closes($mock) }), 0,
       'and the connection is still open');
};

subtest 'no keepalive in the block: one connection per request' => sub {
    plan skip_all => 'nginx 1.29.7+ keeps upstream connections by default'
        if nginx_version() >= 1029007;
    my $n = @{ mock_requests($mock2) };
    text_ok('n-text', "non-stream $_") for 1 .. 3;
    stream_ok('n-stream', "stream $_") for 1 .. 3;
    my $reqs = new_requests($mock2, $n);
    is(scalar @$reqs, 6, 'six requests reached the provider');
    my @conns = map { $_->{conn} } @$reqs;
    is(scalar(uniq(@conns)), 6, 'six connections') or diag("conns: @conns");
    ok(wait_for(sub { my %c = map { $_->{conn} => 1 } @{ mock_closes($mock2) };
                      !grep { !$c{$_} } @conns }, 10),
       'each of them closed by the gateway');
};

subtest 'a truncated stream\'s connection is not reused' => sub {
    text_ok('text', 'warm-up');
    my $res = chat($port, { model => 'cut', messages => \@MSG, stream => JSON::PP::true });
    is($res->{status}, 200, 'cut stream: 200');
    my ($chunks) = sse_json($res->{content});
    is($chunks->[-1]{error}{code}, 'stream_truncated', 'cut stream: error frame');
    my $cut_req = mock_requests($mock)->[-1];
    is($cut_req->{body}{model}, 'events=10,cut_after=3', 'the cut request');

    text_ok('text', 'next request');
    stream_ok('stream', 'next stream');
    my @after = @{ new_requests($mock, $cut_req->{n}) };
    is(scalar @after, 2, 'both reached the provider');
    ok(!grep({ $_->{conn} == $cut_req->{conn} } @after), 'not on the cut connection');
    is(scalar(uniq(map { $_->{conn} } @after)), 1, 'and they share a new kept-alive connection');
};

subtest 'a stalled stream\'s connection is closed, not reused' => sub {
    my $res = http_post_json($port, '/short/v1/chat/completions',
                             { model => 'stall', messages => \@MSG, stream => JSON::PP::true });
    is($res->{status}, 200, 'stalled stream: 200');
    my ($chunks, $done) = sse_json($res->{content});
    ok($done, 'ended with [DONE]');
    is($chunks->[-1]{error}{code}, 'upstream_timeout', 'error frame upstream_timeout');
    my $stall_req = mock_requests($mock)->[-1];
    is($stall_req->{body}{model}, 'events=10,stall_after=2', 'the stalled request');

    my $close;
    ok(wait_for(sub { ($close) = grep { $_->{conn} == $stall_req->{conn} } @{ mock_closes($mock) };
                      $close }, 10),
       'the gateway closed the stalled connection');
    is($close->{by}, 'client', 'closed by the gateway') if $close;

    text_ok('text', 'next request');
    stream_ok('stream', 'next stream');
    my @after = @{ new_requests($mock, $stall_req->{n}) };
    is(scalar @after, 2, 'both reached the provider');
    ok(!grep({ $_->{conn} == $stall_req->{conn} } @after), 'not on the stalled connection');
};

subtest 'keepalive when the last chunk comes after [DONE] in a later read' => sub {
    stream_ok('late', "stream $_") for 1 .. 3;
    my $log = '';
    if (open my $fh, '<', "$tmp/late.log") { local $/; $log = <$fh> // '' }
    my @reqs = $log =~ /^request on (\d+)$/mg;
    is(scalar @reqs, 3, 'three requests reached the provider');
    is(scalar(uniq(@reqs)), 1, 'all on one connection') or diag($log);
};

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alert/crit in error.log');

done_testing;
