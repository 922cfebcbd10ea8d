#!/usr/bin/perl

# Fuzzing: builds every t/fuzz/fuzz_*.c (make -C t/fuzz, clang libFuzzer)
# and runs each for FUZZ_SECONDS (default 10) on a temporary copy of its
# seeds t/fuzz/corpus/<name>/.  Crash inputs are kept in
# build/fuzz/artifacts/<name>/.

use strict;
use warnings;

use Test::More;
use File::Basename qw(dirname basename);
use File::Copy qw(copy);
use File::Path qw(make_path);
use File::Spec;
use File::Temp qw(tempdir);
use Cwd qw(abs_path);

my $root  = abs_path(File::Spec->catdir(dirname(__FILE__), '..'));
my $build = $ENV{BUILD} ? abs_path($ENV{BUILD}) // $ENV{BUILD}
                        : "$root/build";
my $secs  = $ENV{FUZZ_SECONDS} || 10;
my $clang = $ENV{CLANG} || 'clang';

$ENV{BUILD}         = $build;
$ENV{ASAN_OPTIONS}  = 'detect_leaks=1';
$ENV{UBSAN_OPTIONS} = 'print_stacktrace=1:halt_on_error=1';

chdir $root or die "chdir $root: $!";

# libFuzzer must be there: a missing toolchain is a failure, not a skip

my $probe = tempdir(CLEANUP => 1);

open(my $fh, '>', "$probe/probe.c") or die "$probe/probe.c: $!";
print $fh "#include <stddef.h>\n#include <stdint.h>\n"
    . "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\n"
    . "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)\n"
    . "{ (void) d; (void) n; return 0; }\n";
close $fh;

my $out = `'$clang' -fsanitize=fuzzer,address,undefined \\
              -o '$probe/probe' '$probe/probe.c' 2>&1`;

if ($? != 0) {
    fail("clang with libFuzzer is not available ($clang): "
         . "run ./build.sh deps (installs clang and libclang-rt-14-dev)");
    diag($out);
    done_testing();
    exit;
}

pass("$clang builds libFuzzer targets");

$out = `make -s -C t/fuzz 2>&1`;

if ($? != 0) {
    fail('make -C t/fuzz');
    diag($out);
    done_testing();
    exit;
}

pass('make -C t/fuzz');

my @targets = map { basename($_, '.c') } sort glob("$root/t/fuzz/fuzz_*.c");

ok(@targets, 'fuzz targets found in t/fuzz/');

for my $target (@targets) {
    (my $name = $target) =~ s/^fuzz_//;

    my $bin = "$build/fuzz/$target";
    my $seeds = "$root/t/fuzz/corpus/$name";
    my $tmp = tempdir(CLEANUP => 1);

    if (!-x $bin) {
        fail("$target: $bin was not built");
        next;
    }

    # libFuzzer adds inputs to its corpus dir: never the repo's
    make_path("$tmp/corpus");

    my @seeds = -d $seeds ? grep { -f } glob("$seeds/*") : ();

    for my $f (@seeds) {
        copy($f, "$tmp/corpus/" . basename($f)) or die "copy $f: $!";
    }

    diag("$target: no seeds in t/fuzz/corpus/$name/") unless @seeds;

    my @cmd = ($bin, "-max_total_time=$secs", '-max_len=65536',
               '-timeout=30', "-artifact_prefix=$tmp/",
               "$tmp/corpus");

    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        chdir $tmp or die "chdir $tmp: $!";
        open(STDOUT, '>', "$tmp/log") or die "$tmp/log: $!";
        open(STDERR, '>&', \*STDOUT) or die "dup: $!";
        exec(@cmd) or die "exec $bin: $!";
    }

    waitpid($pid, 0);
    my $status = $?;

    my $log = do { local (@ARGV, $/) = ("$tmp/log"); <> } // '';
    my ($runs) = $log =~ /Done (\d+) runs/;

    if ($status == 0) {
        pass("$target: ${secs}s, " . ($runs // '?') . ' runs, '
             . scalar(@seeds) . ' seeds');
        next;
    }

    fail("$target: exit status " . ($status >> 8)
         . ($status & 127 ? ', signal ' . ($status & 127) : ''));

    my @lines = split /\n/, $log;
    splice(@lines, 0, @lines - 80) if @lines > 80;
    diag(join("\n", @lines));

    # keep the crashing inputs; the temp dir goes away
    my @found = grep { -f } glob("$tmp/crash-* $tmp/leak-* $tmp/timeout-*"
                                 . " $tmp/oom-* $tmp/slow-unit-*");

    if (@found) {
        my $dir = "$build/fuzz/artifacts/$name";
        make_path($dir);

        for my $f (@found) {
            copy($f, "$dir/" . basename($f));
            diag("reproduce: $bin $dir/" . basename($f));
        }
    }
}

done_testing();
