#!/usr/bin/perl
# A client that stops reading cannot make the gateway hold the whole
# answer: while the client side holds a buffer's worth, the provider is
# not read (as proxy_pass does unbuffered), so a worker's memory stays
# bounded whatever the answer's length.  When the client reads again, the
# whole stream arrives, nothing lost.
#
# The mock streams a long answer as fast as it can; the clients have a
# small receive buffer and nginx a small send buffer.  The worker's
# memory is sampled until it settles (bounded polling, no timing
# assertion), then compared with its size before the streams.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use IO::Socket::INET;
use Time::HiRes qw(sleep);

module_path();

my $KEY = 'sk-test-slow-client';
$ENV{LLM_T69_KEY} = $KEY;

my $EVENTS  = 40000;      # about 5.6 MB of chunks per stream
my $STREAMS = 4;

my $mock = start_mock(key => $KEY);

my $ng = start_nginx(<<"EOF", mock => $mock);
    llm_provider mock dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T69_KEY;
    llm_model long provider=mock 'upstream_model=events=$EVENTS';

    server {
        listen 127.0.0.1:%%PORT%% sndbuf=32k;

        location = /v1/chat/completions {
            llm_chat;
            send_timeout 120s;
        }
    }
EOF
my $port = $ng->port;

# the worker (under valgrind nginx runs as one process)
my $worker = do {
    my @kids = map { (split ' ')[0] }
               grep { (split ' ')[1] == $ng->{pid} }
               map { my $s = slurp("$_/stat"); $s =~ /^(\d+) \(.*?\) \S (\d+)/ ? "$1 $2" : () }
               glob('/proc/[0-9]*');
    @kids ? $kids[0] : $ng->{pid};
};

sub rss_kb {
    my $s = slurp("/proc/$worker/status");
    return $s =~ /^VmRSS:\s+(\d+)/m ? $1 : 0;
}

# a warm-up stream, read at once, so the baseline has the pools and
# buffers a stream needs
my ($res, $chunks, $done) = chat_stream($port, 'long', [ { role => 'user', content => 'hi' } ]);
ok($done && @$chunks >= $EVENTS, 'a client that reads gets the whole stream');

my $before = rss_kb();
ok($before > 0, "worker $worker: $before kB before the stalled streams");

my $body = '{"model":"long","stream":true,"messages":[{"role":"user","content":"hi"}]}';
my @socks;

for (1 .. $STREAMS) {
    my $s = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, 4096) or die "setsockopt: $!";
    $s->connect(Socket::pack_sockaddr_in($port, Socket::inet_aton('127.0.0.1')))
        or die "connect: $!";
    print $s request_bytes('/v1/chat/completions', $body);
    push @socks, $s;
}

# nobody reads: sample until the worker's memory settles
my ($last, $stable, $rss) = (0, 0, 0);
for (1 .. 300) {
    sleep 0.1;
    $rss = rss_kb();
    $stable = (abs($rss - $last) < 64) ? $stable + 1 : 0;
    $last = $rss;
    last if $stable >= 20;
}

my $growth = $rss - $before;
my $limit = 1024 * $STREAMS;    # 1 MB a stream; unbounded it is ~5.6 MB

ok($growth < $limit,
   "$STREAMS stalled streams of $EVENTS events: the worker grew by $growth kB "
   . "(< $limit kB)");
diag("stalled: " . int($growth / $STREAMS) . " kB per stream");

# the clients read again: every stream arrives whole.  Their receive
# buffers grow first: a 4 KB window reopens by less than the kernel's
# silly-window threshold, and the sender then waits on its zero-window
# probes, backing off to seconds apart on a loaded machine.
setsockopt($_, SOL_SOCKET, SO_RCVBUF, 1 << 20) for @socks;

for my $i (0 .. $#socks) {
    my $data = read_until($socks[$i], qr/data: \[DONE\]\n\n/, 120);
    my $n = () = $data =~ /"content":"tok\d+ "/g;
    ok($data =~ m{^HTTP/1\.1 200} && $n == $EVENTS && $data =~ /data: \[DONE\]\n\n/,
       "stream " . ($i + 1) . ": all $EVENTS chunks and [DONE] after the stall")
        or diag("got $n chunks, " . length($data) . " bytes");
    close $socks[$i];
}

done_testing();
