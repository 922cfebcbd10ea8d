#!/usr/bin/perl
#
# llm_metrics: after a scripted mix (answers, a stream, a retry, a
# fallback, a 429, a stream that breaks, a client that leaves, an unknown
# model) the counters are exactly what happened; the exposition passes
# `promtool check metrics`; a reload keeps the counts; no client input
# becomes a label value; a real Prometheus server scrapes the gateway and
# finds the series through its HTTP API.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP qw(decode_json);
use Test::More;

module_path();

my $mock = start_mock();

my $ng = start_nginx(<<'EOF', mock => $mock);
    llm_metrics zone=llm_metrics:1m;
    llm_retry tries=2 base=10ms cap=20ms;

    llm_provider oai dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;
    llm_provider ant dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1;

    llm_model demo provider=oai upstream_model=gpt-demo
              price_in=2.50 price_out=10;
    llm_model claude provider=ant upstream_model=claude-demo;
    llm_model flaky provider=oai 'upstream_model=id=flaky,seq=503;ok';
    llm_model down provider=oai upstream_model=status=500;
    llm_model limited provider=oai upstream_model=status=429;
    llm_model cut provider=oai upstream_model=events=10,cut_after=4;
    llm_model slow provider=oai upstream_model=events=50,delay_ms=100;
    llm_model route candidates=down,claude;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /v1/chat/completions { llm_chat; }
        location = /v1/models { llm_models; }
        location = /metrics { llm_metrics_export; }
    }
EOF

my $port = $ng->{port};
my $hello = [{ role => 'user', content => 'Hello there' }];

sub metrics {
    my $r = http_get($port, '/metrics');
    my %m;
    for my $line (split /\n/, $r->{content} // '') {
        next if $line =~ /^#/ || $line !~ /\S/;
        my ($k, $v) = $line =~ /^(\S+)\s+(\S+)$/ or next;
        $m{$k} = $v;
    }
    return ($r, \%m);
}

# --- the mix

chat($port, { model => 'demo', messages => $hello }) for 1 .. 2;
chat_stream($port, 'demo', $hello, 1);
chat($port, { model => 'flaky', messages => $hello });
chat($port, { model => 'route', messages => $hello });
chat($port, { model => 'limited', messages => $hello });
chat_stream($port, 'cut', $hello, 0);
chat($port, { model => 'no-such-model', messages => $hello });
is(http_get($port, '/v1/models')->{status}, 200, 'GET /v1/models');
chat($port, { model => "x\"} 1\nevil{a=\"", messages => $hello });

# a client that leaves in the middle of a stream
my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port")
    or die "connect: $!";
my $body = '{"model":"slow","stream":true,'
         . '"messages":[{"role":"user","content":"Hi"}]}';
print $sock "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
          . "Content-Type: application/json\r\n"
          . "Content-Length: " . length($body) . "\r\n\r\n$body";
my $got = '';
while ($got !~ /tok2/) {
    sysread($sock, $got, 4096, length $got) or last;
}
close $sock;

my ($r, $m);
ok(wait_for(sub {
    ($r, $m) = metrics();
    return ($m->{'llm_requests_total{model="slow",provider="oai",status="499"}'}
            // 0) == 1;
}, 20), 'the client that left is counted, once its request ended');

is($r->{status}, 200, 'GET /metrics');
like($r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
     'the text exposition format');

my %want = (
    'llm_requests_total{model="demo",provider="oai",status="2xx"}' => 3,
    'llm_requests_total{model="flaky",provider="oai",status="2xx"}' => 1,
    'llm_requests_total{model="claude",provider="ant",status="2xx"}' => 1,
    'llm_requests_total{model="limited",provider="oai",status="4xx"}' => 1,
    'llm_requests_total{model="cut",provider="oai",status="2xx"}' => 1,
    'llm_requests_total{model="down",provider="oai",status="5xx"}' => 0,
    'llm_requests_total{model="route",provider="",status="2xx"}' => undef,
    'llm_rejected_requests_total{status="4xx"}' => 2,
    'llm_rejected_requests_total{status="2xx"}' => 0,
    'llm_attempts_total{provider="oai",outcome="ok"}' => 4,
    'llm_attempts_total{provider="oai",outcome="5xx"}' => 3,
    'llm_attempts_total{provider="oai",outcome="429"}' => 2,
    'llm_attempts_total{provider="oai",outcome="stream_error"}' => 1,
    'llm_attempts_total{provider="oai",outcome="client_closed"}' => 1,
    'llm_attempts_total{provider="ant",outcome="ok"}' => 1,
    'llm_retries_total{provider="oai"}' => 3,
    'llm_fallbacks_total{provider="oai"}' => 1,
    'llm_retries_total{provider="ant"}' => 0,
    'llm_streams_in_flight{model="demo"}' => 0,
    'llm_streams_in_flight{model="slow"}' => 0,
    'llm_provider_up{provider="oai"}' => 1,
);

for my $k (sort keys %want) {
    is($m->{$k}, $want{$k}, "$k " . ($want{$k} // 'absent'));
}

my $labels = 'gen_ai_request_model="demo",gen_ai_provider_name="oai"';
is($m->{"gen_ai_server_request_duration_seconds_count{$labels}"}, 3,
   'three answered demo requests timed');
is($m->{"gen_ai_server_time_to_first_token_seconds_count{$labels}"}, 1,
   'the stream: its time to first token');
is($m->{"gen_ai_server_time_per_output_token_seconds_count{$labels}"}, 1,
   '... and its time per output token');
is($m->{"gen_ai_server_request_duration_seconds_bucket{$labels,le=\"+Inf\"}"},
   3, 'the +Inf bucket holds them all');
is($m->{"gen_ai_client_token_usage_count{$labels,gen_ai_token_type=\"input\"}"},
   3, 'input tokens of each');

# the demo's usage: what the mock reported, three times; its spend
my $res = decode_json(chat($port, { model => 'demo',
                                    messages => $hello })->{content});
($r, $m) = metrics();
my ($in, $out) = @{ $res->{usage} }{qw(prompt_tokens completion_tokens)};
is($m->{"gen_ai_client_token_usage_sum{$labels,gen_ai_token_type=\"input\"}"},
   4 * $in, 'input tokens summed');
is($m->{"gen_ai_client_token_usage_sum{$labels,gen_ai_token_type=\"output\"}"},
   4 * $out, 'output tokens summed');
is($m->{'llm_spend_usd_total{model="demo"}'} + 0,
   4 * ($in * 2.5 + $out * 10) / 1e6, 'spend at the configured prices');

# no series from client input

unlike($r->{content}, qr/no-such-model|evil/,
       'an unknown model adds no series');
my $before = () = $r->{content} =~ /^[a-z]/mg;
for my $i (1 .. 5) {
    chat($port, { model => "made-up-$i", messages => $hello });
    chat($port, { model => 'demo', messages => $hello, user => "u$i",
                  metadata => { k => "v$i" } }, 'X-Tenant' => "t$i");
}
(undef, $m) = metrics();
my ($r2) = metrics();
my $after = () = $r2->{content} =~ /^[a-z]/mg;
is($after, $before, "$before series before and after: the configuration "
   . 'sets them, not the clients');

# promtool

my $dir = tempdir('llm-metrics-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $fh, '>', "$dir/metrics.txt" or die;
print $fh $r->{content};
close $fh;
my $lint = `promtool check metrics < '$dir/metrics.txt' 2>&1`;
is($?, 0, 'promtool check metrics passes') or diag($lint);

# a reload keeps the counts

# (not under valgrind: see LLMTest::Nginx::reload)
if (!$ng->{valgrind}) {
    ok($ng->reload, 'nginx reloaded');
}
chat($port, { model => 'demo', messages => $hello });
# counted in the log phase, after the answer went: wait for it
wait_for(sub {
    (undef, $m) = metrics();
    return ($m->{'llm_requests_total{model="demo",provider="oai",status="2xx"}'}
            // 0) >= 10;
});
is($m->{'llm_requests_total{model="demo",provider="oai",status="2xx"}'}, 10,
   'the counts go on after a reload');

# a real Prometheus server scrapes it

my $pport = free_port();
open $fh, '>', "$dir/prometheus.yml" or die;
print $fh <<"EOF";
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: llm
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF
close $fh;

my $prom = LLMTest::_spawn("$dir/prometheus.log", 'prometheus',
    "--config.file=$dir/prometheus.yml", "--storage.tsdb.path=$dir/data",
    "--web.listen-address=127.0.0.1:$pport");

my $api = HTTP::Tiny->new(timeout => 5);
my $found;
ok(wait_for(sub {
    my $q = $api->get("http://127.0.0.1:$pport/api/v1/query?query="
                      . 'llm_requests_total%7Bmodel%3D%22demo%22%2Cstatus%3D%222xx%22%7D');
    return 0 unless $q->{success};
    my $d = eval { decode_json($q->{content}) } or return 0;
    $found = $d->{data}{result}[0];
    return $found ? 1 : 0;
}, 60), 'Prometheus scraped the gateway') or diag(slurp("$dir/prometheus.log"));
is($found->{value}[1], 10, 'and found the demo requests');

my $q = $api->get("http://127.0.0.1:$pport/api/v1/query?query="
                  . 'histogram_quantile(0.5%2C%20sum%20by%20(le)%20(rate('
                  . 'gen_ai_server_request_duration_seconds_bucket%5B1m%5D)))');
ok($q->{success}, 'a quantile of the durations can be asked');

kill 'TERM', $prom;
waitpid($prom, 0);

# nginx -t

like(nginx_test_config(<<'EOF'),
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /metrics { llm_metrics_export; }
    }
EOF
     qr/llm_metrics_export and llm_status need "llm_metrics zone=NAME:SIZE"/,
     'an export without the counters is refused');
like(nginx_test_config("    llm_metrics zone=m:1k;\n"),
     qr/invalid parameter "zone=m:1k" in llm_metrics \(at least \d+k\)/,
     'a zone too small for the counters');

done_testing();
