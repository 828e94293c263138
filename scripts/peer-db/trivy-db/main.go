// Command trivy-db writes a Trivy vulnerability database (schema 2) from OSV records, for an
// offline `trivy image --skip-db-update --offline-scan` in scripts/bench-image-peers.sh.
//
//	trivy-db OSV_JSON_DIR CACHE_DIR
//
// OSV_JSON_DIR holds OSV records as JSON (any depth; YAML must be converted first). The records
// go through trivy-db's own OSV loader (pkg/vulnsrc/osv: ranges, aliases, withdrawn records,
// one bucket per ecosystem) and its build step (pkg/vulndb: details, metadata), the code
// that builds the published database, so matching in Trivy does real work. Output:
// CACHE_DIR/db/trivy.db and CACHE_DIR/db/metadata.json (Version 2, NextUpdate in a year).
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/ecosystem"
	"github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulndb"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/osv"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
)

// source loads every OSV record under the root (the `dir` of osv.New is relative to it).
type source struct{}

func (source) Name() types.SourceID { return vulnerability.OSV }

func (source) Update(root string) error {
	return osv.New(".", vulnerability.OSV, map[ecosystem.Type]types.DataSource{
		ecosystem.Pip:   {ID: vulnerability.OSV, Name: "Python Packaging Advisory Database (shared OSV data)"},
		ecosystem.Go:    {ID: vulnerability.OSV, Name: "Go Vulnerability Database (shared OSV data)"},
		ecosystem.Cargo: {ID: vulnerability.OSV, Name: "RustSec Advisory Database (shared OSV data)"},
	}).Update(root)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: trivy-db OSV_JSON_DIR CACHE_DIR")
		os.Exit(2)
	}
	src, out := os.Args[1], filepath.Join(os.Args[2], "db")
	if err := os.MkdirAll(out, 0o755); err != nil {
		fail(err)
	}
	if err := db.Init(out); err != nil {
		fail(err)
	}
	b := vulndb.New(src, out, 365*24*time.Hour,
		vulndb.WithVulnSrcs(map[types.SourceID]vulnsrc.VulnSrc{vulnerability.OSV: source{}}))
	if err := b.Build([]string{string(vulnerability.OSV)}); err != nil {
		fail(err)
	}
	if err := db.Close(); err != nil {
		fail(err)
	}
	fmt.Println("wrote", db.Path(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "trivy-db:", err)
	os.Exit(1)
}
