#!/usr/bin/perl
# The commit point: nothing reaches the client before the first content
# token (stream) or the whole body (non-stream), so a stream that dies
# before its first token, or a provider that stays silent past
# llm_first_token_timeout, is retried; after the first token a failure
# ends the stream with an error frame and [DONE], with no retry.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json);

module_path();

my $KEY = 'sk-test-commit';
$ENV{LLM_T51_KEY} = $KEY;

my $mock  = start_mock(key => $KEY);
my $mock2 = start_mock(key => $KEY);

my $ng = start_nginx(<<'EOF', mock => $mock, mock2 => $mock2);
    log_format llm 'model=$llm_model provider=$llm_provider status=$status '
                   'attempts=$llm_attempts error=$llm_error ttft=$llm_ttft';

    llm_provider p1 dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T51_KEY;
    llm_provider p2 dialect=openai url=http://127.0.0.1:%%MOCK2%%/v1 api_key=env:LLM_T51_KEY;
    llm_provider an dialect=anthropic url=http://127.0.0.1:%%MOCK2%%/v1 api_key=env:LLM_T51_KEY;

    llm_retry tries=2 base=10ms cap=20ms;
    llm_first_token_timeout 3s;

    llm_model cut-early provider=p1 'upstream_model=id=cut-early,seq=events:5|cut_after:1;events:3';
    llm_model inband-early provider=p1 'upstream_model=id=inband-early,seq=error_event:503;events:3';
    llm_model inband-final provider=p1 'upstream_model=id=inband-final,seq=error_event:400;events:3';
    llm_model stall-early provider=p1 'upstream_model=id=stall-early,seq=events:5|stall_after:1;events:3';
    llm_model hang-then-ok provider=p1 'upstream_model=id=hang-then-ok,seq=hang:1;ok';
    llm_model limited-stream provider=p1 'upstream_model=id=limited-stream,seq=429;events:2';
    llm_model cut-late provider=p1 'upstream_model=id=cut-late,events=5,cut_after=3';
    llm_model silent provider=p1 'upstream_model=id=silent,events=5,stall_after=1';
    llm_model claude provider=an 'upstream_model=id=claude,fixture=anthropic/messages-text.stream.sse';
    llm_model silent-then-claude candidates=silent,claude;
    llm_model held provider=p1 'upstream_model=id=held,events=3,stall_after=1';

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%PREFIX%%/llm.log llm;

        location = /v1/chat/completions {
            llm_chat;
        }

        location = /patient/v1/chat/completions {
            llm_chat;
            llm_first_token_timeout 0;
        }
    }
EOF
my $port = $ng->port;
my @MSG = ({ role => 'user', content => 'hi' });

sub count { return mock_count(@_) }

my %seen;
sub log_line { return next_log_line($ng->prefix . '/llm.log', $_[0], \%seen) }

sub check_clean_stream {
    my ($model, $content) = @_;
    my ($res, $chunks, $done) = chat_stream($port, $model, \@MSG);
    is($res->{status}, 200, 'status 200');
    like($res->{headers}{'content-type'} // '', qr{^text/event-stream}, 'a stream');
    ok($done, 'ends with [DONE]');
    ok(!(grep { $_->{error} } @$chunks), 'no error frame');
    my $acc = accumulate_stream($chunks);
    is($acc->{content}, $content, 'the content of the attempt that served, once');
    is($acc->{role}, 'assistant', 'one role (not one per attempt)');
    is($acc->{finish_reason}, 'stop', 'finished');
    return $acc;
}

subtest 'a stream that dies before its first token is retried' => sub {
    check_clean_stream('cut-early', 'tok0 tok1 tok2 ');
    is(count($mock, 'cut-early'), 2, 'two requests');
    like(log_line('cut-early'), qr/attempts=p1:error,p1:200 error=- ttft=\d+$/,
         '$llm_attempts; no $llm_error; $llm_ttft');
};

subtest 'an in-band error event before the first token is retried' => sub {
    check_clean_stream('inband-early', 'tok0 tok1 tok2 ');
    is(count($mock, 'inband-early'), 2, 'two requests');
    like(log_line('inband-early'), qr/attempts=p1:503,p1:200 error=- /,
         '$llm_attempts shows the in-band status');
};

subtest 'an in-band 400 before the first token: not retried, an error frame' => sub {
    my ($res, $chunks, $done) = chat_stream($port, 'inband-final', \@MSG);
    is($res->{status}, 200, 'a stream (the provider sent 200)');
    my @errors = grep { $_->{error} } @$chunks;
    is(scalar @errors, 1, 'one error frame');
    is($errors[0]{error}{message}, 'mock in-band error', "the provider's message");
    ok($done, 'then [DONE]');
    is(count($mock, 'inband-final'), 1, 'not retried');
};

subtest 'first-token timeout: a stream that stays silent after its headers' => sub {
    check_clean_stream('stall-early', 'tok0 tok1 tok2 ');
    is(count($mock, 'stall-early'), 2, 'two requests');
    like(log_line('stall-early'), qr/attempts=p1:first_token_timeout,p1:200 /,
         '$llm_attempts');
    like($ng->error_log, qr/\[warn\].*failed: first_token_timeout; retrying/,
         'logged at warn');
};

subtest 'first-token timeout: a non-stream request with no answer at all' => sub {
    my $res = chat($port, { model => 'hang-then-ok', messages => \@MSG });
    is($res->{status}, 200, 'status 200');
    is(count($mock, 'hang-then-ok'), 2, 'two requests');
    like(log_line('hang-then-ok'), qr/attempts=p1:first_token_timeout,p1:200 /,
         '$llm_attempts');
    my ($close) = grep { $_->{reason} && $_->{reason} eq 'eof while hanging' }
                  @{ mock_closes($mock) };
    ok($close, 'the silent connection was closed by the gateway');
};

subtest 'a 429 to a stream request is retried' => sub {
    check_clean_stream('limited-stream', 'tok0 tok1 ');
    like(log_line('limited-stream'), qr/attempts=p1:429,p1:200 /, '$llm_attempts');
};

subtest 'a silent provider fails over to another dialect' => sub {
    my ($res, $chunks, $done) = chat_stream($port, 'silent-then-claude', \@MSG);
    is($res->{status}, 200, 'status 200');
    ok($done, 'ends with [DONE]');
    ok(length(accumulate_stream($chunks)->{content} // ''), 'content from Anthropic');
    is(count($mock, 'silent'), 2, 'two tries on the silent one');
    is(count($mock2, 'claude'), 1, 'then Anthropic');
    like(log_line('silent-then-claude'),
         qr/provider=an .*attempts=p1:first_token_timeout,p1:first_token_timeout,an:200 /,
         '$llm_attempts, $llm_provider');
};

subtest 'every try silent: a 504 in the OpenAI envelope' => sub {
    my $res = chat($port, { model => 'silent', messages => \@MSG, stream => JSON::PP::true });
    is($res->{status}, 504, 'status 504');
    like($res->{headers}{'content-type'} // '', qr{^application/json}, 'JSON, not a stream');
    is(json_or_undef($res->{content})->{error}{code}, 'first_token_timeout', 'code');
};

subtest 'after the first token a failure ends the stream, no retry' => sub {
    my ($res, $chunks, $done) = chat_stream($port, 'cut-late', \@MSG);
    is($res->{status}, 200, 'status 200');
    ok($done, 'ends with [DONE]');
    my @err = grep { $_->{error} } @$chunks;
    is(scalar @err, 1, 'one error frame');
    is($err[0]{error}{code}, 'stream_truncated', 'code stream_truncated') if @err;
    is(accumulate_stream([ grep { !$_->{error} } @$chunks ])->{content}, 'tok0 tok1 ',
       'the tokens before the failure');
    is(count($mock, 'cut-late'), 1, 'one request only');
    like(log_line('cut-late'), qr/attempts=p1:200 /, '$llm_attempts');
};

subtest 'no header is sent before the first token' => sub {
    my $s = raw_request($port, request_bytes('/patient/v1/chat/completions', {
        model => 'held', stream => JSON::PP::true, messages => \@MSG }));
    ok(wait_for(sub { count($mock, 'held') >= 1 }, 10), 'the provider got the request');
    my ($data) = read_until($s, qr/./, 1);
    is($data, '', 'the client got nothing, not even the status line');
    close $s;
};

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alert/crit in error.log');

done_testing;
