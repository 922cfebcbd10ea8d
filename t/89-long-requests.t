#!/usr/bin/perl
#
# Agent-sized requests: a 300 KB conversation of 151 messages goes to an
# openai provider as the client's own bytes (the model replaced), and to
# anthropic and gemini providers translated message by message from the
# scan, whatever the number of messages; the body may arrive in pieces
# (the part read with the headers, the rest in several reads, or a
# temporary file), and every way gives the same request upstream.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP;
use Test::More;

module_path();

my $mock = start_mock();

my $ng = start_nginx(<<'EOF', mock => $mock);
    llm_retry off;
    client_max_body_size 4m;

    llm_provider oai dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;
    llm_provider ant dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1;
    llm_provider gem dialect=gemini url=http://127.0.0.1:%%MOCK%%/v1beta;
    llm_model to-openai provider=oai upstream_model=up-openai;
    llm_model to-anthropic provider=ant upstream_model=up-anthropic;
    llm_model to-gemini provider=gem upstream_model=up-gemini;

    server {
        listen 127.0.0.1:%%PORT%%;
        client_body_buffer_size 1m;
        location = /v1/chat/completions { llm_chat; }
        location = /file/v1/chat/completions {
            llm_chat;
            client_body_buffer_size 16k;
        }
    }
EOF

my $port = $ng->{port};
my $JSON = JSON::PP->new->utf8->canonical;

# 151 messages of about 2 KB: escapes, non-ASCII letters, a system prompt
my @words = qw(gateway stream token budget "quoted" tab\there line\nbreak
               café naïve 日本語 emoji😀 back\\slash);
my @messages = ({ role => 'system', content => 'Be brief.' });
for my $i (1 .. 150) {
    my $text = join ' ', map { $words[($i * 7 + $_) % @words] } 1 .. 260;
    push @messages, { role => ($i % 2 ? 'user' : 'assistant'),
                      content => "turn $i: $text" };
}

sub body_for { $JSON->encode({ model => $_[0], messages => \@messages,
                               max_tokens => 64 }) }

ok(length(body_for('to-openai')) > 300_000, 'a body of more than 300 KB');

# the provider's latest request for a model
sub upstream {
    my ($model) = @_;
    my ($req) = grep { ref $_->{body} eq 'HASH'
                       && ($_->{body}{model} // '') eq $model
                       || ($_->{path} // '') =~ /\Q$model\E/ }
                reverse @{ mock_requests($mock) };
    return $req;
}

# three ways to send it: at once; headers and a little body first, the
# rest in several reads; a buffer too small, so a temporary file

sub send_pieces {
    my ($path, $body) = @_;
    my $bytes = request_bytes($path, $body);
    my $head = index($bytes, "\r\n\r\n") + 4 + 700;
    my $s = raw_request($port, substr($bytes, 0, $head));
    for (my $off = $head; $off < length $bytes; $off += 50_000) {
        sleep 0.05;
        syswrite($s, substr($bytes, $off, 50_000));
    }
    my $res = read_until($s, qr/\r\n\r\n.*\}\s*$/s, 10);
    close $s;
    return $res =~ /^HTTP\/1\.1 (\d+)/ ? $1 : 0;
}

for my $way (qw(whole pieces file)) {
    for my $target (qw(openai anthropic gemini)) {
        my $body = body_for("to-$target");
        my $status;

        if ($way eq 'whole') {
            $status = chat($port, $body)->{status};
        } elsif ($way eq 'pieces') {
            $status = send_pieces('/v1/chat/completions', $body);
        } else {
            $status = http_post_json($port, '/file/v1/chat/completions',
                                     $body)->{status};
        }

        is($status, 200, "$way, $target: answered");

        my $up = upstream("up-$target");
        ok($up, "$way, $target: the provider was asked") or next;
        my $b = $up->{body};

        if ($target eq 'openai') {
            is($b->{model}, 'up-openai', "$way, openai: its model name");
            is_deeply($b->{messages}, \@messages,
                      "$way, openai: every message as the client sent it");

        } elsif ($target eq 'anthropic') {
            is($b->{system}, 'Be brief.', "$way, anthropic: the system");
            is(scalar @{ $b->{messages} }, 150,
               "$way, anthropic: 150 messages");
            is_deeply([ map { my $c = $_->{content};
                              ref $c ? $c->[0]{text} : $c }
                        @{ $b->{messages} } ],
                      [ map { $_->{content} } @messages[1 .. 150] ],
                      "$way, anthropic: each text, in order");
            is(join('', map { substr($_->{role}, 0, 1) } @{ $b->{messages} }),
               'ua' x 75, "$way, anthropic: the roles alternate");

        } else {
            is($b->{systemInstruction}{parts}[0]{text}, 'Be brief.',
               "$way, gemini: the system");
            is_deeply([ map { $_->{parts}[0]{text} } @{ $b->{contents} } ],
                      [ map { $_->{content} } @messages[1 .. 150] ],
                      "$way, gemini: each text, in order");
            is(join('', map { substr($_->{role}, 0, 1) } @{ $b->{contents} }),
               'um' x 75, "$way, gemini: the roles alternate");
        }
    }
}

unlike($ng->error_log, qr/\[(alert|crit|emerg)\]/, 'no alerts');

# llm_heap_retain: the freed heap a worker keeps between requests

for my $ok ('llm_heap_retain off;', 'llm_heap_retain 64m;') {
    my ($rc, $out) = nginx_test_config($ok);
    is($rc, 0, "nginx -t takes $ok") or diag($out);
}

for my $t ([ 'llm_heap_retain 512k;', qr/at least 1m/ ],
           [ 'llm_heap_retain lots;', qr/at least 1m/ ],
           [ 'llm_heap_retain 8m; llm_heap_retain 16m;', qr/is duplicate/ ]) {
    my ($rc, $out) = nginx_test_config($t->[0]);
    ok($rc != 0 && $out =~ $t->[1], "nginx -t refuses $t->[0]") or diag($out);
}

done_testing();
