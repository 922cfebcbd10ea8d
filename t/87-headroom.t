#!/usr/bin/perl
#
# Provider headroom from the providers' own rate-limit headers: an answer
# that says nothing is left (OpenAI's x-ratelimit-remaining-requests or
# -tokens at 0, Anthropic's anthropic-ratelimit-*-remaining at 0) keeps
# requests off that provider until its reset, so a route steers to its
# next candidate before the first one answers 429; after the reset the
# first candidate serves again; an answer with room changes nothing; a
# reset it cannot read says nothing.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP qw(decode_json);
use Test::More;

module_path();

my $mock = start_mock();

my $ng = start_nginx(<<'EOF', mock => $mock);
    llm_health zone=health:1m;
    llm_retry off;

    llm_provider a dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;
    llm_provider b dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;
    llm_provider c dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1;
    llm_provider d dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;
    llm_provider e dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;

    llm_model a-none provider=a
              upstream_model=id=a-none,rl_requests=0,rl_reset=2;
    llm_model b-ok provider=b upstream_model=id=b-ok;
    llm_model steer candidates=a-none,b-ok;

    llm_model c-none provider=c upstream_model=id=c-none,anthropic_rl=0,rl_reset=3;
    llm_model b-ok2 provider=b upstream_model=id=b-ok2;
    llm_model steer-ant candidates=c-none,b-ok2;

    llm_model d-tokens provider=d
              upstream_model=id=d-tokens,rl_tokens=0,rl_reset=60;
    llm_model steer-tok candidates=d-tokens,b-ok;

    llm_model e-room provider=e upstream_model=id=e-room,rl_requests=40;
    llm_model keep candidates=e-room,b-ok;

    # resets the gateway cannot read: OpenAI's Go durations, Anthropic's
    # RFC 3339 times
    llm_model f1 provider=a upstream_model=id=f1,rl_requests=0,rl_reset_raw=soon;
    llm_model f2 provider=a upstream_model=id=f2,rl_requests=0,rl_reset_raw=5x;
    llm_model f3 provider=a upstream_model=id=f3,rl_requests=0,rl_reset_raw=1.5;
    llm_model f4 provider=a upstream_model=id=f4,rl_requests=0,rl_reset_raw=-2s;
    llm_model f5 provider=a upstream_model=id=f5,rl_requests=0,rl_reset_raw=s;
    llm_model f6 provider=a upstream_model=id=f6,rl_requests=0,rl_reset_raw=999999h;
    llm_model f7 provider=c upstream_model=id=f7,anthropic_rl=0,rl_reset_raw=2025-13;
    llm_model f8 provider=c upstream_model=id=f8,anthropic_rl=0,rl_reset_raw=tomorrow-at-noon-utc;
    llm_model bad1 candidates=f1,b-ok;
    llm_model bad2 candidates=f2,b-ok;
    llm_model bad3 candidates=f3,b-ok;
    llm_model bad4 candidates=f4,b-ok;
    llm_model bad5 candidates=f5,b-ok;
    llm_model bad6 candidates=f6,b-ok;
    llm_model bad7 candidates=f7,b-ok;
    llm_model bad8 candidates=f8,b-ok;

    log_format steer '$llm_model $llm_attempts';

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%PREFIX%%/steer.log steer;
        location = /v1/chat/completions { llm_chat; }
    }
EOF

my $port = $ng->{port};
my $hi = [{ role => 'user', content => 'Hi' }];

sub served { return decode_json($_[0]{content})->{model} }

# OpenAI's x-ratelimit-remaining-requests: 0, reset in 2 s

my $r1 = chat($port, { model => 'steer', messages => $hi });
my $r2 = chat($port, { model => 'steer', messages => $hi });
is($r1->{status}, 200, 'the first candidate answers, with nothing left');
is(served($r1), 'a-none', 'it served the first');
is($r2->{status}, 200, 'the next request is answered');
is(served($r2), 'b-ok', 'by the second candidate, before any 429');
is(mock_count($mock, 'a-none'), 1, 'the first was not asked again');
like($ng->error_log, qr/provider "a" has no headroom left for model "a-none" for \d+ ms/,
     'the log says why');

sleep 3;
my $r3 = chat($port, { model => 'steer', messages => $hi });
is(served($r3), 'a-none', 'after its reset, the first serves again');

# Anthropic's anthropic-ratelimit-requests-remaining: 0, reset an RFC 3339
# time 3 s ahead

my $a1 = chat($port, { model => 'steer-ant', messages => $hi });
my $a2 = chat($port, { model => 'steer-ant', messages => $hi });
is(served($a1), 'c-none', 'Anthropic answers, with no requests left');
is(served($a2), 'b-ok2', 'the next goes to the second candidate');
is(mock_count($mock, 'c-none'), 1, 'Anthropic was not asked again');

# tokens used up count the same

chat($port, { model => 'steer-tok', messages => $hi });
is(served(chat($port, { model => 'steer-tok', messages => $hi })), 'b-ok',
   'x-ratelimit-remaining-tokens: 0 steers away too');

# an answer with room changes nothing

chat($port, { model => 'keep', messages => $hi }) for 1 .. 3;
is(mock_count($mock, 'e-room'), 3, 'a provider with room keeps serving');

# a reset it cannot read says nothing: "0 left" without a time to wait
# is not acted on, and the first candidate keeps serving

for my $i (1 .. 8) {
    chat($port, { model => "bad$i", messages => $hi }) for 1 .. 2;
    is(mock_count($mock, "f$i"), 2, "unreadable reset $i: not acted on");
}

like(slurp("$ng->{prefix}/steer.log"), qr/^steer b:200$/m,
     'the steered request made one attempt');
unlike(slurp("$ng->{prefix}/steer.log"), qr/:429/, 'no 429 anywhere');

done_testing();
