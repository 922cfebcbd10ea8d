#!/usr/bin/perl
#
# POST /v1/embeddings end to end: OpenAI format in and out, for the openai
# dialect, Gemini (:batchEmbedContents) and Voyage, against the strict mock
# (which synthesizes vectors from the input text) and replaying the
# recorded openai/embeddings-*, google/embeddings-batch and voyage/*
# responses.  Batches, their order and their usage; base64 both ways.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP;
use Encode qw(encode_utf8);
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;

module_path();

my $KEY = 'emb-test-key';
my $mock = start_mock(key => $KEY);

$ENV{LLM_T50_KEY} = $KEY;
delete $ENV{LLM_T50_UNSET};

my $ng = start_nginx(<<'EOF', mock => $mock);
    log_format emb 'model=$llm_model provider=$llm_provider '
                   'up=$llm_upstream_model tokens=$llm_prompt_tokens/'
                   '$llm_completion_tokens/$llm_total_tokens '
                   'ttft=$llm_ttft error=$llm_error status=$upstream_status';

    llm_provider oai dialect=openai url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_T50_KEY;
    llm_provider gem dialect=gemini url=http://127.0.0.1:%%MOCK%%/v1beta
                 api_key=env:LLM_T50_KEY;
    llm_provider voy dialect=voyage url=http://127.0.0.1:%%MOCK%%/voyage/v1
                 api_key=env:LLM_T50_KEY;

    upstream emb_ka {
        server 127.0.0.1:%%MOCK%%;
        keepalive 4;
    }

    llm_provider oaika dialect=openai upstream=emb_ka api_key=env:LLM_T50_KEY;

    llm_model ka-batch provider=oaika type=embedding batch=1
              upstream_model=emb-ka;
    llm_model fail-batch provider=oaika type=embedding batch=1
              upstream_model=fail_text=boom;

    llm_model hang-batch provider=oaika type=embedding batch=1
              upstream_model=hang_text=stop;

    llm_provider off dialect=voyage url=http://127.0.0.1:%%MOCK%%/voyage/v1
                 api_key=env:LLM_T50_UNSET optional;
    llm_provider byok dialect=openai url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=passthrough;

    llm_model off-embed provider=off type=embedding;
    llm_model byok-embed provider=byok type=embedding upstream_model=byok-1;

    llm_model chat provider=oai upstream_model=plain;
    llm_model text-embed provider=oai type=embedding upstream_model=emb-3;
    llm_model small-batch provider=oai type=embedding batch=2
              upstream_model=max_inputs=2;
    llm_model dims provider=oai type=embedding dimensions=6
              upstream_model=emb-dims;
    llm_model oai-b64 provider=oai type=embedding
              upstream_model=fixture=openai/embeddings-base64.response.json;
    llm_model oai-float provider=oai type=embedding
              upstream_model=fixture=openai/embeddings-float-trimmed.response.json;
    llm_model oai-404 provider=oai type=embedding
              upstream_model=fixture=openai/embeddings-error-404.json;
    llm_model oai-500 provider=oai type=embedding
              upstream_model=status=500;
    llm_model oai-garbage provider=oai type=embedding
              'upstream_model=body={"data":[{"embedding":"???="}]}';
    llm_model gemini-embed provider=gem type=embedding batch=3
              task_type=RETRIEVAL_DOCUMENT dimensions=5
              upstream_model=gemini-embedding-001;
    llm_model gem-429 provider=gem type=embedding
              upstream_model=fixture=google/error-429-resource-exhausted.json,status=429;
    llm_model gem-fixture provider=gem type=embedding
              task_type=RETRIEVAL_QUERY dimensions=768
              upstream_model=fixture=google/embeddings-batch.response.json;
    llm_model voyage-3.5 provider=voy type=embedding task_type=query
              batch=2 upstream_model=voyage-3.5;
    llm_model voy-b64 provider=voy type=embedding
              upstream_model=fixture=voyage/embeddings-base64.response.json;
    llm_model voy-float provider=voy type=embedding
              upstream_model=fixture=voyage/embeddings-float-trimmed.response.json;
    llm_model voy-400 provider=voy type=embedding
              upstream_model=fixture=voyage/error-400.json;

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%PREFIX%%/emb.log emb;
        location = /v1/embeddings {
            llm_embeddings;
            client_max_body_size 256k;
            client_body_buffer_size 256k;
        }
        location = /v1/chat/completions { llm_chat; }
        location /v1/models { llm_models; }
    }
EOF

my $port = $ng->{port};

sub embed {
    my ($body) = @_;
    my $r = http_post_json($port, '/v1/embeddings', $body);
    return ($r, json_or_undef($r->{content}));
}

sub floats_of_b64 { return [ unpack('f<*', decode_base64($_[0])) ] }

# what the mock makes of a text
sub mock_vec {
    my ($t, $dims) = @_;
    my $bytes = encode_utf8($t);
    my $sum = 0;
    $sum += ord for split //, $bytes;
    my @v = (length($bytes), $sum % 997, 0.5, -0.25);
    push @v, (0) x (($dims // 4) - 4) if ($dims // 4) > 4;
    return [ @v[0 .. ($dims // 4) - 1] ];
}

sub last_requests {
    my ($n) = @_;
    my $all = mock_requests($mock);
    return [ @$all[-$n .. -1] ];
}

sub is_error {
    my ($r, $j, $status, $code, $what) = @_;
    is($r->{status}, $status, "$what: status $status");
    ok(ref $j eq 'HASH' && ref $j->{error} eq 'HASH', "$what: OpenAI error")
        or return diag($r->{content});
    ok(exists $j->{error}{$_}, "$what: error.$_") for qw(message type param code);
    is($j->{error}{code}, $code, "$what: code $code") if defined $code;
}

subtest 'openai: one string, floats' => sub {
    my ($r, $j) = embed({ model => 'text-embed', input => 'hello world' });
    is($r->{status}, 200, 'status 200') or diag($r->{content});
    like($r->{headers}{'content-type'}, qr{^application/json}, 'json');
    is($j->{object}, 'list', 'object list');
    is($j->{model}, 'text-embed', 'the client model');
    is(scalar @{ $j->{data} }, 1, 'one vector');
    is($j->{data}[0]{object}, 'embedding', 'object embedding');
    is($j->{data}[0]{index}, 0, 'index 0');
    is_deeply($j->{data}[0]{embedding}, mock_vec('hello world'), 'the floats');
    is_deeply($j->{usage}, { prompt_tokens => 2, total_tokens => 2 }, 'usage');

    my $up = last_requests(1)->[0];
    is($up->{path}, '/v1/embeddings', 'upstream path');
    is($up->{headers}{authorization}, "Bearer $KEY", 'Bearer key');
    is($up->{body}{model}, 'emb-3', 'upstream model');
    is_deeply($up->{body}{input}, ['hello world'], 'input as an array');
    ok(!exists $up->{body}{encoding_format}, 'floats asked upstream');
};

subtest 'openai: base64 encoded by the gateway' => sub {
    my ($r, $j) = embed({ model => 'text-embed', input => [ 'a', 'bb c' ],
                          encoding_format => 'base64' });
    is($r->{status}, 200, 'status 200') or diag($r->{content});
    ok(!ref $j->{data}[0]{embedding}, 'a base64 string');
    is_deeply(floats_of_b64($j->{data}[$_]{embedding}), mock_vec(('a', 'bb c')[$_]),
              "vector $_ decodes to the right float32s") for 0, 1;
};

subtest 'openai: dimensions, user and token arrays' => sub {
    my ($r, $j) = embed({ model => 'text-embed', input => [ [ 1, 2, 3 ], [ 4 ] ],
                          dimensions => 8, user => 'u1' });
    is($r->{status}, 200, 'token arrays: 200') or diag($r->{content});
    is(scalar @{ $j->{data}[0]{embedding} }, 8, 'dimensions honoured');
    my $up = last_requests(1)->[0];
    is($up->{body}{dimensions}, 8, 'dimensions sent');
    is($up->{body}{user}, 'u1', 'user sent');
    is_deeply($up->{body}{input}, [ [ 1, 2, 3 ], [ 4 ] ], 'tokens sent');

    ($r, $j) = embed({ model => 'dims', input => 'x' });
    is(scalar @{ $j->{data}[0]{embedding} }, 6, 'the model\'s dimensions=');
    ($r, $j) = embed({ model => 'dims', input => 'x', dimensions => 3 });
    is(scalar @{ $j->{data}[0]{embedding} }, 3, 'the client\'s dimensions win');
};

subtest 'batches: order, index and usage' => sub {
    my @in = map { "input number $_" . ('x' x $_) } 0 .. 6;
    my $before = scalar @{ mock_requests($mock) };
    my ($r, $j) = embed({ model => 'small-batch', input => \@in });
    is($r->{status}, 200, 'status 200') or diag($r->{content});
    my $reqs = mock_requests($mock);
    is(scalar @$reqs - $before, 4, 'four upstream requests for 7 inputs, batch=2');
    is_deeply([ map { scalar @{ $_->{body}{input} } } @$reqs[$before .. $#$reqs] ],
              [ 2, 2, 2, 1 ], 'batch sizes');
    is_deeply([ map { @{ $_->{body}{input} } } @$reqs[$before .. $#$reqs] ], \@in,
              'inputs sent in order');
    is_deeply([ map { $_->{index} } @{ $j->{data} } ], [ 0 .. 6 ], 'index renumbered');
    is_deeply([ map { $_->{embedding} } @{ $j->{data} } ], [ map { mock_vec($_) } @in ],
              'vectors in input order');
    is_deeply($j->{usage}, { prompt_tokens => 21, total_tokens => 21 }, 'usage summed');

    my $line;
    wait_for(sub {
        ($line) = grep { /^model=small-batch / } split /\n/, slurp($ng->prefix . '/emb.log');
        $line }, 10);
    like($line // '', qr{^model=small-batch provider=oai up=max_inputs=2 tokens=21/0/21 },
         'access log: model, provider and the usage summed');
    like($line // '', qr{ ttft=\d+ error=- status=200 : 200 : 200 : 200$},
         'access log: the time, no error, one upstream status per batch');

    ($r, $j) = embed({ model => 'small-batch', input => [ 'one', 'two' ] });
    is($r->{status}, 200, 'exactly one batch');
    is(scalar @{ $j->{data} }, 2, 'two vectors');
};

subtest 'batches: one keepalive connection' => sub {
    my $before = scalar @{ mock_requests($mock) };
    my ($r, $j) = embed({ model => 'ka-batch', input => [ 'k1', 'k22', 'k333' ] });
    is($r->{status}, 200, 'status 200') or diag($r->{content});
    my @reqs = @{ mock_requests($mock) }[$before .. $#{ mock_requests($mock) }];
    is(scalar @reqs, 3, 'three batches');
    is(scalar(keys %{ { map { $_->{conn} => 1 } @reqs } }), 1,
       'all on one upstream connection');
    is_deeply([ map { $_->{embedding} } @{ $j->{data} } ],
              [ map { mock_vec($_) } 'k1', 'k22', 'k333' ], 'vectors');

    ($r, $j) = embed({ model => 'ka-batch', input => [ 'again' ] });
    is($r->{status}, 200, 'the connection is still good');
};

subtest 'batches: an error in a later batch' => sub {
    my $before = scalar @{ mock_requests($mock) };
    my ($r, $j) = embed({ model => 'fail-batch', input => [ 'a', 'boom', 'c' ] });
    is_error($r, $j, 500, undef, 'batch 2 fails');
    like($j->{error}{message}, qr/boom/, "the provider's message");
    # a 500 is retried (llm_retry's default 3 tries), batch 1 is not resent
    my @sent = @{ mock_requests($mock) }[$before .. $#{ mock_requests($mock) }];
    is_deeply([ map { join '+', @{ $_->{body}{input} } } @sent ],
              [ 'a', 'boom', 'boom', 'boom' ],
              'batch 2 tried three times, batch 3 never sent');

    # an empty string is refused by the gateway before any batch
    $before = scalar @{ mock_requests($mock) };
    ($r, $j) = embed({ model => 'small-batch', input => [ 'a', 'b', '' ] });
    is_error($r, $j, 400, 'invalid_value', 'empty string');
    is(scalar @{ mock_requests($mock) } - $before, 0, 'nothing sent');
};

subtest 'the client goes away during a later batch' => sub {
    my $before = scalar @{ mock_requests($mock) };
    my $s = raw_request($port, request_bytes('/v1/embeddings', {
        model => 'hang-batch', input => [ 'go', 'stop', 'never' ] }));
    my $req;
    ok(wait_for(sub {
        ($req) = grep { ref $_->{body} eq 'HASH'
                        && ($_->{body}{input}[0] // '') eq 'stop' }
                 @{ mock_requests($mock) }[$before .. $#{ mock_requests($mock) }];
        $req }, 10), 'batch 2 reached the provider') or return;
    close $s;
    my $close;
    ok(wait_for(sub {
        ($close) = grep { $_->{conn} == $req->{conn} } @{ mock_closes($mock) };
        $close }, 10), 'its connection was closed') or return;
    is($close->{reason}, 'eof while hanging', 'while the provider was busy');
    is(scalar @{ mock_requests($mock) } - $before, 2, 'batch 3 never sent');

    my ($r, $j) = embed({ model => 'text-embed', input => 'still fine' });
    is($r->{status}, 200, 'the gateway goes on');
};

subtest 'replayed openai fixtures' => sub {
    my $b64 = decode_json(read_fixture('openai/embeddings-base64.response.json'));
    my $flt = decode_json(read_fixture('openai/embeddings-float-trimmed.response.json'));

    my ($r, $j) = embed({ model => 'oai-b64', input => ['Hello, world!'],
                          encoding_format => 'base64' });
    is($r->{status}, 200, 'base64 → base64');
    is($j->{data}[0]{embedding}, $b64->{data}[0]{embedding}, 'bytes kept');
    is_deeply($j->{usage}, $b64->{usage}, 'usage');

    ($r, $j) = embed({ model => 'oai-b64', input => ['Hello, world!'] });
    is($r->{status}, 200, 'base64 → float');
    my $want = floats_of_b64($b64->{data}[0]{embedding});
    is(scalar @{ $j->{data}[0]{embedding} }, 128, '128 floats');
    my $bad = grep { abs($j->{data}[0]{embedding}[$_] - $want->[$_])
                     > 1e-6 * abs($want->[$_]) } 0 .. 127;
    is($bad, 0, 'each float is the float32 of the base64');
    is_deeply(floats_of_b64(encode_base64(pack('f<*', @{ $j->{data}[0]{embedding} }), '')),
              $want, 'the printed floats read back as the same float32s');

    ($r, $j) = embed({ model => 'oai-float', input => [ 'a', 'b' ] });
    is($r->{status}, 200, 'float → float');
    is_deeply([ map { $_->{embedding} } @{ $j->{data} } ],
              [ map { $_->{embedding} } @{ $flt->{data} } ], 'the same numbers');
    is_deeply($j->{usage}, $flt->{usage}, 'usage');

    ($r, $j) = embed({ model => 'oai-float', input => [ 'a', 'b' ],
                       encoding_format => 'base64' });
    is($r->{status}, 200, 'float → base64');
    for my $i (0, 1) {
        my $got = floats_of_b64($j->{data}[$i]{embedding});
        my $exp = $flt->{data}[$i]{embedding};
        my $off = grep { abs($got->[$_] - $exp->[$_]) > 1e-7 } 0 .. $#$exp;
        is($off, 0, "vector $i: float32 of the floats");
    }

    ($r, $j) = embed({ model => 'oai-float', input => ['only one'] });
    is_error($r, $j, 502, 'invalid_upstream_response', 'count mismatch');

    ($r, $j) = embed({ model => 'oai-404', input => ['Hello, world!'] });
    is_error($r, $j, 404, 'model_not_found', 'provider 404');
    like($j->{error}{message}, qr/does not exist/, 'provider message');

    ($r, $j) = embed({ model => 'oai-500', input => 'x' });
    is_error($r, $j, 500, undef, 'provider 500');

    ($r, $j) = embed({ model => 'oai-garbage', input => 'x' });
    is_error($r, $j, 502, 'invalid_upstream_response', 'bad base64');
};

subtest 'gemini: batchEmbedContents' => sub {
    my @in = ('alpha', 'beta gamma', 'delta', "\x{e9}t\x{e9}", 'zeta');
    my $before = scalar @{ mock_requests($mock) };
    my ($r, $j) = embed({ model => 'gemini-embed', input => \@in });
    is($r->{status}, 200, 'status 200') or diag($r->{content});
    my $reqs = [ @{ mock_requests($mock) }[$before .. $#{ mock_requests($mock) }] ];
    is(scalar @$reqs, 2, 'two batches of at most 3');
    is($reqs->[0]{path}, '/v1beta/models/gemini-embedding-001:batchEmbedContents',
       'path');
    is($reqs->[0]{headers}{'x-goog-api-key'}, $KEY, 'x-goog-api-key');
    is_deeply($reqs->[0]{body}{requests}[0],
              { model => 'models/gemini-embedding-001',
                content => { parts => [ { text => 'alpha' } ] },
                taskType => 'RETRIEVAL_DOCUMENT', outputDimensionality => 5 },
              'native request');
    is_deeply([ map { $_->{embedding} } @{ $j->{data} } ],
              [ map { mock_vec($_, 5) } @in ], 'vectors in order');
    is_deeply([ map { $_->{index} } @{ $j->{data} } ], [ 0 .. 4 ], 'indexes');
    is_deeply($j->{usage}, { prompt_tokens => 0, total_tokens => 0 },
              'Gemini reports no usage: 0');

    ($r, $j) = embed({ model => 'gem-429', input => 'x' });
    is_error($r, $j, 429, undef, 'Gemini 429');
    like($r->{headers}{'retry-after'} // '', qr/^\d+$/, 'Retry-After from retryDelay');

    ($r, $j) = embed({ model => 'gemini-embed', input => [ [ 1, 2 ] ] });
    is_error($r, $j, 400, 'invalid_value', 'token arrays refused');

    my $fx = decode_json(read_fixture('google/embeddings-batch.response.json'));
    ($r, $j) = embed({ model => 'gem-fixture', input => 'Hello, world!' });
    is($r->{status}, 200, 'replayed batch') or diag($r->{content});
    is_deeply($j->{data}[0]{embedding}, $fx->{embeddings}[0]{values}, 'the values');
    my $meta = decode_json(read_fixture('google/embeddings-batch.response.json.meta.json'));
    my $up = last_requests(1)->[0];
    my $rec = $meta->{request}{body}{requests}[0];
    is($up->{body}{requests}[0]{$_}, $rec->{$_}, "as recorded: $_")
        for qw(taskType outputDimensionality);

    ($r, $j) = embed({ model => 'gem-fixture', input => 'Hello, world!',
                       encoding_format => 'base64' });
    my $got = floats_of_b64($j->{data}[0]{embedding});
    my $exp = $fx->{embeddings}[0]{values};
    is(scalar @$got, 768, 'base64 of 768 floats');
    is((grep { abs($got->[$_] - $exp->[$_]) > 1e-7 } 0 .. 767), 0, 'values kept');
};

subtest 'voyage' => sub {
    my $before = scalar @{ mock_requests($mock) };
    my ($r, $j) = embed({ model => 'voyage-3.5', input => [ 'q one', 'q two', 'q3' ],
                          dimensions => 5 });
    is($r->{status}, 200, 'status 200') or diag($r->{content});
    my $reqs = [ @{ mock_requests($mock) }[$before .. $#{ mock_requests($mock) }] ];
    is(scalar @$reqs, 2, 'two batches');
    is($reqs->[0]{path}, '/voyage/v1/embeddings', 'path');
    is($reqs->[0]{headers}{authorization}, "Bearer $KEY", 'Bearer key');
    is_deeply($reqs->[0]{body}, { model => 'voyage-3.5', input => [ 'q one', 'q two' ],
                                  input_type => 'query', output_dimension => 5 },
              'native request');
    is_deeply([ map { $_->{embedding} } @{ $j->{data} } ],
              [ map { mock_vec($_, 5) } 'q one', 'q two', 'q3' ], 'vectors');
    is_deeply($j->{usage}, { prompt_tokens => 5, total_tokens => 5 },
              'total_tokens summed; prompt_tokens = total_tokens');

    my $b64 = decode_json(read_fixture('voyage/embeddings-base64.response.json'));
    ($r, $j) = embed({ model => 'voy-b64', input => 'Hello, world!' });
    is($r->{status}, 200, 'replayed base64');
    my $want = floats_of_b64($b64->{data}[0]{embedding});
    is((grep { abs($j->{data}[0]{embedding}[$_] - $want->[$_])
               > 1e-6 * abs($want->[$_]) } 0 .. $#$want), 0, 'decoded to floats');
    is_deeply(floats_of_b64(encode_base64(pack('f<*', @{ $j->{data}[0]{embedding} }), '')),
              $want, 'exactly the same float32s');
    is_deeply($j->{usage}, { prompt_tokens => $b64->{usage}{total_tokens},
                             total_tokens => $b64->{usage}{total_tokens} }, 'usage');

    ($r, $j) = embed({ model => 'voy-float', input => [ 'a', 'b' ] });
    is($r->{status}, 200, 'replayed floats');
    my $flt = decode_json(read_fixture('voyage/embeddings-float-trimmed.response.json'));
    is_deeply($j->{data}[1]{embedding}, $flt->{data}[1]{embedding}, 'numbers');
    ok(!exists $j->{data}[0]{text}, 'only OpenAI members');

    ($r, $j) = embed({ model => 'voy-400', input => 'Hello, world!' });
    is_error($r, $j, 400, undef, 'voyage {"detail"} error');
    like($j->{error}{message}, qr/^Model nonexistent is not supported/, 'detail mapped');
    is($j->{error}{type}, 'invalid_request_error', 'type');
};

subtest 'client errors' => sub {
    my @cases = (
        [ 'not json', '{', 400, 'invalid_json' ],
        [ 'no model', { input => 'x' }, 400, 'missing_required_parameter' ],
        [ 'no input', { model => 'text-embed' }, 400, 'missing_required_parameter' ],
        [ 'empty input', { model => 'text-embed', input => [] }, 400, 'empty_array' ],
        [ 'bad input', { model => 'text-embed', input => [ 'a', 1.5 ] }, 400, 'invalid_type' ],
        [ 'mixed input', { model => 'text-embed', input => [ 'a', [ 1 ] ] }, 400,
          'invalid_type' ],
        [ 'object input', { model => 'text-embed', input => {} }, 400, 'invalid_type' ],
        [ 'bad format', { model => 'text-embed', input => 'a', encoding_format => 'hex' },
          400, 'invalid_value' ],
        [ 'bad dimensions', { model => 'text-embed', input => 'a', dimensions => 0 }, 400,
          'invalid_value' ],
        [ 'unknown model', { model => 'nope', input => 'a' }, 404, 'model_not_found' ],
        [ 'chat model', { model => 'chat', input => 'a' }, 400, 'model_not_supported' ],
    );
    for my $c (@cases) {
        my ($what, $body, $status, $code) = @$c;
        my ($r, $j) = embed($body);
        is_error($r, $j, $status, $code, $what);
    }

    my $r = http_get($port, '/v1/embeddings');
    is($r->{status}, 405, 'GET: 405');

    my ($r2, $j2) = embed({ model => 'off-embed', input => 'x' });
    is_error($r2, $j2, 503, 'provider_unavailable', 'provider without a key');

    ($r2, $j2) = embed({ model => 'byok-embed', input => 'x' });
    is_error($r2, $j2, 401, 'missing_api_key', 'passthrough without a key');

    $r2 = http_post_json($port, '/v1/embeddings',
                         { model => 'byok-embed', input => 'x' },
                         Authorization => "Bearer $KEY");
    is($r2->{status}, 200, 'passthrough: the client\'s key') or diag($r2->{content});
    is(mock_requests($mock)->[-1]{headers}{authorization}, "Bearer $KEY",
       'forwarded as Bearer');

    my $big = http_post_json($port, '/v1/embeddings',
                             { model => 'text-embed', input => 'x' x 300000 });
    is($big->{status}, 413, 'client_max_body_size: JSON 413');

    $r = chat($port, { model => 'text-embed',
                       messages => [ { role => 'user', content => 'hi' } ] });
    my $j = json_or_undef($r->{content});
    is_error($r, $j, 400, 'model_not_supported', 'embedding model on llm_chat');
    like($j->{error}{message}, qr/embedding model/, 'says why');
};

subtest '/v1/models lists embedding models' => sub {
    my $r = http_get($port, '/v1/models');
    my $j = json_or_undef($r->{content});
    my %ids = map { $_->{id} => 1 } @{ $j->{data} };
    ok($ids{'text-embed'} && $ids{'voyage-3.5'} && $ids{'gemini-embed'} && $ids{chat},
       'chat and embedding models');
    ok(!$ids{'off-embed'}, 'not a disabled provider\'s');
};

subtest 'configuration errors' => sub {
    my @bad = (
        [ 'llm_provider a dialect=anthropic url=http://127.0.0.1:9/v1;'
          . ' llm_model m provider=a type=embedding;', qr/has no embeddings/ ],
        [ 'llm_provider v dialect=voyage url=http://127.0.0.1:9/v1;'
          . ' llm_model m provider=v;', qr/serves embeddings only/ ],
        [ 'llm_provider o dialect=openai url=http://127.0.0.1:9/v1;'
          . ' llm_model m provider=o type=embedding task_type=query;', qr/invalid task_type/ ],
        [ 'llm_provider g dialect=gemini url=http://127.0.0.1:9/v1;'
          . ' llm_model m provider=g type=embedding task_type=query;', qr/invalid task_type/ ],
        [ 'llm_provider g dialect=gemini url=http://127.0.0.1:9/v1;'
          . ' llm_model m provider=g type=embedding batch=101;', qr/above the gemini limit/ ],
        [ 'llm_provider o dialect=openai url=http://127.0.0.1:9/v1;'
          . ' llm_model m provider=o batch=5;', qr/need type=embedding/ ],
        [ 'llm_provider o dialect=openai url=http://127.0.0.1:9/v1;'
          . ' llm_model m provider=o type=vector;', qr/chat or embedding expected/ ],
    );
    for my $b (@bad) {
        my ($rc, $out) = nginx_test_config($b->[0]);
        isnt($rc, 0, "refused: $b->[0]");
        like($out, $b->[1], 'with a clear message');
    }
};

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alert/crit in error.log');

done_testing();
