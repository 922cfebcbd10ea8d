#!/usr/bin/perl
# Attempts: retries of the same candidate with back-off (Retry-After,
# retry-after-ms and Gemini's retryDelay honoured up to a cap), statuses
# that are never retried, fallback to the next candidate in its own
# dialect, connect errors, the deadline, routes without a usable provider.
# Asserts on attempt counts, $llm_attempts and what the mocks received,
# never on wall-clock time.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json);

module_path();

my $KEY = 'sk-test-retries';
$ENV{LLM_T50_KEY} = $KEY;
delete $ENV{LLM_T50_ABSENT};

my $mock  = start_mock(key => $KEY);
my $mock2 = start_mock(key => $KEY);
my $dead  = free_port();   # nothing listens there

my $status_models = join '', map {
    "    llm_model s$_ provider=p1 'upstream_model=id=s$_,seq=$_;ok';\n"
} 400, 401, 403, 404, 413;

my $ng = start_nginx(<<"EOF", mock => $mock, mock2 => $mock2);
    log_format llm 'model=\$llm_model provider=\$llm_provider '
                   'upstream=\$llm_upstream_model status=\$status '
                   'attempts=\$llm_attempts error=\$llm_error '
                   'upstream_status=\$upstream_status';

    llm_provider p1 dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T50_KEY;
    llm_provider p2 dialect=openai url=http://127.0.0.1:%%MOCK2%%/v1 api_key=env:LLM_T50_KEY;
    llm_provider an dialect=anthropic url=http://127.0.0.1:%%MOCK2%%/v1 api_key=env:LLM_T50_KEY;
    llm_provider gm dialect=gemini url=http://127.0.0.1:%%MOCK%%/v1beta api_key=env:LLM_T50_KEY;
    llm_provider down dialect=openai url=http://127.0.0.1:$dead/v1 api_key=env:LLM_T50_KEY;
    llm_provider nokey dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T50_ABSENT optional;

    llm_retry tries=3 base=10ms cap=40ms;
    llm_retry_after_cap 3s;

    llm_model r429 provider=p1 'upstream_model=id=r429,seq=429;429;ok';
    llm_model r5xx provider=p1 'upstream_model=id=r5xx,seq=500;502;503;504;ok';
    llm_model r529 provider=p1 'upstream_model=id=r529,seq=529;ok';
    llm_model ra   provider=p1 'upstream_model=id=ra,seq=status:429|retry_after:1;ok';
    llm_model ra2  provider=p1 'upstream_model=id=ra2,seq=status:429|retry_after:2;ok';
    llm_model rams provider=p1 'upstream_model=id=rams,seq=status:503|retry_after_ms:70;ok';
    llm_model rabig provider=p1 'upstream_model=id=rabig,seq=status:429|retry_after:120;ok';
    llm_model always500 provider=p1 'upstream_model=id=always500,status=500';
    llm_model backup provider=p2 'upstream_model=id=backup,seq=ok';
    llm_model other provider=p2 'upstream_model=id=other,seq=ok';
    llm_model chain candidates=always500,backup;
    llm_model claude provider=an 'upstream_model=id=claude,fixture=anthropic/messages-text.response.json';
    llm_model oa-then-claude candidates=always500,claude;
    llm_model gem429 provider=gm 'upstream_model=id=gem429,fixture=google/error-429-resource-exhausted.json,status=429';
    llm_model gem-then-backup candidates=gem429,backup;
    llm_model gemok provider=gm 'upstream_model=id=gemok,fixture=google/text.response.json';
    llm_model gem-or-backup candidates=gemok,backup;
    llm_model gem-only candidates=gemok;
    llm_model unreachable provider=down upstream_model=x;
    llm_model down-then-backup candidates=unreachable,backup;
    llm_model hidden provider=nokey upstream_model=x;
    llm_model onlyhidden candidates=hidden;
    llm_model skiphidden candidates=hidden,backup;
    llm_alias nickname backup;
    llm_model hang provider=p1 'upstream_model=id=hang,hang=1';
    llm_model slow500 provider=p1 'upstream_model=id=slow500,status=500';
$status_models
    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%PREFIX%%/llm.log llm;

        location = /v1/chat/completions {
            llm_chat;
        }

        location = /deadline/v1/chat/completions {
            llm_chat;
            llm_deadline 300ms;
        }

        location = /slow/v1/chat/completions {
            llm_chat;
            llm_retry tries=5 base=2s cap=2s;
            llm_deadline 1s;
        }

        location = /short/v1/chat/completions {
            llm_chat;
            llm_read_timeout 300ms;
            llm_retry tries=2 base=10ms cap=10ms;
        }

        location /v1/models {
            llm_models;
        }
    }
EOF
my $port = $ng->port;
my @MSG = ({ role => 'user', content => 'hi' });

sub count { return mock_count(@_) }

# the access log line of the last request for $model
my %seen;
sub log_line { return next_log_line($ng->prefix . '/llm.log', $_[0], \%seen) }

sub ask {
    my ($model, $path) = @_;
    return http_post_json($port, $path // '/v1/chat/completions',
                          { model => $model, messages => \@MSG });
}

subtest '429, 429, then 200 on one provider' => sub {
    my $res = ask('r429');
    is($res->{status}, 200, 'status 200');
    is(decode_json($res->{content})->{model}, 'r429', 'the client model name');
    is(count($mock, 'r429'), 3, 'three requests reached the provider');
    like(log_line('r429'), qr/ attempts=p1:429,p1:429,p1:200 .* upstream_status=429 : 429 : 200$/,
         '$llm_attempts, $upstream_status');
};

subtest '500, 502, 503 are retried; after 3 tries the last error is the answer' => sub {
    my $res = ask('r5xx');
    is($res->{status}, 503, 'status 503 (no other candidate)');
    is(count($mock, 'r5xx'), 3, 'three tries');
    like(log_line('r5xx'), qr/ attempts=p1:500,p1:502,p1:503 /, '$llm_attempts');
    my $err = json_or_undef($res->{content});
    ok($err && $err->{error}{message}, 'an OpenAI error envelope');
};

subtest '529 (overloaded) is retried' => sub {
    is(ask('r529')->{status}, 200, 'status 200');
    is(count($mock, 'r529'), 2, 'two requests');
};

for my $st (400, 401, 403, 404, 413) {
    subtest "$st is never retried" => sub {
        my $res = ask("s$st");
        is($res->{status}, $st, "status $st");
        is(count($mock, "s$st"), 1, 'one request only');
        like(log_line("s$st"), qr/ attempts=p1:$st /, '$llm_attempts');
    };
}

subtest 'Retry-After is honoured' => sub {
    is(ask('ra')->{status}, 200, 'status 200 after the wait');
    is(count($mock, 'ra'), 2, 'two requests');
    like($ng->error_log, qr/\[warn\].*attempt 1 to provider "p1".*failed: 429; retrying in 1000 ms/,
         'waited the 1 s the provider asked for (warn log)');
};

subtest 'the one worker serves others during a back-off wait' => sub {
    my $s = raw_request($port, request_bytes('/v1/chat/completions', {
        model => 'ra2', messages => \@MSG }));
    ok(wait_for(sub { $ng->error_log =~ /model "id=ra2,.*retrying in 2000 ms/ }, 10),
       'the first request waits 2 s');
    is(ask('other')->{status}, 200, 'another request is served meanwhile');
    my ($early) = read_until($s, qr/./, 0);
    is($early, '', 'while the first is still waiting');
    my ($all) = read_until($s, qr/\r\n\r\n\{.*\}\n/s, 10);
    like($all, qr{^HTTP/1\.1 200 }, 'then it is answered');
    close $s;
};

subtest 'retry-after-ms is honoured' => sub {
    is(ask('rams')->{status}, 200, 'status 200');
    like($ng->error_log, qr/failed: 503; retrying in 70 ms/, 'waited 70 ms');
};

subtest 'a Retry-After beyond llm_retry_after_cap is not waited for' => sub {
    my $res = ask('rabig');
    is($res->{status}, 429, 'the 429 is the answer');
    is($res->{headers}{'retry-after'}, '120', "the provider's Retry-After is passed on");
    is(count($mock, 'rabig'), 1, 'no second request');
};

subtest 'fallback to the next candidate after the tries' => sub {
    my $res = ask('chain');
    is($res->{status}, 200, 'status 200');
    is(decode_json($res->{content})->{model}, 'backup', 'response model is the one that served');
    is(count($mock, 'always500'), 3, 'three tries on the first candidate');
    is(count($mock2, 'backup'), 1, 'then one on the second');
    like(log_line('chain'),
         qr/provider=p2 upstream=id=backup,seq=ok .*attempts=p1:500,p1:500,p1:500,p2:200 /,
         '$llm_provider is the one that served; $llm_attempts');
    like($ng->error_log, qr/\[warn\].*failed: 500; trying provider "p2"/, 'failover logged at warn');
};

subtest 'fallback from OpenAI to Anthropic rebuilds the body' => sub {
    my $res = ask('oa-then-claude');
    is($res->{status}, 200, 'status 200');
    my ($a) = grep { $_->{path} =~ m{/v1/messages$} } @{ mock_requests($mock2) };
    ok($a, 'the Anthropic mock got a Messages API request') or return;
    is($a->{body}{model}, 'id=claude,fixture=anthropic/messages-text.response.json', 'its model');
    ok(defined $a->{body}{max_tokens}, 'an Anthropic body (max_tokens set)');
    is($a->{headers}{'x-api-key'}, $KEY, 'Anthropic auth header');
    like(log_line('oa-then-claude'), qr/attempts=p1:500,p1:500,p1:500,an:200 /, '$llm_attempts');
};

subtest "Gemini's retryDelay counts as Retry-After" => sub {
    # retryDelay is 34 s, above the 3 s cap: not retried, next candidate at once
    my $res = ask('gem-then-backup');
    is($res->{status}, 200, 'status 200');
    is(count($mock, 'gem429'), 1, 'one Gemini request: its retryDelay was read');
    like(log_line('gem-then-backup'), qr/attempts=gm:429,p2:200 /, '$llm_attempts');
};

subtest "a candidate whose dialect cannot honour the request is skipped" => sub {
    my $res = http_post_json($port, '/v1/chat/completions',
                             { model => 'gem-or-backup', messages => \@MSG,
                               logprobs => JSON::PP::true });
    is($res->{status}, 200, 'served by the other candidate');
    like(log_line('gem-or-backup'), qr/attempts=p2:200 /, 'Gemini was never asked');
    is(count($mock, 'gemok'), 0, 'no Gemini request');
    $res = http_post_json($port, '/v1/chat/completions',
                          { model => 'gem-only', messages => \@MSG,
                            logprobs => JSON::PP::true });
    is($res->{status}, 400, 'no candidate can: the refusal');
    is(json_or_undef($res->{content})->{error}{param}, 'logprobs', 'naming the parameter');
};

subtest 'connect errors are retried, then the next candidate' => sub {
    my $res = ask('down-then-backup');
    is($res->{status}, 200, 'status 200');
    like(log_line('down-then-backup'), qr/attempts=down:error,down:error,down:error,p2:200 /,
         '$llm_attempts');
};

subtest 'a provider without its key is skipped and hidden' => sub {
    my $res = ask('skiphidden');
    is($res->{status}, 200, 'served by the other candidate');
    like(log_line('skiphidden'), qr/attempts=p2:200 /, 'the keyless provider was never tried');
    $res = ask('onlyhidden');
    is($res->{status}, 503, 'no candidate left: 503');
    is(json_or_undef($res->{content})->{error}{code}, 'provider_unavailable', 'a clear code');
    my $models = decode_json(http_get($port, '/v1/models')->{content});
    my %ids = map { $_->{id} => 1 } @{ $models->{data} };
    ok(!$ids{hidden} && !$ids{onlyhidden}, 'hidden from /v1/models');
    ok($ids{skiphidden} && $ids{chain} && $ids{nickname}, 'routes and aliases are listed');
};

subtest 'an alias' => sub {
    my $res = ask('nickname');
    is($res->{status}, 200, 'status 200');
    is(decode_json($res->{content})->{model}, 'backup', 'the model that served');
};

subtest 'the deadline bounds a silent provider' => sub {
    my $res = ask('hang', '/deadline/v1/chat/completions');
    is($res->{status}, 504, 'status 504');
    is(json_or_undef($res->{content})->{error}{code}, 'deadline_exceeded', 'code deadline_exceeded');
    like(log_line('hang'), qr/attempts=p1:deadline /, '$llm_attempts');
};

subtest 'a read timeout is retried' => sub {
    my $res = ask('hang', '/short/v1/chat/completions');
    is($res->{status}, 504, 'status 504 after the tries');
    is(json_or_undef($res->{content})->{error}{code}, 'upstream_timeout', 'code');
    like(log_line('hang'), qr/attempts=p1:timeout,p1:timeout /, '$llm_attempts');
};

subtest 'no back-off wait past the deadline' => sub {
    my $res = ask('slow500', '/slow/v1/chat/completions');
    # the next try would start after the deadline: the 500 is the answer
    is($res->{status}, 500, 'the provider error');
    is(count($mock, 'slow500'), 1, 'no retry');
};

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alert/crit in error.log');

done_testing;
