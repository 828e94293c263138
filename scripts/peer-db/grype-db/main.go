// Command grype-db writes a Grype v6 vulnerability database from vunnel-style provider
// workspaces, for an offline `grype` run in scripts/bench-image-peers.sh.
//
//	grype-db WORKSPACE DB_DIR
//
// WORKSPACE holds one directory per provider, each with vunnel's `metadata.json` (provider
// state), a `checksums` listing and `results/*.json` envelopes; the peer script writes them
// from the shared OSV data (Go records as OSV, PyPI and crates.io records converted to the
// GitHub-advisory shape that grype's language matchers read). They go through grype's own
// database build (grype/db: the processors, transformers and SQLite writer of grype-db),
// then hydration, which writes DB_DIR/vulnerability.db and DB_DIR/import.json.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	grypedb "github.com/anchore/grype/grype/db"
	"github.com/anchore/grype/grype/db/provider"
	v6 "github.com/anchore/grype/grype/db/v6"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: grype-db WORKSPACE DB_DIR")
		os.Exit(2)
	}
	workspace, out := os.Args[1], os.Args[2]
	metas, err := filepath.Glob(filepath.Join(workspace, "*", "metadata.json"))
	if err != nil || len(metas) == 0 {
		fail(fmt.Errorf("no provider metadata.json under %s", workspace))
	}
	var states provider.States
	for _, m := range metas {
		st, err := provider.ReadState(m)
		if err != nil {
			fail(err)
		}
		states = append(states, *st)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		fail(err)
	}
	err = grypedb.Build(grypedb.BuildConfig{
		SchemaVersion: v6.ModelVersion,
		Directory:     out,
		States:        states,
		Timestamp:     time.Now().UTC(),
		Hydrate:       true,
	})
	if err != nil {
		fail(err)
	}
	fmt.Println("wrote", filepath.Join(out, v6.VulnerabilityDBFileName))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "grype-db:", err)
	os.Exit(1)
}
