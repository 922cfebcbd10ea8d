#!/usr/bin/perl
# Recorded Groq, xAI, Mistral and DeepSeek traffic replayed through the
# gateway: the client sees OpenAI-shaped chunks whatever the provider's
# quirks (reasoning field name, tool-call deltas without index, usage on
# the finish chunk, keep-alive comments).

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json);

module_path();

my $KEY = 'sk-t22';
$ENV{LLM_T22_KEY} = $KEY;
my $mock = start_mock(key => $KEY);

my @STREAMS = qw(
    groq/chat-tool-call.stream.sse
    groq/chat-text-reasoning.stream.sse
    groq/chat-tool-call.stream.jsonl
    xai/chat-text.stream.jsonl
    xai/chat-tool-call.stream.jsonl
    mistral/chat-tool-call.stream.jsonl
    mistral/chat-text.stream.jsonl
    deepseek/chat-tool-call.stream.jsonl
);
my @RESPONSES = qw(
    groq/chat-text.response.json
    groq/chat-tool-call.response.json
    xai/chat-text.response.json
    xai/chat-tool-call.response.json
    deepseek/chat-text.response.json
);

# client model name -> scenario
my %MODELS;
for my $rel (@STREAMS, @RESPONSES) {
    (my $name = $rel) =~ s{[/.]}{-}g;
    $MODELS{$name} = "fixture=$rel";
    $MODELS{"$name-split"} = "fixture=$rel,split=7" if $rel =~ /stream/;
}
$MODELS{'deepseek-keepalive'} = 'fixture=deepseek/chat-tool-call.stream.jsonl,keepalive_comments=3';
$MODELS{'deepseek-keepalive-split'}
    = 'fixture=deepseek/chat-tool-call.stream.jsonl,keepalive_comments=3,split=5';

sub model_of { (my $name = $_[0]) =~ s{[/.]}{-}g; return $name }

my $provider_for = sub { (split m{/}, $_[0])[0] };
my $conf = '';
for my $p (qw(groq xai mistral deepseek)) {
    $conf .= "    llm_provider $p dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T22_KEY;\n";
}
for my $name (sort keys %MODELS) {
    (my $rel = $MODELS{$name}) =~ s/^fixture=//;
    $conf .= "    llm_model $name provider=" . $provider_for->($rel) . " 'upstream_model=$MODELS{$name}';\n";
}

my $ng = start_nginx(<<"EOF", mock => $mock);
$conf
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions { llm_chat; }
    }
EOF
my $port = $ng->port;
my $T = JSON::PP::true;

# ---------------------------------------------------------------- helpers

# What an OpenAI client should make of the provider's chunks: Groq's
# "reasoning" is "reasoning_content", a tool-call delta without index is
# at its position in the list, and one with an id is a function.
sub expected_result {
    my ($chunks) = @_;
    my @norm = map { JSON::PP->new->decode(JSON::PP->new->encode($_)) } @$chunks;
    for my $c (@norm) {
        for my $ch (@{ $c->{choices} // [] }) {
            my $d = $ch->{delta} or next;
            $d->{reasoning_content} = delete $d->{reasoning} if exists $d->{reasoning};
            my $i = 0;
            for my $tc (@{ $d->{tool_calls} // [] }) {
                $tc->{index} //= $i;
                $tc->{type} //= 'function' if defined $tc->{id};
                $i++;
            }
        }
    }
    return accumulate_stream(\@norm);
}

# The provider's usage numbers: the last non-null usage (Groq also has it
# in x_groq.usage).
sub provider_usage {
    my ($chunks) = @_;
    my $u;
    for my $c (@$chunks) {
        $u = $c->{x_groq}{usage} if ref $c->{x_groq} eq 'HASH' && $c->{x_groq}{usage};
        $u = $c->{usage} if defined $c->{usage};
    }
    return $u;
}

sub stream_request {
    my ($model, $include_usage) = @_;
    my $body = { model => $model, stream => $T,
                 messages => [ { role => 'user', content => 'Hello' } ] };
    $body->{stream_options} = { include_usage => $T } if $include_usage;
    return chat($port, $body);
}

# Decoded chunks of a successful stream, or undef after a failed test.
sub client_chunks {
    my ($r, $model) = @_;
    is($r->{status}, 200, 'status 200') or diag $r->{content};
    like($r->{headers}{'content-type'} // '', qr{^text/event-stream}, 'text/event-stream');
    my ($chunks, $done) = eval { sse_json($r->{content}) };
    ok($chunks, 'every event is JSON') or return diag $@;
    ok($done, 'ends with [DONE]');
    my @bad = grep { ($_->{model} // '') ne $model } @$chunks;
    is(scalar @bad, 0, "every chunk's model is the client's name");
    return $chunks;
}

sub same_result {
    my ($got, $want) = @_;
    is($got->{content}, $want->{content}, 'content');
    is($got->{reasoning_content}, $want->{reasoning_content}, 'reasoning_content');
    is($got->{reasoning}, undef, 'no delta.reasoning left');
    is($got->{role}, $want->{role}, 'role');
    is($got->{finish_reason}, $want->{finish_reason}, 'finish_reason');
    my @g = @{ $got->{tool_calls} // [] };
    my @w = @{ $want->{tool_calls} // [] };
    is(scalar @g, scalar @w, 'number of tool calls');
    for my $i (0 .. $#w) {
        my ($gc, $wc) = ($g[$i] // {}, $w[$i]);
        is($gc->{id}, $wc->{id}, "tool call $i: id");
        is($gc->{type}, 'function', "tool call $i: type function");
        is($gc->{function}{name}, $wc->{function}{name}, "tool call $i: name");
        my $ga = json_or_undef($gc->{function}{arguments} // '');
        ok(defined $ga, "tool call $i: arguments are JSON");
        is_deeply($ga, decode_json($wc->{function}{arguments}), "tool call $i: arguments");
    }
}

# ---------------------------------------------------------------- streams

my %unsplit;   # rel -> decoded client chunks with include_usage

for my $rel (@STREAMS) {
    my $model = model_of($rel);
    my $fixture = fixture_chunks($rel);
    my $want = expected_result($fixture);
    my $usage = provider_usage($fixture);
    ok($usage, "$rel: the fixture has usage numbers") or next;

    subtest "$rel, include_usage true" => sub {
        my $chunks = client_chunks(stream_request($model, 1), $model) or return;
        $unsplit{$rel} = $chunks;
        my $got = eval { accumulate_stream($chunks) };
        ok($got, 'the SDK accumulator accepts the chunks') or return diag $@;
        same_result($got, $want);

        my @with_usage = grep { defined $_->{usage} } @$chunks;
        is(scalar @with_usage, 1, 'exactly one chunk with usage');
        my $last = $chunks->[-1];
        is_deeply($last->{choices}, [], 'last chunk before [DONE] has choices: []');
        ok(defined $last->{usage}, 'last chunk carries the usage');
        for my $f (qw(prompt_tokens completion_tokens total_tokens)) {
            is($last->{usage}{$f}, $usage->{$f}, "usage.$f = provider's ($usage->{$f})");
        }
        if (my $r = $usage->{completion_tokens_details}{reasoning_tokens}) {
            is($last->{usage}{completion_tokens_details}{reasoning_tokens}, $r,
               "usage.completion_tokens_details.reasoning_tokens = provider's ($r)");
        }
        my @empty = grep { ref $_->{choices} eq 'ARRAY' && !@{ $_->{choices} } } @$chunks;
        is(scalar @empty, 1, 'one chunk with choices: []');
    };

    subtest "$rel, include_usage absent" => sub {
        my $chunks = client_chunks(stream_request($model, 0), $model) or return;
        my $got = eval { accumulate_stream($chunks) };
        ok($got, 'the SDK accumulator accepts the chunks') or return diag $@;
        same_result($got, $want);
        my @with_usage = grep { defined $_->{usage} } @$chunks;
        is(scalar @with_usage, 0, 'no chunk has a non-null usage');
        my @empty = grep { ref $_->{choices} eq 'ARRAY' && !@{ $_->{choices} } } @$chunks;
        is(scalar @empty, 0, 'no chunk with choices: []');
    };

    subtest "$rel, split=7" => sub {
        my $chunks = client_chunks(stream_request("$model-split", 1), "$model-split") or return;
        my $ref = $unsplit{$rel} or return fail('no unsplit result to compare with');
        # The same chunks apart from the model name.
        my @a = map { { %$_, model => 'x' } } @$chunks;
        my @b = map { { %$_, model => 'x' } } @$ref;
        is_deeply(\@a, \@b, 'same chunks as the unsplit stream');
    };
}

subtest 'mistral tool-call deltas get index and type' => sub {
    my $model = model_of('mistral/chat-tool-call.stream.jsonl');
    my $chunks = client_chunks(stream_request($model, 0), $model) or return;
    my @tcs = map { @{ $_->{delta}{tool_calls} // [] } }
              map { @{ $_->{choices} // [] } } @$chunks;
    ok(@tcs >= 1, 'tool call deltas present');
    for my $tc (@tcs) {
        is($tc->{index}, 0, 'index 0');
        is($tc->{type}, 'function', 'type function');
    }
};

subtest 'groq reasoning arrives as reasoning_content' => sub {
    my $model = model_of('groq/chat-text-reasoning.stream.sse');
    my $chunks = client_chunks(stream_request($model, 0), $model) or return;
    my @deltas = map { $_->{delta} // {} } map { @{ $_->{choices} // [] } } @$chunks;
    ok((grep { defined $_->{reasoning_content} } @deltas) > 5, 'reasoning_content deltas');
    is(scalar(grep { exists $_->{reasoning} } @deltas), 0, 'no delta.reasoning');
};

subtest 'xai reasoning_content passed through' => sub {
    my $model = model_of('xai/chat-text.stream.jsonl');
    my $chunks = client_chunks(stream_request($model, 0), $model) or return;
    my $acc = accumulate_stream($chunks);
    my $want = accumulate_stream(fixture_chunks('xai/chat-text.stream.jsonl'));
    ok(length($want->{reasoning_content} // '') > 0, 'fixture has reasoning');
    is($acc->{reasoning_content}, $want->{reasoning_content}, 'reasoning_content unchanged');
};

# ---------------------------------------------------------------- keep-alive comments

for my $variant ('deepseek-keepalive', 'deepseek-keepalive-split') {
    subtest "deepseek with keepalive_comments=3 ($variant)" => sub {
        my $r = stream_request($variant, 1);
        my $chunks = client_chunks($r, $variant) or return;
        unlike($r->{content}, qr/(?:\A|\n):/, 'no comment reaches the client');
        unlike($r->{content}, qr/keep-alive/, 'no keep-alive text');
        my $ref = $unsplit{'deepseek/chat-tool-call.stream.jsonl'}
            or return fail('no plain deepseek result to compare with');
        my @a = map { { %$_, model => 'x' } } @$chunks;
        my @b = map { { %$_, model => 'x' } } @$ref;
        is_deeply(\@a, \@b, 'events intact: same chunks as without comments');
    };
}

# ---------------------------------------------------------------- non-stream

for my $rel (@RESPONSES) {
    subtest "non-stream $rel" => sub {
        my $model = model_of($rel);
        my $r = chat($port, { model => $model, messages => [ { role => 'user', content => 'Hello' } ] });
        is($r->{status}, 200, 'status 200');
        like($r->{headers}{'content-type'} // '', qr{^application/json}, 'application/json');
        my $want = decode_json(read_fixture($rel));
        $want->{model} = $model;
        is_deeply(json_or_undef($r->{content}), $want, 'body = fixture with model = client name');
        my $sent = mock_requests($mock)->[-1];
        is($sent->{body}{model}, "fixture=$rel", 'upstream got upstream_model');
        ok(!exists $sent->{body}{stream_options}, 'no stream_options');
    };
}

done_testing;
