#!/usr/bin/perl
# GET /v1/models and /v1/models/{id}.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use HTTP::Tiny;

module_path();

delete $ENV{LLM_T29_MISSING_KEY};
$ENV{LLM_T29_KEY} = 'sk-t29';

my $ng = start_nginx(<<'EOF');
    llm_provider alpha dialect=openai url=http://127.0.0.1:9/v1 api_key=env:LLM_T29_KEY;
    llm_provider beta dialect=openai url=http://127.0.0.1:9/openai/v1;
    llm_provider gone dialect=openai url=http://127.0.0.1:9/v1 api_key=env:LLM_T29_MISSING_KEY optional;

    llm_model gpt-4o provider=alpha;
    llm_model meta-llama/Llama-3-8B provider=beta upstream_model=llama3;
    llm_model fast provider=beta upstream_model=llama-3.1-8b-instant;
    llm_model invisible provider=gone;

    server {
        listen 127.0.0.1:%%PORT%%;
        location /v1/models { llm_models; }
        location = /exact/models { llm_models; }
    }
EOF
my $port = $ng->port;

my %OWNER = ('gpt-4o' => 'alpha', 'meta-llama/Llama-3-8B' => 'beta', 'fast' => 'beta');

sub check_model {
    my ($m, $id) = @_;
    is($m->{id}, $id, "id $id");
    is($m->{object}, 'model', "$id: object model");
    is($m->{owned_by}, $OWNER{$id}, "$id: owned_by = provider name");
    ok(defined $m->{created} && !ref $m->{created} && $m->{created} =~ /^\d+$/,
       "$id: created is an integer");
}

sub check_list {
    my ($r, $what) = @_;
    is($r->{status}, 200, "$what: status 200");
    like($r->{headers}{'content-type'} // '', qr{^application/json}, "$what: application/json");
    my $list = json_or_undef($r->{content});
    ok(ref $list eq 'HASH', "$what: JSON object") or return;
    is($list->{object}, 'list', "$what: object list");
    my @data = @{ $list->{data} // [] };
    is_deeply([ sort map { $_->{id} } @data ], [ sort keys %OWNER ],
              "$what: every enabled model, nothing else");
    my %by_id = map { $_->{id} => $_ } @data;
    check_model($by_id{$_} // {}, $_) for sort keys %OWNER;
    unlike($r->{content}, qr/"created"\s*:\s*"/, "$what: created is a JSON number");
}

subtest 'GET /v1/models' => sub {
    check_list(http_get($port, '/v1/models'), '/v1/models');
};

subtest 'exact location' => sub {
    check_list(http_get($port, '/exact/models'), 'location = /exact/models');
};

subtest 'GET /v1/models/{id}' => sub {
    for my $id (sort keys %OWNER) {
        my $r = http_get($port, "/v1/models/$id");
        is($r->{status}, 200, "/v1/models/$id: 200");
        like($r->{headers}{'content-type'} // '', qr{^application/json}, 'application/json');
        my $m = json_or_undef($r->{content});
        ok(ref $m eq 'HASH', 'a JSON object') or next;
        check_model($m, $id);
    }
};

subtest 'unknown id -> 404' => sub {
    for my $id ('nope', 'meta-llama', 'meta-llama/Llama-3-8B/extra', 'invisible') {
        my $r = http_get($port, "/v1/models/$id");
        is($r->{status}, 404, "/v1/models/$id: 404");
        like($r->{headers}{'content-type'} // '', qr{^application/json}, 'application/json');
        my $err = json_or_undef($r->{content});
        ok(ref $err eq 'HASH' && ref $err->{error} eq 'HASH' && defined $err->{error}{message},
           'OpenAI error envelope') or diag $r->{content};
        is($err->{error}{code}, 'model_not_found', 'code model_not_found') if ref $err eq 'HASH';
    }
};

subtest 'POST -> 405 with Allow' => sub {
    for my $path ('/v1/models', '/v1/models/gpt-4o') {
        my $r = http_post_json($port, $path, { x => 1 });
        is($r->{status}, 405, "POST $path: 405");
        like($r->{headers}{allow} // '', qr/\bGET\b/, 'Allow lists GET');
        unlike($r->{headers}{allow} // '', qr/\bPOST\b/, 'Allow does not list POST');
        my $err = json_or_undef($r->{content});
        is(ref $err eq 'HASH' ? $err->{error}{code} : undef, 'method_not_allowed',
           'JSON error method_not_allowed');
    }
};

subtest 'HEAD' => sub {
    my $r = HTTP::Tiny->new(timeout => 10)->request('HEAD', "http://127.0.0.1:$port/v1/models");
    is($r->{status}, 200, 'HEAD /v1/models: 200');
    like($r->{headers}{'content-type'} // '', qr{^application/json}, 'application/json');
    my $s = raw_request($port, "HEAD /v1/models HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    my ($raw, $eof) = read_until($s, qr/(?!)/, 10);
    ok($eof, 'connection closed after the response');
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    like($head, qr{^HTTP/1\.1 200}, 'raw HEAD: 200');
    is($body, '', 'no body after the headers');
    my $get = http_get($port, '/v1/models');
    is($r->{headers}{'content-length'}, $get->{headers}{'content-length'},
       'same Content-Length as GET');
    $r = HTTP::Tiny->new(timeout => 10)->request('HEAD', "http://127.0.0.1:$port/v1/models/fast");
    is($r->{status}, 200, 'HEAD /v1/models/fast: 200');
};

done_testing;
