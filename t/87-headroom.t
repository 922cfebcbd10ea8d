#!/usr/bin/perl
#
# Provider headroom from the providers' own rate-limit headers: an answer
# that says nothing is left (OpenAI's x-ratelimit-remaining-requests or
# -tokens at 0, Anthropic's anthropic-ratelimit-*-remaining at 0) keeps
# requests off that provider until its reset, so a route steers to its
# next candidate before the first one answers 429; after the reset the
# first candidate serves again; an answer with room changes nothing.

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

like(slurp("$ng->{prefix}/steer.log"), qr/^steer b:200$/m,
     'the steered request made one attempt');
unlike(slurp("$ng->{prefix}/steer.log"), qr/:429/, 'no 429 anywhere');

done_testing();
