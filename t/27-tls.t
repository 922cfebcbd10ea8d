#!/usr/bin/perl
# TLS to the provider: SNI is sent, the certificate is verified by default
# (trust store and name), ssl_verify=off turns verification off.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP qw(decode_json);

module_path();

my $KEY = 'sk-test-tls';
$ENV{LLM_T27_KEY} = $KEY;

# ------------------------------------------------------------ certificates

my $dir = tempdir('llm-tls-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{LLM_TEST_KEEP});
chmod 0755, $dir;

sub run_ok {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    die "failed: $cmd\n$out" if $? != 0;
}

run_ok("openssl req -x509 -newkey rsa:2048 -nodes -keyout '$dir/ca.key' -out '$dir/ca.pem'"
       . " -days 2 -subj '/CN=LLM Test CA'");

# A server certificate for $name signed by the test CA.
sub server_cert {
    my ($name) = @_;
    my ($key, $csr, $crt, $ext) = map { "$dir/$name.$_" } qw(key csr pem ext);
    open my $fh, '>', $ext or die "$ext: $!";
    print $fh "subjectAltName=DNS:$name\nbasicConstraints=CA:FALSE\n"
            . "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n";
    close $fh;
    run_ok("openssl req -newkey rsa:2048 -nodes -keyout '$key' -out '$csr' -subj '/CN=$name'");
    run_ok("openssl x509 -req -in '$csr' -CA '$dir/ca.pem' -CAkey '$dir/ca.key'"
           . " -CAcreateserial -out '$crt' -days 2 -extfile '$ext'");
    chmod 0644, $key, $crt;
    return { cert => $crt, key => $key };
}

my $ca = "$dir/ca.pem";
chmod 0644, $ca;
my $mock = start_mock(key => $KEY, tls => server_cert('mock.test'));
my $mock_lh = start_mock(key => $KEY, tls => server_cert('localhost'));

# Sanity: the default store really does not trust our CA.
my $default_ca = '/etc/ssl/certs/ca-certificates.crt';
ok(-f $default_ca, "default trust store $default_ca exists");
unlike(`openssl verify -CAfile '$default_ca' '$dir/mock.test.pem' 2>&1`, qr/: OK$/m,
       'the default store does not trust the test CA');
like(`openssl verify -CAfile '$ca' '$dir/mock.test.pem' 2>&1`, qr/: OK$/m,
     'the test CA does');

# One upstream block per provider (TLS sessions are cached per upstream
# server), plus one block shared by a verifying and a non-trusting provider.
my $ng = start_nginx(<<"EOF", mock => $mock, mock2 => $mock_lh);
    upstream tls_ok      { server 127.0.0.1:%%MOCK%%; }
    upstream tls_default { server 127.0.0.1:%%MOCK%%; }
    upstream tls_off     { server 127.0.0.1:%%MOCK%%; }
    upstream tls_wrong   { server 127.0.0.1:%%MOCK%%; }
    upstream tls_shared  { server 127.0.0.1:%%MOCK%%; }

    llm_provider p_ok dialect=openai upstream=tls_ok tls host=mock.test
                 ssl_trusted_certificate=$ca api_key=env:LLM_T27_KEY;
    llm_provider p_default dialect=openai upstream=tls_default tls host=mock.test
                 api_key=env:LLM_T27_KEY;
    llm_provider p_off dialect=openai upstream=tls_off tls host=mock.test
                 ssl_verify=off api_key=env:LLM_T27_KEY;
    llm_provider p_wrong dialect=openai upstream=tls_wrong tls host=wrong.test
                 ssl_trusted_certificate=$ca api_key=env:LLM_T27_KEY;
    llm_provider p_shared_ok dialect=openai upstream=tls_shared tls host=mock.test
                 ssl_trusted_certificate=$ca api_key=env:LLM_T27_KEY;
    llm_provider p_shared_default dialect=openai upstream=tls_shared tls host=mock.test
                 api_key=env:LLM_T27_KEY;
    llm_provider p_url dialect=openai url=https://localhost:%%MOCK2%%/v1
                 ssl_trusted_certificate=$ca api_key=env:LLM_T27_KEY;
    llm_provider p_url_default dialect=openai url=https://localhost:%%MOCK2%%/v1
                 api_key=env:LLM_T27_KEY;

    llm_model ok provider=p_ok upstream_model=echo=1;
    llm_model default provider=p_default upstream_model=echo=1;
    llm_model off provider=p_off upstream_model=echo=1;
    llm_model wrong provider=p_wrong upstream_model=echo=1;
    llm_model shared-ok provider=p_shared_ok upstream_model=echo=1;
    llm_model shared-default provider=p_shared_default upstream_model=echo=1;
    llm_model url provider=p_url upstream_model=echo=1;
    llm_model url-default provider=p_url_default upstream_model=echo=1;
    llm_model ok-stream provider=p_ok upstream_model=events=3;

    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions {
            llm_chat;
        }
    }
EOF
my $port = $ng->port;

sub ask {
    my ($model, %extra) = @_;
    return chat($port, { model => $model, messages => [ { role => 'user', content => 'hi' } ],
                         %extra });
}

sub is_unreachable {
    my ($res, $name) = @_;
    subtest $name => sub {
        is($res->{status}, 502, 'status 502');
        like($res->{headers}{'content-type'} // '', qr{^application/json}, 'JSON');
        my $body = eval { decode_json($res->{content}) } // {};
        my $err = $body->{error} // {};
        is_deeply([ sort keys %$err ], [qw(code message param type)], 'full error envelope');
        ok(length($err->{message} // ''), 'message');
        is($err->{type}, 'api_error', 'api_error');
        is($err->{code}, 'upstream_unreachable', 'upstream_unreachable');
    };
}

sub new_requests {
    my ($m, $before) = @_;
    my $all = mock_requests($m);
    return [ @$all[$before .. $#$all] ];
}

subtest 'trusted CA + SNI mock.test' => sub {
    my $n = @{ mock_requests($mock) };
    my $res = ask('ok');
    is($res->{status}, 200, 'status 200') or diag($res->{content});
    my $reqs = new_requests($mock, $n);
    is(scalar @$reqs, 1, 'one request reached the mock');
    is($reqs->[0]{sni}, 'mock.test', 'SNI mock.test');
    is($reqs->[0]{headers}{host}, 'mock.test', 'Host: mock.test');
    is($reqs->[0]{headers}{authorization}, "Bearer $KEY", 'key sent over TLS');

    $res = ask('ok-stream', stream => JSON::PP::true);
    is($res->{status}, 200, 'a stream over TLS');
    my ($chunks, $done) = sse_json($res->{content});
    ok($done, 'stream complete');
    is(accumulate_stream($chunks)->{content}, 'tok0 tok1 tok2 ', 'stream content');
};

subtest 'default trust store does not trust the test CA' => sub {
    my $n = @{ mock_requests($mock) };
    is_unreachable(ask('default'), 'verification is on by default -> 502');
    is(scalar @{ new_requests($mock, $n) }, 0, 'no request was sent to the untrusted server');
    like($ng->error_log, qr/\[error\].*(certificate verify|verify error|certificate)/i,
         'error.log says why');
};

subtest 'ssl_verify=off' => sub {
    my $n = @{ mock_requests($mock) };
    my $res = ask('off');
    is($res->{status}, 200, 'status 200 without the CA') or diag($res->{content});
    is(new_requests($mock, $n)->[0]{sni}, 'mock.test', 'SNI still sent');
};

subtest 'name mismatch' => sub {
    my $n = @{ mock_requests($mock) };
    is_unreachable(ask('wrong'), 'CA ok but host=wrong.test -> 502');
    is(scalar @{ new_requests($mock, $n) }, 0, 'no request was sent');
};

subtest 'url=https://localhost:PORT' => sub {
    my $n = @{ mock_requests($mock_lh) };
    my $res = ask('url');
    is($res->{status}, 200, 'status 200') or diag($res->{content});
    my $reqs = new_requests($mock_lh, $n);
    is($reqs->[0]{sni}, 'localhost', 'SNI localhost');
    is($reqs->[0]{headers}{host}, "localhost:" . $mock_lh->port, 'Host with the port');

    $n = @{ mock_requests($mock_lh) };
    is_unreachable(ask('url-default'), 'same url without the CA -> 502');
    is(scalar @{ new_requests($mock_lh, $n) }, 0, 'no request was sent');
};

subtest 'providers sharing an upstream block keep their own trust' => sub {
    my $res = ask('shared-ok');
    is($res->{status}, 200, 'verifying provider: 200') or diag($res->{content});
    my $n = @{ mock_requests($mock) };
    # a cached TLS session of the trusting provider must not let the
    # non-trusting one skip certificate verification
    is_unreachable(ask('shared-default'), 'non-trusting provider on the same block -> 502');
    is(scalar @{ new_requests($mock, $n) }, 0, 'no request was sent');
    is(ask('shared-ok')->{status}, 200, 'verifying provider still fine');
};

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alert/crit in error.log');

done_testing;
