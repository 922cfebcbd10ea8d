#!/usr/bin/perl
#
# Embedding batches over TLS: one upstream request per batch, each started
# when the previous body is in hand, on one kept-alive TLS connection, and
# on fresh TLS connections when there is no keepalive.

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

    upstream tlsnoka {
        server 127.0.0.1:%%MOCK%%;
    }

    llm_provider ka dialect=openai upstream=tlsm tls host=localhost
                 ssl_verify=off;
    llm_provider noka dialect=voyage upstream=tlsnoka tls host=localhost
                 path=/voyage/v1 ssl_verify=off;

    llm_model e-ka provider=ka type=embedding batch=2 upstream_model=e-1;
    llm_model e-noka provider=noka type=embedding batch=1
              upstream_model=voyage-3.5;

    server {
        listen 127.0.0.1:%%PORT%%;

        location = /v1/embeddings {
            llm_embeddings;
            llm_read_timeout 10s;
        }
    }
EOF

my @in = map { "text $_" } 1 .. 5;

for my $case ([ 'e-ka', 3 ], [ 'e-noka', 5 ]) {
    my ($model, $n) = @$case;
    my $before = scalar @{ mock_requests($mock) };

    my $r = http_post_json($ng->{port}, '/v1/embeddings',
                           { model => $model, input => \@in,
                             encoding_format => 'base64' });
    is($r->{status}, 200, "$model: 200") or diag($r->{content});
    my $j = json_or_undef($r->{content}) // {};
    is_deeply([ map { $_->{index} } @{ $j->{data} // [] } ], [ 0 .. 4 ],
              "$model: five vectors in order");

    my @reqs = @{ mock_requests($mock) }[$before .. $#{ mock_requests($mock) }];
    is(scalar @reqs, $n, "$model: $n batches");
    is_deeply([ map { @{ $_->{body}{input} } } @reqs ], \@in,
              "$model: every input once, in order");

    my %conns = map { $_->{conn} => 1 } @reqs;
    is(scalar keys %conns, $model eq 'e-ka' ? 1 : $n,
       $model eq 'e-ka' ? "$model: one kept-alive TLS connection"
                        : "$model: one TLS connection per batch");
}

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alert/crit in error.log');

done_testing();
