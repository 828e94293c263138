<?php
function restore($blob) {
    // ruleid: php.unserialize
    $a = unserialize($_COOKIE['prefs']);
    // ruleid: php.unserialize
    $b = unserialize(base64_decode($blob));
    // ok: php.unserialize
    $c = unserialize($blob, ['allowed_classes' => false]);
    // ok: php.unserialize
    $d = json_decode($blob, true);
    return [$a, $b, $c, $d];
}
