#!/usr/bin/perl
# Secrets: provider keys are only ever written into the upstream request:
# never logged (debug level included), never returned to the client. The
# client's own Authorization header is not forwarded.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP qw(decode_json encode_json);

module_path();

my $SECRET = 'sk-test-SECRET-123456';
my $CLIENT = 'client-key-XYZ';
$ENV{LLM_T28_KEY} = $SECRET;

my $dir = tempdir('llm-secret-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{LLM_TEST_KEEP});
chmod 0755, $dir;
open my $fh, '>', "$dir/key" or die "$dir/key: $!";
print $fh "$SECRET\n";
close $fh;
chmod 0644, "$dir/key";

my $mock = start_mock(key => $SECRET);

my $ng = start_nginx(<<"EOF", mock => $mock, log_level => 'debug');
    log_format llmall '\$remote_addr "\$request" \$status \$body_bytes_sent '
                      'model=\$llm_model provider=\$llm_provider '
                      'upstream_model=\$llm_upstream_model stream=\$llm_stream '
                      'tokens=\$llm_prompt_tokens/\$llm_completion_tokens/\$llm_total_tokens '
                      'finish=\$llm_finish_reason ttft=\$llm_ttft error=\$llm_error '
                      'upstream=\$upstream_addr ustatus=\$upstream_status '
                      'urt=\$upstream_response_time uht=\$upstream_header_time';

    llm_retry off;   # one provider request per client request
    llm_provider penv  dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T28_KEY;
    llm_provider pfile dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=file:$dir/key;

    llm_model echo       provider=penv  upstream_model=echo=1;
    llm_model stream     provider=penv  upstream_model=events=3;
    llm_model denied     provider=penv  upstream_model=status=401;
    llm_model hang       provider=penv  upstream_model=hang=1;
    llm_model file-echo  provider=pfile upstream_model=echo=1;
    llm_model file-stream provider=pfile upstream_model=events=2;

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%PREFIX%%/llm.log llmall;

        location = /v1/chat/completions {
            llm_chat;
            llm_read_timeout 1s;
        }
        location /v1/models {
            llm_models;
        }
    }
EOF
my $port = $ng->port;

my %auth = (Authorization => "Bearer $CLIENT");
my @responses;

sub ask {
    my ($name, $body, $want_status) = @_;
    my $res = chat($port, $body, %auth);
    is($res->{status}, $want_status, "$name: status $want_status") or diag($res->{content});
    push @responses, [ $name, $res ];
    return $res;
}

my @MSG = ({ role => 'user', content => 'tell me a secret' });

my $res = ask('non-stream (env key)', { model => 'echo', messages => \@MSG }, 200);
is(decode_json(decode_json($res->{content})->{choices}[0]{message}{content})->{model}, 'echo=1',
   'the echo shows what the provider got');
$res = ask('stream (env key)', { model => 'stream', messages => \@MSG, stream => JSON::PP::true,
                                 stream_options => { include_usage => JSON::PP::true } }, 200);
my ($chunks, $done) = sse_json($res->{content});
ok($done, 'stream complete');
ask('non-stream (file key)', { model => 'file-echo', messages => \@MSG }, 200);
ask('stream (file key)', { model => 'file-stream', messages => \@MSG, stream => JSON::PP::true }, 200);
ask('provider 401', { model => 'denied', messages => \@MSG }, 401);
ask('timeout', { model => 'hang', messages => \@MSG }, 504);
ask('timeout (stream)', { model => 'hang', messages => \@MSG, stream => JSON::PP::true }, 504);
ask('validation error', { model => 'echo', messages => \@MSG, temperature => 'hot' }, 400);
ask('unknown model', { model => 'nope', messages => \@MSG }, 404);
my $models = http_get($port, '/v1/models', %auth);
is($models->{status}, 200, '/v1/models');
push @responses, [ 'models', $models ];

subtest 'what the provider received' => sub {
    my $reqs = mock_requests($mock);
    is(scalar @$reqs, 7, 'seven requests reached the provider (not the validation errors)');
    for my $r (@$reqs) {
        my $what = "request $r->{n} ($r->{body}{model})";
        is($r->{headers}{authorization}, "Bearer $SECRET", "$what: the configured key");
        my $all = encode_json($r);
        unlike($all, qr/\Q$CLIENT\E/, "$what: the client's key is not forwarded anywhere");
        is(scalar(() = $all =~ /\Q$SECRET\E/g), 1, "$what: the key only in Authorization");
    }
};

subtest 'nothing returns the key' => sub {
    for my $pair (@responses) {
        my ($name, $r) = @$pair;
        my $headers = join "\n", map {
            my ($k, $v) = ($_, $r->{headers}{$_});
            map { "$k: $_" } ref $v ? @$v : ($v)
        } sort keys %{ $r->{headers} };
        unlike($headers, qr/\Q$SECRET\E|SECRET-123456/, "$name: not in response headers");
        unlike($r->{content} // '', qr/\Q$SECRET\E|SECRET-123456/, "$name: not in the response body");
        unlike($headers . ($r->{content} // ''), qr/\Q$CLIENT\E/, "$name: client key not echoed");
    }
};

subtest 'nothing logs the key' => sub {
    my $access;
    ok(wait_for(sub { $access = slurp($ng->prefix . '/llm.log');
                      (() = $access =~ /\n/g) >= 10 }, 10), 'all requests in the access log');
    my $error = $ng->error_log;
    like($error, qr/\[debug\]/, 'the error log is at debug level');
    like($error, qr/llm/, 'with the module\'s own debug lines');
    like($access, qr/model=echo provider=penv upstream_model=echo=1 stream=0 /, 'access log has the $llm_* values');

    for my $log ([ 'error.log', $error ], [ 'llm access log', $access ],
                 [ 'default access.log', $ng->access_log ],
                 [ 'nginx stderr', slurp($ng->prefix . '/stderr.log') ]) {
        my ($name, $text) = @$log;
        unlike($text, qr/\Q$SECRET\E/, "$name: no key");
        unlike($text, qr/SECRET-123456/, "$name: no part of the key");
    }
};

done_testing;
