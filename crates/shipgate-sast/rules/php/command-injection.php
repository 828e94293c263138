<?php
function archive($dir) {
    // ruleid: php.command-injection
    system("tar czf /tmp/out.tgz " . $dir);
    // ruleid: php.command-injection
    $out = shell_exec("du -sh $dir");
    // ruleid: php.command-injection
    passthru($_GET['cmd']);
    // ok: php.command-injection
    system('uptime');
    // ok: php.command-injection
    $date = shell_exec("date +%s");
    return $out . $date;
}
