#!/usr/bin/perl
# Embeddings through the attempt machinery: each batch is an attempt
# sequence of its own (retries with back-off, Retry-After, fallback to
# the next candidate in its own dialect), batches done are never resent,
# the deadline bounds the whole request, a client gone during a back-off
# stops everything, passive health counts embedding failures; routes over
# embedding models, and the config rules for them.  Asserts on what the
# mocks received and on $llm_attempts, never on wall-clock time.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use JSON::PP qw(decode_json);
use Encode qw(encode_utf8);

module_path();

my $KEY = 'sk-test-emb-routing';
$ENV{LLM_T67_KEY} = $KEY;

my $mock = start_mock(key => $KEY);

# one provider per test: passive health counts failures per provider
my $providers = join '', map {
    my ($name, $dialect, $path) = @$_;
    "    llm_provider $name dialect=$dialect "
    . "url=http://127.0.0.1:%%MOCK%%$path api_key=env:LLM_T67_KEY;\n"
} [ 'mid', 'openai', '/v1' ], [ 'fo', 'openai', '/v1' ],
  [ 'fg', 'gemini', '/v1beta' ], [ 'fv', 'voyage', '/voyage/v1' ],
  [ 'ra', 'openai', '/v1' ], [ 'rb', 'openai', '/v1' ],
  [ 'bk', 'openai', '/v1' ], [ 'no', 'openai', '/v1' ],
  [ 'ab', 'openai', '/v1' ], [ 'dl', 'openai', '/v1' ],
  [ 'hp', 'openai', '/v1' ], [ 'hb', 'openai', '/v1' ],
  [ 'ft', 'openai', '/v1' ];

my $ng = start_nginx(<<"EOF", mock => $mock);
    log_format emb 'model=\$llm_model status=\$status '
                   'attempts=\$llm_attempts error=\$llm_error '
                   'tokens=\$llm_prompt_tokens/\$llm_total_tokens';

    llm_health zone=llm_health:1m fails=3 window=30s cooldown=30s;
    llm_retry tries=3 base=10ms cap=20ms;
    llm_retry_after_cap 3s;

$providers
    # batch 2 fails once, then all is well
    llm_model mid-e provider=mid type=embedding batch=1
              'upstream_model=id=mid,seq=ok;500;ok';
    llm_alias mid-r mid-e;

    # openai: batch 2 always fails; gemini: its second batch always
    # fails; voyage: fine, with its bigger batch
    llm_model fo-e provider=fo type=embedding batch=2
              'upstream_model=id=fo,seq=ok;500';
    llm_model fg-e provider=fg type=embedding batch=1
              'upstream_model=id=fg,seq=ok;503';
    llm_model fv-e provider=fv type=embedding batch=3
              upstream_model=voyage-3.5;
    llm_model three candidates=fo-e,fg-e,fv-e;

    llm_model ra-e provider=ra type=embedding batch=1
              'upstream_model=id=ra,seq=ok;status:429|retry_after:1;ok';
    llm_model rb-e provider=rb type=embedding batch=1
              'upstream_model=id=rb,seq=ok;status:429|retry_after:120';
    llm_model bk-e provider=bk type=embedding batch=1
              upstream_model=id=bk,seq=ok;
    llm_model ra-r candidates=ra-e;
    llm_model rb-r candidates=rb-e,bk-e;

    llm_model no-e provider=no type=embedding batch=1
              'upstream_model=id=no,seq=ok;400';
    llm_model no-r candidates=no-e,bk-e;

    llm_model ab-e provider=ab type=embedding batch=1
              'upstream_model=id=ab,seq=ok;500';
    llm_model dl-e provider=dl type=embedding batch=1
              upstream_model=hang_text=stop;

    llm_model hp-e provider=hp type=embedding batch=1
              upstream_model=id=hp,status=500;
    llm_model hb-e provider=hb type=embedding batch=1
              upstream_model=id=hb,seq=ok;
    llm_model hr candidates=hp-e,hb-e;

    upstream emb_ka {
        server 127.0.0.1:%%MOCK%%;
        keepalive 4;
    }

    llm_provider ka dialect=openai upstream=emb_ka api_key=env:LLM_T67_KEY;
    llm_model ka-e provider=ka type=embedding batch=1
              'upstream_model=id=ka,seq=ok;429;ok';
    llm_model ka-r candidates=ka-e;

    llm_model ft-e provider=ft type=embedding batch=1
              upstream_model=hang_text=stop;
    llm_model ft-r candidates=ft-e,bk-e;

    llm_model tok-r candidates=fv-e,bk-e;
    llm_model tok-v candidates=fv-e;

    server {
        listen 127.0.0.1:%%PORT%%;
        access_log %%PREFIX%%/emb.log emb;

        location = /v1/embeddings {
            llm_embeddings;
        }

        location = /slow/v1/embeddings {
            llm_embeddings;
            llm_retry tries=3 base=30s cap=30s;
        }

        location = /deadline/v1/embeddings {
            llm_embeddings;
            llm_deadline 500ms;
        }

        location = /ftt/v1/embeddings {
            llm_embeddings;
            llm_retry tries=2 base=10ms cap=10ms;
            llm_first_token_timeout 300ms;
        }

        location = /v1/chat/completions {
            llm_chat;
        }

        location /v1/models {
            llm_models;
        }
    }
EOF
my $port = $ng->port;

sub embed {
    my ($body, $path) = @_;
    my $r = http_post_json($port, $path // '/v1/embeddings', $body);
    return ($r, json_or_undef($r->{content}));
}

sub count { return mock_count($mock, $_[0]) }

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

# the inputs of each request the mock saw since $before
sub inputs_since {
    my ($before) = @_;
    my $all = mock_requests($mock);
    return [ map {
        my $b = $_->{body};
        ref $b ne 'HASH' ? '?'
        : $b->{requests} ? join('+', map { $_->{content}{parts}[0]{text} }
                                         @{ $b->{requests} })
        : ref $b->{input} ? join('+', @{ $b->{input} })
        : $b->{input} // '?'
    } @$all[$before .. $#$all] ];
}

# the access log line of the next request for $model
my %seen;
sub log_line { return next_log_line($ng->prefix . '/emb.log', $_[0], \%seen) }

sub vectors_of {
    my ($j) = @_;
    return [ map { $_->{embedding} } @{ $j->{data} // [] } ];
}

subtest 'a failed middle batch is retried; earlier batches are not resent' => sub {
    my $before = @{ mock_requests($mock) };
    my ($r, $j) = embed({ model => 'mid-r', input => [ 'a b', 'c', 'd e f' ] });
    is($r->{status}, 200, 'status 200') or diag $r->{content};
    is_deeply(inputs_since($before), [ 'a b', 'c', 'c', 'd e f' ],
              'batch 2 sent twice, batches 1 and 3 once');
    is_deeply(vectors_of($j), [ map { mock_vec($_) } 'a b', 'c', 'd e f' ],
              'vectors in input order');
    is_deeply([ map { $_->{index} } @{ $j->{data} } ], [ 0, 1, 2 ], 'indexes');
    is($j->{usage}{prompt_tokens}, 6, 'usage of the batches that counted');
    is($j->{model}, 'mid-r', 'the client model name');
    like(log_line('mid-r'),
         qr/status=200 attempts=mid:200,mid:500,mid:200,mid:200 error=- tokens=6\/6$/,
         '$llm_attempts lists every attempt of every batch');
};

subtest 'fallback across dialects: openai, gemini, voyage' => sub {
    my @in = map { "t$_" } 1 .. 6;
    my $before = @{ mock_requests($mock) };
    my ($r, $j) = embed({ model => 'three', input => \@in, dimensions => 6 });
    is($r->{status}, 200, 'status 200') or diag $r->{content};
    is_deeply(inputs_since($before),
              [ 't1+t2', ('t3+t4') x 3,     # openai, batch=2
                't3', ('t4') x 3,           # gemini, batch=1
                't4+t5+t6' ],               # voyage, batch=3
              'each batch rebuilt in the candidate\'s dialect and batch size');
    is_deeply(vectors_of($j), [ map { mock_vec($_, 6) } @in ],
              'vectors in input order, dimensions kept in every dialect');
    my $all = mock_requests($mock);
    my @sent = @$all[$before .. $#$all];
    is($sent[0]{body}{dimensions}, 6, 'openai: dimensions');
    is($sent[4]{body}{requests}[0]{outputDimensionality}, 6,
       'gemini: outputDimensionality');
    is($sent[-1]{body}{output_dimension}, 6, 'voyage: output_dimension');
    like($sent[4]{path}, qr{^/v1beta/models/[^/]+:batchEmbedContents$},
         'gemini path');
    like($sent[-1]{path}, qr{^/voyage/v1/embeddings$}, 'voyage path');
    like(log_line('three'),
         qr/status=200 attempts=fo:200,fo:500,fo:500,fo:500,fg:200,fg:503,fg:503,fg:503,fv:200 /,
         '$llm_attempts');
};

subtest 'Retry-After is honoured, or above the cap goes to the next candidate' => sub {
    my ($r, $j) = embed({ model => 'ra-r', input => [ 'x', 'y', 'z' ] });
    is($r->{status}, 200, 'status 200') or diag $r->{content};
    is(count('ra'), 4, 'batch 2 retried after its Retry-After');
    like(log_line('ra-r'), qr/attempts=ra:200,ra:429,ra:200,ra:200 /,
         '$llm_attempts');
    like($ng->error_log, qr/attempt 2 to provider "ra" .*failed: 429; retrying in 1000 ms/,
         'the wait is the provider\'s');

    ($r, $j) = embed({ model => 'rb-r', input => [ 'x', 'y', 'z' ] });
    is($r->{status}, 200, 'status 200') or diag $r->{content};
    is(count('rb'), 2, 'Retry-After: 120 is over the cap: no retry there');
    is_deeply(vectors_of($j), [ map { mock_vec($_) } 'x', 'y', 'z' ], 'vectors');
    like(log_line('rb-r'), qr/attempts=rb:200,rb:429,bk:200,bk:200 /,
         'the next candidate takes batches 2 and 3');
};

subtest 'a 400 is not retried, nor sent elsewhere' => sub {
    my $before = @{ mock_requests($mock) };
    my ($r, $j) = embed({ model => 'no-r', input => [ 'x', 'y', 'z' ] });
    is($r->{status}, 400, 'status 400');
    ok(ref $j eq 'HASH' && ref $j->{error} eq 'HASH', 'an OpenAI error')
        or diag $r->{content};
    is_deeply(inputs_since($before), [ 'x', 'y' ], 'batch 3 never sent');
    like(log_line('no-r'), qr/status=400 attempts=no:200,no:400 /,
         '$llm_attempts');
};

subtest 'the client goes away during a back-off' => sub {
    my $s = raw_request($port, request_bytes('/slow/v1/embeddings',
                        { model => 'ab-e', input => [ 'a', 'b', 'c' ] }));
    ok(wait_for(sub {
        $ng->error_log =~ /provider "ab" .*failed: 500; retrying in/ }, 10),
       'batch 2 failed, the back-off began') or return;
    close $s;
    like(log_line('ab-e'), qr/status=499 attempts=ab:200,ab:500 error=client_closed /,
         'the request ended');
    is(count('ab'), 2, 'no further upstream request');
};

subtest 'the deadline bounds the whole request' => sub {
    my $before = @{ mock_requests($mock) };
    my ($r, $j) = embed({ model => 'dl-e', input => [ 'go', 'stop', 'never' ] },
                        '/deadline/v1/embeddings');
    is($r->{status}, 504, 'status 504');
    is($j->{error}{code}, 'deadline_exceeded', 'deadline_exceeded')
        or diag $r->{content};
    is_deeply(inputs_since($before), [ 'go', 'stop' ], 'batch 3 never sent');
    like(log_line('dl-e'), qr/attempts=dl:200,dl:deadline /, '$llm_attempts');
};

subtest 'a batch without an answer: first-token timeout, then fallback' => sub {
    my $before = @{ mock_requests($mock) };
    my ($r, $j) = embed({ model => 'ft-r', input => [ 'go', 'stop', 'on' ] },
                        '/ftt/v1/embeddings');
    is($r->{status}, 200, 'status 200') or diag $r->{content};
    is_deeply(vectors_of($j), [ map { mock_vec($_) } 'go', 'stop', 'on' ],
              'vectors');
    is_deeply(inputs_since($before), [ 'go', 'stop', 'stop', 'stop', 'on' ],
              'batch 2 tried twice, then on the next candidate');
    like(log_line('ft-r'),
         qr/attempts=ft:200,ft:first_token_timeout,ft:first_token_timeout,bk:200,bk:200 /,
         '$llm_attempts');
};

subtest 'passive health counts embedding failures' => sub {
    my ($r, $j) = embed({ model => 'hr', input => [ 'x' ] });
    is($r->{status}, 200, 'status 200');
    like(log_line('hr'), qr/attempts=hp:500,hp:500,hp:500,hb:200 /,
         'three failures, then the next candidate');
    like($ng->error_log, qr/provider "hp" failed 3 times within 30000 ms, cooling down/,
         'the provider cools down');

    ($r, $j) = embed({ model => 'hr', input => [ 'x', 'y' ] });
    is($r->{status}, 200, 'status 200');
    like(log_line('hr'), qr/attempts=hb:200,hb:200 /, 'the cooling provider is skipped');
    is(count('hp'), 3, 'it saw nothing more');
};

subtest 'keepalive across batches and a retried 429' => sub {
    my $before = @{ mock_requests($mock) };
    my ($r, $j) = embed({ model => 'ka-r', input => [ 'k1', 'k2', 'k3' ] });
    is($r->{status}, 200, 'status 200') or diag $r->{content};
    is_deeply(vectors_of($j), [ map { mock_vec($_) } 'k1', 'k2', 'k3' ], 'vectors');
    my $all = mock_requests($mock);
    my @sent = @$all[$before .. $#$all];
    is(scalar @sent, 4, 'three batches, one retried');
    is(scalar(keys %{ { map { $_->{conn} => 1 } @sent } }), 1,
       'all on one upstream connection');
    like(log_line('ka-r'), qr/attempts=ka:200,ka:429,ka:200,ka:200 /,
         '$llm_attempts');
};

subtest 'token arrays: candidates that take only text are left out' => sub {
    my ($r, $j) = embed({ model => 'tok-r', input => [ [ 1, 2, 3 ] ] });
    is($r->{status}, 200, 'status 200') or diag $r->{content};
    like(log_line('tok-r'), qr/attempts=bk:200 /, 'voyage skipped');

    ($r, $j) = embed({ model => 'tok-v', input => [ [ 1, 2, 3 ] ] });
    is($r->{status}, 400, 'no candidate left: 400');
    is($j->{error}{code}, 'invalid_value', 'invalid_value') or diag $r->{content};
};

subtest 'an embedding route on llm_chat' => sub {
    my $r = http_post_json($port, '/v1/chat/completions',
                           { model => 'three',
                             messages => [ { role => 'user', content => 'hi' } ] });
    is($r->{status}, 400, 'status 400');
    is(json_or_undef($r->{content})->{error}{code}, 'model_not_supported',
       'model_not_supported');

    my $list = json_or_undef(http_get($port, '/v1/models')->{content});
    ok((grep { $_->{id} eq 'three' } @{ $list->{data} // [] }),
       'an embedding route is listed by /v1/models');
};

subtest 'config: routes over embedding models' => sub {
    my $P = "llm_provider p dialect=openai url=http://127.0.0.1:1/v1 api_key=env:LLM_T67_KEY;\n"
          . "llm_model c provider=p;\n"
          . "llm_model e provider=p type=embedding;\n"
          . "llm_model e2 provider=p type=embedding batch=4;\n";

    my ($rc, $out) = nginx_test_config($P . "llm_model r candidates=e,e2;\n");
    is($rc, 0, 'all embedding candidates: accepted') or diag $out;

    ($rc, $out) = nginx_test_config($P . "llm_alias ea e;\n"
                                       . "llm_model r candidates=ea,e2;\n");
    is($rc, 0, 'an alias of an embedding model: accepted') or diag $out;

    for my $c ('c,e', 'e,c') {
        ($rc, $out) = nginx_test_config($P . "llm_model r candidates=$c;\n");
        isnt($rc, 0, "$c: nginx -t fails");
        like($out, qr/\[emerg\][^\n]*llm_model "r" mixes chat and embedding models[^\n]*nginx\.conf:\d+/,
             "$c: says what and where") or diag $out;
    }
};

done_testing();
