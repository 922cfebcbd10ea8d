#!/usr/bin/perl
#
# Provider limits: configured rpm= and tpm= of a provider or of one of its
# models, counted by all workers in a sliding minute, and the headroom a
# provider's own headers report, checked against what each request needs
# (a request, its prompt, its max_tokens).  An attempt holds its share
# from the moment it is chosen, so concurrent requests see each other; a
# route steers to its next candidate before the first answers 429; when
# no candidate has headroom the request waits on a timer, bounded by
# llm_deadline (or llm_retry_after_cap), or gets a 429 with Retry-After.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use IO::Socket::INET;
use JSON::PP qw(decode_json);
use Test::More;

module_path();

my $mock = start_mock();

my $ng = start_nginx(<<'EOF', mock => $mock);
    llm_health zone=health:1m;
    llm_retry off;

    llm_provider a dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;
    llm_provider b dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;
    llm_provider r dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 rpm=2;
    llm_provider t dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 tpm=1000;
    llm_provider w dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;

    llm_model b-ok provider=b upstream_model=id=b-ok;

    # the provider's headers: 500 tokens left for a minute
    llm_model a-tok provider=a
              upstream_model=id=a-tok,rl_tokens=500,rl_reset=60;
    llm_model thresh candidates=a-tok,b-ok;

    # the provider's headers: 2 requests left, answers that take a while
    llm_model a-two provider=a
              upstream_model=id=a-two,rl_requests=2,rl_reset=60,header_delay_ms=800;
    llm_model two candidates=a-two,b-ok;

    # configured: 2 requests a minute for provider r, 1 for model r-one
    llm_model r-rpm provider=r upstream_model=id=r-rpm;
    llm_model by-rpm candidates=r-rpm,b-ok;
    llm_model b-one provider=b upstream_model=id=b-one rpm=1;
    llm_model by-model candidates=b-one,b-ok;
    llm_model solo provider=b upstream_model=id=solo rpm=1;

    # configured: 1000 tokens a minute for provider t
    llm_model t-tpm provider=t upstream_model=id=t-tpm,header_delay_ms=800;
    llm_model by-tpm candidates=t-tpm,b-ok;

    # the only candidate, out of requests for 2 s after each answer
    llm_model w-none provider=w
              upstream_model=id=w-none,rl_requests=0,rl_reset=2;

    log_format steer '$llm_model $status $llm_attempts';

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%PREFIX%%/steer.log steer;
        location = /v1/chat/completions { llm_chat; }

        location = /wait/v1/chat/completions { llm_chat; llm_deadline 10s; }
        location = /nowait/v1/chat/completions { llm_chat; llm_deadline 1s; }
        location = /cap/v1/chat/completions {
            llm_chat;
            llm_retry_after_cap 1s;
        }
    }
EOF

my $port = $ng->{port};

sub ask {
    my ($model, %o) = @_;
    my $path = delete $o{path} // '';
    return http_post_json($port, "$path/v1/chat/completions",
                          { model => $model, %o,
                            messages => [{ role => 'user',
                                           content => 'Hi' }] });
}

sub served { return (json_or_undef($_[0]{content}) // {})->{model} // '' }

# --- the headers' tokens: a request that needs more than is left goes on

is(served(ask('thresh', max_tokens => 10)), 'a-tok',
   'the first candidate answers: 500 tokens left');
is(served(ask('thresh', max_tokens => 1000)), 'b-ok',
   'a request whose max_tokens is more than what is left goes to the next');
is(served(ask('thresh', max_tokens => 10)), 'a-tok',
   'a small one still fits');
is(mock_count($mock, 'a-tok'), 2, 'no request went where it could not fit');

# --- the headers' requests, held by requests in flight

is(served(ask('two')), 'a-two', 'its answer says 2 requests are left');
my @two = concurrently(4, sub { served(ask('two')) });
is(scalar(grep { $_ eq 'a-two' } @two), 2,
   'four at once: the two that are left go to it');
is(scalar(grep { $_ eq 'b-ok' } @two), 2, 'the other two to the next');

# --- configured requests per minute

is(join(',', map { served(ask('by-rpm')) } 1 .. 3), 'r-rpm,r-rpm,b-ok',
   "rpm=2 of the provider: the third goes to the next candidate");
is(mock_count($mock, 'r-rpm'), 2, 'the provider got no more than 2');
is(join(',', map { served(ask('by-model')) } 1 .. 2), 'b-one,b-ok',
   'rpm=1 of a model');

# --- configured tokens per minute, held while in flight, then settled

my @tpm = concurrently(4, sub { served(ask('by-tpm', max_tokens => 400)) });
is(scalar(grep { $_ eq 't-tpm' } @tpm), 2,
   'tpm=1000, four at once needing some 410 each: two fit');
is(scalar(grep { $_ eq 'b-ok' } @tpm), 2, 'the others went on');
is(served(ask('by-tpm', max_tokens => 400)), 't-tpm',
   'their real usage is counted, not what they held: room again');

# --- the waiting path: the last candidate without headroom

my $w1 = ask('w-none', path => '/wait');
is($w1->{status}, 200, 'the only candidate answers: no requests left for 2 s');

my $no = ask('w-none', path => '/nowait');
is_openai_error($no, 429, undef, 'rate_limit_exceeded', undef,
                'a wait past llm_deadline: 429 at once');
ok(($no->{headers}{'retry-after'} // 0) >= 1
   && $no->{headers}{'retry-after'} <= 2, 'Retry-After: its reset');
like($no->{content}, qr/at its rate limit/, 'it says why');

my $cap = ask('w-none', path => '/cap');
is($cap->{status}, 429, 'no deadline: llm_retry_after_cap bounds the wait');
is(mock_count($mock, 'w-none'), 1, 'neither went to the provider');

my $w2 = ask('w-none', path => '/wait');
is($w2->{status}, 200, 'within the deadline: the request waits');
is(served($w2), 'w-none', 'and is served once the provider has room');
is(mock_count($mock, 'w-none'), 2, 'one request upstream');
my $waited = 'no provider of model "w-none" has headroom for this '
           . 'request, waiting \d+ ms';
like($ng->error_log, qr/$waited/, 'the log says it waited');

# a client that leaves while it waits

my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die $!;
my $body = '{"model":"w-none","messages":[{"role":"user","content":"Hi"}]}';
print $s "POST /wait/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
       . "Content-Type: application/json\r\nContent-Length: "
       . length($body) . "\r\n\r\n$body";
sleep 0.3;
close $s;
sleep 2.5;
is(mock_count($mock, 'w-none'), 2, 'a client that left during the wait: '
   . 'nothing went upstream for it');
is(ask('w-none', path => '/wait')->{status}, 200, 'the next is served');

# configured limits wait and refuse the same way

is(ask('solo')->{status}, 200, 'rpm=1: the first');
my $solo = ask('solo', path => '/nowait');
is($solo->{status}, 429, 'the second within the minute: 429');
ok(($solo->{headers}{'retry-after'} // 0) >= 1
   && $solo->{headers}{'retry-after'} <= 61,
   'Retry-After: when the sliding minute has room');

unlike(slurp("$ng->{prefix}/steer.log"), qr/:429/, 'no provider said 429');
unlike($ng->error_log, qr/\[(alert|crit|emerg)\]/, 'no alerts');

# --- nginx -t

my %bad = (
    'rpm=0' => [ 'llm_health zone=h:1m;
                  llm_provider p dialect=openai url=http://127.0.0.1:1 rpm=0;',
                 qr/invalid "rpm=0" in llm_provider "p"/ ],
    'tpm=x' => [ 'llm_health zone=h:1m;
                  llm_provider p dialect=openai url=http://127.0.0.1:1;
                  llm_model m provider=p tpm=x;',
                 qr/invalid "tpm=x" in llm_model "m"/ ],
    'a route' => [ 'llm_health zone=h:1m;
                    llm_provider p dialect=openai url=http://127.0.0.1:1;
                    llm_model m provider=p;
                    llm_model r candidates=m rpm=5;',
                   qr/takes either provider= or candidates=/ ],
    'no zone' => [ 'llm_provider p dialect=openai url=http://127.0.0.1:1
                    tpm=100;',
                   qr/llm_provider "p" has rpm= or tpm=, which need an llm_health zone/ ],
    'no zone, model' => [ 'llm_provider p dialect=openai url=http://127.0.0.1:1;
                           llm_model m provider=p rpm=3;',
                          qr/llm_model "m" has rpm= or tpm=, which need an llm_health zone/ ],
);

for my $name (sort keys %bad) {
    my ($rc, $out) = nginx_test_config($bad{$name}[0]);
    isnt($rc, 0, "nginx -t refuses $name");
    like($out, $bad{$name}[1], "... and says why ($name)");
}

done_testing();
