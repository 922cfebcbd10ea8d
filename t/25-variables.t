#!/usr/bin/perl
# The $llm_* variables in an access log.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json);

module_path();

my $mock = start_mock(key => 'sk-t25');
$ENV{LLM_T25_KEY} = 'sk-t25';

my @VARS = qw(llm_model llm_provider llm_upstream_model llm_stream llm_prompt_tokens
              llm_completion_tokens llm_total_tokens llm_finish_reason llm_ttft llm_error);
my $format = join '|', map { "\$$_" } @VARS;

my $ng = start_nginx(<<"EOF", mock => $mock);
    log_format llmvars '$format|\$status';

    llm_provider prov dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T25_KEY;
    llm_model plain provider=prov 'upstream_model=fixture=openai/chat-text.response.json';
    llm_model streamed provider=prov 'upstream_model=fixture=openai/chat-tool-call.stream.sse';
    llm_model limited provider=prov 'upstream_model=status=429,retry_after=3';
    llm_model cut provider=prov 'upstream_model=events=10,cut_after=3';

    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions {
            llm_chat;
            access_log %%PREFIX%%/llm.log llmvars;
        }
    }
EOF
my $port = $ng->port;
my $log = $ng->prefix . '/llm.log';
my $T = JSON::PP::true;

sub log_lines {
    open my $fh, '<', $log or return ();
    return grep { /\n\z/ } <$fh>;
}

# Send a request, wait for its access log line, return it as a hash.
sub logged {
    my ($body) = @_;
    my $before = () = log_lines();
    my $r = chat($port, $body);
    my @lines;
    ok(wait_for(sub { @lines = log_lines(); @lines > $before }, 10), 'access log line written')
        or return ($r, {});
    chomp(my $line = $lines[$before]);
    my @f = split /\|/, $line, -1;
    is(scalar @f, @VARS + 1, 'every variable logged') or diag $line;
    my %v;
    @v{ @VARS, 'status' } = @f;
    $v{line} = $line;
    return ($r, \%v);
}

my $msgs = [ { role => 'user', content => 'Hello there' } ];

subtest 'non-stream request' => sub {
    my ($r, $v) = logged({ model => 'plain', messages => $msgs });
    is($r->{status}, 200, 'status 200');
    is($v->{llm_model}, 'plain', '$llm_model');
    is($v->{llm_provider}, 'prov', '$llm_provider');
    is($v->{llm_upstream_model}, 'fixture=openai/chat-text.response.json', '$llm_upstream_model');
    is($v->{llm_stream}, '0', '$llm_stream');
    is($v->{llm_prompt_tokens}, '16', '$llm_prompt_tokens');
    is($v->{llm_completion_tokens}, '363', '$llm_completion_tokens');
    is($v->{llm_total_tokens}, '379', '$llm_total_tokens');
    is($v->{llm_finish_reason}, 'stop', '$llm_finish_reason');
    like($v->{llm_ttft}, qr/^\d+$/, '$llm_ttft is a non-negative integer');
    like($v->{llm_error}, qr/^-?$/, '$llm_error empty (or -) on success');
    is($v->{status}, '200', '$status');
};

subtest 'stream request without include_usage' => sub {
    my ($r, $v) = logged({ model => 'streamed', stream => $T, messages => $msgs });
    is($r->{status}, 200, 'status 200');
    my ($chunks) = sse_json($r->{content});
    ok(!grep({ defined $_->{usage} } @$chunks), 'the client got no usage');
    is($v->{llm_model}, 'streamed', '$llm_model');
    is($v->{llm_provider}, 'prov', '$llm_provider');
    is($v->{llm_upstream_model}, 'fixture=openai/chat-tool-call.stream.sse', '$llm_upstream_model');
    is($v->{llm_stream}, '1', '$llm_stream');
    is($v->{llm_prompt_tokens}, '53', '$llm_prompt_tokens logged anyway');
    is($v->{llm_completion_tokens}, '15', '$llm_completion_tokens');
    is($v->{llm_total_tokens}, '68', '$llm_total_tokens');
    is($v->{llm_finish_reason}, 'tool_calls', '$llm_finish_reason');
    like($v->{llm_ttft}, qr/^\d+$/, '$llm_ttft is a non-negative integer');
    like($v->{llm_error}, qr/^-?$/, '$llm_error empty (or -) on success');
};

subtest 'unknown model' => sub {
    my ($r, $v) = logged({ model => 'no-such-model', messages => $msgs });
    is($r->{status}, 404, 'status 404');
    is($v->{llm_model}, 'no-such-model', '$llm_model is what the client asked for');
    is($v->{llm_provider}, '-', '$llm_provider -');
    is($v->{llm_upstream_model}, '-', '$llm_upstream_model -');
    is($v->{$_}, '-', "\$$_ -") for qw(llm_prompt_tokens llm_completion_tokens llm_total_tokens);
    is($v->{llm_finish_reason}, '-', '$llm_finish_reason -');
    is($v->{llm_error}, 'model_not_found', '$llm_error model_not_found');
    is($v->{status}, '404', '$status');
};

subtest 'upstream 429' => sub {
    my ($r, $v) = logged({ model => 'limited', messages => $msgs });
    is($r->{status}, 429, 'status 429');
    is($r->{headers}{'retry-after'}, '3', 'Retry-After passed on');
    is($v->{llm_model}, 'limited', '$llm_model');
    is($v->{llm_provider}, 'prov', '$llm_provider');
    is($v->{llm_stream}, '0', '$llm_stream');
    is($v->{$_}, '-', "\$$_ -") for qw(llm_prompt_tokens llm_completion_tokens llm_total_tokens);
    is($v->{llm_error}, 'rate_limit_exceeded', "\$llm_error = the provider's code");
    is($v->{status}, '429', '$status');
};

subtest 'stream cut by the provider' => sub {
    my ($r, $v) = logged({ model => 'cut', stream => $T, messages => $msgs });
    is($r->{status}, 200, 'status 200 (the stream had started)');
    my @payloads = sse_events($r->{content});
    is($payloads[-1], '[DONE]', 'the client still gets [DONE]');
    my $err = eval { decode_json($payloads[-2] // '') } // {};
    is($err->{error}{code}, 'stream_truncated', 'error frame before [DONE]');
    is($v->{llm_model}, 'cut', '$llm_model');
    is($v->{llm_stream}, '1', '$llm_stream');
    is($v->{llm_error}, 'stream_truncated', '$llm_error stream_truncated');
};

done_testing;
