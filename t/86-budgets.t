#!/usr/bin/perl
#
# llm_budget: client budgets in shared memory.  Requests, tokens and
# spend per window, keyed by any variable; every limit of every budget
# must pass; an estimate is reserved before the provider is asked, so
# concurrent requests cannot overshoot, and the real usage settles it
# (streams, cut streams, cache hits); OpenAI's 429 errors, Retry-After
# and x-ratelimit-* headers on every answer; dry run; $llm_cost and
# $llm_budget_remaining; counters kept over a reload; nginx -t.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP qw(decode_json encode_json);
use Test::More;

module_path();

my $mock = start_mock();

my $ng = start_nginx(<<'EOF', mock => $mock);
    llm_budget_zone $http_x_key zone=reqs:1m requests=3/h;
    llm_budget_zone $http_x_team zone=team:1m requests=5/h;
    llm_budget_zone $http_x_key zone=sec:1m requests=2/s;
    llm_budget_zone $http_x_key zone=toks:1m tokens=1000/h;
    llm_budget_zone $http_x_key zone=money:1m spend=0.0001/d;
    llm_budget_zone $http_x_key zone=dry:1m requests=1/h;
    llm_budget_zone $http_x_key zone=hourly:1m requests=1/h;
    llm_cache_zone zone=cache:1m;
    llm_metrics zone=metrics:1m;
    llm_retry off;

    llm_provider oai dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;
    llm_model demo provider=oai upstream_model=id=demo
              price_in=0.5 price_out=1;
    llm_model slow provider=oai upstream_model=id=slow,header_delay_ms=600;
    llm_model long provider=oai upstream_model=id=long,events=40,delay_ms=50;
    llm_model coal provider=oai upstream_model=id=coal,events=8,delay_ms=80;

    # an answer with 800k of its 1M prompt tokens read from the cache
    llm_model cached-price provider=oai price_in=2 price_cached=0.5
              price_out=8 'upstream_model=id=cp,body={"id":"chatcmpl-cp","object":"chat.completion","created":1,"model":"cp","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1000000,"completion_tokens":100000,"total_tokens":1100000,"prompt_tokens_details":{"cached_tokens":800000}}}';
    llm_model no-cached-price provider=oai price_in=2 price_out=8
              'upstream_model=id=ncp,body={"id":"chatcmpl-cp","object":"chat.completion","created":1,"model":"cp","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1000000,"completion_tokens":100000,"total_tokens":1100000,"prompt_tokens_details":{"cached_tokens":800000}}}';
    llm_budget_zone $http_x_key:$llm_model zone=permodel:1m requests=1/h;
    llm_budget_zone $http_x_key zone=kinds:1m prompt_tokens=2000/m
                    completion_tokens=300/month;

    log_format budget '$http_x_key $status $llm_error $llm_cost '
                      '$llm_budget_remaining';

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%PREFIX%%/budget.log budget;

        location = /reqs/v1/chat/completions { llm_chat; llm_budget reqs; }
        location = /team/v1/chat/completions {
            llm_chat;
            llm_budget reqs;
            llm_budget team;
        }
        location = /sec/v1/chat/completions { llm_chat; llm_budget sec; }
        location = /toks/v1/chat/completions { llm_chat; llm_budget toks; }
        location = /cached/v1/chat/completions {
            llm_chat;
            llm_budget toks;
            llm_cache cache;
        }
        location = /money/v1/chat/completions { llm_chat; llm_budget money; }
        location = /coal/v1/chat/completions {
            llm_chat;
            llm_budget toks;
            llm_cache cache;
            llm_cache_lock on;
        }
        location = /hourly/v1/chat/completions {
            llm_chat;
            llm_budget hourly;
        }
        location = /metrics { llm_metrics_export; }
        location = /budget {
            llm_budget_info;
            llm_budget reqs;
            llm_budget money;
            llm_budget dry dry_run;
        }
        location = /kinds/v1/chat/completions { llm_chat; llm_budget kinds; }
        location = /kinds-info { llm_budget_info; llm_budget kinds; }
        location = /permodel/v1/chat/completions {
            llm_chat;
            llm_budget permodel;
        }
        location = /dry/v1/chat/completions {
            llm_chat;
            llm_budget dry dry_run;
        }
    }
EOF

my $port = $ng->{port};
my $JSON = JSON::PP->new->canonical;

sub ask {
    my ($path, $body, %h) = @_;
    return http_post_json($port, "$path/v1/chat/completions",
                          ref $body ? $JSON->encode($body) : $body, %h);
}

sub hello { return { model => 'demo', messages => [{ role => 'user',
                                                     content => $_[0] }] } }

# --- requests per minute, and the headers of every answer

my @r = map { ask('/reqs', hello('Hi'), 'X-Key' => 'k1') } 1 .. 4;
is(join(',', map { $_->{status} } @r), '200,200,200,429',
   'requests=3/h: the fourth is refused');
is(join(',', map { $_->{headers}{'x-ratelimit-limit-requests'} // '' } @r),
   '3,3,3,3', 'x-ratelimit-limit-requests on every answer, 429 too');
is(join(',', map { $_->{headers}{'x-ratelimit-remaining-requests'} // '' }
             @r), '2,1,0,0', 'x-ratelimit-remaining-requests counts down');
like($r[0]{headers}{'x-ratelimit-reset-requests'} // '',
     qr/^(\d+h)?(\d+m)?\d+s$/,
     'x-ratelimit-reset-requests is a duration, as OpenAI writes it');
my $err = is_openai_error($r[3], 429, 'requests', 'rate_limit_exceeded',
                          'null', 'the 429 is an OpenAI rate limit error');
like($err->{message} // '', qr/Rate limit reached for requests/,
     'it says which limit');
ok(($r[3]{headers}{'retry-after'} // 0) >= 1
   && $r[3]{headers}{'retry-after'} <= 3600,
   'Retry-After: the window\'s end');
is(ask('/reqs', hello('Hi'), 'X-Key' => 'k2')->{status}, 200,
   'another key has its own count');
is(join(',', map { ask('/reqs', hello('Hi'))->{status} } 1 .. 4),
   '200,200,200,200', 'no key: not counted (as limit_req)');
like(slurp("$ng->{prefix}/budget.log"), qr/^k1 429 rate_limit_exceeded /m,
     '$llm_error logs the refusal');

# --- every budget must pass: per key and per team

my @t = (
    ask('/team', hello('T'), 'X-Key' => 'ta', 'X-Team' => 'red'),
    ask('/team', hello('T'), 'X-Key' => 'ta', 'X-Team' => 'red'),
    ask('/team', hello('T'), 'X-Key' => 'ta', 'X-Team' => 'red'),
    ask('/team', hello('T'), 'X-Key' => 'ta', 'X-Team' => 'red'),
    ask('/team', hello('T'), 'X-Key' => 'tb', 'X-Team' => 'red'),
    ask('/team', hello('T'), 'X-Key' => 'tb', 'X-Team' => 'red'),
    ask('/team', hello('T'), 'X-Key' => 'tb', 'X-Team' => 'red'),
);
is(join(',', map { $_->{status} } @t), '200,200,200,429,200,200,429',
   "a key's limit, then its team's: both must pass");
is($t[6]{headers}{'x-ratelimit-remaining-requests'}, 0,
   'the tightest limit is the one reported');

# --- a window of a second

# (the three at the start of a second, so that they share it)
my $t0 = time();
select(undef, undef, undef, 0.005) while time() == $t0;
is(join(',', map { ask('/sec', hello('S'), 'X-Key' => 's')->{status} }
             1 .. 3), '200,200,429', 'requests=2/s');
sleep 2;                            # a later second
is(ask('/sec', hello('S'), 'X-Key' => 's')->{status}, 200,
   'the next window starts afresh');

# --- tokens: reserved before, settled after

# the estimate: the body's bytes / 4, plus max_tokens
my $slow = { model => 'slow', max_tokens => 400,
             messages => [{ role => 'user', content => 'Tokens please' }] };
my $est = int(length($JSON->encode($slow)) / 4) + 400;

my @c = concurrently(6, sub {
    ask('/toks', $slow, 'X-Key' => 'conc')->{status} });
is(scalar(grep { $_ == 200 } @c), int(1000 / $est),
   "six at once against tokens=1000/h: as many as the estimate ($est) "
   . 'allows, no more');
is(scalar(grep { $_ == 429 } @c), 6 - int(1000 / $est), 'the others 429');

my $after = ask('/toks', $slow, 'X-Key' => 'conc');
is($after->{status}, 200,
   'settled on the real usage, the reservations gone: room again');
my $left = $after->{headers}{'x-ratelimit-remaining-tokens'};
my $used = 1000 - $est - $left;
ok($used > 0 && $used < 100,
   "what the two answers used is counted ($used tokens), not their estimate");

# a stream is settled on its usage too
my $s = ask('/toks', { model => 'demo', max_tokens => 50, stream => \1,
                       stream_options => { include_usage => \1 },
                       messages => [{ role => 'user', content => 'Hello' }] },
            'X-Key' => 'st');
my ($chunks) = sse_json($s->{content});
my $usage = $chunks->[-1]{usage}{total_tokens};
my $next = { model => 'demo', max_tokens => 50,
             messages => [{ role => 'user', content => 'Again' }] };
my $nx = ask('/toks', $next, 'X-Key' => 'st');
is(1000 - $nx->{headers}{'x-ratelimit-remaining-tokens'}
        - (int(length($JSON->encode($next)) / 4) + 50),
   $usage, "a stream is counted at its usage ($usage tokens)");

# a stream the client leaves: the prompt's estimate and what was produced
my $long = { model => 'long', max_tokens => 900, stream => \1,
             messages => [{ role => 'user', content => 'Long' }] };
my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port")
    or die "connect: $!";
my $lb = $JSON->encode($long);
print $sock "POST /toks/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
    . "X-Key: cut\r\nContent-Type: application/json\r\nContent-Length: "
    . length($lb) . "\r\n\r\n$lb";
my $got = '';
while ($got !~ /tok5 /) {
    last unless sysread($sock, $got, 4096, length $got);
}
close $sock;
ok(wait_for(sub { slurp("$ng->{prefix}/budget.log") =~ /^cut 200 /m }, 10),
   'the cut stream ended');
$nx = ask('/toks', $next, 'X-Key' => 'cut');
$used = 1000 - $nx->{headers}{'x-ratelimit-remaining-tokens'}
        - (int(length($JSON->encode($next)) / 4) + 50);
my $long_est = int(length($lb) / 4) + 900;
ok($used > int(length($lb) / 4) && $used < $long_est,
   "a cut stream counts its prompt and what it produced ($used tokens, "
   . "estimate $long_est)");

# a cache hit asks no provider: no tokens
my $cq = { model => 'demo', max_tokens => 50,
           messages => [{ role => 'user', content => 'Cached?' }] };
my $c1 = ask('/cached', $cq, 'X-Key' => 'hit');
my $c2 = ask('/cached', $cq, 'X-Key' => 'hit');
my $c3 = ask('/cached', $cq, 'X-Key' => 'hit');
is($c2->{headers}{'x-llm-cache'}, 'HIT', 'a cache hit');
is($c3->{headers}{'x-ratelimit-remaining-tokens'},
   $c2->{headers}{'x-ratelimit-remaining-tokens'},
   'a hit spends no provider tokens');

# coalesced waiters, fed the leader's stream live, spend nothing either
my $co = { model => 'coal', max_tokens => 50, stream => \1,
           stream_options => { include_usage => \1 },
           messages => [{ role => 'user', content => 'Together' }] };
my @co = concurrently(3, sub {
    ask('/coal', $co, 'X-Key' => 'co')->{status} });
is(join(',', @co), '200,200,200', 'three identical streams, coalesced');
$nx = ask('/toks', $next, 'X-Key' => 'co');
$used = 1000 - $nx->{headers}{'x-ratelimit-remaining-tokens'}
        - (int(length($JSON->encode($next)) / 4) + 50);
my ($one_chunks) = sse_json(ask('/toks', $co, 'X-Key' => 'co-alone')->{content});
is($used, $one_chunks->[-1]{usage}{total_tokens},
   "only the one that asked the provider spent tokens ($used)");

# --- spend, at the model's prices

my $spent = 0;
my $refused;
for (1 .. 30) {
    my $m = ask('/money', { model => 'demo', max_tokens => 5,
                            messages => [{ role => 'user',
                                           content => 'Cheap' }] },
                'X-Key' => 'm');
    if ($m->{status} == 429) {
        $refused = $m;
        last;
    }
    $spent++;
}
ok($spent >= 3, "spend=0.0001/d: $spent answers fit");
is_openai_error($refused, 429, 'insufficient_quota', 'insufficient_quota',
                'null', 'then insufficient_quota') if $refused;
ok($refused, 'the spend budget ran out');

my ($cost_line) = grep { /^m 200 / } split /\n/,
                  slurp("$ng->{prefix}/budget.log");
my ($cost) = ($cost_line // '') =~ /^m 200 - (\S+) /;
my $one = ask('/reqs', { model => 'demo', max_tokens => 5,
                         messages => [{ role => 'user', content => 'Cheap' }] });
my $u = decode_json($one->{content})->{usage};
is($cost, sprintf('%.10f', $u->{prompt_tokens} * 0.5e-6
                           + $u->{completion_tokens} * 1e-6),
   '$llm_cost: the usage at the model\'s prices');
like(slurp("$ng->{prefix}/budget.log"),
     qr/^k1 200 - \S+ requests=2$/m, '$llm_budget_remaining');

# cached prompt tokens at price_cached=, the rest at price_in=

ask('/reqs', { model => 'cached-price', messages => [{ role => 'user',
                                                       content => 'C' }] },
    'X-Key' => 'pc1');
ask('/reqs', { model => 'no-cached-price', messages => [{ role => 'user',
                                                          content => 'C' }] },
    'X-Key' => 'pc2');
wait_for(sub { slurp("$ng->{prefix}/budget.log") =~ /^pc2 /m });
like(slurp("$ng->{prefix}/budget.log"), qr/^pc1 200 - 1\.6000000000 /m,
     '$llm_cost: 200k prompt tokens at 2, 800k cached at 0.5, 100k out at 8');
like(slurp("$ng->{prefix}/budget.log"), qr/^pc2 200 - 2\.8000000000 /m,
     'no price_cached=: cached prompt tokens at price_in=');

# a budget per key and model: the key's variable names the model

sub model_hello { return { model => $_[0], messages => [{ role => 'user',
                                                          content => 'M' }] } }
is(join(',', map { ask('/permodel', model_hello($_), 'X-Key' => 'pm')
                   ->{status} } qw(demo demo slow slow)),
   '200,429,200,429', 'requests=1/h per key and model: each model counts '
   . 'on its own');

# --- dry run

is(join(',', map { ask('/dry', hello('D'), 'X-Key' => 'd')->{status} }
             1 .. 3), '200,200,200', 'dry_run: nothing refused');
like($ng->error_log, qr/llm_budget "dry" would refuse this request/,
     'but logged');

# --- a client reads what it has left

my $info = http_get($port, '/budget', 'X-Key' => 'k1');
is($info->{status}, 200, 'llm_budget_info answers');
my $b = json_or_undef($info->{content}) // {};
is($b->{object}, 'budget', 'an object of its own');
is(join(',', map { $_->{name} } @{ $b->{budgets} // [] }), 'reqs,money,dry',
   "each of the location's budgets");
is_deeply([ map { my %l = %$_; delete $l{reset_seconds}; \%l }
            @{ $b->{budgets}[0]{limits} } ],
          [{ type => 'requests', window => '1h', limit => 3, used => 3,
             reserved => 0, remaining => 0 }],
          "the key's requests: 3 of 3 used");
ok($b->{budgets}[0]{limits}[0]{reset_seconds} > 0
   && $b->{budgets}[0]{limits}[0]{reset_seconds} <= 3600,
   'and when its window ends');
is($b->{budgets}[1]{limits}[0]{type}, 'spend', 'spend');
is($b->{budgets}[1]{limits}[0]{limit}, 0.0001, 'in USD');
is($b->{budgets}[1]{limits}[0]{remaining}, 0.0001, 'all of it left: k1 '
   . 'spent nothing at prices it has not got');
ok($b->{budgets}[2]{dry_run}, 'a dry run says so');
unlike($info->{content}, qr/k1/, 'the key itself is never shown');
is(json_or_undef(http_get($port, '/budget', 'X-Key' => 'nobody')->{content})
   ->{budgets}[0]{limits}[0]{remaining}, 3, 'a key never seen has it all');
is(http_post_json($port, '/budget', {})->{status}, 405, 'GET only');

# prompt and completion tokens, per minute and per calendar month (not
# begun in a minute's last seconds: all of it in one minute)

sleep 1 while time() % 60 > 50;
my $k1 = ask('/kinds', { model => 'demo', max_tokens => 50,
                         messages => [{ role => 'user', content => 'Hi' }] },
             'X-Key' => 'kinds');
is($k1->{status}, 200, 'prompt_tokens=2000/m completion_tokens=300/month');
my $ku = decode_json($k1->{content})->{usage};
my $kl = json_or_undef(http_get($port, '/kinds-info', 'X-Key' => 'kinds')
                       ->{content})->{budgets}[0]{limits};
is_deeply([ map { "$_->{type}/$_->{window}:$_->{used}" } @$kl ],
          [ "prompt_tokens/1m:$ku->{prompt_tokens}",
            "completion_tokens/month:$ku->{completion_tokens}" ],
          'each counts its own part of the usage');
is(ask('/kinds', { model => 'demo', max_tokens => 300,
                   messages => [{ role => 'user', content => 'Hi' }] },
       'X-Key' => 'kinds')->{status}, 429,
   'an answer that could pass the completion tokens left: 429');
is(ask('/kinds', { model => 'demo', max_tokens => 5,
                   messages => [{ role => 'user', content => 'x' x 8400 }] },
       'X-Key' => 'kinds')->{status}, 429,
   'a prompt larger than the prompt tokens left: 429');
is(ask('/kinds', { model => 'demo', max_tokens => 5,
                   messages => [{ role => 'user', content => 'Hi' }] },
       'X-Key' => 'kinds')->{status}, 200, 'a small one passes');

# --- the refusals, for Prometheus

my $exposition = http_get($port, '/metrics')->{content};
my %metric = map { /^(\S+) (\S+)$/ ? ($1 => $2) : () } split /\n/, $exposition;
is($metric{'llm_budget_refused_total{zone="reqs",limit="requests",mode="refused"}'},
   2, 'llm_budget_refused_total counts the refusals per zone and limit');
is($metric{'llm_budget_refused_total{zone="team",limit="requests",mode="refused"}'},
   1, '... of each zone');
is($metric{'llm_budget_refused_total{zone="dry",limit="requests",mode="dry_run"}'},
   2, '... and what a dry run would have refused');
is($metric{'llm_budget_refused_total{zone="money",limit="spend",mode="refused"}'},
   1, '... spend too');
{
    my $dir = tempdir(CLEANUP => 1);
    open my $fh, '>', "$dir/m.txt" or die;
    print $fh $exposition;
    close $fh;
    my $lint = `promtool check metrics < '$dir/m.txt' 2>&1`;
    is($?, 0, 'promtool check metrics passes') or diag($lint);
}

# --- counters survive a reload

is(join(',', map { ask('/hourly', hello('H'), 'X-Key' => 'h')->{status} }
             1 .. 2), '200,429', 'requests=1/h');

if (!$ng->{valgrind}) {
    ok($ng->reload, 'nginx reloaded');
    is(ask('/hourly', hello('H'), 'X-Key' => 'h')->{status}, 429,
       'the counts are kept over a reload');
}

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]|exited on signal/,
       'no alerts, no crashes');

$ng->stop;

# --- nginx -t

for my $t (
    [ 'server { listen 127.0.0.1:%%PORT%%; location / { llm_budget nope; } }',
      qr/no llm_budget_zone of that name/ ],
    [ 'llm_budget_zone $http_x zone=a:1m tokens=abc/h;',
      qr/invalid parameter "tokens=abc\/h"/ ],
    [ 'llm_budget_zone $http_x zone=a:1m requests=5/w;',
      qr/invalid parameter/ ],
    [ 'llm_budget_zone $http_x zone=a:1m;', qr/needs a limit/ ],
    [ 'llm_budget_zone $http_x requests=5/m;', qr/needs zone=/ ],
    [ 'llm_budget_zone $http_x zone=a:1m requests=5/m; llm_budget a maybe;',
      qr/invalid parameter "maybe"/ ],
) {
    my ($rc, $out) = nginx_test_config($t->[0]);
    ok($rc != 0 && $out =~ $t->[1], "nginx -t refuses: $t->[0]")
        or diag($out);
}

my ($rc, $out) = nginx_test_config(
    'llm_budget_zone $http_x_key$llm_model zone=a:1m requests=60/m '
    . 'tokens=100000/h prompt_tokens=50000/h completion_tokens=5000/h '
    . 'spend=2.5/d spend=50/month; llm_budget a; llm_budget a dry_run;');
is($rc, 0, 'nginx -t takes every limit kind and window') or diag($out);

done_testing();
