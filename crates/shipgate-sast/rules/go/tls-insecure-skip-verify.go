package main

import (
	"crypto/tls"
	"net/http"
)

func client() *http.Client {
	// ruleid: go.tls-insecure-skip-verify
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
	// ruleid: go.tls-insecure-skip-verify
	cfg.InsecureSkipVerify = true
	// ok: go.tls-insecure-skip-verify
	good := &tls.Config{MinVersion: tls.VersionTLS12}
	// ruleid: go.tls-insecure-skip-verify
	other := &tls.Config{ServerName: "api", InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	// ok: go.tls-insecure-skip-verify
	good.InsecureSkipVerify = false
	_ = other
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}
