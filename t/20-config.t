#!/usr/bin/perl
# Configuration: what `nginx -t` rejects (with file and line) and accepts.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP qw(decode_json);

module_path();

my $SERVER = <<'EOF';
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions { llm_chat; }
        location /v1/models { llm_models; }
    }
EOF

# The line number of the line holding "# BAD" in the config file nginx
# named in its message.
sub marked_line {
    my ($file) = @_;
    open my $fh, '<', $file or return undef;
    while (my $line = <$fh>) {
        return $. if $line =~ /# BAD/;
    }
    return undef;
}

# nginx -t must fail, say $re, and point at the line marked "# BAD".
sub rejects {
    my ($name, $http, $re, %opts) = @_;
    subtest $name => sub {
        my ($rc, $out) = nginx_test_config($http, %opts);
        isnt($rc, 0, 'nginx -t fails');
        like($out, qr/\[emerg\][^\n]*$re/, 'message says what is wrong') or diag $out;
        my ($file, $line) = $out =~ /\[emerg\][^\n]* in (\S+\/nginx\.conf):(\d+)/;
        ok(defined $file, 'message names file and line (in .../nginx.conf:N)') or diag $out;
        is($line, marked_line($file // ''), 'line number is the offending directive')
            if defined $file;
    };
}

sub accepts {
    my ($name, $http, %opts) = @_;
    my ($rc, $out) = nginx_test_config($http, %opts);
    is($rc, 0, "$name: nginx -t succeeds") or diag $out;
}

# ---------------------------------------------------------------- rejected

rejects('unknown dialect', <<"EOF", qr/unknown dialect/);
    llm_provider p dialect=klingon url=http://127.0.0.1:9/v1; # BAD
$SERVER
EOF

rejects('llm_model names a missing provider', <<"EOF", qr/unknown provider "nope"/);
    llm_provider p dialect=openai url=http://127.0.0.1:9/v1;
    llm_model m provider=nope; # BAD
$SERVER
EOF

rejects('provider defined after the model that uses it', <<"EOF", qr/unknown provider "late"/);
    llm_model m provider=late; # BAD
    llm_provider late dialect=openai url=http://127.0.0.1:9/v1;
$SERVER
EOF

rejects('duplicate model', <<"EOF", qr/duplicate llm_model "m"/);
    llm_provider p dialect=openai url=http://127.0.0.1:9/v1;
    llm_model m provider=p;
    llm_model other provider=p;
    llm_model m provider=p upstream_model=x; # BAD
$SERVER
EOF

rejects('llm_model max_tokens not a positive number', <<"EOF", qr/invalid "max_tokens=lots"/);
    llm_provider p dialect=openai url=http://127.0.0.1:9/v1;
    llm_model m provider=p max_tokens=lots; # BAD
$SERVER
EOF

rejects('anthropic_version on another dialect', <<"EOF", qr/need dialect=anthropic/);
    llm_provider p dialect=openai url=http://127.0.0.1:9/v1 anthropic_version=x; # BAD
$SERVER
EOF

rejects('path= with url=', <<"EOF", qr/path= goes with upstream=/);
    llm_provider p dialect=openai url=http://127.0.0.1:9/v1 path=/v2; # BAD
$SERVER
EOF

rejects('duplicate provider', <<"EOF", qr/duplicate llm_provider "p"/);
    llm_provider p dialect=openai url=http://127.0.0.1:9/v1;
    llm_provider q dialect=openai url=http://127.0.0.1:9/v1;
    llm_provider p dialect=openai url=http://127.0.0.1:8/v1; # BAD
$SERVER
EOF

{
    delete $ENV{LLM_T20_UNSET_KEY};
    rejects('api_key=env:VAR with VAR unset', <<"EOF", qr/LLM_T20_UNSET_KEY/);
    llm_provider p dialect=openai url=http://127.0.0.1:9/v1 api_key=env:LLM_T20_UNSET_KEY; # BAD
$SERVER
EOF
}

my $dir = tempdir('llm-t20-XXXXXX', TMPDIR => 1, CLEANUP => 1);

rejects('api_key=file: missing file', <<"EOF", qr/$dir\/no-such-key/);
    llm_provider p dialect=openai url=http://127.0.0.1:9/v1 api_key=file:$dir/no-such-key; # BAD
$SERVER
EOF

rejects('invalid url scheme', <<"EOF", qr/invalid url/);
    llm_provider p dialect=openai url=ftp://127.0.0.1:9/v1; # BAD
$SERVER
EOF

rejects('neither url= nor upstream=', <<"EOF", qr/url=/);
    llm_provider p dialect=openai; # BAD
$SERVER
EOF

rejects('unknown parameter', <<"EOF", qr/"colour=blue"/);
    llm_provider p dialect=openai url=http://127.0.0.1:9/v1 colour=blue; # BAD
$SERVER
EOF

rejects('llm_chat twice in a location', <<'EOF', qr/"llm_chat" directive is duplicate/);
    llm_provider p dialect=openai url=http://127.0.0.1:9/v1;
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions {
            llm_chat;
            llm_chat; # BAD
        }
    }
EOF

rejects('upstream= naming an undefined upstream block', <<"EOF", qr/no_such_upstream_block/);
    llm_provider p dialect=openai upstream=no_such_upstream_block; # BAD
    llm_model m provider=p;
$SERVER
EOF

# ---------------------------------------------------------------- accepted

{
    local $ENV{LLM_T20_SET_KEY} = 'sk-from-env';
    accepts('api_key=env:VAR with VAR set', <<"EOF");
    llm_provider p dialect=openai url=http://127.0.0.1:9/v1 api_key=env:LLM_T20_SET_KEY;
    llm_model m provider=p;
$SERVER
EOF
}

accepts('upstream= naming a defined upstream block', <<"EOF");
    upstream backend { server 127.0.0.1:9; }
    llm_provider p dialect=openai upstream=backend host=api.example.test;
    llm_model m provider=p;
$SERVER
EOF

subtest 'api_key=env:VAR is sent upstream' => sub {
    local $ENV{LLM_T20_SET_KEY} = 'sk-from-env';
    my $mock = start_mock(key => 'sk-from-env');
    my $ng = start_nginx(<<"EOF", mock => $mock);
    llm_provider p dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T20_SET_KEY;
    llm_model m provider=p upstream_model=demo-1;
$SERVER
EOF
    my $r = chat($ng->port, { model => 'm', messages => [ { role => 'user', content => 'hi' } ] });
    is($r->{status}, 200, 'chat succeeds with the key from the environment');
    is(mock_requests($mock)->[-1]{headers}{authorization}, 'Bearer sk-from-env',
       'Authorization: Bearer <env value>');
};

subtest 'api_key=file: with a trailing newline' => sub {
    my $keyfile = "$dir/key";
    open my $fh, '>', $keyfile or die "$keyfile: $!";
    print $fh "sk-from-file\n";
    close $fh;

    accepts('api_key=file: existing file', <<"EOF");
    llm_provider p dialect=openai url=http://127.0.0.1:9/v1 api_key=file:$keyfile;
$SERVER
EOF

    my $mock = start_mock(key => 'sk-from-file');
    my $ng = start_nginx(<<"EOF", mock => $mock);
    llm_provider p dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=file:$keyfile;
    llm_model m provider=p upstream_model=demo-1;
$SERVER
EOF
    my $r = chat($ng->port, { model => 'm', messages => [ { role => 'user', content => 'hi' } ] });
    is($r->{status}, 200, 'mock accepted the key (no newline in it)');
    my $sent = mock_requests($mock)->[-1];
    is($sent->{headers}{authorization}, 'Bearer sk-from-file',
       'Authorization: Bearer <file content without the newline>');
};

subtest 'optional provider with its key variable unset' => sub {
    delete $ENV{LLM_T20_OPTIONAL_KEY};
    my $mock = start_mock();
    my $ng = start_nginx(<<"EOF", mock => $mock);
    llm_provider off dialect=openai url=http://127.0.0.1:%%MOCK%%/v1 api_key=env:LLM_T20_OPTIONAL_KEY optional;
    llm_provider on dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;
    llm_model hidden provider=off upstream_model=demo-1;
    llm_model visible provider=on upstream_model=demo-1;
$SERVER
EOF
    pass('nginx starts');

    my $r = http_get($ng->port, '/v1/models');
    is($r->{status}, 200, 'GET /v1/models');
    my @ids = map { $_->{id} } @{ decode_json($r->{content})->{data} };
    is_deeply(\@ids, ['visible'], 'models of the disabled provider are not listed');

    $r = http_get($ng->port, '/v1/models/hidden');
    is($r->{status}, 404, 'GET /v1/models/<disabled model> -> 404');

    my $before = scalar @{ mock_requests($mock) };
    $r = chat($ng->port, { model => 'hidden', messages => [ { role => 'user', content => 'hi' } ] });
    is($r->{status}, 503, 'chat for a disabled provider -> 503');
    like($r->{headers}{'content-type'} // '', qr{^application/json}, 'JSON error');
    my $err = eval { decode_json($r->{content})->{error} } // {};
    is($err->{code}, 'provider_unavailable', 'code provider_unavailable');
    is(scalar @{ mock_requests($mock) }, $before, 'nothing was sent upstream');

    $r = chat($ng->port, { model => 'visible', messages => [ { role => 'user', content => 'hi' } ] });
    is($r->{status}, 200, 'the other provider still works');
};

done_testing;
