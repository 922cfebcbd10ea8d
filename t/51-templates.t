#!/usr/bin/perl
#
# Prompt templates (llm_template; "template" in the request) and prompt
# decorators (llm_prepend_message / llm_append_message, per location and
# per model), for the openai, anthropic and gemini dialects, stream or
# not: the mock checks the native requests strictly and logs them.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use JSON::PP;
use Encode qw(encode_utf8);
use File::Temp qw(tempdir);
use Test::More;

module_path();

my $KEY = 'tpl-key';
my $mock = start_mock(key => $KEY);
$ENV{LLM_T51_KEY} = $KEY;

my $dir = tempdir('llm-t51-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $fh, '>', "$dir/review.json" or die;
print $fh encode_json([
    { role => 'system', content => 'You review {{lang}} code.' },
    { role => 'user', content => [ { type => 'text', text => "Review:\n{{code}}" } ] },
]);
close $fh;

my $ng = start_nginx(<<"EOF", mock => $mock);
    llm_provider oai dialect=openai url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_T51_KEY;
    llm_provider ant dialect=anthropic url=http://127.0.0.1:%%MOCK%%/v1
                 api_key=env:LLM_T51_KEY;
    llm_provider gem dialect=gemini url=http://127.0.0.1:%%MOCK%%/v1beta
                 api_key=env:LLM_T51_KEY;

    llm_model echo provider=oai upstream_model=echo=1;
    llm_model echo-ruled provider=oai upstream_model=echo=1;
    llm_model claude provider=ant
              upstream_model=fixture=anthropic/messages-text.response.json;
    llm_model claude-stream provider=ant
              upstream_model=fixture=anthropic/messages-text.stream.sse;
    llm_model gemini provider=gem
              upstream_model=fixture=google/text.response.json;
    llm_model gemini-stream provider=gem
              upstream_model=fixture=google/text.stream.sse;

    llm_template support {
        system "You support {{product}}. Never say \\"no\\".";
        user   "{{ question }} (about {{product}})";
    }

    llm_template review {
        file $dir/review.json;
    }

    llm_template literal {
        user "Braces {{ not a name }} when {{unclosed and {single} and {{}}.";
    }

    llm_prepend_message developer "Model rule." model=echo-ruled;
    llm_append_message user "Model tail." model=echo-ruled;

    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions { llm_chat; }

        location = /decorated/v1/chat/completions {
            llm_chat;
            llm_prepend_message system "Policy: be kind.";
            llm_prepend_message system "Policy 2.";
            llm_append_message user "Answer in French.";
        }
    }
EOF

my $port = $ng->{port};

sub post {
    my ($body, $path) = @_;
    my $r = http_post_json($port, $path // '/v1/chat/completions', $body);
    return ($r, json_or_undef($r->{content}));
}

sub upstream { return mock_requests($mock)->[-1] }

sub text_of {
    my ($c) = @_;
    return $c unless ref $c;
    return join "\n", map { $_->{text} // '' } @$c;
}

sub msgs { return [ map { [ $_->{role}, text_of($_->{content}) ] } @{ $_[0] } ] }

subtest 'openai: template with variables, messages after it' => sub {
    my ($r, $j) = post({ model => 'echo',
                         template => { name => 'support',
                                       variables => { product => 'Widget',
                                                      question => 'How?' } },
                         messages => [ { role => 'user', content => 'More.' } ] });
    is($r->{status}, 200, 'status 200') or diag($r->{content});
    my $b = upstream()->{body};
    ok(!exists $b->{template}, 'template not sent on');
    is_deeply(msgs($b->{messages}),
              [ [ system => 'You support Widget. Never say "no".' ],
                [ user => 'How? (about Widget)' ], [ user => 'More.' ] ],
              'expanded, repeated variable, messages appended');
    is($b->{model}, 'echo=1', 'model rewritten as usual');
};

subtest 'values: quotes, newlines, unicode, braces, backslashes' => sub {
    my $v = qq{He said "hi"\n\tand\\left {{product}} \x{263a} \x{1F600} </script>};
    my ($r, $j) = post({ model => 'echo',
                         template => { name => 'support',
                                       variables => { product => $v,
                                                      question => 7 } } });
    is($r->{status}, 200, 'status 200') or diag($r->{content});
    my $m = upstream()->{body}{messages};
    is($m->[0]{content}, "You support $v. Never say \"no\".", 'inserted verbatim');
    is($m->[1]{content}, "7 (about $v)", 'a number value; no second expansion');
    my $raw = json_or_undef(encode_utf8($j->{choices}[0]{message}{content}));
    ok($raw && !exists $raw->{template}, 'the provider got valid JSON');
};

subtest 'template from a file, content parts' => sub {
    my ($r) = post({ model => 'echo',
                     template => { name => 'review',
                                   variables => { lang => 'C', code => "int x;\n" } } });
    is($r->{status}, 200, 'status 200') or diag($r->{content});
    my $m = upstream()->{body}{messages};
    is($m->[0]{content}, 'You review C code.', 'string content');
    is($m->[1]{content}[0]{text}, "Review:\nint x;\n", 'text part');
};

subtest 'not placeholders are left alone' => sub {
    my ($r) = post({ model => 'echo', template => 'literal' });
    is($r->{status}, 200, 'name only, no variables') or diag($r->{content});
    is(upstream()->{body}{messages}[0]{content},
       'Braces {{ not a name }} when {{unclosed and {single} and {{}}.', 'as written')
        or diag(explain upstream()->{body});
};

subtest 'errors' => sub {
    my ($r, $j) = post({ model => 'echo',
                         template => { name => 'support',
                                       variables => { product => 'W' } } });
    is($r->{status}, 400, 'missing variable: 400');
    is($j->{error}{code}, 'missing_template_variable', 'code');
    like($j->{error}{message}, qr/'question'/, 'names the variable');
    is($j->{error}{param}, 'template.variables', 'param');

    ($r, $j) = post({ model => 'echo', template => { name => 'nope' } });
    is($r->{status}, 404, 'unknown template: 404');
    is($j->{error}{code}, 'template_not_found', 'code');
    like($j->{error}{message}, qr/'nope'/, 'names it');

    for my $bad ([ 5, 'template' ], [ { variables => {} }, 'template' ],
                 [ { name => 'support', variables => [] }, 'template.variables' ],
                 [ { name => 'support', variables => { product => {} } },
                   'template.variables' ])
    {
        ($r, $j) = post({ model => 'echo', template => $bad->[0] });
        is($r->{status}, 400, 'bad template shape: 400');
        is($j->{error}{param}, $bad->[1], "param $bad->[1]");
    }

    ($r, $j) = post({ model => 'echo', template => 'support',
                      messages => 'x' });
    is($r->{status}, 400, 'bad messages: still named');
    is($j->{error}{param}, 'messages', 'param messages');

    my $n = scalar @{ mock_requests($mock) };
    ($r, $j) = post({ model => 'echo', template => 'literal', stream => 'yes' });
    is($r->{status}, 400, 'the usual validation after the template');
    is(scalar @{ mock_requests($mock) }, $n, 'nothing sent upstream');
};

subtest 'openai stream' => sub {
    my ($r) = post({ model => 'echo', stream => JSON::PP::true,
                     template => { name => 'support',
                                   variables => { product => 'S', question => 'Q' } } });
    is($r->{status}, 200, 'status 200');
    my ($chunks, $done) = sse_json($r->{content});
    ok($done, '[DONE]');
    my $text = join '', map { $_->{choices}[0]{delta}{content} // '' } @$chunks;
    like($text, qr/You support S/, 'the rewritten body reached the provider');
};

subtest 'anthropic, stream and not' => sub {
    for my $model ('claude', 'claude-stream') {
        my ($r) = post({ model => $model,
                         stream => $model =~ /stream/ ? JSON::PP::true : JSON::PP::false,
                         template => { name => 'support',
                                       variables => { product => 'A', question => 'Q?' } } });
        is($r->{status}, 200, "$model: 200") or diag($r->{content});
        my $b = upstream()->{body};
        is($b->{system}, 'You support A. Never say "no".', "$model: system");
        is_deeply(msgs($b->{messages}), [ [ user => 'Q? (about A)' ] ],
                  "$model: messages");
        ok(!exists $b->{template}, "$model: no template member");
    }
};

subtest 'gemini, stream and not' => sub {
    for my $model ('gemini', 'gemini-stream') {
        my ($r) = post({ model => $model,
                         stream => $model =~ /stream/ ? JSON::PP::true : JSON::PP::false,
                         template => { name => 'support',
                                       variables => { product => 'G', question => 'Q?' } } });
        is($r->{status}, 200, "$model: 200") or diag($r->{content});
        my $b = upstream()->{body};
        is($b->{systemInstruction}{parts}[0]{text}, 'You support G. Never say "no".',
           "$model: systemInstruction");
        is($b->{contents}[0]{parts}[0]{text}, 'Q? (about G)', "$model: contents");
        ok(!exists $b->{template}, "$model: no template member");
    }
};

subtest 'decorators: location' => sub {
    my ($r) = post({ model => 'echo',
                     messages => [ { role => 'user', content => 'Hi' } ] },
                   '/decorated/v1/chat/completions');
    is($r->{status}, 200, 'status 200');
    is_deeply(msgs(upstream()->{body}{messages}),
              [ [ system => 'Policy: be kind.' ], [ system => 'Policy 2.' ],
                [ user => 'Hi' ], [ user => 'Answer in French.' ] ],
              'prepended and appended');

    ($r) = post({ model => 'claude',
                  messages => [ { role => 'user', content => 'Hi' } ] },
                '/decorated/v1/chat/completions');
    is($r->{status}, 200, 'anthropic: 200') or diag($r->{content});
    my $b = upstream()->{body};
    like($b->{system}, qr/Policy: be kind\..*Policy 2\./s, 'anthropic: system');
    is_deeply(msgs($b->{messages}), [ [ user => "Hi\nAnswer in French." ] ],
              'anthropic: the two user turns merged');

    ($r) = post({ model => 'echo',
                  messages => [ { role => 'user', content => 'Hi' } ] });
    is_deeply(msgs(upstream()->{body}{messages}), [ [ user => 'Hi' ] ],
              'other locations: untouched');

    my $j;
    ($r, $j) = post({ model => 'echo' }, '/decorated/v1/chat/completions');
    is($r->{status}, 400, 'no messages: still a 400 with decorators');
    is($j->{error}{param}, 'messages', 'naming messages');
};

subtest 'decorators: model, with a template, at a decorated location' => sub {
    my ($r) = post({ model => 'echo-ruled',
                     template => { name => 'support',
                                   variables => { product => 'P', question => 'Q' } } },
                   '/decorated/v1/chat/completions');
    is($r->{status}, 200, 'status 200');
    is_deeply([ map { $_->[1] } @{ msgs(upstream()->{body}{messages}) } ],
              [ 'Policy: be kind.', 'Policy 2.', 'Model rule.',
                'You support P. Never say "no".', 'Q (about P)',
                'Answer in French.', 'Model tail.' ],
              'location, model, template, location, model');
};

subtest 'configuration errors' => sub {
    my $p = 'llm_provider o dialect=openai url=http://127.0.0.1:9/v1;'
            . ' llm_model m provider=o;';
    my @bad = (
        [ 'llm_template t { }', qr/has no messages/ ],
        [ 'llm_template t { robot "x"; }', qr/invalid role "robot"/ ],
        [ 'llm_template t { user "a" "b"; }', qr/invalid line/ ],
        [ 'llm_template t { file /nonexistent/x.json; }', qr/cannot open/ ],
        [ "llm_template t { file $dir/review.json; } llm_template t { user x; }",
          qr/duplicate llm_template/ ],
        [ 'llm_prepend_message robot "x";', qr/invalid role/ ],
        [ "$p llm_prepend_message system x model=zz;", qr/unknown chat model "zz"/ ],
        [ "$p llm_prepend_message system x foo=m;", qr/model=NAME expected/ ],
        [ "$p server { listen 127.0.0.1:9; location / { llm_prepend_message system x model=m; } }",
          qr/only allowed at http level/ ],
    );
    open my $bj, '>', "$dir/bad.json" or die;
    print $bj '[{"role":"user"}]';
    close $bj;
    push @bad, [ "llm_template t { file $dir/bad.json; }", qr/needs a role/ ];
    for my $b (@bad) {
        my ($rc, $out) = nginx_test_config($b->[0]);
        isnt($rc, 0, "refused: $b->[0]");
        like($out, $b->[1], 'with a clear message') or diag($out);
    }
};

done_testing();
