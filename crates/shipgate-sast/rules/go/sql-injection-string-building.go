package main

import (
	"context"
	"database/sql"
	"fmt"
)

func find(ctx context.Context, db *sql.DB, id string) {
	// ruleid: go.sql-injection-string-building
	rows, _ := db.Query(fmt.Sprintf("SELECT * FROM users WHERE id = '%s'", id))
	// ruleid: go.sql-injection-string-building
	_, _ = db.ExecContext(ctx, "DELETE FROM users WHERE id = "+id)
	// ok: go.sql-injection-string-building
	row := db.QueryRow("SELECT * FROM users WHERE id = $1", id)
	// ok: go.sql-injection-string-building
	_, _ = db.ExecContext(ctx, "DELETE FROM users WHERE id = ?", id)
	_, _ = rows, row
}
