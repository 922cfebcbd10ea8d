#!/usr/bin/perl
#
# Keepalive over TLS: requests of both kinds, one after another on one
# kept-alive TLS connection.  nginx buffers TLS output, so a request that
# is not flushed waits in the buffer for ever on a reused connection.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP;
use Test::More;

module_path();

my $mock = start_mock(tls => 1);

my $ng = start_nginx(<<'EOF', mock => $mock);
    upstream tlsm {
        server 127.0.0.1:%%MOCK%%;
        keepalive 4;
    }

    llm_provider p dialect=openai upstream=tlsm tls host=localhost
                 ssl_verify=off;
    llm_model m provider=p upstream_model=demo-1;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /v1/chat/completions {
            llm_chat;
            llm_read_timeout 10s;
        }
    }
EOF

my @msg = ({ role => 'user', content => 'hi' });

for my $i (1 .. 3) {
    my $r = chat($ng->{port}, { model => 'm', messages => \@msg });
    is($r->{status}, 200, "non-stream $i: 200");
    like($r->{content}, qr/"chat\.completion"/, "non-stream $i: a completion");

    $r = chat($ng->{port}, { model => 'm', messages => \@msg,
                             stream => JSON::PP::true });
    is($r->{status}, 200, "stream $i: 200");
    like($r->{content}, qr/data: \[DONE\]\n\n\z/, "stream $i: complete");
}

my @conns = map { $_->{conn} } @{ mock_requests($mock) };

is(scalar @conns, 6, 'six requests reached the provider');
is(scalar(keys %{ { map { $_ => 1 } @conns } }), 1,
   'all on one kept-alive TLS connection');

done_testing();
