package main

import (
	"os"

	"github.com/golang-jwt/jwt/v5"
)

func sign(claims jwt.MapClaims) {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	// ruleid: go.jwt-hardcoded-secret
	s1, _ := tok.SignedString([]byte("my-secret-key"))
	// ruleid: go.jwt-hardcoded-secret
	s2, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(`changeme`))
	// ok: go.jwt-hardcoded-secret
	s3, _ := tok.SignedString([]byte(os.Getenv("JWT_SECRET")))
	// ok: go.jwt-hardcoded-secret
	s4, _ := tok.SignedString(signingKey)
	_, _, _, _ = s1, s2, s3, s4
}

var signingKey = []byte(os.Getenv("JWT_KEY"))
