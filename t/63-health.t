#!/usr/bin/perl
# Passive health (llm_health): a provider failing N times within the
# window is skipped for the cool-down, then one request probes it again;
# when every candidate is cooling down the client gets a clear 503 with
# Retry-After.  The state lives in a shared memory zone.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json);

module_path();

my $KEY = 'sk-test-health';
$ENV{LLM_T53_KEY} = $KEY;

my $mock  = start_mock(key => $KEY);
my $mock2 = start_mock(key => $KEY);

my $ng = start_nginx(<<'EOF', mock => $mock, mock2 => $mock2);
    log_format llm 'model=$llm_model status=$status attempts=$llm_attempts';

    llm_health zone=llm_health:1m fails=2 window=30s cooldown=3s;

    llm_provider p1 dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T53_KEY;
    llm_provider p2 dialect=openai url=http://127.0.0.1:%%MOCK2%%/v1 api_key=env:LLM_T53_KEY;

    llm_retry off;

    # 500, 500 (cooling), 500 (the probe fails), then healthy
    llm_model flaky provider=p1 'upstream_model=id=flaky,seq=500;500;500;ok';
    llm_model backup provider=p2 'upstream_model=id=backup,seq=ok';
    llm_model ha candidates=flaky,backup;

    llm_provider p3 dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T53_KEY;
    llm_model flaky3 provider=p3 'upstream_model=id=flaky3,seq=500;500;hang:1;ok';
    llm_model ha3 candidates=flaky3,backup;

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

my $n = 0;
sub attempts_of_next {
    my ($model) = @_;
    my $res = chat($port, { model => $model, messages => \@MSG });
    $n++;
    my @lines;
    wait_for(sub { @lines = split /\n/, slurp($ng->prefix . '/llm.log'); @lines >= $n }, 10);
    my ($a) = ($lines[$n - 1] // '') =~ / attempts=(\S*)/;
    return ($res, $a // '');
}

my ($res, $a);

($res, $a) = attempts_of_next('ha');
is($a, 'p1:500,p2:200', 'first failure, fallback');
($res, $a) = attempts_of_next('ha');
is($a, 'p1:500,p2:200', 'second failure: now cooling down');
like($ng->error_log, qr/\[warn\].*provider "p1" failed 2 times within 30000 ms, cooling down/,
     'the cool-down is logged');

($res, $a) = attempts_of_next('ha');
is($res->{status}, 200, 'served');
is($a, 'p2:200', 'the cooling provider is skipped');
is(count($mock, 'flaky'), 2, 'it got no request');

($res, $a) = attempts_of_next('flaky');
is($res->{status}, 503, 'every candidate cooling down: 503');
ok(($res->{headers}{'retry-after'} // 0) >= 1, 'with Retry-After');
is(json_or_undef($res->{content})->{error}{code}, 'providers_cooling_down', 'a clear code');
is(count($mock, 'flaky'), 2, 'still no request');

sleep 3.5;   # past the cool-down

($res, $a) = attempts_of_next('ha');
is($a, 'p1:500,p2:200', 'after the cool-down one request probes it (and fails)');
is(count($mock, 'flaky'), 3, 'the probe reached it');

($res, $a) = attempts_of_next('ha');
is($a, 'p2:200', 'the failed probe starts another cool-down');

sleep 3.5;

($res, $a) = attempts_of_next('ha');
is($a, 'p1:200', 'a good probe');
($res, $a) = attempts_of_next('ha');
is($a, 'p1:200', 'ends the cool-down');

subtest 'one probe at a time' => sub {
    ($res, $a) = attempts_of_next('ha3');
    ($res, $a) = attempts_of_next('ha3');
    is($a, 'p3:500,p2:200', 'two failures: cooling down');
    sleep 3.5;

    # the probe hangs; meanwhile another request must not probe too
    my $s = raw_request($port, request_bytes('/v1/chat/completions', {
        model => 'ha3', messages => \@MSG }));
    ok(wait_for(sub { count($mock, 'flaky3') == 3 }, 10), 'the probe reached it');
    $n++;   # its log line comes when it ends
    my $r2 = chat($port, { model => 'ha3', messages => \@MSG });
    is($r2->{status}, 200, 'the other request is served');
    is(count($mock, 'flaky3'), 3, 'by the other candidate: no second probe');
    close $s;
};

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alert/crit in error.log');

SKIP: {
    skip 'valgrind runs one process', 2 if $ENV{LLM_TEST_VALGRIND};

    # several workers share the state: 3 failures in all, whoever saw them
    my $ng4 = start_nginx(<<'EOF', mock => $mock, mock2 => $mock2, workers => 4);
    llm_health zone=llm_health2:1m fails=3 window=60s cooldown=60s;

    llm_provider p1 dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T53_KEY;
    llm_provider p2 dialect=openai url=http://127.0.0.1:%%MOCK2%%/v1 api_key=env:LLM_T53_KEY;

    llm_retry off;

    llm_model flaky4 provider=p1 'upstream_model=id=flaky4,status=500';
    llm_model backup4 provider=p2 'upstream_model=id=backup4,seq=ok';
    llm_model ha4 candidates=flaky4,backup4;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /v1/chat/completions {
            llm_chat;
        }
    }
EOF
    my $ok = 0;
    for (1 .. 12) {   # a new connection each: any worker may take it
        $ok++ if chat($ng4->port, { model => 'ha4', messages => \@MSG })->{status} == 200;
    }
    is($ok, 12, 'all served');
    is(count($mock, 'flaky4'), 3, 'the failing provider got 3 requests in all, not 3 a worker');
    my %pids = map { $_ => 1 } $ng4->error_log =~ /\[warn\] (\d+)#/g;
    diag('workers that saw a failure: ' . scalar(keys %pids));
}

done_testing;
