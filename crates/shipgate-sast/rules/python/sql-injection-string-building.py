def lookup(cursor, conn, user_id, name):
    # ruleid: python.sql-injection-string-building
    cursor.execute("SELECT * FROM users WHERE id = %s" % user_id)
    # ruleid: python.sql-injection-string-building
    cursor.execute("SELECT * FROM users WHERE name = '{}'".format(name))
    # ruleid: python.sql-injection-string-building
    conn.execute("DELETE FROM users WHERE id = " + user_id)
    # ruleid: python.sql-injection-string-building
    cursor.execute(f"SELECT * FROM users WHERE name = '{name}'")
    # ok: python.sql-injection-string-building
    cursor.execute("SELECT * FROM users WHERE id = %s", (user_id,))
    # ok: python.sql-injection-string-building
    cursor.execute("SELECT * FROM users WHERE name = ?", [name])
    # ok: python.sql-injection-string-building
    cursor.execute(f"SELECT count(*) FROM users")
