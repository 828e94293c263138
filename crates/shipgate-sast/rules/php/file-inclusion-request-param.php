<?php
// ruleid: php.file-inclusion-request-param
include $_GET['page'];
// ruleid: php.file-inclusion-request-param
require_once "pages/" . $_REQUEST['p'] . ".php";
// ok: php.file-inclusion-request-param
include 'header.php';
// ok: php.file-inclusion-request-param
require_once __DIR__ . '/config.php';
