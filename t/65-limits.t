#!/usr/bin/perl
# nginx's own limits in front of llm_chat: limit_req and limit_conn answer
# 429 in the OpenAI error envelope with Retry-After, with the error_page
# recipe of the README and nginx.conf.example.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json);

module_path();

my $KEY = 'sk-test-limits';
$ENV{LLM_T55_KEY} = $KEY;

my $mock = start_mock(key => $KEY);

my $ng = start_nginx(<<'EOF', mock => $mock);
    llm_provider p1 dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T55_KEY;
    llm_model ok provider=p1 'upstream_model=id=ok,seq=ok';
    llm_model held provider=p1 'upstream_model=id=held,events=3,stall_after=1';

    limit_req_zone  $binary_remote_addr zone=llm_rate:1m rate=1r/m;
    limit_conn_zone $binary_remote_addr zone=llm_conns:1m;

    server {
        listen 127.0.0.1:%%PORT%%;

        # the recipe: nginx's limits answer 429, error_page makes it JSON
        location = /v1/chat/completions {
            limit_req  zone=llm_rate burst=2 nodelay;
            limit_req_status  429;
            limit_conn  llm_conns 1;
            limit_conn_status 429;
            error_page  429 = @llm_429;

            llm_chat;
        }

        location @llm_429 {
            default_type  application/json;
            add_header    Retry-After 60 always;
            return 429 '{"error":{"message":"Too many requests, slow down.","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}\n';
        }
    }
EOF
my $port = $ng->port;
my @MSG = ({ role => 'user', content => 'hi' });

sub check_429 {
    my ($res, $name) = @_;
    is($res->{status}, 429, "$name: 429");
    like($res->{headers}{'content-type'} // '', qr{^application/json}, "$name: JSON");
    is($res->{headers}{'retry-after'}, '60', "$name: Retry-After");
    my $body = json_or_undef($res->{content} // '');
    is_deeply([ sort keys %{ $body->{error} // {} } ], [qw(code message param type)],
              "$name: the OpenAI error envelope");
    is($body->{error}{code}, 'rate_limit_exceeded', "$name: code");
}

subtest 'limit_conn: a second concurrent request' => sub {
    my $s = raw_request($port, request_bytes('/v1/chat/completions', {
        model => 'held', stream => JSON::PP::true, messages => \@MSG }));
    ok(wait_for(sub {
        decode_json(http_get($mock->port, '/__requests?key=held')->{content})->{count} == 1
    }, 10), 'the first request is in flight');
    check_429(chat($port, { model => 'ok', messages => \@MSG }), 'limit_conn');
    close $s;
};

subtest 'limit_req: past the burst' => sub {
    # the held stream above was the first request, burst=2 allows two more
    my $res = chat($port, { model => 'ok', messages => \@MSG });
    my $n = 0;
    while ($res->{status} == 200 && $n++ < 5) {
        $res = chat($port, { model => 'ok', messages => \@MSG });
    }
    check_429($res, 'limit_req');
};

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alert/crit in error.log');

done_testing;
