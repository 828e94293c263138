<?php
// ruleid: php.xss-echo-request-param
echo $_GET['name'];
// ruleid: php.xss-echo-request-param
echo "<h1>Hello " . $_POST['name'] . "</h1>";
// ok: php.xss-echo-request-param
echo htmlspecialchars($_GET['name'], ENT_QUOTES, 'UTF-8');
// ok: php.xss-echo-request-param
echo "<h1>Hello " . htmlspecialchars($_POST['name']) . "</h1>";
