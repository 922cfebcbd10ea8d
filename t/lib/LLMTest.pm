package LLMTest;

=head1 NAME

LLMTest - test harness for ngx_http_llm_module (Perl 5.36 core modules only)

=head1 SYNOPSIS

    use lib 't/lib';
    use LLMTest;
    module_path();                              # skip_all if not built
    my $mock = start_mock(key => 'sk-test');
    my $ng   = start_nginx(<<'EOF', mock => $mock);
        server { listen 127.0.0.1:%%PORT%%; ... proxy to 127.0.0.1:%%MOCK%% ... }
    EOF
    my $res = chat($ng->{port}, { model => 'm', messages => [...] });
    is($res->{status}, 200);
    my $sent = mock_requests($mock)->[-1];      # what the gateway sent upstream
    done_testing;

Every process started here (mocks, nginx) is stopped when its object is
destroyed and, at the latest, in an END block, also when the test dies.

=head1 FUNCTIONS

=over

=item repo_root() - absolute path of the repository.

=item module_path() - "$root/build/ngx_http_llm_module.so"; skip_all
("run ./build.sh first") if missing. Call it before the first test.

=item free_port() - a free TCP port on 127.0.0.1.

=item nginx_version() - the nginx under test as nginx_version is in C
(1.22.1 is 1022001).

=item start_mock(%opts) - start t/mock/provider.py; returns a LLMTest::Mock
hash { port, pid, log, dir, cert, key }. Options: key => KEY (required
bearer key), tls => 1 (self-signed cert for CN localhost, generated with
openssl) or tls => { cert => C, key => K }, demo => 1, port => P.
Dies if the mock is not listening after 10 s. $mock->stop stops it.

=item mock_requests($mock) - arrayref of request records from the mock's
log: { n, conn, method, path, headers => { lowercased => value }, body,
sni? } (body is the parsed JSON, or the raw string if not JSON).

=item mock_count($mock, $id) - how many requests the mock got for the
scenario id= (its GET /__requests?key=).

=item next_log_line($file, $model, \%seen) - waits (10 s at most) for
one more line of the access log $file that starts with "model=$model "
than %seen counted, and returns the last such line ('' if none came).

=item mock_closes($mock) - arrayref of connection-close records:
{ event => 'close', conn, by => 'client'|'server', reason, requests }.

=item wait_for(sub { ... }, $seconds) - poll the condition every 50 ms until
true or $seconds elapsed; returns true/false.

=item start_nginx($http_config, %opts) - write nginx.conf in a fresh prefix
dir, run "nginx -t", start nginx, wait until its port accepts. In
$http_config, %%PORT%% is the nginx port, %%MOCK%% / %%MOCK2%% the ports of
opts mock / mock2 (mock objects or port numbers), %%PREFIX%% the prefix dir,
%%ROOT%% the repo root. Options: mock, mock2, port, log_level (default
info), main (extra main-context directives), workers (worker_processes,
default 1). Returns a LLMTest::Nginx hash
{ port, prefix, pid } with methods error_log(), access_log(), stop().
Env: NGINX_BIN (binary, default /usr/sbin/nginx; not NGINX, which
nginx itself reads); LLM_TEST_VALGRIND=1 runs
nginx with master_process off under valgrind and fails a test if valgrind
reports errors (nginx core's own single-process leak is suppressed; add
suppressions with LLM_TEST_VALGRIND_SUPP=file); LLM_TEST_KEEP=1 keeps the
temp dirs.

=item nginx_test_config($http_config, %opts) - ($exit_code, $output) of
"nginx -t" for that config, nothing started. Same options.

=item http_post_json($port, $path, $data_or_raw_string, %headers),
http_get($port, $path, %headers), chat($port, \%body, %headers) - HTTP::Tiny
requests to 127.0.0.1 (timeout 30 s); return { status, reason, headers,
content } (status 599 on connection errors). A ref is JSON-encoded, a
string is sent as is. chat() posts to /v1/chat/completions.

=item is_openai_error($res, $status, $type, $code, $param, $name) - a
subtest checking the full OpenAI error envelope of a response (status, JSON
content type, exactly {"error":{message,type,param,code}}, no nginx page);
$code may be a Regexp, $param 'null'. Returns the error object.
=item chat_stream($port, $model, \@messages, $include_usage) - a streamed
chat: (response, \@decoded chunks, whether it ended with [DONE]).

=item sse_events($content) - list of data payload strings of the complete
SSE events in $content (\n, \r\n or \r line ends; multi-line data joined
with "\n"; comments and events without data skipped).

=item sse_json($content) - (\@decoded, $ends_with_done): every data payload
except [DONE] decoded as JSON (dies on invalid JSON), and whether the last
payload was [DONE].

=item accumulate_stream(\@chunks) - the final state built exactly like the
OpenAI Python SDK's stream accumulator (openai/lib/streaming/_deltas.py
accumulate_delta): returns { id, model, created, role, content,
reasoning_content, reasoning, refusal, tool_calls, finish_reason, usage,
message, choices }, flat fields for choice 0. Strings concatenate, tool_calls
merge by index (a delta without index dies, as in the SDK), "index"/"type"
are replaced, so a repeated id/name/role concatenates like in the SDK.

=item raw_request($port, $bytes) - connect, write $bytes, return the socket.

=item request_bytes($path, $body, %headers) - raw HTTP/1.1 POST of $body (a ref is JSON-encoded, a string sent as is) to $path, Host localhost, JSON content type, %headers sorted, Content-Length.

=item read_until($sock, $regex_or_coderef, $seconds) - read from $sock until
the data read so far matches (or the coderef returns true for it), EOF or
timeout; returns the data (in list context also an EOF flag).

=item fixture_path($rel), read_fixture($rel) - path / raw bytes of
t/fixtures/$rel.

=item fixture_chunks($rel) - arrayref of the decoded chunks of fixture $rel (.sse via sse_json, otherwise one JSON object a non-blank line).

=item slurp($path) - the raw bytes of a file, '' if it cannot be read.

=item json_or_undef($string) - decode_json($string), or undef if it is not valid JSON.

=back

=cut

use strict;
use warnings;
use Exporter 'import';
use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Scalar::Util qw(weaken);
use Test::More;
use Test2::API ();
use Time::HiRes qw(sleep time);

our @EXPORT = qw(
    chat_stream
    repo_root module_path free_port
    start_mock mock_requests mock_closes mock_count next_log_line wait_for
    start_nginx nginx_test_config
    http_post_json http_get chat is_openai_error
    sse_events sse_json sse_named_events accumulate_stream
    raw_request request_bytes read_until
    fixture_path read_fixture fixture_chunks
    slurp json_or_undef nginx_version concurrently
);

my $ROOT = abs_path(File::Spec->catdir(dirname(__FILE__), '..', '..'));
my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

my @RUNNING;              # weak refs to every started mock / nginx object
my $VALGRIND_FAILED = 0;  # set when valgrind found errors after testing ended

sub repo_root { return $ROOT }

sub module_path {
    my $path = "$ROOT/build/ngx_http_llm_module.so";
    return $path if -f $path;
    my $msg = "$path not found: run ./build.sh first";
    plan(skip_all => $msg) if Test::More->builder->current_test == 0;
    croak $msg;
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
        or die "free_port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub _tempdir {
    my ($template) = @_;
    return tempdir($template, TMPDIR => 1, CLEANUP => !$ENV{LLM_TEST_KEEP});
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return '';
    local $/;
    my $data = <$fh>;
    return $data // '';
}

sub _spawn {
    my ($out, @cmd) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $out;
        open STDERR, '>>', $out;
        { no warnings 'exec'; exec @cmd; }
        print STDERR "exec $cmd[0]: $!\n";
        POSIX::_exit(127);
    }
    return $pid;
}

sub _alive {
    my ($pid) = @_;
    return waitpid($pid, WNOHANG) == 0;
}

# Send TERM, wait up to $grace seconds, then KILL. Returns the wait status.
sub _terminate {
    my ($pid, $grace) = @_;
    kill 'TERM', $pid;
    my $deadline = time + $grace;
    while (time < $deadline) {
        my $r = waitpid($pid, WNOHANG);
        return $? if $r == $pid;
        return undef if $r < 0;
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
    return $?;
}

sub wait_for {
    my ($cond, $seconds) = @_;
    my $deadline = time + ($seconds // 5);
    while (1) {
        return 1 if $cond->();
        return 0 if time >= $deadline;
        sleep 0.05;
    }
}

sub _port_open {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 1);
    return 0 unless $s;
    close $s;
    return 1;
}

# ---------------------------------------------------------------- mock

sub _make_cert {
    my ($dir) = @_;
    my ($cert, $key) = ("$dir/cert.pem", "$dir/key.pem");
    my $cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout '$key' -out '$cert'"
            . " -days 2 -subj /CN=localhost";
    system("$cmd -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' >/dev/null 2>&1") == 0
        or system("$cmd >/dev/null 2>&1") == 0
        or die "openssl could not create a test certificate";
    return ($cert, $key);
}

sub start_mock {
    my (%opts) = @_;
    my $dir = _tempdir('llm-mock-XXXXXX');
    my $port = $opts{port} // free_port();
    my $self = bless { port => $port, dir => $dir, log => "$dir/requests.jsonl",
                       stderr => "$dir/mock.log", owner => $$ }, 'LLMTest::Mock';

    my @cmd = ($ENV{PYTHON} // 'python3', "$ROOT/t/mock/provider.py",
               '--host', '127.0.0.1', '--port', $port,
               '--log', $self->{log}, '--fixtures', "$ROOT/t/fixtures");
    push @cmd, '--key', $opts{key} if defined $opts{key};
    push @cmd, '--demo' if $opts{demo};
    if ($opts{tls}) {
        if (ref $opts{tls}) {
            @$self{qw(cert key)} = @{ $opts{tls} }{qw(cert key)};
        } else {
            @$self{qw(cert key)} = _make_cert($dir);
        }
        push @cmd, '--tls-cert', $self->{cert}, '--tls-key', $self->{key};
    }

    $self->{pid} = _spawn($self->{stderr}, @cmd);
    push @RUNNING, $self;
    weaken($RUNNING[-1]);

    # The mock prints "listening on" after listen(); probing with a connect
    # would add a spurious connection to its log.
    my $ok = wait_for(sub {
        return 1 if slurp($self->{stderr}) =~ /^listening on /m;
        die "mock exited early:\n" . slurp($self->{stderr}) unless _alive($self->{pid});
        return 0;
    }, 10);
    die "mock did not listen on port $port within 10 s:\n" . slurp($self->{stderr})
        unless $ok;
    return $self;
}

sub _read_log {
    my ($mock) = @_;
    my $data = slurp($mock->{log});
    my @records;
    while ($data =~ /^(.*)\n/mg) {   # only complete lines
        push @records, decode_json($1) if length $1;
    }
    return \@records;
}

sub mock_requests { return [ grep { !exists $_->{event} } @{ _read_log($_[0]) } ] }

sub mock_count {
    my ($m, $key) = @_;
    my $r = http_get($m->port, "/__requests?key=$key");
    return decode_json($r->{content})->{count};
}

sub next_log_line {
    my ($file, $model, $seen) = @_;
    my @lines;
    wait_for(sub {
        @lines = grep { /^model=\Q$model\E / } split /\n/, slurp($file);
        @lines > ($seen->{$model} // 0);
    }, 10);
    $seen->{$model} = @lines;
    return $lines[-1] // '';
}
sub mock_closes   { return [ grep { ($_->{event} // '') eq 'close' } @{ _read_log($_[0]) } ] }

package LLMTest::Mock {
    sub port { $_[0]{port} }
    sub stop {
        my ($self) = @_;
        return if !$self->{pid} || $self->{owner} != $$;
        LLMTest::_terminate(delete $self->{pid}, 5);
    }
    sub DESTROY { $_[0]->stop }
}

# ---------------------------------------------------------------- nginx

sub _nginx_bin { return $ENV{NGINX_BIN} // '/usr/sbin/nginx' }

# the nginx under test as a number like nginx_version in C: 1.22.1 -> 1022001
sub nginx_version {
    my $bin = _nginx_bin();
    my $v = `$bin -v 2>&1`;
    my ($a, $b, $c) = $v =~ m{nginx/(\d+)\.(\d+)\.(\d+)} or return 0;
    return $a * 1000000 + $b * 1000 + $c;
}

sub _write_conf {
    my ($prefix, $http_config, %opts) = @_;
    my $valgrind = $ENV{LLM_TEST_VALGRIND};
    # load => the line that loads the module (a package's snippet, say)
    my $load = $opts{load} // 'load_module ' . module_path() . ';';
    my $level = $opts{log_level} // 'info';
    my $master = $valgrind ? 'off' : 'on';
    my $user = $> == 0 ? "user root;\n" : '';
    my $main = $opts{main} // '';
    my $workers = $opts{workers} // 1;

    my %subst = (PORT => $opts{port}, PREFIX => $prefix, ROOT => $ROOT);
    for my $name (qw(mock mock2)) {
        next unless defined $opts{$name};
        $subst{uc $name} = ref $opts{$name} ? $opts{$name}{port} : $opts{$name};
    }
    (my $http = $http_config) =~ s{%%(\w+)%%}{
        defined $subst{$1} ? $subst{$1} : croak "start_nginx: %%$1%% used but not given"
    }ge;

    my $conf = <<"EOF";
$load
daemon off;
master_process $master;
worker_processes $workers;
${user}error_log $prefix/error.log $level;
pid $prefix/nginx.pid;
$main
events { worker_connections 1024; }

http {
    access_log $prefix/access.log;
    client_body_temp_path $prefix/client_body_temp;
    proxy_temp_path $prefix/proxy_temp;
    fastcgi_temp_path $prefix/fastcgi_temp;
    uwsgi_temp_path $prefix/uwsgi_temp;
    scgi_temp_path $prefix/scgi_temp;

$http
}
EOF
    open my $fh, '>', "$prefix/nginx.conf" or die "write nginx.conf: $!";
    print $fh $conf;
    close $fh;
    return "$prefix/nginx.conf";
}

sub _new_prefix {
    my $prefix = _tempdir('llm-nginx-XXXXXX');
    chmod 0755, $prefix;   # worker processes must be able to enter it
    return $prefix;
}

sub _nginx_t {
    my ($prefix, $conf) = @_;
    my $bin = _nginx_bin();
    my $out = `'$bin' -t -p '$prefix/' -c '$conf' -e stderr 2>&1`;
    return ($? >> 8, $out);
}

sub nginx_test_config {
    my ($http_config, %opts) = @_;
    my $prefix = _new_prefix();
    $opts{port} //= free_port();
    my $conf = _write_conf($prefix, $http_config, %opts);
    return _nginx_t($prefix, $conf);
}

# nginx core itself leaks the environment copy in single-process mode
# (ngx_set_environment called from ngx_single_process_cycle).
sub _write_valgrind_supp {
    my ($prefix) = @_;
    open my $fh, '>', "$prefix/nginx.supp" or die "write nginx.supp: $!";
    print $fh <<'EOF';
{
   nginx-core-set-environment
   Memcheck:Leak
   match-leak-kinds: definite
   fun:malloc
   fun:ngx_alloc
   fun:ngx_set_environment
   ...
}
{
   nginx-core-upstream-tls-session-kept-per-peer-until-exit
   Memcheck:Leak
   match-leak-kinds: definite
   fun:malloc
   ...
   fun:SSL_read
   fun:ngx_ssl_recv
   ...
}
EOF
    close $fh;
    return "$prefix/nginx.supp";
}

sub start_nginx {
    my ($http_config, %opts) = @_;
    my $prefix = _new_prefix();
    my $port = $opts{port} //= free_port();
    # modules_dir => what <prefix>/modules is, as nginx-common links it
    symlink($opts{modules_dir}, "$prefix/modules") if $opts{modules_dir};
    my $conf = _write_conf($prefix, $http_config, %opts);

    my ($rc, $out) = _nginx_t($prefix, $conf);
    die "nginx -t failed ($rc):\n$out" if $rc != 0;

    my @cmd = (_nginx_bin(), '-p', "$prefix/", '-c', $conf, '-e', "$prefix/error.log");
    my $valgrind = $ENV{LLM_TEST_VALGRIND};
    if ($valgrind) {
        my @supp = ("--suppressions=" . _write_valgrind_supp($prefix));
        push @supp, "--suppressions=$ENV{LLM_TEST_VALGRIND_SUPP}" if $ENV{LLM_TEST_VALGRIND_SUPP};
        unshift @cmd, 'valgrind', '--error-exitcode=99', '--leak-check=full',
            '--errors-for-leak-kinds=definite', "--log-file=$prefix/valgrind.%p.log", @supp;
    }

    my $self = bless { port => $port, prefix => $prefix, owner => $$,
                       valgrind => $valgrind }, 'LLMTest::Nginx';
    $self->{pid} = _spawn("$prefix/stderr.log", @cmd);
    push @RUNNING, $self;
    weaken($RUNNING[-1]);

    my $ok = wait_for(sub {
        return 1 if _port_open($port);
        die "nginx exited early:\n" . slurp("$prefix/stderr.log") . slurp("$prefix/error.log")
            unless _alive($self->{pid});
        return 0;
    }, $valgrind ? 60 : 10);
    die "nginx did not accept on port $port:\n" . slurp("$prefix/error.log") unless $ok;
    return $self;
}

# True once no more test results may be emitted (done_testing called, the
# plan is complete, or we are in END / global destruction).
sub _testing_finished {
    return 1 if ${^GLOBAL_PHASE} ne 'RUN';
    my $hub = Test2::API::test2_stack()->top;
    return 1 if $hub->ended;
    my $plan = $hub->plan;
    return 1 if defined $plan && $plan =~ /^\d+$/ && $hub->count >= $plan;
    return 0;
}

# Called by LLMTest::Nginx::stop: report valgrind errors.
sub _check_valgrind {
    my ($self, $status) = @_;
    my @logs = glob("$self->{prefix}/valgrind.*.log");
    my @bad = grep { slurp($_) =~ /ERROR SUMMARY: [1-9]/ } @logs;
    my $exit = defined $status ? $status >> 8 : 0;
    return if !@bad && $exit != 99;
    diag("valgrind found errors (exit $exit):\n" . join('', map { slurp($_) } @bad));
    if (_testing_finished()) {
        $VALGRIND_FAILED = 1;          # too late for a test: force the exit code
    } else {
        fail("valgrind: no errors in nginx ($self->{prefix})");
    }
}

package LLMTest::Nginx {
    sub port       { $_[0]{port} }
    sub prefix     { $_[0]{prefix} }
    sub error_log  { LLMTest::slurp("$_[0]{prefix}/error.log") }
    sub access_log { LLMTest::slurp("$_[0]{prefix}/access.log") }

    # HUP, then true once the new workers started (the Nth time: N + 1
    # "start worker process" lines).  Not under valgrind, where nginx runs
    # without a master process: 1.22 without one stops answering after a
    # reload, module or not (callers skip it then).
    sub reload {
        my ($self) = @_;
        my $before = () = $self->error_log =~ /start worker process/g;
        kill 'HUP', $self->{pid};
        return LLMTest::wait_for(sub {
            my $now = () = $self->error_log =~ /start worker process/g;
            return $now > $before;
        }, 20);
    }

    sub stop {
        my ($self) = @_;
        return if !$self->{pid} || $self->{owner} != $$;
        my $status = LLMTest::_terminate(delete $self->{pid}, $self->{valgrind} ? 60 : 10);
        LLMTest::_check_valgrind($self, $status) if $self->{valgrind};
    }
    sub DESTROY { $_[0]->stop }
}

# Stop nginx instances first (so mocks can log the close), then mocks.
sub _stop_all {
    my @alive = grep { defined } @RUNNING;
    $_->stop for grep { ref eq 'LLMTest::Nginx' } @alive;
    $_->stop for grep { ref eq 'LLMTest::Mock' } @alive;
}

END {
    my $status = $?;
    _stop_all();
    $? = $status;
}

# Make Ctrl-C / kill run the END block so no child outlives the test, and
# make writes to a closed socket or pipe return EPIPE instead of killing us.
$SIG{INT}  = sub { exit 130 } unless $SIG{INT};
$SIG{TERM} = sub { exit 143 } unless $SIG{TERM};
$SIG{PIPE} = 'IGNORE' unless $SIG{PIPE};

# Runs in Test2's END, after ours: make valgrind errors fail the test file.
Test2::API::test2_add_callback_exit(sub {
    my ($ctx, $real, $new) = @_;
    _stop_all();
    $$new ||= 99 if $VALGRIND_FAILED;
});

# ---------------------------------------------------------------- HTTP

sub _http { return HTTP::Tiny->new(timeout => 30, keep_alive => 0) }

sub http_post_json {
    my ($port, $path, $data, %headers) = @_;
    my $body = ref $data ? $JSON->encode($data) : $data;
    $headers{'Content-Type'} = 'application/json'
        unless grep { lc eq 'content-type' } keys %headers;
    return _http()->request('POST', "http://127.0.0.1:$port$path",
                            { headers => \%headers, content => $body });
}

sub http_get {
    my ($port, $path, %headers) = @_;
    return _http()->request('GET', "http://127.0.0.1:$port$path", { headers => \%headers });
}

# a streamed chat: (response, \@decoded chunks, ends with [DONE])
sub chat_stream {
    my ($port, $model, $messages, $include_usage) = @_;
    my $body = { model => $model, messages => $messages,
                 stream => JSON::PP::true };
    $body->{stream_options} = { include_usage => JSON::PP::true }
        if $include_usage;
    my $r = chat($port, $body);
    my ($chunks, $done) = sse_json($r->{content} // '');
    return ($r, $chunks, $done);
}

# $n forked clients run $code at once: what each returned (a string), in
# order
sub concurrently {
    my ($n, $code) = @_;
    my $dir = _tempdir('llm-conc-XXXXXX');
    my @pids;
    for my $i (1 .. $n) {
        my $pid = fork() // die "fork: $!";
        if ($pid == 0) {
            my $out = $code->($i);
            open my $fh, '>', "$dir/$i" or die;
            print $fh $out;
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid($_, 0) for @pids;
    return map { slurp("$dir/$_") } 1 .. $n;
}

sub chat {
    my ($port, $body, %headers) = @_;
    return http_post_json($port, '/v1/chat/completions', $body, %headers);
}

# The full OpenAI error envelope of $res, in a subtest: the status, a JSON
# content type, {"error":{message,type,param,code}} and nothing else; $type,
# $code (a string or a Regexp) and $param ('null' for null) when defined.
# Returns the error object.
sub is_openai_error {
    my ($res, $status, $type, $code, $param, $name) = @_;
    my $err;
    subtest $name => sub {
        is($res->{status}, $status, "status $status");
        like($res->{headers}{'content-type'} // '', qr{^application/json}, 'JSON content type');
        unlike($res->{content} // '', qr/<html|<center>|nginx\//i, 'no nginx HTML page');
        my $body = eval { decode_json($res->{content}) };
        ok(ref $body eq 'HASH', 'body is a JSON object') or diag($res->{content});
        $body = {} unless ref $body eq 'HASH';
        is_deeply([ sort keys %$body ], ['error'], 'only "error" at the top level');
        $err = $body->{error};
        ok(ref $err eq 'HASH', 'error is an object') or return;
        is_deeply([ sort keys %$err ], [qw(code message param type)],
                  'error has exactly message, type, param, code');
        ok(defined $err->{message} && !ref $err->{message} && length $err->{message},
           'message is a non-empty string');
        is($err->{type}, $type, "type $type") if defined $type;
        if (ref $code eq 'Regexp') {
            like($err->{code}, $code, "code matches $code");
        } elsif (defined $code) {
            is($err->{code}, $code, "code $code");
        }
        if (defined $param) {
            is($err->{param}, $param eq 'null' ? undef : $param, "param $param");
        }
    };
    return $err // {};
}

# ---------------------------------------------------------------- SSE

sub sse_events {
    my ($content) = @_;
    $content =~ s/\r\n?/\n/g;
    my @payloads;
    # Only complete events (terminated by a blank line) count, as in the spec.
    while ($content =~ /\G(.*?)\n\n/gs) {
        my @data;
        for my $line (split /\n/, $1) {
            next if $line =~ /^:/;
            push @data, $1 if $line =~ /^data:\ ?(.*)$/;
        }
        push @payloads, join("\n", @data) if @data;
    }
    return @payloads;
}

# the events of an SSE body with their names: ({ event, data }, ...)
sub sse_named_events {
    my ($content) = @_;
    my @ev;
    while ($content =~ /\G(.*?)\n\n/gs) {
        my %e;
        for my $line (split /\n/, $1) {
            $e{event} = $1 if $line =~ /^event: ?(.*)$/;
            $e{data} = defined $e{data} ? "$e{data}\n$1" : $1
                if $line =~ /^data: ?(.*)$/;
        }
        push @ev, \%e if %e;
    }
    return @ev;
}

sub sse_json {
    my ($content) = @_;
    my @payloads = sse_events($content);
    my $done = @payloads && $payloads[-1] eq '[DONE]';
    my @decoded;
    for my $p (grep { $_ ne '[DONE]' } @payloads) {
        my $obj = eval { decode_json($p) };
        die "sse_json: invalid JSON payload: $p\n" unless defined $obj;
        push @decoded, $obj;
    }
    return (\@decoded, $done ? 1 : 0);
}

# Deep copy of decoded JSON so accumulating never aliases the chunks.
sub _clone { return decode_json(encode_json([ $_[0] ]))->[0] }

# Port of openai-python openai/lib/streaming/_deltas.py accumulate_delta.
sub _accumulate_delta {
    my ($acc, $delta) = @_;
    for my $key (keys %$delta) {
        my $dv = $delta->{$key};
        if (!exists $acc->{$key} || !defined $acc->{$key}) {
            $acc->{$key} = $dv;
            next;
        }
        next unless defined $dv;   # the SDK skips None deltas
        if ($key eq 'index' || $key eq 'type') {
            $acc->{$key} = $dv;
            next;
        }
        my $av = $acc->{$key};
        if (ref $av eq 'HASH' && ref $dv eq 'HASH') {
            _accumulate_delta($av, $dv);
        } elsif (ref $av eq 'ARRAY' && ref $dv eq 'ARRAY') {
            if (!grep { ref } @$av) {        # list of scalars: append
                push @$av, @$dv;
                next;
            }
            for my $entry (@$dv) {
                die "accumulate_stream: list delta entry is not an object\n"
                    unless ref $entry eq 'HASH';
                die "accumulate_stream: list delta entry has no index: "
                    . encode_json($entry) . "\n" unless exists $entry->{index};
                my $i = $entry->{index};
                die "accumulate_stream: bad index $i\n" unless $i =~ /^\d+$/;
                if ($i <= $#$av) {
                    _accumulate_delta($av->[$i], $entry);
                } else {
                    push @$av, $entry;   # Python list.insert(i, x) past the end appends
                }
            }
        } elsif (!ref $av && !ref $dv) {
            $acc->{$key} = $av . $dv;   # JSON strings (numbers do not occur in deltas)
        }
        # Anything else (booleans, mismatched types): the SDK keeps the old value.
    }
    return $acc;
}

sub accumulate_stream {
    my ($chunks) = @_;
    my ($snap, %choices);
    for my $c (map { _clone($_) } @$chunks) {
        $snap //= { id => $c->{id}, model => $c->{model}, created => $c->{created},
                    object => $c->{object}, usage => undef };
        $snap->{usage} = $c->{usage} if defined $c->{usage};
        $snap->{system_fingerprint} = $c->{system_fingerprint}
            if defined $c->{system_fingerprint};
        for my $ch (@{ $c->{choices} // [] }) {
            my $i = $ch->{index} // 0;
            my $state = $choices{$i} //= { index => $i, message => {}, finish_reason => undef };
            _accumulate_delta($state->{message}, $ch->{delta} // {});
            $state->{finish_reason} = $ch->{finish_reason} if defined $ch->{finish_reason};
        }
    }
    $snap //= {};
    my @choices = map { $choices{$_} } sort { $a <=> $b } keys %choices;
    my $msg = @choices ? $choices[0]{message} : {};
    return { %$snap,
             choices => \@choices,
             message => $msg,
             (map { $_ => $msg->{$_} } qw(role content reasoning_content reasoning refusal tool_calls)),
             finish_reason => @choices ? $choices[0]{finish_reason} : undef };
}

# ---------------------------------------------------------------- raw sockets

sub raw_request {
    my ($port, $bytes) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 10)
        or die "raw_request: connect to $port: $!";
    $s->autoflush(1);
    my $off = 0;
    while ($off < length $bytes) {
        my $n = syswrite($s, $bytes, length($bytes) - $off, $off);
        die "raw_request: write: $!" unless defined $n;
        $off += $n;
    }
    return $s;
}

sub request_bytes {
    my ($path, $body, %headers) = @_;
    my $json = ref $body ? encode_json($body) : $body;
    my $head = "POST $path HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";
    $head .= "$_: $headers{$_}\r\n" for sort keys %headers;
    return $head . "Content-Length: " . length($json) . "\r\n\r\n" . $json;
}

sub read_until {
    my ($sock, $until, $seconds) = @_;
    my $match = ref $until eq 'CODE' ? $until : sub { $_[0] =~ $until };
    my $sel = IO::Select->new($sock);
    my $deadline = time + ($seconds // 10);
    my ($buf, $eof) = ('', 0);
    while (!$match->($buf)) {
        my $left = $deadline - time;
        last if $left <= 0;
        next unless $sel->can_read($left);
        my $n = sysread($sock, $buf, 65536, length $buf);
        if (!$n) { $eof = 1; last }
    }
    return wantarray ? ($buf, $eof) : $buf;
}

# ---------------------------------------------------------------- fixtures

sub fixture_path {
    my ($rel) = @_;
    my $path = "$ROOT/t/fixtures/$rel";
    croak "no fixture $rel" unless -f $path;
    return $path;
}

sub read_fixture { return slurp(fixture_path($_[0])) }

sub fixture_chunks {
    my ($rel) = @_;
    my $raw = read_fixture($rel);
    return (sse_json($raw))[0] if $rel =~ /\.sse$/;
    return [ map { decode_json($_) } grep { /\S/ } split /\n/, $raw ];
}

sub json_or_undef { my $v = eval { decode_json($_[0]) }; return $v }

1;
