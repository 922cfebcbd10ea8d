#!/usr/bin/perl
# The cost/speed/quality router: models carry price, tier and a TTFT seed;
# a route with strategy=cost|quality|speed picks the best candidate, falls
# back in that order on failure, and shows the choice in the response's
# "model" and in $llm_upstream_model.  strategy=speed follows the measured
# TTFT (a moving average in the llm_health zone).  weights= balances load.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json);

module_path();

my $KEY = 'sk-test-router';
$ENV{LLM_T54_KEY} = $KEY;

my $mock  = start_mock(key => $KEY);
my $mock2 = start_mock(key => $KEY);

my $ng = start_nginx(<<'EOF', mock => $mock, mock2 => $mock2);
    log_format llm 'model=$llm_model upstream=$llm_upstream_model '
                   'provider=$llm_provider attempts=$llm_attempts';

    llm_health zone=llm_health:64k;   # the smallest

    llm_provider p1 dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T54_KEY;
    llm_provider p2 dialect=openai url=http://127.0.0.1:%%MOCK2%%/v1 api_key=env:LLM_T54_KEY;

    llm_retry off;

    llm_model cheap provider=p1 upstream_model=id=cheap,events=2
              price_in=0.10 price_out=0.40 tier=1 context=128000 ttft=900ms;
    llm_model mid   provider=p1 upstream_model=id=mid,events=2
              price_in=1 price_out=4 tier=2 ttft=200ms;
    llm_model best  provider=p2 upstream_model=id=best,events=2
              price_in=5 price_out=15 tier=3 ttft=500ms;
    llm_model broken provider=p1 upstream_model=id=broken,status=500
              price_in=0.01 price_out=0.01;

    llm_model by-cost    candidates=best,mid,cheap strategy=cost;
    llm_model by-quality candidates=cheap,mid,best strategy=quality;
    llm_model cost-fail  candidates=best,mid,broken strategy=cost;

    # speed: "lazy" looks fastest from its seed, but is measured slow
    llm_model lazy  provider=p1 upstream_model=id=lazy,events=2,header_delay_ms=400 ttft=10ms;
    llm_model quick provider=p2 upstream_model=id=quick,events=2 ttft=150ms;
    llm_model by-speed candidates=quick,lazy strategy=speed;

    llm_model w1 provider=p1 upstream_model=id=w1,events=1;
    llm_model w2 provider=p2 upstream_model=id=w2,events=1;
    llm_model balanced candidates=w1,w2 weights=3,1;

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

my $n = 0;
sub ask {
    my ($model) = @_;
    my ($res, $chunks, $done) = chat_stream($port, $model, \@MSG);
    $n++;
    my @lines;
    wait_for(sub { @lines = split /\n/, slurp($ng->prefix . '/llm.log'); @lines >= $n }, 10);
    return ($res, accumulate_stream($chunks), $lines[$n - 1] // '');
}

my ($res, $acc, $line);

($res, $acc, $line) = ask('by-cost');
is($acc->{model}, 'cheap', 'cost: the cheapest, in the response model');
like($line, qr/ upstream=id=cheap,events=2 /, 'cost: $llm_upstream_model');

($res, $acc, $line) = ask('by-quality');
is($acc->{model}, 'best', 'quality: the highest tier');
like($line, qr/ upstream=id=best,events=2 provider=p2 /, 'quality: $llm_upstream_model');

($res, $acc, $line) = ask('cost-fail');
is($res->{status}, 200, 'cost with a failing cheapest candidate');
is($acc->{model}, 'mid', 'falls back to the next cheapest');
like($line, qr/ attempts=p1:500,p1:200$/, 'in price order');

($res, $acc, $line) = ask('by-speed');
is($acc->{model}, 'lazy', 'speed: the lowest TTFT seed first');
# its measured TTFT (>= 400 ms) pulls the average above quick's 150 ms
my @picks;
for (1 .. 3) {
    ($res, $acc, $line) = ask('by-speed');
    push @picks, $acc->{model};
}
is($picks[-1], 'quick', 'speed: the measured TTFT moved the choice')
    or diag("picks: @picks");

my %served;
for (1 .. 40) {
    ($res, $acc, $line) = ask('balanced');
    $served{ $acc->{model} // '?' }++;
}
ok(($served{w1} // 0) > ($served{w2} // 0) && ($served{w2} // 0) > 0,
   'weights=3,1: both serve, the heavier more') or diag(explain \%served);

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alert/crit in error.log');

done_testing;
