async function find(pool: any, repo: any, id: string, name: string): Promise<void> {
  // ruleid: typescript.sql-injection-string-building
  await pool.query("SELECT * FROM users WHERE id = " + id);
  // ruleid: typescript.sql-injection-string-building
  await repo.query(`SELECT * FROM users WHERE name = '${name}'`);
  // ok: typescript.sql-injection-string-building
  await pool.query("SELECT * FROM users WHERE id = $1", [id]);
  // ok: typescript.sql-injection-string-building
  await repo.query(`SELECT count(*) FROM users`);
}
