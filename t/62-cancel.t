#!/usr/bin/perl
# Cancellation: a client that goes away during a back-off wait, or during
# an attempt of a route, stops everything: the upstream is closed and no
# further attempt is made.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json);

module_path();

my $KEY = 'sk-test-cancel';
$ENV{LLM_T52_KEY} = $KEY;

my $mock  = start_mock(key => $KEY);
my $mock2 = start_mock(key => $KEY);

my $ng = start_nginx(<<'EOF', mock => $mock, mock2 => $mock2);
    log_format llm 'model=$llm_model status=$status attempts=$llm_attempts '
                   'error=$llm_error';

    llm_provider p1 dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T52_KEY;
    llm_provider p2 dialect=openai url=http://127.0.0.1:%%MOCK2%%/v1 api_key=env:LLM_T52_KEY;

    llm_retry tries=3 base=1500ms cap=1500ms;

    llm_model wait429 provider=p1 'upstream_model=id=wait429,seq=429;ok';
    llm_model wait-stream provider=p1 'upstream_model=id=wait-stream,seq=503;events:3';
    llm_model hang provider=p1 'upstream_model=id=hang,hang=1';
    llm_model backup provider=p2 'upstream_model=id=backup,seq=ok';
    llm_model hang-then-backup candidates=hang,backup;

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%PREFIX%%/llm.log llm;

        location = /v1/chat/completions {
            llm_chat;
        }
    }
EOF
my $port = $ng->port;
my @MSG = ({ role => 'user', content => 'hi' });

sub count { return mock_count(@_) }

sub log_line {
    my ($model) = @_;
    my ($line) = ('');
    wait_for(sub {
        ($line) = grep { /^model=\Q$model\E / } split /\n/, slurp($ng->prefix . '/llm.log');
        $line;
    }, 10);
    return $line // '';
}

for my $case ([ wait429 => 0 ], [ 'wait-stream' => 1 ]) {
    my ($model, $stream) = @$case;
    subtest "client leaves during the back-off wait (stream=$stream)" => sub {
        my $s = raw_request($port, request_bytes('/v1/chat/completions', {
            model => $model, messages => \@MSG,
            ($stream ? (stream => JSON::PP::true) : ()) }));
        ok(wait_for(sub { $ng->error_log =~ /model "id=\Q$model\E,.*retrying in/ }, 10),
           'the first attempt failed, the back-off wait began');
        close $s;

        my $line = log_line($model);
        like($line, qr/ status=499 /, 'the request ended at once (status 499)');
        like($line, qr/ error=client_closed$/, '$llm_error is client_closed');
        like($line, qr/ attempts=p1:(429|503) /, 'one attempt');
        # the back-off was 1.5 s: wait past it, then look again
        sleep 2;
        is(count($mock, $model), 1, 'no further attempt after the wait would have ended');
    };
}

subtest 'client leaves during an attempt of a route' => sub {
    my $s = raw_request($port, request_bytes('/v1/chat/completions', {
        model => 'hang-then-backup', messages => \@MSG }));
    ok(wait_for(sub { count($mock, 'hang') == 1 }, 10), 'the first candidate got it');
    close $s;

    my $close;
    wait_for(sub {
        ($close) = grep { ($_->{reason} // '') eq 'eof while hanging' } @{ mock_closes($mock) };
        $close;
    }, 10);
    ok($close, 'the upstream connection was closed');
    is($close->{by}, 'client', 'by the gateway') if $close;
    like(log_line('hang-then-backup'), qr/ error=client_closed$/, 'client_closed');
    sleep 1;
    is(count($mock2, 'backup'), 0, 'the next candidate was never tried');
    is(count($mock, 'hang'), 1, 'nor the same one again');
};

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alert/crit in error.log');

done_testing;
