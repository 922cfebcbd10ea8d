#!/usr/bin/perl
#
# The README's JSON access-log recipe, taken from the README itself: each
# line nginx writes with it is one JSON object holding every $llm_*
# variable, for a chat, a stream, a retried request, a Responses request,
# errors, and a model name the client made up with quotes and a newline.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP qw(decode_json);
use Test::More;

module_path();

my $readme = slurp(repo_root() . '/README.md');
my ($recipe) = $readme =~ /^(log_format llm_json escape=json\n.*?';)\n/ms;
ok($recipe, 'the recipe is in the README') or do { done_testing(); exit };

my @vars = $readme =~ /^\| `\$(llm_\w+)` \|/mg;
ok(@vars >= 11, 'the README lists the $llm_* variables');
for my $v (@vars) {
    like($recipe, qr/\$\Q$v\E"/, "the recipe logs \$$v");
}

my $mock = start_mock();

(my $conf = <<'EOF') =~ s/%%RECIPE%%/$recipe/;
    %%RECIPE%%

    llm_provider oai dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;
    llm_model demo provider=oai upstream_model=demo-1;
    llm_model flaky provider=oai 'upstream_model=id=flaky,seq=503;ok';

    llm_retry tries=2 base=10ms cap=20ms;

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%PREFIX%%/llm.json llm_json;

        location = /v1/chat/completions { llm_chat; }
        location = /v1/responses { llm_responses; }
    }
EOF

my $ng = start_nginx($conf, mock => $mock);
my $port = $ng->{port};
my $hello = [{ role => 'user', content => 'Hello' }];

chat($port, { model => 'demo', messages => $hello });
chat_stream($port, 'demo', $hello, 1);
chat($port, { model => 'flaky', messages => $hello });
http_post_json($port, '/v1/responses', { model => 'demo', input => 'Hi' });
chat($port, { model => "no\"such\nmodel\\", messages => $hello });
chat($port, '{"model": "demo", ');

my @lines;
wait_for(sub {
    @lines = split /\n/, slurp("$ng->{prefix}/llm.json");
    return @lines >= 6;
}, 10);
is(scalar @lines, 6, 'one line a request');

my @logs;
for my $i (0 .. $#lines) {
    my $j = eval { decode_json($lines[$i]) };
    ok(ref $j eq 'HASH', "line $i is a JSON object") or diag($lines[$i]);
    push @logs, $j // {};
}

my ($chat, $stream, $retry, $rsp, $unknown, $bad) = @logs;

is($chat->{model}, 'demo', 'chat: the model');
is($chat->{provider}, 'oai', 'chat: the provider');
is($chat->{upstream_model}, 'demo-1', "chat: the provider's model");
is($chat->{stream}, '0', 'chat: not a stream');
like($chat->{prompt_tokens}, qr/^[1-9]\d*$/, 'chat: prompt tokens');
like($chat->{completion_tokens}, qr/^[1-9]\d*$/, 'chat: completion tokens');
is($chat->{total_tokens},
   $chat->{prompt_tokens} + $chat->{completion_tokens}, 'chat: total');
is($chat->{finish_reason}, 'stop', 'chat: finish reason');
like($chat->{ttft_ms}, qr/^\d+$/, 'chat: ttft');
is($chat->{attempts}, 'oai:200', 'chat: one attempt');
ok(!length $chat->{error}, 'chat: no error');
is($chat->{status}, '200', 'chat: status');

is($stream->{stream}, '1', 'stream: a stream');
like($stream->{completion_tokens}, qr/^[1-9]\d*$/, 'stream: its usage');

is($retry->{attempts}, 'oai:503,oai:200', 'a retry: both attempts');
like($retry->{upstream_status}, qr/^503 : 200$/, '... and both statuses');

like($rsp->{request}, qr{^POST /v1/responses}, 'responses: logged too');
like($rsp->{total_tokens}, qr/^[1-9]\d*$/, 'responses: its usage');

is($unknown->{status}, '404', 'an unknown model: 404');
is($unknown->{error}, 'model_not_found', '... its error');
ok(!length $unknown->{provider}, '... no provider');
like($unknown->{request}, qr{^POST /v1/chat/completions}, '... its request');
is($unknown->{model}, "no\"such\nmodel\\",
   '... the made-up model name as the client sent it, escaped');

is($bad->{status}, '400', 'invalid JSON: 400');
is($bad->{error}, 'invalid_json', '... its error');

done_testing();
