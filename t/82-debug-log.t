#!/usr/bin/perl
#
# llm_debug_log: what went to the provider (request line and the start of
# the translated body) and what came back (status and the start of the
# answer), at "info", size-capped, one line each, only where it is on;
# the keys never written, not even at debug level: the provider key, a
# key a provider echoes in its error, a client's passed-through key.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP;
use Test::More;

module_path();

my $KEY = 'sk-debug-provider-SECRET-0042';
my $CLIENT = 'sk-client-own-SECRET-0099';
$ENV{LLM_T82_KEY} = $KEY;

my $mock = start_mock(key => $KEY);
my $open = start_mock();

my $ng = start_nginx(<<"EOF", mock => $mock, mock2 => $open, log_level => 'debug');
    llm_retry off;

    llm_provider oai dialect=openai url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_T82_KEY;
    llm_provider ant dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_T82_KEY;
    llm_provider byo dialect=openai url=http://127.0.0.1:%%MOCK2%%/v1
                 api_key=passthrough;

    llm_model demo provider=oai upstream_model=gpt-demo;
    llm_model claude provider=ant upstream_model=claude-demo;
    llm_model byo provider=byo upstream_model=byo-demo;
    llm_model echo401 provider=oai upstream_model=echo_key=1;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /v1/chat/completions {
            llm_chat;
            llm_debug_log 48;
        }

        location = /big/v1/chat/completions {
            llm_chat;
            llm_debug_log 4k;
        }

        # the key an error echoes begins at byte 50
        location = /cut/v1/chat/completions {
            llm_chat;
            llm_debug_log 60;
        }

        location = /quiet/v1/chat/completions {
            llm_chat;
        }
    }
EOF

my $port = $ng->{port};
my $log = "$ng->{prefix}/error.log";
my $hello = [{ role => 'user', content => "Hello \x{e9}t\x{e9}" }];

sub debug_lines {
    my ($from) = @_;
    my @all = grep { /llm debug: / } split /\n/, slurp($log);
    return @all[$from .. $#all];
}

my $seen = 0;

# a whole answer

my $r = chat($port, { model => 'demo', messages => $hello });
is($r->{status}, 200, 'a chat');
my @lines;
wait_for(sub { @lines = debug_lines($seen); @lines >= 2 }, 10);
is(scalar @lines, 2, 'two debug lines: the request, the answer');
like($lines[0], qr/\[info\].*llm debug: attempt 1 to provider "oai": POST \/v1\/chat\/completions, \d+ bytes: \{"/,
     'the request line and the translated body, at info');
like($lines[0], qr/\.\.\., client: /, 'cut at the size, marked');
like($lines[1], qr/llm debug: answer of provider "oai": status 200, \{"id":"chatcmpl-/,
     "the provider's status and the start of its answer");
my ($shown) = $lines[1] =~ /status 200, (.*?)(\.\.\.)?, client: /;
ok(length($shown) <= 48 * 4, 'no more than the size (escaped)');
$seen += @lines;

# a stream: its first bytes, line breaks written as \n

$r = http_post_json($port, '/big/v1/chat/completions',
                    { model => 'demo', messages => $hello,
                      stream => JSON::PP::true });
is($r->{status}, 200, 'a stream');
wait_for(sub { @lines = debug_lines($seen); @lines >= 2 }, 10);
like($lines[1], qr/status 200, data: \{.*\\n\\n/,
     "a stream's first bytes, on one line");
$seen += @lines;

# the Anthropic body as sent

$r = http_post_json($port, '/big/v1/chat/completions',
                    { model => 'claude', messages => $hello });
wait_for(sub { @lines = debug_lines($seen); @lines >= 2 }, 10);
like($lines[0], qr{POST /v1/messages, \d+ bytes: \{.*"claude-demo"},
     "the body in the provider's own format");
like($lines[0], qr/\\xc3\\xa9/, 'bytes beyond ASCII written as \\xNN');
$seen += @lines;

# a provider that echoes the key in its error: masked

$r = http_post_json($port, '/big/v1/chat/completions',
                    { model => 'echo401', messages => $hello });
is($r->{status}, 401, "a provider's 401");
wait_for(sub { @lines = debug_lines($seen); @lines >= 2 }, 10);
like($lines[1], qr/status 401, .*Incorrect API key provided: \[redacted\]\. Check/,
     'the key it echoed is masked');
$seen += @lines;

$r = http_post_json($port, '/cut/v1/chat/completions',
                    { model => 'echo401', messages => $hello });
wait_for(sub { @lines = debug_lines($seen); @lines >= 2 }, 10);
like($lines[1], qr/provided: \[redacted\]\.\.\. /,
     'and so is its start, where the size cuts it');
unlike($lines[1], qr/sk-debug/, 'not a byte of it after "sk-"');
$seen += @lines;

# a client's own key, passed through

$r = chat($port, { model => 'byo', messages => $hello },
          Authorization => "Bearer $CLIENT");
is($r->{status}, 200, "a client's key passed through");
wait_for(sub { @lines = debug_lines($seen); @lines >= 2 }, 10);
is(scalar @lines, 2, 'logged too');
$seen += @lines;

# off where it is not set

$r = http_post_json($port, '/quiet/v1/chat/completions',
                    { model => 'demo', messages => $hello });
is($r->{status}, 200, 'a chat where llm_debug_log is off');
chat($port, { model => 'demo', messages => $hello });
wait_for(sub { @lines = debug_lines($seen); @lines >= 2 }, 10);
is(scalar @lines, 2, 'only the next chat, where it is on, was logged');

# no key anywhere in the log, at debug level

my $all = slurp($log);
like($all, qr/\[debug\]/, 'the log is at debug level');
unlike($all, qr/\Q$KEY\E/, 'the provider key is nowhere in it');
# (nginx itself logs the client's request headers at debug level)
unlike(join("\n", debug_lines(0)), qr/\Q$CLIENT\E/,
       "the client's own key is in no llm debug line");

# nginx -t

like(nginx_test_config("    llm_debug_log lots;\n"),
     qr/"llm_debug_log" directive takes "off" or a size/, 'a bad size refused');
like(nginx_test_config("    llm_debug_log 2m;\n"),
     qr/"llm_debug_log" directive takes "off" or a size up to 1m/, 'too large refused');

done_testing();
