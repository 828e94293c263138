<?php
function find($pdo, $conn, $id, $name) {
    // ruleid: php.sql-injection-string-building
    $r1 = $pdo->query("SELECT * FROM users WHERE id = " . $id);
    // ruleid: php.sql-injection-string-building
    $r2 = mysqli_query($conn, "SELECT * FROM users WHERE name = '$name'");
    // ruleid: php.sql-injection-string-building
    $r3 = $pdo->exec('DELETE FROM users WHERE id = ' . $_GET['id']);
    // ok: php.sql-injection-string-building
    $st = $pdo->prepare("SELECT * FROM users WHERE id = ?");
    $st->execute([$id]);
    // ok: php.sql-injection-string-building
    $r4 = mysqli_query($conn, "SELECT count(*) FROM users");
    return [$r1, $r2, $r3, $r4];
}
