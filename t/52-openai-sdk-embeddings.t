#!/usr/bin/perl
#
# The official OpenAI Node SDK on /v1/embeddings (its default request asks
# for base64, which the gateway encodes itself and the SDK decodes back to
# floats) and on chat templates sent in the request body.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use Encode qw(encode_utf8);
use JSON::PP qw(decode_json);
use Test::More;

module_path();

my $root = repo_root();
my $sdk = $ENV{OPENAI_SDK_DIR} // "$root/build/sdk";

if (!-f "$sdk/node_modules/openai/package.json") {
    fail("the OpenAI Node SDK is in $sdk (run ./build.sh deps)");
    done_testing();
    exit;
}

my $mock = start_mock();

my $ng = start_nginx(<<'EOF', mock => $mock);
    llm_provider mock dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;

    llm_model demo provider=mock upstream_model=demo-1;
    llm_model echo provider=mock upstream_model=echo=1;
    llm_model embed provider=mock type=embedding batch=1
              upstream_model=emb-1;

    llm_template greet {
        system "Greet {{name}} warmly.";
    }

    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions { llm_chat; }
        location = /v1/embeddings { llm_embeddings; }
    }
EOF

$ENV{OPENAI_SDK_DIR} = $sdk;
my $json = `node $root/t/sdk/openai-embeddings.cjs http://127.0.0.1:$ng->{port}/v1`;
my $out = eval { decode_json($json) } // { fatal => "not JSON: $json" };

ok(!$out->{fatal}, 'the SDK script ran') or diag($out->{fatal});

sub mock_vec {
    my $bytes = encode_utf8($_[0]);
    my $sum = 0;
    $sum += ord for split //, $bytes;
    return [ length($bytes), $sum % 997, 0.5, -0.25 ];
}

my $reqs = [ grep { $_->{path} eq '/v1/embeddings' } @{ mock_requests($mock) } ];

my $d = $out->{defaultFormat};
is_deeply([ map { $_->{embedding} } @{ $d->{data} } ],
          [ mock_vec('hello'), mock_vec("w\x{f6}rld") ],
          'default (base64) request: the SDK decodes the right floats');
is_deeply([ map { $_->{index} } @{ $d->{data} } ], [ 0, 1 ], 'indexes');
is($d->{model}, 'embed', 'model');
is_deeply($d->{usage}, { prompt_tokens => 2, total_tokens => 2 },
          'usage summed over two batches of one');
is(scalar @$reqs, 4, 'four upstream requests (batch=1)');
ok(!exists $reqs->[0]{body}{encoding_format}, 'floats asked upstream');

is_deeply($out->{float}{data}[0]{embedding}, mock_vec('hi'), 'float request');
ok(!ref $out->{base64}{embedding} && length $out->{base64}{embedding},
   'explicit base64: a string');

is($out->{chatModel}{name}, 'BadRequestError', 'chat model: BadRequestError');
is($out->{chatModel}{code}, 'model_not_supported', 'chat model: code');

like($out->{template}{content}, qr/Greet Zo\x{eb} \\"Z\\" warmly/,
     'template through the request body, value JSON-escaped');
like($out->{template}{content}, qr/and then\?/, 'messages appended');
unlike($out->{template}{content}, qr/"template"/, 'template not sent on');
like($out->{templateStream}{text}, qr/Greet stream warmly/, 'streamed');

is($out->{missing}{name}, 'BadRequestError', 'missing variable: 400');
is($out->{missing}{code}, 'missing_template_variable', 'missing variable: code');
like($out->{missing}{message}, qr/'name'/, 'names the variable');
is($out->{unknown}{name}, 'NotFoundError', 'unknown template: 404');
is($out->{unknown}{code}, 'template_not_found', 'unknown template: code');

done_testing();
