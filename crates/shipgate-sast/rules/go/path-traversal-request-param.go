package main

import (
	"net/http"
	"os"
	"path/filepath"
)

func download(w http.ResponseWriter, r *http.Request) {
	// ruleid: go.path-traversal-request-param
	data, _ := os.ReadFile(filepath.Join("/srv/files", r.URL.Query().Get("name")))
	// ruleid: go.path-traversal-request-param
	http.ServeFile(w, r, r.FormValue("path"))
	// ok: go.path-traversal-request-param
	safe, _ := os.ReadFile(filepath.Join("/srv/files", filepath.Base(r.FormValue("name"))))
	// ok: go.path-traversal-request-param
	http.ServeFile(w, r, "/srv/files/index.html")
	_, _ = data, safe
}
