package main

import (
	"database/sql"
	"os"
)

func open() {
	// ruleid: go.hardcoded-db-credentials
	db1, _ := sql.Open("mysql", "root:hunter2@tcp(127.0.0.1:3306)/app")
	// ruleid: go.hardcoded-db-credentials
	db2, _ := sql.Open("postgres", "host=db user=app password=s3cret dbname=app")
	// ok: go.hardcoded-db-credentials
	db3, _ := sql.Open("postgres", os.Getenv("DATABASE_URL"))
	// ok: go.hardcoded-db-credentials
	db4, _ := sql.Open("sqlite3", "file:app.db?cache=shared")
	_, _, _, _ = db1, db2, db3, db4
}
