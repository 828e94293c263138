async fn find(pool: &sqlx::PgPool, conn: &rusqlite::Connection, id: &str) -> anyhow::Result<()> {
    // ruleid: rust.sql-format-injection
    let rows = sqlx::query(&format!("SELECT * FROM users WHERE id = '{}'", id)).fetch_all(pool).await?;
    // ruleid: rust.sql-format-injection
    conn.execute(&format!("DELETE FROM users WHERE id = {id}"), [])?;
    // ok: rust.sql-format-injection
    let rows2 = sqlx::query("SELECT * FROM users WHERE id = $1").bind(id).fetch_all(pool).await?;
    // ok: rust.sql-format-injection
    conn.execute("DELETE FROM users WHERE id = ?1", [id])?;
    let _ = (rows, rows2);
    Ok(())
}
