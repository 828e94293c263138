const mysql = require("mysql2");
const { Pool } = require("pg");

// ruleid: javascript.hardcoded-db-password
const conn = mysql.createConnection({ host: "db", user: "root", password: "hunter2" });
// ruleid: javascript.hardcoded-db-password
const pool = new Pool({
  host: "db",
  password: 'pgpass',
});
// ok: javascript.hardcoded-db-password
const conn2 = mysql.createConnection({ host: "db", user: "app", password: process.env.DB_PASS });
// ok: javascript.hardcoded-db-password
const pool2 = new Pool({ connectionString: process.env.DATABASE_URL });
