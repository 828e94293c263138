async function find(pool, knex, id, name) {
  // ruleid: javascript.sql-injection-string-building
  await pool.query("SELECT * FROM users WHERE id = " + id);
  // ruleid: javascript.sql-injection-string-building
  await knex.raw(`SELECT * FROM users WHERE name = '${name}'`);
  // ok: javascript.sql-injection-string-building
  await pool.query("SELECT * FROM users WHERE id = ?", [id]);
  // ok: javascript.sql-injection-string-building
  await knex.raw("SELECT * FROM users WHERE name = ?", [name]);
}
