package main

import "net/http"

func proxy(w http.ResponseWriter, r *http.Request) {
	// ruleid: go.ssrf-request-param-url
	resp, _ := http.Get(r.URL.Query().Get("url"))
	// ruleid: go.ssrf-request-param-url
	req, _ := http.NewRequest("POST", r.FormValue("target"), nil)
	// ok: go.ssrf-request-param-url
	resp2, _ := http.Get("https://api.example.com/health")
	// ok: go.ssrf-request-param-url
	req2, _ := http.NewRequest("GET", allowed[r.FormValue("svc")], nil)
	_, _, _, _ = resp, req, resp2, req2
}

var allowed = map[string]string{}
