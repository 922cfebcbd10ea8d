#!/usr/bin/perl

# Unit tests of the pure-C core: builds t/unit/test_*.c (make -C t/unit,
# ASan/UBSan, leaks fatal) and re-reports every TAP line of every binary.

use strict;
use warnings;

use Test::More;
use File::Basename qw(dirname basename);
use File::Spec;
use File::Temp qw(tempfile);
use Cwd qw(abs_path);

my $root  = abs_path(File::Spec->catdir(dirname(__FILE__), '..'));
my $build = $ENV{BUILD} ? abs_path($ENV{BUILD}) // $ENV{BUILD}
                        : "$root/build";

$ENV{BUILD}         = $build;
$ENV{LLM_REPO}      = $root;
$ENV{ASAN_OPTIONS}  = 'detect_leaks=1';
$ENV{UBSAN_OPTIONS} = 'print_stacktrace=1:halt_on_error=1';

chdir $root or die "chdir $root: $!";

my $out = `make -s -C t/unit 2>&1`;

if ($? != 0) {
    fail('make -C t/unit');
    diag($out);
    done_testing();
    exit;
}

pass('make -C t/unit');

my @tests = map { "$build/unit/" . basename($_, '.c') }
            sort glob("$root/t/unit/test_*.c");

ok(@tests, 'unit tests found in t/unit/');

for my $bin (@tests) {
    my $name = basename($bin);

    my ($errfh, $errfile) = tempfile(UNLINK => 1);
    close $errfh;

    my ($planned, $seen) = (undef, 0);

    # the child's stderr (diag, sanitizer reports) goes to $errfile
    open(my $saved, '>&', \*STDERR) or die "dup stderr: $!";
    open(STDERR, '>', $errfile) or die "$errfile: $!";
    my $pid = open(my $fh, '-|', $bin, $root);
    my $err = $!;
    open(STDERR, '>&', $saved) or die "restore stderr: $!";

    if (!$pid) {
        fail("$name: run: $err");
        next;

    } else {
        while (my $line = <$fh>) {
            chomp $line;

            if ($line =~ /^1\.\.(\d+)/) {
                $planned = $1;

            } elsif ($line =~ /^(not )?ok\b\s*(\d*)\s*(?:-\s*)?(.*)$/) {
                my ($not, $desc) = ($1, $3);
                $seen++;

                if ($desc =~ /^(.*?)\s*#\s*skip\b\s*(.*)$/i) {
                    SKIP: { skip("$name: $1 ($2)", 1) }

                } else {
                    ok(!$not, "$name: $desc");
                }

            } elsif ($line =~ /^#/) {
                note($line);
            }
        }

        close $fh;
    }

    my $status = $?;

    my $stderr = do { local (@ARGV, $/) = ($errfile); <> } // '';

    my $good = $status == 0 && defined $planned && $planned == $seen;

    ok($good, "$name: exit 0, plan met")
        or diag(sprintf("exit status %d, signal %d, planned %s, ran %d\n%s",
                        $status >> 8, $status & 127, $planned // 'none',
                        $seen, $stderr));
}

done_testing();
