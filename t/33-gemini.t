#!/usr/bin/perl
#
# The gemini dialect end to end: clients speak OpenAI Chat Completions,
# the model lives on Google's Gemini API (the mock replays recorded Gemini
# traffic, CRLF framing and no terminator, and checks the native request).

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP;
use Test::More;

module_path();

my $KEY = 'gm-test-key';
my $mock = start_mock(key => $KEY);

$ENV{LLM_TEST_GEMINI_KEY} = $KEY;

my $ng = start_nginx(<<'EOF', mock => $mock);
    llm_provider gem dialect=gemini url=http://127.0.0.1:%%MOCK%%/v1beta
                 api_key=env:LLM_TEST_GEMINI_KEY;

    upstream gemini_block {
        server 127.0.0.1:%%MOCK%%;
    }

    llm_provider gemblock dialect=gemini upstream=gemini_block
                 path=/v1beta api_key=env:LLM_TEST_GEMINI_KEY;

    llm_model via-block provider=gemblock
              upstream_model=fixture=google/text.response.json;
    llm_model text provider=gem
              upstream_model=fixture=google/text.stream.sse;
    llm_model after-fn provider=gem
              upstream_model=fixture=google/text-after-function-response.stream.sse;
    llm_model thoughts provider=gem
              upstream_model=fixture=google/text-with-thoughts.stream.jsonl;
    llm_model nonstream provider=gem
              upstream_model=fixture=google/text.response.json;
    llm_model exhausted provider=gem
              upstream_model=fixture=google/error-429-resource-exhausted.json,status=429;
    llm_model missing provider=gem
              upstream_model=fixture=google/error-404-not-found.json;
    llm_model cut provider=gem
              upstream_model=fixture=google/text.stream.sse,cut_after=1;

    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions { llm_chat; }
    }
EOF

my $port = $ng->{port};

my @MSG = (
    { role => 'system', content => 'Be brief.' },
    { role => 'user', content => 'Hello' },
    { role => 'assistant', content => 'Hi!' },
    { role => 'user', content => 'Tell me more.' },
);

sub gemini_expect {
    my ($rel) = @_;
    my %want = (text => '', thought => '');
    for my $ev (@{ fixture_chunks($rel) }) {
        my $c = $ev->{candidates}[0] // {};
        for my $p (@{ $c->{content}{parts} // [] }) {
            next unless defined $p->{text};
            if ($p->{thought}) {
                $want{thought} .= $p->{text};
            } else {
                $want{text} .= $p->{text};
            }
        }
        $want{finish} = $c->{finishReason} if $c->{finishReason};
        $want{usage} = $ev->{usageMetadata} if $ev->{usageMetadata};
    }
    return \%want;
}

for my $case (['text', 'google/text.stream.sse'],
              ['after-fn', 'google/text-after-function-response.stream.sse'],
              ['thoughts', 'google/text-with-thoughts.stream.jsonl'])
{
    my ($model, $rel) = @$case;
    my $want = gemini_expect($rel);

    for my $usage (0, 1) {
        subtest "$model stream, include_usage=$usage" => sub {
            my ($r, $chunks, $done) = chat_stream($port, $model, \@MSG, $usage);
            is($r->{status}, 200, 'status 200');
            ok($done, 'ends with [DONE] (Gemini sends no terminator)');
            my $acc = accumulate_stream($chunks);
            is($acc->{content} // '', $want->{text}, 'text as recorded');
            is($acc->{reasoning_content} // '', $want->{thought},
               'thought parts as reasoning_content');
            is($acc->{finish_reason},
               ($want->{finish} // 'STOP') eq 'MAX_TOKENS' ? 'length'
                                                            : 'stop',
               'finish_reason');
            ok(!grep({ ($_->{model} // '') ne $model } @$chunks),
               "every chunk carries the client's model");
            my @u = grep { $_->{usage} } @$chunks;
            if ($usage) {
                is(scalar @u, 1, 'one usage chunk');
                is($u[0]{usage}{prompt_tokens},
                   $want->{usage}{promptTokenCount},
                   "prompt tokens: the last chunk's usage");
                is($u[0]{usage}{completion_tokens},
                   ($want->{usage}{candidatesTokenCount} // 0)
                   + ($want->{usage}{thoughtsTokenCount} // 0),
                   'completion tokens include thoughts');
            } else {
                is(scalar @u, 0, 'no usage chunk unless asked');
            }
        };
    }
}

subtest 'what Gemini received' => sub {
    my $req = mock_requests($mock)->[0];
    like($req->{path},
         qr{^/v1beta/models/.*:streamGenerateContent\?alt=sse$},
         'streamGenerateContent?alt=sse, model in the path');
    unlike($req->{path}, qr/key=/, 'no key in the URL');
    is($req->{headers}{'x-goog-api-key'}, $KEY, 'x-goog-api-key');
    ok(!exists $req->{headers}{authorization}, 'no Authorization header');
    my $b = $req->{body};
    is_deeply([ map { $_->{role} } @{ $b->{contents} } ],
              [qw(user model user)], 'roles user/model');
    like(($b->{systemInstruction}{parts}[0]{text}) // '', qr/Be brief/,
         'systemInstruction');
    ok(!exists $b->{model} && !exists $b->{messages},
       'no OpenAI fields in the body');
};

subtest 'non-stream' => sub {
    my $r = chat($port, { model => 'nonstream', messages => \@MSG });
    is($r->{status}, 200, 'status 200');
    my $j = json_or_undef($r->{content}) // {};
    my $fx = decode_json(read_fixture('google/text.response.json'));
    my $text = join '', map { $_->{text} // '' }
                        grep { !$_->{thought} }
                        @{ $fx->{candidates}[0]{content}{parts} };
    is($j->{object}, 'chat.completion', 'a chat.completion');
    is($j->{model}, 'nonstream', "the client's model");
    is($j->{choices}[0]{message}{content}, $text, 'the text');
    is($j->{choices}[0]{finish_reason}, 'stop', 'STOP is stop');
    is($j->{usage}{prompt_tokens}, $fx->{usageMetadata}{promptTokenCount},
       'prompt tokens');
    like(mock_requests($mock)->[-1]{path}, qr/:generateContent$/,
         'generateContent');
};

subtest 'an upstream{} block with path=' => sub {
    my $r = chat($port, { model => 'via-block', messages => \@MSG });
    is($r->{status}, 200, 'status 200');
    like(mock_requests($mock)->[-1]{path},
         qr{^/v1beta/models/[^/].*:generateContent$}, 'the path= base');
};

subtest 'errors' => sub {
    my $r = chat($port, { model => 'exhausted', messages => \@MSG });
    is($r->{status}, 429, 'status 429');
    is((json_or_undef($r->{content}) // {})->{error}{type},
       'rate_limit_error', 'rate_limit_error');
    my $fx = read_fixture('google/error-429-resource-exhausted.json');
    my ($delay) = $fx =~ /"retryDelay"\s*:\s*"([\d.]+)s"/;
    my $secs = int($delay); $secs++ if $secs < $delay;
    is($r->{headers}{'retry-after'}, $secs,
       "Retry-After from Gemini's retryDelay ($delay s, rounded up)");

    $r = chat($port, { model => 'missing', messages => \@MSG });
    is($r->{status}, 404, 'status 404');
    like((json_or_undef($r->{content}) // {})->{error}{message} // '',
         qr/\S/, "Google's message kept");
};

subtest 'a cut stream' => sub {
    my ($r, $chunks, $done) = chat_stream($port, 'cut', \@MSG, 0);
    ok($done, 'ends with [DONE]');
    is(($chunks->[-1]{error} // {})->{code}, 'stream_truncated',
       'a stream without a finishReason is truncated');
};

done_testing();
