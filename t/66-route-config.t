#!/usr/bin/perl
# nginx -t catches routing mistakes with file and line.

use strict;
use warnings;
use lib 't/lib';
use LLMTest;
use Test::More;

module_path();

$ENV{LLM_T56_KEY} = 'sk-test';

my $P = "llm_provider p dialect=openai url=http://127.0.0.1:9/v1 api_key=env:LLM_T56_KEY;\n"
      . "llm_model a provider=p;\nllm_model b provider=p;\n";

sub rejects {
    my ($name, $conf, $re) = @_;
    my ($rc, $out) = nginx_test_config($P . $conf);
    isnt($rc, 0, "$name: nginx -t fails");
    like($out, qr/\[emerg\][^\n]*$re[^\n]*nginx\.conf:\d+/, "$name: says what and where")
        or diag $out;
}

sub accepts {
    my ($name, $conf) = @_;
    my ($rc, $out) = nginx_test_config($P . $conf);
    is($rc, 0, "$name: accepted") or diag $out;
}

rejects('unknown candidate', "llm_model r candidates=a,zz;\n", qr/unknown candidate "zz"/);
rejects('a candidate defined later', "llm_model r candidates=a,c;\nllm_model c provider=p;\n",
        qr/unknown candidate "c"/);
rejects('itself', "llm_model r candidates=a,r;\n", qr/unknown candidate "r"/);
rejects('weights do not match', "llm_model r candidates=a,b weights=1;\n",
        qr/1 weights for 2 candidates/);
rejects('bad weight', "llm_model r candidates=a,b weights=1,x;\n", qr/invalid "weights=1,x"/);
rejects('unknown strategy', "llm_model r candidates=a,b strategy=fast;\n",
        qr/invalid "strategy=fast"/);
rejects('strategy without candidates', "llm_model r provider=p strategy=cost;\n",
        qr/strategy= without candidates=/);
rejects('provider and candidates', "llm_model r provider=p candidates=a;\n",
        qr/either provider= or candidates=/);
rejects('bad price', "llm_model r provider=p price_in=cheap;\n", qr/invalid "price_in=cheap"/);
rejects('alias of nothing', "llm_alias r zz;\n", qr/unknown candidate "zz"/);
rejects('duplicate alias', "llm_alias a b;\n", qr/duplicate llm_model "a"/);
rejects('llm_retry', "llm_retry tries=0;\n", qr/invalid parameter "tries=0"/);
rejects('llm_health without zone', "llm_health fails=3;\n", qr/needs zone=/);
rejects('llm_health zone too small', "llm_health zone=h:16k;\n", qr/is too small/);
accepts('llm_health smallest zone', "llm_health zone=h:64k;\n");
rejects('llm_health bad param', "llm_health zone=h:1m fails=x;\n", qr/invalid parameter "fails=x"/);

accepts('routes', "llm_model r candidates=a,b weights=2,1;\nllm_model s candidates=r,a strategy=quality;\n"
        . "llm_alias t s;\nllm_model m provider=p price_in=0.15 price_out=0.6 tier=2 context=128000 ttft=300ms;\n"
        . "llm_retry tries=4 base=100ms cap=5s;\nllm_retry_after_cap 20s;\nllm_deadline 2m;\n"
        . "llm_first_token_timeout 15s;\nllm_health zone=h:1m fails=5 window=30s cooldown=1m;\n");
accepts('llm_retry off', "llm_retry off;\n");

done_testing;
