#!/usr/bin/perl
#
# llm_status: a self-contained page (no external script, style or font)
# and its JSON view; headless Chromium loads the page with no console
# error and shows, after a load this test made, the figures of that load:
# requests, errors, streams, spend, provider attempts and health.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use File::Temp qw(tempdir);
use JSON::PP qw(decode_json);
use Test::More;

module_path();

my $chromium = '/usr/bin/chromium';
ok(-x $chromium, 'Chromium is installed (./build.sh deps)')
    or do { done_testing(); exit };

my $mock = start_mock();

my $ng = start_nginx(<<'EOF', mock => $mock);
    llm_metrics zone=llm_metrics:1m;
    llm_cache_zone zone=cache:1m;
    llm_retry off;

    llm_provider oai dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;
    llm_provider ant dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1;

    llm_model demo provider=oai upstream_model=gpt-demo
              price_in=2.50 price_out=10;
    llm_model claude provider=ant upstream_model=claude-demo;
    llm_model limited provider=oai upstream_model=status=429;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /v1/chat/completions { llm_chat; }
        location = /cached/v1/chat/completions { llm_chat; llm_cache cache; }
        location = /status { llm_status; }
    }
EOF

my $port = $ng->{port};
my $hello = [{ role => 'user', content => 'Hello there' }];

chat($port, { model => 'demo', messages => $hello }) for 1 .. 3;
chat_stream($port, 'demo', $hello, 1);
chat($port, { model => 'claude', messages => $hello });
http_post_json($port, '/cached/v1/chat/completions',
               { model => 'claude', messages => $hello }) for 1 .. 2;
chat($port, { model => 'limited', messages => $hello });
chat($port, { model => 'nobody', messages => $hello });

# the page itself

my $page = http_get($port, '/status');
is($page->{status}, 200, 'GET /status');
like($page->{headers}{'content-type'}, qr{^text/html}, 'an HTML page');
unlike($page->{content}, qr/<link|<script\s[^>]*src|\@import|url\(/i,
       'self-contained: no external script, style or font');
my @urls = $page->{content} =~ m{(https?://[^"'\s<>]+)}g;
is_deeply([ grep { $_ ne 'http://www.w3.org/2000/svg' } @urls ], [],
          'no address but the SVG namespace');

# its JSON view

my $json = http_get($port, '/status?format=json');
like($json->{headers}{'content-type'}, qr{^application/json}, 'JSON view');
my $d = json_or_undef($json->{content}) // {};
my ($demo) = grep { $_->{model} eq 'demo' } @{ $d->{models} // [] };
is($demo->{requests}{'2xx'}, 4, 'JSON: four demo requests');
is($d->{rejected}{'4xx'}, 1, 'JSON: one request with an unknown model');

# Chromium, headless: the page as an operator sees it

my $dir = tempdir('llm-status-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $dom = `'$chromium' --headless=new --no-sandbox --disable-gpu \\
           --user-data-dir='$dir/profile' --enable-logging=stderr --v=0 \\
           --virtual-time-budget=6000 --dump-dom \\
           'http://127.0.0.1:$port/status' 2>'$dir/chromium.log'`;
my $console = join "\n", grep { /CONSOLE/ } split /\n/, slurp("$dir/chromium.log");

like($dom, qr{<tr data-model="demo">}, 'the page shows the models')
    or diag(substr($dom, 0, 2000));
is($console, '', 'no console message, no error');
unlike($dom, qr{<p id="error">[^<]}, 'the page read its figures');

sub cell {
    my ($kind, $name, $class) = @_;
    my ($tr) = $dom =~ m{<tr data-$kind="\Q$name\E">(.*?)</tr>}s;
    my ($td) = ($tr // '') =~ m{<td class="\Q$class\E[^"]*">(.*?)</td>}s;
    return $td;
}

is(cell('model', 'demo', 'requests'), 4, 'demo: 4 requests');
is(cell('model', 'demo', 'errors'), '0.0 %', 'demo: no error');
is(cell('model', 'limited', 'requests'), 1, 'limited: 1 request');
is(cell('model', 'limited', 'errors'), '100.0 %', 'limited: all errors');
is(cell('model', 'claude', 'provider'), 'ant', 'claude: its provider');
is(cell('model', 'claude', 'cache'), '50.0 %',
   'claude: half its cached location\'s requests were hits');
is(cell('model', 'demo', 'cache'), '-', 'demo: never in a cache location');
is(cell('model', 'demo', 'streams'), 0, 'no stream in flight');
like(cell('model', 'demo', 'ttft50'), qr/^\d+(\.\d+)? m?s$/,
     'demo: a time to first token');
like(cell('model', 'demo', 'dur95'), qr/^\d+(\.\d+)? m?s$/,
     'demo: a duration percentile');
cmp_ok(cell('model', 'demo', 'spend'), '>', 0, 'demo: its spend');
like(cell('model', 'demo', 'chart'), qr/<svg/, 'a chart of its rate');
is(cell('provider', 'oai', 'attempts'), 5, 'oai: 5 attempts');
is(cell('provider', 'oai', 'r429'), 1, 'oai: one 429');
is(cell('provider', 'oai', 'retries'), 0, 'oai: no retry (llm_retry off)');
is(cell('provider', 'oai', 'health'), 'up', 'oai: up');
like($dom, qr/before any model was chosen[^<]*: 1\./,
     'the request no model was chosen for');

done_testing();
