#!/usr/bin/perl
# The client goes away: the provider connection is closed at once (so the
# provider stops generating) and $llm_error is "client_closed".

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP ();

module_path();

my $KEY = 'sk-test-disconnect';
$ENV{LLM_T26_KEY} = $KEY;

my $mock = start_mock(key => $KEY);

my $ng = start_nginx(<<'EOF', mock => $mock);
    log_format llmerr 'model=$llm_model stream=$llm_stream status=$status error=$llm_error';

    llm_provider mock dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T26_KEY;
    llm_model slow provider=mock 'upstream_model=events=200,delay_ms=50';
    llm_model hang provider=mock upstream_model=hang=1;
    llm_model hang-s provider=mock upstream_model=hang=1;

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%PREFIX%%/llm.log llmerr;

        location = /v1/chat/completions {
            llm_chat;
        }
    }
EOF
my $port = $ng->port;

# The mock's request record for this scenario, waiting for it to appear.
sub mock_request_for {
    my ($scenario, $seen) = @_;
    my $req;
    wait_for(sub {
        ($req) = grep { ref $_->{body} eq 'HASH' && ($_->{body}{model} // '') eq $scenario
                        && !$seen->{ $_->{n} } } @{ mock_requests($mock) };
        $req;
    }, 10);
    $seen->{ $req->{n} } = 1 if $req;
    return $req;
}

sub close_of {
    my ($conn) = @_;
    my $rec;
    wait_for(sub { ($rec) = grep { $_->{conn} == $conn } @{ mock_closes($mock) }; $rec }, 10);
    return $rec;
}

sub access_lines {
    my ($model) = @_;
    return grep { /^model=\Q$model\E / } split /\n/, slurp($ng->prefix . '/llm.log');
}

my %seen;

subtest 'client disconnects mid-stream' => sub {
    my $s = raw_request($port, request_bytes('/v1/chat/completions', {
        model => 'slow', stream => JSON::PP::true,
        messages => [ { role => 'user', content => 'hi' } ] }));
    my $got = read_until($s, sub { (() = $_[0] =~ /"content":"tok\d+ "/g) >= 3 }, 15);
    ok((() = $got =~ /"content":"tok\d+ "/g) >= 3, 'the client received a few events');
    close $s;

    my $req = mock_request_for('events=200,delay_ms=50', \%seen);
    ok($req, 'the mock got the request') or return;
    my $close = close_of($req->{conn});
    ok($close, 'the provider connection was closed (within 10 s)') or return;
    is($close->{by}, 'client', 'closed by the gateway (the mock\'s client)');
    like($close->{reason} // '', qr/while streaming|BrokenPipe|ConnectionReset/,
         'closed while the mock was still streaming (it never sent all 200 events)');
    is($close->{requests}, 1, 'one request on that connection');

    my @lines;
    ok(wait_for(sub { @lines = access_lines('slow'); @lines }, 10), 'access log line written');
    like($lines[-1] // '', qr/ stream=1 .* error=client_closed$/, '$llm_error is client_closed');
};

for my $case ([ hang => 0 ], [ 'hang-s' => 1 ]) {
    my ($model, $stream) = @$case;
    subtest "client disconnects while the provider is silent (stream=$stream)" => sub {
        my $s = raw_request($port, request_bytes('/v1/chat/completions', {
            model => $model, ($stream ? (stream => JSON::PP::true) : ()),
            messages => [ { role => 'user', content => 'hi' } ] }));
        my $req = mock_request_for('hang=1', \%seen);
        ok($req, 'the mock got the request') or return;
        my ($data) = read_until($s, qr/./, 0.5);
        is($data, '', 'nothing sent to the client yet');
        close $s;

        my $close = close_of($req->{conn});
        ok($close, 'the provider connection was closed (within 10 s)') or return;
        is($close->{by}, 'client', 'closed by the gateway');
        is($close->{reason}, 'eof while hanging', 'while the mock was still waiting to answer');

        my @lines;
        ok(wait_for(sub { @lines = access_lines($model); @lines }, 10), 'access log line written');
        like($lines[-1] // '', qr/ stream=$stream .* error=client_closed$/,
             '$llm_error is client_closed');
    };
}

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alert/crit in error.log');

done_testing;
