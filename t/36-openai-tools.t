#!/usr/bin/perl
# A full two-turn tool conversation through the openai dialect, streamed
# and not, against the mock, which refuses a tool history that does not
# pair up the way OpenAI does: the assistant's tool_calls and the tool
# results reach the provider exactly as the client sent them.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json);

module_path();

my $KEY = 'sk-t36';
$ENV{LLM_T36_KEY} = $KEY;
my $mock = start_mock(key => $KEY);

my %UPSTREAM = (
    'call'        => 'fixture=openai/chat-tool-call.response.json',
    'answer'      => 'fixture=openai/chat-after-tool-result.response.json',
    'call-sse'    => 'fixture=openai/chat-tool-call.stream.sse',
    'answer-sse'  => 'fixture=openai/chat-text-after-tool.stream.sse',
);

my $models = join '', map {
    "    llm_model $_ provider=mock 'upstream_model=$UPSTREAM{$_}';\n"
} sort keys %UPSTREAM;

my $ng = start_nginx(<<"EOF", mock => $mock);
    llm_provider mock dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T36_KEY;
$models
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions { llm_chat; }
    }
EOF
my $port = $ng->port;

my @TOOLS = ({ type => 'function',
               function => { name => 'get_user_country',
                             description => 'The country of the user',
                             parameters => { type => 'object', properties => {} } } });
my @ASK = ({ role => 'user', content => 'Which country am I in?' });

# the second turn: the first turn's assistant message and a tool result
sub second_turn {
    my ($calls) = @_;
    return (@ASK,
            { role => 'assistant', content => undef, tool_calls => $calls },
            map { { role => 'tool', tool_call_id => $_->{id},
                    content => '{"country":"France"}' } } @$calls);
}

sub sent_messages { return mock_requests($mock)->[-1]{body}{messages} }

for my $stream (0, 1) {
    my $what = $stream ? 'stream' : 'non-stream';

    subtest "two turns, $what" => sub {
        my ($calls, $r);

        if ($stream) {
            my ($res, $chunks, $done) = chat_stream($port, 'call-sse', \@ASK);
            is($res->{status}, 200, 'turn 1: 200');
            ok($done, 'turn 1: [DONE]');
            my $acc = accumulate_stream($chunks);
            is($acc->{finish_reason}, 'tool_calls', 'turn 1: finish_reason tool_calls');
            $calls = $acc->{tool_calls};

            my $want = accumulate_stream(
                fixture_chunks('openai/chat-tool-call.stream.sse'));
            is_deeply([ map { $_->{id} } @$calls ],
                      [ map { $_->{id} } @{ $want->{tool_calls} } ],
                      'turn 1: the recorded ids');
        } else {
            $r = chat($port, { model => 'call', messages => \@ASK, tools => \@TOOLS });
            is($r->{status}, 200, 'turn 1: 200');
            my $msg = decode_json($r->{content})->{choices}[0]{message};
            $calls = $msg->{tool_calls};
            is($calls->[0]{function}{name}, 'get_user_country', 'turn 1: the tool');
        }

        ok($calls && @$calls, 'turn 1: tool calls') or return;

        my @history = second_turn($calls);
        my $body = { model => $stream ? 'answer-sse' : 'answer',
                     messages => \@history, tools => \@TOOLS };
        $body->{stream} = JSON::PP::true if $stream;

        $r = chat($port, $body);
        is($r->{status}, 200, 'turn 2: 200 (the mock accepted the pairing)')
            or diag $r->{content};

        my $sent = sent_messages();
        is_deeply($sent->[1]{tool_calls}, $calls,
                  'turn 2: the tool calls reached the provider unchanged');
        is($sent->[2]{tool_call_id}, $calls->[0]{id}, 'turn 2: the tool result pairs');

        if ($stream) {
            my ($chunks, $done) = sse_json($r->{content});
            ok($done, 'turn 2: [DONE]');
            my $acc = accumulate_stream($chunks);
            ok(length($acc->{content} // ''), 'turn 2: an answer');
            is($acc->{finish_reason}, 'stop', 'turn 2: finish_reason stop');
        } else {
            # the recorded second turn answers with its final_result tool
            my $want = decode_json(read_fixture(
                'openai/chat-after-tool-result.response.json'));
            is_deeply(decode_json($r->{content})->{choices},
                      $want->{choices}, 'turn 2: the recorded answer');
        }
    };
}

subtest 'a tool result without its call: the provider\'s 400 reaches the client' => sub {
    my $r = chat($port, { model => 'answer', messages => [
        @ASK, { role => 'tool', tool_call_id => 'call_nowhere', content => 'x' } ] });
    is($r->{status}, 400, 'status 400');
    my $e = json_or_undef($r->{content});
    like($e->{error}{message} // '', qr/tool_calls/, 'the provider\'s message');
    is($e->{error}{type}, 'invalid_request_error', 'invalid_request_error');
};

subtest 'a call left without its result: 400' => sub {
    my $r = chat($port, { model => 'answer', messages => [
        @ASK, { role => 'assistant', content => undef,
                tool_calls => [ { id => 'call_1', type => 'function',
                                  function => { name => 'f', arguments => '{}' } } ] },
        { role => 'user', content => 'and?' } ] });
    is($r->{status}, 400, 'status 400');
    like(json_or_undef($r->{content})->{error}{message} // '', qr/call_1/,
         'names the unanswered call');
};

done_testing();
