#!/usr/bin/perl
#
# The Debian package: `./build.sh deb` builds libnginx-mod-http-llm as
# Debian builds its own nginx modules (debhelper, dh_nginx); lintian finds
# no error in it; it holds the module, its load_module snippet in
# modules-available, its copyright and changelog; it depends on the nginx
# ABI it was built for and on libcjson; its maintainer scripts enable and
# disable the snippet through modules-enabled; and nginx, loading the
# module through the package's own snippet from the unpacked package,
# answers a chat.

use strict;
use warnings;

use lib 't/lib';
use LLMTest;
use File::Temp qw(tempdir);
use Test::More;

my $root = repo_root();
my $out = "$root/build/deb";

my $log = `cd '$root' && ./build.sh deb 2>&1`;
is($?, 0, './build.sh deb') or diag($log);

my ($deb) = grep { !/dbgsym/ } glob("$out/libnginx-mod-http-llm_*.deb");
ok($deb && -f $deb, 'the package is in build/deb/')
    or do { done_testing(); exit };

# lintian: no error (root is what CI runs as; it warns, and goes on)
my $lint = `lintian --fail-on error --suppress-tags-from-file /dev/null '$deb' 2>&1`;
is($? >> 8, 0, 'lintian finds no error') or diag($lint);
unlike($lint, qr/^E: /m, 'no E: tag');

# what it holds

my @files = map { (split ' ', $_)[-1] } split /\n/, `dpkg-deb -c '$deb'`;
my %has = map { $_ => 1 } @files;

for my $f ('./usr/lib/nginx/modules/ngx_http_llm_module.so',
           './usr/share/nginx/modules-available/mod-http-llm.conf',
           './usr/share/doc/libnginx-mod-http-llm/copyright',
           './usr/share/doc/libnginx-mod-http-llm/changelog.gz')
{
    ok($has{$f}, "holds $f");
}
ok(!grep({ m{^\./(etc|var|usr/src|usr/include)/} } @files),
   'nothing else: no configuration of its own, no sources');
note(join "\n", @files);

# what it depends on: the ABI of the nginx it was built for

my ($abi) = `dpkg-query -W -f='\${Provides}' nginx` =~ /(nginx-abi-[\w.+~-]+)/;
my $depends = `dpkg-deb -f '$deb' Depends`;
like($depends, qr/\Q$abi\E/, "depends on $abi, the installed nginx's ABI");
like($depends, qr/libcjson1/, 'and on libcjson');
is(`dpkg-deb -f '$deb' Package` =~ s/\s+$//r, 'libnginx-mod-http-llm',
   'named as Debian names nginx modules');

# unpacked: the snippet, the maintainer scripts

my $tmp = tempdir('llm-deb-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;
system('dpkg-deb', '-x', $deb, "$tmp/root") == 0 or die 'dpkg-deb -x';
system('dpkg-deb', '-e', $deb, "$tmp/control") == 0 or die 'dpkg-deb -e';

my $snippet = "$tmp/root/usr/share/nginx/modules-available/mod-http-llm.conf";
is(slurp($snippet), "load_module modules/ngx_http_llm_module.so;\n",
   'the snippet loads the module from nginx\'s modules directory');

my $postinst = slurp("$tmp/control/postinst");
my $link = qr{ln -sf /usr/share/nginx/modules-available/\$from\s*\\\s*}
         . qr{/etc/nginx/modules-enabled/\$to};
like($postinst, qr/$link/, 'postinst links the snippet into modules-enabled');
like($postinst, qr/mod-http-llm\.conf:50-mod-http-llm\.conf/,
     '... as 50-mod-http-llm.conf');
like(slurp("$tmp/control/postrm") . slurp("$tmp/control/prerm"),
     qr{modules-enabled}, 'prerm/postrm take the link away');

like(slurp("$tmp/root/usr/share/doc/libnginx-mod-http-llm/copyright"),
     qr/^License: BSD-2-clause$/m, 'the copyright file names the licence');

# nginx, loading the packaged module through its snippet, answers

my $mock = start_mock();
my $ng = start_nginx(<<'EOF', mock => $mock,
    llm_provider mock dialect=openai url=http://127.0.0.1:%%MOCK%%/v1;
    llm_model demo provider=mock upstream_model=demo-1;

    server {
        listen 127.0.0.1:%%PORT%%;
        location = /v1/chat/completions { llm_chat; }
    }
EOF
    load => "include $snippet;",
    modules_dir => "$tmp/root/usr/lib/nginx/modules");

my $r = chat($ng->{port}, { model => 'demo',
                            messages => [{ role => 'user',
                                           content => 'Hello' }] });
is($r->{status}, 200, 'nginx with the packaged module answers a chat');
like(json_or_undef($r->{content})->{choices}[0]{message}{content} // '',
     qr/You said: "Hello"/, '... through the provider');

done_testing();
