<?php
function digest($password, $data) {
    // ruleid: php.weak-hash
    $a = md5($password);
    // ruleid: php.weak-hash
    $b = hash('sha1', $data);
    // ok: php.weak-hash
    $c = password_hash($password, PASSWORD_DEFAULT);
    // ok: php.weak-hash
    $d = hash('sha256', $data);
    return [$a, $b, $c, $d];
}
