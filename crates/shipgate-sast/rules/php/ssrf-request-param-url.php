<?php
function proxy() {
    // ruleid: php.ssrf-request-param-url
    $body = file_get_contents($_GET['url']);
    // ruleid: php.ssrf-request-param-url
    $ch = curl_init($_POST['target']);
    // ok: php.ssrf-request-param-url
    $fixed = file_get_contents('https://api.example.com/status');
    // ok: php.ssrf-request-param-url
    $ch2 = curl_init(ALLOWED[$_GET['svc']] ?? 'https://api.example.com');
    return [$body, $ch, $fixed, $ch2];
}
