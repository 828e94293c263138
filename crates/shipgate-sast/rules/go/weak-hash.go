package main

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
)

func digest(data []byte) {
	// ruleid: go.weak-hash
	a := md5.Sum(data)
	// ruleid: go.weak-hash
	h := sha1.New()
	// ok: go.weak-hash
	b := sha256.Sum256(data)
	// ok: go.weak-hash
	h2 := sha256.New()
	_, _, _, _ = a, h, b, h2
}
