<?php
function calc($expr) {
    // ruleid: php.eval-dynamic
    eval('$result = ' . $expr . ';');
    // ruleid: php.eval-dynamic
    eval($_POST['code']);
    // ruleid: php.eval-dynamic
    $x = preg_replace('/(.*)/e', 'strtoupper("$1")', $expr);
    // ok: php.eval-dynamic
    eval('return 1;');
    // ok: php.eval-dynamic
    $y = preg_replace('/\s+/', ' ', $expr);
    return $x . $y;
}
