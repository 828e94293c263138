# ruleid: dockerfile.from-latest-or-untagged
FROM ubuntu
# ruleid: dockerfile.from-latest-or-untagged
FROM node:latest AS build
# ok: dockerfile.from-latest-or-untagged
FROM node:20.11-alpine AS deps
# ok: dockerfile.from-latest-or-untagged
FROM python:3.12-slim@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
# ok: dockerfile.from-latest-or-untagged
FROM scratch
COPY --from=build /app /app
