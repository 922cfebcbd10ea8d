#!/usr/bin/perl
#
# llm_cache: the mock's request counts prove each point.  A repeat makes
# no upstream request; a stream and a whole answer serve each other;
# what cannot change the answer is left out of the key and what can is
# in it; scopes never share; Cache-Control no-store, no-cache, max-age;
# llm_cache_bypass, llm_no_cache, llm_cache_client_control; expiry;
# eviction in a tiny zone; errors, truncated streams, abandoned streams
# and oversized answers are never kept; with llm_cache_lock, concurrent
# identical requests make one upstream request (in one worker and in
# two), stream waiters are fed the leader's stream live, a failed leader
# hands over, a lock timeout lets waiters go; entries survive a reload;
# the official OpenAI SDK reads hits (tool calls too); nginx -t refuses
# bad configurations.

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

my $conf = <<'EOF';
    llm_metrics zone=llm_metrics:1m;
    llm_cache_zone zone=cache:1m;
    llm_cache_zone zone=tiny:32k;
    llm_cache_zone zone=small:1m max_entry=2k;
    llm_retry off;

    llm_provider oai dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;
    llm_provider ant dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1;

    llm_model demo provider=oai upstream_model=id=demo;
    llm_model other provider=oai upstream_model=id=other;
    llm_model claude provider=ant upstream_model=id=claude;
    llm_model tools provider=oai
              upstream_model=id=tools,fixture=openai/chat-tool-call.stream.sse;
    llm_model fails provider=oai upstream_model=id=fails,status=500;
    llm_model cut provider=oai upstream_model=id=cut,events=10,cut_after=4;
    llm_model slow provider=oai upstream_model=id=slow,events=40,delay_ms=50;
    llm_model echo provider=oai upstream_model=id=echo,echo=1;
    llm_model coal provider=oai upstream_model=id=coal,delay_ms=40;
    llm_model coal2 provider=oai
              upstream_model=id=coal2,events=6,delay_ms=100;
    llm_model lead provider=oai
              'upstream_model=id=lead,seq=status:500|header_delay_ms:400;header_delay_ms:400';
    llm_model late provider=oai upstream_model=id=late,header_delay_ms=1500;
    llm_model leave provider=oai upstream_model=id=leave,header_delay_ms=800;
    llm_model pair candidates=demo,other;
    llm_model emb provider=oai type=embedding upstream_model=id=emb;
    llm_model emb-b provider=oai type=embedding batch=2 upstream_model=id=embb;

    log_format cache '$llm_model $llm_cache_status [$llm_attempts] '
                     '$llm_total_tokens';

    map $http_x_skip $skip { default ""; yes 1; }

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%PREFIX%%/cache.log cache;

        llm_cache cache;
        llm_cache_bypass $skip;
        llm_no_cache $http_x_no_store;

        location = /v1/chat/completions { llm_chat; }

        location = /short/v1/chat/completions {
            llm_chat;
            llm_cache_valid 1s;
        }

        location = /tiny/v1/chat/completions { llm_chat; llm_cache tiny; }
        location = /small/v1/chat/completions { llm_chat; llm_cache small; }
        location = /off/v1/chat/completions { llm_chat; llm_cache off; }

        location = /brief/v1/chat/completions {
            llm_chat;
            llm_prepend_message system "Be brief.";
        }

        location = /team/v1/chat/completions {
            llm_chat;
            llm_cache_scope $http_x_team;
        }

        location = /public/v1/chat/completions {
            llm_chat;
            llm_cache_scope "";
        }

        location = /noclient/v1/chat/completions {
            llm_chat;
            llm_cache_client_control off;
        }

        location = /lock/v1/chat/completions {
            llm_chat;
            llm_cache_lock on;
        }

        location = /lockfast/v1/chat/completions {
            llm_chat;
            llm_cache_lock on;
            llm_cache_lock_timeout 300ms;
        }

        location = /v1/embeddings { llm_embeddings; }
        location = /v1/messages { llm_messages; }
        location = /metrics { llm_cache off; llm_metrics_export; }
    }
EOF

my $ng = start_nginx($conf, mock => $mock);
my $port = $ng->{port};
my $n = 0;

# a fresh question each time, so that tests do not meet each other's
sub question { return [{ role => 'user', content => 'Question ' . ++$n }] }

sub ask {
    my ($path, $body, %h) = @_;
    return http_post_json($port, "$path/v1/chat/completions", $body, %h);
}

sub cache_of { return $_[0]{headers}{'x-llm-cache'} // '' }

sub content_of {
    my $j = eval { decode_json($_[0]{content}) } or return undef;
    return $j->{choices}[0]{message}{content};
}

# --- a repeat makes no upstream request; stream and whole serve each other

my $q = question();
my $r1 = ask('', { model => 'demo', messages => $q });
my $r2 = ask('', { model => 'demo', messages => $q });

is(cache_of($r1), 'MISS', 'the first answer is a MISS');
is(cache_of($r2), 'HIT', 'the repeat is a HIT');
is(mock_count($mock, 'demo'), 1, 'a repeat makes no upstream request');
is($r2->{content}, $r1->{content}, 'a hit is the same object');
is($r2->{headers}{age}, '0', 'a fresh hit is Age: 0');
ok(!defined $r1->{headers}{age}, 'a miss has no Age');

my ($s, $chunks, $done) = chat_stream($port, 'demo', $q, 1);
is(cache_of($s), 'HIT', 'a stream is served from the whole answer');
ok($done, 'the stream hit ends with [DONE]');
like($s->{content}, qr/\}\n\ndata: \[DONE\]\n\n\z/,
     'and nothing after it, as a provider ends a stream');
is($s->{headers}{'content-type'}, 'text/event-stream',
   'the stream hit is an event stream');
is($s->{headers}{'x-accel-buffering'}, 'no',
   'the stream hit is not buffered on the way');
my $acc = accumulate_stream($chunks);
is($acc->{choices}[0]{message}{content}, content_of($r1),
   'the stream hit has the content');
is($acc->{choices}[0]{finish_reason}, 'stop', 'and the finish reason');
is($chunks->[0]{choices}[0]{delta}{role}, 'assistant',
   'it starts with the role chunk');
is_deeply($chunks->[-1]{usage}, decode_json($r1->{content})->{usage},
          'the usage chunk carries the original usage');
is($chunks->[-1]{model}, 'demo', "the client's model name");
is(mock_count($mock, 'demo'), 1, 'still one upstream request');

($s, $chunks, $done) = chat_stream($port, 'demo', $q, 0);
ok(!grep({ $_->{usage} } @$chunks),
   'no usage chunk when the client did not ask for it');

$q = question();
($s, $chunks, $done) = chat_stream($port, 'claude', $q, 1);
is(cache_of($s), 'MISS', 'a translated stream is a MISS');
my $streamed = accumulate_stream($chunks)->{choices}[0]{message}{content};
$r1 = ask('', { model => 'claude', messages => $q });
is(cache_of($r1), 'HIT', 'a whole answer is served from the stream');
is(content_of($r1), $streamed, 'with the content the stream had');
is(decode_json($r1->{content})->{usage}{total_tokens},
   $chunks->[-1]{usage}{total_tokens}, 'and its usage');
is(mock_count($mock, 'claude'), 1, 'one upstream request for both');

my $exposition = http_get($port, '/metrics')->{content};
my %metric = map { /^(\S+) (\S+)$/ ? ($1 => $2) : () }
             split /\n/, $exposition;
{
    my $dir = tempdir(CLEANUP => 1);
    open my $fh, '>', "$dir/metrics.txt" or die;
    print $fh $exposition;
    close $fh;
    my $lint = `promtool check metrics < '$dir/metrics.txt' 2>&1`;
    is($?, 0, 'promtool check metrics passes with the cache counters')
        or diag($lint);
}
is($metric{'llm_cache_requests_total{model="demo",status="hit"}'}, 3,
   'llm_cache_requests_total counts the hits');
is($metric{'llm_cache_requests_total{model="demo",status="miss"}'}, 1,
   'and the misses');
is($metric{'llm_cache_requests_total{model="claude",status="hit"}'}, 1,
   'per model');
is($metric{'llm_requests_total{model="demo",provider="oai",status="2xx"}'},
   4, 'a hit is a request of its model');

$q = question();
$r1 = ask('', { model => 'pair', messages => $q });
$r2 = ask('', { model => 'pair', messages => $q });
is(cache_of($r2), 'HIT', 'a route: a HIT');
is(decode_json($r2->{content})->{model}, decode_json($r1->{content})->{model},
   'with the model name its miss had');

my $log = slurp("$ng->{prefix}/cache.log");
like($log, qr/^demo HIT \[-\] \d+$/m,
     '$llm_cache_status; a hit makes no attempt ($llm_attempts)');
like($log, qr/^demo MISS \[oai:200\] \d+$/m, 'a miss made one');

# --- what the key leaves out, and what it keeps

$q = question();
my $base = { model => 'demo', messages => $q, temperature => 0.5 };
ask('', $base);
my $c0 = mock_count($mock, 'demo');

my @same = (
    [ 'user' => { %$base, user => 'someone' } ],
    [ 'metadata' => { %$base, metadata => { a => 'b' } } ],
    [ 'store' => { %$base, store => JSON::PP::false } ],
    [ 'service_tier' => { %$base, service_tier => 'auto' } ],
);

for my $t (@same) {
    is(cache_of(ask('', $t->[1])), 'HIT', "$t->[0] is left out of the key");
}

my $raw = '{ "temperature" : 0.5,' . "\n"
          . '  "messages" : ' . JSON::PP->new->canonical->encode($q)
          . ', "model": "demo" }';
is(cache_of(ask('', $raw)), 'HIT',
   'whitespace and the order of members are left out');
is(mock_count($mock, 'demo'), $c0, 'none of them went upstream');

my $tool = { type => 'function', function => { name => 'f',
             parameters => { type => 'object', properties => {} } } };

my @differ = (
    [ temperature => { %$base, temperature => 0.7 } ],
    [ top_p => { %$base, top_p => 0.5 } ],
    [ max_tokens => { %$base, max_tokens => 20 } ],
    [ seed => { %$base, seed => 7 } ],
    [ stop => { %$base, stop => ['x'] } ],
    [ n => { %$base, n => 2 } ],
    [ presence_penalty => { %$base, presence_penalty => 1 } ],
    [ tools => { %$base, tools => [$tool] } ],
    [ tool_choice => { %$base, tools => [$tool], tool_choice => 'none' } ],
    [ response_format => { %$base,
                           response_format => { type => 'json_object' } } ],
    [ messages => { %$base, messages => [{ role => 'user',
                                           content => 'Question x' }] } ],
    [ model => { %$base, model => 'other' } ],
);

for my $t (@differ) {
    is(cache_of(ask('', $t->[1])), 'MISS', "$t->[0] is in the key");
}

is(cache_of(ask('/brief', $base)), 'MISS',
   'a decorator (llm_prepend_message) makes another request: another key');
is(cache_of(ask('/brief', $base)), 'HIT', 'which is kept in its turn');

is(cache_of(ask('', { %$base, logprobs => JSON::PP::true })), 'BYPASS',
   'logprobs (which a kept answer cannot carry) bypasses the cache');

# --- scopes

$q = question();
my %a = (Authorization => 'Bearer key-a');
my %b = (Authorization => 'Bearer key-b');
is(cache_of(ask('', { model => 'demo', messages => $q }, %a)), 'MISS',
   'client A asks');
is(cache_of(ask('', { model => 'demo', messages => $q }, %b)), 'MISS',
   "client B is never served A's answer");
is(cache_of(ask('', { model => 'demo', messages => $q }, %a)), 'HIT',
   'A is served its own');
is(cache_of(ask('', { model => 'demo', messages => $q })), 'MISS',
   'nor is a client without a key');
is(cache_of(ask('', { model => 'demo', messages => $q },
                'x-api-key' => 'key-b')), 'HIT',
   'the same key in x-api-key is the same client');

$q = question();
is(cache_of(ask('/team', { model => 'demo', messages => $q },
                %a, 'X-Team' => 'red')), 'MISS', 'llm_cache_scope: red asks');
is(cache_of(ask('/team', { model => 'demo', messages => $q },
                %b, 'X-Team' => 'red')), 'HIT',
   'another key of the same team shares the answer');
is(cache_of(ask('/team', { model => 'demo', messages => $q },
                %a, 'X-Team' => 'blue')), 'MISS', 'another team does not');

$q = question();
ask('/public', { model => 'demo', messages => $q }, %a);
is(cache_of(ask('/public', { model => 'demo', messages => $q }, %b)), 'HIT',
   'llm_cache_scope "": a public cache');

# --- Cache-Control and the operator's conditions

$q = question();
$c0 = mock_count($mock, 'demo');
is(cache_of(ask('', { model => 'demo', messages => $q },
                'Cache-Control' => 'no-store')), 'BYPASS',
   'no-store: BYPASS');
is(cache_of(ask('', { model => 'demo', messages => $q })), 'MISS',
   'no-store kept nothing');
is(cache_of(ask('', { model => 'demo', messages => $q },
                'Cache-Control' => 'no-cache')), 'REFRESH',
   'no-cache: REFRESH');
is(mock_count($mock, 'demo'), $c0 + 3, 'each of them went upstream');
is(cache_of(ask('', { model => 'demo', messages => $q },
                'Cache-Control' => 'max-age=3600')), 'HIT',
   'max-age: a young enough entry is a HIT');

is(cache_of(ask('', { model => 'demo', messages => $q }, 'X-Skip' => 'yes')),
   'BYPASS', 'llm_cache_bypass');

$q = question();
is(cache_of(ask('', { model => 'demo', messages => $q },
                'X-No-Store' => '1')), 'MISS', 'llm_no_cache: asked');
is(cache_of(ask('', { model => 'demo', messages => $q })), 'MISS',
   'llm_no_cache: not kept');

is(cache_of(ask('/noclient', { model => 'demo', messages => $q },
                'Cache-Control' => 'no-store')), 'HIT',
   'llm_cache_client_control off: the client cannot bypass');

is(cache_of(ask('/off', { model => 'demo', messages => $q })), '',
   'llm_cache off: no cache, no header');

# --- lifetimes: llm_cache_valid, max-age

$q = question();
ask('/short', { model => 'demo', messages => $q });
is(cache_of(ask('/short', { model => 'demo', messages => $q })), 'HIT',
   'llm_cache_valid 1s: a hit at first');
$c0 = mock_count($mock, 'demo');
sleep 2;
is(cache_of(ask('/short', { model => 'demo', messages => $q })), 'EXPIRED',
   'then EXPIRED');
is(mock_count($mock, 'demo'), $c0 + 1, 'an expired entry goes upstream');

$q = question();
ask('', { model => 'demo', messages => $q });
sleep 2;
my $old = ask('', { model => 'demo', messages => $q });
ok($old->{headers}{age} >= 2, 'Age counts the seconds since it was kept');
is(cache_of(ask('', { model => 'demo', messages => $q },
                'Cache-Control' => 'max-age=1')), 'EXPIRED',
   'max-age=1: an older entry is EXPIRED');
is(cache_of(ask('', { model => 'demo', messages => $q },
                'Cache-Control' => 'max-age=1')), 'HIT',
   'and the fresh answer replaced it');

# --- what is never kept

$c0 = mock_count($mock, 'fails');
$q = question();
my $e = ask('', { model => 'fails', messages => $q });
is($e->{status}, 500, 'an error');
is(cache_of(ask('', { model => 'fails', messages => $q })), 'MISS',
   'an error is not kept');
is(mock_count($mock, 'fails'), $c0 + 2, 'both went upstream');

$q = question();
($s, $chunks) = chat_stream($port, 'cut', $q, 0);
like($s->{content}, qr/"error"/, 'a truncated stream ends in an error');
($s) = chat_stream($port, 'cut', $q, 0);
is(cache_of($s), 'MISS', 'a truncated stream is not kept');

# a client that leaves in the middle of a stream

$q = question();
my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port")
    or die "connect: $!";
my $body = JSON::PP->new->canonical->encode({ model => 'slow', messages => $q,
                         stream => JSON::PP::true });
print $sock "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
    . "Content-Type: application/json\r\nContent-Length: "
    . length($body) . "\r\n\r\n$body";
my $got = '';
while ($got !~ /tok2 /) {
    last unless sysread($sock, $got, 4096, length $got);
}
close $sock;
wait_for(sub { slurp("$ng->{prefix}/cache.log") =~ /^slow MISS/m }, 10);
($s, $chunks, $done) = chat_stream($port, 'slow', $q, 0);
is(cache_of($s), 'MISS', 'an abandoned stream is not kept');
ok($done, 'the next one streams whole');
is(cache_of((chat_stream($port, 'slow', $q, 0))[0]), 'HIT',
   'and that one is kept');

# an answer over max_entry

my $long = 'word ' x 600;
$q = [{ role => 'user', content => $long }];
is(cache_of(ask('/small', { model => 'echo', messages => $q })), 'MISS',
   'a large answer');
is(cache_of(ask('/small', { model => 'echo', messages => $q })), 'MISS',
   'over max_entry: not kept');
like($ng->error_log, qr/was not cached: over max_entry/,
     'and the log says why');
$q = question();
ask('/small', { model => 'echo', messages => $q });
is(cache_of(ask('/small', { model => 'echo', messages => $q })), 'HIT',
   'a small one in the same zone is');

# --- eviction in a tiny zone: the least recently used go

my @qs = map { [{ role => 'user', content => "Evict $_ " . ('x' x 1500) }] }
         1 .. 30;
ask('/tiny', { model => 'echo', messages => $_ }) for @qs;
is(cache_of(ask('/tiny', { model => 'echo', messages => $qs[-1] })), 'HIT',
   'a full zone keeps the newest');
is(cache_of(ask('/tiny', { model => 'echo', messages => $qs[0] })), 'MISS',
   'and let the oldest go');

# --- tool calls, through the official OpenAI SDK

my $sdk = $ENV{OPENAI_SDK_DIR} // repo_root() . '/build/sdk';

if (!-f "$sdk/node_modules/openai/package.json") {
    fail("the OpenAI Node SDK is in $sdk (run ./build.sh deps)");

} else {
    local $ENV{OPENAI_SDK_DIR} = $sdk;
    my $json = `node t/sdk/openai-cache.cjs http://127.0.0.1:$port/v1 tools demo`;
    my $out = eval { decode_json($json) } // { fatal => "not JSON: $json" };
    ok(!$out->{fatal}, 'the SDK script ran') or diag($out->{fatal});

    my $runs = $out->{tools} // [];
    is(join(',', map { $_->{cache} // '' } @$runs), 'MISS,HIT,HIT',
       'SDK: a streamed tool call, then hits without and with a stream');
    for my $i (0 .. 2) {
        my $call = $runs->[$i]{message}{tool_calls}[0] // {};
        is($call->{function}{name}, 'get_capital', "SDK run $i: the tool");
        is($call->{function}{arguments}, '{"country":"UK"}',
           "SDK run $i: its arguments");
        like($call->{id} // '', qr/^call_/, "SDK run $i: its id");
        is($runs->[$i]{finish}, 'tool_calls', "SDK run $i: finish_reason");
        is($runs->[$i]{usage}{total_tokens}, 68, "SDK run $i: usage");
        is($runs->[$i]{model}, 'tools', "SDK run $i: the client's model");
    }
    is($runs->[2]{buffering}, 'no', 'SDK: the stream hit is unbuffered');
    is(mock_count($mock, 'tools'), 1, 'SDK: one upstream request');

    $runs = $out->{demo} // [];
    is(join(',', map { $_->{cache} // '' } @$runs), 'MISS,HIT,HIT',
       'SDK: text');
    is($runs->[1]{message}{content}, $runs->[0]{message}{content},
       'SDK: the same content from a hit');
}

# --- llm_cache_lock: one upstream request for identical requests

# the bodies asked at once: what each got, in order
sub ask_all {
    my ($path, @bodies) = @_;
    return map { decode_json($_) } concurrently(scalar @bodies, sub {
        my $r = ask($path, $bodies[$_[0] - 1]);
        return encode_json({ status => $r->{status}, cache => cache_of($r),
                             content => $r->{content} // '' });
    });
}

sub stream_text {
    my ($chunks) = sse_json($_[0]);
    return (accumulate_stream($chunks)->{choices}[0]{message}{content},
            scalar grep { ($_->{choices}[0]{delta}{content} // '') ne '' }
                        @$chunks);
}

$q = question();
my $whole = { model => 'coal', messages => $q };
my $stream = { %$whole, stream => JSON::PP::true };
my @res = ask_all('/lock', $whole, $stream, $whole, $stream, $stream,
                  $whole);

is(mock_count($mock, 'coal'), 1,
   'six identical requests at once: one upstream request');
is(scalar(grep { $_->{status} == 200 } @res), 6, 'six answers');
is(join(',', sort map { $_->{cache} } @res),
   'COALESCED,COALESCED,COALESCED,COALESCED,COALESCED,MISS',
   'one MISS, the others COALESCED');

my ($text) = grep { defined } map {
    $_->{content} =~ /^data:/ ? (stream_text($_->{content}))[0]
                              : content_of($_) } @res;
like($text, qr/You said: "Question \d+"/, 'the answer');
for my $i (0 .. $#res) {
    my $t = $res[$i]{content} =~ /^data:/
            ? (stream_text($res[$i]{content}))[0] : content_of($res[$i]);
    is($t, $text, "request $i has all of it");
}

# the live stream: waiters of the leader's worker get its events as they
# come, one chunk each, where a replay of the whole has one chunk of text
$q = question();
$stream = { model => 'coal2', messages => $q, stream => JSON::PP::true };
@res = ask_all('/lock', $stream, $stream, $stream);
is(mock_count($mock, 'coal2'), 1, 'three streams: one upstream request');
my @waiters = grep { $_->{cache} eq 'COALESCED' } @res;
is(scalar @waiters, 2, 'two waiters');
for my $w (@waiters) {
    my ($t, $pieces) = stream_text($w->{content});
    is($t, 'tok0 tok1 tok2 tok3 tok4 tok5 ', 'a waiter has the whole text');
    ok($pieces > 1, "a waiter was fed live ($pieces content chunks)");
    like($w->{content}, qr/\}\n\ndata: \[DONE\]\n\n\z/, 'and [DONE]');
}

# a waiter that leaves does not disturb the others
$q = question();
$whole = { model => 'leave', messages => $q };
{
    my $pid = fork() // die;
    if ($pid == 0) {
        ask('/lock', $whole);
        exit 0;
    }
    wait_for(sub { mock_count($mock, 'leave') >= 1 }, 10);
    my $w = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port")
        or die "connect: $!";
    my $b = JSON::PP->new->canonical->encode($whole);
    print $w "POST /lock/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        . "Content-Type: application/json\r\nContent-Length: "
        . length($b) . "\r\n\r\n$b";
    close $w;
    @res = ask_all('/lock', $whole);
    waitpid($pid, 0);
    is(mock_count($mock, 'leave'), 1, 'a waiter left: still one request')
        or diag(join '', grep { /^leave/ } split /^/m, slurp("$ng->{prefix}/cache.log"));
    is($res[0]{status}, 200, 'the others are answered');
}

# a leader that fails hands over to a waiter
$q = question();
$whole = { model => 'lead', messages => $q };
@res = ask_all('/lock', $whole, $whole, $whole);
is(mock_count($mock, 'lead'), 2,
   'the leader failed: one waiter asked again, once');
is(join(',', sort map { $_->{status} } @res), '200,200,500',
   'the leader has its error, the others an answer');
is(join(',', sort map { $_->{cache} } @res), 'COALESCED,MISS,MISS',
   'the new leader MISS, the last waiter COALESCED');

# a lock timeout lets the waiters go upstream
$q = question();
$whole = { model => 'late', messages => $q };
@res = ask_all('/lockfast', $whole, $whole, $whole);
is(mock_count($mock, 'late'), 3,
   'llm_cache_lock_timeout: the waiters went upstream after it');
is(join(',', map { $_->{status} } @res), '200,200,200', 'all answered');

# --- embeddings: each input an entry of its own

sub embed {
    my ($body, %h) = @_;
    my $r = http_post_json($port, '/v1/embeddings', $body, %h);
    return ($r, eval { decode_json($r->{content}) } // {});
}

# the inputs the provider was last sent
sub sent_inputs {
    my ($id) = @_;
    my @reqs = grep { ($_->{path} // '') =~ m{/embeddings$}
                      && ref $_->{body}
                      && ($_->{body}{model} // '') eq "id=$id" }
               @{ mock_requests($mock) };
    return [] unless @reqs;
    return $reqs[-1]{body}{input};
}

my ($er, $ej) = embed({ model => 'emb', input => ['alpha', 'beta', 'gamma'] });
is($er->{status}, 200, 'embeddings: three inputs');
is(cache_of($er), 'MISS', 'embeddings: a MISS');
is($er->{headers}{'x-llm-cache-parts'}, '0/3', 'no input was found');
my @vectors = map { encode_json($_->{embedding}) } @{ $ej->{data} };

my ($er2, $ej2) = embed({ model => 'emb',
                          input => ['alpha', 'delta', 'gamma'] });
is($er2->{headers}{'x-llm-cache-parts'}, '2/3', 'two inputs found');
is(cache_of($er2), 'MISS', 'a partial hit is a MISS');
is_deeply(sent_inputs('emb'), ['delta'],
          'only the new input went upstream');
is(scalar @{ $ej2->{data} }, 3, 'three vectors back');
is_deeply([ map { $_->{index} } @{ $ej2->{data} } ], [0, 1, 2],
          'in input order');
is(encode_json($ej2->{data}[0]{embedding}), $vectors[0],
   'the cached vector of the first input');
is(encode_json($ej2->{data}[2]{embedding}), $vectors[2],
   'and of the third');
is($ej2->{data}[1]{embedding}[0], 5, "the new one is delta's");
is($ej2->{usage}{prompt_tokens}, 1, 'usage counts what was sent');

$c0 = mock_count($mock, 'emb');
my ($er3, $ej3) = embed({ model => 'emb', input => ['gamma', 'delta'] });
is(cache_of($er3), 'HIT', 'every input found: a HIT');
is(mock_count($mock, 'emb'), $c0, 'no upstream request');
is(encode_json($ej3->{data}[0]{embedding}), $vectors[2],
   'the vectors in the order asked');
is($ej3->{usage}{total_tokens}, 0, 'nothing billed');
is($ej3->{model}, 'emb', "the client's model");

($er3) = embed({ model => 'emb', input => 'gamma', dimensions => 8 });
is(cache_of($er3), 'MISS', 'other dimensions: another vector');
($er3) = embed({ model => 'emb', input => 'gamma',
                 encoding_format => 'base64' });
is(cache_of($er3), 'MISS', 'another encoding: another entry');
($er3) = embed({ model => 'emb', input => 'gamma' }, %b);
is(cache_of($er3), 'MISS', 'another client: another scope');
($er3) = embed({ model => 'emb', input => ['gamma'] },
               'Cache-Control' => 'no-cache');
is(cache_of($er3), 'REFRESH', 'no-cache: asked again');

# batches of the inputs not found
embed({ model => 'emb-b', input => ['b1', 'b3'] });
my ($eb, $ejb) = embed({ model => 'emb-b',
                         input => ['b1', 'b2', 'b3', 'b4', 'b5'] });
is($eb->{headers}{'x-llm-cache-parts'}, '2/5', 'batches: two found');
is_deeply([ map { $_->{embedding}[0] } @{ $ejb->{data} } ],
          [2, 2, 2, 2, 2], 'five vectors');
is_deeply(sent_inputs('embb'), ['b5'],
          'the three others in batches of two: b2 b4, then b5');

# --- llm_messages ignores the cache it inherits

for (1 .. 2) {
    my $m = http_post_json($port, '/v1/messages',
                           { model => 'demo', max_tokens => 50,
                             messages => [{ role => 'user',
                                            content => 'Messages here' }] },
                           'anthropic-version' => '2023-06-01');
    is($m->{status}, 200, 'a Messages request in a cached server');
    ok(!defined $m->{headers}{'x-llm-cache'}, 'is not cached');
}

# --- entries survive a reload

$q = question();
ask('', { model => 'demo', messages => $q });

# (not under valgrind: see LLMTest::Nginx::reload)
if (!$ng->{valgrind}) {
    ok($ng->reload, 'nginx reloaded');
    is(cache_of(ask('', { model => 'demo', messages => $q })), 'HIT',
       'an entry survives a reload');
}

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]|exited on signal/,
       'no alerts, no crashes');

$ng->stop;

# --- two workers: a waiter in the other worker finds the entry

$ng = start_nginx($conf, mock => $mock, workers => 2);
$port = $ng->{port};
$q = question();
$whole = { model => 'coal', messages => $q };
$stream = { %$whole, stream => JSON::PP::true };
my $c1 = mock_count($mock, 'coal');
@res = ask_all('/lock', ($whole, $stream) x 4);
is(mock_count($mock, 'coal') - $c1, 1,
   'two workers, eight requests: one upstream request');
is(scalar(grep { $_->{status} == 200 } @res), 8, 'eight answers');
$ng->stop;

# --- nginx -t

my @bad = (
    [ 'server { listen 127.0.0.1:%%PORT%%; location / { llm_cache nope; } }',
      qr/no llm_cache_zone of that name/ ],
    [ 'llm_cache_zone zone=a:1m; llm_cache_zone zone=a:1m;',
      qr/is duplicate|already used/ ],
    [ 'llm_cache_zone zone=a:1k;', qr/too small/ ],
    [ 'llm_cache_zone zone=a;', qr/invalid parameter/ ],
    [ 'llm_cache_zone zone=a:1m max_entry=1m;', qr/more than half/ ],
    [ 'llm_cache_zone zone=a:1m lifetime=1h;', qr/llm_cache_valid/ ],
    [ 'llm_cache_zone zone=a:1m; llm_cache a; llm_cache_valid forever;',
      qr/invalid value/ ],
    [ 'llm_cache_zone zone=a:1m; llm_cache a; llm_cache_lock maybe;',
      qr/invalid value/ ],
    [ 'llm_cache_zone zone=a:1m; llm_cache a; llm_cache_lock_timeout x;',
      qr/invalid value/ ],
);

for my $t (@bad) {
    my ($rc, $out) = nginx_test_config($t->[0]);
    ok($rc != 0 && $out =~ $t->[1], "nginx -t refuses: $t->[0]")
        or diag($out);
}

my ($rc, $out) = nginx_test_config(
    'llm_cache_zone zone=a:1m max_entry=64k; llm_cache a;'
    . ' llm_cache_valid 10m; llm_cache_lock on; llm_cache_lock_timeout 5s;'
    . ' llm_cache_scope $http_x_team; llm_cache_bypass $arg_nocache;'
    . ' llm_no_cache $arg_nocache; llm_cache_client_control off;');
is($rc, 0, 'nginx -t takes a full configuration') or diag($out);

done_testing();
